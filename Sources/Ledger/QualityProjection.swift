import Deadlines
import EventLog
import LMDB
import Pathway
import Quality

/// The quality views: KvaRus/NPR-style indicator counters, summed over episodes (see
/// ``QualityCounters`` and docs/indicators.md). Additive, so an episode's change subtracts its old
/// contribution and adds its new one, and a rebuild gives the same sums in any order.
public struct QualityProjection: CellProjection {
    public let name = "quality"
    public let databases = ["counters"]
    /// Encoding version 2 (key layout 2: the period before the indicator; see `CounterKey`), with
    /// the rule book (see ``rulesSchemaVersion(_:encoding:rules:)``): a store of layout 1 rebuilds
    /// the projection when it opens.
    public let schemaVersion: UInt32
    public var isAdditive: Bool { true }
    public let rules: RuleBook
    public init(rules: RuleBook = RuleBook.bundled) {
        self.rules = rules
        schemaVersion = rulesSchemaVersion("quality", encoding: 2, rules: rules)
    }

    public func records(for s: EpisodeSnapshot, into sink: inout RecordSink) {
        QualityCounters.contributions(marks: s.marks, symbols: s.symbols, rules: rules) { key, a, b, c in
            sink.put(database: 0, key: key, value: Counts(a, b, c).bytes)
        }
    }

    public func cells(for s: EpisodeSnapshot, emit: (Cell, Counts) -> Void) {
        let m = s.derived.milestones
        QualityCounters.cells(milestones: m, timers: m.count > 0 ? s.derived.timers(rules: rules) : []) { institution, unit, code, a, b, c in
            emit(Cell(first: institution, second: unit, code: code), Counts(a, b, c))
        }
    }

    public func key(of cell: Cell, symbols: SymbolTable) -> [UInt8] {
        QualityCounters.key(code: cell.code, institution: symbols.nameBytes(cell.first), unit: symbols.nameBytes(cell.second))
    }

    /// A key is family byte ‖ names ‖ the rest of the code, and the names are length-prefixed (no
    /// names segment is a prefix of another). So key order is (family, the names' byte order, code):
    /// the groups ranked by their names once, and each cell's order is (family, rank) then its code.
    public func rankGroups(_ groups: [UInt64], symbols: SymbolTable) -> [(group: UInt64, names: [UInt8])] {
        groups.map { g -> (group: UInt64, names: [UInt8]) in
            var c = Cell(first: 0, second: 0, code: 0)
            c.group = g
            return (g, QualityCounters.names(institution: symbols.nameBytes(c.first), unit: symbols.nameBytes(c.second)))
        }.sorted { $0.names.lexicographicallyPrecedes($1.names) }
    }

    /// Buckets are (family byte, group rank): the key's first byte, then its names.
    public func bucketCount(groups: Int) -> Int { 256 * Swift.max(1, groups) }
    @inline(__always) public func bucket(code: UInt64, rank: UInt32, groups: Int) -> Int { Int(code >> 56) * groups + Int(rank) }

    @inline(__always) public func writeKey(code: UInt64, names: [UInt8], into buffer: UnsafeMutableRawBufferPointer) -> Int {
        QualityCounters.writeKey(code: code, names: names, into: buffer)
    }
}

extension Ledger {
    /// Visits the maintained quality counters in key order, in place (key bytes valid during the
    /// call only), inside one short read transaction.
    public func forEachQualityCounter(_ visit: QualityTable.CounterVisitor) throws {
        try views.read { txn in try forEachQualityCounter(in: txn, visit) }
    }

    /// The same, inside the caller's read transaction (so other reads see the same snapshot).
    func forEachQualityCounter<T: Transaction & ~Copyable>(in txn: borrowing T, _ visit: QualityTable.CounterVisitor) throws {
        let db = try engine.activeDatabases(named: "quality", in: txn)[0]
        try txn.withCursor(db) { c in
            var e = try c.first()
            while let (k, v) = e {
                guard v.count == 24 else { throw LedgerError.damagedProjection("quality", episode: "-") }
                visit(k, Int64(bigEndian: v.loadUnaligned(as: Int64.self)),
                      Int64(bigEndian: v.loadUnaligned(fromByteOffset: 8, as: Int64.self)),
                      Int64(bigEndian: v.loadUnaligned(fromByteOffset: 16, as: Int64.self)))
                e = try c.next()
            }
        }
    }

    /// The indicator rows from the maintained projection (counters read in place).
    public func qualityRows(_ query: QualityQuery) throws -> [IndicatorRow] {
        try QualityTable.rows(query: query) { visit in try forEachQualityCounter(visit) }
    }

    /// The maintained quality counters, in key order.
    public func qualityCounters() throws -> [QualityTable.Counter] {
        var out: [QualityTable.Counter] = []
        try forEachQualityCounter { k, a, b, c in out.append((Array(k), a, b, c)) }
        return out
    }

    /// The maintained counters, or — given an instant — the counters as they stood then.
    public func qualityCounters(knownAt: Instant?) throws -> [QualityTable.Counter] {
        if let k = knownAt { return try qualityCounters(knownAt: k) }
        return try qualityCounters()
    }

    /// The quality counters as they stood at `knownAt`: a fold of only the events recorded by then
    /// (their recordedAt, else their append instant), computed on demand.
    public func qualityCounters(knownAt: Instant, rules: RuleBook = RuleBook.bundled) throws -> [QualityTable.Counter] {
        try qualityCounters(of: foldKnownAt(knownAt), rules: rules)
    }

    /// A fold of only the events known at `knownAt`: recorded at or before it (their recordedAt,
    /// else their append instant) — the filter `Ledger.view(of:events:knownAt:…)` applies to one episode.
    func foldKnownAt(_ knownAt: Instant) throws -> ProjectionEngine.Fold {
        var fold = ProjectionEngine.Fold()
        try engine.fold(into: &fold) { recordedAt, appendedAt in
            let r = recordedAt.isEmpty ? appendedAt : recordedAt
            guard let i = Instant(utf8: r) else { return true }
            return i <= knownAt
        }
        return fold
    }

    /// The quality counters of a fold's episodes.
    func qualityCounters(of fold: ProjectionEngine.Fold, rules: RuleBook) throws -> [QualityTable.Counter] {
        // The rebuild's path — cells summed on every core, keys made once — when the rules are the
        // maintained projection's (they are, unless a caller asks for another rule book).
        if let q = engine.projection(named: "quality"), let projection = engine.projections[q] as? QualityProjection,
           projection.rules == rules {
            var out: [QualityTable.Counter] = []
            try engine.forEachRecord(of: [q], fold: fold) { _, _, key, value in
                guard let c = Counts(bytes: value) else { return }
                out.append((Array(key), c.a, c.b, c.c))
            }
            return out
        }
        var sums: [[UInt8]: Counts] = [:]
        for i in 0..<fold.episodeCount {
            QualityCounters.contributions(marks: fold.history(i).marks, symbols: fold.symbols, rules: rules) { k, a, b, c in
                sums[k, default: .zero] = sums[k, default: .zero] + Counts(a, b, c)
            }
        }
        return sums.filter { !$0.value.isZero }.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { ($0.key, $0.value.a, $0.value.b, $0.value.c) }
    }

    /// The (institution, unit) pairs the maintained quality counters name, sorted: every place an
    /// episode that opened belongs to, i.e. the groups an indicator cell can be about.
    public func qualityUnits() throws -> [(institution: String, unit: String)] {
        try QualityTable.units { visit in try forEachQualityCounter(visit) }
    }

    /// The episodes behind one indicator cell: those counted in its denominator, and in its
    /// numerator (episode ids in byte order), and — when `minCell` is over 0, to tell whether the
    /// cell is suppressed — the table's rows for it (see ``QualityExplanation/rows``). With
    /// `knownAt`, all as they stood at that instant: each episode's history and the counters folded
    /// from only the events recorded by then (their recordedAt, else their append instant), as
    /// ``qualityCounters(knownAt:)`` does.
    public func explainQuality(indicator: String, period: String, group: String, variant: String,
                               by: Grouping? = nil, institution: String? = nil, knownAt: Instant? = nil,
                               minCell: Int = 0, rules: RuleBook = RuleBook.bundled) throws -> QualityExplanation {
        var den: [String] = [], num: [String] = []
        func explain(_ marks: [Mark], _ symbols: SymbolTable, _ episode: () -> String) {
            let r = QualityTable.explain(marks: marks, symbols: symbols, rules: rules, indicator: indicator,
                                         period: period, group: group, variant: variant, by: by, institution: institution)
            guard r.inDenominator || r.inNumerator else { return }
            let e = episode()
            if r.inDenominator { den.append(e) }
            if r.inNumerator { num.append(e) }
        }
        let query = QualityQuery(period: period, by: by, indicator: indicator, minCell: minCell)
        var rows: [IndicatorRow] = []
        if let k = knownAt {
            let fold = try foldKnownAt(k)
            for i in fold.episodeOrder() {
                explain(fold.history(i).marks, fold.symbols) { fold.episodes.name(Int32(i + 1)) }
            }
            if minCell > 0 { rows = QualityTable.rows(counters: try qualityCounters(of: fold, rules: rules), query: query) }
        } else {
            try views.read { txn in
                let db = try engine.activeDatabases(named: "history", in: txn)[0]
                // One name table for all episodes (names are interned once, as in a fold), not one
                // table — five allocations — per episode.
                let symbols = SymbolTable()
                try txn.withCursor(db) { c in
                    var e = try c.first()
                    while let (k, v) = e {
                        guard v.count >= 16, let h = HistoryCodec.decode(UnsafeRawBufferPointer(rebasing: v[16...]), symbols: symbols) else {
                            throw LedgerError.damagedProjection("history", episode: String(decoding: k, as: UTF8.self))
                        }
                        explain(h.marks, symbols) { String(decoding: k, as: UTF8.self) }
                        e = try c.next()
                    }
                }
                // The suppression rows from the same snapshot as the episodes listed.
                if minCell > 0 { rows = try QualityTable.rows(query: query) { visit in try forEachQualityCounter(in: txn, visit) } }
            }
        }
        let cellRows = rows.filter { r in
            r.group == group && r.variant == variant && (institution == nil || r.by != .unit || r.institution == institution)
        }
        return QualityExplanation(denominator: den, numerator: num, rows: cellRows)
    }
}

/// What ``Ledger/explainQuality(indicator:period:group:variant:by:institution:knownAt:minCell:rules:)`` found.
public struct QualityExplanation: Sendable {
    /// The episodes counted in the cell's denominator, and in its numerator.
    public var denominator: [String]
    public var numerator: [String]
    /// The indicator table's rows `group` names for this indicator, period and variant (one per
    /// level it names — an institution, a unit in each institution that has it, or the nation —
    /// narrowed by `by` and `institution`), as the table shows them with the same `minCell`; empty
    /// when `minCell` is 0 (nothing is suppressed then, and the counters need not be read).
    public var rows: [IndicatorRow]

    /// Whether listing the episodes would show what `--min-cell` hides: some row the group names is
    /// suppressed, or there are fewer episodes than `minCell` (for `evaluation-interval-kept`, whose
    /// rows count intervals, more than one may belong to an episode).
    public func suppressed(minCell: Int) -> Bool {
        guard minCell > 0, !denominator.isEmpty else { return false }
        return denominator.count < minCell || rows.contains { $0.suppressed }
    }
}
