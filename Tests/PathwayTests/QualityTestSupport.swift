import Testing
import Pathway
import Deadlines
@testable import Quality

/// Hand-built episodes and a tiny in-memory "store" that sums counter contributions the way the
/// ledger does (per key, rows summing to zero deleted, returned in key order).
enum QT {
    /// The rule sets the quality tests measure by, spelled out here so the hand-computed numbers do
    /// not move when the shipped files change (one test checks the shipped book separately).
    static let rules: RuleBook = {
        let r2019 = RuleSet(version: "test-2019", effectiveFrom: CivilDate("2019-01-01")!, timers: [
            .detoxToFirstAttendance: TimerRule(outpatient: 3, inpatient: 0, patientPostponable: false),
            .basicAssessment: TimerRule(outpatient: 21, inpatient: 7),
            .firstEvaluation: TimerRule(outpatient: 7, inpatient: 7),
            .nextEvaluation: TimerRule(outpatient: 56, inpatient: 42),
        ])
        let r2022 = RuleSet(version: "test-2022", effectiveFrom: CivilDate("2022-01-01")!, timers: [
            .detoxToFirstAttendance: TimerRule(outpatient: 3, inpatient: 0, patientPostponable: false),
            .basicAssessment: TimerRule(outpatient: 21, inpatient: 7),
            .extendedAssessment: TimerRule(outpatient: 42, inpatient: nil, carryOverUnusedBasicDays: true),
            .totalAssessment: TimerRule(outpatient: 63, inpatient: nil),
            .firstEvaluation: TimerRule(outpatient: 14, inpatient: 7),
            .nextEvaluation: TimerRule(outpatient: 56, inpatient: 42,
                                       fromSecondYear: .init(afterDays: 365, outpatient: 84, inpatient: 84)),
            .emergencyStart: TimerRule(outpatient: 14, inpatient: 14, patientPostponable: false),
        ])
        return try! RuleBook([r2019, r2022])
    }()

    /// One episode under construction. Registrations get increasing log positions.
    struct Episode {
        let symbols: SymbolTable
        var institution: String
        var unit: String
        var marks: [Mark] = []
        /// Log positions within the episode: only their order matters to the quality views.
        var nextPosition: UInt64 = 100

        init(_ symbols: SymbolTable, _ institution: String = "HF-A", _ unit: String = "poli-1") {
            self.symbols = symbols; self.institution = institution; self.unit = unit
        }

        /// Registers `code` on `date`, by default in the episode's institution and unit.
        @discardableResult
        mutating func add(_ code: PathwayCode, _ date: String, _ setting: CareSetting = .outpatient,
                          institution: String? = nil, unit: String? = nil) -> UInt64 {
            nextPosition += 1
            let pos = nextPosition
            marks.append(Mark(code: code, setting: setting, date: CivilDate(date)!, place: pos, position: pos,
                              patient: symbols.intern("patient"), institution: symbols.intern(institution ?? self.institution),
                              unit: symbols.intern(unit ?? self.unit)))
            return pos
        }
    }

    /// Sums the contributions of `episodes` like the store: per key, zero rows dropped, key order.
    static func counters(_ episodes: [[Mark]], symbols: SymbolTable, rules: RuleBook = QT.rules) -> [QualityTable.Counter] {
        var sums: [[UInt8]: (Int64, Int64, Int64)] = [:]
        for m in episodes {
            QualityCounters.contributions(marks: m, symbols: symbols, rules: rules) { k, a, b, c in
                let o = sums[k] ?? (0, 0, 0)
                sums[k] = (o.0 + a, o.1 + b, o.2 + c)
            }
        }
        return sums.filter { $0.value != (0, 0, 0) }.map { (key: $0.key, a: $0.value.0, b: $0.value.1, c: $0.value.2) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    static func rows(_ episodes: [[Mark]], symbols: SymbolTable, _ query: QualityQuery = QualityQuery()) -> [IndicatorRow] {
        QualityTable.rows(counters: counters(episodes, symbols: symbols), query: query)
    }

    /// The row for (indicator, period, by, group, variant), if any.
    static func row(_ rows: [IndicatorRow], _ indicator: String, _ period: String, _ by: Grouping = .national,
                    _ group: String = "national", _ variant: String = "all", institution: String? = nil) -> IndicatorRow? {
        rows.first {
            $0.indicator == indicator && $0.period == period && $0.by == by && $0.group == group && $0.variant == variant
                && (institution == nil || $0.institution == institution)
        }
    }

    /// (numerator, denominator) of a row, or nil when there is no row.
    static func nd(_ rows: [IndicatorRow], _ indicator: String, _ period: String, _ by: Grouping = .national,
                   _ group: String = "national", _ variant: String = "all", institution: String? = nil) -> [Int]? {
        guard let r = row(rows, indicator, period, by, group, variant, institution: institution) else { return nil }
        return [r.numerator ?? -1, r.denominator ?? -1]
    }
}
