import Pathway

/// One pathway time (*forløpstid*) of a rule set: the days allowed in each care setting.
///
/// A setting without a value has no timer (extended and total assessment are outpatient only).
public struct TimerRule: Sendable, Equatable {
    public var outpatient: Int?
    public var inpatient: Int?
    /// Whether a patient-postponed registration (L) can mark this timer patient-postponed. The seed
    /// (L698–703) has L for "forløpstider for utredning og/eller evalueringspunkter", so the shipped
    /// rule sets leave it off for detox → first attendance and the emergency start.
    public var patientPostponable: Bool
    /// Extended assessment only: add the basic-assessment days left unused when CU was decided.
    public var carryOverUnusedBasicDays: Bool
    /// Next evaluation only: the intervals from the second treatment year.
    public var fromSecondYear: SecondYear?

    public struct SecondYear: Sendable, Equatable {
        /// The second treatment year starts this many days after the decision that finished the
        /// assessment; an evaluation at or after it is followed by the longer interval.
        public var afterDays: Int
        public var outpatient: Int?
        public var inpatient: Int?
        public init(afterDays: Int, outpatient: Int?, inpatient: Int?) {
            self.afterDays = afterDays; self.outpatient = outpatient; self.inpatient = inpatient
        }
    }

    public init(outpatient: Int?, inpatient: Int?, patientPostponable: Bool = true,
                carryOverUnusedBasicDays: Bool = false, fromSecondYear: SecondYear? = nil) {
        self.outpatient = outpatient; self.inpatient = inpatient; self.patientPostponable = patientPostponable
        self.carryOverUnusedBasicDays = carryOverUnusedBasicDays; self.fromSecondYear = fromSecondYear
    }

    @inline(__always) public func days(_ setting: CareSetting) -> Int? {
        setting == .outpatient ? outpatient : inpatient
    }
}

/// One version of the table of pathway times, in force for pathways starting on or after
/// `effectiveFrom` until the next version. Versions are data (JSON resources in `RuleSets/`); which
/// events start and meet each kind of timer is the code's part (see ``Deadlines``).
public struct RuleSet: Sendable, Equatable {
    public let version: String
    public let effectiveFrom: CivilDate
    public let source: String
    /// Indexed by `Kind.rawValue - 1`.
    let rules: [TimerRule?]
    let versionName: ShortName

    /// A version name is at most 16 UTF-8 bytes with no NUL (it is stored inline in every timer).
    public init(version: String, effectiveFrom: CivilDate, source: String = "", timers: [Deadlines.Timer.Kind: TimerRule]) {
        precondition(RuleSet.isValidVersionName(version), "rule-set version '\(version)' must be 1-16 bytes without NUL")
        self.version = version; self.effectiveFrom = effectiveFrom; self.source = source
        self.rules = Deadlines.Timer.Kind.allCases.map { timers[$0] }
        self.versionName = ShortName(version)
    }

    public static func isValidVersionName(_ v: String) -> Bool {
        !v.isEmpty && v.utf8.count <= ShortName.maxBytes && !v.utf8.contains(0)
    }

    public static func == (a: RuleSet, b: RuleSet) -> Bool {
        a.version == b.version && a.effectiveFrom == b.effectiveFrom && a.source == b.source && a.rules == b.rules
    }

    @inline(__always) public func rule(_ kind: Deadlines.Timer.Kind) -> TimerRule? { rules[Int(kind.rawValue) - 1] }

    /// The days allowed for `kind` in `setting`, or nil when this version has no such timer.
    @inline(__always) public func days(_ kind: Deadlines.Timer.Kind, _ setting: CareSetting) -> Int? {
        rule(kind)?.days(setting)
    }

    /// The rule set as JSON, in the resource files' shape with a fixed key order (for `pathway rules --json`).
    /// Without `source` (`includingSource: false`) it is what the timers depend on: the form the
    /// stored projections digest, so rewording a citation does not make a store rebuild them.
    public func json(includingSource: Bool = true) -> String {
        var out = "{"
        JSONText.key("version", into: &out); JSONText.string(version, into: &out)
        out.append(","); JSONText.key("effectiveFrom", into: &out); JSONText.date(effectiveFrom, into: &out)
        if includingSource { out.append(","); JSONText.key("source", into: &out); JSONText.string(source, into: &out) }
        out.append(","); JSONText.key("timers", into: &out); out.append("{")
        var first = true
        func days(_ k: String, _ v: Int?) {
            out.append(","); JSONText.key(k, into: &out); out.append(v.map { String($0) } ?? "null")
        }
        for kind in Deadlines.Timer.Kind.allCases {
            guard let r = rule(kind) else { continue }
            if !first { out.append(",") }
            first = false
            JSONText.key(kind.name, into: &out); out.append("{")
            JSONText.key("outpatient", into: &out); out.append(r.outpatient.map { String($0) } ?? "null")
            days("inpatient", r.inpatient)
            out.append(","); JSONText.key("patientPostponable", into: &out); out.append(r.patientPostponable ? "true" : "false")
            if r.carryOverUnusedBasicDays { out.append(","); JSONText.key("carryOverUnusedBasicDays", into: &out); out.append("true") }
            if let y = r.fromSecondYear {
                out.append(","); JSONText.key("fromSecondYear", into: &out); out.append("{")
                JSONText.key("afterDays", into: &out); out.append(String(y.afterDays))
                days("outpatient", y.outpatient)
                days("inpatient", y.inpatient)
                out.append("}")
            }
            out.append("}")
        }
        out.append("}}")
        return out
    }
}

/// Every rule set the ledger knows, oldest first.
public struct RuleBook: Sendable, Equatable {
    public let sets: [RuleSet]

    /// Sorts the sets by effective-from date; versions must be unique and there must be at least one.
    public init(_ sets: [RuleSet]) throws(RuleBookError) {
        guard !sets.isEmpty else { throw .empty }
        let sorted = sets.sorted { $0.effectiveFrom < $1.effectiveFrom }
        for i in 1..<max(1, sorted.count) where sorted[i].effectiveFrom == sorted[i - 1].effectiveFrom {
            throw .duplicate("\(sorted[i - 1].version) and \(sorted[i].version) take effect on the same date")
        }
        var names = Set<String>()
        for s in sorted where !names.insert(s.version).inserted { throw .duplicate("version \(s.version) is defined twice") }
        self.sets = sorted
    }

    /// The version in effect on `start` (the episode's start date): the latest one effective on or
    /// before it. A pathway starting before every version is measured by the oldest.
    public func version(forStart start: CivilDate) -> RuleSet {
        var i = sets.count - 1
        while i > 0 && sets[i].effectiveFrom > start { i -= 1 }
        return sets[i]
    }

    public func set(named version: String) -> RuleSet? { sets.first { $0.version == version } }
}

public enum RuleBookError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case duplicate(String)
    case malformed(file: String, reason: String)

    public var description: String {
        switch self {
        case .empty: "no rule sets found"
        case .duplicate(let why): "rule sets conflict: \(why)"
        case .malformed(let file, let reason): "rule set \(file) is malformed: \(reason)"
        }
    }
}
