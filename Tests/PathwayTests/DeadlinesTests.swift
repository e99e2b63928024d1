import Testing
import Pathway
import Deadlines

typealias DLTimer = Deadlines.Timer

func deadlineTimers(_ script: String, asOf: String? = nil, rules: RuleBook = .bundled) -> [DLTimer] {
    Deadlines.timers(for: RulesTimeline(script).marks, rules: rules, asOf: asOf.map(ymd))
}

func deadlineTimer(_ kind: DLTimer.Kind, _ script: String, start: String? = nil, asOf: String? = nil,
                   rules: RuleBook = .bundled) -> DLTimer? {
    deadlineTimers(script, asOf: asOf, rules: rules).first { $0.kind == kind && (start == nil || $0.start == ymd(start!)) }
}

/// One pathway time at its boundary: `before` starts the timer, `meeting` (with `{}` for the date)
/// meets it.
struct DeadlineBoundary: Sendable, CustomTestStringConvertible {
    var kind: DLTimer.Kind
    var before: String
    var meeting: String
    var start: String
    var due: String
    var setting: CareSetting
    /// The due date while not met, when it differs (detox → first attendance in D's setting).
    var openDue: String? = nil
    /// Whether the timer exists before the meeting registration (not for the emergency start, known from A).
    var runsOpen = true
    var testDescription: String { "\(kind.name) \(setting.name)" }
}

@Suite("Deadlines")
struct DeadlinesTests {
    static let boundaries: [DeadlineBoundary] = [
        DeadlineBoundary(kind: .detoxToFirstAttendance, before: "A 2026-01-05 in; D 2026-01-10 in", meeting: "M {}",
                         start: "2026-01-10", due: "2026-01-13", setting: .outpatient, openDue: "2026-01-10"),
        DeadlineBoundary(kind: .detoxToFirstAttendance, before: "A 2026-01-05 in; D 2026-01-10 in", meeting: "M {} in",
                         start: "2026-01-10", due: "2026-01-10", setting: .inpatient),
        DeadlineBoundary(kind: .basicAssessment, before: "A 2026-01-05; M 2026-01-06", meeting: "CT {}",
                         start: "2026-01-06", due: "2026-01-27", setting: .outpatient),
        DeadlineBoundary(kind: .basicAssessment, before: "A 2026-01-05 in; M 2026-01-06 in", meeting: "CT {} in",
                         start: "2026-01-06", due: "2026-01-13", setting: .inpatient),
        // CU after 10 of 21 basic days: 42 + 11 carried over.
        DeadlineBoundary(kind: .extendedAssessment, before: "A 2026-01-05; M 2026-01-06; CU 2026-01-16", meeting: "CT {}",
                         start: "2026-01-16", due: "2026-03-10", setting: .outpatient),
        DeadlineBoundary(kind: .totalAssessment, before: "A 2026-01-05; M 2026-01-06; CU 2026-01-16", meeting: "CK {}",
                         start: "2026-01-06", due: "2026-03-10", setting: .outpatient),
        DeadlineBoundary(kind: .firstEvaluation, before: "A 2026-01-05; M 2026-01-06; CT 2026-01-20", meeting: "E {}",
                         start: "2026-01-20", due: "2026-02-03", setting: .outpatient),
        DeadlineBoundary(kind: .firstEvaluation, before: "A 2026-01-05 in; M 2026-01-06 in; CT 2026-01-20 in", meeting: "E {} in",
                         start: "2026-01-20", due: "2026-01-27", setting: .inpatient),
        DeadlineBoundary(kind: .nextEvaluation, before: "A 2026-01-05; M 2026-01-06; CT 2026-01-20; E 2026-02-01", meeting: "E {}",
                         start: "2026-02-01", due: "2026-03-29", setting: .outpatient),
        DeadlineBoundary(kind: .nextEvaluation, before: "A 2026-01-05 in; M 2026-01-06 in; CT 2026-01-20 in; E 2026-02-01 in",
                         meeting: "E {} in", start: "2026-02-01", due: "2026-03-15", setting: .inpatient),
        DeadlineBoundary(kind: .emergencyStart, before: "", meeting: "A {} e=2026-01-01",
                         start: "2026-01-01", due: "2026-01-15", setting: .outpatient, runsOpen: false),
        DeadlineBoundary(kind: .emergencyStart, before: "", meeting: "A {} e=2026-01-01 in",
                         start: "2026-01-01", due: "2026-01-15", setting: .inpatient, runsOpen: false),
    ]

    static func script(_ b: DeadlineBoundary, metOn date: CivilDate) -> String {
        let step = b.meeting.replacing("{}", with: date.description)
        return b.before.isEmpty ? step : b.before + "; " + step
    }

    @Test("met on the due day is met, the day after is met-late", arguments: boundaries)
    func boundary(_ b: DeadlineBoundary) throws {
        let due = ymd(b.due)
        let onTime = try #require(deadlineTimer(b.kind, Self.script(b, metOn: due), start: b.start))
        #expect(onTime.status == .met)
        #expect(onTime.due == due)
        #expect(onTime.met?.date == due)
        #expect(onTime.setting == b.setting)
        #expect(onTime.rulesVersion == "tsb-2022")
        let late = try #require(deadlineTimer(b.kind, Self.script(b, metOn: due.adding(days: 1)), start: b.start))
        #expect(late.status == .metLate)
        #expect(late.due == due)
    }

    @Test("open: running, due-soon within 3 days (the due day included), overdue the day after", arguments: boundaries)
    func openStatuses(_ b: DeadlineBoundary) throws {
        guard b.runsOpen else {
            #expect(deadlineTimer(b.kind, Self.script(b, metOn: ymd(b.due)), start: b.start, asOf: b.due)?.status == .met)
            return
        }
        let due = ymd(b.openDue ?? b.due)
        func status(_ d: CivilDate) -> DLTimer.Status? { deadlineTimer(b.kind, b.before, start: b.start, asOf: d.description)?.status }
        if due.adding(days: -4) >= ymd(b.start) { #expect(status(due.adding(days: -4)) == .running) }
        #expect(status(max(ymd(b.start), due.adding(days: -3))) == .dueSoon)
        #expect(status(due) == .dueSoon)
        #expect(status(due.adding(days: 1)) == .overdue)
        #expect(status(ymd(b.start).adding(days: -1)) == nil)
        let all = try #require(deadlineTimer(b.kind, b.before, start: b.start))
        #expect(all.status == .running)
        #expect(all.met == nil)
    }

    @Test("detox → first attendance is measured by the receiving setting (seed), by D's until M is registered") func detoxSetting() throws {
        let t = try #require(deadlineTimer(.detoxToFirstAttendance, "A 2026-01-05 in; D 2026-01-10 in; M 2026-01-12"))
        #expect(t.status == .met)
        #expect(t.setting == .outpatient)
        #expect(t.openSetting == .inpatient)
        #expect(t.openDue == ymd("2026-01-10"))
        let before = try #require(t.evaluated(asOf: ymd("2026-01-11")))
        #expect(before.status == .overdue)
        #expect(before.setting == .inpatient)
        #expect(before.due == ymd("2026-01-10"))
    }

    @Test("carry-over: unused basic days extend the extended assessment; overrun days are not taken off") func carryOver() throws {
        // CU on the day of M: all 21 basic days carry over.
        let same = try #require(deadlineTimer(.extendedAssessment, "A 2026-01-05; M 2026-01-06; CU 2026-01-06"))
        #expect(same.allowedDays == 63)
        // CU after 21 days: nothing left, nothing taken off.
        let exact = try #require(deadlineTimer(.extendedAssessment, "A 2026-01-05; M 2026-01-06; CU 2026-01-27"))
        #expect(exact.allowedDays == 42)
        // CU after 30 days (basic overrun by 9): still 42; the total is the binding 63.
        let script = "A 2026-01-05; M 2026-01-06; CU 2026-02-05; CT 2026-03-15"
        let ext = try #require(deadlineTimer(.extendedAssessment, script))
        let total = try #require(deadlineTimer(.totalAssessment, script))
        let basic = try #require(deadlineTimer(.basicAssessment, script))
        #expect(ext.allowedDays == 42)
        #expect(ext.due == ymd("2026-03-19"))
        #expect(ext.status == .met)
        #expect(total.due == ymd("2026-03-10"))
        #expect(total.status == .metLate)
        #expect(basic.status == .metLate)
        #expect(basic.met?.code == .C("U"))
    }

    @Test("total assessment only when the first decision is CU; extended and total are outpatient only") func totalOnlyAfterCU() {
        #expect(deadlineTimer(.totalAssessment, "A 2026-01-05; M 2026-01-06; CT 2026-01-20") == nil)
        #expect(deadlineTimer(.extendedAssessment, "A 2026-01-05; M 2026-01-06; CT 2026-01-20") == nil)
        #expect(deadlineTimer(.extendedAssessment, "A 2026-01-05; M 2026-01-06 in; CU 2026-01-10 in") == nil)
        #expect(deadlineTimer(.totalAssessment, "A 2026-01-05; M 2026-01-06 in; CU 2026-01-10 in") == nil)
        // The total assessment becomes known when the first decision turns out to be CU.
        let s = "A 2026-01-05; M 2026-01-06; CU 2026-01-16"
        #expect(deadlineTimer(.totalAssessment, s, asOf: "2026-01-15") == nil)
        #expect(deadlineTimer(.totalAssessment, s, asOf: "2026-01-16")?.status == .running)
    }

    @Test("the first evaluation follows the decision that finished the assessment, when it includes T") func firstEvaluationNeedsT() {
        #expect(deadlineTimer(.firstEvaluation, "A 2026-01-05; M 2026-01-06; CK 2026-01-20") == nil)
        #expect(deadlineTimer(.nextEvaluation, "A 2026-01-05; M 2026-01-06; CK 2026-01-20; E 2026-02-01") == nil)
        let t = deadlineTimer(.firstEvaluation, "A 2026-01-05; M 2026-01-06; CU 2026-01-10; CT 2026-02-10; CK 2026-02-10; E 2026-02-20")
        #expect(t?.start == ymd("2026-02-10"))
        #expect(t?.status == .met)
    }

    @Test("second treatment year: 84 days once an evaluation is 365 days after the decision") func secondYear() throws {
        let base = "A 2024-01-05; M 2024-01-06; CT 2024-02-01; E 2024-02-10; "
        // 2024 is a leap year: 2024-02-01 + 365 days = 2025-01-31.
        let first = try #require(deadlineTimer(.nextEvaluation, base + "E 2025-01-30", start: "2025-01-30"))
        #expect(first.allowedDays == 56)
        let second = try #require(deadlineTimer(.nextEvaluation, base + "E 2025-01-31", start: "2025-01-31"))
        #expect(second.allowedDays == 84)
        let inpatient = try #require(deadlineTimer(.nextEvaluation, base + "E 2025-01-31 in", start: "2025-01-31"))
        #expect(inpatient.allowedDays == 84)
        let inFirstYear = try #require(deadlineTimer(.nextEvaluation, base + "E 2025-01-30 in", start: "2025-01-30"))
        #expect(inFirstYear.allowedDays == 42)
        // The 2019 rules have no second-year relaxation.
        let old = "A 2020-01-05; M 2020-01-06; CT 2020-02-01; E 2021-03-01"
        #expect(deadlineTimer(.nextEvaluation, old)?.allowedDays == 56)
        #expect(deadlineTimer(.nextEvaluation, old)?.rulesVersion == "tsb-2019")
    }

    @Test("each evaluation point starts the next; evaluations on one date are one point") func evaluationChain() {
        let ts = deadlineTimers("A 2026-01-05; M 2026-01-06; CT 2026-01-20; E 2026-02-01; E 2026-02-01; E 2026-03-20; E 2026-06-01")
            .filter { $0.kind == .nextEvaluation }
        #expect(ts.map(\.start) == [ymd("2026-02-01"), ymd("2026-03-20"), ymd("2026-06-01")])
        #expect(ts.map(\.status) == [.met, .metLate, .running])
        #expect(ts.map(\.place) == [4, 6, 7])
    }

    @Test("the rules version is the one in effect on the start date") func versionSelection() throws {
        let book = RuleBook.bundled
        #expect(book.sets.map(\.version) == ["tsb-2019", "tsb-2022"])
        #expect(book.version(forStart: ymd("2018-06-01")).version == "tsb-2019")
        #expect(book.version(forStart: ymd("2019-01-01")).version == "tsb-2019")
        // The seed's change log dates the newer table: 29 September 2020.
        #expect(book.version(forStart: ymd("2020-09-28")).version == "tsb-2019")
        #expect(book.version(forStart: ymd("2020-09-29")).version == "tsb-2022")
        #expect(book.version(forStart: ymd("2022-01-01")).version == "tsb-2022")
        #expect(book.version(forStart: ymd("2030-01-01")).version == "tsb-2022")
        // The episode's start decides, not the timer's: an episode started the day before keeps
        // 2019's 7 days after the change.
        let old = try #require(deadlineTimer(.firstEvaluation, "A 2020-09-28; M 2020-10-01; CT 2020-10-20"))
        #expect(old.allowedDays == 7)
        #expect(old.rulesVersion == "tsb-2019")
        let new = try #require(deadlineTimer(.firstEvaluation, "A 2020-09-29; M 2020-10-01; CT 2020-10-20"))
        #expect(new.allowedDays == 14)
        #expect(deadlineTimer(.extendedAssessment, "A 2020-09-28; M 2020-10-01; CU 2020-10-20") == nil)
        #expect(deadlineTimer(.extendedAssessment, "A 2020-09-29; M 2020-10-01; CU 2020-10-20")?.allowedDays ?? 0 >= 42)
        #expect(deadlineTimer(.emergencyStart, "A 2020-09-28 e=2020-09-20") == nil)
        #expect(deadlineTimer(.emergencyStart, "A 2022-01-10 e=2021-12-30")?.status == .met)
    }

    @Test("a new version is a new file: no code change") func versionFromData() throws {
        let json = #"{"version":"tsb-2030","effectiveFrom":"2030-01-01","timers":{"basic-assessment":{"outpatient":14,"inpatient":5}}}"#
        let set = try RuleSet(json: Array(json.utf8), file: "tsb-2030.json")
        let book = try RuleBook(RuleBook.bundled.sets + [set])
        let t = try #require(deadlineTimer(.basicAssessment, "A 2030-02-01; M 2030-02-02; CT 2030-02-16", rules: book))
        #expect(t.rulesVersion == "tsb-2030")
        #expect(t.allowedDays == 14)
        #expect(t.status == .met)
        #expect(deadlineTimer(.basicAssessment, "A 2029-12-31; M 2030-02-02", rules: book)?.rulesVersion == "tsb-2022")
        #expect(deadlineTimer(.firstEvaluation, "A 2030-02-01; M 2030-02-02; CT 2030-02-16", rules: book) == nil)
    }

    @Test("rule-set files: the bundled ones round-trip through their JSON; bad files are refused") func ruleSetFiles() throws {
        for set in RuleBook.bundled.sets {
            #expect(try RuleSet(json: Array(set.json().utf8), file: set.version) == set)
        }
        let tsb2022 = try #require(RuleBook.bundled.set(named: "tsb-2022"))
        #expect(tsb2022.effectiveFrom == ymd("2020-09-29"))
        #expect(tsb2022.days(.extendedAssessment, .inpatient) == nil)
        #expect(tsb2022.rule(.nextEvaluation)?.fromSecondYear?.afterDays == 365)
        #expect(tsb2022.rule(.detoxToFirstAttendance)?.patientPostponable == false)
        let bad: [String] = [
            #"{"version":"x","effectiveFrom":"2030-13-01","timers":{}}"#,
            #"{"version":"x","effectiveFrom":"2030-01-01","timers":{"coffee-break":{"outpatient":1}}}"#,
            #"{"version":"x","effectiveFrom":"2030-01-01","timers":{"basic-assessment":{"outpatient":-1}}}"#,
            #"{"version":"x","effectiveFrom":"2030-01-01","timers":{"basic-assessment":{"carryOverUnusedBasicDays":true}}}"#,
            #"{"version":"x""#,
        ]
        for b in bad {
            #expect(throws: RuleBookError.self) { try RuleSet(json: Array(b.utf8), file: "bad.json") }
        }
        #expect(throws: RuleBookError.self) { try RuleBook([]) }
        #expect(throws: RuleBookError.self) { try RuleBook(RuleBook.bundled.sets + RuleBook.bundled.sets) }
    }

    @Test("patient postponement: an L on or after the start and on or before the completion") func postponement() throws {
        let late = try #require(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; L 2026-01-10; CT 2026-01-30"))
        #expect(late.status == .metLate)
        #expect(late.patientPostponed)
        // On the start day and on the met day both count.
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; L 2026-01-06; CT 2026-01-30")?.patientPostponed == true)
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; L 2026-01-30; CT 2026-01-30")?.patientPostponed == true)
        // Before the start, or after the completion, it does not.
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; L 2026-01-05; M 2026-01-06; CT 2026-01-30")?.patientPostponed == false)
        let s = "A 2026-01-05; M 2026-01-06; CT 2026-01-20; L 2026-01-25; E 2026-02-10"
        #expect(deadlineTimer(.basicAssessment, s)?.patientPostponed == false)
        #expect(deadlineTimer(.firstEvaluation, s)?.patientPostponed == true)
        // While running: only an L dated on or before the as-of date.
        let running = "A 2026-01-05; M 2026-01-06; L 2026-01-20"
        #expect(deadlineTimer(.basicAssessment, running, asOf: "2026-01-19")?.patientPostponed == false)
        #expect(deadlineTimer(.basicAssessment, running, asOf: "2026-01-20")?.patientPostponed == true)
        #expect(deadlineTimer(.basicAssessment, running)?.patientPostponed == true)
        // An ended episode: up to the end.
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; L 2026-02-01; XM 2026-02-05")?.patientPostponed == true)
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; XM 2026-02-05; L 2026-02-06")?.patientPostponed == false)
        // Detox → first attendance is not a time the patient postpones (seed: L is for assessment and evaluation times).
        #expect(deadlineTimer(.detoxToFirstAttendance, "A 2026-01-05 in; D 2026-01-10 in; L 2026-01-11; M 2026-01-15")?.patientPostponed == false)
    }

    @Test("no timer is measured backwards") func backwards() {
        // M before D (the order before the 2020 revision): no detox → first attendance time.
        #expect(deadlineTimer(.detoxToFirstAttendance, "A 2020-03-01 in; M 2020-03-02 in; D 2020-03-04 in") == nil)
        // Treatment granted without assessment, then the first attendance: no basic assessment time.
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; CT 2026-01-05; M 2026-01-07") == nil)
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; CT 2026-01-07; M 2026-01-07")?.status == .met)
    }

    @Test("an episode that ended: stopped on or before the due date, missed after it") func stoppedAndMissed() {
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; XP 2026-01-27")?.status == .stopped)
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; XP 2026-01-28")?.status == .missed)
        // A decision dated after the end does not meet the timer.
        let t = deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; XP 2026-01-20; CT 2026-01-22")
        #expect(t?.status == .stopped)
        #expect(t?.met == nil)
        // No timer starts after the end.
        #expect(deadlineTimer(.firstEvaluation, "A 2026-01-05; M 2026-01-06; XP 2026-01-20; CT 2026-01-22") == nil)
        // As of a date before the end the timer is still open.
        #expect(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; XP 2026-01-28", asOf: "2026-01-27")?.status == .dueSoon)
    }

    @Test("as of a date: before, on and after the due date") func asOf() {
        let s = "A 2026-01-05; M 2026-01-06; CT 2026-01-29"
        func status(_ d: String?) -> DLTimer.Status? { deadlineTimer(.basicAssessment, s, asOf: d)?.status }
        #expect(status("2026-01-05") == nil)
        #expect(status("2026-01-06") == .running)
        #expect(status("2026-01-23") == .running)
        #expect(status("2026-01-24") == .dueSoon)
        #expect(status("2026-01-27") == .dueSoon)
        #expect(status("2026-01-28") == .overdue)
        #expect(status("2026-01-29") == .metLate)
        #expect(status("2027-01-01") == .metLate)
        #expect(status(nil) == .metLate)
        // The as-of filter reads corrected dates.
        var t = RulesTimeline(s)
        t.correct(3, "CT 2026-01-20")
        let corrected = Deadlines.timers(for: t.marks, rules: .bundled, asOf: ymd("2026-01-21")).first { $0.kind == .basicAssessment }
        #expect(corrected?.status == .met)
        // A custom due-soon window.
        let wide = Deadlines.timers(for: RulesTimeline(s).marks, rules: .bundled, asOf: ymd("2026-01-20"), dueSoonDays: 7)
        #expect(wide.first { $0.kind == .basicAssessment }?.status == .dueSoon)
    }

    @Test("a correction that moves a date moves the timers that follow it") func correctionMovesDates() throws {
        var t = RulesTimeline("A 2026-01-05; M 2026-01-06; CT 2026-01-25; E 2026-02-10")
        func timer(_ k: DLTimer.Kind) throws -> DLTimer {
            try #require(Deadlines.timers(for: t.marks, rules: .bundled).first { $0.kind == k })
        }
        #expect(try timer(.basicAssessment).status == .met)
        #expect(try timer(.firstEvaluation).status == .metLate)
        let basicID = try timer(.basicAssessment).id
        t.correct(2, "M 2026-01-02")
        #expect(try timer(.basicAssessment).due == ymd("2026-01-23"))
        #expect(try timer(.basicAssessment).status == .metLate)
        #expect(try timer(.basicAssessment).id == basicID)
        t.correct(3, "CT 2026-01-20")
        #expect(try timer(.basicAssessment).status == .met)
        #expect(try timer(.firstEvaluation).due == ymd("2026-02-03"))
        #expect(try timer(.firstEvaluation).status == .metLate)
        t.correct(4, "E 2026-02-03")
        #expect(try timer(.firstEvaluation).status == .met)
        t.void(4)
        #expect(try timer(.firstEvaluation).status == .running)
    }

    @Test("emergency start: A within 14 days of the emergency assessment") func emergencyStart() throws {
        let t = try #require(deadlineTimer(.emergencyStart, "A 2026-01-15 e=2026-01-01; M 2026-01-15"))
        #expect(t.status == .met)
        #expect(t.startedBy.code == nil)
        #expect(t.startedBy.name == "emergency-assessment")
        #expect(t.met?.code == .A)
        #expect(t.visibleFrom == ymd("2026-01-15"))
        #expect(deadlineTimer(.emergencyStart, "A 2026-01-15 e=2026-01-01", asOf: "2026-01-14") == nil)
        #expect(deadlineTimer(.emergencyStart, "A 2026-01-16 e=2026-01-01")?.status == .metLate)
        #expect(deadlineTimer(.emergencyStart, "A 2026-01-16") == nil)
    }

    @Test("transitions: each once, in the half-open window (from, to]") func transitions() throws {
        let ts = deadlineTimers("A 2026-01-05; M 2026-01-06; CT 2026-01-29")
        let basic = ts.filter { $0.kind == .basicAssessment }
        let all = Deadlines.transitions(basic, from: ymd("2026-01-01"), to: ymd("2026-03-01"))
        #expect(all.map(\.kind) == [.becameDueSoon, .becameOverdue, .metLate])
        #expect(all.map(\.date) == [ymd("2026-01-24"), ymd("2026-01-28"), ymd("2026-01-29")])
        #expect(all.map(\.timer.status) == [.dueSoon, .overdue, .metLate])
        #expect(Deadlines.transitions(basic, from: ymd("2026-01-24"), to: ymd("2026-01-28")).map(\.kind) == [.becameOverdue])
        #expect(Deadlines.transitions(basic, from: ymd("2026-01-23"), to: ymd("2026-01-24")).map(\.kind) == [.becameDueSoon])
        // Day-by-day windows report every transition exactly once.
        var daily: [Deadlines.Transition] = []
        var d = ymd("2026-01-01")
        while d < ymd("2026-03-01") {
            daily += Deadlines.transitions(ts, from: d, to: d.adding(days: 1))
            d = d.adding(days: 1)
        }
        #expect(daily == Deadlines.transitions(ts, from: ymd("2026-01-01"), to: ymd("2026-03-01")))
        // Met on time: due-soon then met; never overdue.
        let onTime = deadlineTimers("A 2026-01-05; M 2026-01-06; CT 2026-01-26").filter { $0.kind == .basicAssessment }
        #expect(Deadlines.transitions(onTime, from: ymd("2026-01-01"), to: ymd("2026-03-01")).map(\.kind) == [.becameDueSoon, .met])
        // An inpatient detox with no M: due on the day itself, so due-soon at once, overdue the next day.
        let detox = deadlineTimers("A 2026-01-05 in; D 2026-01-10 in")
        let dt = Deadlines.transitions(detox, from: ymd("2026-01-01"), to: ymd("2026-02-01"))
        #expect(dt.map(\.kind) == [.becameDueSoon, .becameOverdue])
        #expect(dt.map(\.date) == [ymd("2026-01-10"), ymd("2026-01-11")])
    }

    /// The reference reading of the transitions: compare each day's status with the day before's,
    /// each derived from the history filtered to that day.
    @Test("transitions and stored-timer as-of readings equal the history filtered to each date") func propertyAgainstFiltering() {
        let book = RuleBook.bundled
        for seed in UInt64(1)...40 {
            let t = rulesRandomTimeline(seed: seed)
            let marks = t.marks
            guard let first = marks.map(\.date).min(), let last = marks.map(\.date).max() else { continue }
            let full = Deadlines.timers(for: marks, rules: book)
            let from = first.adding(days: -1), to = last.adding(days: 120)
            var expected: [Deadlines.Transition.Kind: Int] = [:]
            var previous: [DLTimer.ID: DLTimer.Status] = [:]
            var d = from
            while d <= to {
                let filtered = Deadlines.timers(for: marks, rules: book, asOf: d)
                let stored = full.compactMap { $0.evaluated(asOf: d) }
                #expect(filtered == stored, "seed \(seed) as of \(d)")
                if d > from {
                    for tm in filtered {
                        let before = previous[tm.id]
                        switch tm.status {
                        case .dueSoon where before != .dueSoon: expected[.becameDueSoon, default: 0] += 1
                        case .overdue where before != .overdue: expected[.becameOverdue, default: 0] += 1
                        case .met where before != .met: expected[.met, default: 0] += 1
                        case .metLate where before != .metLate: expected[.metLate, default: 0] += 1
                        default: break
                        }
                    }
                }
                previous = Dictionary(uniqueKeysWithValues: filtered.map { ($0.id, $0.status) })
                d = d.adding(days: 1)
            }
            let got = Deadlines.transitions(full, from: from, to: to)
            var counted: [Deadlines.Transition.Kind: Int] = [:]
            for tr in got { counted[tr.kind, default: 0] += 1 }
            #expect(counted == expected, "seed \(seed)")
            for tr in got {
                #expect(Deadlines.timers(for: marks, rules: book, asOf: tr.date).first { $0.id == tr.timer.id } == tr.timer)
            }
        }
    }

    @Test("binary encoding of an episode's timers round-trips") func encoding() {
        for seed in UInt64(1)...300 {
            let ts = Deadlines.timers(for: rulesRandomTimeline(seed: seed).marks, rules: .bundled, asOf: ymd("2024-01-01"))
            let bytes = Deadlines.encode(ts)
            #expect(Deadlines.decodeTimers(bytes) == ts, "seed \(seed)")
            #expect(Deadlines.encode(Deadlines.decodeTimers(bytes) ?? []) == bytes)
            for n in 0..<bytes.count { #expect(Deadlines.decodeTimers(Array(bytes[0..<n])) == nil) }
        }
        #expect(Deadlines.decodeTimers(Deadlines.encode([])) == [])
        let typical = deadlineTimers("A 2026-01-05; M 2026-01-06; CT 2026-01-20; E 2026-02-01; E 2026-03-20; E 2026-05-10")
        #expect(Deadlines.encode(typical).count <= 20 + 14 * typical.count)
    }

    @Test("JSON and CSV rows carry the required fields by name") func rendering() throws {
        let t = try #require(deadlineTimer(.basicAssessment, "A 2026-01-05; M 2026-01-06; L 2026-01-10; CT 2026-01-30"))
        #expect(t.jsonRow(episode: "EP-1", institution: "HF-Vest", unit: "TSB,POL") ==
            #"{"episode":"EP-1","institution":"HF-Vest","unit":"TSB,POL","timer":"basic-assessment","start":"2026-01-06","#
            + #""due":"2026-01-27","met":"2026-01-30","status":"met-late","setting":"outpatient","patientPostponed":true,"#
            + #""rulesVersion":"tsb-2022","id":"basic-assessment@2","startedBy":"D01M","metBy":"D01CT","allowedDays":21}"#)
        #expect(t.csvRow(episode: "EP-1", institution: "HF-Vest", unit: "TSB,POL") ==
            #"EP-1,HF-Vest,"TSB,POL",basic-assessment,2026-01-06,2026-01-27,2026-01-30,met-late,outpatient,true,tsb-2022,basic-assessment@2,D01M,D01CT,21"#)
        #expect(DLTimer.csvHeader.split(separator: ",").prefix(11).joined(separator: ",") ==
            "episode,institution,unit,timer,start,due,met,status,setting,patientPostponed,rulesVersion")
        let open = try #require(deadlineTimer(.firstEvaluation, "A 2026-01-05; M 2026-01-06; CT 2026-01-30", asOf: "2026-02-20"))
        #expect(open.jsonRow(episode: "E", institution: "I", unit: "U").contains(#""met":null,"status":"overdue""#))
        #expect(open.csvRow(episode: "E", institution: "I", unit: "U").contains(",2026-02-13,,overdue,"))
        let tr = try #require(Deadlines.transitions([open], from: ymd("2026-02-13"), to: ymd("2026-02-14")).first)
        #expect(tr.jsonLine(episode: "E", institution: "I", unit: "U").hasPrefix(
            #"{"date":"2026-02-14","transition":"became-overdue","episode":"E","institution":"I","unit":"U","timer":"first-evaluation""#))
        #expect(DLTimer.Kind.allCases.map(\.name) == ["detox-to-first-attendance", "basic-assessment", "extended-assessment",
                                                       "total-assessment", "first-evaluation", "next-evaluation", "emergency-start"])
        #expect(DLTimer.Status.allCases.map(\.name) == ["running", "due-soon", "overdue", "met", "met-late", "stopped", "missed"])
    }

    @Test("timers come in a stable order and are deterministic") func ordering() {
        let s = "A 2026-01-05 e=2026-01-01 in; D 2026-01-05 in; M 2026-01-07; CU 2026-01-10; CT 2026-02-10; E 2026-02-20; E 2026-04-01"
        let ts = deadlineTimers(s)
        #expect(ts.map(\.kind) == [.emergencyStart, .detoxToFirstAttendance, .basicAssessment, .totalAssessment,
                                   .extendedAssessment, .firstEvaluation, .nextEvaluation, .nextEvaluation])
        #expect(ts == deadlineTimers(s))
        #expect(Deadlines.timers(for: [], rules: .bundled) == [])
    }
}
