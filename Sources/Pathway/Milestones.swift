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
/// The derivation is two passes over the marks and one allocation: the repeating lists share one
/// buffer (they run inside folds over millions of events).
public struct Milestones: Sendable, Equatable {
    /// One registration as a milestone: when, where, its outcome letter, and its place in the history.
    public struct Point: Sendable, Equatable {
        public var date: CivilDate
        public var setting: CareSetting
        /// The outcome letter (ASCII) for X and H; 0 for codes without one here.
        public var outcome: UInt8
        /// The log position of the original registration (stable under corrections).
        public var place: UInt64
        @inlinable public init(date: CivilDate, setting: CareSetting, place: UInt64, outcome: UInt8 = 0) {
            self.date = date; self.setting = setting; self.place = place; self.outcome = outcome
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
        @inlinable public init(date: CivilDate, outcomes: OutcomeSet, first: Point, firstCode: PathwayCode) {
            self.date = date; self.outcomes = outcomes; self.first = first; self.firstCode = firstCode
        }
        /// A `CU` decision: the patient needs extended assessment. A decision registering `U` counts as
        /// one even when other outcomes were (wrongly) registered the same day.
        public var isExtendedAssessment: Bool { outcomes.contains(.extendedAssessment) }
        public var includesTreatment: Bool { outcomes.contains(.treatment) }
    }

    /// One slot of the shared buffer: a point, or a decision (`a` its outcome set, `b` the outcome
    /// letter of its first registration).
    @usableFromInline struct Entry: Sendable, Equatable {
        @usableFromInline var date: CivilDate
        @usableFromInline var place: UInt64
        @usableFromInline var setting: CareSetting
        @usableFromInline var a: UInt8
        @usableFromInline var b: UInt8
        @usableFromInline init(date: CivilDate, place: UInt64, setting: CareSetting, a: UInt8, b: UInt8) {
            self.date = date; self.place = place; self.setting = setting; self.a = a; self.b = b
        }
        @inline(__always) func precedes(_ o: Entry) -> Bool { date != o.date ? date < o.date : place < o.place }
        static let zero = Entry(date: .epoch, place: 0, setting: .outpatient, a: 0, b: 0)
    }

    /// The shared buffer. A `ManagedBuffer` of a concrete class, because allocating a Swift array
    /// of a non-standard element type looks up generic metadata on every allocation — several
    /// times the cost of the fill. Immutable once built.
    @usableFromInline final class Buffer: ManagedBuffer<Int, Entry> {}

    /// The buffer, immutable once built, so safe to share across threads.
    @usableFromInline struct Storage: @unchecked Sendable {
        @usableFromInline let buffer: Buffer
        init(_ buffer: Buffer) { self.buffer = buffer }
        static func make(count: Int) -> Storage {
            let b = unsafeDowncast(Buffer.create(minimumCapacity: count) { _ in count }, to: Buffer.self)
            b.withUnsafeMutablePointerToElements { $0.initialize(repeating: .zero, count: count) }
            return Storage(b)
        }
        static func make(_ entries: [Entry]) -> Storage? {
            guard !entries.isEmpty else { return nil }
            let s = make(count: entries.count)
            s.buffer.withUnsafeMutablePointerToElements { p in for (i, e) in entries.enumerated() { p[i] = e } }
            return s
        }
        @inlinable @inline(__always) func entry(_ i: Int) -> Entry {
            buffer.withUnsafeMutablePointerToElements { $0[i] }
        }
    }

    /// A list of points, indexed from 0; a view into the episode's shared buffer.
    public struct PointList: RandomAccessCollection, Sendable, Equatable {
        @usableFromInline let storage: Storage?
        @usableFromInline let offset: Int
        public let count: Int
        init(storage: Storage?, offset: Int, count: Int) { self.storage = storage; self.offset = offset; self.count = count }
        public init() { self.init(storage: nil, offset: 0, count: 0) }
        public init(_ points: [Point]) {
            self.init(storage: Storage.make(points.map { Entry(date: $0.date, place: $0.place, setting: $0.setting, a: $0.outcome, b: 0) }),
                      offset: 0, count: points.count)
        }
        @inlinable public var startIndex: Int { 0 }
        @inlinable public var endIndex: Int { count }
        @inlinable public subscript(i: Int) -> Point {
            precondition(i >= 0 && i < count, "index out of range")
            let e = storage.unsafelyUnwrapped.entry(offset + i)
            return Point(date: e.date, setting: e.setting, place: e.place, outcome: e.a)
        }
        public static func == (x: PointList, y: PointList) -> Bool { x.elementsEqual(y) }
    }

    /// The clinical decisions, by date, indexed from 0.
    public struct DecisionList: RandomAccessCollection, Sendable, Equatable {
        @usableFromInline let storage: Storage?
        @usableFromInline let offset: Int
        public let count: Int
        init(storage: Storage?, offset: Int, count: Int) { self.storage = storage; self.offset = offset; self.count = count }
        public init() { self.init(storage: nil, offset: 0, count: 0) }
        public init(_ decisions: [Decision]) {
            self.init(storage: Storage.make(decisions.map {
                Entry(date: $0.date, place: $0.first.place, setting: $0.first.setting, a: $0.outcomes.rawValue, b: $0.firstCode.outcomeByte)
            }), offset: 0, count: decisions.count)
        }
        @inlinable public var startIndex: Int { 0 }
        @inlinable public var endIndex: Int { count }
        @inlinable public subscript(i: Int) -> Decision {
            precondition(i >= 0 && i < count, "index out of range")
            let e = storage.unsafelyUnwrapped.entry(offset + i)
            return Decision(date: e.date, outcomes: OutcomeSet(rawValue: e.a),
                            first: Point(date: e.date, setting: e.setting, place: e.place),
                            firstCode: PathwayCode(trusted: .clinicalDecision, outcomeByte: e.b))
        }
        public static func == (x: DecisionList, y: DecisionList) -> Bool { x.elementsEqual(y) }
    }

    public var start: Point?
    /// The emergency (*øyeblikkelig hjelp*) assessment date carried by the start registration.
    public var emergencyAssessment: CivilDate?
    public var detoxFinished: Point?
    public var firstAttendance: Point?
    public var decisions = DecisionList()
    public var informed: Point?
    public var involved: Point?
    public var feedbackTool: Point?
    public var feedback = PointList()
    public var evaluations = PointList()
    public var postponements = PointList()
    /// The pathway end; its `outcome` is the 9326 letter.
    public var end: Point?
    /// Help needed at the end, each with its 9328 letter as `outcome`.
    public var helpNeeds = PointList()

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
        // Pass 1: size the regions of the shared buffer (C, F, E, L, H).
        var nC = 0, nF = 0, nE = 0, nL = 0, nH = 0
        for m in marks {
            if let v = validAt, m.date > v { continue }
            switch m.code.event {
            case .clinicalDecision: nC += 1
            case .feedback: nF += 1
            case .evaluation: nE += 1
            case .patientPostponed: nL += 1
            case .helpNeeded: nH += 1
            default: break
            }
        }
        let oF = nC, oE = oF + nF, oL = oE + nE, oH = oL + nL, total = oH + nH
        guard total > 0 else {
            var none = UnsafeMutableBufferPointer<Entry>(start: nil, count: 0)
            scan(marks, validAt: validAt, into: &none, offsets: (0, 0, 0, 0, 0))
            return
        }
        let buf = Storage.make(count: total)
        var nD = 0
        buf.buffer.withUnsafeMutablePointerToElements { p in
            var b = UnsafeMutableBufferPointer(start: p, count: total)
            scan(marks, validAt: validAt, into: &b, offsets: (0, oF, oE, oL, oH))
            Self.sortRegion(b, 0, nC)
            Self.sortRegion(b, oF, oE)
            Self.sortRegion(b, oE, oL)
            Self.sortRegion(b, oL, oH)
            Self.sortRegion(b, oH, total)
            // Merge the C registrations of one date into one decision, at the front of the C region.
            var i = 0
            while i < nC {
                var d = b[i]
                var j = i + 1
                while j < nC && b[j].date == d.date { d.a |= b[j].a; j += 1 }
                b[nD] = d
                nD += 1
                i = j
            }
        }
        decisions = DecisionList(storage: buf, offset: 0, count: nD)
        feedback = PointList(storage: buf, offset: oF, count: nF)
        evaluations = PointList(storage: buf, offset: oE, count: nE)
        postponements = PointList(storage: buf, offset: oL, count: nL)
        helpNeeds = PointList(storage: buf, offset: oH, count: nH)
    }

    /// Pass 2: the once-only milestones directly, the repeating ones into their regions of `b`.
    @inline(__always)
    mutating func scan(_ marks: [Mark], validAt: CivilDate?, into b: inout UnsafeMutableBufferPointer<Entry>,
                       offsets: (Int, Int, Int, Int, Int)) {
        var (iC, iF, iE, iL, iH) = offsets
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
            let p = Point(date: m.date, setting: m.setting, place: m.place, outcome: m.code.outcomeByte)
            switch m.code.event {
            case .start:
                if start == nil || p.precedes(start!) {
                    start = Point(date: m.date, setting: m.setting, place: m.place)
                    emergencyAssessment = m.emergencyDate
                    patient = m.patient; institution = m.institution; unit = m.unit
                    hasIdentityFromStart = true
                }
            case .firstAttendance: Self.keepFirst(&firstAttendance, p)
            case .detoxFinished: Self.keepFirst(&detoxFinished, p)
            case .activity:
                var q = p
                q.outcome = 0
                switch m.code.outcomeByte {
                case UInt8(ascii: "B"): Self.keepFirst(&informed, q)
                case UInt8(ascii: "U"): Self.keepFirst(&involved, q)
                default: Self.keepFirst(&feedbackTool, q)
                }
            case .end:
                if end == nil || p.precedes(end!) { end = p }
            case .clinicalDecision:
                b[iC] = Entry(date: m.date, place: m.place, setting: m.setting,
                              a: OutcomeSet(letter: m.code.outcomeByte).rawValue, b: m.code.outcomeByte)
                iC += 1
            case .feedback:
                b[iF] = Entry(date: m.date, place: m.place, setting: m.setting, a: 0, b: 0); iF += 1
            case .evaluation:
                b[iE] = Entry(date: m.date, place: m.place, setting: m.setting, a: 0, b: 0); iE += 1
            case .patientPostponed:
                b[iL] = Entry(date: m.date, place: m.place, setting: m.setting, a: 0, b: 0); iL += 1
            case .helpNeeded:
                b[iH] = Entry(date: m.date, place: m.place, setting: m.setting, a: m.code.outcomeByte, b: 0); iH += 1
            }
        }
    }

    @inline(__always) static func keepFirst(_ slot: inout Point?, _ p: Point) {
        if slot == nil || p.precedes(slot!) { slot = p }
    }

    /// Insertion sort by (date, place): the marks come in place order, so dates are nearly sorted.
    @inline(__always) static func sortRegion(_ a: UnsafeMutableBufferPointer<Entry>, _ from: Int, _ to: Int) {
        guard to - from > 1 else { return }
        for k in (from + 1)..<to {
            let e = a[k]
            var i = k
            while i > from && e.precedes(a[i - 1]) { a[i] = a[i - 1]; i -= 1 }
            a[i] = e
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

extension PathwayCode {
    /// Builds a code from parts this module already validated, skipping the code-system lookup
    /// (which builds arrays) on the hot paths of the folds.
    @inlinable init(trusted event: PathwayEvent, outcomeByte: UInt8) {
        self.event = event
        self.outcomeByte = outcomeByte
    }

    /// The same check as ``init(event:outcome:)``, without allocating.
    static func isValid(event: PathwayEvent, outcomeByte o: UInt8) -> Bool {
        func any(_ letters: StaticString) -> Bool {
            letters.withUTF8Buffer { $0.contains(o) }
        }
        switch event {
        case .clinicalDecision: return any("UPTSKAI")
        case .activity: return any("BUF")
        case .end: return any("GPMAROSN")
        case .helpNeeded: return any("PTSKAI")
        default: return o == 0
        }
    }
}
