/// A pathway rule a well-formed registration broke. The registration is kept; the finding is kept
/// with the episode and recomputed from the corrected history, so a correction that repairs the
/// history removes it.
///
/// Small and free of `String`s: the message is composed only when asked for.
public struct Finding: Sendable, Equatable, Hashable {
    public var rule: Rule
    /// The log position of the registration (the version in force: original or correction) that raised it.
    public var position: UInt64
    /// The place of that registration in the episode's history (the original's position), which a
    /// correction does not change: findings are compared by rule and place.
    public var place: UInt64
    public var code: PathwayCode
    public var date: CivilDate

    public init(rule: Rule, position: UInt64, place: UInt64, code: PathwayCode, date: CivilDate) {
        self.rule = rule; self.position = position; self.place = place; self.code = code; self.date = date
    }

    init(_ rule: Rule, _ m: Mark) {
        self.init(rule: rule, position: m.position, place: m.place, code: m.code, date: m.date)
    }

    /// `D01XG on 2026-03-01: …` — names the registration, then the rule.
    public var message: String { code.procedureCode + " on " + date.description + ": " + rule.explanation }

    /// The pathway rules, by stable id. The raw values are part of the stored encoding: append new
    /// rules at the end, never renumber.
    public enum Rule: UInt8, Sendable, CaseIterable, Hashable {
        case startMissing = 1
        case startFirst
        case startOnce
        case emergencyAssessmentAfterStart
        case firstAttendanceOnce
        case firstAttendanceWithEmergencyStart
        case detoxOnce
        case detoxBeforeFirstAttendance
        case detoxAtStart
        case decisionsAtMostTwo
        case decisionAfterFinal
        case extendedAssessmentOnce
        case extendedAssessmentAlone
        case activityOnce
        case afterEnd
        case endOnce
        case helpNeedsWithoutEnd
        case helpNeedsWithEnd
        case helpNeedsMissing
        case evaluationAtEnd
        case codeNotYetValid

        /// The stable rule id used in JSON, `--strict` messages and docs.
        public var id: String {
            switch self {
            case .startMissing: "start-missing"
            case .startFirst: "start-first"
            case .startOnce: "start-once"
            case .emergencyAssessmentAfterStart: "emergency-assessment-after-start"
            case .firstAttendanceOnce: "first-attendance-once"
            case .firstAttendanceWithEmergencyStart: "first-attendance-with-emergency-start"
            case .detoxOnce: "detox-once"
            case .detoxBeforeFirstAttendance: "detox-before-first-attendance"
            case .detoxAtStart: "detox-at-start"
            case .decisionsAtMostTwo: "decisions-at-most-two"
            case .decisionAfterFinal: "decision-after-final"
            case .extendedAssessmentOnce: "extended-assessment-once"
            case .extendedAssessmentAlone: "extended-assessment-alone"
            case .activityOnce: "activity-once"
            case .afterEnd: "after-end"
            case .endOnce: "end-once"
            case .helpNeedsWithoutEnd: "help-needs-without-end"
            case .helpNeedsWithEnd: "help-needs-with-end"
            case .helpNeedsMissing: "help-needs-missing"
            case .evaluationAtEnd: "evaluation-at-end"
            case .codeNotYetValid: "code-not-yet-valid"
            }
        }

        public init?(id: String) {
            guard let r = Rule.allCases.first(where: { $0.id == id }) else { return nil }
            self = r
        }

        /// Whether a later *registration* (not only a correction) can still satisfy the rule — a
        /// missing A, H or E, or an H whose X is registered next. `--strict` does not reject
        /// these, or a client sending X before its H could never send the pair.
        public var awaitsRegistration: Bool {
            switch self {
            case .startMissing, .helpNeedsWithoutEnd, .helpNeedsMissing, .evaluationAtEnd: true
            default: false
            }
        }

        public var explanation: String {
            switch self {
            case .startMissing:
                "no pathway start (A) is registered; A is registered first, once per pathway"
            case .startFirst:
                "dated before the pathway start (A); A is registered first"
            case .startOnce:
                "the pathway already has a start (A); A is registered exactly once"
            case .emergencyAssessmentAfterStart:
                "the emergency assessment date is after the pathway start; A follows the emergency assessment"
            case .firstAttendanceOnce:
                "the pathway already has a first attendance (M); M is registered at most once"
            case .firstAttendanceWithEmergencyStart:
                "after an emergency start without detox, first attendance (M) is registered together with (on the date of) the start (A)"
            case .detoxOnce:
                "the pathway already has a detox finished (D); D is registered at most once"
            case .detoxBeforeFirstAttendance:
                "detox finished (D) is dated after first attendance (M); with detox at the start, M comes after D"
            case .detoxAtStart:
                "detox finished (D) is dated after the first clinical decision; only detox at the start of the pathway is coded"
            case .decisionsAtMostTwo:
                "a third clinical decision; a pathway has at most two (after basic and after extended assessment)"
            case .decisionAfterFinal:
                "a second clinical decision although the first finished the assessment; only a CU decision is followed by another"
            case .extendedAssessmentOnce:
                "a second decision of extended assessment (CU); the decision after extended assessment finishes the assessment"
            case .extendedAssessmentAlone:
                "a decision of extended assessment (CU) carries no other outcome on the same date"
            case .activityOnce:
                "this activity (UB, UU or UF) is already registered; each is registered once per pathway"
            case .afterEnd:
                "dated after the pathway end (X); nothing but corrections may follow X"
            case .endOnce:
                "the pathway already has an end (X); X is registered exactly once"
            case .helpNeedsWithoutEnd:
                "help needed at end (H) with no pathway end (X); H is registered with XG, XN or XA"
            case .helpNeedsWithEnd:
                "help needed at end (H) is registered only with XG, XN or XA, on the date of the end"
            case .helpNeedsMissing:
                "no help needed at end (H) on the date of this end; H is registered with XN, and with XG when treatment was completed"
            case .evaluationAtEnd:
                "no evaluation point (E) after the decision to treat and on or before the end; an evaluation is always done when the pathway ends"
            case .codeNotYetValid:
                "this code was not valid on its date (XS is valid from 2022-09-30)"
            }
        }
    }
}
