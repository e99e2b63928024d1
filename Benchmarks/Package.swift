// swift-tools-version: 6.1
//
// PathwayLedger's benchmark suite (issue 8), a package of its own so the main package builds and
// tests without package-benchmark. Run from this directory:
//
//     swift package --disable-sandbox benchmark                 # all suites, 1,000,000 events
//     PATHWAY_BENCH_EVENTS=10000000 swift package --disable-sandbox benchmark --target Rebuilds
//
// (`--disable-sandbox` because the benchmarks write LMDB stores.) See RESULTS.md for the settings
// (environment variables), the figures and the machine they came from.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "PathwayLedgerBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "PathwayLedger", path: ".."),
        // Naming only the MallocInterposer trait switches off benchmark's default RuntimeInterposer
        // trait, and SwiftPM then prunes swift-runtime-interposer (not mirrored here) from resolution.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The data: settings, the prepared store and input, scratch stores, the import path.
        .target(
            name: "BenchData",
            dependencies: [.product(name: "Ledger", package: "PathwayLedger"), .product(name: "Synthetic", package: "PathwayLedger")],
            path: "Sources/BenchData",
            swiftSettings: swift6
        ),
        // The harness side: metrics, configurations, measuring (re-exports BenchData).
        .target(
            name: "BenchSupport",
            dependencies: ["BenchData", .product(name: "Benchmark", package: "benchmark")],
            path: "Sources/BenchSupport",
            swiftSettings: swift6
        ),
        // One scenario at a time without the harness (and its malloc interposer), for
        // valgrind --tool=callgrind (see Sources/Profile/main.swift).
        .executableTarget(
            name: "pathway-bench-profile",
            dependencies: [.product(name: "Ledger", package: "PathwayLedger"), .product(name: "Audit", package: "PathwayLedger"), "BenchData"],
            path: "Sources/Profile",
            swiftSettings: swift6
        ),
    ]
)

// One executable per suite, in Benchmarks/<Name>/<Name>.swift.
for suite in ["Appends", "Import", "Rebuilds", "Queries", "Verify"] {
    package.targets.append(
        .executableTarget(
            name: suite,
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Ledger", package: "PathwayLedger"),
                .product(name: "Audit", package: "PathwayLedger"),
                "BenchSupport",
            ],
            path: "Benchmarks/\(suite)",
            swiftSettings: swift6,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}
