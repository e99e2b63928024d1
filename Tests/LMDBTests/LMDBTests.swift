import Foundation
import Testing
import LMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The safe LMDB layer on real LMDB files in temporary directories.
@Suite struct LMDBTests {
    @Test func putGetDeleteRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let a = try env.database("a")
            let b = try env.database("b")
            try env.write { txn throws in
                try txn.put(a, bytes("k1"), bytes("one"))
                try txn.put(a, bytes("k2"), bytes("two"))
                try txn.put(b, bytes("k1"), bytes("other"))
            }
            try env.read { txn throws in
                #expect(try txn.value(a, bytes("k1")) == bytes("one"))
                #expect(try txn.value(a, bytes("k2")) == bytes("two"))
                #expect(try txn.value(b, bytes("k1")) == bytes("other"))
                #expect(try txn.value(a, bytes("missing")) == nil)
                #expect(try txn.count(a) == 2)
                #expect(try txn.count(b) == 1)
            }
            let deleted = try env.write { txn throws in
                (try txn.delete(a, bytes("k1")), try txn.delete(a, bytes("never-there")))
            }
            #expect(deleted.0 && !deleted.1)
            try env.read { txn throws in
                #expect(try txn.value(a, bytes("k1")) == nil)
                #expect(try txn.count(a) == 1)
            }
            // The same handle comes back for the same name.
            #expect(try env.database("a") == a)
        }
    }

    /// Catch-up walks a database in key order and changes it where its cursor stands: a value
    /// replaced in place (a longer or shorter one too), an entry deleted, a new key put between
    /// others, a missing key found missing — and the cursor goes on from there.
    @Test func cursorsReplaceAndDeleteWhereTheyStand() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let a = try env.database("a"), b = try env.database("b")
            try env.write { txn throws in
                for k in ["k1", "k3", "k5", "k7"] { try txn.put(a, bytes(k), bytes("v-" + k)) }
                try txn.put(b, bytes("x"), bytes("1"))
            }
            try env.write { txn throws in
                try txn.withCursor(a) { c in
                    try bytes("k1").withUnsafeBytes { k in
                        let found = try #require(try c.seek(exactly: k))
                        #expect(Array(found.value) == bytes("v-k1"))
                        try bytes("a much longer value").withUnsafeBytes { try c.put(k, $0, flags: .current) }
                    }
                    try bytes("k2").withUnsafeBytes { k in
                        #expect(try c.seek(exactly: k) == nil)
                        try bytes("new").withUnsafeBytes { try c.put(k, $0) }
                    }
                    try bytes("k5").withUnsafeBytes { k in
                        _ = try #require(try c.seek(exactly: k))
                        try c.deleteCurrent()
                    }
                    try bytes("k7").withUnsafeBytes { k in
                        _ = try #require(try c.seek(exactly: k))
                        try bytes("7").withUnsafeBytes { try c.put(k, $0, flags: .current) }
                    }
                }
                try txn.withCursors([a, b]) { cursors in
                    let first = try bytes("k3").withUnsafeBytes { try cursors.delete(0, $0) }
                    let again = try bytes("k3").withUnsafeBytes { try cursors.delete(0, $0) }
                    let other = try bytes("x").withUnsafeBytes { try cursors.seek(1, exactly: $0) }.map { Array($0.value) }
                    #expect(first && !again)
                    #expect(other == bytes("1"))
                }
            }
            try env.read { txn throws in
                var all: [(String, String)] = []
                try txn.withCursor(a) { c in
                    var e = try c.first()
                    while let (k, v) = e {
                        all.append((String(decoding: k, as: UTF8.self), String(decoding: v, as: UTF8.self)))
                        e = try c.next()
                    }
                }
                #expect(all.map(\.0) == ["k1", "k2", "k7"])
                #expect(all.map(\.1) == ["a much longer value", "new", "7"])
            }
        }
    }

    @Test func reserveWritesInPlace() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let db = try env.database("r")
            try env.write { txn throws in
                try bytes("key").withUnsafeBytes { k in
                    try txn.reserve(db, k, size: 5) { out in out.copyBytes(from: bytes("hello")) }
                }
            }
            #expect(try env.read { try $0.value(db, bytes("key")) } == bytes("hello"))
        }
    }

    @Test func aThrowingWriteWritesNothing() throws {
        struct Refused: Error {}
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let db = try env.database("d")
            try env.write { txn in try txn.put(db, bytes("kept"), bytes("1")) }
            let before = try env.read { try $0.dump(db) }
            #expect(throws: Refused.self) {
                try env.write { txn throws in
                    try txn.put(db, bytes("new"), bytes("2"))
                    try txn.put(db, bytes("kept"), bytes("overwritten"))
                    _ = try txn.delete(db, bytes("kept"))
                    throw Refused()
                }
            }
            #expect(try env.read { try $0.dump(db) } == before)
            // The writer is free again afterwards.
            try env.write { txn in try txn.put(db, bytes("after"), bytes("3")) }
            #expect(try env.read { try $0.count(db) } == 2)
        }
    }

    @Test func bigEndianKeysAppendInOrderAndRefuseOutOfOrder() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let db = try env.database("seq")
            try env.write { txn throws in
                for i: UInt64 in [1, 2, 255, 256, 65_536, 1 << 40] {
                    try txn.put(db, BigEndian.bytes(i), bytes("v\(i)"), flags: .append)
                }
            }
            // MDB_APPEND with a key that does not sort last is refused, and the transaction with it.
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn throws in
                    try txn.put(db, BigEndian.bytes(1 << 41), bytes("fine"), flags: .append)
                    try txn.put(db, BigEndian.bytes(3), bytes("out of order"), flags: .append)
                }
            }
            #expect(error?.code == keyExistCode)
            #expect(error?.description.contains("MDB_KEYEXIST") == true)
            let keys = try env.read { txn throws in
                try txn.withCursor(db) { c throws in
                    var out: [UInt64] = []
                    var e = try c.first()
                    while let (k, _) = e { out.append(BigEndian.uint64(k)); e = try c.next() }
                    return out
                }
            }
            #expect(keys == [1, 2, 255, 256, 65_536, 1 << 40])
            // Seeking, last and previous.
            try env.read { txn throws in
                try txn.withCursor(db) { c throws in
                    let at = try BigEndian.withBytes(257) { try c.seek(atOrAfter: $0) }
                    #expect(at.map { BigEndian.uint64($0.key) } == 65_536)
                    #expect(try c.previous().map { BigEndian.uint64($0.key) } == 256)
                    #expect(try c.last().map { Array($0.value) } == bytes("v\(UInt64(1) << 40)"))
                    #expect(try BigEndian.withBytes(3) { try c.seek(exactly: $0) } == nil)
                }
            }
        }
    }

    @Test func noOverwriteRefusesAnExistingKey() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let db = try env.database("ids")
            try env.write { txn in try txn.put(db, bytes("id"), bytes("first"), flags: .noOverwrite) }
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn in try txn.put(db, bytes("id"), bytes("second"), flags: .noOverwrite) }
            }
            #expect(error?.code == keyExistCode)
            #expect(try env.read { try $0.value(db, bytes("id")) } == bytes("first"))
        }
    }

    @Test func duplicatesAreSortedAndCounted() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let db = try env.database("dups", flags: [.duplicates, .fixedSizeDuplicates])
            try env.write { txn throws in
                for p: UInt64 in [1, 4, 9] { try txn.put(db, bytes("s1"), BigEndian.bytes(p), flags: .appendDuplicate) }
                for p: UInt64 in [2, 3] { try txn.put(db, bytes("s0"), BigEndian.bytes(p), flags: .appendDuplicate) }
                try txn.put(db, bytes("s2"), BigEndian.bytes(7))
            }
            try env.read { txn throws in
                #expect(try txn.count(db) == 6)
                try txn.withCursor(db) { c throws in
                    var streams: [String: [UInt64]] = [:]
                    var entry = try c.first()
                    while let (k, v) = entry {
                        let name = String(decoding: k, as: UTF8.self)
                        var values = [BigEndian.uint64(v)]
                        #expect(try c.duplicateCount() >= 1)
                        while let (_, v2) = try c.nextDuplicate() { values.append(BigEndian.uint64(v2)) }
                        streams[name] = values
                        entry = try c.nextKey()
                    }
                    #expect(streams == ["s0": [2, 3], "s1": [1, 4, 9], "s2": [7]])
                }
            }
            // Counting one key's values, and its last value.
            try env.read { txn throws in
                try txn.withCursor(db) { c throws in
                    #expect(try bytes("s1").withUnsafeBytes { try c.seek(exactly: $0) } != nil)
                    #expect(try c.duplicateCount() == 3)
                    #expect(try c.lastDuplicate().map { BigEndian.uint64($0.value) } == 9)
                }
            }
        }
    }

    @Test func openingTheSameStoreTwiceInOneProcessIsRefused() throws {
        try withTemporaryDirectory { dir in
            do {
                let env = try Environment(path: dir)
                let db = try env.database("d")
                try env.write { txn in try txn.put(db, bytes("k"), bytes("v")) }
                let again = #expect(throws: LMDBError.self) { _ = try Environment(path: dir) }
                #expect(again?.code == LMDBError.alreadyOpenCode)
                #expect(again?.description.contains("already open") == true)
                // Another spelling of the same directory is the same store.
                let other = #expect(throws: LMDBError.self) { _ = try Environment(path: dir + "/./") }
                #expect(other?.code == LMDBError.alreadyOpenCode)
                withExtendedLifetime(env) {}
            }
            // Released, it opens again and keeps what was written.
            let env = try Environment(path: dir)
            let db = try env.database("d")
            #expect(try env.read { try $0.value(db, bytes("k")) } == bytes("v"))
        }
    }

    @Test func mapGrowsWhenAWriteFillsIt() throws {
        try withTemporaryDirectory { dir in
            var options = Environment.Options()
            options.initialMapSize = 64 << 10
            let value = [UInt8](repeating: 0xAB, count: 3000)
            let total: UInt64 = 800 // about 2.4 MB of values in a 64 KiB map
            do {
                let env = try Environment(path: dir, options: options)
                let initial = env.mapSize
                #expect(initial <= 128 << 10)
                let db = try env.database("big")
                var next: UInt64 = 0
                while next < total {
                    try env.write { txn throws in
                        for i in next..<min(next + 100, total) {
                            var v = value
                            v.replaceSubrange(0..<8, with: BigEndian.bytes(i))
                            try txn.put(db, BigEndian.bytes(i), v, flags: .append)
                        }
                    }
                    next += 100
                }
                #expect(env.mapSize >= initial * 16, "the map should have doubled at least four times")
                #expect(env.fileSize >= Int(total) * value.count)
                try env.read { txn throws in
                    #expect(try txn.count(db) == Int(total))
                    for i in 0..<total {
                        let v = try #require(try txn.get(db, BigEndian.bytes(i)))
                        #expect(v.count == value.count && BigEndian.uint64(v) == i)
                    }
                }
            }
            // Reopened with the same tiny setting, LMDB adopts the larger size the file needs.
            let env = try Environment(path: dir, options: options)
            let db = try env.database("big")
            #expect(try env.read { try $0.count(db) } == Int(total))
            try env.write { txn in try txn.put(db, BigEndian.bytes(total), value, flags: .append) }
        }
    }

    @Test func aReaderKeepsItsSnapshotWhileAWriterCommits() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let db = try env.database("snap")
            try env.write { txn in try txn.put(db, bytes("k"), bytes("old")) }
            let readerHasSnapshot = Signal(), writerCommitted = Signal(), readerDone = Signal()
            let seen = Seen()
            Thread.detachNewThread {
                do {
                    try env.read { txn throws in
                        seen.add(try txn.value(db, bytes("k")))
                        readerHasSnapshot.fire()
                        writerCommitted.wait()
                        seen.add(try txn.value(db, bytes("k")))
                    }
                } catch {
                    seen.add(bytes("error: \(error)"))
                    readerHasSnapshot.fire()
                }
                readerDone.fire()
            }
            readerHasSnapshot.wait()
            try env.write { txn in try txn.put(db, bytes("k"), bytes("new")) }
            writerCommitted.fire()
            readerDone.wait()
            #expect(seen.values == [bytes("old"), bytes("old")])
            #expect(try env.read { try $0.value(db, bytes("k")) } == bytes("new"))
        }
    }

    /// Growing needs every reader out of the map for a moment; readers that never pause must not
    /// keep it waiting (glibc's rwlock prefers readers unless told otherwise).
    @Test func theMapGrowsWhileReadersKeepReading() throws {
        try withTemporaryDirectory { dir in
            var options = Environment.Options()
            options.initialMapSize = 64 << 10
            let env = try Environment(path: dir, options: options)
            let db = try env.database("grow")
            let initial = env.mapSize
            let stop = Stop()
            let started = DispatchSemaphore(value: 0)
            let done = DispatchGroup()
            let seen = Seen()
            for _ in 0..<3 {
                done.enter()
                Thread.detachNewThread {
                    var first = true
                    var last = 0
                    while !stop.isSet {
                        do {
                            let n = try env.read { txn throws in
                                // Every value present is whole: key i holds 2000 bytes of i.
                                let n = try txn.count(db)
                                for i in 0..<UInt64(n) {
                                    guard let v = try txn.get(db, BigEndian.bytes(i)), v.count == 2000, v.allSatisfy({ $0 == UInt8(i & 0xff) }) else {
                                        throw LMDBError(code: -1, context: "value \(i) is wrong")
                                    }
                                }
                                return n
                            }
                            if n < last { seen.add(bytes("went back from \(last) to \(n)")) }
                            last = n
                        } catch {
                            seen.add(bytes("\(error)"))
                            break
                        }
                        if first { first = false; started.signal() }
                    }
                    if first { started.signal() }
                    done.leave()
                }
            }
            for _ in 0..<3 { started.wait() }
            for i: UInt64 in 0..<600 {
                try env.write { txn in try txn.put(db, BigEndian.bytes(i), [UInt8](repeating: UInt8(i & 0xff), count: 2000), flags: .append) }
            }
            stop.set()
            done.wait()
            #expect(seen.values.isEmpty, "\(seen.values.compactMap { $0.map { String(decoding: $0, as: UTF8.self) } })")
            #expect(env.mapSize >= initial * 8)
        }
    }

    @Test func transactionsNestOnOneThread() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment(path: dir)
            let db = try env.database("n")
            try env.write { txn in try txn.put(db, bytes("k"), bytes("committed")) }
            let inner = try env.read { outer throws in
                try env.read { inner throws in try inner.value(db, bytes("k")) }
            }
            #expect(inner == bytes("committed"))
            // A read started inside a write sees the last commit, not the write's own changes.
            let seenInside = try env.write { txn throws in
                try txn.put(db, bytes("k"), bytes("pending"))
                return try env.read { try $0.value(db, bytes("k")) }
            }
            #expect(seenInside == bytes("committed"))
            #expect(try env.read { try $0.value(db, bytes("k")) } == bytes("pending"))
        }
    }

    @Test func copyMakesAnOpenableSnapshot() throws {
        try withTemporaryDirectory { dir in
            try withTemporaryDirectory { copyDir in
                let before: [[UInt8]]
                do {
                    let env = try Environment(path: dir)
                    let db = try env.database("c")
                    try env.write { txn in for i: UInt64 in 1...50 { try txn.put(db, BigEndian.bytes(i), bytes("v\(i)")) } }
                    try env.sync()
                    try env.copy(to: copyDir)
                    try env.write { txn in try txn.put(db, BigEndian.bytes(51), bytes("after the copy")) }
                    before = try env.read { try $0.dump(db) }
                }
                let copy = try Environment(path: copyDir)
                let db = try copy.database("c")
                let copied = try copy.read { try $0.dump(db) }
                #expect(copied == Array(before.dropLast(2)))
            }
        }
    }

    @Test func errorsSayWhatToDo() throws {
        // A store under a missing directory.
        let missing = #expect(throws: LMDBError.self) {
            _ = try Environment(path: "/nonexistent-\(getpid())/deeper/store")
        }
        #expect(missing?.code == ENOENT)
        #expect(missing?.description.contains("does not exist") == true)

        // A data file that is not LMDB; a failed open leaves the path free to try again.
        try withTemporaryDirectory { dir in
            let garbage = Data((0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            try garbage.write(to: URL(fileURLWithPath: dir + "/data.mdb"))
            for _ in 0..<2 {
                let invalid = #expect(throws: LMDBError.self) { _ = try Environment(path: dir) }
                #expect(invalid?.code == invalidCode)
                #expect(invalid?.description.contains("not an LMDB data file") == true)
                #expect(invalid?.description.contains(dir) == true)
            }
        }
    }
}

/// Values a helper thread reports back.
final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [[UInt8]?] = []
    func add(_ v: [UInt8]?) { lock.lock(); stored.append(v); lock.unlock() }
    var values: [[UInt8]?] { lock.lock(); defer { lock.unlock() }; return stored }
}
