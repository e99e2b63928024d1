// The package-benchmark side of the suite: metrics, configurations and the measuring helper.
// The data side (settings, prepared data, scratch stores, the import) is BenchData, which the
// profiling tool uses without the harness (and without its malloc interposer).
@_exported import BenchData
import Benchmark

// MARK: - Metrics and configurations

public enum Metrics {
    /// The headline figure of every benchmark that processes events: events (or lines) per second,
    /// measured inside the benchmark around exactly the work it reports, for any store size.
    public static let eventsPerSecond = BenchmarkMetric.custom("events/s", polarity: .prefersLarger, useScalingFactor: false)
    /// What the benchmark's query returned (rows, timers, events of the episode), for context.
    public static let resultCount = BenchmarkMetric.custom("result count", polarity: .prefersSmaller, useScalingFactor: false)
    /// How many times the store ran the import's body (more than 1 means the map filled mid-way).
    public static let bodyRuns = BenchmarkMetric.custom("transaction body runs", polarity: .prefersSmaller, useScalingFactor: false)

    public static let standard: [BenchmarkMetric] = [.throughput, .wallClock, .peakMemoryResident, .mallocCountTotal]
}

/// The scaling factor that makes `.throughput` read as units (events, lines) per second when one
/// iteration handles exactly `units` of them, which package-benchmark allows for powers of 1,000.
/// Other counts get `.one`; the custom `events/s` metric is exact either way.
public func scaling(forUnits units: Int) -> BenchmarkScalingFactor {
    switch units {
    case 1_000: .kilo
    case 1_000_000: .mega
    case 1_000_000_000: .giga
    default: .one
    }
}

/// A configuration for a benchmark of `units` events per iteration.
public func configuration(units: Int, iterations: Int, warmup: Int = 0, seconds: Int = 600,
                          extra: [BenchmarkMetric] = []) -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: Metrics.standard + (units > 1 ? [Metrics.eventsPerSecond] : []) + extra,
        timeUnits: .automatic,
        warmupIterations: warmup,
        scalingFactor: scaling(forUnits: units),
        maxDuration: .seconds(seconds),
        maxIterations: iterations
    )
}

extension Benchmark {
    /// Runs `work` between explicit start and stop of the measurement and records `units / time`
    /// as ``Metrics/eventsPerSecond``. Whatever the caller does before or after is not measured.
    public func measure<T>(units: Int, _ work: () throws -> T) rethrows -> T {
        startMeasurement()
        let t0 = seconds()
        let result = try work()
        let t1 = seconds()
        stopMeasurement()
        if units > 1, t1 > t0 { measurement(Metrics.eventsPerSecond, Int((Double(units) / (t1 - t0)).rounded())) }
        return result
    }
}

