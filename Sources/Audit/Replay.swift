import Deadlines
import Ledger
import Pathway

/// One episode's history, event by event: what was registered, when, by whom, and what the ledger
/// believed after each step.
public struct Replay {
    public struct Step {
        public var event: LoggedEvent
        /// The state and timers after this event (evaluated `validAt` if given).
        public var after: EpisodeView
        public var before: EpisodeView
        /// Findings present after this event that were not present before it.
        public var raised: [Finding]
        /// Findings present before and gone after (a correction repaired the history).
        public var cleared: [Finding]
        /// For a correction or voiding: the event it names.
        public var target: LoggedEvent?
    }

    public var episode: String
    public var steps: [Step]

    /// Builds the replay. `knownAt` stops at what had been recorded by that instant; `atPosition`
    /// stops after that log position; `validAt` evaluates each state as of that calendar date.
    public init(episode: String, events: [LoggedEvent], knownAt: Instant? = nil, validAt: CivilDate? = nil,
                atPosition: UInt64? = nil, rules: RuleBook = RuleBook.bundled) {
        self.episode = episode
        let included = events.filter { e in
            (knownAt.map { e.effectiveRecordedAt <= $0 } ?? true) && (atPosition.map { e.position <= $0 } ?? true)
        }
        var steps: [Step] = []
        var before = Ledger.view(of: episode, events: [], validAt: validAt, rules: rules)
        let byPosition = Replay.targets(of: events)
        for i in included.indices {
            let after = Ledger.view(of: episode, events: Array(included[0...i]), validAt: validAt, rules: rules)
            let key: (Finding) -> String = { "\($0.rule.rawValue)@\($0.place)" }
            let old = Set(before.state.findings.map(key)), new = Set(after.state.findings.map(key))
            steps.append(Step(event: included[i], after: after, before: before,
                              raised: after.state.findings.filter { !old.contains(key($0)) },
                              cleared: before.state.findings.filter { !new.contains(key($0)) },
                              target: included[i].targetPosition.flatMap { byPosition[$0] }))
            before = after
        }
        self.steps = steps
    }

    /// The episode's events by log position: where a correction's or voiding's `targetPosition`
    /// is looked up (the target is always one of the same episode's events).
    public static func targets(of events: [LoggedEvent]) -> [UInt64: LoggedEvent] {
        Dictionary(events.map { ($0.position, $0) }, uniquingKeysWith: { a, _ in a })
    }
}
