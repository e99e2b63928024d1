import TestSupport
import Foundation
import Testing
import EventLog
import LMDB

/// Reader threads that verify the whole chain, snapshot after snapshot, until told to stop.
/// Each pass checks a gapless, chain-consistent prefix whose head never goes backwards; the pass
/// that starts after `stop` is set is the last, so it sees everything written before the stop.
final class ChainReaders: @unchecked Sendable {
    let stop = Locked(false)
    let problems = Locked<[String]>([])
    let passes: Locked<[Int]>
    let lastHeads: Locked<[UInt64]>
    private let firstPasses = DispatchSemaphore(value: 0)
    private var threads: ThreadGroup!
    let count: Int

    init(_ log: EventLog, count: Int = 3) {
        self.count = count
        passes = Locked(Array(repeating: 0, count: count))
        lastHeads = Locked(Array(repeating: 0, count: count))
        threads = onThreads(count) { [self] r in
            var last: UInt64 = 0
            var signalled = false
            while true {
                let stopping = stop.current
                do {
                    let head = try verifyChain(log).head.position
                    if head < last { problems.withLock { $0.append("reader \(r): the head went back from \(last) to \(head)") } }
                    last = head
                } catch {
                    problems.withLock { $0.append("reader \(r): \(error)") }
                    if !signalled { firstPasses.signal() }
                    return
                }
                passes.withLock { $0[r] += 1 }
                lastHeads.withLock { $0[r] = last }
                if !signalled { signalled = true; firstPasses.signal() }
                if stopping { return }
            }
        }
    }

    /// Waits until every reader has finished one pass (or failed).
    func started() { for _ in 0..<count { firstPasses.wait() } }

    /// Stops the readers after one more pass each and waits for them.
    func finish() {
        stop.withLock { $0 = true }
        threads.wait()
    }
}

@Suite struct ConcurrencyTests {
    @Test func readersSeeGaplessChainedPrefixesWhileOneWriterAppends() throws {
        try withTemporaryDirectory { dir in
            let small = 128 << 10
            let log = try openLog(dir, initialMapSize: small)
            try log.append(Pending(id: "seed", stream: "S-0", body: body("seed")))
            let readers = ChainReaders(log)
            readers.started()
            var rng = SeededGenerator(seed: 0xC0FFEE)
            let total: UInt64 = 500
            var position: UInt64 = 1
            let filler = String(repeating: "r", count: 120)
            while position < total {
                let k = min(UInt64.random(in: 1...4, using: &rng), total - position)
                let batch = (1...k).map { i in
                    Pending(id: "w-\(position + i)", stream: "S-\((position + i) % 6)", body: body(filler, "n=\(position + i)"))
                }
                let outcomes = try log.append(batch)
                #expect(outcomes.last?.position == position + k)
                position += k
            }
            readers.finish()
            #expect(readers.problems.current == [])
            #expect(readers.lastHeads.current == Array(repeating: total, count: readers.count))
            #expect(readers.passes.current.allSatisfy { $0 >= 2 })
            #expect(log.environment.mapSize > small, "the map grew while readers were reading")
            #expect(try verifyChain(log).head.position == total)
        }
    }

    /// LMDB lets several processes share a store. Here another process appends (and, with its
    /// larger map, outgrows this process's tiny one) while reader threads here keep verifying.
    @Test func readersHereWhileAnotherProcessAppendsAndGrowsTheMap() throws {
        let appender = try logAppenderPath()
        try withTemporaryDirectory { dir in
            let tiny = 64 << 10
            let log = try openLog(dir, initialMapSize: tiny)
            try log.append(Pending(id: "parent-1", stream: "parent", body: body("here")))
            let readers = ChainReaders(log)
            readers.started()
            let child = try Child(appender, [dir, "1500", "50"])
            var reported: [UInt64] = []
            while let line = child.nextLine() { reported.append(UInt64(line) ?? 0) }
            let exit = child.wait()
            readers.finish()
            #expect(exit == .code(0))
            #expect(reported == Array(stride(from: 51, through: 1501, by: 50)))
            #expect(readers.problems.current == [])
            #expect(readers.lastHeads.current == Array(repeating: 1501, count: readers.count))
            #expect(log.environment.mapSize > tiny, "this process adopted the larger map")
            // This process goes on writing after the other one.
            #expect(try log.append(Pending(id: "parent-2", stream: "parent", body: body("again"))) == .appended(position: 1502, version: 2))
            let verified = try verifyChain(log)
            #expect(verified.head.position == 1502)
            #expect(verified.ids[2] == "crash-2" && verified.ids[1501] == "crash-1501")
        }
    }
}
