import Foundation
import Testing
@testable import Audit
import EventLog
import LMDB
import Ledger

/// The stream index is read ahead by folds (to find each event's episode) and by `verify` (to
/// check each event's stream and version in log order). These tests damage it in a copy of the
/// audit store and check that verification still names the problem and that a fold's result does
/// not depend on it.
@Suite struct StreamIndexTests {
    /// Rewrites a closed store's stream index with the bare LMDB layer.
    func tamperStreams(_ dir: String, _ change: (inout WriteTransaction, Database) throws -> Void) throws {
        let env = try Environment(path: dir)
        let streams = try env.database("streams", flags: [.duplicates, .fixedSizeDuplicates])
        try env.write { txn in try change(&txn, streams) }
    }

    func removeEntry(_ txn: inout WriteTransaction, _ streams: Database, _ stream: String, _ position: UInt64) throws {
        var kept: [[UInt8]] = []
        try txn.withCursor(streams) { c in
            var entry = try Array(stream.utf8).withUnsafeBytes { try c.seek(exactly: $0) }
            while let (_, v) = entry {
                if BigEndian.uint64(v) != position { kept.append(Array(v)) }
                entry = try c.nextDuplicate()
            }
        }
        _ = try txn.delete(streams, Array(stream.utf8))
        for v in kept { try txn.put(streams, Array(stream.utf8), v) }
    }

    @Test func anIntactIndexIsReadAheadAndGivesTheSameReport() throws {
        try withTemporaryDirectory { dir in
            let head = try buildAuditStore(dir)
            let ledger = try openLedger(dir)
            for projections in [true, false] {
                let ahead = try #require(try Verifier(ledger: ledger).verify(anchor: nil, projections: projections, readingIndexAhead: true),
                                         "an intact index agrees with the log")
                let behind = try #require(try Verifier(ledger: ledger).verify(anchor: nil, projections: projections, readingIndexAhead: false))
                #expect(ahead.ok && behind.ok, "\(ahead.problems) \(behind.problems)")
                #expect(ahead.events == 12 && ahead.streams == 3 && ahead.head == head)
                #expect(ahead.events == behind.events && ahead.streams == behind.streams && ahead.head == behind.head)
                #expect(ahead.projectionsChecked == behind.projectionsChecked)
            }
        }
    }

    /// Each way of damaging the index: what it does, and words the problem must contain.
    static let damages: [(name: String, change: @Sendable (StreamIndexTests, inout WriteTransaction, Database) throws -> Void, expect: String)] = [
        ("an entry moved to another stream", { t, txn, s in
            try t.removeEntry(&txn, s, "EP-A", 3)
            try txn.put(s, Array("EP-B".utf8), BigEndian.bytes(3))
        }, "stream index"),
        ("a position listed under a second stream", { _, txn, s in
            try txn.put(s, Array("EP-C".utf8), BigEndian.bytes(3))
        }, "stream index"),
        ("an entry removed", { t, txn, s in
            try t.removeEntry(&txn, s, "EP-C", 12)
        }, "the stream index lists 11 events but the log holds 12"),
        ("an entry outside the log", { _, txn, s in
            try txn.put(s, Array("EP-C".utf8), BigEndian.bytes(40))
        }, "stream index"),
        ("a stream no event has", { _, txn, s in
            try txn.put(s, Array("EP-Z".utf8), BigEndian.bytes(2))
        }, "stream index"),
    ]

    @Test(arguments: 0..<damages.count)
    func aDamagedIndexIsFoundAndFoldsDoNotDependOnIt(_ k: Int) throws {
        let damage = StreamIndexTests.damages[k]
        try withTemporaryDirectory { dir in
            try buildAuditStore(dir)
            let intact = try openLedger(dir).dumpProjections()
            let copy = try copyStore(dir)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try tamperStreams(copy) { txn, s in try damage.change(self, &txn, s) }

            let ledger = try openLedger(copy)
            for projections in [true, false] {   // `verify` and `verify --log-only`
                #expect(try Verifier(ledger: ledger).verify(anchor: nil, projections: projections, readingIndexAhead: true) == nil,
                        "\(damage.name): the index read ahead must not be trusted")
                let r = try Verifier(ledger: ledger).verify(projections: projections)
                #expect(!r.ok, "\(damage.name) was not found")
                #expect(r.problems.count == 1, "\(damage.name): \(r.problems)")
                #expect(r.problems.first?.what.contains(damage.expect) == true, "\(damage.name): \(r.problems)")
            }
            // A rebuild reads the damaged index ahead too, and finds every event's episode anyway.
            _ = try ledger.engine.rebuild()
            #expect(try ledger.dumpProjections() == intact, "\(damage.name): the rebuilt projections differ")
        }
    }
}
