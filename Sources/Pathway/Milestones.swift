/// The outcomes of one clinical decision (9323), or the help needs at the end (9328), as a bit set.
/// 9328 uses the letters of 9323 minus `U`, so one layout serves both.
public struct OutcomeSet: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The letters in code-guide order; bit `i` stands for `letters[i]`.
    public static let letters: [UInt8] = [UInt8(ascii: "U"), UInt8(ascii: "P"), UInt8(ascii: "T"), UInt8(ascii: "S"),
                                          UInt8(ascii: "K"), UInt8(ascii: "A"), UInt8(ascii: "I")]

    /// `U`: needs extended assessment (*behov for utvidet utredning*).
    public static let extendedAssessment = OutcomeSet(rawValue: 1 << 0)
    /// `T`: needs treatment in TSB.
    public static let treatment = OutcomeSet(rawValue: 1 << 2)
    /// Every service-need outcome (`P T S K A I`): what a finished assessment carries.
    public static let serviceNeeds = OutcomeSet(rawValue: 0b111_1110)

    /// The set holding one outcome letter; empty for a letter outside 9323.
    @inline(__always) public init(letter: UInt8) {
        switch letter {
        case UInt8(ascii: "U"): rawValue = 1 << 0
        case UInt8(ascii: "P"): rawValue = 1 << 1
        case UInt8(ascii: "T"): rawValue = 1 << 2
        case UInt8(ascii: "S"): rawValue = 1 << 3
        case UInt8(ascii: "K"): rawValue = 1 << 4
        case UInt8(ascii: "A"): rawValue = 1 << 5
        case UInt8(ascii: "I"): rawValue = 1 << 6
        default: rawValue = 0
        }
    }

    /// The letters present, in code-guide order (allocates: for rendering).
    public var letterBytes: [UInt8] {
        var out: [UInt8] = []
        for i in 0..<7 where rawValue & (1 << i) != 0 { out.append(OutcomeSet.letters[i]) }
        return out
    }
}

/// The milestones of one episode, derived from its corrected history.
///
/// Input is `[Mark]` as ``EpisodeHistory/marks`` returns it: the registrations in force, in place
/// order. **Tie-breaking:** a code that should be registered once (A, D, M, UB, UU, UF, X) has as its
/// milestone the registration with the earliest *date*; among registrations of the same date, the
/// earliest *place* (the first registered). The other registrations of that code are duplicates (and
/// raise a finding). Repeating codes (F, E, L, H) are kept sorted by date, then place. A clinical
/// decision is all C registrations of one date; decisions are sorted by date, and a decision's
/// setting and place are those of its first-placed registration.
///
/// The derivation is a single pass with no allocation beyond the arrays of repeating codes.
public struct Milestones: Sendable, Equatable {
    /// One registration as a milestone: when, where, and its place in the episode's history.
    public struct Point: Sendable, Equatable {
        public var date: CivilDate
        public var setting: CareSetting
        /// The log position of the original registration (stable under corrections).
        public var place: UInt64
        public init(date: CivilDate, setting: CareSetting, place: UInt64) {
            self.date = date; self.setting = setting; self.place = place
        }
        /// Dates first, then place.
        @inline(__always) public func precedes(_ other: Point) -> Bool {
            date != other.date ? date < other.date : place < other.place
        }
    }

    /// A clinical decision (*klinisk beslutning*): every C registration of one date.
    public struct Decision: Sendable, Equatable {
        public var date: CivilDate
        public var outcomes: OutcomeSet
        /// The first-placed registration of the decision; its setting and place stand for the decision.
        public var first: Point
        /// The code of that registration (`D01CT`).
        public var firstCode: PathwayCode
        public init(date: CivilDate, outcomes: OutcomeSet, first: Point, firstCode: PathwayCode) {
            self.date = date; self.outcomes = outcomes; self.first = first; self.firstCode = firstCode
        }
        /// A `CU` decision: the patient needs extended assessment. A decision registering `U` counts as
        /// one even when other outcomes were (wrongly) registered the same day.
        public var isExtendedAssessment: Bool { outcomes.contains(.extendedAssessment) }
        public var includesTreatment: Bool { outcomes.contains(.treatment) }
    }

    /// A registration with an outcome letter (X, H).
    public struct Outcome: Sendable, Equatable {
        public var point: Point
        public var outcome: UInt8
        public init(point: Point, outcome: UInt8) { self.point = point; self.outcome = outcome }
        public var date: CivilDate { point.date }
    }

    public var start: Point?
    /// The emergency (*øyeblikkelig hjelp*) assessment date carried by the start registration.
    public var emergencyAssessment: CivilDate?
    public var detoxFinished: Point?
    public var firstAttendance: Point?
    public var decisions: [Decision] = []
    public var informed: Point?
    public var involved: Point?
    public var feedbackTool: Point?
    public var feedback: [Point] = []
    public var evaluations: [Point] = []
    public var postponements: [Point] = []
    public var end: Outcome?
    public var helpNeeds: [Outcome] = []

    /// From the start registration when there is one, else from the first registration (place order).
    public var patient: Int32 = 0
    public var institution: Int32 = 0
    public var unit: Int32 = 0
    /// The setting of the last registration in place order; nil for an empty history.
    public var setting: CareSetting?
    /// The earliest date of any registration in force.
    public var earliestDate: CivilDate?
    /// How many registrations are in force.
    public var count: Int = 0

    public init() {}

    /// Derives the milestones from `marks` (place order). With `validAt`, only registrations dated on
    /// or before it count: the "as valid at" view.
    public init(_ marks: [Mark], validAt: CivilDate? = nil) {
        var firstPlace = UInt64.max, lastPlace: UInt64 = 0
        var hasIdentityFromStart = false
        for m in marks {
            if let v = validAt, m.date > v { continue }
            count += 1
            if earliestDate == nil || m.date < earliestDate! { earliestDate = m.date }
            if m.place <= firstPlace {
                firstPlace = m.place
                if !hasIdentityFromStart { patient = m.patient; institution = m.institution; unit = m.unit }
            }
            if m.place >= lastPlace { lastPlace = m.place; setting = m.setting }
            let p = Point(date: m.date, setting: m.setting, place: m.place)
            switch m.code.event {
            case .start:
                if start == nil || p.precedes(start!) {
                    start = p
                    emergencyAssessment = m.emergencyDate
                    patient = m.patient; institution = m.institution; unit = m.unit
                    hasIdentityFromStart = true
                }
            case .firstAttendance: Self.keepFirst(&firstAttendance, p)
            case .detoxFinished: Self.keepFirst(&detoxFinished, p)
            case .patientPostponed: Self.insertSorted(&postponements, p)
            case .clinicalDecision: addDecision(p, m.code)
            case .activity:
                switch m.code.outcomeByte {
                case UInt8(ascii: "B"): Self.keepFirst(&informed, p)
                case UInt8(ascii: "U"): Self.keepFirst(&involved, p)
                default: Self.keepFirst(&feedbackTool, p)
                }
            case .feedback: Self.insertSorted(&feedback, p)
            case .evaluation: Self.insertSorted(&evaluations, p)
            case .end:
                if end == nil || p.precedes(end!.point) { end = Outcome(point: p, outcome: m.code.outcomeByte) }
            case .helpNeeded:
                let o = Outcome(point: p, outcome: m.code.outcomeByte)
                helpNeeds.append(o)
                var i = helpNeeds.count - 1
                while i > 0 && o.point.precedes(helpNeeds[i - 1].point) { helpNeeds.swapAt(i, i - 1); i -= 1 }
            }
        }
    }

    @inline(__always) static func keepFirst(_ slot: inout Point?, _ p: Point) {
        if slot == nil || p.precedes(slot!) { slot = p }
    }

    @inline(__always) static func insertSorted(_ a: inout [Point], _ p: Point) {
        a.append(p)
        var i = a.count - 1
        while i > 0 && p.precedes(a[i - 1]) { a.swapAt(i, i - 1); i -= 1 }
    }

    mutating func addDecision(_ p: Point, _ code: PathwayCode) {
        let o = OutcomeSet(letter: code.outcomeByte)
        var i = decisions.count - 1
        while i >= 0 && decisions[i].date > p.date { i -= 1 }
        if i >= 0 && decisions[i].date == p.date {
            decisions[i].outcomes.formUnion(o)
            if p.place < decisions[i].first.place { decisions[i].first = p; decisions[i].firstCode = code }
        } else {
            decisions.insert(Decision(date: p.date, outcomes: o, first: p, firstCode: code), at: i + 1)
        }
    }

    /// The first clinical decision (after basic assessment, or without assessment).
    public var firstDecision: Decision? { decisions.first }
    /// Whether the first decision is `CU`: the assessment goes on as an extended assessment.
    public var firstDecisionIsExtended: Bool { decisions.first?.isExtendedAssessment ?? false }
    /// The index of the decision that finished the assessment: the first one that is not `CU`.
    public var finalDecisionIndex: Int? { decisions.firstIndex { !$0.isExtendedAssessment } }
    /// The decision that finished the assessment (*klinisk beslutning etter ferdig utredning*).
    public var finalDecision: Decision? { finalDecisionIndex.map { decisions[$0] } }

    /// The date the episode is measured from when choosing a rules version: A's date, or — when
    /// something is dated before A, or there is no A — the earliest registration date. Using the
    /// earliest date keeps every "as valid at" view of an episode on the same version.
    public var measuringStart: CivilDate? { earliestDate }
}
