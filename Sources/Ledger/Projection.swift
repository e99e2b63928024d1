import Deadlines
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

/// Where a projection writes its records for one episode.
public struct RecordSink {
    public struct Record: Equatable, Sendable {
        public var database: Int
        public var key: [UInt8]
        public var value: [UInt8]
    }
    public var records: [Record] = []
    public init() {}
    public mutating func put(database: Int = 0, key: [UInt8], value: [UInt8]) {
        records.append(Record(database: database, key: key, value: value))
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

/// An additive projection whose contributions are *cells*: a group (two interned names) and a code
/// (an integer standing for the rest of the key). The engine sums cells on these fixed-width
/// integers — no key bytes, no value bytes per contribution — and asks for each distinct cell's key
/// once. `records(for:into:)` must give the same keys and amounts; the engine uses it nowhere on its
/// hot paths, and tests compare the two.
public protocol CellProjection: EpisodeProjection {
    func cells(for snapshot: EpisodeSnapshot, emit: (_ cell: Cell, _ amounts: Counts) -> Void)
    /// The key bytes of a cell (database 0).
    func key(of cell: Cell, symbols: SymbolTable) -> [UInt8]
    /// Calls `body` with each cell's index and key bytes, in the byte order of the keys (the order
    /// `MDB_APPEND` needs), ideally without comparing key bytes or rebuilding the names for every
    /// cell: a rebuild orders hundreds of thousands of cells.
    func forEachKeyInOrder(of cells: [Cell], symbols: SymbolTable, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows
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
    public var bytes: [UInt8] {
        var out = [UInt8](); out.reserveCapacity(24)
        for v in [a, b, c] { withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) } }
        return out
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

/// Sums of counter cells in an open-addressing table keyed by the cell's two integers, hashed with
/// a multiply-xorshift instead of `Hasher`'s SipHash: a rebuild of the quality counters makes tens
/// of millions of additions into a few hundred thousand cells, and with `Dictionary` the hashing
/// alone cost more than computing the contributions. Not thread-safe: one table per worker.
final class CellSums: @unchecked Sendable {
    struct Slot {
        var group: UInt64   // UInt64.max: empty (no cell has both names -1)
        var code: UInt64
        var sum: Counts
    }
    private var slots: UnsafeMutablePointer<Slot>
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 12) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = .allocate(capacity: n)
        slots.initialize(repeating: Slot(group: .max, code: 0, sum: .zero), count: n)
        mask = n - 1
    }
    deinit { slots.deallocate() }

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
                slots[i] = Slot(group: cell.group, code: cell.code, sum: amounts)
                count += 1
                if count * 2 > mask { grow() }
                return
            }
            if s.group == cell.group && s.code == cell.code {
                slots[i].sum = s.sum + amounts
                return
            }
            i = (i + 1) & mask
        }
    }

    private func grow() {
        let old = slots, oldSize = mask + 1
        let n = oldSize * 2
        slots = .allocate(capacity: n)
        slots.initialize(repeating: Slot(group: .max, code: 0, sum: .zero), count: n)
        mask = n - 1
        for k in 0..<oldSize where old[k].group != .max {
            var i = CellSums.hash(old[k].group, old[k].code) & mask
            while slots[i].group != .max { i = (i + 1) & mask }
            slots[i] = old[k]
        }
        old.deallocate()
    }

    func merge(_ other: CellSums) {
        other.forEach { add($0, $1) }
    }

    func forEach(_ body: (Cell, Counts) throws -> Void) rethrows {
        for k in 0...mask where slots[k].group != .max {
            var cell = Cell(first: 0, second: 0, code: slots[k].code)
            cell.group = slots[k].group
            try body(cell, slots[k].sum)
        }
    }
}
