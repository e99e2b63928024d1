import TestSupport
import Foundation
import Testing
import Audit
import EventLog
import LMDB
import Ledger
#if canImport(Glibc)
import Glibc
#endif

/// The projections' own environment (`STORE/views`), committed without an fsync: what a killed
/// process, a power loss and another process's append leave behind, and how the ledger recovers.
@Suite struct ViewsTests {
    static let bootIDFile = "/proc/sys/kernel/random/boot_id"
    var bootID: String? {
        (try? String(contentsOfFile: ViewsTests.bootIDFile, encoding: .utf8)).map { $0.filter { !$0.isWhitespace } }
    }

    func markers(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/views")) ?? []).filter { $0.hasPrefix("unsynced-") }.sorted()
    }

    func inode(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    /// A store with a few episodes, closed; returns its dump and head.
    func buildStore(_ dir: String) throws -> (dump: [String: [[UInt8]]], head: UInt64) {
        let l = Lines()
        let ledger = try openLedger(dir)
        try ledger.append(lines: l.openingOfEP1())
        try ledger.append(lines: [l.reg("b-1", "EP-2", "D01A", "2026-01-10"), l.reg("b-2", "EP-2", "D01M", "2026-01-20")])
        return (try ledger.dumpProjections(), try ledger.head.position)
    }

    @Test func aProcessLeavesAMarkerWhileOpenAndRemovesItWhenItCloses() throws {
        guard let boot = bootID else { return }   // not Linux: the views commit durably, no markers
        try withTemporaryDirectory { dir in
            var ledger: Ledger? = try openLedger(dir)
            try ledger!.append(lines: Lines().openingOfEP1())
            #expect(markers(dir) == ["unsynced-\(getpid())"])
            let content = try String(contentsOfFile: dir + "/views/unsynced-\(getpid())", encoding: .utf8)
            #expect(content == boot)
            ledger = nil
            #expect(markers(dir).isEmpty, "a clean close flushes the views and removes the marker")
        }
    }

    /// A process that only reads (a query, an audit) writes nothing to the views and leaves no marker.
    @Test func aProcessThatOnlyReadsLeavesNoMarker() throws {
        guard bootID != nil else { return }
        try withTemporaryDirectory { dir in
            _ = try buildStore(dir)
            let ledger = try openLedger(dir)
            #expect(try ledger.storedEpisode("EP-1") != nil)
            #expect(try ledger.qualityCounters().count > 0)
            #expect(markers(dir).isEmpty, "\(markers(dir))")
            try ledger.append(lines: [Lines().reg("c-1", "EP-2", "D01CT", "2026-01-25")])
            #expect(markers(dir) == ["unsynced-\(getpid())"], "a write leaves one")
        }
    }

    /// A power loss or kernel crash with view pages not yet flushed: the marker left by the
    /// process that wrote them names an earlier boot. The views file is then not trusted at all —
    /// here it is garbage — and the projections are rebuilt from the log.
    @Test func viewsLeftUnflushedByAnEarlierBootAreRebuiltFromTheLog() throws {
        guard bootID != nil else { return }
        try withTemporaryDirectory { dir in
            let built = try buildStore(dir)
            try "00000000-0000-0000-0000-000000000000".write(toFile: dir + "/views/unsynced-4242", atomically: false, encoding: .utf8)
            let garbage = Data((0..<(64 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) })
            try garbage.write(to: URL(fileURLWithPath: dir + "/views/data.mdb"))
            let ledger = try openLedger(dir)
            #expect(ledger.openingNote?.contains("the machine went down") == true, "\(ledger.openingNote ?? "no note")")
            #expect(ledger.openingNote?.contains("from the log's 4 events") == true, "\(ledger.openingNote ?? "no note")")
            #expect(try ledger.dumpProjections() == built.dump, "rebuilt byte for byte from the log")
            #expect(try ledger.stats().checkpoints.allSatisfy { $0.1 == built.head })
            #expect(markers(dir) == ["unsynced-\(getpid())"], "the earlier boot's marker is gone")
            let report = try Verifier(ledger: ledger).verify()
            #expect(report.ok, "\(report.problems)")
        }
    }

    /// A views file LMDB cannot read at all — damaged by something the markers do not cover (a
    /// disk error, a stray write) — is discarded and rebuilt too: it holds nothing the log does not.
    @Test func anUnreadableViewsFileIsRebuiltFromTheLog() throws {
        try withTemporaryDirectory { dir in
            let built = try buildStore(dir)
            try Data(repeating: 0xA5, count: 3 * 4096).write(to: URL(fileURLWithPath: dir + "/views/data.mdb"))
            let ledger = try openLedger(dir)
            #expect(ledger.openingNote?.contains("could not be read") == true, "\(ledger.openingNote ?? "no note")")
            #expect(try ledger.dumpProjections() == built.dump)
            let (_, mismatches) = try ledger.engine.verify()
            #expect(mismatches.isEmpty, "\(mismatches)")
        }
    }

    /// A marker from this boot whose process is gone (`kill -9`): its pages are in the page cache,
    /// so the views are kept — not rebuilt — flushed, and the marker removed.
    @Test func aMarkerLeftByAKilledProcessOfThisBootKeepsTheViews() throws {
        guard let boot = bootID else { return }
        try withTemporaryDirectory { dir in
            let built = try buildStore(dir)
            let gone = Process()
            gone.executableURL = URL(fileURLWithPath: "/bin/true")
            try gone.run()
            gone.waitUntilExit()
            let deadPID = gone.processIdentifier
            try boot.write(toFile: dir + "/views/unsynced-\(deadPID)", atomically: false, encoding: .utf8)
            let before = inode(dir + "/views/data.mdb")
            let ledger = try openLedger(dir)
            #expect(ledger.openingNote == nil, "nothing to repair: \(ledger.openingNote ?? "")")
            #expect(inode(dir + "/views/data.mdb") == before, "the views file was kept, not recreated")
            #expect(!markers(dir).contains("unsynced-\(deadPID)"))
            #expect(try ledger.dumpProjections() == built.dump)
        }
    }

    /// A store from before the views moved out kept its projections in the log's file: they are
    /// dropped there, and the views are built from the log.
    @Test func aStoreWithProjectionsInTheLogFileMovesThemToTheViews() throws {
        try withTemporaryDirectory { dir in
            let built = try buildStore(dir)
            // The old layout, as far as the log's file goes: a meta database and projection databases.
            do {
                let env = try Environment(path: dir)
                let meta = try env.database("projections"), state = try env.database("episodes.a.state")
                try env.write { txn in
                    try txn.put(meta, Array("checkpoint/episodes".utf8), BigEndian.bytes(3))
                    try txn.put(state, Array("EP-1".utf8), [1, 2, 3])
                }
            }
            try FileManager.default.removeItem(atPath: dir + "/views")
            do {
                let ledger = try openLedger(dir)
                #expect(ledger.openingNote?.contains("missing") == true, "\(ledger.openingNote ?? "no note")")
                #expect(try ledger.dumpProjections() == built.dump)
            }
            let env = try Environment(path: dir)
            #expect(try env.dropDatabasesIfPresent(["projections", "episodes.a.state", "quality.b.counters"]) == 0,
                    "the old databases are gone from the log's file")
        }
    }

    /// From the command line: a store whose `views/` was deleted (as a backup of `data.mdb` alone
    /// restores it) works, and the first command says it rebuilt them; the next says nothing.
    @Test func theCommandLineSaysWhenItRebuiltTheViews() throws {
        try withTemporaryDirectory { dir in
            let store = dir + "/store", input = dir + "/in.ndjson"
            try (Lines().openingOfEP1().joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
            let appended = try pathway(["append", input, "--store", store])
            try #require(appended.status == 0, "\(appended.stderr)")
            #expect(!appended.stderr.contains("note:"), "a new store needs no note: \(appended.stderr)")
            try FileManager.default.removeItem(atPath: store + "/views")
            let verified = try pathway(["verify", "--store", store])
            #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
            #expect(verified.stderr.contains("note: the projections were missing or of another version; rebuilt history, episodes, deadlines, quality from the log's 2 events"),
                    "\(verified.stderr)")
            let again = try pathway(["episode", "EP-1", "--store", store])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.isEmpty, "nothing left to repair: \(again.stderr)")
            #expect(markers(store).isEmpty, "every command flushed its views and removed its marker")
        }
    }

    /// A process killed between its log's commit and its views' leaves the views one event behind.
    /// Another process that already had the store open must not check its next batch against
    /// those stale histories: here the batch voids the very event the views lack, which only
    /// succeeds if the append caught the views up first.
    @Test func anAppendCatchesUpViewsLeftBehindByAnotherProcess() throws {
        let exe = try pathwayExecutable()
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            try ledger.append(lines: Lines().openingOfEP1())
            let start = try ledger.head.position
            // The child reports each position after its log commit and before its views commit;
            // with its output closed, the next report ends it with SIGPIPE in between.
            let child = try Child(exe, ["debug-append-loop", "--store", dir, "--count", "100000"], environment: childEnvironment())
            var reported: [UInt64] = []
            while reported.count < 3, let line = child.nextLine() { reported.append(try #require(UInt64(line))) }
            child.closeOutput()
            try #require(child.wait() == .signal(SIGPIPE))
            // Read without catching up (stats does not write).
            let stats = try ledger.stats()
            try #require(stats.head.position == reported.last! + 1, "the child's last event is logged: head \(stats.head.position)")
            try #require(stats.checkpoints.allSatisfy { $0.1 + 1 == stats.head.position }, "and not projected: \(stats.checkpoints)")
            // The child numbers its events from the head it found: id crash-(position − 1).
            let last = stats.head.position
            #expect(last > start)
            let r = try ledger.append(try parse([Lines().void("v-last", "crash-\(last - 1)", reason: "sent twice")]))
            #expect(r.rejected.isEmpty, "\(r.rejected)")
            #expect(r.appended == 1)
            let (events, mismatches) = try ledger.engine.verify()
            #expect(events == Int(last + 1))
            #expect(mismatches.isEmpty, "\(mismatches)")
        }
    }
}
