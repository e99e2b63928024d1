// Rebuilds: the in-memory fold of every episode's corrected history, and blue/green rebuilds of
// each projection from position 1 (`pathway rebuild --projection NAME`), over the prepared store.
// A rebuild always folds the whole log and then writes the named projections' fresh generation
// and swaps it in; the content is identical, so the prepared store stays as it was.
import Benchmark
import BenchSupport
import Ledger

let benchmarks: @Sendable () -> Void = {
    let events = Settings.events
    let warmup = events <= 2_000_000 ? 1 : 0

    Benchmark(
        "Fold: every episode's corrected history in memory (engine.fold)",
        configuration: configuration(units: events, iterations: Settings.iterations, warmup: warmup, seconds: 3600),
        closure: { benchmark in
            let ledger = Prepared.shared.ledger
            var fold = ProjectionEngine.Fold()
            try benchmark.measure(units: events) { try ledger.engine.fold(into: &fold) }
            if fold.events != events { benchmark.error("folded \(fold.events) events, expected \(events)") }
            blackHole(fold)
        }
    )

    let rebuilds: [(String, [String])] = [
        ("Rebuild episode state", ["episodes"]),
        ("Rebuild timers (deadlines)", ["deadlines"]),
        ("Rebuild quality", ["quality"]),
        ("Rebuild episode state + timers", ["episodes", "deadlines"]),
        ("Rebuild episode state + quality", ["episodes", "quality"]),
        ("Rebuild all projections (history, episodes, deadlines, quality)", []),
    ]
    for (name, projections) in rebuilds {
        Benchmark(
            name,
            configuration: configuration(units: events, iterations: Settings.iterations, warmup: warmup, seconds: 3600),
            closure: { benchmark in
                let ledger = Prepared.shared.ledger
                let report = try benchmark.measure(units: events) { try ledger.engine.rebuild(projections) }
                if report.events != events { benchmark.error("rebuilt from \(report.events) events, expected \(events)") }
            }
        )
    }
}
