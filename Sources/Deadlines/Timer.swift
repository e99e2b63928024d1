import Pathway

/// Pathway times (*forløpstider*) as timers: what is due and when, what was met or breached, and
/// whether the patient postponed. Pure functions of an episode's corrected history and a rule book.
public enum Deadlines {
    /// A timer is `due-soon` when its due date is at most this many days after the as-of date.
    public static let defaultDueSoonDays = 3
}

/// `Deadlines.Timer` under a name that does not collide with Foundation's `Timer`.
public typealias DeadlineTimer = Deadlines.Timer

extension Deadlines {
    /// One clock of one episode against one pathway time.
    ///
    /// The stored fields are facts (start, due, met, end, first postponement); ``status`` and
    /// ``patientPostponed`` are their reading as of a date (see ``evaluated(asOf:dueSoonDays:)``).
    public struct Timer: Sendable, Equatable {
        public enum Kind: UInt8, Sendable, CaseIterable, Comparable {
            /// D → M: 3 days outpatient, 0 inpatient.
            case detoxToFirstAttendance = 1
            /// M → the first clinical decision.
            case basicAssessment
            /// The first decision when it is CU → the next decision (outpatient), with carry-over.
            case extendedAssessment
            /// M → the decision after CU, only when the first decision is CU (outpatient).
            case totalAssessment
            /// The decision that finished the assessment, when it includes T → the first E.
            case firstEvaluation
            /// E → the next E.
            case nextEvaluation
            /// Emergency assessment → A.
            case emergencyStart

            public var name: String {
                switch self {
                case .detoxToFirstAttendance: "detox-to-first-attendance"
                case .basicAssessment: "basic-assessment"
                case .extendedAssessment: "extended-assessment"
                case .totalAssessment: "total-assessment"
                case .firstEvaluation: "first-evaluation"
                case .nextEvaluation: "next-evaluation"
                case .emergencyStart: "emergency-start"
                }
            }
            public init?(name: String) {
                guard let k = Kind.allCases.first(where: { $0.name == name }) else { return nil }
                self = k
            }
            public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        }

        public enum Status: UInt8, Sendable, CaseIterable {
            /// Open, not yet due soon.
            case running = 1
            /// Open, due within the due-soon window of the as-of date (the due day included).
            case dueSoon
            /// Open and past its due date.
            case overdue
            /// Met on or before the due date.
            case met
            /// Met after the due date.
            case metLate
            /// Not met; the episode ended on or before the due date.
            case stopped
            /// Not met; the episode ended after the due date.
            case missed

            public var name: String {
                switch self {
                case .running: "running"
                case .dueSoon: "due-soon"
                case .overdue: "overdue"
                case .met: "met"
                case .metLate: "met-late"
                case .stopped: "stopped"
                case .missed: "missed"
                }
            }
            public init?(name: String) {
                guard let s = Status.allCases.first(where: { $0.name == name }) else { return nil }
                self = s
            }
            public var isOpen: Bool { self == .running || self == .dueSoon || self == .overdue }
        }

        /// A registration that starts or meets a timer. `code` is nil only for the emergency
        /// assessment, which is a date carried on A, not a code of its own.
        public struct Point: Sendable, Equatable {
            public var code: PathwayCode?
            public var date: CivilDate
            public init(code: PathwayCode?, date: CivilDate) { self.code = code; self.date = date }
            /// `D01M`, or `emergency-assessment`.
            public var name: String { code?.procedureCode ?? "emergency-assessment" }
        }

        /// Kind and the place of the starting registration: stable under corrections of any date.
        public struct ID: Sendable, Hashable, Comparable, CustomStringConvertible {
            public var kind: Kind
            public var place: UInt64
            public init(kind: Kind, place: UInt64) { self.kind = kind; self.place = place }
            /// `basic-assessment@1042`
            public var description: String { kind.name + "@" + String(place) }
            public static func < (a: ID, b: ID) -> Bool { (a.kind.rawValue, a.place) < (b.kind.rawValue, b.place) }
        }

        public var kind: Kind
        /// The place of the registration that starts the timer (for the emergency start: the A).
        public var place: UInt64
        public var startedBy: Point
        /// The due date (*start + allowed days*) under the setting that measures the timer.
        public var due: CivilDate
        /// The registration that met the timer, if any (never one dated after the episode's end).
        public var met: Point?
        /// The care setting whose pathway time applies.
        public var setting: CareSetting
        /// Setting and due date while the timer is not met. They differ from ``setting`` and ``due``
        /// only for detox → first attendance, which is measured by the setting of the receiving
        /// treatment (M) once it is registered (seed L971–972), by D's until then.
        public var openSetting: CareSetting
        public var openDue: CivilDate
        /// The episode's end (X), if it ended.
        public var episodeEnd: CivilDate?
        /// The first L dated on or after the start, when the rule lets the patient postpone this timer.
        public var firstPostponement: CivilDate?
        /// The date of the registration that makes the timer known: its start, except for the emergency
        /// start (known from A) and the total assessment (known once the first decision is CU).
        public var visibleFrom: CivilDate
        public var rulesVersion: String
        public var status: Status
        public var patientPostponed: Bool

        public init(kind: Kind, place: UInt64, startedBy: Point, due: CivilDate, met: Point?, setting: CareSetting,
                    openSetting: CareSetting, openDue: CivilDate, episodeEnd: CivilDate?, firstPostponement: CivilDate?,
                    visibleFrom: CivilDate, rulesVersion: String, status: Status = .running, patientPostponed: Bool = false) {
            self.kind = kind; self.place = place; self.startedBy = startedBy; self.due = due; self.met = met
            self.setting = setting; self.openSetting = openSetting; self.openDue = openDue; self.episodeEnd = episodeEnd
            self.firstPostponement = firstPostponement; self.visibleFrom = visibleFrom; self.rulesVersion = rulesVersion
            self.status = status; self.patientPostponed = patientPostponed
        }

        public var id: ID { ID(kind: kind, place: place) }
        public var start: CivilDate { startedBy.date }
        /// The days the pathway time allows (due − start).
        public var allowedDays: Int { start.days(until: due) }

        /// The timer as known on `asOf`: registrations dated after it are not seen (its met, the
        /// episode's end, a postponement), and the status is read against that date. Nil when the
        /// timer is not known yet. With `asOf` nil, everything counts and an open timer is `running`.
        ///
        /// Exact — the same as deriving the timers from the history filtered to `asOf` — when this
        /// timer was derived from a history at least as complete (as of nil or a later date).
        public func evaluated(asOf: CivilDate?, dueSoonDays: Int = Deadlines.defaultDueSoonDays) -> Timer? {
            var t = self
            if let a = asOf {
                if visibleFrom > a { return nil }
                if let m = met, m.date > a { t.met = nil }
                if let e = episodeEnd, e > a { t.episodeEnd = nil }
                if let l = firstPostponement, l > a { t.firstPostponement = nil }
            }
            if t.met == nil { t.due = openDue; t.setting = openSetting }
            t.status = Timer.status(met: t.met?.date, end: t.episodeEnd, due: t.due, asOf: asOf, dueSoonDays: dueSoonDays)
            // The completion bounds which postponements count: met, else end, else the as-of date.
            if let l = t.firstPostponement {
                if let c = t.met?.date ?? t.episodeEnd ?? asOf { t.patientPostponed = l <= c } else { t.patientPostponed = true }
            } else {
                t.patientPostponed = false
            }
            return t
        }

        /// The status rules of issue 5. Day counting: the start is day 0 and a timer allowing N days
        /// is met on or before start + N (its due date).
        public static func status(met: CivilDate?, end: CivilDate?, due: CivilDate, asOf: CivilDate?,
                                  dueSoonDays: Int = Deadlines.defaultDueSoonDays) -> Status {
            if let m = met { return m <= due ? .met : .metLate }
            if let e = end { return e <= due ? .stopped : .missed }
            guard let a = asOf else { return .running }
            if a > due { return .overdue }
            return a.days(until: due) <= dueSoonDays ? .dueSoon : .running
        }
    }
}
