import Foundation
import Testing
import Audit
import EventLog
import Ingest
import LMDB
import Ledger
import Pathway

// MARK: - A small store to audit

/// Twelve events of three episodes, interleaved so that one episode's bundle needs chain links.
/// Position 5 (EP-A's CT) carries an author found nowhere else, for byte-flipping.
let flipAuthor = "flip-me-author-5"

func auditLines() -> [String] {
    let a = Lines()
    var b = Lines(); b.patient = "P-2b"
    var c = Lines(); c.patient = "P-3c"
    return [
        a.reg("a-1", "EP-A", "D01A", "2026-01-05"),                                   // 1
        b.reg("b-1", "EP-B", "D01A", "2026-01-06"),                                   // 2
        a.reg("a-2", "EP-A", "D01M", "2026-01-08"),                                   // 3
        b.reg("b-2", "EP-B", "D01M", "2026-01-09"),                                   // 4
        a.reg("a-3", "EP-A", "D01CT", "2026-01-20", author: flipAuthor),             // 5
        b.reg("b-3", "EP-B", "D01CP", "2026-01-21"),                                  // 6
        a.reg("a-4", "EP-A", "D01E", "2026-02-01"),                                   // 7
        b.reg("b-4", "EP-B", "D01XA", "2026-02-02"),                                  // 8
        a.correct("a-5", "a-3", reason: "wrong date", "EP-A", "D01CT", "2026-01-21"), // 9
        a.reg("a-6", "EP-A", "D01F", "2026-02-03"),                                   // 10
        c.reg("c-1", "EP-C", "D01A", "2026-02-10"),                                   // 11
        c.reg("c-2", "EP-C", "D01M", "2026-02-11"),                                   // 12
    ]
}

/// Builds the audit store at `dir` in three batches and closes it; returns its head.
@discardableResult
func buildAuditStore(_ dir: String) throws -> EventLog.Head {
    let ledger = try openLedger(dir)
    let lines = auditLines()
    try ledger.append(lines: Array(lines[0..<4]))
    try ledger.append(lines: Array(lines[4..<9]))
    try ledger.append(lines: Array(lines[9...]))
    return try ledger.head
}

/// The chain hash stored at `position`.
func storedHash(_ ledger: Ledger, at position: UInt64) throws -> [UInt8] {
    try ledger.environment.read { txn in try ledger.log.withEvent(at: position, in: txn) { Array($0.hash) } } ?? []
}

/// Rewrites the stored event at `position` in a closed store with the bare LMDB layer: `change`
/// edits its body fields, and its hash is recomputed over the previous event's hash — as a forger
/// who knows the chain recipe would. With `following`, every later hash is recomputed too.
func forge(_ dir: String, position n: UInt64, following: Bool = false, _ change: (inout [String]) -> Void) throws {
    let env = try Environment(path: dir)
    let log = try env.database("log")
    try env.write { txn in
        var previous: [UInt8] = n == 1 ? EventLog.Head.genesis.hash
            : Array(try #require(try txn.get(log, BigEndian.bytes(n - 1)))[1..<33])
        var p = n
        while let raw = try txn.get(log, BigEndian.bytes(p)) {
            let e = try StoredEvent(bytes: raw, key: p)
            var body = Array(e.body)
            if p == n {
                var fields = try #require(EventBody.split(e.body, count: EventBody.fieldCount)).map { String(decoding: $0, as: UTF8.self) }
                change(&fields)
                body = []
                for f in fields { EventBody.appendField(f, to: &body) }
            }
            let canonical = body.withUnsafeBytes {
                Canonical.bytes(position: e.position, version: e.version, appendedAt: e.appendedAtString, id: e.idString,
                                stream: e.streamString, body: $0)
            }
            let hash = EventLog.chainHash(previous: previous, canonical: canonical)
            try txn.put(log, BigEndian.bytes(p), [StoredEvent.formatVersion] + hash + canonical)
            previous = hash
            if !following { break }
            p += 1
        }
    }
}

/// Flips one bit in every copy of `text` in a closed store's data file; returns how many it found.
@discardableResult
func flipBytes(of text: String, inStore dir: String) throws -> Int {
    let url = URL(fileURLWithPath: dir + "/data.mdb")
    var data = [UInt8](try Data(contentsOf: url))
    // LMDB copies pages on write, so a stale copy of the record may sit in a free page: flip them all.
    let hits = occurrences(of: Array(text.utf8), in: data)
    for h in hits { data[h] ^= 0x01 }
    try Data(data).write(to: url)
    return hits.count
}

@Suite struct AuditTests {

    // MARK: - Replay along the code paths

    struct CodePath: Sendable, CustomTestStringConvertible {
        var name: String
        /// code (without D01), date, phase after it, rule ids it raises, rule ids it clears.
        var steps: [(code: String, date: String, phase: EpisodeState.Phase, raised: [String], cleared: [String])]
        var testDescription: String { name }
    }

    static let codePaths: [CodePath] = [
        CodePath(name: "basic assessment, treatment, evaluations, end with help needs", steps: [
            ("A", "2026-01-05", .started, [], []), ("M", "2026-01-08", .assessment, [], []),
            ("UB", "2026-01-09", .assessment, [], []), ("CT", "2026-01-20", .treatment, [], []),
            ("F", "2026-01-21", .treatment, [], []), ("E", "2026-02-01", .treatment, [], []),
            ("UU", "2026-02-02", .treatment, [], []), ("L", "2026-02-03", .treatment, [], []),
            ("E", "2026-02-10", .treatment, [], []), ("UF", "2026-02-15", .treatment, [], []),
            ("XG", "2026-02-20", .ended, ["help-needs-missing"], []), ("HK", "2026-02-20", .ended, [], ["help-needs-missing"]),
        ]),
        CodePath(name: "detox at the start, extended assessment, treatment", steps: [
            ("A", "2026-01-05", .started, [], []), ("D", "2026-01-07", .started, [], []),
            ("M", "2026-01-08", .assessment, [], []), ("CU", "2026-01-20", .extendedAssessment, [], []),
            ("CT", "2026-02-15", .treatment, [], []), ("E", "2026-02-20", .treatment, [], []),
        ]),
        CodePath(name: "decided without treatment, ended", steps: [
            ("A", "2026-01-05", .started, [], []), ("M", "2026-01-06", .assessment, [], []),
            ("CP", "2026-01-15", .decided, [], []), ("CS", "2026-01-15", .decided, [], []),
            ("XA", "2026-01-30", .ended, [], []),
        ]),
        CodePath(name: "ended after the start (XR)", steps: [
            ("A", "2026-01-05", .started, [], []), ("XR", "2026-01-06", .ended, [], []),
        ]),
        CodePath(name: "transferred during extended assessment (XO)", steps: [
            ("A", "2026-01-05", .started, [], []), ("M", "2026-01-06", .assessment, [], []),
            ("CU", "2026-01-15", .extendedAssessment, [], []), ("XO", "2026-02-01", .ended, [], []),
        ]),
        CodePath(name: "another pathway (XN) with help needs", steps: [
            ("A", "2026-01-05", .started, [], []), ("M", "2026-01-06", .assessment, [], []),
            ("CK", "2026-01-15", .decided, [], []), ("XN", "2026-02-01", .ended, ["help-needs-missing"], []),
            ("HP", "2026-02-01", .ended, [], ["help-needs-missing"]), ("HA", "2026-02-01", .ended, [], []),
        ]),
    ]

    @Test(arguments: codePaths)
    func replayAlongACodePath(_ path: CodePath) throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            let lines = path.steps.enumerated().map { i, s in
                l.reg("r-\(i + 1)", "EP-1", "D01" + s.code, s.date, author: "u-\(i + 1)")
            }
            // One registration per append, as a clinic would send them.
            for line in lines { try ledger.append(lines: [line]) }
            let replay = Replay(episode: "EP-1", events: try ledger.events(of: "EP-1"))
            #expect(replay.steps.count == path.steps.count)
            for (i, (step, expected)) in zip(replay.steps, path.steps).enumerated() {
                let context = "\(path.name), step \(i + 1) (\(expected.code))"
                #expect(step.event.position == UInt64(i + 1), "\(context)")
                #expect(step.event.version == UInt64(i + 1), "\(context)")
                #expect(step.event.event.author == "u-\(i + 1)", "\(context)")
                #expect(step.event.appendedAt == Instant(rfc3339: fixedNow), "\(context)")
                #expect(step.event.hash.count == 64, "\(context)")
                guard case .registration(let r) = step.event.event else { Issue.record("\(context): not a registration"); continue }
                #expect(r.code.procedureCode == "D01" + expected.code, "\(context)")
                #expect(r.date == CivilDate(expected.date), "\(context)")
                #expect(step.after.state.phase == expected.phase, "\(context)")
                if i > 0 { #expect(step.before.state.phase == path.steps[i - 1].phase, "\(context)") }
                #expect(step.raised.map(\.rule.id) == expected.raised, "\(context)")
                #expect(step.cleared.map(\.rule.id) == expected.cleared, "\(context)")
                #expect(step.target == nil, "\(context)")
            }
            // The replay ends where the maintained state is.
            let stored = try #require(try ledger.storedEpisode("EP-1"))
            #expect(stored.phase == path.steps.last!.phase)
            #expect(stored.state.findings == replay.steps.last!.after.state.findings)
        }
    }

    /// Every phase a registration can lead to (`voided` follows only voidings: see
    /// `anEpisodeWithEveryRegistrationVoidedIsStoredAsVoided`, which replays one).
    @Test func theCodePathsVisitEveryPhase() {
        let visited = Set(AuditTests.codePaths.flatMap { $0.steps.map(\.phase) })
        #expect(visited == Set(EpisodeState.Phase.allCases).subtracting([.voided]))
    }

    @Test func replayShowsACorrectedAndAVoidedRegistration() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: [
                l.reg("r-1", "EP-1", "D01A", "2026-01-05"),
                l.reg("r-2", "EP-1", "D01M", "2026-01-03"),   // before A: start-first
                l.reg("r-3", "EP-1", "D01CT", "2026-01-20"),
            ])
            try ledger.append(lines: [l.correct("c-1", "r-2", reason: "wrong date", "EP-1", "D01M", "2026-01-08", author: "u-9")])
            try ledger.append(lines: [l.void("v-1", "r-3", reason: "registered on the wrong patient", author: "u-2")])
            let replay = Replay(episode: "EP-1", events: try ledger.events(of: "EP-1"))
            try #require(replay.steps.count == 5)
            let s = replay.steps

            #expect(s.map(\.after.state.phase) == [.started, .assessment, .treatment, .treatment, .assessment])
            #expect(s[1].raised.map(\.rule.id) == ["start-first"])
            #expect(s[1].raised.first?.position == 2)

            // The correction: what it replaced and why, and the finding it cleared.
            guard case .correction(let c) = s[3].event.event else { Issue.record("step 4 is not a correction"); return }
            #expect(c.target == "r-2")
            #expect(c.reason == "wrong date")
            #expect(c.replacement.code.procedureCode == "D01M")
            #expect(c.replacement.date == CivilDate("2026-01-08"))
            #expect(c.replacement.author == "u-9")
            #expect(s[3].event.targetPosition == 2)
            #expect(s[3].target?.position == 2)
            #expect(s[3].target?.event.id == "r-2")
            if case .registration(let original)? = s[3].target?.event { #expect(original.date == CivilDate("2026-01-03")) }
            #expect(s[3].cleared.map(\.rule.id) == ["start-first"])
            #expect(s[3].raised.isEmpty)
            #expect(s[3].after.state.milestones.firstAttendance?.date == CivilDate("2026-01-08"))

            // The voiding: what it voided and why; the decision is gone.
            guard case .voiding(let v) = s[4].event.event else { Issue.record("step 5 is not a voiding"); return }
            #expect(v.target == "r-3")
            #expect(v.reason == "registered on the wrong patient")
            #expect(v.author == "u-2")
            #expect(s[4].event.targetPosition == 3)
            #expect(s[4].target?.event.id == "r-3")
            #expect(s[4].before.state.phase == .treatment)
            #expect(s[4].after.state.milestones.decisions.isEmpty)
            #expect(s[4].event.version == 5)
        }
    }

    @Test func replayKnownAtValidAtAndAtPositionBoundaries() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: l.openingOfEP1() + [
                l.reg("r-3", "EP-1", "D01CT", "2026-01-20", recordedAt: "2026-01-21T08:00:00Z"),
                l.correct("c-1", "r-3", reason: "wrong outcome", "EP-1", "D01CP", "2026-01-20", recordedAt: "2026-02-01T12:00:00Z"),
            ])
            let events = try ledger.events(of: "EP-1")
            func phases(knownAt: String? = nil, validAt: String? = nil, atPosition: UInt64? = nil) -> [EpisodeState.Phase] {
                Replay(episode: "EP-1", events: events, knownAt: knownAt.flatMap { Instant(rfc3339: $0) },
                       validAt: validAt.flatMap { CivilDate($0) }, atPosition: atPosition).steps.map(\.after.state.phase)
            }
            #expect(phases() == [.started, .assessment, .treatment, .decided])
            // Known at: the boundary instant is included, a microsecond before it is not.
            #expect(phases(knownAt: "2026-01-05T08:59:59.999999Z") == [])
            #expect(phases(knownAt: "2026-01-05T09:00:00Z") == [.started])
            #expect(phases(knownAt: "2026-01-08T09:59:59.999999Z") == [.started])
            #expect(phases(knownAt: "2026-01-08T10:00:00Z") == [.started, .assessment])
            #expect(phases(knownAt: "2026-02-01T11:59:59.999999Z") == [.started, .assessment, .treatment])
            #expect(phases(knownAt: "2026-02-01T12:00:00Z") == [.started, .assessment, .treatment, .decided])
            // Valid at: every step, each state as of the date; the boundary date is included.
            #expect(phases(validAt: "2026-01-04").count == 4)
            #expect(phases(validAt: "2026-01-07") == [.started, .started, .started, .started])
            #expect(phases(validAt: "2026-01-08") == [.started, .assessment, .assessment, .assessment])
            #expect(phases(validAt: "2026-01-19") == [.started, .assessment, .assessment, .assessment])
            #expect(phases(validAt: "2026-01-20") == [.started, .assessment, .treatment, .decided])
            let early = Replay(episode: "EP-1", events: events, validAt: CivilDate("2026-01-04")!)
            #expect(early.steps.allSatisfy { $0.after.state.milestones.count == 0 })
            // Both axes, and a position.
            #expect(phases(knownAt: "2026-01-21T08:00:00Z", validAt: "2026-01-20") == [.started, .assessment, .treatment])
            #expect(phases(knownAt: "2026-01-21T08:00:00Z", validAt: "2026-01-19") == [.started, .assessment, .assessment])
            #expect(phases(atPosition: 3) == [.started, .assessment, .treatment])
            #expect(phases(atPosition: 0) == [])
        }
    }

    // MARK: - Tampering found by the verifier

    @Test func anUntouchedStoreVerifiesWithItsAnchor() throws {
        try withTemporaryDirectory { dir in
            let head = try buildAuditStore(dir)
            let ledger = try openLedger(dir)
            let r = try Verifier(ledger: ledger).verify(anchor: Verifier.Anchor(head.anchor))
            #expect(r.ok, "\(r.problems)")
            #expect(r.events == 12 && r.streams == 3)
            #expect(r.head == head)
            #expect(r.anchorChecked == head.anchor)
            #expect(r.projectionsChecked == ledger.engine.projections.map(\.name))
            // An anchor inside the log is a prefix the log still holds.
            let mid = Verifier.Anchor(position: 7, hash: try storedHash(ledger, at: 7))
            #expect(try Verifier(ledger: ledger).verify(anchor: mid).ok)
        }
    }

    @Test func aByteFlippedInACopyOfTheDataFileIsFound() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            let flipped = try flipBytes(of: flipAuthor, inStore: copy)
            try #require(flipped >= 1, "the author string is in the data file")

            let ledger = try openLedger(copy)
            let r = try Verifier(ledger: ledger).verify()
            #expect(!r.ok)
            #expect(r.problems.first?.position == 5, "\(r.problems)")
            #expect(r.problems.first?.what.contains("hash chain") == true, "\(r.problems)")
            // The original is untouched.
            #expect(try Verifier(ledger: try openLedger(dir)).verify().ok)
        }
    }

    @Test func removingTheLastEventsIsFoundWithTheAnchor() throws {
        try withTemporaryDirectory { dir in
            let head = try buildAuditStore(dir)
            let original = try openLedger(dir)
            // The first store's events in log order, as the ingest would hand them over.
            var events: [ParsedLine] = []
            try original.environment.read { txn in
                try original.log.scan(in: txn) { e in
                    let decoded = try EventBody.decode(e.body, id: e.idString, episode: e.streamString)
                    events.append(ParsedLine(line: Int(e.position), event: decoded.event, byteRange: 0..<0))
                    return true
                }
            }
            #expect(events.count == 12)
            try withTemporaryDirectory { dir2 in
                // A second store rebuilt from them minus the last three: the same clock gives the same bytes.
                let truncated = try openLedger(dir2)
                let r = try truncated.append(Array(events.dropLast(3)))
                #expect(r.appended == 9 && r.rejected.isEmpty)
                #expect(try truncated.head.position == 9)
                #expect(try truncated.head.hash == (try storedHash(original, at: 9)), "the rebuilt prefix is byte-identical")

                // On its own the truncated log is consistent…
                #expect(try Verifier(ledger: truncated).verify().ok)
                // …but not with the anchor published before the truncation.
                let v = try Verifier(ledger: truncated).verify(anchor: Verifier.Anchor(head.anchor))
                #expect(!v.ok)
                #expect(v.problems.first?.position == 12, "\(v.problems)")
                #expect(v.problems.first?.what.contains("ends at 9") == true, "\(v.problems)")
                #expect(v.problems.first?.what.contains("removed") == true, "\(v.problems)")
                // An anchor at the prefix it kept still holds.
                let nine = Verifier.Anchor(position: 9, hash: try storedHash(original, at: 9))
                #expect(try Verifier(ledger: truncated).verify(anchor: nine).ok)
            }
        }
    }

    @Test func eventsDeletedFromTheEndOfTheStoreAreFound() throws {
        try withTemporaryDirectory { dir in
            let head = try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try truncateLog(copy, keeping: 9)
            // An ordinary open refuses to serve projections of events the log no longer holds…
            #expect(throws: LedgerError.projectionAheadOfLog(checkpoint: 12, head: 9)) { _ = try openLedger(copy) }
            // …while the verifier's open lets it say what is wrong.
            var ledger: Ledger? = try Ledger(path: copy, clock: fixedClock, allowingProjectionsAhead: true)
            let anchored = try Verifier(ledger: ledger!).verify(anchor: Verifier.Anchor(head.anchor))
            #expect(anchored.problems.first?.position == 12, "\(anchored.problems)")
            #expect(anchored.problems.first?.what.contains("removed") == true, "\(anchored.problems)")
            let plain = try Verifier(ledger: ledger!).verify()
            #expect(plain.problems.contains { $0.what.contains("checkpoint is 12 but the log's head is 9") }, "\(plain.problems)")
            // A rebuild repairs the projections; the anchor still tells the log is not the published one.
            _ = try ledger!.engine.rebuild()
            #expect(try Verifier(ledger: ledger!).verify().ok)
            #expect(!(try Verifier(ledger: ledger!).verify(anchor: Verifier.Anchor(head.anchor)).ok))
            ledger = nil
            #expect(try openLedger(copy).stats().events == 9)
        }
    }

    @Test func swappingTwoEventsIsFoundAtTheFirstOfThem() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            do {
                let env = try Environment(path: copy)
                let log = try env.database("log")
                try env.write { txn in
                    let six = Array(try #require(try txn.get(log, BigEndian.bytes(6))))
                    let seven = Array(try #require(try txn.get(log, BigEndian.bytes(7))))
                    try txn.put(log, BigEndian.bytes(6), seven)
                    try txn.put(log, BigEndian.bytes(7), six)
                }
            }
            let ledger = try openLedger(copy)
            let r = try Verifier(ledger: ledger).verify()
            #expect(!r.ok)
            #expect(r.problems.first?.position == 6, "\(r.problems)")
            #expect(r.problems.first?.what.contains("swapped") == true, "\(r.problems)")
        }
    }

    /// Rewrites a closed store's id index with the bare LMDB layer, as `mdb_load` would.
    func tamperIDs(_ dir: String, _ change: (inout WriteTransaction, Database) throws -> Void) throws {
        let env = try Environment(path: dir)
        let ids = try env.database("ids")
        try env.write { txn in try change(&txn, ids) }
    }

    @Test func anIDIndexEntryPointedAtAnotherEventIsFound() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            // 'a-2' is at position 3; point it at 'b-2''s position 4. The entry count is unchanged.
            try tamperIDs(copy) { txn, ids in try txn.put(ids, Array("a-2".utf8), BigEndian.bytes(4)) }
            let ledger = try openLedger(copy)
            #expect(try ledger.environment.read { try ledger.log.idCount(in: $0) } == 12)
            for projections in [true, false] {   // `verify` and `verify --log-only`
                let r = try Verifier(ledger: ledger).verify(projections: projections)
                #expect(!r.ok)
                #expect(r.problems.count == 1, "\(r.problems)")
                #expect(r.problems.first?.position == 4, "\(r.problems)")
                let what = r.problems.first?.what ?? ""
                #expect(what.contains("the id index points 'a-2' here") && what.contains("'b-2'") && what.contains("'a-2' is at position 3"), "\(what)")
                #expect(r.projectionsChecked.isEmpty, "projections are compared only once the log and indexes hold")
            }
            // The original is untouched.
            #expect(try Verifier(ledger: try openLedger(dir)).verify().ok)
        }
    }

    @Test func anIDIndexEntryReplacedByABogusOneIsFound() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            // 'a-3' (position 5) removed and an id no event has pointed at its position instead.
            try tamperIDs(copy) { txn, ids in
                let deleted = try txn.delete(ids, Array("a-3".utf8))
                #expect(deleted)
                try txn.put(ids, Array("zz-bogus".utf8), BigEndian.bytes(5))
            }
            let ledger = try openLedger(copy)
            #expect(try ledger.environment.read { try ledger.log.idCount(in: $0) } == 12, "the count alone cannot tell")
            let r = try Verifier(ledger: ledger).verify(projections: false)
            #expect(!r.ok)
            #expect(r.problems.map(\.position) == [5, 5], "\(r.problems)")
            #expect(r.problems.contains { $0.what.contains("points 'zz-bogus' here") && $0.what.contains("no event has the id 'zz-bogus'") }, "\(r.problems)")
            #expect(r.problems.contains { $0.what.contains("no entry for this event's id 'a-3'") }, "\(r.problems)")
        }
    }

    @Test func anIDIndexEntryOutsideTheLogOrNotAPositionIsFound() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try tamperIDs(copy) { txn, ids in
                try txn.put(ids, Array("b-3".utf8), BigEndian.bytes(99))   // position 6
                try txn.put(ids, Array("c-1".utf8), [0, 0, 11])             // position 11
            }
            let r = try Verifier(ledger: try openLedger(copy)).verify(projections: false)
            #expect(r.problems.map(\.position) == [6, 11], "\(r.problems)")
            #expect(r.problems.first?.what.contains("points 'b-3' at position 99, but the log's positions are 1…12") == true, "\(r.problems)")
            #expect(r.problems.last?.what.contains("holds 3 bytes for 'c-1', not a log position") == true, "\(r.problems)")
        }
    }

    @Test func aPayloadAlteredWithItsHashRecomputedBreaksTheNextLink() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try forge(copy, position: 6) { $0[EventBody.Field.author.rawValue] = "forger" }
            let ledger = try openLedger(copy)
            // The forged record is consistent with itself and its predecessor…
            let forgedAuthor = try ledger.events(of: "EP-B").first { $0.position == 6 }?.event.author
            #expect(forgedAuthor == "forger")
            // …so the chain breaks at the next event, whose stored hash links the original.
            let r = try Verifier(ledger: ledger).verify()
            #expect(!r.ok)
            #expect(r.problems.first?.position == 7, "\(r.problems)")
            #expect(r.problems.first?.what.contains("hash chain") == true, "\(r.problems)")
        }
    }

    @Test func aRegistrationThatCannotBeFoldedIsNamedByTheProjectionCheck() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            // The head event rewritten with a code no registration has, and its hash recomputed:
            // the chain and the indexes hold; only the fold, beside the walk, cannot read it.
            try forge(copy, position: 12) { $0[EventBody.Field.code.rawValue] = "D01??" }
            let ledger = try openLedger(copy)
            #expect(try Verifier(ledger: ledger).verify(projections: false).ok)
            let r = try Verifier(ledger: ledger).verify()
            #expect(r.problems.count == 1, "\(r.problems)")
            #expect(r.problems.first?.position == 12, "\(r.problems)")
            #expect(r.problems.first?.what.contains("the registration stored here cannot be read") == true, "\(r.problems)")
            #expect(r.projectionsChecked.isEmpty)
        }
    }

    @Test func rewritingTheWholeTailIsFoundOnlyByTheAnchor() throws {
        try withTemporaryDirectory { dir in
            let head = try buildAuditStore(dir)
            let before = try openLedger(dir)
            let five = Verifier.Anchor(position: 5, hash: try storedHash(before, at: 5))
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try forge(copy, position: 6, following: true) { $0[EventBody.Field.author.rawValue] = "forger" }
            let ledger = try openLedger(copy)
            // Every hash recomputed: the log is self-consistent again…
            #expect(try Verifier(ledger: ledger).verify().ok)
            // …and the published anchor is what catches it; the prefix before the change still holds.
            let r = try Verifier(ledger: ledger).verify(anchor: Verifier.Anchor(head.anchor))
            #expect(!r.ok)
            #expect(r.problems.first?.position == 12, "\(r.problems)")
            #expect(r.problems.first?.what.contains("rewritten") == true, "\(r.problems)")
            #expect(try Verifier(ledger: ledger).verify(anchor: five).ok)
        }
    }

    // MARK: - Bundles

    func bundleFailure(_ lines: [String], anchor: Verifier.Anchor? = nil) -> BundleError? {
        do {
            _ = try EpisodeBundle.verify(lines: lines.map { Substring($0) }, anchor: anchor)
            return nil
        } catch let e as BundleError {
            return e
        } catch {
            Issue.record("not a BundleError: \(error)")
            return nil
        }
    }

    func tamperedPosition(_ e: BundleError?) -> UInt64? {
        if case .tampered(let p, _)? = e { return p }
        return nil
    }

    @Test func bundlesVerifyOfflineAndCatchTampering() throws {
        try withTemporaryDirectory { dir in
            let head = try buildAuditStore(dir)
            let ledger = try openLedger(dir)
            var lines: [String] = []
            let exported = try EpisodeBundle.export(episode: "EP-A", from: ledger) { lines.append($0) }
            // EP-A holds positions 1, 3, 5, 7, 9, 10; the others up to the head are links.
            #expect(exported.events == 6 && exported.links == 6)
            #expect(exported.anchor == head.anchor)
            #expect(lines.count == 13)
            // Clear text for an auditor: every registration field, and no other episode's data.
            let a3 = try #require(lines.first { $0.contains("\"id\":\"a-3\"") })
            for field in ["\"author\":\"\(flipAuthor)\"", "\"code\":\"D01CT\"", "\"date\":\"2026-01-20\"", "\"patient\":\"P-7f3a\""] {
                #expect(a3.contains(field), "\(field) in \(a3)")
            }
            #expect(!lines.joined().contains("P-2b") && !lines.joined().contains("b-1"))

            let ok = try EpisodeBundle.verify(lines: lines.map { Substring($0) })
            #expect(ok.episode == "EP-A" && ok.events == 6 && ok.links == 6 && ok.anchor == head.anchor)
            #expect(bundleFailure(lines, anchor: Verifier.Anchor(head.anchor)) == nil)

            // One clear-text field altered.
            var altered = lines
            let i = try #require(altered.firstIndex { $0.contains("\"id\":\"a-4\"") })
            altered[i] = altered[i].replacingOccurrences(of: "\"date\":\"2026-02-01\"", with: "\"date\":\"2026-01-31\"")
            #expect(altered[i] != lines[i])
            #expect(tamperedPosition(bundleFailure(altered)) == 7)

            // A link removed.
            var unlinked = lines
            let j = try #require(unlinked.firstIndex { $0.hasPrefix("{\"type\":\"link\",\"position\":4,") })
            unlinked.remove(at: j)
            #expect(tamperedPosition(bundleFailure(unlinked)) == 4, "the missing link is named, not the event after it")

            // A trusted anchor the bundle does not end at: another position, or the head with another hash.
            let eleven = Verifier.Anchor(position: 11, hash: try storedHash(ledger, at: 11))
            var wrongHash = Verifier.Anchor(head.anchor)!
            wrongHash.hash[0] ^= 0xff
            for wrong in [eleven, wrongHash] {
                guard case .anchorMismatch? = bundleFailure(lines, anchor: wrong) else {
                    Issue.record("a wrong trusted anchor \(wrong) was accepted"); continue
                }
            }

            // A bundle anchored earlier checks against the anchor of that position.
            var early: [String] = []
            let r10 = try EpisodeBundle.export(episode: "EP-A", from: ledger, anchorPosition: 10) { early.append($0) }
            #expect(r10.links == 4)
            let ten = Verifier.Anchor(position: 10, hash: try storedHash(ledger, at: 10))
            #expect(bundleFailure(early, anchor: ten) == nil)
            #expect(bundleFailure(early, anchor: Verifier.Anchor(head.anchor)) != nil)

            // Two event lines swapped, an event moved into another episode, lines cut off the end.
            var swapped = lines
            swapped.swapAt(3, 5)
            #expect(tamperedPosition(bundleFailure(swapped)) == 3)
            var moved = lines
            moved[1] = moved[1].replacingOccurrences(of: "\"stream\":\"EP-A\"", with: "\"stream\":\"EP-B\"")
            #expect(tamperedPosition(bundleFailure(moved)) == 1)
            #expect(tamperedPosition(bundleFailure(Array(lines.dropLast(2)))) == 12)
        }
    }

    @Test func malformedBundlesAreRejectedWithoutCrashing() throws {
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let ledger = try openLedger(dir)
            var lines: [String] = []
            _ = try EpisodeBundle.export(episode: "EP-C", from: ledger) { lines.append($0) }
            #expect(lines.count == 3)
            #expect(bundleFailure(lines) == nil)
            let cases: [(String, [String])] = [
                ("empty", []),
                ("not JSON", ["{\"bundle\":"]),
                ("first position 0", [lines[0].replacingOccurrences(of: "\"first\":11", with: "\"first\":0")]),
                ("negative first position", [lines[0].replacingOccurrences(of: "\"first\":11", with: "\"first\":-1")] + lines.dropFirst()),
                ("negative link position", [lines[0], "{\"type\":\"link\",\"position\":-1,\"digest\":\"" + String(repeating: "00", count: 32) + "\"}"]),
                ("unknown line type", lines + ["{\"type\":\"note\"}"]),
                ("position not a string", [lines[0], lines[1].replacingOccurrences(of: "\"position\":\"11\"", with: "\"position\":11")] + lines.dropFirst(2)),
            ]
            for (name, bundle) in cases {
                #expect(bundleFailure(bundle) != nil, "\(name) was accepted")
            }
        }
    }
}

/// Deletes the newest events of a closed store straight from LMDB — the log records and their id
/// and stream-index entries — leaving the projections as they were: what someone cutting the end
/// off the data file with LMDB tools would leave behind.
func truncateLog(_ dir: String, keeping keep: UInt64) throws {
    let env = try Environment(path: dir)
    let log = try env.database("log")
    let ids = try env.database("ids")
    let streams = try env.database("streams", flags: [.duplicates, .fixedSizeDuplicates])
    try env.write { txn in
        var removed: [(position: UInt64, id: [UInt8], stream: [UInt8])] = []
        try txn.withCursor(log) { c in
            var entry = try BigEndian.withBytes(keep + 1) { try c.seek(atOrAfter: $0) }
            while let (k, v) = entry {
                let e = try StoredEvent(bytes: v, key: BigEndian.uint64(k))
                removed.append((e.position, Array(e.id), Array(e.stream)))
                entry = try c.next()
            }
        }
        for r in removed {
            try txn.delete(log, BigEndian.bytes(r.position))
            try txn.delete(ids, r.id)
        }
        for stream in Set(removed.map(\.stream)) {
            var kept: [[UInt8]] = []
            try txn.withCursor(streams) { c in
                var entry = try stream.withUnsafeBytes { try c.seek(exactly: $0) }
                while let (_, v) = entry {
                    if BigEndian.uint64(v) <= keep { kept.append(Array(v)) }
                    entry = try c.nextDuplicate()
                }
            }
            try txn.delete(streams, stream)
            for v in kept { try txn.put(streams, stream, v) }
        }
    }
}
