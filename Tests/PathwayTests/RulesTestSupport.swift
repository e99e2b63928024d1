import Pathway

/// `YYYY-MM-DD` → CivilDate, for test tables.
func ymd(_ s: String) -> CivilDate { CivilDate(s)! }

/// An episode's history written as a script, one registration per `;`-separated step:
/// `CODE DATE [in] [e=DATE]` — the code without `D01` (`A`, `M`, `CT`, `XG`…), the date, `in` for
/// inpatient (default outpatient), `e=` an emergency assessment date (on A). Positions are 1, 2, 3…
/// in script order, so a test names a registration by its step number.
struct RulesTimeline {
    var history = EpisodeHistory()
    var nextPosition: UInt64 = 1
    var institution: Int32 = 2
    var unit: Int32 = 3

    init(_ script: String = "") {
        for step in script.split(separator: ";") { add(String(step)) }
    }

    static func mark(_ step: String, position: UInt64, institution: Int32 = 2, unit: Int32 = 3) -> Mark {
        let parts = step.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 2, let code = PathwayCode(procedureCode: "D01" + parts[0]), let date = CivilDate(parts[1]) else {
            fatalError("bad script step '\(step)'")
        }
        var setting = CareSetting.outpatient
        var emergency: CivilDate? = nil
        for p in parts.dropFirst(2) {
            if p == "in" { setting = .inpatient } else if p.hasPrefix("e=") { emergency = CivilDate(String(p.dropFirst(2)))! }
        }
        return Mark(code: code, setting: setting, date: date, emergencyDate: emergency, place: position, position: position,
                    patient: 1, institution: institution, unit: unit)
    }

    /// Registers one step; returns its position.
    @discardableResult
    mutating func add(_ step: String) -> UInt64 {
        let p = nextPosition
        nextPosition += 1
        history.register(Self.mark(step, position: p, institution: institution, unit: unit))
        return p
    }

    /// Corrects the registration (or correction) at `target` with a full replacement; returns the correction's position.
    @discardableResult
    mutating func correct(_ target: UInt64, _ step: String) -> UInt64 {
        let p = nextPosition
        nextPosition += 1
        precondition(history.correct(targetPosition: target, with: Self.mark(step, position: p, institution: institution, unit: unit)))
        return p
    }

    /// Voids the registration (or correction) at `target`; the voiding takes a position of its own.
    mutating func void(_ target: UInt64) {
        nextPosition += 1
        precondition(history.void(targetPosition: target))
    }

    var marks: [Mark] { history.marks }
    var findings: [Finding] { PathwayRules.findings(marks) }
    var ruleIDs: [String] { findings.map(\.rule.id) }
    var state: EpisodeState { EpisodeState(marks: marks, allVoided: history.isAllVoided) }
}

/// A small deterministic generator for property-style tests.
struct RulesSplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }
}

/// Random but plausible episodes with noise (duplicates, odd orders, corrections and voidings), for
/// invariants that must hold on any history.
func rulesRandomTimeline(seed: UInt64) -> RulesTimeline {
    var r = RulesSplitMix(seed: seed)
    var t = RulesTimeline()
    var day = ymd("2021-06-01").adding(days: r.int(0...900))
    func setting() -> String { r.chance(30) ? " in" : "" }
    func step(_ code: String, _ extra: String = "") -> String { "\(code) \(day)\(setting())\(extra)" }
    var positions: [UInt64] = []
    let emergency = r.chance(15) ? " e=\(day.adding(days: -r.int(0...20)))" : ""
    positions.append(t.add(step("A", emergency)))
    if r.chance(25) { day = day.adding(days: r.int(0...5)); positions.append(t.add(step("D"))) }
    day = day.adding(days: r.int(0...6)); positions.append(t.add(step("M")))
    if r.chance(30) { positions.append(t.add(step("UB"))) }
    if r.chance(10) { positions.append(t.add(step("L"))) }
    day = day.adding(days: r.int(0...30))
    if r.chance(35) {
        positions.append(t.add(step("CU")))
        day = day.adding(days: r.int(10...70))
    }
    let outcomes = ["T", "T", "T", "K", "P", "I", "S", "A"]
    positions.append(t.add(step("C" + outcomes[r.int(0...outcomes.count - 1)])))
    if r.chance(20) { positions.append(t.add(step("CK"))) }
    if r.chance(50) { positions.append(t.add(step("UU"))) }
    for _ in 0..<r.int(0...9) {
        day = day.adding(days: r.int(3...100))
        positions.append(t.add(step(r.chance(10) ? "L" : (r.chance(15) ? "F" : "E"))))
    }
    if r.chance(70) {
        day = day.adding(days: r.int(0...40))
        let ends = ["G", "G", "P", "M", "A", "R", "O", "N", "S"]
        positions.append(t.add(step("X" + ends[r.int(0...ends.count - 1)])))
        if r.chance(60) { positions.append(t.add(step("H" + ["T", "K", "I"][r.int(0...2)]))) }
    }
    if r.chance(10) { positions.append(t.add("M \(day.adding(days: r.int(-60...5)))")) }
    // Corrections and voidings of random registrations.
    for _ in 0..<r.int(0...2) {
        let target = positions[r.int(0...positions.count - 1)]
        guard let (slot, version) = t.history.locate(target) else { continue }
        if r.chance(40) {
            t.void(target)
        } else {
            let m = t.history.slots[slot].versions[version]
            let moved = m.date.adding(days: r.int(-10...10))
            let code = m.code.procedureCode.dropFirst(3)
            positions.append(t.correct(target, "\(code) \(moved)\(m.setting == .inpatient ? " in" : "")"))
        }
    }
    return t
}
