import Foundation
import Testing
import EventLog
import LMDB

typealias Pending = EventLog.Pending

/// The hash-chained append-only log on real LMDB files in temporary directories.
@Suite struct EventLogTests {
    @Test func anEmptyLogHasTheGenesisHead() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            #expect(try log.currentHead == .genesis)
            #expect(EventLog.Head.genesis.anchor == "0:" + String(repeating: "0", count: 64))
            let verified = try verifyChain(log)
            #expect(verified.head == .genesis && verified.streams.isEmpty)
        }
    }

    /// A batch's index entries wait in ``BatchIndexes`` until it ends: meanwhile every id it
    /// appended is found there (also after the table has grown many times), an id stored before
    /// the batch is found in the index, an absent one nowhere; then ``EventLog/writeIndexes(_:in:)``
    /// writes both indexes in key order, each stream's positions in version order, and a
    /// stream already stored continues at its version.
    @Test func aBatchFindsItsOwnIDsBeforeItsIndexesAreWritten() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            #expect(try log.append(Pending(id: "before", stream: "s-7", body: body("x"))) == .appended(position: 1, version: 1))
            let n = 20_000
            // Ids in no key order, streams interleaved (as in a real log).
            let events = (0..<n).map { i in
                Pending(id: "id-\((i &* 7919) % n)-\(i % 13)", stream: "s-\(i % 97)", body: body("n=\(i)"))
            }
            try log.environment.write { txn throws in
                var head = try log.head(in: txn)
                var versions: [String: UInt64] = [:]
                let batch = BatchIndexes()
                for (i, e) in events.enumerated() {
                    let outcome = try log.appendOne(e, appendedAt: fixedInstant, head: &head, versions: &versions, batch: batch, in: &txn)
                    let expectedVersion = UInt64(i / 97 + 1) + (e.stream == "s-7" ? 1 : 0)
                    #expect(outcome == .appended(position: UInt64(i + 2), version: expectedVersion), "\(e.id)")
                    // Sent again in the same batch: the same content is a duplicate, other content a conflict.
                    if i % 1000 == 0 {
                        #expect(try log.appendOne(e, appendedAt: fixedInstant, head: &head, versions: &versions, batch: batch, in: &txn)
                                == .duplicate(position: UInt64(i + 2)))
                        var other = e
                        other.body = body("other")
                        #expect(throws: LogError.self) {
                            try log.appendOne(other, appendedAt: fixedInstant, head: &head, versions: &versions, batch: batch, in: &txn)
                        }
                    }
                }
                for (i, e) in events.enumerated() where i % 7 == 0 {
                    #expect(try log.position(ofID: e.id, batch: batch, in: txn) == UInt64(i + 2))
                    #expect(try log.position(ofID: e.id, in: txn) == nil, "not in the index yet")
                }
                #expect(try log.position(ofID: "before", batch: batch, in: txn) == 1)
                #expect(try log.position(ofID: "id-absent", batch: batch, in: txn) == nil)
                try log.writeIndexes(batch, in: &txn)
            }
            try log.environment.read { txn throws in
                for (i, e) in events.enumerated() where i % 7 == 0 { #expect(try log.position(ofID: e.id, in: txn) == UInt64(i + 2)) }
                #expect(try log.positions(of: "s-7", in: txn) == [1] + stride(from: 7, to: n, by: 97).map { UInt64($0 + 2) })
                #expect(try log.version(of: "s-96", in: txn) == UInt64((n - 96 + 96) / 97))
            }
            let verified = try verifyChain(log)
            #expect(verified.head.position == UInt64(n + 1))
        }
    }

    @Test func appendedEventsReadBackExactly() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            let events = [
                Pending(id: "e1", stream: "episode-A", body: body("type=referral", "date=2026-01-01")),
                Pending(id: "e2", stream: "episode-B", body: body("type=referral")),
                Pending(id: "e3", stream: "episode-A", body: body("type=start", "note=Ærlig Østby på Åsen")),
            ]
            #expect(try log.append(events) == [
                .appended(position: 1, version: 1), .appended(position: 2, version: 1), .appended(position: 3, version: 2),
            ])
            #expect(try log.append(Pending(id: "e4", stream: "episode-B", body: []), at: "2026-02-03T00:00:00Z")
                == .appended(position: 4, version: 2))

            try log.environment.read { txn throws in
                var previous = EventLog.Head.genesis.hash
                for (i, e) in (events + [Pending(id: "e4", stream: "episode-B", body: [])]).enumerated() {
                    let p = UInt64(i + 1)
                    let instant = p == 4 ? "2026-02-03T00:00:00Z" : fixedInstant
                    let hash = try #require(try log.withEvent(at: p, in: txn) { ev throws -> [UInt8] in
                        #expect(ev.position == p)
                        #expect(ev.idString == e.id)
                        #expect(ev.streamString == e.stream)
                        #expect(Array(ev.body) == e.body)
                        #expect(ev.appendedAtString == instant)
                        #expect(ev.version == (p == 3 || p == 4 ? 2 : 1))
                        let canonical = e.body.withUnsafeBytes {
                            Canonical.bytes(position: p, version: ev.version, appendedAt: instant, id: e.id, stream: e.stream, body: $0)
                        }
                        #expect(Array(ev.canonical) == canonical)
                        #expect(Array(ev.hash) == EventLog.chainHash(previous: previous, canonical: canonical))
                        #expect(ev.hashHex == Hex.encode(ev.hash))
                        return Array(ev.hash)
                    })
                    previous = hash
                }
                #expect(try log.head(in: txn) == EventLog.Head(position: 4, hash: previous))
                #expect(try log.withEvent(at: 5, in: txn) { _ in true } == nil)
                #expect(try log.withEvent(at: 0, in: txn) { _ in true } == nil)
                #expect(try log.positions(of: "episode-A", in: txn) == [1, 3])
                #expect(try log.positions(of: "episode-B", in: txn) == [2, 4])
                #expect(try log.positions(of: "episode-C", in: txn) == [])
                #expect(try log.version(of: "episode-A", in: txn) == 2)
                #expect(try log.version(of: "episode-C", in: txn) == 0)
                #expect(try log.position(ofID: "e3", in: txn) == 3)
                #expect(try log.position(ofID: "nope", in: txn) == nil)
                #expect(try log.position(ofID: "", in: txn) == nil)
                var scanned: [String] = []
                try log.scan(from: 2, in: txn) { ev in scanned.append(ev.idString); return true }
                #expect(scanned == ["e2", "e3", "e4"])
                scanned = []
                try log.scan(in: txn) { ev in scanned.append(ev.idString); return ev.position < 2 }
                #expect(scanned == ["e1", "e2"])
                let counts = try log.counts(in: txn)
                #expect(counts.events == 4 && counts.streams == 2 && counts.ids == 4)
            }
            let head = try log.currentHead
            #expect(head.anchor == "4:\(Hex.encode(head.hash))")
            #expect(try verifyChain(log).head == head)
        }
    }

    @Test func positionsAndVersionsStayGaplessAcrossCloseAndReopen() throws {
        try withTemporaryDirectory { dir in
            var model: [String: [UInt64]] = [:]
            var position: UInt64 = 0
            var lastHead = EventLog.Head.genesis
            for cycle in 0..<4 {
                let log = try openLog(dir)
                #expect(try log.currentHead == lastHead, "cycle \(cycle): the head survives reopening")
                // Single appends, then one batch, over a few streams.
                for i in 0..<6 {
                    let stream = "episode-\(i % 3)"
                    position += 1
                    model[stream, default: []].append(position)
                    let outcome = try log.append(Pending(id: "c\(cycle)-s\(i)", stream: stream, body: body("cycle=\(cycle)", "i=\(i)")))
                    #expect(outcome == .appended(position: position, version: UInt64(model[stream]!.count)))
                }
                let batch = (0..<5).map { i in Pending(id: "c\(cycle)-b\(i)", stream: "episode-\((i + cycle) % 4)", body: body("batch")) }
                for (i, outcome) in try log.append(batch).enumerated() {
                    position += 1
                    model[batch[i].stream, default: []].append(position)
                    #expect(outcome == .appended(position: position, version: UInt64(model[batch[i].stream]!.count)))
                }
                lastHead = try log.currentHead
                #expect(lastHead.position == position)
            }
            let log = try openLog(dir)
            let verified = try verifyChain(log)
            #expect(verified.head == lastHead)
            #expect(verified.streams == model)
            #expect(Set(verified.ids.keys) == Set(1...position))
        }
    }

    @Test func reappendingTheSameEventIsAReportedNoOp() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            let e1 = Pending(id: "reg-1", stream: "episode-1", body: body("code=A1", "date=2026-03-01"), expectedVersion: 0)
            let e2 = Pending(id: "reg-2", stream: "episode-1", body: body("code=A2"))
            try log.append([e1, e2])
            let before = try snapshot(log)
            // The retry of an append that stated an expected version is still a duplicate, even
            // though the stream has moved on since.
            #expect(try log.append(e1) == .duplicate(position: 1))
            #expect(try log.append([e2, e1]) == [.duplicate(position: 2), .duplicate(position: 1)])
            #expect(try snapshot(log) == before)
            // Mixed with new events, only the new ones are written; the same id twice in one batch
            // is appended once.
            let e3 = Pending(id: "reg-3", stream: "episode-2", body: body("code=B1"))
            #expect(try log.append([e1, e3, e3]) == [
                .duplicate(position: 1), .appended(position: 3, version: 1), .duplicate(position: 3),
            ])
            #expect(try log.currentHead.position == 3)
            _ = try verifyChain(log)
        }
    }

    @Test func reusingAnIdWithOtherContentIsRefusedAndWritesNothing() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            try log.append([
                Pending(id: "reg-1", stream: "episode-1", body: body("code=A1")),
                Pending(id: "reg-2", stream: "episode-1", body: body("code=A2")),
            ])
            let before = try snapshot(log)
            let bytesBefore = try Data(contentsOf: URL(fileURLWithPath: dir + "/data.mdb"))
            // Other body, other stream, and a conflict at the end of an otherwise fine batch.
            #expect(throws: LogError.idConflict(id: "reg-1", position: 1)) {
                try log.append(Pending(id: "reg-1", stream: "episode-1", body: body("code=A9")))
            }
            #expect(throws: LogError.idConflict(id: "reg-1", position: 1)) {
                try log.append(Pending(id: "reg-1", stream: "episode-2", body: body("code=A1")))
            }
            let error = #expect(throws: LogError.idConflict(id: "reg-2", position: 2)) {
                try log.append([
                    Pending(id: "reg-3", stream: "episode-3", body: body("fine")),
                    Pending(id: "reg-4", stream: "episode-1", body: body("fine")),
                    Pending(id: "reg-2", stream: "episode-1", body: body("code=A2", "extra")),
                ])
            }
            #expect(error?.description.contains("already stored at position 2") == true)
            #expect(try snapshot(log) == before)
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/data.mdb")) == bytesBefore)
            #expect(try log.environment.read { txn in try log.position(ofID: "reg-3", in: txn) } == nil)
            // The next append continues without a gap.
            #expect(try log.append(Pending(id: "reg-3", stream: "episode-3", body: body("fine"))) == .appended(position: 3, version: 1))
            _ = try verifyChain(log)
        }
    }

    @Test func aStaleExpectedVersionIsRefusedAndWritesNothing() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            #expect(try log.append(Pending(id: "a1", stream: "A", body: body("1"), expectedVersion: 0)) == .appended(position: 1, version: 1))
            #expect(try log.append(Pending(id: "a2", stream: "A", body: body("2"), expectedVersion: 1)) == .appended(position: 2, version: 2))
            let before = try snapshot(log)
            #expect(throws: LogError.versionConflict(stream: "A", expected: 1, actual: 2)) {
                try log.append(Pending(id: "a3", stream: "A", body: body("3"), expectedVersion: 1))
            }
            #expect(throws: LogError.versionConflict(stream: "A", expected: 0, actual: 2)) {
                try log.append(Pending(id: "a3", stream: "A", body: body("3"), expectedVersion: 0))
            }
            #expect(throws: LogError.versionConflict(stream: "B", expected: 4, actual: 0)) {
                try log.append(Pending(id: "b1", stream: "B", body: body("1"), expectedVersion: 4))
            }
            // Inside a batch the expectation sees the batch's own earlier events.
            #expect(throws: LogError.versionConflict(stream: "A", expected: 2, actual: 3)) {
                try log.append([
                    Pending(id: "a3", stream: "A", body: body("3"), expectedVersion: 2),
                    Pending(id: "a4", stream: "A", body: body("4"), expectedVersion: 2),
                ])
            }
            #expect(try snapshot(log) == before)
            #expect(try log.append([
                Pending(id: "a3", stream: "A", body: body("3"), expectedVersion: 2),
                Pending(id: "b1", stream: "B", body: body("1"), expectedVersion: 0),
                Pending(id: "a4", stream: "A", body: body("4"), expectedVersion: 3),
            ]) == [.appended(position: 3, version: 3), .appended(position: 4, version: 1), .appended(position: 5, version: 4)])
            let description = LogError.versionConflict(stream: "A", expected: 1, actual: 2).description
            #expect(description.contains("version 2") && description.contains("expected 1"))
            _ = try verifyChain(log)
        }
    }

    @Test func aFailingBatchLeavesTheLogByteForByteUnchanged() throws {
        struct Abort: Error {}
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            try log.append((1...20).map { Pending(id: "base-\($0)", stream: "S-\($0 % 3)", body: body("n=\($0)")) })
            let before = try snapshot(log)
            let file = URL(fileURLWithPath: dir + "/data.mdb")
            let bytesBefore = try Data(contentsOf: file)
            // Several appends in one transaction, then the caller throws.
            #expect(throws: Abort.self) {
                try log.environment.write { txn throws in
                    let first = try log.append((1...5).map { Pending(id: "x-\($0)", stream: "S-\($0 % 2)", body: body("x")) },
                                               appendedAt: fixedInstant, in: &txn)
                    #expect(first.map(\.position) == [21, 22, 23, 24, 25])
                    _ = try log.append([Pending(id: "y", stream: "new-stream", body: body("y"))], appendedAt: fixedInstant, in: &txn)
                    #expect(try log.head(in: txn).position == 26)
                    throw Abort()
                }
            }
            #expect(try snapshot(log) == before)
            #expect(try Data(contentsOf: file) == bytesBefore)
            // A batch whose last event is refused is not half written either.
            #expect(throws: LogError.self) {
                try log.append((1...50).map { i in
                    Pending(id: i == 50 ? "base-7" : "z-\(i)", stream: "S-\(i % 5)", body: body("different"))
                })
            }
            #expect(try snapshot(log) == before)
            #expect(try Data(contentsOf: file) == bytesBefore)
            #expect(try log.append(Pending(id: "x-1", stream: "S-1", body: body("x"))) == .appended(position: 21, version: 8))
            _ = try verifyChain(log)
        }
    }

    @Test func overlongAndEmptyKeysAreRefused() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            try log.append(Pending(id: "ok", stream: "S", body: []))
            let before = try snapshot(log)
            let long = String(repeating: "x", count: 512)
            #expect(throws: LogError.keyTooLong(field: "id", length: 512)) { try log.append(Pending(id: long, stream: "S", body: [])) }
            #expect(throws: LogError.keyTooLong(field: "stream", length: 512)) { try log.append(Pending(id: "i", stream: long, body: [])) }
            #expect(throws: LogError.keyTooLong(field: "id", length: 0)) { try log.append(Pending(id: "", stream: "S", body: [])) }
            #expect(try snapshot(log) == before)
            let longest = String(repeating: "y", count: 511)
            #expect(try log.append(Pending(id: longest, stream: longest, body: [])) == .appended(position: 2, version: 1))
            _ = try verifyChain(log)
        }
    }

    @Test func theMapGrowsFromATinyStartAndEveryEventStaysReadable() throws {
        try withTemporaryDirectory { dir in
            let tiny = 64 << 10
            var appended: UInt64 = 0
            let filler = String(repeating: "pathway-registration-", count: 8)
            do {
                let log = try openLog(dir, initialMapSize: tiny)
                let initial = log.environment.mapSize
                while log.environment.mapSize < initial * 16 {
                    try #require(appended < 20_000, "the map never grew past \(log.environment.mapSize) bytes")
                    try log.append((1...25).map { _ in
                        appended += 1
                        return Pending(id: "grow-\(appended)", stream: "episode-\(appended % 11)", body: body(filler, "n=\(appended)"))
                    })
                }
                #expect(log.environment.mapSize >= tiny * 16)
            }
            let log = try openLog(dir, initialMapSize: tiny)
            let verified = try verifyChain(log)
            #expect(verified.head.position == appended)
            try log.environment.read { txn throws in
                for p in 1...appended {
                    let ok = try log.withEvent(at: p, in: txn) { ev in
                        ev.idString == "grow-\(p)" && Array(ev.body) == body(filler, "n=\(p)")
                    }
                    #expect(ok == true, "event \(p)")
                }
            }
            // And it keeps growing after a reopen with the same tiny setting.
            try log.append(Pending(id: "after-reopen", stream: "episode-0", body: body(filler)))
            #expect(try verifyChain(log).head.position == appended + 1)
        }
    }

    @Test func aFlippedByteInACopyOfTheDataFileIsDetected() throws {
        try withTemporaryDirectory { dir in
            try withTemporaryDirectory { copyDir in
                let target: UInt64 = 23
                func id(_ p: UInt64) -> String { "flip-event-\(p)" }
                func stream(_ p: UInt64) -> String { "episode-\(p % 4)" }
                do {
                    let log = try openLog(dir)
                    for p: UInt64 in 1...40 {
                        try log.append(Pending(id: id(p), stream: stream(p), body: body("code=X\(p)")))
                    }
                }
                let original = URL(fileURLWithPath: dir + "/data.mdb")
                let copy = URL(fileURLWithPath: copyDir + "/data.mdb")
                try FileManager.default.copyItem(at: original, to: copy)
                // The record's canonical bytes hold the id field followed by the stream field; the
                // id index holds the id too, but not followed by that. Flip one byte of the id in
                // every copy of the record in the file (freed pages may hold stale ones).
                var needle: [UInt8] = []
                Canonical.appendField(id(target), to: &needle)
                Canonical.appendField(stream(target), to: &needle)
                var data = [UInt8](try Data(contentsOf: copy))
                let hits = occurrences(of: needle, in: data)
                try #require(!hits.isEmpty, "the record of \(target) was not found in the data file")
                for hit in hits { data[hit + 2 + 5] ^= 0x01 }
                try Data(data).write(to: copy)

                do {
                    let log = try openLog(dir)
                    #expect(try verifyChain(log).head.position == 40, "the original is intact")
                }
                let log = try openLog(copyDir)
                let error = #expect(throws: ChainBreak.self) { _ = try verifyChain(log) }
                #expect(error?.position == target)
                #expect(error?.reason.contains("hash") == true)
                // The damaged record still decodes: only the chain tells.
                try log.environment.read { txn throws in
                    #expect(try log.withEvent(at: target, in: txn) { $0.idString } == "flip-dvent-\(target)")
                }
            }
        }
    }

    @Test func aRecordInAnUnknownFormatFailsWithAClearError() throws {
        try withTemporaryDirectory { dir in
            try withTemporaryDirectory { copyDir in
                let hash: [UInt8]
                do {
                    let log = try openLog(dir)
                    for p in 1...8 { try log.append(Pending(id: "fmt-\(p)", stream: "S", body: body("p=\(p)"))) }
                    hash = try log.environment.read { txn in try log.withEvent(at: 5, in: txn) { Array($0.hash) } } ?? []
                }
                try FileManager.default.copyItem(atPath: dir + "/data.mdb", toPath: copyDir + "/data.mdb")
                var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: copyDir + "/data.mdb")))
                let hits = occurrences(of: hash, in: data)
                try #require(!hits.isEmpty)
                for hit in hits {
                    #expect(data[hit - 1] == StoredEvent.formatVersion)
                    data[hit - 1] = 9
                }
                try Data(data).write(to: URL(fileURLWithPath: copyDir + "/data.mdb"))
                let log = try openLog(copyDir)
                try log.environment.read { txn throws in
                    let error = #expect(throws: LogError.unknownFormat(position: 5, version: 9)) {
                        _ = try log.withEvent(at: 5, in: txn) { _ in true }
                    }
                    #expect(error?.description.contains("format version 9") == true)
                    #expect(throws: LogError.unknownFormat(position: 5, version: 9)) {
                        try log.scan(in: txn) { _ in true }
                    }
                    #expect(try log.withEvent(at: 4, in: txn) { $0.idString } == "fmt-4")
                }
                #expect(throws: ChainBreak.self) { _ = try verifyChain(log) }
            }
        }
    }

    @Test func aLogCannotBeOpenedTwiceInOneProcess() throws {
        try withTemporaryDirectory { dir in
            let log = try openLog(dir)
            let error = #expect(throws: LMDBError.self) { _ = try openLog(dir) }
            #expect(error?.code == LMDBError.alreadyOpenCode)
            // A second EventLog over the same environment is fine: it shares the handle.
            let second = try EventLog(environment: log.environment)
            try second.append(Pending(id: "a", stream: "S", body: []))
            #expect(try log.currentHead.position == 1)
        }
    }
}

/// Every offset at which `needle` starts in `haystack`.
func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
    guard !needle.isEmpty, haystack.count >= needle.count else { return [] }
    var out: [Int] = []
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { out.append(i) }
        i += 1
    }
    return out
}
