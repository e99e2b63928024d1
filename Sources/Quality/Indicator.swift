import Pathway
import Deadlines

/// The quality indicators of issue 6. Definitions, word for word with the code, are in
/// `docs/indicators.md`.
///
/// The raw value is the indicator's byte in the counter keys: append new indicators at the end,
/// never renumber (stored counters would change meaning).
public enum QualityIndicator: UInt8, Sendable, CaseIterable, Comparable {
    case basicAssessmentOnTime = 1
    case totalAssessmentOnTime
    case detoxToFirstAttendanceOnTime
    case firstEvaluationOnTime
    case evaluationIntervalKept
    case informedOfOptions
    case involvedInPlan
    case feedbackToGP
    case feedbackToolUsed
    case endedByAgreement
    case dropout
    case patientPostponed

    /// The stable id used in `--indicator`, JSON, CSV and docs.
    public var id: String {
        switch self {
        case .basicAssessmentOnTime: "basic-assessment-on-time"
        case .totalAssessmentOnTime: "total-assessment-on-time"
        case .detoxToFirstAttendanceOnTime: "detox-to-first-attendance-on-time"
        case .firstEvaluationOnTime: "first-evaluation-on-time"
        case .evaluationIntervalKept: "evaluation-interval-kept"
        case .informedOfOptions: "informed-of-options"
        case .involvedInPlan: "involved-in-plan"
        case .feedbackToGP: "feedback-to-gp"
        case .feedbackToolUsed: "feedback-tool-used"
        case .endedByAgreement: "ended-by-agreement"
        case .dropout: "dropout"
        case .patientPostponed: "patient-postponed"
        }
    }

    public init?(id: String) {
        guard let i = QualityIndicator.allCases.first(where: { $0.id == id }) else { return nil }
        self = i
    }

    /// A short English title for tables and charts.
    public var title: String {
        switch self {
        case .basicAssessmentOnTime: "Basic assessment on time"
        case .totalAssessmentOnTime: "Total assessment on time"
        case .detoxToFirstAttendanceOnTime: "Detox → first attendance on time"
        case .firstEvaluationOnTime: "First evaluation on time"
        case .evaluationIntervalKept: "Evaluation interval kept"
        case .informedOfOptions: "Informed of options (UB)"
        case .involvedInPlan: "Involved in plan (UU)"
        case .feedbackToGP: "Feedback to GP (F)"
        case .feedbackToolUsed: "Feedback tool used (UF)"
        case .endedByAgreement: "Ended by agreement (XG)"
        case .dropout: "Drop-out (XP, XM)"
        case .patientPostponed: "Patient-postponed (L)"
        }
    }

    /// The pathway time (timer) a time indicator reads; nil for the other indicators.
    public var timer: Deadlines.Timer.Kind? {
        switch self {
        case .basicAssessmentOnTime: .basicAssessment
        case .totalAssessmentOnTime: .totalAssessment
        case .detoxToFirstAttendanceOnTime: .detoxToFirstAttendance
        case .firstEvaluationOnTime: .firstEvaluation
        case .evaluationIntervalKept: .nextEvaluation
        default: nil
        }
    }

    /// The five time indicators are reported as `all` (with `postponed`) and `service-caused`.
    public var isTimeIndicator: Bool { timer != nil }

    /// Whether a higher share is better (drop-out and patient-postponed are the exceptions).
    public var higherIsBetter: Bool { self != .dropout && self != .patientPostponed }

    /// The indicators in row order: by id, byte-wise.
    public static let inRowOrder: [QualityIndicator] = allCases.sorted { utf8Less($0.id, $1.id) }
    /// The time indicators in pathway order (for charts).
    public static let timeIndicators: [QualityIndicator] = allCases.filter(\.isTimeIndicator)

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// How rows are grouped: per unit, per institution, or the national total.
public enum Grouping: String, Sendable, CaseIterable, Comparable {
    case institution, unit, national

    /// Row order: by name, byte-wise (institution < national < unit).
    public static func < (a: Self, b: Self) -> Bool { utf8Less(a.rawValue, b.rawValue) }
}

/// A reporting period: a month `2026-03`, a tertial `2026-T1` (T1 January–April, T2 May–August,
/// T3 September–December) or a year `2026`.
public struct QualityPeriod: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable { case month = 1, tertial, year }
    public let kind: Kind
    public let year: Int
    /// The month 1–12, the tertial 1–3, or 0 for a year.
    public let index: Int

    public static func month(_ year: Int, _ month: Int) -> QualityPeriod { QualityPeriod(kind: .month, year: year, index: month) }
    public static func tertial(_ year: Int, _ tertial: Int) -> QualityPeriod { QualityPeriod(kind: .tertial, year: year, index: tertial) }
    public static func year(_ year: Int) -> QualityPeriod { QualityPeriod(kind: .year, year: year, index: 0) }

    init(kind: Kind, year: Int, index: Int) { self.kind = kind; self.year = year; self.index = index }

    /// Parses `YYYY-MM`, `YYYY-Tn` or `YYYY`; nil for anything else.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        func digits(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { let c = Int(b[i]) - 48; guard c >= 0 && c <= 9 else { return nil }; v = v * 10 + c }
            return v
        }
        guard b.count >= 4, let y = digits(0..<4), y >= 1 else { return nil }
        if b.count == 4 { self.init(kind: .year, year: y, index: 0); return }
        guard b.count == 7, b[4] == UInt8(ascii: "-") else { return nil }
        if b[5] == UInt8(ascii: "T") {
            guard let t = digits(6..<7), (1...3).contains(t) else { return nil }
            self.init(kind: .tertial, year: y, index: t)
        } else {
            guard let m = digits(5..<7), (1...12).contains(m) else { return nil }
            self.init(kind: .month, year: y, index: m)
        }
    }

    /// The month a date falls in.
    public init(monthOf d: CivilDate) {
        let p = d.parts
        self.init(kind: .month, year: p.year, index: p.month)
    }

    /// The tertial holding month `m` (1–12).
    static func tertialOf(month m: Int) -> Int { (m - 1) / 4 + 1 }

    /// Months as a running index (`year * 12 + month - 1`): the first and last month covered.
    public var firstMonthIndex: Int {
        switch kind {
        case .month: year * 12 + index - 1
        case .tertial: year * 12 + (index - 1) * 4
        case .year: year * 12
        }
    }
    public var lastMonthIndex: Int {
        switch kind {
        case .month: firstMonthIndex
        case .tertial: firstMonthIndex + 3
        case .year: firstMonthIndex + 11
        }
    }

    public func contains(_ d: CivilDate) -> Bool {
        let p = d.parts
        let m = p.year * 12 + p.month - 1
        return m >= firstMonthIndex && m <= lastMonthIndex
    }

    /// The months, tertial and year a month belongs to (the month itself first).
    public var enclosing: [QualityPeriod] {
        precondition(kind == .month)
        return [self, .tertial(year, QualityPeriod.tertialOf(month: index)), .year(year)]
    }

    public var description: String {
        switch kind {
        case .month: pad4(year) + "-" + (index < 10 ? "0" : "") + String(index)
        case .tertial: pad4(year) + "-T" + String(index)
        case .year: pad4(year)
        }
    }

    /// The order of rows: by the period's text, byte-wise (`2026` < `2026-01` < … < `2026-12` < `2026-T1`).
    public static func < (a: Self, b: Self) -> Bool {
        if a.year != b.year { return a.year < b.year }
        func rank(_ p: QualityPeriod) -> Int {
            switch p.kind { case .year: 0; case .month: p.index; case .tertial: 100 + p.index }
        }
        return rank(a) < rank(b)
    }
}

@inline(__always) func pad4(_ v: Int) -> String {
    let s = String(v)
    return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
}

/// Byte-wise UTF-8 order: the order of keys in the store, and the order of rows.
@inline(__always) func utf8Less(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
