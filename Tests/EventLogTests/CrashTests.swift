import TestSupport
import Foundation
import Testing
import EventLog
import LMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The crash test: a child process (`LogAppender`) appends durably in a loop and reports each
/// committed position; it is SIGKILLed at pseudo-random moments, round after round on the same
/// store; after each round the store must hold every reported position, no partial transaction,
/// gapless positions and stream versions, and a chain that verifies.
@Suite struct CrashTests {
    static let seed: UInt64 = 0x5EED_2026_0002

    @Test func killedAppendersLoseNothingTheyReported() throws {
        let appender = try logAppenderPath()
        var rng = SeededGenerator(seed: CrashTests.seed)
        try withTemporaryDirectory { dir in
            var allReported: [UInt64] = []
            var head: UInt64 = 0
            let batches: [UInt64] = [1, 3, 1, 8, 1]
            for (round, batch) in batches.enumerated() {
                let context = "seed \(CrashTests.seed), round \(round), batch \(batch)"
                let killAfter = Int.random(in: 5...60, using: &rng)
                let extraMicroseconds = UInt32.random(in: 0...3_000, using: &rng)

                let child = try Child(appender, [dir, "1000000", String(batch)], guardSeconds: 60)
                var reported: [UInt64] = []
                while reported.count < killAfter, let line = child.nextLine() {
                    reported.append(try #require(UInt64(line), "\(context): a report line '\(line)'"))
                }
                // Some time into the next commit (or not): the kill lands wherever it lands.
                usleep(extraMicroseconds)
                child.kill(SIGKILL)
                for line in child.remainingLines() {
                    reported.append(try #require(UInt64(line), "\(context): a report line '\(line)'"))
                }
                let exit = child.wait()
                #expect(!child.watchdogFired.current, "\(context): the child hung and the watchdog killed it")
                #expect(exit == .signal(SIGKILL), "\(context): the child ended on its own: \(exit)")
                try #require(reported.count >= killAfter, "\(context): the child reported only \(reported.count) commits")
                // Each report is the end of one batch, following the store's head at the start.
                #expect(reported == (1...reported.count).map { head + UInt64($0) * batch }, "\(context)")

                let log = try openLog(dir)
                let verified: VerifiedLog
                do { verified = try verifyChain(log) } catch {
                    Issue.record("\(context): the chain does not verify after the kill: \(error)")
                    return
                }
                let newHead = verified.head.position
                let lastReported = reported.last ?? head
                // Every reported commit is there; at most the one commit in flight at the kill is
                // there unreported; and it is there whole or not at all.
                #expect(newHead == lastReported || newHead == lastReported + batch, "\(context): head \(newHead), last reported \(lastReported)")
                #expect((newHead - head) % batch == 0, "\(context): a partial batch")
                for p in reported {
                    #expect(verified.ids[p] == "crash-\(p)", "\(context): position \(p)")
                }
                // The child's events: id crash-<p> in stream S-<p % 7>, for every position.
                for p in (head + 1)...max(newHead, head + 1) where p <= newHead {
                    #expect(verified.ids[p] == "crash-\(p)")
                    #expect(verified.streams["S-\(p % 7)"]?.contains(p) == true)
                }
                allReported += reported
                head = newHead
            }

            // Nothing any round reported went missing later.
            let log = try openLog(dir)
            let verified = try verifyChain(log)
            #expect(verified.head.position == head)
            #expect(allReported.allSatisfy { verified.ids[$0] == "crash-\($0)" })
            withExtendedLifetime(log) {}
        }
    }

    @Test func aFreshAppenderContinuesAfterAKilledOne() throws {
        let appender = try logAppenderPath()
        try withTemporaryDirectory { dir in
            let first = try Child(appender, [dir, "1000000"], guardSeconds: 60)
            for _ in 0..<5 { _ = first.nextLine() }
            first.kill(SIGKILL)
            _ = first.remainingLines()
            #expect(first.wait() == .signal(SIGKILL))
            // The killed child held the writer lock or a reader slot at any moment; the next
            // process must get past both.
            let head = try verifyChain(try openLog(dir)).head.position
            let second = try Child(appender, [dir, "10"], guardSeconds: 60)
            let lines = second.remainingLines()
            #expect(second.wait() == .code(0))
            #expect(lines == (1...10).map { String(head + UInt64($0)) })
            let verified = try verifyChain(try openLog(dir))
            #expect(verified.head.position == head + 10)
        }
    }

    @Test func theAppenderRejectsBadArguments() throws {
        let appender = try logAppenderPath()
        for args in [[String](), ["only-a-dir"], ["dir", "not-a-number"], ["dir", "5", "0"]] {
            let child = try Child(appender, args, guardSeconds: 60)
            #expect(child.remainingLines() == [])
            #expect(child.wait() == .code(2), "arguments \(args)")
        }
    }
}
