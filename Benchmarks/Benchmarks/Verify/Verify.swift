// `pathway verify` over the prepared store: the whole log (hash chain, gapless positions and
// stream versions, the stream and id indexes), then also every projection against a fresh fold.
import Benchmark
import Audit
import BenchSupport
import Ledger

let benchmarks: @Sendable () -> Void = {
    let events = Settings.events
    let warmup = events <= 2_000_000 ? 1 : 0
    for withProjections in [false, true] {
        Benchmark(
            withProjections ? "Verify: log and every projection against a fresh fold" : "Verify: log only (hash chain, positions, versions, indexes)",
            configuration: configuration(units: events, iterations: Settings.iterations, warmup: warmup, seconds: 3600),
            closure: { benchmark in
                let ledger = Prepared.shared.ledger
                let report = try benchmark.measure(units: events) {
                    try Verifier(ledger: ledger).verify(projections: withProjections)
                }
                if !report.ok || report.events != events {
                    benchmark.error("verify: \(report.events) events, problems: \(report.problems.prefix(3).map(\.description))")
                }
            }
        )
    }
}
