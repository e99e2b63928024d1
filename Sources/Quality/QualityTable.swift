import Pathway
import Deadlines

/// Reads the summed counters of ``QualityCounters`` into the indicator table and the distributions,
/// rolling months up to tertials and years and units up to institutions and the nation.
public enum QualityTable {
    public typealias Counter = (key: [UInt8], a: Int64, b: Int64, c: Int64)

    // MARK: - Indicator rows

    /// Builds rows from the stored counters (key bytes + amounts; any order, keys of other families
    /// are skipped). Rows come in (indicator, period, by, group, variant) order, each compared
    /// byte-wise; a unit id shared by two institutions gives two rows, ordered by institution. Cells
    /// with denominator 0 are left out. Periods are those the counters have data in (every month
    /// with a counted event, an episode opening or closing, or an L, and the tertials and years
    /// holding them).
    public static func rows(counters: [Counter], query: QualityQuery) -> [IndicatorRow] {
        rows(query: query) { visit in
            for c in counters { c.key.withUnsafeBytes { visit($0, c.a, c.b, c.c) } }
        }
    }

    /// Visits counters one by one: key bytes (valid during the call only) and the three amounts.
    public typealias CounterVisitor = (_ key: UnsafeRawBufferPointer, _ a: Int64, _ b: Int64, _ c: Int64) -> Void

    /// The same rows, reading the counters straight from their source (`counters` calls the visitor
    /// once per counter): no array per key, so the maintained projection's counters can be read in
    /// place from the store.
    public static func rows(query: QualityQuery, counters: (CounterVisitor) throws -> Void) rethrows -> [IndicatorRow] {
        var wantedIndicator: QualityIndicator? = nil
        if let id = query.indicator {
            guard let i = QualityIndicator(id: id) else { return [] }
            wantedIndicator = i
        }
        var wantedPeriod: QualityPeriod? = nil
        if let p = query.period {
            guard let q = QualityPeriod(p) else { return [] }
            wantedPeriod = q
        }

        // Pass 1: decode the keys into compact records and learn the units and months.
        var cat = Catalog()
        var recs: [IndicatorRecord] = []
        try counters { raw, a, b, c in
            let k = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            guard k.count > 0, k[0] == CounterKey.indicatorFamily, let (u, end) = cat.unit(of: k),
                  k.count == end + CounterKey.indicatorTail else { return }
            let year = Int(k[end]) << 8 | Int(k[end + 1])
            if k[end + 4] == CounterKey.endCell {
                // Ended episodes by outcome, or by content flags: expanded into the X-dated indicators below.
                let kind = k[end + 5]
                guard kind == CounterKey.endOutcome || kind == CounterKey.endContent else { return }
                if let w = wantedIndicator {
                    let wantsOutcome = w == .endedByAgreement || w == .dropout
                    let wantsContent = w == .informedOfOptions || w == .involvedInPlan || w == .feedbackToGP || w == .feedbackToolUsed
                    guard kind == CounterKey.endOutcome ? wantsOutcome : wantsContent else { return }
                }
                let pi = cat.period(.month(year, Int(k[end + 3])))
                recs.append(IndicatorRecord(unit: Int32(u), indicator: CounterKey.endCell, part: kind, value: k[end + 6],
                                            period: Int32(pi), a: a, b: b, c: c))
                return
            }
            guard let ind = QualityIndicator(rawValue: k[end + 4]), let part = CounterKey.Part(rawValue: k[end + 5]),
                  let kind = QualityPeriod.Kind(rawValue: k[end + 2]) else { return }
            if let w = wantedIndicator, w != ind { return }
            let pi = cat.period(QualityPeriod(kind: kind, year: year, index: Int(k[end + 3])))
            recs.append(IndicatorRecord(unit: Int32(u), indicator: ind.rawValue, part: part.rawValue, value: 0, period: Int32(pi),
                                        a: a, b: b, c: c))
        }
        let layout = cat.layout(wantedPeriod: wantedPeriod, wantedBy: query.by)
        let P = layout.periods.count, G = layout.groupCount, I = QualityIndicator.allCases.count
        let M = layout.months.count, U = cat.units.count
        guard P > 0 else { return [] }

        // Pass 2: sum into month × unit cells of five amounts: numerator, denominator, postponed,
        // postponed numerator, postponed denominator.
        var monthly = [Int64](repeating: 0, count: I * U * M * 5)
        // patient-postponed: openings and closings per unit and month; L counts per unit and period.
        var opens = [Int64](repeating: 0, count: U * M), closes = [Int64](repeating: 0, count: U * M)
        var postponements = [Int64](repeating: 0, count: U * P)
        for r in recs {
            let u = Int(r.unit)
            if r.part == CounterKey.Part.postponement.rawValue && r.indicator == QualityIndicator.patientPostponed.rawValue {
                postponements[u * P + Int(r.period)] &+= r.a
                continue
            }
            let m = layout.monthSlot[Int(r.period)]
            guard m >= 0 else { continue }
            if r.indicator == CounterKey.endCell {
                // At most four (indicator, in numerator) pairs, expanded without a closure.
                var expanded: (QualityIndicator, Bool, QualityIndicator, Bool, QualityIndicator, Bool, QualityIndicator, Bool)
                    = (.dropout, false, .dropout, false, .dropout, false, .dropout, false)
                var count = 0
                func put(_ ind: QualityIndicator, _ num: Bool) {
                    switch count {
                    case 0: expanded.0 = ind; expanded.1 = num
                    case 1: expanded.2 = ind; expanded.3 = num
                    case 2: expanded.4 = ind; expanded.5 = num
                    default: expanded.6 = ind; expanded.7 = num
                    }
                    count += 1
                }
                if r.part == CounterKey.endOutcome { EpisodeFacts.outcomeItems(outcome: r.value, put) } else { EpisodeFacts.contentItems(flags: r.value, put) }
                for k in 0..<count {
                    let (ind, num) = k == 0 ? (expanded.0, expanded.1) : k == 1 ? (expanded.2, expanded.3) : k == 2 ? (expanded.4, expanded.5) : (expanded.6, expanded.7)
                    if let w = wantedIndicator, w != ind { continue }
                    let i = ((Int(ind.rawValue - 1) * U + u) * M + m) * 5
                    if num { monthly[i] &+= r.a }
                    monthly[i + 1] &+= r.a
                }
                continue
            }
            let i = ((Int(r.indicator - 1) * U + u) * M + m) * 5
            switch r.part {
            case CounterKey.Part.all.rawValue:
                monthly[i] &+= r.a; monthly[i + 1] &+= r.b; monthly[i + 2] &+= r.c
            case CounterKey.Part.postponed.rawValue:
                monthly[i + 3] &+= r.a; monthly[i + 4] &+= r.b
            case CounterKey.Part.open.rawValue:
                opens[u * M + m] &+= r.a; closes[u * M + m] &+= r.b
            default:
                break
            }
        }

        // Pass 3: roll months up to the wanted periods and units up to the wanted groups.
        var cells = [Int64](repeating: 0, count: I * P * G * 5)
        let groupsOfUnit = layout.groupsOfUnit
        let monthTargets = layout.months.map { layout.targets[$0] }
        for ind in 0..<I {
            for u in 0..<U {
                let gs = groupsOfUnit[u]
                if gs.isEmpty { continue }
                for m in 0..<M {
                    let i = ((ind * U + u) * M + m) * 5
                    let v0 = monthly[i], v1 = monthly[i + 1], v2 = monthly[i + 2], v3 = monthly[i + 3], v4 = monthly[i + 4]
                    if v0 == 0 && v1 == 0 && v2 == 0 && v3 == 0 && v4 == 0 { continue }
                    for t in monthTargets[m] {
                        for g in gs {
                            let o = ((ind * P + t) * G + g) * 5
                            cells[o] &+= v0; cells[o + 1] &+= v1; cells[o + 2] &+= v2; cells[o + 3] &+= v3; cells[o + 4] &+= v4
                        }
                    }
                }
            }
        }
        let pp = Int(QualityIndicator.patientPostponed.rawValue - 1)
        if wantedIndicator == nil || wantedIndicator == .patientPostponed {
            // Numerators: episodes with an L in the period, counted per period explicitly.
            for u in 0..<U {
                for t in 0..<P where postponements[u * P + t] != 0 && layout.periodWanted[t] {
                    for g in groupsOfUnit[u] { cells[((pp * P + t) * G + g) * 5] &+= postponements[u * P + t] }
                }
            }
            // Denominators: open in a period = opened in a month up to its last month − closed in a
            // month before its first.
            var groupOpens = [Int64](repeating: 0, count: G * M), groupCloses = [Int64](repeating: 0, count: G * M)
            for u in 0..<U {
                for g in groupsOfUnit[u] {
                    for m in 0..<M { groupOpens[g * M + m] &+= opens[u * M + m]; groupCloses[g * M + m] &+= closes[u * M + m] }
                }
            }
            var cumOpen = [Int64](repeating: 0, count: M + 1), cumClose = [Int64](repeating: 0, count: M + 1)
            for g in 0..<G where layout.groupWanted[g] {
                for m in 0..<M { cumOpen[m + 1] = cumOpen[m] &+ groupOpens[g * M + m]; cumClose[m + 1] = cumClose[m] &+ groupCloses[g * M + m] }
                for t in 0..<P where layout.periodWanted[t] {
                    cells[((pp * P + t) * G + g) * 5 + 1] = cumOpen[layout.monthsUpToLast[t]] &- cumClose[layout.monthsBeforeFirst[t]]
                }
            }
        }

        // Emit in row order.
        var out: [IndicatorRow] = []
        var estimate = 0
        for i in stride(from: 1, to: cells.count, by: 5) where cells[i] > 0 { estimate += 2 }
        out.reserveCapacity(estimate)
        let minCell = Int64(query.minCell)
        let periodOrder = layout.periodOrder, periodWanted = layout.periodWanted, periodNames = layout.periodNames
        let groupOrder = layout.groupOrder, groupNames = layout.groupNames
        for ind in QualityIndicator.inRowOrder {
            if let w = wantedIndicator, w != ind { continue }
            let base = Int(ind.rawValue - 1) * P
            for t in periodOrder where periodWanted[t] {
                let period = periodNames[t]
                for (by, groups) in groupOrder {
                    for g in groups {
                        let i = ((base + t) * G + g) * 5
                        let num = cells[i], den = cells[i + 1]
                        guard den > 0 else { continue }
                        let name = groupNames[g]
                        if ind.isTimeIndicator {
                            out.append(row(ind, period, by, name, "all", num, den, cells[i + 2], minCell))
                            let sden = den - cells[i + 4]
                            if sden > 0 {
                                out.append(row(ind, period, by, name, IndicatorRow.variantServiceCaused, num - cells[i + 3], sden, nil, minCell))
                            }
                        } else {
                            out.append(row(ind, period, by, name, "all", num, den, nil, minCell))
                        }
                    }
                }
            }
        }
        return out
    }

    /// One row. With a minimum cell size, an unsuppressed `all` row still blanks `postponed` when it
    /// is a small count itself or when it would give away the suppressed service-caused denominator
    /// (denominator − postponed): shown only when 0, or when both it and the remainder reach the minimum.
    @inline(__always) static func row(_ ind: QualityIndicator, _ period: String, _ by: Grouping, _ name: (group: String, institution: String?),
                                      _ variant: String, _ num: Int64, _ den: Int64, _ postponed: Int64?, _ minCell: Int64) -> IndicatorRow {
        let suppressed = den < minCell
        var shownPostponed: Int? = nil
        if !suppressed, let p = postponed, p == 0 || (p >= minCell && den - p >= minCell) { shownPostponed = Int(p) }
        return IndicatorRow(indicator: ind.id, period: period, by: by, group: name.group, institution: name.institution, variant: variant,
                            numerator: suppressed ? nil : Int(num), denominator: suppressed ? nil : Int(den),
                            share: suppressed ? nil : Double(num) / Double(den),
                            postponed: shownPostponed, suppressed: suppressed)
    }

    /// The monthly national trend of the time indicators (variant `all`) over the `months` months
    /// ending with the last month of `period`: what the report's trend chart draws.
    public static func trend(counters: [Counter], period: String, months: Int = 12, minCell: Int = 0) -> [IndicatorRow] {
        guard let p = QualityPeriod(period) else { return [] }
        let last = p.lastMonthIndex, first = last - months + 1
        var out: [IndicatorRow] = []
        for r in rows(counters: counters, query: QualityQuery(by: .national, minCell: minCell)) {
            guard r.variant == IndicatorRow.variantAll, let q = QualityPeriod(r.period), q.kind == .month,
                  q.firstMonthIndex >= first, q.firstMonthIndex <= last,
                  QualityIndicator(id: r.indicator)?.isTimeIndicator == true else { continue }
            out.append(r)
        }
        return out
    }

    // MARK: - Distributions

    /// Distributions per period and group: end outcomes (9326, per ended episode), help needs at the
    /// end (9328, per ended episode with H; an episode counts once per letter), decision outcomes
    /// (9323, per clinical decision, once per letter), and the median, 75th and 90th percentile in
    /// days of each pathway time. Rows come in (distribution, period, by, group, category) order, the
    /// categories in code-guide order (timers in pathway order); a cell with no data is left out,
    /// and every category of a cell with data is listed, zeros included. `query.indicator` is ignored.
    public static func distributions(counters: [Counter], query: QualityQuery) -> [DistributionRow] {
        var wantedPeriod: QualityPeriod? = nil
        if let p = query.period {
            guard let q = QualityPeriod(p) else { return [] }
            wantedPeriod = q
        }
        var cat = Catalog()
        var recs: [DistributionRecord] = []
        recs.reserveCapacity(counters.count)
        for c in counters {
            c.key.withUnsafeBufferPointer { k in
                guard k.count > 0, k[0] == CounterKey.distributionFamily || k[0] == CounterKey.indicatorFamily else { return }
                guard let (u, end) = cat.unit(of: k) else { return }
                if k[0] == CounterKey.indicatorFamily {
                    // The end cells by outcome give the end outcomes.
                    guard k.count == end + CounterKey.indicatorTail, k[end + 4] == CounterKey.endCell,
                          k[end + 5] == CounterKey.endOutcome else { return }
                    let year = Int(k[end]) << 8 | Int(k[end + 1])
                    let pi = cat.period(.month(year, Int(k[end + 3])))
                    recs.append(DistributionRecord(unit: Int32(u), family: endOutcomeFamily, category: k[end + 6], days: 0,
                                                   period: Int32(pi), count: c.a))
                    return
                }
                guard k.count >= end + 5, let fam = CounterKey.Family(rawValue: k[end + 3]),
                      k.count == end + CounterKey.distributionTail(fam.rawValue) else { return }
                let year = Int(k[end]) << 8 | Int(k[end + 1])
                var days: UInt16 = 0
                if fam == .pathwayTime { days = UInt16(k[end + 5]) << 8 | UInt16(k[end + 6]) }
                let pi = cat.period(.month(year, Int(k[end + 2])))
                recs.append(DistributionRecord(unit: Int32(u), family: fam.rawValue, category: k[end + 4], days: days,
                                               period: Int32(pi), count: c.a))
            }
        }
        let layout = cat.layout(wantedPeriod: wantedPeriod, wantedBy: query.by)
        let P = layout.periods.count, G = layout.groupCount
        guard P > 0 else { return [] }

        // Outcome counts: (family, category slot) × period × group. Slot 0 is the family's total: ended
        // episodes, ended episodes with H, decisions.
        let families: [(UInt8, String, OutcomeSystem)] = [
            (endOutcomeFamily, "end-outcome", .end), (CounterKey.Family.helpNeed.rawValue, "help-need", .helpNeeded),
            (CounterKey.Family.decisionOutcome.rawValue, "decision-outcome", .decision),
        ]
        let slots = families.map { f in [Character("*")] + f.2.letters }
        let S = slots.map(\.count).max()!
        var counts = [Int64](repeating: 0, count: families.count * S * P * G)
        // The slot of each outcome letter per family, and of each OutcomeSet bit (help needs, decisions).
        let letterSlot: [[Int]] = families.indices.map { f in
            (0..<256).map { b in slots[f].firstIndex(of: Character(Unicode.Scalar(UInt8(b)))) ?? -1 }
        }
        let bitSlot: [[Int]] = families.indices.map { f in
            OutcomeSet.letters.map { letterSlot[f][Int($0)] }
        }
        // Pathway times: packed (days << 40 | count) entries per (timer, period, group).
        let timers = EpisodeFacts.distributedTimers
        var times: [Int: [UInt64]] = [:]
        for r in recs {
            let gs = layout.groupsOfUnit[Int(r.unit)]
            let targets = layout.targets[Int(r.period)]
            if r.family == CounterKey.Family.pathwayTime.rawValue {
                guard let ti = timers.firstIndex(where: { $0.rawValue == r.category }), r.count > 0 else { continue }
                let packed = UInt64(r.days) << 40 | UInt64(r.count)
                for t in targets { for g in gs { times[(ti * P + t) * G + g, default: []].append(packed) } }
                continue
            }
            guard let f = families.firstIndex(where: { $0.0 == r.family }) else { continue }
            var cellSlots: [Int] = [0]
            if f == 0 {
                let s = letterSlot[0][Int(r.category)]
                guard s > 0 else { continue }
                cellSlots.append(s)
            } else {
                for i in 0..<7 where r.category & (1 << i) != 0 && bitSlot[f][i] > 0 { cellSlots.append(bitSlot[f][i]) }
            }
            for t in targets {
                for g in gs {
                    for s in cellSlots { counts[((f * S + s) * P + t) * G + g] &+= r.count }
                }
            }
        }

        var out: [DistributionRow] = []
        let minCell = Int64(query.minCell)
        // Row order: by the distribution's name.
        let order: [(kind: Int, name: String)] = [(2, "decision-outcome"), (0, "end-outcome"), (1, "help-need"), (3, "pathway-time")]
        for (fi, name) in order {
            for t in layout.periodOrder where layout.periodWanted[t] {
                let period = layout.periodNames[t]
                for (by, groups) in layout.groupOrder {
                    for g in groups {
                        let gname = layout.groupNames[g]
                        if fi == 3 {
                            for (ti, kind) in timers.enumerated() {
                                guard var entries = times[(ti * P + t) * G + g] else { continue }
                                entries.sort()
                                var n: Int64 = 0
                                for e in entries { n += Int64(e & 0xff_ffff_ffff) }
                                guard n > 0 else { continue }
                                let suppressed = n < minCell
                                let pc = suppressed ? nil : percentiles(entries, n)
                                out.append(DistributionRow(distribution: name, period: period, by: by, group: gname.group,
                                                           institution: gname.institution, category: kind.name,
                                                           label: timerLabel(kind), count: suppressed ? nil : Int(n),
                                                           total: suppressed ? nil : Int(n), share: nil,
                                                           median: pc?.0, p75: pc?.1, p90: pc?.2, suppressed: suppressed))
                            }
                            continue
                        }
                        let total = counts[((fi * S) * P + t) * G + g]
                        guard total > 0 else { continue }
                        let suppressed = total < minCell
                        let system = families[fi].2
                        for s in 1..<slots[fi].count {
                            let letter = slots[fi][s]
                            let n = counts[((fi * S + s) * P + t) * G + g]
                            out.append(DistributionRow(distribution: name, period: period, by: by, group: gname.group,
                                                       institution: gname.institution, category: String(letter),
                                                       label: system.english(letter), count: suppressed ? nil : Int(n),
                                                       total: suppressed ? nil : Int(total),
                                                       share: suppressed ? nil : Double(n) / Double(total),
                                                       median: nil, p75: nil, p90: nil, suppressed: suppressed))
                        }
                    }
                }
            }
        }
        return out
    }

    /// Nearest-rank percentiles (the smallest day count reached by at least ⌈q·n⌉ intervals) of
    /// sorted packed entries.
    static func percentiles(_ sorted: [UInt64], _ n: Int64) -> (Int, Int, Int) {
        func rank(_ q: Int64) -> Int64 { max(1, (q * n + 99) / 100) }
        let ranks = [rank(50), rank(75), rank(90)]
        var res = [0, 0, 0]
        var seen: Int64 = 0, k = 0
        for e in sorted {
            seen += Int64(e & 0xff_ffff_ffff)
            while k < 3 && seen >= ranks[k] { res[k] = Int(e >> 40); k += 1 }
            if k == 3 { break }
        }
        return (res[0], res[1], res[2])
    }

    static func timerLabel(_ k: Deadlines.Timer.Kind) -> String {
        switch k {
        case .detoxToFirstAttendance: "detox finished → first attendance"
        case .basicAssessment: "first attendance → first decision"
        case .extendedAssessment: "extended-assessment decision → final decision"
        case .totalAssessment: "first attendance → final decision (after CU)"
        case .firstEvaluation: "final decision → first evaluation"
        case .nextEvaluation: "evaluation → next evaluation"
        case .emergencyStart: "emergency assessment → start"
        }
    }

    /// The family byte distributions use internally for end outcomes (read from the end profiles).
    static let endOutcomeFamily: UInt8 = 0x58 // "X"

    // MARK: - Drill-down

    /// The (institution, unit) pairs the counters name (keys of every family), sorted by
    /// institution, then unit: the places cells can be about.
    public static func units(counters: (CounterVisitor) throws -> Void) rethrows -> [(institution: String, unit: String)] {
        var cat = Catalog()
        try counters { raw, _, _, _ in
            let k = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            guard k.count > 0 else { return }
            _ = cat.unit(of: k)
        }
        return cat.units.map { (institution: $0.inst, unit: $0.unit) }
            .sorted { ($0.institution.utf8.lexicographicallyPrecedes($1.institution.utf8))
                || ($0.institution == $1.institution && $0.unit.utf8.lexicographicallyPrecedes($1.unit.utf8)) }
    }

    /// For `--explain INDICATOR --period P --group G`: whether this episode counts in the numerator
    /// and the denominator of that cell. `group` is `national`, an institution id or a unit id; with
    /// `by`, only that level is matched (an id naming both an institution and a unit otherwise
    /// matches either); with `institution`, a unit matches only in that institution (unit ids need
    /// not be unique: pass the row's `institution`). `variant` is `all` or `service-caused`. Scanning
    /// every episode with this lists exactly the episodes behind the cell's numbers (for
    /// `evaluation-interval-kept`, the episodes with at least one interval in the cell).
    public static func explain(marks: [Mark], symbols: SymbolTable, rules: RuleBook, indicator: String, period: String,
                               group: String, variant: String, by: Grouping? = nil,
                               institution: String? = nil) -> (inDenominator: Bool, inNumerator: Bool) {
        guard let ind = QualityIndicator(id: indicator), let p = QualityPeriod(period) else { return (false, false) }
        let serviceCaused = variant == IndicatorRow.variantServiceCaused
        guard variant == IndicatorRow.variantAll || (serviceCaused && ind.isTimeIndicator) else { return (false, false) }
        let f = EpisodeFacts(marks: marks, rules: rules)
        guard f.openFrom != nil else { return (false, false) }
        let inst = symbols.name(f.institution), unit = symbols.name(f.unit)
        let unitMatches = group == unit && (institution == nil || institution == inst)
        let matches: Bool
        switch by {
        case .national: matches = group == "national"
        case .institution: matches = group == inst
        case .unit: matches = unitMatches
        case nil: matches = group == "national" || group == inst || unitMatches
        }
        guard matches else { return (false, false) }
        if ind == .patientPostponed {
            guard f.isOpen(in: p) else { return (false, false) }
            return (true, f.postponements.contains { p.contains($0) })
        }
        var den = false, num = false
        for it in f.items where it.indicator == ind && p.contains(it.date) && !(serviceCaused && it.postponed) {
            den = true
            if it.inNumerator { num = true }
        }
        return (den, num)
    }
}

// MARK: - Decoding and roll-up layout

struct IndicatorRecord {
    var unit: Int32
    /// The indicator's raw value, or ``CounterKey/endCell`` (then `part` is the end cell's kind and
    /// `value` its outcome letter or content flags).
    var indicator: UInt8
    var part: UInt8
    var value: UInt8
    var period: Int32
    var a: Int64, b: Int64, c: Int64
}

struct DistributionRecord {
    var unit: Int32
    var family: UInt8
    var category: UInt8
    var days: UInt16
    var period: Int32
    var count: Int64
}

/// The units and periods met while decoding keys.
struct Catalog {
    var units: [(inst: String, unit: String)] = []
    var unitInstitution: [Int] = []
    var institutions: [String] = []
    private var unitIndex: [[UInt8]: Int] = [:]
    private var institutionIndex: [String: Int] = [:]
    private var lastNames: [UInt8] = []
    private var lastUnit = -1
    var periods: [QualityPeriod] = []
    private var periodIndex: [QualityPeriod: Int] = [:]
    private var lastPeriod: QualityPeriod? = nil
    private var lastPeriodSlot = -1

    /// The unit of a key, and the offset after its names.
    mutating func unit(of k: UnsafeBufferPointer<UInt8>) -> (Int, Int)? {
        guard let (ir, ur, end) = CounterKey.skipNames(k) else { return nil }
        let names = UnsafeBufferPointer(rebasing: k[1..<end])
        if lastUnit >= 0 && names.elementsEqual(lastNames) { return (lastUnit, end) }
        lastNames = Array(names)
        if let u = unitIndex[lastNames] { lastUnit = u; return (u, end) }
        let inst = String(decoding: UnsafeBufferPointer(rebasing: k[ir]), as: UTF8.self)
        let unit = String(decoding: UnsafeBufferPointer(rebasing: k[ur]), as: UTF8.self)
        let ii: Int
        if let i = institutionIndex[inst] { ii = i } else {
            ii = institutions.count; institutions.append(inst); institutionIndex[inst] = ii
        }
        let u = units.count
        units.append((inst, unit)); unitInstitution.append(ii); unitIndex[lastNames] = u
        lastUnit = u
        return (u, end)
    }

    mutating func period(_ p: QualityPeriod) -> Int {
        if p == lastPeriod { return lastPeriodSlot }
        let s: Int
        if let i = periodIndex[p] { s = i } else { s = periods.count; periods.append(p); periodIndex[p] = s }
        lastPeriod = p; lastPeriodSlot = s
        return s
    }

    /// Fills the months in between, adds the tertials and years of every month, and works out the
    /// roll-up targets.
    mutating func layout(wantedPeriod: QualityPeriod?, wantedBy: Grouping?) -> Layout {
        // Every month from the first to the last month with data (unless a stray date stretches that
        // over a century: then only the months with data), so an episode open through a month with
        // no events still has its `patient-postponed` row.
        var lo = Int.max, hi = Int.min
        for p in periods where p.kind == .month { lo = min(lo, p.firstMonthIndex); hi = max(hi, p.firstMonthIndex) }
        if lo <= hi && hi - lo < 1200 {
            for m in lo...hi { _ = period(.month(m / 12, m % 12 + 1)) }
        }
        let seen = periods.count
        for i in 0..<seen where periods[i].kind == .month {
            for q in periods[i].enclosing.dropFirst() { _ = period(q) }
        }
        var l = Layout()
        l.periods = periods
        l.periodNames = periods.map(\.description)
        l.periodOrder = Array(periods.indices).sorted { periods[$0] < periods[$1] }
        l.periodWanted = periods.map { wantedPeriod == nil || $0 == wantedPeriod! }
        // Months in order, for "open in the period".
        let monthSlots = periods.indices.filter { periods[$0].kind == .month }.sorted { periods[$0] < periods[$1] }
        l.months = monthSlots
        l.monthSlot = [Int](repeating: -1, count: periods.count)
        for (m, s) in monthSlots.enumerated() { l.monthSlot[s] = m }
        let monthIdx = monthSlots.map { periods[$0].firstMonthIndex }
        func count(_ pred: (Int) -> Bool) -> Int { var n = 0; for m in monthIdx where pred(m) { n += 1 }; return n }
        l.monthsUpToLast = periods.map { p in count { $0 <= p.lastMonthIndex } }
        l.monthsBeforeFirst = periods.map { p in count { $0 < p.firstMonthIndex } }
        l.targets = periods.indices.map { s in
            let p = periods[s]
            guard p.kind == .month else { return l.periodWanted[s] ? [s] : [] }
            return p.enclosing.map { periodIndex[$0]! }.filter { l.periodWanted[$0] }
        }
        l.selfTarget = periods.indices.map { l.periodWanted[$0] ? [$0] : [] }

        // Groups: units, then institutions, then the nation.
        let U = units.count, I = institutions.count
        l.groupCount = U + I + 1
        let wants: (Grouping) -> Bool = { wantedBy == nil || wantedBy == $0 }
        l.groupWanted = (0..<l.groupCount).map { g in g < U ? wants(.unit) : (g < U + I ? wants(.institution) : wants(.national)) }
        l.groupsOfUnit = (0..<U).map { u in
            [u, U + unitInstitution[u], U + I].filter { l.groupWanted[$0] }
        }
        l.groupNames = units.map { (group: $0.unit, institution: Optional($0.inst)) }
            + institutions.map { (group: $0, institution: Optional($0)) } + [(group: "national", institution: nil)]
        let unitOrder = (0..<U).sorted { a, b in
            units[a].unit != units[b].unit ? utf8Less(units[a].unit, units[b].unit) : utf8Less(units[a].inst, units[b].inst)
        }
        let instOrder = (0..<I).sorted { utf8Less(institutions[$0], institutions[$1]) }.map { U + $0 }
        for by in Grouping.allCases.sorted() where wants(by) {
            switch by {
            case .institution: l.groupOrder.append((by, instOrder))
            case .national: l.groupOrder.append((by, [U + I]))
            case .unit: l.groupOrder.append((by, unitOrder))
            }
        }
        return l
    }
}

struct Layout {
    var periods: [QualityPeriod] = []
    var periodNames: [String] = []
    var periodOrder: [Int] = []
    var periodWanted: [Bool] = []
    /// Period slots of the months, in time order; and each period slot's month position (or −1).
    var months: [Int] = []
    var monthSlot: [Int] = []
    /// Per period slot: how many months (of `months`) are on or before its last month / before its first.
    var monthsUpToLast: [Int] = []
    var monthsBeforeFirst: [Int] = []
    /// Per period slot: the wanted period slots it rolls up into (a month: itself, its tertial, its year).
    var targets: [[Int]] = []
    var selfTarget: [[Int]] = []
    var groupCount = 0
    var groupWanted: [Bool] = []
    var groupsOfUnit: [[Int]] = []
    var groupNames: [(group: String, institution: String?)] = []
    var groupOrder: [(Grouping, [Int])] = []
}
