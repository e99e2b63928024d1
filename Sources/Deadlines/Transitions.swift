import Pathway

extension Deadlines {
    /// A change of a timer's status that a coordinator's work list or a notification service acts on.
    public struct Transition: Sendable, Equatable {
        public enum Kind: UInt8, Sendable, CaseIterable, Comparable {
            case becameDueSoon = 1, becameOverdue, met, metLate
            public var name: String {
                switch self {
                case .becameDueSoon: "became-due-soon"
                case .becameOverdue: "became-overdue"
                case .met: "met"
                case .metLate: "met-late"
                }
            }
            /// The status the timer has from the transition's date on.
            public var status: Timer.Status {
                switch self {
                case .becameDueSoon: .dueSoon
                case .becameOverdue: .overdue
                case .met: .met
                case .metLate: .metLate
                }
            }
            public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        }
        public var kind: Kind
        /// The first date on which the timer, read as of that date, has the new status.
        public var date: CivilDate
        /// The timer as of `date`.
        public var timer: Timer
        public init(kind: Kind, date: CivilDate, timer: Timer) { self.kind = kind; self.date = date; self.timer = timer }
    }

    /// The transitions that happened after `from` and on or before `to` — the window is half-open,
    /// `(from, to]`, so consecutive windows report each transition exactly once.
    ///
    /// A transition happens on the first date `d` on which ``Timer/evaluated(asOf:dueSoonDays:)`` at
    /// `d` shows the new status and at `d − 1` did not: became-due-soon at max(known, due − N) if still
    /// open then; became-overdue at due + 1 if still open then; met / met-late on the met date (or
    /// when the timer becomes known, if later). A timer goes through each at most once, since a
    /// reading as of a later date sees a superset of the registrations. `timers` must be the facts
    /// derived with everything up to `to` known (as of nil, or as of `to` or later); the statuses they
    /// carry are ignored.
    public static func transitions(_ timers: [Timer], from: CivilDate, to: CivilDate,
                                   dueSoonDays: Int = defaultDueSoonDays) -> [Transition] {
        var out: [Transition] = []
        func emit(_ kind: Transition.Kind, _ date: CivilDate, _ t: Timer) {
            guard date > from, date <= to, let now = t.evaluated(asOf: date, dueSoonDays: dueSoonDays) else { return }
            out.append(Transition(kind: kind, date: date, timer: now))
        }
        for t in timers {
            let completion = t.met?.date ?? t.episodeEnd
            let soon = max(t.visibleFrom, t.openDue.adding(days: -dueSoonDays))
            if soon <= t.openDue, completion.map({ soon < $0 }) ?? true { emit(.becameDueSoon, soon, t) }
            let overdue = max(t.visibleFrom, t.openDue.adding(days: 1))
            if completion.map({ overdue < $0 }) ?? true { emit(.becameOverdue, overdue, t) }
            if let m = t.met { emit(m.date <= t.due ? .met : .metLate, max(m.date, t.visibleFrom), t) }
        }
        out.sort { a, b in
            if a.date != b.date { return a.date < b.date }
            if a.timer.id != b.timer.id { return a.timer.id < b.timer.id }
            return a.kind < b.kind
        }
        return out
    }
}
