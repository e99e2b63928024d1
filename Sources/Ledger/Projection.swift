import Deadlines
import EventLog
import Foundation
import Pathway

/// What a projection sees of one episode: its corrected history and its place in the log.
///
/// Every projection in the ledger is a pure function of this snapshot, which is itself a pure fold
/// of the log. That is what makes a rebuilt projection byte-identical to the maintained one, and
/// what lets one episode be evaluated "as known at" an instant or "as valid at" a date on demand.
public struct EpisodeSnapshot: Sendable {
    public let episode: String
    public let history: EpisodeHistory
    public let symbols: SymbolTable
    /// The episode stream's version: how many events (registrations, corrections, voidings) it has.
    public let version: UInt64
    public let lastPosition: UInt64
    /// The registrations in force, in place order.
    public let marks: [Mark]
    /// Milestones and timers, derived once and shared by the projections that need them.
    public let derived: SnapshotDerivations

    public init(episode: String, history: EpisodeHistory, symbols: SymbolTable, version: UInt64, lastPosition: UInt64) {
        self.episode = episode; self.history = history; self.symbols = symbols
        self.version = version; self.lastPosition = lastPosition
        self.marks = history.marks
        self.derived = SnapshotDerivations(marks: marks)
    }
}

/// What several projections derive from one snapshot's marks — the milestones, and the timers
/// under a rule book — computed on first use and then shared: a rebuild or verify of all the
/// projections would otherwise work out the same milestones three times and the same timers twice
/// per episode. A snapshot is used by one thread at a time, so the cache needs no lock.
public final class SnapshotDerivations: @unchecked Sendable {
    private let marks: [Mark]
    private var cachedMilestones: Milestones?
    private var cachedTimers: (rules: RuleBook, timers: [Deadlines.Timer])?

    init(marks: [Mark]) { self.marks = marks }

    public var milestones: Milestones {
        if let m = cachedMilestones { return m }
        let m = Milestones(marks)
        cachedMilestones = m
        return m
    }

    /// `Deadlines.timers(for: milestones, rules: rules)`, remembered for the last rule book asked.
    public func timers(rules: RuleBook) -> [Deadlines.Timer] {
        if let c = cachedTimers, c.rules == rules { return c.timers }
        let t = Deadlines.timers(for: milestones, rules: rules)
        cachedTimers = (rules, t)
        return t
    }
}

/// Where a projection writes its records for one episode (or, in a rebuild, for a run of them).
///
/// The records' bytes go back to back into one buffer, so a rebuild that produces millions of
/// records makes no allocation per record — and frees none afterwards, one by one, on the thread
/// that writes them. The `put` taking closures writes a record straight into that buffer;
/// ``records`` hands them out as arrays for code off the hot path.
public struct RecordSink: Equatable {
    public struct Record: Equatable, Sendable {
        public var database: Int
        public var key: [UInt8]
        public var value: [UInt8]
    }
    struct Entry: Equatable {
        var database: Int
        var start: Int
        var keyCount: Int
        var valueCount: Int
    }
    var bytes: [UInt8] = []
    var entries: [Entry] = []

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public mutating func put(database: Int = 0, key: [UInt8], value: [UInt8]) {
        put(database: database, key: { $0.append(contentsOf: key) }, value: { $0.append(contentsOf: value) })
    }

    /// Puts a record whose key and value the closures append to the buffer they are given (which
    /// holds earlier records: append only).
    @inline(__always)
    public mutating func put(database: Int = 0, key: (inout [UInt8]) -> Void, value: (inout [UInt8]) -> Void) {
        let start = bytes.count
        key(&bytes)
        let keyEnd = bytes.count
        value(&bytes)
        entries.append(Entry(database: database, start: start, keyCount: keyEnd - start, valueCount: bytes.count - keyEnd))
    }

    /// Copies a record from bytes held elsewhere (an empty value by default: an index entry, or a key to delete).
    public mutating func put(database: Int = 0, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        put(database: database, key: { $0.append(contentsOf: key) }, value: { $0.append(contentsOf: value) })
    }

    /// Forgets the records, keeping the buffers for the next episode's.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Whether a record of `database` has this key (and, when given, this value), byte for byte.
    public func contains(database: Int, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer? = nil) -> Bool {
        bytes.withUnsafeBytes { all in
            entries.contains { e in
                guard e.database == database, e.keyCount == key.count else { return false }
                let k = UnsafeRawBufferPointer(rebasing: all[e.start..<(e.start + e.keyCount)])
                guard bytesEqual(k, key) else { return false }
                guard let value else { return true }
                let v = e.start + e.keyCount
                return bytesEqual(UnsafeRawBufferPointer(rebasing: all[v..<(v + e.valueCount)]), value)
            }
        }
    }

    /// The records, in the order they were put, as arrays.
    public var records: [Record] {
        entries.map { e in
            Record(database: e.database, key: Array(bytes[e.start..<(e.start + e.keyCount)]),
                   value: Array(bytes[(e.start + e.keyCount)..<(e.start + e.keyCount + e.valueCount)]))
        }
    }

    /// Visits the records in the order they were put, without copying them.
    @inline(__always)
    public func forEach(_ body: (_ database: Int, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            for e in entries {
                let k = e.start, v = e.start + e.keyCount
                try body(e.database, UnsafeRawBufferPointer(rebasing: all[k..<v]), UnsafeRawBufferPointer(rebasing: all[v..<(v + e.valueCount)]))
            }
        }
    }
}

/// A read model derived per episode.
///
/// `keyed` projections own their keys: an episode's records replace its previous ones. `additive`
/// projections hold counters: an episode contributes amounts (three `Int64`s) to shared keys, and
/// a change to the episode subtracts its old contribution and adds the new one. Counters are sums,
/// so the result does not depend on the order episodes are folded in. An additive projection must
/// also be a ``CellProjection``: the engine sums counters only as cells (it refuses others at init).
public protocol EpisodeProjection: Sendable {
    /// Stable name, used in `pathway rebuild --projection NAME` and in database names.
    var name: String { get }
    /// The projection's databases (suffixes); `RecordSink.Record.database` indexes this list.
    var databases: [String] { get }
    var isAdditive: Bool { get }
    /// Bump when the record encoding changes: the engine then rebuilds the projection at open.
    var schemaVersion: UInt32 { get }
    func records(for snapshot: EpisodeSnapshot, into sink: inout RecordSink)
}

extension EpisodeProjection {
    public var isAdditive: Bool { false }
}

/// The schema number of a projection whose records depend on the pathway-time rules: its encoding
/// version and the rule book together, so a store rebuilds such a projection when it is opened with
/// other rules (a rule-set file added or changed) instead of serving timers and indicators derived
/// from the old ones. The first four bytes of SHA-256 over the name, the encoding version and every
/// rule set's canonical JSON without its `source` citation (rewording a citation changes no timer):
/// deterministic, the same on every machine.
func rulesSchemaVersion(_ name: String, encoding: UInt32, rules: RuleBook) -> UInt32 {
    var text = "\(name):\(encoding)"
    for set in rules.sets { text += "\n" + set.json(includingSource: false) }
    let digest = text.utf8CString.withUnsafeBytes { b in
        EventLog.contentDigest(UnsafeRawBufferPointer(rebasing: b.dropLast()))
    }
    return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
}

/// An additive projection whose contributions are *cells*: a group (two interned names) and a code
/// (an integer standing for the rest of the key). The engine sums cells on these fixed-width
/// integers — no key bytes, no value bytes per contribution — and makes each distinct cell's key
/// once. `records(for:into:)` must give the same keys and amounts; the engine uses it nowhere on its
/// hot paths, and tests compare the two.
///
/// Key order without key bytes: the projection ranks the few distinct groups by their names once
/// (``rankGroups(_:symbols:)``); a cell's place in key order is then (its *bucket*, its code), where
/// the bucket is a small integer made of the rank and the code's leading part. A rebuild sorts
/// hundreds of thousands of cells by counting them into buckets and sorting each bucket on codes.
public protocol CellProjection: EpisodeProjection {
    func cells(for snapshot: EpisodeSnapshot, emit: (_ cell: Cell, _ amounts: Counts) -> Void)
    /// The key bytes of a cell (database 0).
    func key(of cell: Cell, symbols: SymbolTable) -> [UInt8]
    /// The distinct `groups` in key order, each with the bytes ``writeKey(code:names:into:)`` needs
    /// for it: a group's rank is its index in the result.
    func rankGroups(_ groups: [UInt64], symbols: SymbolTable) -> [(group: UInt64, names: [UInt8])]
    /// How many buckets there are when there are `groups` ranked groups.
    func bucketCount(groups: Int) -> Int
    /// The bucket of a cell with this code in the group of this rank: cells sort as the pairs
    /// (bucket, code) do, and every bucket is below ``bucketCount(groups:)``.
    func bucket(code: UInt64, rank: UInt32, groups: Int) -> Int
    /// Writes the key of the cell with this code and its group's names into `buffer`, which has at
    /// least `names.count + 16` bytes; returns the key's length.
    func writeKey(code: UInt64, names: [UInt8], into buffer: UnsafeMutableRawBufferPointer) -> Int
}

extension CellProjection {
    /// Calls `body` with each cell's index and key bytes, in the byte order of the keys (the order
    /// `MDB_APPEND` needs). For the few cells of an append; a rebuild uses ``CellOrder/forEachSum``.
    public func forEachKeyInOrder(of cells: [Cell], symbols: SymbolTable, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows {
        // An append's few dozen cells: making their keys and sorting the bytes is cheaper than
        // ranking groups.
        if cells.count <= 256 {
            let keys = cells.map { key(of: $0, symbols: symbols) }
            for i in keys.indices.sorted(by: { bytesLess(keys[$0], keys[$1]) }) {
                try keys[i].withUnsafeBytes { try body(i, $0) }
            }
            return
        }
        let order = CellOrder(projection: self, groups: Array(Set(cells.map(\.group))), symbols: symbols)
        // Each cell's bucket looked up once, not twice per comparison.
        var sortable: [(bucket: Int, code: UInt64, index: Int)] = []
        sortable.reserveCapacity(cells.count)
        for i in cells.indices { sortable.append((order.bucket(of: cells[i]), cells[i].code, i)) }
        sortable.sort { a, b in a.bucket != b.bucket ? a.bucket < b.bucket : a.code < b.code }
        let items = sortable.map { $0.index }
        try order.withKeyBuffer { buffer in
            for i in items {
                let n = writeKey(code: cells[i].code, names: order.names[Int(order.rank(of: cells[i].group))], into: buffer)
                try body(i, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        }
    }
}

/// The groups of a ``CellProjection``'s cells ranked once, and the cells of summing tables put in
/// key order and summed on every core.
struct CellOrder {
    let projection: CellProjection
    let ranks: IntegerMap
    let names: [[UInt8]]
    let buckets: Int

    init(projection: CellProjection, groups: [UInt64], symbols: SymbolTable) {
        self.projection = projection
        let ranked = projection.rankGroups(groups, symbols: symbols)
        var ranks = IntegerMap(capacity: ranked.count)
        for (i, g) in ranked.enumerated() { ranks.set(g.group, to: UInt64(i)) }
        self.ranks = ranks
        names = ranked.map(\.names)
        buckets = projection.bucketCount(groups: ranked.count)
    }

    @inline(__always) func rank(of group: UInt64) -> UInt32 { UInt32(ranks[group]!) }
    @inline(__always) func bucket(of cell: Cell) -> Int {
        projection.bucket(code: cell.code, rank: rank(of: cell.group), groups: names.count)
    }

    func withKeyBuffer<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        var buffer = [UInt8](repeating: 0, count: (names.map(\.count).max() ?? 0) + 16)
        return try buffer.withUnsafeMutableBytes { try body($0) }
    }

    /// One summed cell, in a table's bucket order.
    /// 24 bytes: sorting moves these.
    struct Item {
        var code: UInt64
        var rank: UInt32
        var sum: CompactCounts
    }

    /// A slice of the key order, summed and with its keys made: written by one worker, then read
    /// in order by the writer.
    struct Output {
        var keyBytes: [UInt8] = []
        var keyEnds: [Int32] = []
        var sums: [Counts] = []
    }

    /// Visits the non-zero sums of all `tables`' cells, each distinct cell once, in key order.
    ///
    /// Every step but the visits runs on all cores: each table's distinct groups, then each table's
    /// cells counted into buckets (a counting sort), then the bucket range split between the workers,
    /// each merging its buckets from every table — sorting a bucket's few thousand cells on their
    /// codes, summing equal ones and writing their keys. The caller sees only finished keys.
    static func forEachSum(of tables: [CellSums], projection: CellProjection, symbols: SymbolTable,
                           _ body: (_ key: UnsafeRawBufferPointer, _ sum: Counts) throws -> Void) rethrows {
        let groupLists: [[UInt64]] = parallelMap(tables.count) { t in
            var seen = IntegerMap(capacity: 64)
            var list: [UInt64] = []
            tables[t].forEachSlot { group, _, _ in
                if seen[group] == nil { seen.set(group, to: 0); list.append(group) }
            }
            return list
        }
        let order = CellOrder(projection: projection, groups: Array(Set(groupLists.joined())), symbols: symbols)
        let bucketCount = order.buckets
        // Per table: its cells in bucket order, and where each bucket starts.
        let sorted: [(items: [Item], start: [Int32])] = parallelMap(tables.count) { t in
            let table = tables[t]
            var bucketOf = [Int32](); bucketOf.reserveCapacity(table.count)
            var start = [Int32](repeating: 0, count: bucketCount + 1)
            var rankOf = [UInt32](); rankOf.reserveCapacity(table.count)
            let groups = order.names.count
            table.forEachSlot { group, code, _ in
                let rank = order.rank(of: group)
                let b = projection.bucket(code: code, rank: rank, groups: groups)
                bucketOf.append(Int32(b))
                rankOf.append(rank)
                start[b + 1] += 1
            }
            for b in 0..<bucketCount { start[b + 1] += start[b] }
            var fill = start
            var items = [Item](repeating: Item(code: 0, rank: 0, sum: CompactCounts()), count: table.count)
            var k = 0
            table.forEachSlot { _, code, sum in
                let b = Int(bucketOf[k])
                items[Int(fill[b])] = Item(code: code, rank: rankOf[k], sum: sum)
                fill[b] += 1
                k += 1
            }
            return (items, start)
        }
        // Split the buckets into contiguous ranges of about equal cell counts, one per run.
        let total = sorted.reduce(0) { $0 + $1.items.count }
        let runs = Swift.max(1, Swift.min(ProjectionEngine.workers * 2, total / 4096))
        var cuts = [0]
        var seen = 0
        for b in 0..<bucketCount {
            for s in sorted { seen += Int(s.start[b + 1] - s.start[b]) }
            if cuts.count < runs && seen >= cuts.count * total / runs { cuts.append(b + 1) }
        }
        while cuts.count <= runs { cuts.append(bucketCount) }
        let bounds = cuts
        let outputs: [Output] = parallelMap(runs) { r in
            var out = Output()
            let expected = total / runs + total / (4 * runs)
            out.keyBytes.reserveCapacity(expected * ((order.names.map(\.count).max() ?? 0) + 8))
            out.keyEnds.reserveCapacity(expected)
            out.sums.reserveCapacity(expected)
            var bucketItems: [Item] = []
            order.withKeyBuffer { buffer in
                for b in bounds[r]..<bounds[r + 1] {
                    bucketItems.removeAll(keepingCapacity: true)
                    for s in sorted { bucketItems.append(contentsOf: s.items[Int(s.start[b])..<Int(s.start[b + 1])]) }
                    if bucketItems.isEmpty { continue }
                    if bucketItems.count <= 32 {
                        for i in 1..<bucketItems.count {
                            let e = bucketItems[i]
                            var j = i
                            while j > 0 && bucketItems[j - 1].code > e.code { bucketItems[j] = bucketItems[j - 1]; j -= 1 }
                            bucketItems[j] = e
                        }
                    } else {
                        bucketItems.sort { $0.code < $1.code }
                    }
                    var i = 0
                    while i < bucketItems.count {
                        let head = bucketItems[i]
                        var sum = head.sum.counts
                        i += 1
                        while i < bucketItems.count && bucketItems[i].code == head.code { sum = sum + bucketItems[i].sum.counts; i += 1 }
                        if sum.isZero { continue }
                        let n = projection.writeKey(code: head.code, names: order.names[Int(head.rank)], into: buffer)
                        out.keyBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                        out.keyEnds.append(Int32(out.keyBytes.count))
                        out.sums.append(sum)
                    }
                }
            }
            return out
        }
        for out in outputs {
            try out.keyBytes.withUnsafeBytes { all in
                var from = 0
                for (i, end) in out.keyEnds.enumerated() {
                    try body(UnsafeRawBufferPointer(rebasing: all[from..<Int(end)]), out.sums[i])
                    from = Int(end)
                }
            }
        }
    }
}

/// Summing tables handed out to the workers of one pass: a run takes a table, adds its cells and
/// gives it back, so there are only as many tables as runs ever ran at once (one per core), each
/// as small and cache-warm as it can be. Sums do not depend on which run used which table.
final class CellSumsPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [CellSums] = []
    private(set) var all: [CellSums] = []
    let capacity: Int
    init(capacity: Int) { self.capacity = capacity }

    func take() -> CellSums {
        lock.lock(); defer { lock.unlock() }
        if let t = free.popLast() { return t }
        let t = CellSums(capacity: capacity)
        all.append(t)
        return t
    }
    func give(_ t: CellSums) {
        lock.lock(); free.append(t); lock.unlock()
    }
}

/// A counter cell of a ``CellProjection``, by interned names: only meaningful with the fold's symbols.
public struct Cell: Hashable, Sendable {
    public var group: UInt64
    public var code: UInt64
    public init(first: Int32, second: Int32, code: UInt64) {
        group = UInt64(UInt32(bitPattern: first)) << 32 | UInt64(UInt32(bitPattern: second))
        self.code = code
    }
    public var first: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: group >> 32)) }
    public var second: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: group)) }
}

/// Additive amounts: numerator, denominator, and a third count (patient-postponed, or a tally).
public struct Counts: Equatable, Sendable {
    public var a: Int64, b: Int64, c: Int64
    public init(_ a: Int64, _ b: Int64, _ c: Int64) { self.a = a; self.b = b; self.c = c }
    public static let zero = Counts(0, 0, 0)
    public var isZero: Bool { a == 0 && b == 0 && c == 0 }
    public var bytes: [UInt8] { withBytes { Array($0) } }
    /// The 24 stored bytes (three big-endian `Int64`s), lent without allocating.
    @inline(__always)
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var stored = (a.bigEndian, b.bigEndian, c.bigEndian)
        return try withUnsafeBytes(of: &stored) { try body($0) }
    }
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 24 else { return nil }
        func at(_ i: Int) -> Int64 {
            var v: Int64 = 0
            withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + 8)])) }
            return Int64(bigEndian: v)
        }
        self.init(at(0), at(8), at(16))
    }
    static func + (l: Counts, r: Counts) -> Counts { Counts(l.a + r.a, l.b + r.b, l.c + r.c) }
    static func - (l: Counts, r: Counts) -> Counts { Counts(l.a - r.a, l.b - r.b, l.c - r.c) }
}

/// Counter sums as the summing tables keep them: three `Int32`s. A cell counts the episodes (or
/// intervals) of one unit, month and code, so its sums stay far below 2^31; should one ever pass it,
/// the rebuild stops with that message rather than store a wrong number.
struct CompactCounts: Sendable {
    var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0

    var counts: Counts { Counts(Int64(a), Int64(b), Int64(c)) }

    @inline(__always) static func + (l: CompactCounts, r: Counts) -> CompactCounts {
        CompactCounts(a: add(l.a, r.a), b: add(l.b, r.b), c: add(l.c, r.c))
    }
    @inline(__always) private static func add(_ x: Int32, _ y: Int64) -> Int32 {
        let sum = Int64(x) + y
        guard let v = Int32(exactly: sum) else { preconditionFailure("a counter cell's sum \(sum) does not fit 32 bits") }
        return v
    }
}

/// Sums of counter cells in an open-addressing table keyed by the cell's two integers, hashed with
/// a multiply-xorshift instead of `Hasher`'s SipHash: a rebuild of the quality counters makes tens
/// of millions of additions into a few hundred thousand cells, and with `Dictionary` the hashing
/// alone cost more than computing the contributions. Not thread-safe: one table per worker.
final class CellSums: @unchecked Sendable {
    /// 32 bytes: the sums as `Int32`s (see ``CompactCounts``), so more of the table stays in cache.
    struct Slot {
        var group: UInt64   // UInt64.max: empty (no cell has both names -1)
        var code: UInt64
        var sum: CompactCounts
    }
    private var slots: UnsafeMutablePointer<Slot>
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 12) {
        var n = 16
        while n * 7 < capacity * 10 { n <<= 1 }
        slots = LargeMemory.allocate(Slot.self, count: n, initializedTo: Slot(group: .max, code: 0, sum: CompactCounts()))
        mask = n - 1
    }
    deinit { LargeMemory.deallocate(slots) }

    @inline(__always) private static func hash(_ group: UInt64, _ code: UInt64) -> Int {
        var h = (group &* 0x9E37_79B9_7F4A_7C15) ^ code
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }

    @inline(__always) func add(_ cell: Cell, _ amounts: Counts) {
        var i = CellSums.hash(cell.group, cell.code) & mask
        while true {
            let s = slots[i]
            if s.group == .max {
                slots[i] = Slot(group: cell.group, code: cell.code, sum: CompactCounts() + amounts)
                count += 1
                // Linear probing stays short up to 70 % full, and the table stays small enough to
                // live in the last-level cache for longer.
                if count * 10 > (mask + 1) * 7 { grow() }
                return
            }
            if s.group == cell.group && s.code == cell.code {
                slots[i].sum = s.sum + amounts
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Adds one episode's cells. Their slots are looked at first, all together: the loads do not
    /// depend on each other, so the processor fetches the (mostly uncached) slots in parallel, and
    /// the additions that follow find them in cache. In a table of a million cells this is several
    /// times faster than adding them one by one, each waiting for its own miss.
    func add(batch: UnsafeBufferPointer<(cell: Cell, amounts: Counts)>) {
        var touched: UInt64 = 0
        for e in batch { touched &+= slots[CellSums.hash(e.cell.group, e.cell.code) & mask].code }
        sink = touched
        for e in batch { add(e.cell, e.amounts) }
    }
    /// Keeps the loads above from being optimised away (a table is used by one thread at a time).
    private var sink: UInt64 = 0

    private func grow() {
        let old = slots, oldSize = mask + 1
        let n = oldSize * 2
        slots = LargeMemory.allocate(Slot.self, count: n, initializedTo: Slot(group: .max, code: 0, sum: CompactCounts()))
        mask = n - 1
        for k in 0..<oldSize where old[k].group != .max {
            var i = CellSums.hash(old[k].group, old[k].code) & mask
            while slots[i].group != .max { i = (i + 1) & mask }
            slots[i] = old[k]
        }
        LargeMemory.deallocate(old)
    }

    func merge(_ other: CellSums) {
        other.forEach { add($0, $1) }
    }

    /// The live slots as they are stored (for the rebuild's ordering, which keeps the compact sums).
    func forEachSlot(_ body: (_ group: UInt64, _ code: UInt64, _ sum: CompactCounts) throws -> Void) rethrows {
        for k in 0...mask where slots[k].group != .max { try body(slots[k].group, slots[k].code, slots[k].sum) }
    }

    func forEach(_ body: (Cell, Counts) throws -> Void) rethrows {
        for k in 0...mask where slots[k].group != .max {
            var cell = Cell(first: 0, second: 0, code: slots[k].code)
            cell.group = slots[k].group
            try body(cell, slots[k].sum.counts)
        }
    }
}
