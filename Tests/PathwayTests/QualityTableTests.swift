import Testing
import Pathway
import Deadlines
@testable import Quality

/// Periods, grouping, roll-up, corrections, suppression, drill-down and output formats.
@Suite("Quality table")
struct QualityTableTests {
    let s = SymbolTable()
    func ep(_ institution: String = "HF-A", _ unit: String = "poli-1") -> QT.Episode { QT.Episode(s, institution, unit) }

    /// An episode whose basic assessment is completed on `decision`, `days` after M.
    func basic(_ decision: String, days: Int, _ institution: String = "HF-A", _ unit: String = "poli-1") -> [Mark] {
        var e = ep(institution, unit)
        let c = CivilDate(decision)!
        e.add(.A, c.adding(days: -days - 1).description)
        e.add(.M, c.adding(days: -days).description)
        e.add(.C("T"), decision)
        return e.marks
    }

    @Test("periods: month, tertial and year edges (04-30 vs 05-01, 08-31 vs 09-01, 12-31 vs 01-01)")
    func periodEdges() {
        let rows = QT.rows([
            basic("2026-04-30", days: 5), basic("2026-05-01", days: 30),
            basic("2026-08-31", days: 5), basic("2026-09-01", days: 30),
            basic("2025-12-31", days: 5), basic("2026-01-01", days: 30),
        ], symbols: s)
        let id = "basic-assessment-on-time"
        #expect(QT.nd(rows, id, "2026-04") == [1, 1])
        #expect(QT.nd(rows, id, "2026-05") == [0, 1])
        #expect(QT.nd(rows, id, "2026-T1") == [1, 2]) // 2026-01-01 (late) and 2026-04-30 (on time)
        #expect(QT.nd(rows, id, "2026-T2") == [1, 2]) // 05-01 (late) and 08-31 (on time)
        #expect(QT.nd(rows, id, "2026-T3") == [0, 1]) // 09-01 (late)
        #expect(QT.nd(rows, id, "2025-T3") == [1, 1]) // 2025-12-31
        #expect(QT.nd(rows, id, "2025") == [1, 1])
        #expect(QT.nd(rows, id, "2026") == [2, 5])
        // Months with no completed interval have no row, though they lie between months with data.
        #expect(QT.row(rows, id, "2026-06") == nil)
    }

    @Test("period strings parse and print; bad ones select nothing")
    func periodParsing() {
        #expect(QualityPeriod("2026-03") == .month(2026, 3))
        #expect(QualityPeriod("2026-T1") == .tertial(2026, 1))
        #expect(QualityPeriod("2026") == .year(2026))
        for bad in ["2026-13", "2026-00", "2026-T4", "2026-T0", "26-01", "2026-3", "2026-03-01", "", "abcd"] {
            #expect(QualityPeriod(bad) == nil, "\(bad)")
        }
        #expect(QualityPeriod.month(2026, 3).description == "2026-03")
        #expect(QualityPeriod.tertial(2026, 2).description == "2026-T2")
        #expect(QualityPeriod.tertial(2026, 2).contains(CivilDate("2026-05-01")!))
        #expect(!QualityPeriod.tertial(2026, 2).contains(CivilDate("2026-04-30")!))
        #expect(QualityPeriod.tertial(2026, 3).contains(CivilDate("2026-12-31")!))
        #expect(QT.rows([basic("2026-03-10", days: 3)], symbols: s, QualityQuery(period: "2026-13")).isEmpty)
    }

    @Test("grouping: unit, institution and national; an episode stays with the unit of its start")
    func grouping() {
        var moved = ep("HF-A", "dogn-1")
        moved.add(.A, "2026-03-01", .inpatient)
        moved.add(.M, "2026-03-02", .inpatient, unit: "poli-2") // registered elsewhere: still dogn-1's
        moved.add(.C("T"), "2026-03-05", .inpatient) // 3 days inpatient: on time
        let episodes = [
            basic("2026-03-10", days: 10, "HF-A", "poli-1"), basic("2026-03-11", days: 25, "HF-A", "poli-1"),
            moved.marks,
            // HF-B also has a unit called poli-1: a different unit.
            basic("2026-03-12", days: 25, "HF-B", "poli-1"), basic("2026-03-13", days: 2, "HF-B", "poli-9"),
        ]
        let rows = QT.rows(episodes, symbols: s, QualityQuery(period: "2026-03", indicator: "basic-assessment-on-time"))
        let id = "basic-assessment-on-time"
        #expect(QT.nd(rows, id, "2026-03", .unit, "poli-1", institution: "HF-A") == [1, 2])
        #expect(QT.nd(rows, id, "2026-03", .unit, "poli-1", institution: "HF-B") == [0, 1])
        #expect(QT.nd(rows, id, "2026-03", .unit, "dogn-1") == [1, 1])
        #expect(QT.nd(rows, id, "2026-03", .unit, "poli-9") == [1, 1])
        #expect(QT.row(rows, id, "2026-03", .unit, "poli-2") == nil)
        #expect(QT.nd(rows, id, "2026-03", .institution, "HF-A") == [2, 3])
        #expect(QT.nd(rows, id, "2026-03", .institution, "HF-B") == [1, 2])
        #expect(QT.nd(rows, id, "2026-03", .national, "national") == [3, 5])
        // --by unit gives only unit rows.
        let units = QT.rows(episodes, symbols: s, QualityQuery(period: "2026-03", by: .unit, indicator: id))
        #expect(units.allSatisfy { $0.by == .unit })
        #expect(units.filter { $0.variant == "all" }.count == 4)
    }

    @Test("roll-up: summing several episodes' contributions gives the hand-computed table, in row order")
    func rollUp() {
        let episodes = [
            basic("2026-01-15", days: 3, "HF-A", "u1"), // on time, January, HF-A/u1
            basic("2026-02-10", days: 40, "HF-A", "u1"), // late, February
            basic("2026-02-11", days: 7, "HF-A", "u2"), // on time, February, HF-A/u2
            basic("2026-05-02", days: 1, "HF-B", "u3"), // on time, May (T2), HF-B/u3
        ]
        let rows = QT.rows(episodes, symbols: s, QualityQuery(indicator: "basic-assessment-on-time"))
            .filter { $0.variant == "all" }
        let got = rows.map { "\($0.period) \($0.by.rawValue) \($0.group) \($0.numerator!)/\($0.denominator!)" }
        #expect(got == [
            "2026 institution HF-A 2/3", "2026 institution HF-B 1/1", "2026 national national 3/4",
            "2026 unit u1 1/2", "2026 unit u2 1/1", "2026 unit u3 1/1",
            "2026-01 institution HF-A 1/1", "2026-01 national national 1/1", "2026-01 unit u1 1/1",
            "2026-02 institution HF-A 1/2", "2026-02 national national 1/2", "2026-02 unit u1 0/1", "2026-02 unit u2 1/1",
            "2026-05 institution HF-B 1/1", "2026-05 national national 1/1", "2026-05 unit u3 1/1",
            "2026-T1 institution HF-A 2/3", "2026-T1 national national 2/3", "2026-T1 unit u1 1/2", "2026-T1 unit u2 1/1",
            "2026-T2 institution HF-B 1/1", "2026-T2 national national 1/1", "2026-T2 unit u3 1/1",
        ])
        // Every row carries both variants here (no L): service-caused equals all.
        let sc = QT.rows(episodes, symbols: s, QualityQuery(period: "2026", by: .national, indicator: "basic-assessment-on-time"))
        #expect(sc.map(\.variant) == ["all", "service-caused"])
        #expect(sc.map(\.numerator) == [3, 3])
    }

    @Test("rows come sorted by (indicator, period, by, group, variant), byte-wise")
    func rowOrder() {
        var episodes = [basic("2026-03-10", days: 3, "HF-Ø", "ø-1"), basic("2026-03-10", days: 3, "HF-B", "b-1")]
        var x = ep("HF-B", "b-1"); x.add(.A, "2026-03-01"); x.add(.U("B"), "2026-03-02"); x.add(.X("G"), "2026-03-20")
        episodes.append(x.marks)
        let rows = QT.rows(episodes, symbols: s)
        func key(_ r: IndicatorRow) -> [String] { [r.indicator, r.period, r.by.rawValue, r.group, r.variant, r.institution ?? ""] }
        for (a, b) in zip(rows, rows.dropFirst()) {
            #expect(key(a).lexicographicallyPrecedes(key(b)) { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }
        #expect(rows.contains { $0.group == "ø-1" && $0.institution == "HF-Ø" })
    }

    @Test("corrections: voiding or correcting a registration moves the episode in or out of a count")
    func corrections() {
        var h = EpisodeHistory()
        let pos: [UInt64] = [10, 11, 12]
        let inst = s.intern("HF-A"), unit = s.intern("poli-1")
        func mark(_ c: PathwayCode, _ d: String, _ p: UInt64) -> Mark {
            Mark(code: c, setting: .outpatient, date: CivilDate(d)!, place: p, position: p, institution: inst, unit: unit)
        }
        h.register(mark(.A, "2026-02-25", pos[0]))
        h.register(mark(.M, "2026-03-01", pos[1]))
        h.register(mark(.C("T"), "2026-03-25", pos[2])) // 24 days: late
        let other = basic("2026-03-10", days: 3) // on time
        let id = "basic-assessment-on-time"
        #expect(QT.nd(QT.rows([h.marks, other], symbols: s), id, "2026-03") == [1, 2])

        // Correct the decision's date to the 20th (19 days): now on time.
        var corrected = h
        let didCorrect = corrected.correct(targetPosition: pos[2], with: mark(.C("T"), "2026-03-20", 20))
        #expect(didCorrect)
        #expect(QT.nd(QT.rows([corrected.marks, other], symbols: s), id, "2026-03") == [2, 2])

        // Void the decision: the episode leaves the count (and the store's incremental update agrees).
        var voided = corrected
        let didVoid = voided.void(targetPosition: pos[2])
        #expect(didVoid)
        let rebuilt = QT.counters([voided.marks, other], symbols: s)
        #expect(QT.nd(QualityTable.rows(counters: rebuilt, query: QualityQuery()), id, "2026-03") == [1, 1])
        var store: [[UInt8]: (Int64, Int64, Int64)] = [:]
        func apply(_ marks: [Mark], _ sign: Int64) {
            QualityCounters.contributions(marks: marks, symbols: s, rules: QT.rules) { k, a, b, c in
                let o = store[k] ?? (0, 0, 0)
                store[k] = (o.0 + sign * a, o.1 + sign * b, o.2 + sign * c)
            }
        }
        apply(h.marks, 1); apply(other, 1)
        apply(h.marks, -1); apply(corrected.marks, 1)
        apply(corrected.marks, -1); apply(voided.marks, 1)
        let incremental = store.filter { $0.value != (0, 0, 0) }.map { (key: $0.key, a: $0.value.0, b: $0.value.1, c: $0.value.2) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        #expect(incremental.map(\.key) == rebuilt.map(\.key))
        #expect(incremental.map { [$0.a, $0.b, $0.c] } == rebuilt.map { [$0.a, $0.b, $0.c] })

        // Voiding the start of an ended episode's only registrations leaves every count.
        var x = EpisodeHistory()
        x.register(mark(.A, "2026-03-01", 30))
        x.register(mark(.X("G"), "2026-03-20", 31))
        #expect(!QT.counters([x.marks], symbols: s).isEmpty)
        x.void(targetPosition: 30); x.void(targetPosition: 31)
        #expect(QT.counters([x.marks], symbols: s).isEmpty)
    }

    @Test("--min-cell keeps the row but blanks numerator, denominator, share and postponed")
    func minCell() {
        var withL = ep(); withL.add(.A, "2026-02-28"); withL.add(.M, "2026-03-01"); withL.add(.L, "2026-03-02"); withL.add(.C("T"), "2026-03-05")
        let episodes = [basic("2026-03-10", days: 3), basic("2026-03-11", days: 30), withL.marks]
        let id = "basic-assessment-on-time"
        let open = QT.rows(episodes, symbols: s, QualityQuery(period: "2026-03", by: .national, indicator: id, minCell: 3))
        #expect(open.count == 2)
        // The all row is published, but its postponed count (1) is blanked: it is under 3 and would give away
        // the suppressed service-caused denominator (3 − 1 = 2).
        #expect(open[0].suppressed == false && open[0].numerator == 2 && open[0].denominator == 3 && open[0].postponed == nil)
        // service-caused has denominator 2 < 3: suppressed, still listed.
        #expect(open[1].variant == "service-caused" && open[1].suppressed)
        #expect(open[1].numerator == nil && open[1].denominator == nil && open[1].share == nil)
        let blanked = QT.rows(episodes, symbols: s, QualityQuery(period: "2026-03", by: .national, indicator: id, minCell: 4))
        #expect(blanked.count == 2)
        #expect(blanked.allSatisfy { $0.suppressed && $0.numerator == nil && $0.denominator == nil && $0.share == nil && $0.postponed == nil })
        #expect(blanked[0].jsonRow().contains("\"share\":null"))
        // Default 0 blanks nothing.
        #expect(QT.rows(episodes, symbols: s).allSatisfy { !$0.suppressed })
        #expect(QT.row(QT.rows(episodes, symbols: s), id, "2026-03")?.postponed == 1)
        // With 2 the postponed count (1) is still too small to show; no episode postponed shows 0.
        let two = QT.rows(episodes, symbols: s, QualityQuery(period: "2026-03", by: .national, indicator: id, minCell: 2))
        #expect(two.map(\.suppressed) == [false, false] && two[0].postponed == nil && two[1].denominator == 2)
        let none = QT.rows([basic("2026-03-10", days: 3), basic("2026-03-11", days: 30)], symbols: s,
                           QualityQuery(period: "2026-03", by: .national, indicator: id, minCell: 2))
        #expect(none[0].postponed == 0)
    }

    @Test("JSON and CSV rows carry issue 6's fields in a fixed order")
    func formats() {
        let r = IndicatorRow(indicator: "dropout", period: "2026-T1", by: .unit, group: "poli,1", institution: "HF \"A\"",
                             variant: "all", numerator: 1, denominator: 4, share: 0.25, postponed: nil, suppressed: false)
        #expect(r.jsonRow() == #"{"indicator":"dropout","period":"2026-T1","by":"unit","group":"poli,1","variant":"all","numerator":1,"denominator":4,"share":0.25,"postponed":null,"suppressed":false,"institution":"HF \"A\""}"#)
        #expect(IndicatorRow.csvHeader == "indicator,period,by,group,variant,numerator,denominator,share,postponed,suppressed,institution")
        #expect(r.csvRow() == #"dropout,2026-T1,unit,"poli,1",all,1,4,0.25,,false,"HF ""A""""#)
        let t = IndicatorRow(indicator: "basic-assessment-on-time", period: "2026", by: .national, group: "national", institution: nil,
                             variant: "all", numerator: nil, denominator: nil, share: nil, postponed: nil, suppressed: true)
        #expect(t.csvRow() == "basic-assessment-on-time,2026,national,national,all,,,,,true,")
    }

    @Test("--explain lists exactly the episodes behind each cell")
    func explainMatchesRows() {
        var episodes: [[Mark]] = []
        for (i, days) in [3, 25, 10, 40, 19].enumerated() {
            var e = ep(i % 2 == 0 ? "HF-A" : "HF-B", "u\(i % 3)")
            let m = CivilDate("2026-03-01")!.adding(days: i * 9)
            e.add(.A, m.adding(days: -2).description); e.add(.M, m.description)
            if i == 1 || i == 4 { e.add(.L, m.adding(days: 2).description) }
            e.add(.C(i == 2 ? "K" : "T"), m.adding(days: days).description)
            if i != 2 { e.add(.E, m.adding(days: days + 10).description) }
            if i >= 2 { e.add(.U("B"), m.adding(days: days + 11).description); e.add(.X(i == 3 ? "P" : "G"), m.adding(days: days + 60).description) }
            episodes.append(e.marks)
        }
        let rows = QT.rows(episodes, symbols: s)
        #expect(!rows.isEmpty)
        for r in rows {
            var num = 0, den = 0
            for m in episodes {
                let x = QualityTable.explain(marks: m, symbols: s, rules: QT.rules, indicator: r.indicator, period: r.period,
                                             group: r.group, variant: r.variant, by: r.by, institution: r.institution)
                if x.inDenominator { den += 1 }
                if x.inNumerator { num += 1; #expect(x.inDenominator) }
            }
            #expect([num, den] == [r.numerator, r.denominator], "\(r.jsonRow())")
        }
        // Without `by`, a unit or institution id matches that level.
        let first = QualityTable.explain(marks: episodes[0], symbols: s, rules: QT.rules, indicator: "basic-assessment-on-time",
                                         period: "2026-03", group: "u0", variant: "all")
        #expect(first.inDenominator && first.inNumerator)
        let wrong = QualityTable.explain(marks: episodes[0], symbols: s, rules: QT.rules, indicator: "basic-assessment-on-time",
                                         period: "2026-03", group: "HF-B", variant: "all")
        #expect(!wrong.inDenominator)
        // u0 exists in HF-A (episode 0) and HF-B (episode 3): the institution tells them apart.
        let other = QualityTable.explain(marks: episodes[0], symbols: s, rules: QT.rules, indicator: "basic-assessment-on-time",
                                         period: "2026-03", group: "u0", variant: "all", by: .unit, institution: "HF-B")
        #expect(!other.inDenominator)
    }

    @Test("contributions: names as UTF-8 text, each key once, in key order, deterministic")
    func contributionShape() {
        var e = ep("Helse Sør-Øst", "Poliklinikk rus")
        e.add(.A, "2026-01-05"); e.add(.M, "2026-01-06"); e.add(.C("T"), "2026-01-20")
        e.add(.E, "2026-01-25"); e.add(.E, "2026-02-05"); e.add(.E, "2026-02-10") // two intervals in February: one key
        e.add(.L, "2026-02-01"); e.add(.H("K"), "2026-03-01"); e.add(.H("T"), "2026-03-01"); e.add(.X("G"), "2026-03-01")
        var keys: [[UInt8]] = [], amounts: [[Int64]] = []
        QualityCounters.contributions(marks: e.marks, symbols: s, rules: QT.rules) { k, a, b, c in keys.append(k); amounts.append([a, b, c]) }
        #expect(Set(keys).count == keys.count)
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(amounts.allSatisfy { $0 != [0, 0, 0] })
        let inst = Array("Helse Sør-Øst".utf8), unit = Array("Poliklinikk rus".utf8)
        for k in keys {
            #expect(k.count > inst.count + unit.count)
            #expect(Array(k[2..<(2 + inst.count)]) == inst)
            #expect(Array(k[(3 + inst.count)..<(3 + inst.count + unit.count)]) == unit)
        }
        var again: [[UInt8]] = []
        let other = SymbolTable() // other symbol numbers, same names: same keys
        _ = other.intern("zzz")
        var e2 = QT.Episode(other, "Helse Sør-Øst", "Poliklinikk rus")
        for m in e.marks { e2.add(m.code, m.date.description, m.setting) }
        QualityCounters.contributions(marks: e2.marks, symbols: other, rules: QT.rules) { k, _, _, _ in again.append(k) }
        #expect(again == keys)
        let rows = QT.rows([e.marks], symbols: s, QualityQuery(period: "2026-02", by: .national, indicator: "evaluation-interval-kept"))
        #expect(rows.first?.denominator == 2)
    }

    @Test("an empty or fully voided history contributes nothing; other families' keys are skipped")
    func emptyAndForeignKeys() {
        var n = 0
        QualityCounters.contributions(marks: [], symbols: s, rules: QT.rules) { _, _, _, _ in n += 1 }
        #expect(n == 0)
        let counters = QT.counters([basic("2026-03-10", days: 3)], symbols: s) + [(key: [0x5a, 1, 2, 3], a: 5, b: 5, c: 5)]
        // basic-assessment-on-time (all, service-caused) and patient-postponed (open in March).
        #expect(QualityTable.rows(counters: counters, query: QualityQuery(period: "2026-03", by: .national)).map(\.indicator)
                == ["basic-assessment-on-time", "basic-assessment-on-time", "patient-postponed"])
        #expect(QualityTable.rows(counters: counters, query: QualityQuery(indicator: "no-such-indicator")).isEmpty)
    }
}
