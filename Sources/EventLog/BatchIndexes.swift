import LMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `ids` and `streams` index entries of one batch, held back while it appends and written in
/// key order when it ends (``EventLog/writeIndexes(_:in:)``), inside the same transaction.
///
/// Why: in a real log the events of thousands of episodes are interleaved and client ids come in
/// no key order, so putting each event's two index entries as it is appended sends both puts to a
/// random leaf of a large B-tree. In one big transaction (a bulk import is one, to stay atomic)
/// every such page is copied, kept in LMDB's dirty list, searched for on each later visit, and,
/// once the list is full, spilled to disk and copied back when touched again. Written sorted, each
/// tree is filled in one forward pass: the cursor finds the next key on the leaf it stands on.
/// Measured on 3 M generated registrations in recorded order (all episodes interleaved): see
/// Benchmarks/RESULTS.md, session 6.
///
/// While the batch runs, an id it appended is found here (``EventLog/position(ofID:batch:in:)``):
/// an open-addressing table of 64-bit slots, each a 32-bit fingerprint of the id and the event's
/// offset in the batch, a match confirmed against the id stored in the log record (a fresh id
/// matches some fingerprint about once in 2³² / count look-ups). A stream's version is counted by
/// the caller's `versions` map, from the stored count it read before the batch touched the stream.
public final class BatchIndexes {
    var slots: [UInt64]
    var mask: Int
    var count = 0
    /// The position of the batch's first appended event (0: none yet). The batch's events are the
    /// positions from here to the head: a batch appends nothing else in between.
    public internal(set) var first: UInt64 = 0

    public init() {
        slots = [UInt64](repeating: 0, count: 1 << 10)
        mask = (1 << 10) - 1
    }

    public var isEmpty: Bool { first == 0 }

    /// The table is not needed once the batch has stopped appending.
    func release() {
        slots = [0]
        mask = 0
    }

    /// The id's 32-bit fingerprint (FNV-1a, then mixed).
    @inline(__always) static func fingerprint(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd; h ^= h >> 33
        return h >> 32
    }

    /// Where a fingerprint's probe starts. Derived from the fingerprint alone, so the table can
    /// grow without the ids.
    @inline(__always) func start(_ fingerprint: UInt64) -> Int {
        Int(truncatingIfNeeded: (fingerprint &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    func insert(id: UnsafeRawBufferPointer, position: UInt64) {
        if first == 0 { first = position }
        let offset = position - first + 1
        precondition(offset <= UInt64(UInt32.max), "a batch of more than 2^32 events")
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let f = BatchIndexes.fingerprint(id)
        place(f << 32 | offset, at: start(f))
        count += 1
    }

    private func place(_ value: UInt64, at start: Int) {
        var i = start
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = value
    }

    private func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for v in old where v != 0 { place(v, at: start(v >> 32)) }
    }

    /// Calls `body` with the position of every event of the batch whose id has the fingerprint of
    /// `id`, until it returns true.
    func forEachCandidate(_ id: UnsafeRawBufferPointer, _ body: (UInt64) throws -> Bool) rethrows {
        guard count > 0 else { return }
        let f = BatchIndexes.fingerprint(id)
        var i = start(f)
        while slots[i] != 0 {
            if slots[i] >> 32 == f, try body(first + (slots[i] & 0xffff_ffff) - 1) { return }
            i = (i + 1) & mask
        }
    }
}

/// Keys (ids or stream names) with the position each maps to, collected in one byte arena and
/// handed out sorted: by key bytes (`memcmp` order, as LMDB stores them), then by position.
/// 32 bytes an entry plus the key bytes: a bulk import sorts ten million of them.
struct IndexKeys {
    /// One key: its first sixteen bytes as two big-endian numbers (client ids and episode names
    /// are 5–20 bytes, so nearly every comparison ends there without touching the arena), where it
    /// starts in the arena (a 2-byte length, then the bytes), its length, and its position's offset
    /// from the batch's first.
    struct Entry {
        var high: UInt64
        var low: UInt64
        var start: Int
        var count: UInt32
        var offset: UInt32
    }
    let first: UInt64
    var arena: [UInt8] = []
    var entries: [Entry] = []
    var count: Int { entries.count }

    init(first: UInt64, capacity: Int) {
        self.first = first
        entries.reserveCapacity(capacity)
        arena.reserveCapacity(capacity * 12)
    }

    mutating func add(_ key: UnsafeRawBufferPointer, position: UInt64) {
        var high: UInt64 = 0, low: UInt64 = 0
        for k in 0..<8 { high = high << 8 | UInt64(k < key.count ? key[k] : 0) }
        for k in 8..<16 { low = low << 8 | UInt64(k < key.count ? key[k] : 0) }
        // A batch of more than 2^32 events would have stopped in BatchIndexes.insert already; a
        // key is at most 511 bytes (the ingest's limit; LMDB's own is 511 too).
        entries.append(Entry(high: high, low: low, start: arena.count, count: UInt32(truncatingIfNeeded: key.count),
                             offset: UInt32(truncatingIfNeeded: position - first)))
        arena.append(UInt8(key.count >> 8)); arena.append(UInt8(key.count & 0xff))
        arena.append(contentsOf: key)
    }

    /// Calls `body` with each key and its position (8 bytes, big-endian), in order: the byte order
    /// of the keys, then the positions (a stream's entries are its positions in order).
    mutating func forEachSorted(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        try arena.withUnsafeBytes { a in
            let base = a.baseAddress!
            @inline(__always) func key(_ e: Entry) -> UnsafeRawBufferPointer {
                let s = e.start
                let n = Int(base.load(fromByteOffset: s, as: UInt8.self)) << 8 | Int(base.load(fromByteOffset: s + 1, as: UInt8.self))
                return UnsafeRawBufferPointer(start: base + s + 2, count: n)
            }
            entries.sort { x, y in
                if x.high != y.high { return x.high < y.high }
                if x.low != y.low { return x.low < y.low }
                // The first sixteen bytes are equal (zero-padded): past them only long keys differ.
                if x.count > 16 && y.count > 16 {
                    let kx = key(x), ky = key(y)
                    let c = memcmp(kx.baseAddress! + 16, ky.baseAddress! + 16, Int(Swift.min(x.count, y.count)) - 16)
                    if c != 0 { return c < 0 }
                }
                if x.count != y.count { return x.count < y.count }
                return x.offset < y.offset
            }
            for e in entries {
                try BigEndian.withBytes(first + UInt64(e.offset)) { v in try body(key(e), v) }
            }
        }
    }
}
