// Import: NDJSON parse + validate alone (IngestReader over bytes in memory), and the bulk import
// end to end (`pathway import FILE` without the command line: read, parse, validate, append, keep
// every projection current, one atomic transaction, one sync).
import Benchmark
import BenchSupport
import Ingest
import Ledger

let benchmarks: @Sendable () -> Void = {
    // Parsing costs the same per line whatever the store's size: it always parses the first
    // Settings.unit lines (1,000,000 for both the 1 M and the 10 M run), so throughput reads lines/s.
    let parseLines = Settings.unit
    let input = Lazy { try Prepared.shared.ndjsonPrefix(lines: parseLines) }
    Benchmark(
        "NDJSON parse + validate (IngestReader, lines in memory)",
        configuration: configuration(units: parseLines, iterations: max(Settings.iterations, 5), warmup: 1),
        closure: { benchmark in
            let bytes = try input.get()
            let reader = IngestReader(format: .ndjson, options: IngestOptions(today: Settings.today))
            var good = 0, bad = 0
            bytes.withUnsafeBytes { input in
                benchmark.measure(units: parseLines) {
                    reader.forEachLine(input) { result, _ in
                        switch result {
                        case .success(let p): good += 1; blackHole(p)
                        case .failure: bad += 1
                        }
                    }
                }
            }
            if good != parseLines || bad != 0 { benchmark.error("parsed \(good) good and \(bad) bad lines, expected \(parseLines) good") }
        }
    )

    // The whole import into a fresh store, every iteration.
    let events = Settings.events
    Benchmark(
        "Bulk import end to end (NDJSON file, parse, validate, append, projections current)",
        configuration: configuration(units: events, iterations: Settings.iterations, warmup: 0, seconds: 3600,
                                     extra: [Metrics.bodyRuns]),
        closure: { benchmark in
            let input = Prepared.shared.ndjsonPath
            let path = try Scratch.directory("pathway-bench-import")
            defer { Scratch.remove(path) }
            var result: BulkImport.Result? = nil
            do {
                let ledger = try Ledger(path: path, clock: Settings.clock)
                result = try benchmark.measure(units: events) { try BulkImport.file(input, into: ledger) }
            }
            guard let r = result else { return }
            benchmark.measurement(Metrics.bodyRuns, r.bodyRuns)
            if r.report.appended != events || !r.report.rejected.isEmpty {
                benchmark.error("appended \(r.report.appended) of \(events), \(r.report.rejected.count) rejected")
            }
        }
    )
}
