/// Where an episode stands, derived from its corrected history: the episode-state projection.
///
/// A pure function of `EpisodeHistory.marks`; the stream version and last position are kept by the
/// caller (they describe the log, not the pathway).
public struct EpisodeState: Sendable, Equatable {
    /// The phase machine of issue 4.
    public enum Phase: UInt8, Sendable, CaseIterable {
        /// A registered, nothing after it yet but possibly D (or anything that does not move the phase).
        case started = 1
        /// From first attendance (M).
        case assessment
        /// From a first clinical decision of extended assessment (CU).
        case extendedAssessment
        /// From the decision that finished the assessment, when it includes T (treatment in TSB).
        case treatment
        /// A decision that finished the assessment without T, not yet ended.
        case decided
        /// From the pathway end (X).
        case ended
        /// Every registration of the episode has been voided: nothing is in force. The episode
        /// stays (the log forgets nothing), but it is not "started" — no start is in force.
        case voided

        public var name: String {
            switch self {
            case .started: "started"
            case .assessment: "assessment"
            case .extendedAssessment: "extended-assessment"
            case .treatment: "treatment"
            case .decided: "decided"
            case .ended: "ended"
            case .voided: "voided"
            }
        }
        public init?(name: String) {
            guard let p = Phase.allCases.first(where: { $0.name == name }) else { return nil }
            self = p
        }
    }

    public var milestones: Milestones
    public var phase: Phase
    public var findings: [Finding]

    public var patient: Int32 { milestones.patient }
    /// From the start registration if there is one, else from the first registration.
    public var institution: Int32 { milestones.institution }
    public var unit: Int32 { milestones.unit }
    /// The latest registered setting (place order).
    public var setting: CareSetting? { milestones.setting }

    public init(milestones: Milestones, phase: Phase, findings: [Finding]) {
        self.milestones = milestones; self.phase = phase; self.findings = findings
    }

    /// Derives the state from the corrected history (place order). With `validAt`, only registrations
    /// dated on or before it count: the "as valid at" view.
    /// `allVoided`: the history has registrations and every one is voided (``EpisodeHistory/isAllVoided``).
    public init(marks: [Mark], validAt: CivilDate? = nil, allVoided: Bool = false) {
        self.init(marks: marks, milestones: Milestones(marks, validAt: validAt), validAt: validAt, allVoided: allVoided)
    }

    /// The same, from milestones already worked out for these marks (and this `validAt`).
    public init(marks: [Mark], milestones: Milestones, validAt: CivilDate? = nil, allVoided: Bool = false) {
        self.milestones = milestones
        self.phase = allVoided && marks.isEmpty ? .voided : EpisodeState.phase(of: milestones)
        self.findings = PathwayRules.findings(marks, milestones: milestones, validAt: validAt)
    }

    /// The phase the milestones put the episode in. The phases follow the latest milestone reached:
    /// X ends; a finished assessment (the first non-CU decision) decides between treatment and
    /// decided; a CU first decision without a final one is extended assessment; M is assessment.
    /// A decision registering CU together with other outcomes (an `extended-assessment-alone`
    /// finding) counts as CU.
    public static func phase(of m: Milestones) -> Phase {
        if m.end != nil { return .ended }
        if let f = m.finalDecision { return f.includesTreatment ? .treatment : .decided }
        if !m.decisions.isEmpty { return .extendedAssessment }
        if m.firstAttendance != nil { return .assessment }
        return .started
    }
}
