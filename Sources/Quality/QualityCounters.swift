import Pathway
import Deadlines

/// The quality views as an additive counter projection: each episode contributes amounts to
/// counter keys, the store sums them over all episodes, and ``QualityTable`` reads the sums.
///
/// Every stored number is a sum over episodes, so an incremental update (subtract the episode's
/// old contributions, add its new ones) gives the same counters as a rebuild. The keys hold the
/// finest grain only — calendar month × (institution, unit) — and the table rolls months up to
/// tertials and years and units up to institutions and the nation when it is read: an episode
/// belongs to exactly one institution and unit (those of its start), and each counted event falls
/// in exactly one month. `patient-postponed` ("open at some time in the period") is not a sum over
/// months, so it is kept as month counts of episodes opening and closing (open in a period =
/// opened on or before its last month − closed before its first month) plus explicit month,
/// tertial and year counts of episodes with an L in the period. The key layout is in
/// `docs/indicators.md`.
public enum QualityCounters {
    /// The first byte of every key ``QualityTable/rows(counters:query:)`` reads: a store can pass
    /// just the keys starting with it.
    public static let indicatorKeyPrefix: UInt8 = CounterKey.indicatorFamily
    /// The first byte of the distribution keys. ``QualityTable/distributions(counters:query:)`` reads
    /// these and the end-outcome cells among the indicator keys: hand it every key.
    public static let distributionKeyPrefix: UInt8 = CounterKey.distributionFamily
    /// Pathway times are counted per whole day up to this; longer ones count as this many days.
    public static let maxDays = 400

    /// Emits this episode's contributions. Pure: depends only on the arguments. Keys are
    /// deterministic bytes with the institution and unit names as UTF-8 text; each key is emitted
    /// at most once, in ascending byte order; amounts are never all zero.
    ///
    /// - Parameters:
    ///   - marks: the corrected history in place order (`EpisodeHistory.marks`).
    ///   - symbols: the table the marks' names were interned in.
    ///   - rules: the pathway-time rule versions (the same book the deadline projection uses).
    public static func contributions(marks: [Mark], symbols: SymbolTable, rules: RuleBook,
                                     emit: (_ key: [UInt8], _ a: Int64, _ b: Int64, _ c: Int64) -> Void) {
        rawContributions(marks: marks, symbols: symbols, rules: rules) { key, a, b, c in emit(Array(key), a, b, c) }
    }

    /// The same contributions with each key lent as raw bytes, valid only during the call: no
    /// allocation per key, for a store that copies the key into its own buffer anyway.
    public static func rawContributions(marks: [Mark], symbols: SymbolTable, rules: RuleBook,
                                        emit: (_ key: UnsafeRawBufferPointer, _ a: Int64, _ b: Int64, _ c: Int64) -> Void) {
        var names: [UInt8] = []
        var buffer: [UInt8] = []
        cells(marks: marks, rules: rules) { institution, unit, code, a, b, c in
            if names.isEmpty {
                names = CounterKey.names(institution: symbols.nameBytes(institution), unit: symbols.nameBytes(unit))
                buffer = [UInt8](repeating: 0, count: names.count + 8)
            }
            buffer.withUnsafeMutableBytes { key in
                let count = CounterKey.write(code, names: names, into: key)
                emit(UnsafeRawBufferPointer(rebasing: key[0..<count]), a, b, c)
            }
        }
    }

    /// The key bytes of a cell: its code (see ``cells(marks:rules:emit:)``) with the names of the
    /// episode's institution and unit.
    public static func key(code: UInt64, institution: [UInt8], unit: [UInt8]) -> [UInt8] {
        let names = CounterKey.names(institution: institution, unit: unit)
        var buffer = [UInt8](repeating: 0, count: names.count + 8)
        let count = buffer.withUnsafeMutableBytes { CounterKey.write(code, names: names, into: $0) }
        buffer.removeLast(buffer.count - count)
        return buffer
    }

    /// The names part of a key (institution and unit, length-prefixed), for ``writeKey(code:names:into:)``.
    public static func names(institution: [UInt8], unit: [UInt8]) -> [UInt8] {
        CounterKey.names(institution: institution, unit: unit)
    }

    /// Writes the key of a cell with these names into `buffer` (at least `names.count + 8` bytes);
    /// returns its length.
    public static func writeKey(code: UInt64, names: [UInt8], into buffer: UnsafeMutableRawBufferPointer) -> Int {
        CounterKey.write(code, names: names, into: buffer)
    }

    /// The contributions as cells: the episode's institution and unit (interned) and a code that
    /// stands for the rest of the key — an integer whose order is the key's byte order for equal
    /// names. Summing cells on integers and making each distinct key's bytes once is what keeps a
    /// rebuild of the counters cheap. Cells come summed, in code order, never all zero.
    public static func cells(marks: [Mark], rules: RuleBook,
                             emit: (_ institution: Int32, _ unit: Int32, _ code: UInt64, _ a: Int64, _ b: Int64, _ c: Int64) -> Void) {
        cells(EpisodeFacts(marks: marks, rules: rules), emit: emit)
    }

    /// The same cells from the episode's milestones and their timers (`Deadlines.timers(for:rules:)`),
    /// when a caller has them already.
    public static func cells(milestones: Milestones, timers: [Deadlines.Timer],
                             emit: (_ institution: Int32, _ unit: Int32, _ code: UInt64, _ a: Int64, _ b: Int64, _ c: Int64) -> Void) {
        cells(EpisodeFacts(milestones: milestones, timers: timers), emit: emit)
    }

    static func cells(_ f: EpisodeFacts,
                      emit: (_ institution: Int32, _ unit: Int32, _ code: UInt64, _ a: Int64, _ b: Int64, _ c: Int64) -> Void) {
        guard let from = f.openFrom else { return }
        // At most this many entries; they live on the stack.
        let bound = 2 * f.items.count + 2 + 3 * f.postponements.count + 3 + f.decisions.count + f.pathwayTimes.count
        withUnsafeTemporaryAllocation(of: Entry.self, capacity: bound) { buf in
            var n = 0
            @inline(__always) func add(_ code: UInt64, _ a: Int64, _ b: Int64, _ c: Int64) {
                buf.initializeElement(at: n, to: Entry(code, a, b, c))
                n += 1
            }
            for it in f.items where it.indicator.isTimeIndicator {
                let month = QualityPeriod(monthOf: it.date)
                let num: Int64 = it.inNumerator ? 1 : 0
                add(CounterKey.indicatorCode(it.indicator, .all, month), num, 1, it.postponed ? 1 : 0)
                if it.postponed { add(CounterKey.indicatorCode(it.indicator, .postponed, month), num, 1, 0) }
            }
            // patient-postponed: the month the episode opens (a) and closes (b), and each month,
            // tertial and year with an L (an episode counts once per period however many L it has there).
            add(CounterKey.indicatorCode(.patientPostponed, .open, QualityPeriod(monthOf: from)), 1, 0, 0)
            if let to = f.openTo { add(CounterKey.indicatorCode(.patientPostponed, .open, QualityPeriod(monthOf: to)), 0, 1, 0) }
            let firstL = n
            for l in f.postponements {
                for p in QualityPeriod(monthOf: l).enclosing {
                    let code = CounterKey.indicatorCode(.patientPostponed, .postponement, p)
                    var seen = false
                    for k in firstL..<n where buf[k].code == code { seen = true; break }
                    if !seen { add(code, 1, 0, 0) }
                }
            }

            if let e = f.end {
                let month = QualityPeriod(monthOf: e.date)
                add(CounterKey.endCode(CounterKey.endOutcome, e.outcome, month: month), 1, 0, 0)
                if EpisodeFacts.countsContent(outcome: e.outcome) { add(CounterKey.endCode(CounterKey.endContent, f.endFlags, month: month), 1, 0, 0) }
                if !f.helpNeeds.isEmpty {
                    add(CounterKey.distributionCode(.helpNeed, month: month, category: f.helpNeeds.rawValue), 1, 0, 0)
                }
            }
            for c in f.decisions {
                add(CounterKey.distributionCode(.decisionOutcome, month: QualityPeriod(monthOf: c.date), category: c.outcomes.rawValue), 1, 0, 0)
            }
            for t in f.pathwayTimes {
                add(CounterKey.distributionCode(.pathwayTime, month: QualityPeriod(monthOf: t.date), category: t.kind.rawValue,
                                                days: min(max(t.days, 0), maxDays)), 1, 0, 0)
            }

            // Sum equal cells, then emit in key order (the codes sort as the keys do).
            let used = UnsafeMutableBufferPointer(rebasing: buf[0..<n])
            // An episode has a few dozen entries at most: insertion sort beats the library's merge sort.
            for i in 1..<Swift.max(1, n) {
                let e = used[i]
                var j = i
                while j > 0 && used[j - 1].code > e.code { used[j] = used[j - 1]; j -= 1 }
                used[j] = e
            }
            var i = 0
            while i < n {
                var e = used[i]
                var j = i + 1
                while j < n && used[j].code == e.code { e.a += used[j].a; e.b += used[j].b; e.c += used[j].c; j += 1 }
                if e.a != 0 || e.b != 0 || e.c != 0 { emit(f.institution, f.unit, e.code, e.a, e.b, e.c) }
                i = j
            }
            _ = used.deinitialize()
        }
    }

    struct Entry {
        var code: UInt64
        var a: Int64, b: Int64, c: Int64
        @inline(__always) init(_ code: UInt64, _ a: Int64, _ b: Int64, _ c: Int64) { self.code = code; self.a = a; self.b = b; self.c = c }
    }
}
