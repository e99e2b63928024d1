import Pathway
import Synthetic
import Testing
import TestSupport
@testable import Ledger

/// Issue 4's two time axes for *any* projection: one episode's records as known at an instant and
/// as valid at a date, worked out on demand from its events (`Ledger.projectionRecords`).
@Suite struct ProjectionAxesTests {
    /// On a generated history (corrections and voidings included): for every projection and every
    /// episode, the records as known at a cutoff equal what a store given only the lines recorded
    /// by then holds. The full store appends those lines first, so both number them alike.
    @Test func everyProjectionAsKnownAtEqualsAStoreOfWhatWasKnown() throws {
        var text: [String] = []
        SyntheticGenerator(episodes: 150, seed: 0x7A11, from: CivilDate("2025-01-01")!, to: CivilDate("2025-12-31")!)
            .generate { text.append($0) }
        let cutoff = "2025-09-01T00:00:00Z"
        // Voidings carry no recordedAt: they are known from their append instant, after the cutoff.
        func knownByCutoff(_ line: String) -> Bool {
            guard let r = line.range(of: "\"recordedAt\":\"") else { return false }
            return String(line[r.upperBound...].prefix(20)) <= cutoff
        }
        let known = text.filter(knownByCutoff)
        let later = text.filter { !knownByCutoff($0) }
        try #require(known.count > 100 && !later.isEmpty)
        let instant = Instant(rfc3339: cutoff)!

        try withTemporaryDirectory { fullDir in
            try withTemporaryDirectory { knownDir in
                let full = try openLedger(fullDir)
                try full.append(lines: known)
                try full.append(lines: later)
                let reference = try openLedger(knownDir)
                try reference.append(lines: known)

                var episodes = Set<String>()
                try full.storedEpisodes { episodes.insert($0.episode) }
                var compared = 0, unknownThen = 0
                for name in full.engine.projections.map(\.name) {
                    for ep in episodes.sorted() {
                        let asKnown = try #require(try full.projectionRecords(name, episode: ep, knownAt: instant))
                        let there = try #require(try reference.projectionRecords(name, episode: ep))
                        #expect(asKnown == there, "\(name) \(ep)")
                        if asKnown.isEmpty { unknownThen += 1; continue }
                        // For keyed projections, what the reference store holds is exactly that.
                        if !(full.engine.projections.first { $0.name == name }!.isAdditive) {
                            let stored = try reference.storedRecords(name, keys: there)
                            #expect(stored == there.map { Optional($0) }, "\(name) \(ep) stored")
                        }
                        // And with no axis, the on-demand records are the maintained ones.
                        let now = try #require(try full.projectionRecords(name, episode: ep))
                        if !(full.engine.projections.first { $0.name == name }!.isAdditive) {
                            #expect(try full.storedRecords(name, keys: now) == now.map { Optional($0) }, "\(name) \(ep) now")
                        }
                        compared += 1
                    }
                }
                #expect(compared > 100)
                #expect(unknownThen > 0, "some episodes began after the cutoff")
                #expect(try full.projectionRecords("no-such-projection", episode: "EP-1") == nil)
            }
        }
    }

    /// Valid at a date, with everything known now: a decision registered later but dated after the
    /// date is not in force then, whichever projection is asked.
    @Test func everyProjectionAsValidAtLeavesOutLaterDatedRegistrations() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: l.openingOfEP1() + [l.reg("r-3", "EP-1", "D01CT", "2026-01-20")])
            let before = try #require(try ledger.projectionRecords("episodes", episode: "EP-1", validAt: CivilDate("2026-01-19")!))
            let after = try #require(try ledger.projectionRecords("episodes", episode: "EP-1", validAt: CivilDate("2026-01-20")!))
            let stored = try #require(try ledger.storedEpisode("EP-1"))
            #expect(after == (try ledger.projectionRecords("episodes", episode: "EP-1")))
            #expect(before != after)
            // The same registrations, valid at the 19th: A and M only — as a store holding only them.
            try withTemporaryDirectory { other in
                let reference = try openLedger(other)
                try reference.append(lines: l.openingOfEP1())
                let assessed = try #require(try reference.projectionRecords("episodes", episode: "EP-1"))
                // Same marks; the stream version and last position differ (three events vs two).
                func decoded(_ r: RecordSink.Record) -> StoredEpisode? {
                    r.value.withUnsafeBytes { StoredEpisode(episode: "EP-1", record: $0, symbols: SymbolTable()) }
                }
                let s1 = try #require(decoded(before[0]))
                let s2 = try #require(decoded(assessed[0]))
                #expect(s1.state.milestones.firstAttendance?.date == s2.state.milestones.firstAttendance?.date)
                #expect(s1.state.phase == .assessment)
                #expect(s2.state.phase == .assessment)
                #expect(stored.state.phase == .treatment)
            }
            for name in ["deadlines", "quality", "history"] {
                let b = try #require(try ledger.projectionRecords(name, episode: "EP-1", validAt: CivilDate("2026-01-19")!))
                let a = try #require(try ledger.projectionRecords(name, episode: "EP-1", validAt: CivilDate("2026-01-20")!))
                #expect(b != a, "\(name): the decision of the 20th is not in force on the 19th")
            }
        }
    }
}
