import Foundation
import LMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory from `mkdtemp`, removed when `body` returns.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/lmdbtests-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    let dir = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

/// `MDB_KEYEXIST` and `MDB_INVALID`, as lmdb.h defines them (the tests do not import CLMDB).
let keyExistCode: Int32 = -30799
let invalidCode: Int32 = -30793

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

extension Transaction where Self: ~Copyable {
    /// A copy of the value under `key`, or nil.
    func value(_ db: Database, _ key: [UInt8]) throws -> [UInt8]? {
        try get(db, key).map { Array($0) }
    }

    /// Every (key, value) pair of `db` in cursor order, duplicates included.
    func dump(_ db: Database) throws -> [[UInt8]] {
        try withCursor(db) { c throws in
            var out: [[UInt8]] = []
            var entry = try c.first()
            while let (k, v) = entry {
                out.append(Array(k)); out.append(Array(v))
                entry = try c.next()
            }
            return out
        }
    }
}

/// A one-shot flag several threads can read and one can set.
final class Signal: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func fire() { semaphore.signal() }
    func wait() { semaphore.wait() }
}

/// A flag one thread sets and others poll.
final class Stop: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
