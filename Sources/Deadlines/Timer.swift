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
        /// The rule set that measured the timer (stored inline: a timer is plain data, copied without
        /// reference counting).
        public var rulesVersion: String {
            get { versionName.string }
            set { versionName = ShortName(newValue) }
        }
        var versionName: ShortName
        public var status: Status
        public var patientPostponed: Bool

        public init(kind: Kind, place: UInt64, startedBy: Point, due: CivilDate, met: Point?, setting: CareSetting,
                    openSetting: CareSetting, openDue: CivilDate, episodeEnd: CivilDate?, firstPostponement: CivilDate?,
                    visibleFrom: CivilDate, rulesVersion: String, status: Status = .running, patientPostponed: Bool = false) {
            self.kind = kind; self.place = place; self.startedBy = startedBy; self.due = due; self.met = met
            self.setting = setting; self.openSetting = openSetting; self.openDue = openDue; self.episodeEnd = episodeEnd
            self.firstPostponement = firstPostponement; self.visibleFrom = visibleFrom; self.versionName = ShortName(rulesVersion)
            self.status = status; self.patientPostponed = patientPostponed
        }

        init(kind: Kind, place: UInt64, startedBy: Point, due: CivilDate, met: Point?, setting: CareSetting,
             openSetting: CareSetting, openDue: CivilDate, episodeEnd: CivilDate?, firstPostponement: CivilDate?,
             visibleFrom: CivilDate, versionName: ShortName) {
            self.kind = kind; self.place = place; self.startedBy = startedBy; self.due = due; self.met = met
            self.setting = setting; self.openSetting = openSetting; self.openDue = openDue; self.episodeEnd = episodeEnd
            self.firstPostponement = firstPostponement; self.visibleFrom = visibleFrom; self.versionName = versionName
            self.status = .running; self.patientPostponed = false
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
            return t.evaluate(asOf: asOf, dueSoonDays: dueSoonDays) ? t : nil
        }

        /// ``evaluated(asOf:dueSoonDays:)`` in place; false when the timer is not known yet.
        @inline(__always) mutating func evaluate(asOf: CivilDate?, dueSoonDays: Int) -> Bool {
            if let a = asOf {
                if visibleFrom > a { return false }
                if let m = met, m.date > a { met = nil }
                if let e = episodeEnd, e > a { episodeEnd = nil }
                if let l = firstPostponement, l > a { firstPostponement = nil }
            }
            if met == nil { due = openDue; setting = openSetting }
            status = Timer.status(met: met?.date, end: episodeEnd, due: due, asOf: asOf, dueSoonDays: dueSoonDays)
            // The completion bounds which postponements count: met, else end, else the as-of date.
            if let l = firstPostponement {
                if let c = met?.date ?? episodeEnd ?? asOf { patientPostponed = l <= c } else { patientPostponed = true }
            } else {
                patientPostponed = false
            }
            return true
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

/// A name of at most 16 UTF-8 bytes held inline (rule-set versions such as `tsb-2022`).
struct ShortName: Sendable, Hashable {
    var low: UInt64 = 0
    var high: UInt64 = 0

    static let maxBytes = 16

    /// Longer names are cut at 16 bytes; ``RuleSet`` refuses them before they get here.
    init(_ s: String) {
        var i = 0
        for b in s.utf8 {
            guard i < ShortName.maxBytes else { break }
            if i < 8 { low |= UInt64(b) << UInt64(8 * i) } else { high |= UInt64(b) << UInt64(8 * (i - 8)) }
            i += 1
        }
    }

    var byteCount: Int {
        if high != 0 { return 8 + (8 - high.leadingZeroBitCount / 8) }
        return low == 0 ? 0 : 8 - low.leadingZeroBitCount / 8
    }

    @inline(__always) func byte(_ i: Int) -> UInt8 {
        i < 8 ? UInt8(truncatingIfNeeded: low >> UInt64(8 * i)) : UInt8(truncatingIfNeeded: high >> UInt64(8 * (i - 8)))
    }

    var string: String {
        let n = byteCount
        return String(unsafeUninitializedCapacity: n) { buf in
            for i in 0..<n { buf[i] = byte(i) }
            return n
        }
    }
}
