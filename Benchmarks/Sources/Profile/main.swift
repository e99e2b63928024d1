// pathway-bench-profile: one benchmark scenario without the benchmark harness, for profilers
// (valgrind --tool=callgrind counts instructions, repeatable on this shared machine).
//
//     cd Benchmarks
//     swift build -c release --product pathway-bench-profile
//     PATHWAY_BENCH_EVENTS=100000 .build/release/pathway-bench-profile prepare
//     PATHWAY_BENCH_EVENTS=100000 valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.import \
//         .build/release/pathway-bench-profile import
//     callgrind_annotate /tmp/cg.import | head -60
//
// Scenarios: prepare | import | batched | single | parse | fold | rebuild [NAME...] | verify-log |
// verify | overdue | quality | replay. Each runs once on the prepared data of PATHWAY_BENCH_EVENTS
// (same settings as the benchmarks) and prints its wall time. For `batched` and `single`,
// PROJ=episodes,quality keeps only the projections named (PROJ= : the history alone), to see
// what each adds to an append; `/usr/bin/time -f %O` counts the blocks it writes.
import Foundation
import Audit
import BenchData
import Deadlines
import Ingest
import Ledger
import Pathway
import Quality
#if canImport(Glibc)
import Glibc
#endif

let args = Array(CommandLine.arguments.dropFirst())
guard let scenario = args.first else {
    print("usage: pathway-bench-profile prepare|import|batched|single|parse|fold|rebuild [NAME...]|verify-log|verify|overdue|quality|replay")
    exit(2)
}

func timed(_ what: String, units: Int = 0, _ body: () throws -> Void) rethrows {
    let t0 = seconds()
    try body()
    let t = seconds() - t0
    print("\(what): \(String(format3: t)) s" + (units > 0 ? ", \(Int(Double(units) / t)) /s" : ""))
}

extension String {
    init(format3 v: Double) { self = String(Double(Int((v * 1000).rounded())) / 1000) }
}

do {
    switch scenario {
    case "prepare":
        let p = Prepared.shared
        print("prepared \(p.events) events in \(p.directory)")
    case "import":
        let input = Prepared.shared.ndjsonPath
        let path = try Scratch.directory("pathway-bench-profile")
        defer { Scratch.remove(path) }
        let ledger = try Ledger(path: path, clock: Settings.clock)
        try timed("import", units: Settings.events) { _ = try BulkImport.file(input, into: ledger) }
    case "batched", "single":
        let n = scenario == "batched" ? 100_000 : 2_000
        let lines = try Prepared.shared.parsedLines(n)
        let path = try Scratch.directory("pathway-bench-profile")
        defer { Scratch.remove(path) }
        let only = ProcessInfo.processInfo.environment["PROJ"].map { $0.split(separator: ",").map(String.init) }
        let projs = only.map { names in Ledger.standardProjections().filter { names.contains($0.name) } }
        let ledger = try Ledger(path: path, clock: Settings.clock, projections: projs)
        try timed(scenario, units: lines.count) {
            if scenario == "batched" {
                var i = 0
                while i < lines.count { _ = try ledger.append(Array(lines[i..<min(i + 1000, lines.count)])); i += 1000 }
            } else {
                for l in lines { _ = try ledger.append([l]) }
            }
        }
    case "parse":
        let bytes = try Prepared.shared.ndjsonPrefix(lines: Settings.events)
        let reader = IngestReader(format: .ndjson, options: IngestOptions(today: Settings.today))
        var n = 0
        timed("parse", units: Settings.events) { bytes.withUnsafeBytes { reader.forEachLine($0) { _, _ in n += 1 } } }
    case "fold":
        var f = ProjectionEngine.Fold()
        try timed("fold", units: Settings.events) { try Prepared.shared.ledger.engine.fold(into: &f) }
    case "rebuild":
        let names = Array(args.dropFirst())
        try timed("rebuild \(names.isEmpty ? "all" : names.joined(separator: ","))", units: Settings.events) {
            _ = try Prepared.shared.ledger.engine.rebuild(names)
        }
    case "verify-log", "verify":
        try timed(scenario, units: Settings.events) {
            let r = try Verifier(ledger: Prepared.shared.ledger).verify(projections: scenario == "verify")
            if !r.ok { print("problems: \(r.problems.prefix(3))") }
        }
    case "overdue":
        let ledger = Prepared.shared.ledger
        var count = 0
        try timed("overdue") {
            try ledger.storedTimers(of: ledger.episodesWithOpenTimers(asOf: Settings.today)) { _, _, _, timers in
                for t in timers where t.evaluated(asOf: Settings.today)?.status == .overdue { count += 1 }
            }
        }
        print("\(count) overdue")
    case "quality":
        var rows = 0
        try timed("quality") { rows = try Prepared.shared.ledger.qualityRows(QualityQuery()).count }
        print("\(rows) rows")
    case "replay":
        let (ep, n) = try Prepared.shared.longestEpisode()
        try timed("replay \(ep) (\(n) events)") { _ = Replay(episode: ep, events: try Prepared.shared.ledger.events(of: ep)) }
    default:
        print("unknown scenario \(scenario)")
        exit(2)
    }
} catch {
    print("failed: \(error)")
    exit(1)
}
