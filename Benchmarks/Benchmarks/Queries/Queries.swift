// Queries on the maintained projections of the prepared store: the coordinators' overdue list,
// every quality indicator for every period and group, and one episode's audit replay.
import Benchmark
import Audit
import BenchSupport
import Deadlines
import Ledger
import Pathway
import Quality

let benchmarks: @Sendable () -> Void = {
    let quick = { (iterations: Int) in
        Benchmark.Configuration(metrics: Metrics.standard + [Metrics.resultCount], timeUnits: .automatic,
                                warmupIterations: 3, scalingFactor: .one, maxDuration: .seconds(30), maxIterations: iterations)
    }

    // `pathway deadlines --status overdue` as of "today": the closing-date index gives the episodes
    // with a timer still open, their maintained timers are read and evaluated, overdue ones sorted
    // by due date (the command's own path, Sources/PathwayCLI/DeadlinesCommand.swift).
    Benchmark(
        "Deadlines: overdue as of today (episodesWithOpenTimers + storedTimers + evaluate)",
        configuration: quick(200),
        closure: { benchmark in
            let ledger = Prepared.shared.ledger
            let day = Settings.today
            benchmark.startMeasurement()
            var rows: [(Deadlines.Timer, String, String, String)] = []
            try ledger.storedTimers(of: ledger.episodesWithOpenTimers(asOf: day)) { ep, inst, unit, timers in
                for t in timers {
                    guard let e = t.evaluated(asOf: day), e.status == .overdue else { continue }
                    rows.append((e, ep, inst, unit))
                }
            }
            rows.sort { ($0.0.due, $0.1, $0.0.id) < ($1.0.due, $1.1, $1.0.id) }
            benchmark.stopMeasurement()
            benchmark.measurement(Metrics.resultCount, rows.count)
            blackHole(rows)
        }
    )

    // `pathway quality` with no filters: every indicator, period (month, tertial, year) and group
    // (institution, unit, national), from the maintained counters.
    Benchmark(
        "Quality: all indicators, every period and group (qualityRows: counters read in place + QualityTable.rows)",
        configuration: quick(200),
        closure: { benchmark in
            let ledger = Prepared.shared.ledger
            benchmark.startMeasurement()
            let rows = try ledger.qualityRows(QualityQuery())
            benchmark.stopMeasurement()
            benchmark.measurement(Metrics.resultCount, rows.count)
            blackHole(rows)
        }
    )

    // `pathway replay EP` for the episode with the most events: reads only that episode's events
    // (stream index), then folds the state and timers after each of them.
    Benchmark(
        "Replay: the longest episode (events(of:) + Replay)",
        configuration: quick(2_000),
        closure: { benchmark in
            let data = Prepared.shared
            let (episode, count) = try data.longestEpisode()
            benchmark.startMeasurement()
            let replay = Replay(episode: episode, events: try data.ledger.events(of: episode))
            benchmark.stopMeasurement()
            benchmark.measurement(Metrics.resultCount, replay.steps.count)
            if replay.steps.count != count { benchmark.error("replayed \(replay.steps.count) events, expected \(count)") }
            blackHole(replay)
        }
    )
}
