import TestSupport
import Foundation
import Testing
import Audit
import Deadlines
import EventLog
import Ingest
import LMDB
import Ledger
import Pathway
import Synthetic
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 4: the projection engine and the episode-state projection, on real LMDB stores.
@Suite struct ProjectionTests {

    // MARK: - Episode state through appends, corrections and voids

    /// The stored state of EP-1, with the fresh fold of its events (`Ledger.view`) required to agree.
    func state(_ ledger: Ledger, _ episode: String = "EP-1") throws -> StoredEpisode {
        let stored = try #require(try ledger.storedEpisode(episode), "no stored state for \(episode)")
        let fresh = Ledger.view(of: episode, events: try ledger.events(of: episode))
        #expect(stored.phase == fresh.state.phase, "maintained and freshly folded phases differ")
        #expect(stored.state.findings == fresh.state.findings, "maintained and freshly folded findings differ")
        #expect(stored.version == fresh.version && stored.lastPosition == fresh.lastPosition)
        return stored
    }

    /// An episode whose registrations are all voided is stored as `voided`, found by
    /// `--phase voided`, shown so on both time axes, and rebuilt to the same bytes.
    @Test func anEpisodeWithEveryRegistrationVoidedIsStoredAsVoided() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: [l.reg("r-1", "EP-1", "D01A", "2026-01-05"), l.reg("r-2", "EP-1", "D01M", "2026-01-08"),
                                      l.reg("r-3", "EP-2", "D01A", "2026-01-06")])
            try ledger.append(lines: [l.void("v-1", "r-2", reason: "feil pasient"), l.void("v-2", "r-1", reason: "feil pasient")])
            let stored = try #require(try ledger.storedEpisode("EP-1"))
            #expect(stored.phase == .voided)
            #expect(stored.state.milestones.start == nil)
            #expect((stored.version, stored.lastPosition) == (4, 5))
            var voided: [String] = []
            try ledger.storedEpisodes(phase: .voided) { voided.append($0.episode) }
            #expect(voided == ["EP-1"])
            #expect(try ledger.storedEpisode("EP-2")?.phase == .started)
            let events = try ledger.events(of: "EP-1")
            #expect(Ledger.view(of: "EP-1", events: events, knownAt: nil, validAt: CivilDate("2026-01-31")).state.phase == .voided)
            // The replay shows the step: started → assessment → started (M voided) → voided.
            let replay = Replay(episode: "EP-1", events: events)
            #expect(replay.steps.map(\.after.state.phase) == [.started, .assessment, .started, .voided])
            let before = try ledger.dumpProjections()
            _ = try ledger.engine.rebuild()
            #expect(firstDifference(before, try ledger.dumpProjections()) == nil)
        }
    }

    @Test func episodeStateFollowsAppendsCorrectionsAndVoids() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)

            var r = try ledger.append(lines: [l.reg("r-1", "EP-1", "D01A", "2026-01-05")])
            #expect(r.appended == 1 && r.findings.isEmpty)
            var s = try state(ledger)
            #expect(s.phase == .started)
            #expect((s.version, s.lastPosition) == (1, 1))
            #expect((s.patient, s.institution, s.unit) == ("P-7f3a", "HF-Vest", "TSB-POL"))
            #expect(s.state.milestones.start?.date == CivilDate("2026-01-05"))
            #expect(s.state.findings.isEmpty)

            // M dated before A: stored, and flagged.
            r = try ledger.append(lines: [l.reg("r-2", "EP-1", "D01M", "2026-01-03")])
            #expect(r.findings.map(\.rule) == ["start-first"])
            #expect(r.findings.first?.position == 2)
            s = try state(ledger)
            #expect(s.phase == .assessment)
            #expect(s.state.findings.map(\.rule.id) == ["start-first"])
            #expect(s.state.findings.first?.position == 2)

            // A correction repairs the date: the finding is gone, the milestone moves, the version counts it.
            r = try ledger.append(lines: [l.correct("c-1", "r-2", reason: "wrong date", "EP-1", "D01M", "2026-01-08")])
            #expect(r.findings.isEmpty)
            s = try state(ledger)
            #expect(s.phase == .assessment)
            #expect(s.state.findings.isEmpty)
            #expect(s.state.milestones.firstAttendance?.date == CivilDate("2026-01-08"))
            #expect(s.state.milestones.firstAttendance?.place == 2, "a correction keeps the original's place")
            #expect((s.version, s.lastPosition) == (3, 3))

            // A decision with treatment, then corrected to one without, then the correction voided.
            try ledger.append(lines: [l.reg("r-3", "EP-1", "D01CT", "2026-01-20")])
            #expect(try state(ledger).phase == .treatment)
            try ledger.append(lines: [l.correct("c-2", "r-3", reason: "wrong outcome", "EP-1", "D01CP", "2026-01-20")])
            s = try state(ledger)
            #expect(s.phase == .decided)
            #expect(s.state.milestones.finalDecision?.outcomes == OutcomeSet(letter: UInt8(ascii: "P")))
            try ledger.append(lines: [l.void("v-1", "c-2", reason: "the correction was itself wrong")])
            s = try state(ledger)
            #expect(s.phase == .treatment, "voiding a correction puts the corrected registration back in force")
            #expect((s.version, s.lastPosition) == (6, 6), "a voiding belongs to its target's episode")

            // Voiding the original registration: as if it had never been.
            try ledger.append(lines: [l.void("v-2", "r-3", reason: "registered on the wrong patient")])
            s = try state(ledger)
            #expect(s.phase == .assessment)
            #expect(s.state.milestones.decisions.isEmpty)

            // A second M raises a finding; voiding it removes the finding.
            r = try ledger.append(lines: [l.reg("r-4", "EP-1", "D01M", "2026-01-10")])
            #expect(r.findings.map(\.rule) == ["first-attendance-once"])
            #expect(try state(ledger).state.findings.map(\.rule.id) == ["first-attendance-once"])
            try ledger.append(lines: [l.void("v-3", "r-4", reason: "registered twice")])
            s = try state(ledger)
            #expect(s.state.findings.isEmpty)
            #expect(s.state.milestones.firstAttendance?.date == CivilDate("2026-01-08"))

            // To the end: X raises the missing H and E findings, which H and E then repair.
            try ledger.append(lines: [l.reg("r-5", "EP-1", "D01CT", "2026-01-21")])
            r = try ledger.append(lines: [l.reg("r-6", "EP-1", "D01XG", "2026-02-20")])
            #expect(try state(ledger).phase == .ended)
            #expect(Set(try state(ledger).state.findings.map(\.rule.id)) == ["help-needs-missing", "evaluation-at-end"])
            try ledger.append(lines: [l.reg("r-7", "EP-1", "D01E", "2026-02-15"), l.reg("r-8", "EP-1", "D01HK", "2026-02-20")])
            s = try state(ledger)
            #expect(s.phase == .ended)
            #expect(s.state.findings.isEmpty)
            #expect((s.version, s.lastPosition) == (13, 13))

            // Nothing maintained differs from a fresh fold, byte for byte.
            let (events, mismatches) = try ledger.engine.verify()
            #expect(events == 13)
            #expect(mismatches.isEmpty, "\(mismatches)")
            #expect(try ledger.stats().checkpoints.allSatisfy { $0.1 == 13 })
        }
    }

    @Test func episodeListFiltersAndPatientLinks() throws {
        var l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: [
                l.reg("a-1", "EP-1", "D01A", "2026-01-05"), l.reg("a-2", "EP-1", "D01M", "2026-01-06"),
                l.reg("a-3", "EP-1", "D01XO", "2026-01-20"),
                l.reg("b-1", "EP-2", "D01A", "2026-01-21"),
            ])
            l.patient = "P-other"; l.unit = "TSB-DOGN"
            try ledger.append(lines: [l.reg("c-1", "EP-3", "D01A", "2026-01-10"), l.reg("c-2", "EP-3", "D01M", "2026-01-11")])
            var started: [String] = [], dogn: [String] = []
            try ledger.storedEpisodes(phase: .started) { started.append($0.episode) }
            try ledger.storedEpisodes(unit: "TSB-DOGN") { dogn.append($0.episode) }
            #expect(started == ["EP-2"])
            #expect(dogn == ["EP-3"])
            // EP-1 ended by transfer (XO) and EP-2 started after it for the same patient: linked.
            #expect(try ledger.patientLinks(patient: "P-7f3a", episode: "EP-1") == (nil, "EP-2"))
            #expect(try ledger.patientLinks(patient: "P-7f3a", episode: "EP-2") == ("EP-1", nil))
            #expect(try ledger.patientLinks(patient: "P-other", episode: "EP-3") == (nil, nil))

            // The later episode must start on or after the transfer: one that began while EP-4 was
            // still running is the patient's next episode by date, but not the one EP-4 handed over to.
            l.patient = "P-third"
            try ledger.append(lines: [l.reg("d-1", "EP-4", "D01A", "2026-01-05"), l.reg("d-2", "EP-4", "D01XN", "2026-02-01"),
                                      l.reg("e-1", "EP-5", "D01A", "2026-01-10")])
            #expect(try ledger.patientLinks(patient: "P-third", episode: "EP-4") == (nil, nil))
            #expect(try ledger.patientLinks(patient: "P-third", episode: "EP-5") == (nil, nil))
            // Starting on the day of the transfer counts as after it.
            l.patient = "P-fourth"
            try ledger.append(lines: [l.reg("f-1", "EP-6", "D01A", "2026-01-05"), l.reg("f-2", "EP-6", "D01XO", "2026-02-01"),
                                      l.reg("g-1", "EP-7", "D01A", "2026-02-01")])
            #expect(try ledger.patientLinks(patient: "P-fourth", episode: "EP-6") == (nil, "EP-7"))
            #expect(try ledger.patientLinks(patient: "P-fourth", episode: "EP-7") == ("EP-6", nil))
        }
    }

    /// Blue/green: a reader that opened before a rebuild keeps the generation it started with —
    /// its records readable — until it ends, while the rebuild writes the other generation and
    /// swaps it in; readers that start afterwards see the new one, and the old is emptied.
    @Test func aReaderOpenedBeforeARebuildKeepsItsGenerationUntilItEnds() throws {
        final class Seen: @unchecked Sendable {
            var before = "", during = "", record: [UInt8]? = nil, error: (any Error)? = nil
        }
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: l.openingOfEP1())
            let expected = try ledger.views.read { txn in
                try txn.get(try ledger.engine.activeDatabases(named: "episodes", in: txn)[0], Array("EP-1".utf8)).map { Array($0) }
            }
            let seen = Seen()
            let opened = DispatchSemaphore(value: 0), rebuilt = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
            let reader = Thread {
                do {
                    try ledger.views.read { txn in
                        seen.before = try ledger.engine.activeDatabases(named: "episodes", in: txn)[0].name
                        opened.signal()
                        rebuilt.wait()
                        let db = try ledger.engine.activeDatabases(named: "episodes", in: txn)[0]
                        seen.during = db.name
                        seen.record = try txn.get(db, Array("EP-1".utf8)).map { Array($0) }
                    }
                } catch { seen.error = error }
                finished.signal()
            }
            reader.start()
            opened.wait()
            _ = try ledger.engine.rebuild(["episodes"])
            rebuilt.signal()
            finished.wait()
            #expect(seen.error == nil, "\(String(describing: seen.error))")
            #expect(seen.during == seen.before, "the old reader still reads the generation it began with")
            #expect(seen.record != nil && seen.record == expected, "and its records are all there")
            let (now, retired) = try ledger.views.read { txn in
                let db = try ledger.engine.activeDatabases(named: "episodes", in: txn)[0]
                let old = try ledger.views.database(seen.before)
                return (db.name, try txn.get(old, Array("EP-1".utf8)).map { Array($0) })
            }
            #expect(now != seen.before, "new readers see the rebuilt generation")
            #expect(retired == nil, "the retired generation was emptied once the swap committed")
            #expect(try ledger.storedEpisode("EP-1") != nil)
        }
    }

    /// A rule-set file added (or changed) reaches the stored timers and indicators: the projections
    /// that depend on the rules carry the rule book in their schema number, so a store opened with
    /// other rules rebuilds them instead of serving timers derived from the old ones.
    @Test func aStoreOpenedWithOtherRulesRebuildsItsTimers() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let clock = LedgerClock(fixed: Instant(rfc3339: fixedNow)!)
            do {
                let ledger = try Ledger(path: dir, clock: clock)
                try ledger.append(lines: [l.reg("r-1", "EP-1", "D01A", "2026-01-05"), l.reg("r-2", "EP-1", "D01M", "2026-01-06")])
                let basic = try ledger.storedTimers("EP-1").first { $0.kind == .basicAssessment }
                #expect(basic?.rulesVersion == "tsb-2022")
                #expect(basic?.allowedDays == 21)
            }
            let json = #"{"version":"tsb-2026","effectiveFrom":"2026-01-01","timers":{"basic-assessment":{"outpatient":14,"inpatient":5}}}"#
            let newer = try RuleBook(RuleBook.bundled.sets + [RuleSet(json: Array(json.utf8), file: "tsb-2026.json")])
            let projections: [EpisodeProjection] = [EpisodeStateProjection(), DeadlinesProjection(rules: newer), QualityProjection(rules: newer)]
            #expect(DeadlinesProjection(rules: newer).schemaVersion != DeadlinesProjection().schemaVersion)
            #expect(QualityProjection(rules: newer).schemaVersion != QualityProjection().schemaVersion)
            #expect(DeadlinesProjection().schemaVersion == DeadlinesProjection(rules: RuleBook.bundled).schemaVersion)
            // Rewording a citation changes no timer, so no rebuild.
            let reworded = try RuleBook(RuleBook.bundled.sets.map { set in
                let text = set.json().replacingOccurrences(of: "\"source\":\"", with: "\"source\":\"(reworded) ")
                return try RuleSet(json: Array(text.utf8), file: set.version + ".json")
            })
            #expect(reworded.sets.map(\.source) != RuleBook.bundled.sets.map(\.source))
            #expect(DeadlinesProjection(rules: reworded).schemaVersion == DeadlinesProjection().schemaVersion)
            #expect(QualityProjection(rules: reworded).schemaVersion == QualityProjection().schemaVersion)
            let reopened = try Ledger(path: dir, clock: clock, projections: projections)
            let basic = try reopened.storedTimers("EP-1").first { $0.kind == .basicAssessment }
            #expect(basic?.rulesVersion == "tsb-2026")
            #expect(basic?.allowedDays == 14)
            let report = try Verifier(ledger: reopened).verify()
            #expect(report.ok, "\(report.problems)")
        }
    }

    // MARK: - Catch-up after a kill between the log's commit and the projections'

    /// Projection names in engine order (the corrected history first), read from a throwaway store.
    func projectionNames() throws -> [String] {
        try withTemporaryDirectory { dir in try openLedger(dir).engine.projections.map(\.name) }
    }

    /// After a child was killed: the store as it was left (before any catch-up), then opened.
    /// Returns the new head.
    /// `readAll`: every report the child wrote was read (else some were left unread in the pipe).
    func checkAfterKill(_ dir: String, names: [String], reported: [UInt64], previousHead: UInt64,
                        readAll: Bool = true, context: String) throws -> (head: UInt64, lagged: Bool) {
        let raw = try rawHeadAndCheckpoints(dir, projections: names)
        let last = reported.last ?? previousHead
        // Every report is durable; at most one more commit (the one in flight) may be there unreported.
        #expect(raw.head >= last, "\(context): head \(raw.head), last reported \(last)")
        if readAll { #expect(raw.head <= last + 1, "\(context): head \(raw.head), last reported \(last)") }
        let cps = Set(raw.checkpoints.values)
        #expect(cps.count == 1, "\(context): the projections' checkpoints disagree: \(raw.checkpoints)")
        let cp = cps.min() ?? 0
        // The projections commit right after the log: at most one event behind.
        #expect(cp == raw.head || cp + 1 == raw.head, "\(context): checkpoint \(cp), head \(raw.head)")

        let ledger = try openLedger(dir)
        let stats = try ledger.stats()
        #expect(stats.head.position == raw.head, "\(context)")
        for (name, checkpoint) in stats.checkpoints {
            #expect(checkpoint == raw.head, "\(context): projection \(name) at \(checkpoint) after opening, head \(raw.head)")
        }
        // Every reported position holds the child's event for it: id crash-<position - 1>.
        try ledger.environment.read { txn in
            for p in reported {
                let id = try ledger.log.withEvent(at: p, in: txn) { $0.idString }
                #expect(id == "crash-\(p - 1)", "\(context): position \(p)")
            }
        }
        // Nothing skipped or applied twice: every projection equals a fresh fold, and the log verifies.
        let (events, mismatches) = try ledger.engine.verify()
        #expect(events == Int(raw.head), "\(context)")
        #expect(mismatches.isEmpty, "\(context): \(mismatches)")
        let report = try Verifier(ledger: ledger).verify(projections: false)
        #expect(report.ok, "\(context): \(report.problems)")
        return (raw.head, cp < raw.head)
    }

    func crashRounds(seed: UInt64, rounds: Int) throws {
        let exe = try pathwayExecutable()
        let names = try projectionNames()
        var rng = SeededGenerator(seed: seed)
        try withTemporaryDirectory { dir in
            var head: UInt64 = 0
            var lagged = 0
            for round in 0..<rounds {
                let killAfter = Int.random(in: 2...20, using: &rng)
                let extraMicroseconds = UInt32.random(in: 0...4_000, using: &rng)
                let context = "seed \(seed), round \(round), kill after \(killAfter) + \(extraMicroseconds) µs"
                let args = ["debug-append-loop", "--store", dir, "--count", "100000"]
                let child = try Child(exe, args, environment: childEnvironment())
                var reported: [UInt64] = []
                while reported.count < killAfter, let line = child.nextLine() {
                    reported.append(try #require(UInt64(line), "\(context): a report line '\(line)'"))
                }
                usleep(extraMicroseconds)
                child.kill(SIGKILL)
                for line in child.remainingLines() {
                    reported.append(try #require(UInt64(line), "\(context): a report line '\(line)'"))
                }
                let exit = child.wait()
                #expect(!child.watchdogFired.current, "\(context): the child hung")
                #expect(exit == .signal(SIGKILL), "\(context): the child ended on its own: \(exit)")
                try #require(reported.count >= killAfter, "\(context): the child reported only \(reported.count) appends")
                #expect(reported == (1...reported.count).map { head + UInt64($0) }, "\(context)")
                let r = try checkAfterKill(dir, names: names, reported: reported, previousHead: head, context: context)
                head = r.head
                if r.lagged { lagged += 1 }
            }

            print("crash rounds (seed \(seed)): \(lagged) of \(rounds) kills left the projections one event behind the log")
            // One round where the kill lands between the two commits by construction: closing the
            // child's stdout makes its next report — written after the log's commit and before the
            // projections' — end it with SIGPIPE.
            let context = "seed \(seed), SIGPIPE round"
            let child = try Child(exe, ["debug-append-loop", "--store", dir, "--count", "100000"],
                                  environment: childEnvironment())
            var reported: [UInt64] = []
            while reported.count < 3, let line = child.nextLine() { reported.append(try #require(UInt64(line))) }
            child.closeOutput()
            let exit = child.wait()
            try #require(exit == .signal(SIGPIPE), "\(context): the child ended with \(exit)")
            let raw = try rawHeadAndCheckpoints(dir, projections: names)
            #expect(raw.head > reported.last!, "\(context)")
            #expect(raw.checkpoints.values.allSatisfy { $0 + 1 == raw.head },
                    "\(context): the log should be exactly one event ahead of the projections: head \(raw.head), \(raw.checkpoints)")
            _ = try checkAfterKill(dir, names: names, reported: reported, previousHead: head, readAll: false, context: context)
        }
    }

    @Test func killedBetweenLogAndProjectionCommitsIsCaughtUpOnOpen() throws {
        try crashRounds(seed: 0x5EED_2026_0004, rounds: 8)
    }

    // MARK: - Rebuild equals incremental, byte for byte

    /// A batch that is most of the log is caught up by folding the whole log again (a bulk
    /// import); smaller ones episode by episode. Both must leave the same bytes, and the bulk
    /// path must leave the store consistent for later incremental appends.
    @Test func bulkCatchUpEqualsIncrementalCatchUp() throws {
        var text: [String] = []
        SyntheticGenerator(episodes: 300, seed: 0xB01C, from: CivilDate("2025-01-01")!, to: CivilDate("2025-12-31")!)
            .generate { text.append($0) }
        let parsed = try parse(text)
        let cut = parsed.count * 4 / 5
        let first = Array(parsed[..<cut]), rest = Array(parsed[cut...])

        func build(bulk: Bool) throws -> [String: [[UInt8]]] {
            try withTemporaryDirectory { dir in
                let ledger = try openLedger(dir)
                ledger.engine.bulkCatchUpThreshold = bulk ? 100 : Int.max
                // The first batch is all of the log (bulk when allowed); the rest is a quarter of
                // the log or less, so it is caught up episode by episode either way.
                for batch in [first, rest] {
                    let r = try ledger.append(batch)
                    try #require(r.rejected.isEmpty && r.appended == batch.count)
                }
                let check = try ledger.engine.verify()
                #expect(check.mismatches.isEmpty, "\(check.mismatches.prefix(3))")
                return try ledger.dumpProjections()
            }
        }
        let incremental = try build(bulk: false)
        let bulk = try build(bulk: true)
        #expect(incremental.values.contains { $0.count > 0 })
        #expect(firstDifference(incremental, bulk) == nil)
    }

    @Test func rebuildEqualsIncrementalByteForByte() throws {
        var text: [String] = []
        let summary = SyntheticGenerator(episodes: 600, seed: 0x4EB1_1D, from: CivilDate("2025-01-01")!, to: CivilDate("2025-12-31")!)
            .generate { text.append($0) }
        try #require(summary.corrections > 0 && summary.voidings > 0 && summary.ruleBreaks > 0, "\(summary)")
        let parsed = try parse(text)
        #expect(parsed.count == text.count)

        try withTemporaryDirectory { dir in
            var ledger: Ledger? = try openLedger(dir)
            // Several batches, so catch-up starts from many checkpoints.
            let batches = 7
            let size = (parsed.count + batches - 1) / batches
            var findings = 0, appended = 0
            for (i, start) in stride(from: 0, to: parsed.count, by: size).enumerated() {
                let batch = Array(parsed[start..<min(start + size, parsed.count)])
                let r = try ledger!.append(batch)
                try #require(r.rejected.isEmpty, "batch \(i): \(r.rejected.prefix(5))")
                findings += r.findings.count
                appended += r.appended
            }
            #expect(appended == parsed.count)
            #expect(findings > 0, "the generated history raises findings")
            var phases = Set<EpisodeState.Phase>()
            try ledger!.storedEpisodes { phases.insert($0.phase) }
            #expect(phases.count >= 4, "a varied history: \(phases)")

            let incremental = try ledger!.dumpProjections()
            #expect(incremental.values.contains { $0.count > 0 })
            let before = try ledger!.engine.verify()
            #expect(before.mismatches.isEmpty, "\(before.mismatches)")

            let report = try ledger!.engine.rebuild()
            #expect(report.events == parsed.count)
            #expect(report.projections == ledger!.engine.projections.map(\.name))
            let rebuilt = try ledger!.dumpProjections()
            #expect(firstDifference(incremental, rebuilt) == nil)

            // Rebuilding one projection again flips only its generation; still the same bytes.
            _ = try ledger!.engine.rebuild(["episodes"])
            #expect(firstDifference(incremental, try ledger!.dumpProjections()) == nil)
            let after = try ledger!.engine.verify()
            #expect(after.mismatches.isEmpty, "\(after.mismatches)")

            // And it persists: reopened, nothing to catch up, the same bytes.
            ledger = nil
            let reopened = try openLedger(dir)
            #expect(firstDifference(incremental, try reopened.dumpProjections()) == nil)
        }
    }

    /// A log in recorded order — all episodes interleaved, as a national ledger receives them
    /// (`pathway generate --order recorded`) — appended in small batches, so every catch-up touches
    /// many episodes at scattered keys: the incrementally kept projections equal a rebuild byte for
    /// byte, and every episode ends in the same state, with the same findings and the same quality
    /// counts, as when the same lines come episode after episode.
    @Test func anInterleavedLogKeptInSmallBatchesEqualsItsRebuildAndTheGroupedLog() throws {
        let g = SyntheticGenerator(episodes: 300, seed: 0x1A7E, from: CivilDate("2024-06-01")!, to: CivilDate("2025-12-31")!)
        var grouped: [String] = []
        let summary = g.generate { grouped.append($0) }
        try #require(summary.corrections > 0 && summary.voidings > 0 && summary.ruleBreaks > 0, "\(summary)")
        try withTemporaryDirectory { dir in
            var bytes: [UInt8] = []
            try g.generateInRecordedOrder(runBytes: 32 << 10, temporaryDirectory: dir) { bytes += $0 }
            let interleaved = String(decoding: bytes.dropLast(), as: UTF8.self).split(separator: "\n").map(String.init)
            #expect(interleaved.count == grouped.count && interleaved != grouped)

            let a = try openLedger(dir + "/grouped"), b = try openLedger(dir + "/interleaved")
            try a.append(lines: grouped)
            let parsed = try parse(interleaved)
            for start in stride(from: 0, to: parsed.count, by: 61) {
                let r = try b.append(Array(parsed[start..<min(start + 61, parsed.count)]))
                try #require(r.rejected.isEmpty, "\(r.rejected.prefix(3))")
            }
            let incremental = try b.dumpProjections()
            let check = try b.engine.verify()
            #expect(check.mismatches.isEmpty, "\(check.mismatches.prefix(3))")
            _ = try b.engine.rebuild()
            #expect(firstDifference(incremental, try b.dumpProjections()) == nil)

            // The same episodes either way (positions differ, so compare what they say).
            func summary(_ l: Ledger) throws -> [String: String] {
                var out: [String: String] = [:]
                try l.storedEpisodes { e in
                    let m = e.state.milestones
                    let findings = e.state.findings.map { "\($0.rule) \($0.code) \($0.date)" }.sorted()
                    out[e.episode] = "\(e.phase) \(e.patient) \(e.institution) \(e.unit) v\(e.version) A \(m.start?.date as Any) "
                        + "M \(m.firstAttendance?.date as Any) E \(m.evaluations.map(\.date)) X \(m.end?.date as Any) \(m.end?.outcome ?? 0) \(findings)"
                }
                return out
            }
            let ea = try summary(a), eb = try summary(b)
            #expect(ea.count == 300)
            for (k, v) in ea where eb[k] != v { Issue.record("\(k): \(v) vs \(eb[k] ?? "missing")"); break }
            let qa = try a.dumpProjections().filter { $0.key.hasPrefix("quality.") }, qb = try b.dumpProjections().filter { $0.key.hasPrefix("quality.") }
            #expect(!qa.isEmpty && qa.values.contains { !$0.isEmpty })
            #expect(qa == qb, "quality counts differ")
        }
    }

    /// A rebuild works out the episodes' records block by block; with blocks of a few episodes
    /// (many boundaries, an uneven last block) it writes the same bytes as the incrementally kept
    /// store, and verify, which walks the same blocks, finds them equal.
    @Test func rebuildInSmallBlocksWritesTheSameBytes() throws {
        try withGeneratedStore(episodes: 200, seed: 0xB10C5, from: "2025-01-01", to: "2025-12-31") { ledger in
            let whole = try ledger.dumpProjections()
            for size in [1, 7, 64] {
                ledger.engine.recordBlock = size
                _ = try ledger.engine.rebuild()
                #expect(firstDifference(whole, try ledger.dumpProjections()) == nil, "blocks of \(size)")
                let check = try ledger.engine.verify()
                #expect(check.mismatches.isEmpty, "blocks of \(size): \(check.mismatches.prefix(3))")
            }
        }
    }

    /// Registrations appended one at a time — the way a hospital system sends them — take the
    /// catch-up's few-cells path (quality cells read, changed and deleted through one cursor)
    /// for every event, corrections and voidings included; the store must still equal a rebuild.
    @Test func singleAppendsEqualARebuildByteForByte() throws {
        var text: [String] = []
        let summary = SyntheticGenerator(episodes: 40, seed: 0x51_4E_61E, from: CivilDate("2025-01-01")!, to: CivilDate("2025-12-31")!)
            .generate { text.append($0) }
        try #require(summary.corrections + summary.voidings > 0, "\(summary)")
        let parsed = try parse(text)
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            for line in parsed {
                let r = try ledger.append([line])
                try #require(r.rejected.isEmpty && r.appended == 1, "line \(line.line): \(r.rejected)")
            }
            let incremental = try ledger.dumpProjections()
            #expect((incremental["quality.counters"]?.count ?? 0) > 0)
            _ = try ledger.engine.rebuild()
            #expect(firstDifference(incremental, try ledger.dumpProjections()) == nil)
        }
    }

    /// The engine sums quality counters as cells (two name numbers and a code); the projection's
    /// byte-keyed records are the reference. Summed over a generated history with corrections and
    /// voids, both must give the same keys and amounts, and the stored counters must equal them.
    @Test func qualityCellsAgreeWithItsByteKeyedRecords() throws {
        try withGeneratedStore(episodes: 400, seed: 0xCE11, from: "2024-01-01", to: "2025-12-31") { ledger in
            var fold = ProjectionEngine.Fold()
            try ledger.engine.fold(into: &fold)
            let quality = QualityProjection()
            var fromRecords: [[UInt8]: [Int64]] = [:]
            var fromCells: [[UInt8]: [Int64]] = [:]
            for i in 0..<fold.episodeCount {
                let snapshot = fold.snapshot(i)
                var sink = RecordSink()
                quality.records(for: snapshot, into: &sink)
                for rec in sink.records {
                    let c = rec.value.withUnsafeBytes { Counts(bytes: $0)! }
                    let old = fromRecords[rec.key] ?? [0, 0, 0]
                    fromRecords[rec.key] = [old[0] + c.a, old[1] + c.b, old[2] + c.c]
                }
                quality.cells(for: snapshot) { cell, c in
                    let key = quality.key(of: cell, symbols: fold.symbols)
                    let old = fromCells[key] ?? [0, 0, 0]
                    fromCells[key] = [old[0] + c.a, old[1] + c.b, old[2] + c.c]
                }
            }
            #expect(fromRecords.count > 100)
            #expect(fromCells == fromRecords)
            var stored: [[UInt8]: [Int64]] = [:]
            try ledger.forEachQualityCounter { k, a, b, c in stored[Array(k)] = [a, b, c] }
            #expect(stored == fromRecords.filter { $0.value != [0, 0, 0] })
        }
    }

    /// Names the first database (and entry) where two dumps differ, or nil.
    func firstDifference(_ a: [String: [[UInt8]]], _ b: [String: [[UInt8]]]) -> String? {
        if Set(a.keys) != Set(b.keys) { return "databases \(a.keys.sorted()) vs \(b.keys.sorted())" }
        for name in a.keys.sorted() where a[name]! != b[name]! {
            let x = a[name]!, y = b[name]!
            let i = x.indices.first { $0 >= y.count || x[$0] != y[$0] } ?? x.count
            let key = i < x.count ? String(decoding: x[i & ~1], as: UTF8.self) : "(end)"
            return "\(name): \(x.count / 2) vs \(y.count / 2) entries; first difference at entry \(i / 2) (key \(key))"
        }
        return nil
    }

    // MARK: - Known at an instant, valid at a date

    @Test func knownAtAndValidAtViewsIncludeTheirBoundaries() throws {
        let l = Lines()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: l.openingOfEP1() + [
                l.reg("r-3", "EP-1", "D01CT", "2026-01-20", recordedAt: "2026-01-21T08:00:00Z"),
            ])
            try ledger.append(lines: [
                l.correct("c-1", "r-3", reason: "wrong outcome", "EP-1", "D01CP", "2026-01-20", recordedAt: "2026-02-01T12:00:00Z"),
                l.reg("r-4", "EP-1", "D01F", "2026-02-02"), // no recordedAt: known from the append instant
            ])
            let events = try ledger.events(of: "EP-1")
            #expect(events.map(\.position) == [1, 2, 3, 4, 5])
            #expect(events.map(\.version) == [1, 2, 3, 4, 5])
            #expect(events[3].targetPosition == 3)
            #expect(events[4].effectiveRecordedAt == Instant(rfc3339: fixedNow))

            func known(_ instant: String) -> EpisodeView {
                Ledger.view(of: "EP-1", events: events, knownAt: Instant(rfc3339: instant)!)
            }
            func valid(_ date: String, knownAt: String? = nil) -> EpisodeView {
                Ledger.view(of: "EP-1", events: events, knownAt: knownAt.flatMap { Instant(rfc3339: $0) }, validAt: CivilDate(date)!)
            }

            // Known at: an instant equal to a recordedAt includes that event; a microsecond earlier does not.
            #expect(known("2026-01-05T08:59:59.999999Z").version == 0)
            #expect(known("2026-01-05T09:00:00Z").state.phase == .started)
            #expect(known("2026-01-08T09:59:59.999999Z").version == 1)
            #expect(known("2026-01-08T10:00:00Z").version == 2)
            #expect(known("2026-01-08T10:00:00Z").state.phase == .assessment)
            #expect(known("2026-01-08T10:00:00Z").lastPosition == 2)
            #expect(known("2026-01-21T07:59:59.999999Z").state.phase == .assessment)
            #expect(known("2026-01-21T08:00:00Z").state.phase == .treatment)
            #expect(known("2026-02-01T11:59:59.999999Z").state.phase == .treatment, "before the correction was recorded")
            #expect(known("2026-02-01T12:00:00Z").state.phase == .decided, "the correction as known from its recordedAt")
            #expect(known("2026-02-01T12:00:00Z").version == 4)
            #expect(known("2026-03-01T11:59:59.999999Z").state.milestones.feedback.isEmpty)
            #expect(known(fixedNow).state.milestones.feedback.count == 1)
            #expect(known(fixedNow).version == 5)
            // The same instant written with an offset is the same instant.
            #expect(known("2026-01-08T11:00:00+01:00").version == 2)

            // Valid at: a date equal to a registration's date includes it; the day before does not.
            #expect(valid("2026-01-04").state.milestones.count == 0)
            #expect(valid("2026-01-05").state.phase == .started)
            #expect(valid("2026-01-07").state.phase == .started)
            #expect(valid("2026-01-07").state.milestones.firstAttendance == nil)
            #expect(valid("2026-01-08").state.phase == .assessment)
            #expect(valid("2026-01-08").state.milestones.firstAttendance?.date == CivilDate("2026-01-08"))
            #expect(valid("2026-01-19").state.phase == .assessment)
            #expect(valid("2026-01-20").state.phase == .decided, "the corrected decision, dated on the boundary")
            #expect(valid("2026-02-01").state.milestones.feedback.isEmpty)
            #expect(valid("2026-02-02").state.milestones.feedback.count == 1)
            // Valid at uses everything known now; version counts every known event.
            #expect(valid("2026-01-04").version == 5)

            // Both axes: as valid on the decision's date, as known before the correction.
            #expect(valid("2026-01-20", knownAt: "2026-01-21T08:00:00Z").state.phase == .treatment)
            #expect(valid("2026-01-20", knownAt: "2026-01-21T07:59:59Z").state.phase == .assessment)

            // With no axes the on-demand view is the maintained state.
            let stored = try #require(try ledger.storedEpisode("EP-1"))
            let now = Ledger.view(of: "EP-1", events: events)
            #expect(stored.phase == now.state.phase && stored.state.findings == now.state.findings)
            #expect(stored.version == now.version && stored.lastPosition == now.lastPosition)
            #expect(stored.state.milestones.decisions == now.state.milestones.decisions)
        }
    }
}
