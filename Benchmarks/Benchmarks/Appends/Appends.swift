// Appends: what one registration costs when it is durable on its own, and when 1,000 share a
// transaction. Each benchmark appends into a scratch store of its own (created at its first
// iteration, removed at teardown), fed with the prepared generator lines in order, so every append
// is new. Variants "log + history only" open the ledger without the standard projections (the
// engine always keeps the corrected history), to show what keeping episode state, timers and
// quality current adds to an append (issue 4: at most 20 %).
import Benchmark
import BenchSupport
import Ingest
import Ledger

/// A scratch store and the lines still to append to it.
final class AppendTarget {
    let withProjections: Bool
    var ledger: Ledger? = nil
    var path: String? = nil
    var lines: [ParsedLine] = []
    var next = 0

    init(withProjections: Bool) { self.withProjections = withProjections }

    func open(lines needed: Int) throws -> Ledger {
        if let l = ledger { return l }
        lines = try Prepared.shared.parsedLines(needed)
        let p = try Scratch.directory("pathway-bench-appends")
        path = p
        let l = try Ledger(path: p, clock: Settings.clock, projections: withProjections ? nil : [])
        ledger = l
        return l
    }

    /// The next `n` lines, or an error when the prepared data has run out.
    func take(_ n: Int) throws -> ArraySlice<ParsedLine> {
        guard next + n <= lines.count else { throw BenchError("the prepared data has only \(lines.count) lines; raise PATHWAY_BENCH_EVENTS") }
        defer { next += n }
        return lines[next..<(next + n)]
    }

    func close() {
        ledger = nil
        if let p = path { Scratch.remove(p) }
        path = nil
    }
}

let benchmarks: @Sendable () -> Void = {
    // Durable single appends: 1,000 per iteration, each its own synced write transaction.
    for withProjections in [true, false] {
        let singles = 1_000
        let iterations = max(1, min(20, Settings.events / singles - 1))
        let target = AppendTarget(withProjections: withProjections)
        Benchmark(
            "Durable single appends (1 registration per transaction)" + (withProjections ? "" : ", log + history only"),
            configuration: configuration(units: singles, iterations: iterations, warmup: 1, seconds: 120),
            closure: { benchmark in
                let ledger = try target.open(lines: (iterations + 1) * singles)
                let batch = try target.take(singles)
                var appended = 0
                try benchmark.measure(units: singles) {
                    for line in batch { appended += try ledger.append([line]).appended }
                }
                if appended != singles { benchmark.error("appended \(appended) of \(singles)") }
            },
            teardown: { target.close() }
        )
    }

    // Batched appends: one atomic, synced transaction of 1,000 registrations per iteration.
    for withProjections in [true, false] {
        let size = 1_000
        let iterations = max(1, min(300, Settings.events / size - 3))
        let target = AppendTarget(withProjections: withProjections)
        Benchmark(
            "Batched appends (1,000 per transaction)" + (withProjections ? "" : ", log + history only"),
            configuration: configuration(units: size, iterations: iterations, warmup: 3, seconds: 120),
            closure: { benchmark in
                let ledger = try target.open(lines: (iterations + 3) * size)
                let batch = Array(try target.take(size))
                let report = try benchmark.measure(units: size) { try ledger.append(batch) }
                if report.appended != size { benchmark.error("appended \(report.appended) of \(size)") }
            },
            teardown: { target.close() }
        )
    }
}
