import Pathway
import Quality
import Synthetic
import Testing
import TestSupport
@testable import Ledger

/// `pathway quality --known-at`: the numbers as they stood at an instant — only the registrations
/// recorded by then (their `recordedAt`, else their append instant) count.
@Suite struct QualityKnownAtTests {
    /// A late-recorded decision and a later correction, with the basic-assessment numbers worked
    /// out by hand: M on 8 January; the decision on 20 January (12 days: on time, outpatient limit
    /// 21) is recorded on 10 February; on 15 February it is corrected to 5 February (28 days: late),
    /// which moves the count to February.
    @Test func basicAssessmentAsItStoodAtEachInstant() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: l.openingOfEP1() + [
                l.reg("r-3", "EP-1", "D01CT", "2026-01-20", recordedAt: "2026-02-10T08:00:00Z"),
                l.correct("c-1", "r-3", reason: "wrong date", "EP-1", "D01CT", "2026-02-05", recordedAt: "2026-02-15T08:00:00Z"),
            ])
            func cell(_ period: String, knownAt: String?) throws -> (num: Int?, den: Int?)? {
                let query = QualityQuery(period: period, by: .national, indicator: "basic-assessment-on-time")
                let counters = try ledger.qualityCounters(knownAt: knownAt.map { Instant(rfc3339: $0)! })
                let row = QualityTable.rows(counters: counters, query: query).first { $0.variant == "all" }
                return row.map { ($0.numerator, $0.denominator) }
            }
            // Before the decision was recorded: no completed interval in January.
            #expect(try cell("2026-01", knownAt: "2026-02-10T07:59:59Z") == nil)
            // Recorded (inclusive boundary): one on-time assessment in January.
            let recorded = try cell("2026-01", knownAt: "2026-02-10T08:00:00Z")
            #expect(recorded?.num == 1 && recorded?.den == 1)
            #expect(try cell("2026-02", knownAt: "2026-02-10T08:00:00Z") == nil)
            // After the correction: January is empty, February has one late assessment.
            #expect(try cell("2026-01", knownAt: "2026-02-15T08:00:00Z") == nil)
            let corrected = try cell("2026-02", knownAt: "2026-02-15T08:00:00Z")
            #expect(corrected?.num == 0 && corrected?.den == 1)
            // Everything known: the maintained projection says the same.
            let now = try cell("2026-02", knownAt: nil)
            #expect(now?.num == 0 && now?.den == 1)
        }
    }

    /// On a generated history: the counters known at an instant equal the counters a store would
    /// maintain had it been given only the lines recorded by then.
    @Test func countersKnownAtEqualAStoreOfWhatWasKnown() throws {
        var text: [String] = []
        SyntheticGenerator(episodes: 400, seed: 0x4B0A, from: CivilDate("2025-01-01")!, to: CivilDate("2025-12-31")!)
            .generate { text.append($0) }
        let cutoff = "2025-09-01T00:00:00Z"
        // Lines without recordedAt (voidings) are known from their append instant, after the cutoff.
        let known = text.filter { line in
            guard let r = line.range(of: "\"recordedAt\":\"") else { return false }
            return String(line[r.upperBound...].prefix(20)) <= cutoff
        }
        try #require(known.count > 100 && known.count < text.count)
        let asOfCutoff = try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: text)
            return try ledger.qualityCounters(knownAt: Instant(rfc3339: cutoff)!)
        }
        let reference = try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: known)
            return try ledger.qualityCounters()
        }
        #expect(!reference.isEmpty)
        #expect(asOfCutoff.count == reference.count)
        #expect(asOfCutoff.map(\.key) == reference.map(\.key))
        #expect(asOfCutoff.map { [$0.a, $0.b, $0.c] } == reference.map { [$0.a, $0.b, $0.c] })
    }
}
