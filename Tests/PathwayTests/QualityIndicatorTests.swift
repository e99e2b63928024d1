import Testing
import Pathway
import Deadlines
@testable import Quality

/// Each indicator on hand-built histories; every expected number is worked out in the comments.
@Suite("Quality indicators")
struct QualityIndicatorTests {
    let s = SymbolTable()
    func ep(_ institution: String = "HF-A", _ unit: String = "poli-1") -> QT.Episode { QT.Episode(s, institution, unit) }

    @Test("basic-assessment-on-time: met on the due day counts, the day after does not (both settings)")
    func basicAssessmentBoundary() {
        var onDue = ep(); onDue.add(.A, "2026-02-20"); onDue.add(.M, "2026-03-01"); onDue.add(.C("T"), "2026-03-22") // 21 days: met
        var dayAfter = ep(); dayAfter.add(.A, "2026-02-20"); dayAfter.add(.M, "2026-03-01"); dayAfter.add(.C("T"), "2026-03-23") // 22: late
        var inOnDue = ep(); inOnDue.add(.A, "2026-03-01", .inpatient); inOnDue.add(.M, "2026-03-10", .inpatient)
        inOnDue.add(.C("K"), "2026-03-17", .inpatient) // 7 days inpatient: met
        var inLate = ep(); inLate.add(.A, "2026-03-01", .inpatient); inLate.add(.M, "2026-03-10", .inpatient)
        inLate.add(.C("K"), "2026-03-18", .inpatient) // 8: late
        var noDecision = ep(); noDecision.add(.A, "2026-03-01"); noDecision.add(.M, "2026-03-02") // not completed: not counted
        let rows = QT.rows([onDue.marks, dayAfter.marks, inOnDue.marks, inLate.marks, noDecision.marks], symbols: s)
        // March: 2 of 4 on time; counted in the decision's month, so nothing in February.
        #expect(QT.nd(rows, "basic-assessment-on-time", "2026-03") == [2, 4])
        #expect(QT.row(rows, "basic-assessment-on-time", "2026-03")?.share == 0.5)
        #expect(QT.row(rows, "basic-assessment-on-time", "2026-02") == nil)
        #expect(QT.nd(rows, "basic-assessment-on-time", "2026-T1") == [2, 4])
        #expect(QT.nd(rows, "basic-assessment-on-time", "2026") == [2, 4])
    }

    @Test("total-assessment-on-time: M → decision after CU within 63 days; CU without a second decision is not counted")
    func totalAssessment() {
        var met = ep(); met.add(.A, "2026-01-02"); met.add(.M, "2026-01-05"); met.add(.C("U"), "2026-01-20")
        met.add(.C("T"), "2026-03-09") // M → C2 = 63 days: met
        var late = ep(); late.add(.A, "2026-01-02"); late.add(.M, "2026-01-05"); late.add(.C("U"), "2026-01-20")
        late.add(.C("T"), "2026-03-10") // 64: late
        // Basic assessment overrun (CU after 30 days): the extended timer would allow CU + 42 = 2026-03-18,
        // but the total time is binding: M → C2 = 70 days is late.
        var overrun = ep(); overrun.add(.A, "2026-01-02"); overrun.add(.M, "2026-01-05"); overrun.add(.C("U"), "2026-02-04")
        overrun.add(.C("K"), "2026-03-16")
        var open = ep(); open.add(.A, "2026-01-02"); open.add(.M, "2026-01-05"); open.add(.C("U"), "2026-01-20")
        var notCU = ep(); notCU.add(.A, "2026-01-02"); notCU.add(.M, "2026-01-05"); notCU.add(.C("T"), "2026-03-09")
        let rows = QT.rows([met.marks, late.marks, overrun.marks, open.marks, notCU.marks], symbols: s)
        #expect(QT.nd(rows, "total-assessment-on-time", "2026-03") == [1, 3])
        #expect(QT.row(rows, "total-assessment-on-time", "2026-01") == nil)
        // The CU decisions are first decisions: basic assessment counts met, late and open in January (15 days
        // each), overrun in February (30 days, late), and notCU in March (63 days, late).
        #expect(QT.nd(rows, "basic-assessment-on-time", "2026-01") == [3, 3])
        #expect(QT.nd(rows, "basic-assessment-on-time", "2026-02") == [0, 1])
        #expect(QT.nd(rows, "basic-assessment-on-time", "2026-03") == [0, 1])
    }

    @Test("total-assessment-on-time: no total time under a rule version without one (2019)")
    func totalAssessmentOldRules() {
        var e = ep(); e.add(.A, "2020-01-02"); e.add(.M, "2020-01-05"); e.add(.C("U"), "2020-01-20"); e.add(.C("T"), "2020-02-10")
        let rows = QT.rows([e.marks], symbols: s)
        #expect(rows.allSatisfy { $0.indicator != "total-assessment-on-time" })
        #expect(QT.nd(rows, "basic-assessment-on-time", "2020-01") == [1, 1])
    }

    @Test("detox-to-first-attendance-on-time: 3 days outpatient, same day inpatient, counted at M")
    func detox() {
        var out3 = ep(); out3.add(.A, "2026-02-20"); out3.add(.D, "2026-02-27"); out3.add(.M, "2026-03-02") // 3 days: met
        var out4 = ep(); out4.add(.A, "2026-02-20"); out4.add(.D, "2026-02-27"); out4.add(.M, "2026-03-03") // 4: late
        var in0 = ep(); in0.add(.A, "2026-02-20", .inpatient); in0.add(.D, "2026-03-05", .inpatient)
        in0.add(.M, "2026-03-05", .inpatient) // same day: met
        var in1 = ep(); in1.add(.A, "2026-02-20", .inpatient); in1.add(.D, "2026-03-05", .inpatient)
        in1.add(.M, "2026-03-06", .inpatient) // next day: late
        var noM = ep(); noM.add(.A, "2026-02-20"); noM.add(.D, "2026-03-01")
        // L does not postpone detox → M (the seed's L covers assessment and evaluation times only).
        var withL = ep(); withL.add(.A, "2026-02-20"); withL.add(.D, "2026-03-01"); withL.add(.L, "2026-03-02"); withL.add(.M, "2026-03-10")
        let rows = QT.rows([out3.marks, out4.marks, in0.marks, in1.marks, noM.marks, withL.marks], symbols: s)
        #expect(QT.nd(rows, "detox-to-first-attendance-on-time", "2026-03") == [2, 5])
        #expect(QT.row(rows, "detox-to-first-attendance-on-time", "2026-03")?.postponed == 0)
        #expect(QT.nd(rows, "detox-to-first-attendance-on-time", "2026-03", .national, "national", "service-caused") == [2, 5])
        #expect(QT.row(rows, "detox-to-first-attendance-on-time", "2026-02") == nil)
    }

    @Test("first-evaluation-on-time: final decision with T → first E, counted at E")
    func firstEvaluation() {
        var met = ep(); met.add(.A, "2026-02-01"); met.add(.M, "2026-02-10"); met.add(.C("T"), "2026-03-01"); met.add(.E, "2026-03-15") // 14: met
        var late = ep(); late.add(.A, "2026-02-01"); late.add(.M, "2026-02-10"); late.add(.C("T"), "2026-03-01"); late.add(.E, "2026-03-16") // 15
        var inpatient = ep(); inpatient.add(.A, "2026-02-01", .inpatient); inpatient.add(.M, "2026-02-02", .inpatient)
        inpatient.add(.C("T"), "2026-02-06", .inpatient); inpatient.add(.E, "2026-02-13", .inpatient) // 7 inpatient: met, in February
        var noT = ep(); noT.add(.A, "2026-02-01"); noT.add(.M, "2026-02-10"); noT.add(.C("K"), "2026-03-01"); noT.add(.E, "2026-03-05")
        var afterCU = ep(); afterCU.add(.A, "2026-01-01"); afterCU.add(.M, "2026-01-02"); afterCU.add(.C("U"), "2026-01-10")
        afterCU.add(.C("T"), "2026-02-20"); afterCU.add(.E, "2026-03-20") // from the final decision: 28 days, late
        let rows = QT.rows([met.marks, late.marks, inpatient.marks, noT.marks, afterCU.marks], symbols: s)
        #expect(QT.nd(rows, "first-evaluation-on-time", "2026-03") == [1, 3])
        #expect(QT.nd(rows, "first-evaluation-on-time", "2026-02") == [1, 1])
        #expect(QT.nd(rows, "first-evaluation-on-time", "2026-T1") == [2, 4])
    }

    @Test("evaluation-interval-kept: each E → next E interval, in the later E's period")
    func evaluationIntervals() {
        var e = ep()
        e.add(.A, "2025-12-01"); e.add(.M, "2025-12-05"); e.add(.C("T"), "2026-01-03")
        e.add(.E, "2026-01-10") // first evaluation, 7 days: met
        e.add(.E, "2026-03-07") // 56 days: kept, counted in March
        e.add(.E, "2026-05-03") // 57 days: not kept, counted in May
        e.add(.E, "2026-05-20") // 17 days: kept, May
        var other = ep(); other.add(.A, "2026-01-01"); other.add(.M, "2026-01-02"); other.add(.C("T"), "2026-01-05")
        other.add(.E, "2026-01-12"); other.add(.E, "2026-03-31") // 78 days: not kept, March
        let rows = QT.rows([e.marks, other.marks], symbols: s)
        #expect(QT.nd(rows, "evaluation-interval-kept", "2026-03") == [1, 2])
        #expect(QT.nd(rows, "evaluation-interval-kept", "2026-05") == [1, 2])
        #expect(QT.nd(rows, "evaluation-interval-kept", "2026-T1") == [1, 2])
        #expect(QT.nd(rows, "evaluation-interval-kept", "2026-T2") == [1, 2])
        #expect(QT.nd(rows, "evaluation-interval-kept", "2026") == [2, 4])
        #expect(QT.row(rows, "evaluation-interval-kept", "2026-01") == nil)
    }

    /// Ended episodes for the X-dated indicators:
    /// g: XG with UB, UU, F, UF · p: XP with UB · m: XM with F, F · a: XA with nothing ·
    /// r: XR with UB (out of every X-share indicator but the distribution) · o: XO with UU and F ·
    /// n: XN with UF · s: XS · open: not ended (not counted).
    func endedEpisodes() -> [[Mark]] {
        func ended(_ x: Character, _ extra: [PathwayCode]) -> [Mark] {
            var e = ep(); e.add(.A, "2026-01-10"); e.add(.M, "2026-01-12"); e.add(.C("T"), "2026-01-20")
            for c in extra { e.add(c, "2026-02-01") }
            e.add(.E, "2026-02-02"); e.add(.X(x), "2026-03-15")
            return e.marks
        }
        var open = ep(); open.add(.A, "2026-01-10"); open.add(.U("B"), "2026-01-11"); open.add(.F, "2026-01-12")
        return [
            ended("G", [.U("B"), .U("U"), .F, .U("F")]), ended("P", [.U("B")]), ended("M", [.F, .F]), ended("A", []),
            ended("R", [.U("B")]), ended("O", [.U("U"), .F]), ended("N", [.U("F")]), ended("S", []), open.marks,
        ]
    }

    @Test("informed-of-options, involved-in-plan, feedback-to-gp, feedback-tool-used: ended, outcome not R")
    func endShares() {
        let rows = QT.rows(endedEpisodes(), symbols: s)
        // Denominator: g p m a o n s = 7 (r excluded, open not ended).
        #expect(QT.nd(rows, "informed-of-options", "2026-03") == [2, 7]) // g p
        #expect(QT.nd(rows, "involved-in-plan", "2026-03") == [2, 7]) // g o
        #expect(QT.nd(rows, "feedback-to-gp", "2026-03") == [3, 7]) // g m o (m's two F count once)
        #expect(QT.nd(rows, "feedback-tool-used", "2026-03") == [2, 7]) // g n
        #expect(QT.row(rows, "informed-of-options", "2026-03")?.postponed == nil)
        #expect(QT.row(rows, "informed-of-options", "2026-03", .national, "national", "service-caused") == nil)
        #expect(QT.row(rows, "informed-of-options", "2026-02") == nil)
    }

    @Test("ended-by-agreement (KvaRus) and dropout")
    func agreementAndDropout() {
        let rows = QT.rows(endedEpisodes(), symbols: s)
        #expect(QT.nd(rows, "ended-by-agreement", "2026-03") == [1, 3]) // XG of g p m
        #expect(QT.nd(rows, "dropout", "2026-03") == [2, 5]) // p m of g p m a s (not r o n)
    }

    @Test("patient-postponed: episodes open in the period; numerator those with an L dated in it")
    func patientPostponed() {
        // one: open 2026-01-15 … 2026-05-10, L in March. two: open from 2026-04-20, never ended.
        // three: open 2025-11-01 … 2026-01-05, L in December 2025. four: open 2026-02-03 … 2026-02-27,
        // two L in February (counts once), and an L after its end (not counted).
        var one = ep(); one.add(.A, "2026-01-15"); one.add(.M, "2026-01-20"); one.add(.L, "2026-03-03"); one.add(.X("P"), "2026-05-10")
        var two = ep(); two.add(.A, "2026-04-20")
        var three = ep(); three.add(.A, "2025-11-01"); three.add(.L, "2025-12-01"); three.add(.X("A"), "2026-01-05")
        var four = ep(); four.add(.A, "2026-02-03"); four.add(.L, "2026-02-05"); four.add(.L, "2026-02-20")
        four.add(.X("M"), "2026-02-27"); four.add(.L, "2026-03-01")
        let rows = QT.rows([one.marks, two.marks, three.marks, four.marks], symbols: s)
        let pp = "patient-postponed"
        #expect(QT.nd(rows, pp, "2025-11") == [0, 1]) // three
        #expect(QT.nd(rows, pp, "2025-12") == [1, 1]) // three, L
        #expect(QT.nd(rows, pp, "2026-01") == [0, 2]) // three (until the 5th), one
        #expect(QT.nd(rows, pp, "2026-02") == [1, 2]) // one; four with L
        #expect(QT.nd(rows, pp, "2026-03") == [1, 1]) // one with L (four's March L is after its end)
        #expect(QT.nd(rows, pp, "2026-04") == [0, 2]) // one, two
        #expect(QT.nd(rows, pp, "2026-05") == [0, 2]) // one (until the 10th), two
        #expect(QT.nd(rows, pp, "2025-T3") == [1, 1])
        #expect(QT.nd(rows, pp, "2026-T1") == [2, 4]) // three one four two; L: one, four
        #expect(QT.nd(rows, pp, "2026-T2") == [0, 2])
        #expect(QT.nd(rows, pp, "2025") == [1, 1])
        #expect(QT.nd(rows, pp, "2026") == [2, 4])
        // Rows stop at the last month with data: two is open but June has no data.
        #expect(QT.row(rows, pp, "2026-06") == nil)
        #expect(QT.row(rows, pp, "2026-03")?.postponed == nil)
    }

    @Test("time indicators three ways: all (with postponed), service-caused, and the postponed count")
    func threeWays() {
        // Basic assessment, all in March. L counts when dated on or after M and on or before the decision.
        var metNoL = ep(); metNoL.add(.A, "2026-02-20"); metNoL.add(.M, "2026-03-01"); metNoL.add(.C("T"), "2026-03-10")
        var lateWithL = ep(); lateWithL.add(.A, "2026-02-20"); lateWithL.add(.M, "2026-03-01"); lateWithL.add(.L, "2026-03-05")
        lateWithL.add(.C("T"), "2026-03-30") // 29 days, postponed
        var metWithL = ep(); metWithL.add(.A, "2026-02-20"); metWithL.add(.M, "2026-03-01"); metWithL.add(.L, "2026-03-22")
        metWithL.add(.C("T"), "2026-03-22") // 21 days with L the same day: met, postponed
        var lateNoL = ep(); lateNoL.add(.A, "2026-02-20"); lateNoL.add(.M, "2026-03-01"); lateNoL.add(.C("T"), "2026-03-31")
        var lBefore = ep(); lBefore.add(.A, "2026-02-20"); lBefore.add(.L, "2026-02-25"); lBefore.add(.M, "2026-03-01")
        lBefore.add(.C("T"), "2026-03-31") // L before M: not postponed, late
        var lAfter = ep(); lAfter.add(.A, "2026-02-20"); lAfter.add(.M, "2026-03-01"); lAfter.add(.C("T"), "2026-03-02")
        lAfter.add(.L, "2026-03-03") // L after the decision: not postponed (for this timer), met
        let rows = QT.rows([metNoL.marks, lateWithL.marks, metWithL.marks, lateNoL.marks, lBefore.marks, lAfter.marks], symbols: s)
        let all = QT.row(rows, "basic-assessment-on-time", "2026-03")
        #expect(all?.numerator == 3) // metNoL metWithL lAfter
        #expect(all?.denominator == 6)
        #expect(all?.postponed == 2) // lateWithL metWithL
        let sc = QT.row(rows, "basic-assessment-on-time", "2026-03", .national, "national", "service-caused")
        #expect(sc?.numerator == 2) // metNoL lAfter
        #expect(sc?.denominator == 4)
        #expect(sc?.postponed == nil)
        #expect(sc?.share == 0.5)
    }

    @Test("a service-caused row is left out when every episode of the cell was postponed")
    func serviceCausedEmpty() {
        var e = ep(); e.add(.A, "2026-02-20"); e.add(.M, "2026-03-01"); e.add(.L, "2026-03-05"); e.add(.C("T"), "2026-03-30")
        let rows = QT.rows([e.marks], symbols: s)
        #expect(QT.nd(rows, "basic-assessment-on-time", "2026-03") == [0, 1])
        #expect(QT.row(rows, "basic-assessment-on-time", "2026-03", .national, "national", "service-caused") == nil)
    }

    @Test("the shipped rule book: quality and the deadline projection agree timer by timer")
    func agreesWithDeadlines() {
        let book = RuleBook.bundled
        var episodes: [[Mark]] = []
        for (i, days) in [5, 21, 22, 30].enumerated() {
            var e = ep(); e.add(.A, "2026-03-01"); e.add(.M, "2026-03-02")
            if i == 3 { e.add(.L, "2026-03-10") }
            e.add(.C("T"), CivilDate("2026-03-02")!.adding(days: days).description)
            episodes.append(e.marks)
        }
        let rows = QualityTable.rows(counters: QT.counters(episodes, symbols: s, rules: book), query: QualityQuery(by: .national))
        let timers = episodes.flatMap { Deadlines.timers(for: $0, rules: book) }.filter { $0.kind == .basicAssessment }
        let met = timers.filter { $0.status == .met }.count
        let postponed = timers.filter(\.patientPostponed).count
        let april = QT.row(rows, "basic-assessment-on-time", "2026-04")
        let march = QT.row(rows, "basic-assessment-on-time", "2026-03")
        #expect((march?.numerator ?? 0) + (april?.numerator ?? 0) == met)
        #expect(met == 2)
        #expect((march?.postponed ?? 0) + (april?.postponed ?? 0) == postponed)
        #expect(postponed == 1)
    }
}
