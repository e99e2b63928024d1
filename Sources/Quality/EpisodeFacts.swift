import Pathway
import Deadlines

/// What one episode contributes to the quality views, derived once from its corrected history.
/// ``QualityCounters`` turns it into counter keys and ``QualityTable/explain`` reads it directly,
/// so the counts and the drill-down cannot disagree.
struct EpisodeFacts {
    /// One counted item of a monthly indicator: an episode (or, for `evaluation-interval-kept`, an
    /// interval) in the denominator, dated in the period it counts in.
    struct Item {
        var indicator: QualityIndicator
        var date: CivilDate
        var inNumerator: Bool
        /// Time indicators only: the timer was patient-postponed (left out of `service-caused`).
        var postponed: Bool
    }
    /// A completed pathway time: the timer, the date of the event that completed it, its length.
    struct PathwayTime {
        var kind: Deadlines.Timer.Kind
        var date: CivilDate
        var days: Int
    }

    var institution: Int32 = 0
    var unit: Int32 = 0
    var items: [Item] = []
    /// The open span for `patient-postponed`: from the earliest registration to X (nil: still open).
    var openFrom: CivilDate?
    var openTo: CivilDate?
    /// The L registrations that count: dated on or before X.
    var postponements: [CivilDate] = []
    var pathwayTimes: [PathwayTime] = []
    /// The end outcome (9326 letter) and X's date.
    var end: (outcome: UInt8, date: CivilDate)?
    /// What the ended episode had: UB, UU, F, UF (the flags below).
    var endFlags: UInt8 = 0
    /// The help-need letters (9328) of an ended episode, counted at X's date.
    var helpNeeds: OutcomeSet = []
    /// A clinical decision: its date and outcomes (9323).
    struct Decision {
        var date: CivilDate
        var outcomes: OutcomeSet
    }
    var decisions: [Decision] = []

    /// The pathway times shown in the distribution: the table's rows (the emergency start is a
    /// guideline, not a measured pathway time; see the seed review, item 25).
    static let distributedTimers: [Deadlines.Timer.Kind] =
        [.detoxToFirstAttendance, .basicAssessment, .extendedAssessment, .totalAssessment, .firstEvaluation, .nextEvaluation]

    init(marks: [Mark], rules: RuleBook) {
        let m = Milestones(marks)
        self.init(milestones: m, timers: m.count > 0 ? Deadlines.timers(for: m, rules: rules) : [])
    }

    /// From milestones and their timers (`Deadlines.timers(for: m, rules:)`) already worked out.
    init(milestones m: Milestones, timers: [Deadlines.Timer]) {
        guard m.count > 0 else { return }
        items.reserveCapacity(12)
        institution = m.institution
        unit = m.unit

        // Time indicators and pathway times: completed timers, read by the Deadlines module so the
        // quality numbers and the deadline projection agree.
        for t in timers {
            guard let met = t.met else { continue }
            if let ind = EpisodeFacts.indicator(for: t.kind) {
                items.append(Item(indicator: ind, date: met.date, inNumerator: t.status == .met, postponed: t.patientPostponed))
            }
            if EpisodeFacts.distributedTimers.contains(t.kind) {
                pathwayTimes.append(PathwayTime(kind: t.kind, date: met.date, days: t.start.days(until: met.date)))
            }
        }

        // The indicators counted at the pathway end, from the end's profile.
        if let x = m.end {
            var flags: UInt8 = 0
            if m.informed != nil { flags |= EpisodeFacts.informedFlag }
            if m.involved != nil { flags |= EpisodeFacts.involvedFlag }
            if !m.feedback.isEmpty { flags |= EpisodeFacts.feedbackFlag }
            if m.feedbackTool != nil { flags |= EpisodeFacts.feedbackToolFlag }
            end = (x.outcome, x.date)
            endFlags = flags
            let add = { (ind: QualityIndicator, num: Bool) in
                items.append(Item(indicator: ind, date: x.date, inNumerator: num, postponed: false))
            }
            if EpisodeFacts.countsContent(outcome: x.outcome) { EpisodeFacts.contentItems(flags: flags, add) }
            EpisodeFacts.outcomeItems(outcome: x.outcome, add)
            for h in m.helpNeeds { helpNeeds.formUnion(OutcomeSet(letter: h.outcome)) }
        }

        // Patient-postponed: open from the earliest registration (A in a well-formed episode) to X.
        openFrom = m.earliestDate
        openTo = m.end?.date
        for l in m.postponements where openTo == nil || l.date <= openTo! { postponements.append(l.date) }

        decisions.reserveCapacity(m.decisions.count)
        for c in m.decisions { decisions.append(Decision(date: c.date, outcomes: c.outcomes)) }
    }

    static let informedFlag: UInt8 = 1, involvedFlag: UInt8 = 2, feedbackFlag: UInt8 = 4, feedbackToolFlag: UInt8 = 8

    // The six indicators counted at the pathway end (X's date). The counters keep, per month and
    // unit, ended episodes by end outcome and (outcome not R) by which of UB, UU, F, UF they had;
    // the table expands those counts with these same functions.

    /// Whether an ended episode is in the denominators of the four content indicators (outcome not R).
    @inline(__always) static func countsContent(outcome o: UInt8) -> Bool { o != UInt8(ascii: "R") }

    /// The four content indicators (informed, involved, feedback to GP, feedback tool): calls `body`
    /// with each, and whether the episode is in its numerator.
    @inline(__always) static func contentItems(flags: UInt8, _ body: (QualityIndicator, Bool) -> Void) {
        body(.informedOfOptions, flags & informedFlag != 0)
        body(.involvedInPlan, flags & involvedFlag != 0)
        body(.feedbackToGP, flags & feedbackFlag != 0)
        body(.feedbackToolUsed, flags & feedbackToolFlag != 0)
    }

    /// `ended-by-agreement` and `dropout`: calls `body` with each whose denominator the end outcome
    /// is in, and whether it is in the numerator.
    @inline(__always) static func outcomeItems(outcome o: UInt8, _ body: (QualityIndicator, Bool) -> Void) {
        let G = UInt8(ascii: "G"), P = UInt8(ascii: "P"), M = UInt8(ascii: "M")
        let dropped = o == P || o == M
        if o == G || dropped { body(.endedByAgreement, o == G) }
        if o != UInt8(ascii: "R") && o != UInt8(ascii: "O") && o != UInt8(ascii: "N") { body(.dropout, dropped) }
    }

    static func indicator(for kind: Deadlines.Timer.Kind) -> QualityIndicator? {
        switch kind {
        case .basicAssessment: .basicAssessmentOnTime
        case .totalAssessment: .totalAssessmentOnTime
        case .detoxToFirstAttendance: .detoxToFirstAttendanceOnTime
        case .firstEvaluation: .firstEvaluationOnTime
        case .nextEvaluation: .evaluationIntervalKept
        default: nil
        }
    }

    /// Whether the episode is open at some time in `p`.
    func isOpen(in p: QualityPeriod) -> Bool {
        guard let from = openFrom else { return false }
        let f = QualityPeriod(monthOf: from).firstMonthIndex
        if f > p.lastMonthIndex { return false }
        if let to = openTo, QualityPeriod(monthOf: to).firstMonthIndex < p.firstMonthIndex { return false }
        return true
    }
}
