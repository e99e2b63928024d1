// swift-tools-version: 6.1
import PackageDescription

// Module map (one job each):
//   CLMDB      – the system liblmdb, through pkg-config
//   CChainHash – SHA-256 for the hash chain (CPU SHA extensions when present, portable C otherwise)
//   LMDB       – a small safe Swift layer over it (environment, transactions, cursors, errors)
//   EventLog   – the append-only, hash-chained event log on LMDB (knows nothing of pathways)
//   Pathway    – the domain: codes, registrations, corrections, pathway rules, episode state
//   Deadlines  – pathway times (forløpstider) as versioned rule sets, and the timers they imply
//   Quality    – KvaRus/NPR-style indicators per institution, unit and period; the HTML report
//   Ingest     – NDJSON and CSV readers with line-exact structural validation
//   Ledger     – the store: ingest batches into the log and keep projections current in LMDB
//   Audit      – replay, verification, anchors and offline-checkable export bundles
//   Synthetic  – the deterministic national-scale data generator
//   PathwayCLI – the `pathway` command
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "PathwayLedger",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pathway", targets: ["PathwayCLI"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Audit", targets: ["Audit"]),
        .library(name: "Synthetic", targets: ["Synthetic"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "LMDB", dependencies: ["CLMDB"], swiftSettings: strict),
        .target(name: "CChainHash"),
        .target(name: "EventLog", dependencies: ["LMDB", "CChainHash"], swiftSettings: strict),
        .target(name: "Pathway", swiftSettings: strict),
        .target(name: "Deadlines", dependencies: ["Pathway"], resources: [.copy("RuleSets")], swiftSettings: strict),
        .target(name: "Quality", dependencies: ["Pathway", "Deadlines"], swiftSettings: strict),
        .target(name: "Ingest", dependencies: ["Pathway"], swiftSettings: strict),
        .target(
            name: "Ledger",
            dependencies: ["LMDB", "EventLog", "Pathway", "Deadlines", "Quality", "Ingest"],
            swiftSettings: strict
        ),
        .target(name: "Audit", dependencies: ["Ledger", "EventLog", "Pathway", "Deadlines", "Ingest"], swiftSettings: strict),
        .target(name: "Synthetic", dependencies: ["Pathway"], swiftSettings: strict),
        .executableTarget(
            name: "PathwayCLI",
            dependencies: [
                "Ledger", "Audit", "Synthetic", "Ingest", "Quality", "Deadlines",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // A child process for crash tests: appends in a loop and reports each committed position.
        .executableTarget(name: "LogAppender", dependencies: ["EventLog", "LMDB"], swiftSettings: strict),
        // Helpers shared by the test targets (seeded randomness, locked values).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB"], swiftSettings: strict),
        // swift-crypto is the reference the chain's own SHA-256 is tested against.
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "LMDB", "LogAppender", "TestSupport", "CChainHash",
                                                          .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(name: "PathwayTests", dependencies: ["Pathway", "Deadlines", "Quality", "Ingest", "Synthetic", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "Audit", "Synthetic", "EventLog", "Ingest", "Pathway", "Quality", "LMDB", "Deadlines", "TestSupport"], swiftSettings: strict),
    ]
)
