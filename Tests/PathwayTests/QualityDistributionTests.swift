import Testing
import Pathway
import Deadlines
@testable import Quality

@Suite("Quality distributions and report")
struct QualityDistributionTests {
    let s = SymbolTable()
    func ep(_ institution: String = "HF-A", _ unit: String = "poli-1") -> QT.Episode { QT.Episode(s, institution, unit) }

    /// g: CT, ends XG with HT and HK · p: CU then CT+CK on one date, ends XP · m: CI, ends XM · r: XR.
    /// Decisions in February, ends in March.
    func episodes() -> [[Mark]] {
        var g = ep(); g.add(.A, "2026-01-10"); g.add(.M, "2026-01-12"); g.add(.C("T"), "2026-02-01"); g.add(.E, "2026-02-10")
        g.add(.H("T"), "2026-03-20"); g.add(.H("K"), "2026-03-20"); g.add(.X("G"), "2026-03-20")
        var p = ep(); p.add(.A, "2026-01-10"); p.add(.M, "2026-01-12"); p.add(.C("U"), "2026-02-02")
        p.add(.C("T"), "2026-02-25"); p.add(.C("K"), "2026-02-25"); p.add(.X("P"), "2026-03-05")
        var m = ep("HF-B", "poli-2"); m.add(.A, "2026-01-10"); m.add(.M, "2026-01-12"); m.add(.C("I"), "2026-02-03"); m.add(.X("M"), "2026-03-06")
        var r = ep("HF-B", "poli-2"); r.add(.A, "2026-03-01"); r.add(.X("R"), "2026-03-02")
        return [g.marks, p.marks, m.marks, r.marks]
    }

    func cell(_ rows: [DistributionRow], _ dist: String, _ period: String, _ category: String,
              _ by: Grouping = .national, _ group: String = "national") -> DistributionRow? {
        rows.first { $0.distribution == dist && $0.period == period && $0.category == category && $0.by == by && $0.group == group }
    }

    @Test("end outcomes (9326), help needs (9328) and decision outcomes (9323) per period and group")
    func outcomeDistributions() {
        let rows = QualityTable.distributions(counters: QT.counters(episodes(), symbols: s), query: QualityQuery())
        // Ends in March: G P M R, one each of four.
        for (l, c) in [("G", 1), ("P", 1), ("M", 1), ("R", 1), ("A", 0), ("O", 0), ("N", 0), ("S", 0)] {
            let x = cell(rows, "end-outcome", "2026-03", l)
            #expect(x?.count == c && x?.total == 4, "X\(l)")
            #expect(x?.share == Double(c) / 4)
        }
        #expect(cell(rows, "end-outcome", "2026-03", "G")?.label == "completed")
        #expect(cell(rows, "end-outcome", "2026-02", "G") == nil)
        // Per institution: HF-B ended M and R.
        #expect(cell(rows, "end-outcome", "2026-T1", "M", .institution, "HF-B")?.share == 0.5)
        // Help needs: one ended episode with H (g), with T and K.
        #expect(cell(rows, "help-need", "2026-03", "T")?.count == 1)
        #expect(cell(rows, "help-need", "2026-03", "K")?.share == 1.0)
        #expect(cell(rows, "help-need", "2026-03", "P")?.count == 0)
        #expect(cell(rows, "help-need", "2026-03", "U") == nil) // 9328 has no U
        #expect(rows.filter { $0.distribution == "help-need" && $0.period == "2026-03" && $0.by == .national }.map(\.category)
                == ["P", "T", "S", "K", "A", "I"])
        // Decisions in February: g CT, p CU, p CT+CK (one decision), m CI: four decisions.
        #expect(cell(rows, "decision-outcome", "2026-02", "T")?.count == 2)
        #expect(cell(rows, "decision-outcome", "2026-02", "T")?.total == 4)
        #expect(cell(rows, "decision-outcome", "2026-02", "U")?.count == 1)
        #expect(cell(rows, "decision-outcome", "2026-02", "K")?.count == 1)
        #expect(cell(rows, "decision-outcome", "2026-02", "I")?.share == 0.25)
        #expect(cell(rows, "decision-outcome", "2026-02", "I", .unit, "poli-2")?.share == 1.0)
        // Row order: by distribution name, then period.
        let names = rows.map(\.distribution)
        #expect(names == names.sorted())
    }

    @Test("pathway-time percentiles: nearest rank over a day-count histogram, merged across units")
    func percentiles() {
        // Basic assessment days 3, 10, 21, 22, 28 in March 2026 (two units).
        var episodes: [[Mark]] = []
        for (i, d) in [3, 10, 21, 22, 28].enumerated() {
            var e = ep("HF-A", i < 2 ? "poli-1" : "poli-2")
            e.add(.A, "2026-02-01"); e.add(.M, "2026-03-01"); e.add(.C("K"), CivilDate("2026-03-01")!.adding(days: d).description)
            episodes.append(e.marks)
        }
        var long = ep("HF-A", "poli-2"); long.add(.A, "2025-01-01"); long.add(.M, "2025-01-02"); long.add(.C("K"), "2026-04-15")
        let rows = QualityTable.distributions(counters: QT.counters(episodes + [long.marks], symbols: s), query: QualityQuery())
        // n = 5: ranks ⌈2.5⌉ = 3, ⌈3.75⌉ = 4, ⌈4.5⌉ = 5.
        let march = cell(rows, "pathway-time", "2026-03", "basic-assessment")
        #expect(march?.count == 5)
        #expect([march?.median, march?.p75, march?.p90] == [21, 22, 28])
        #expect(march?.share == nil)
        // poli-1 has 3 and 10: n = 2, ranks 1, 2, 2.
        let p1 = cell(rows, "pathway-time", "2026-03", "basic-assessment", .unit, "poli-1")
        #expect([p1?.median, p1?.p75, p1?.p90] == [3, 10, 10])
        // 468 days is capped at 400; T1 merges March and April: 3 10 21 22 28 400, ranks 3, 5, 6.
        let t1 = cell(rows, "pathway-time", "2026-T1", "basic-assessment")
        #expect(t1?.count == 6)
        #expect([t1?.median, t1?.p75, t1?.p90] == [21, 28, 400])
        #expect(QualityTable.percentiles([1 << 40 | 1, 2 << 40 | 1, 3 << 40 | 1, 4 << 40 | 1], 4) == (2, 3, 4))
    }

    @Test("distributions: --min-cell blanks a cell with too few, --period and --by filter")
    func distributionFilters() {
        let counters = QT.counters(episodes(), symbols: s)
        let rows = QualityTable.distributions(counters: counters, query: QualityQuery(period: "2026-03", by: .institution, minCell: 3))
        #expect(rows.allSatisfy { $0.period == "2026-03" && $0.by == .institution })
        let a = cell(rows, "end-outcome", "2026-03", "G", .institution, "HF-A")
        #expect(a?.suppressed == true && a?.count == nil && a?.share == nil) // 2 ended < 3
        #expect(DistributionRow.csvHeader.hasPrefix("distribution,period,by,group,category"))
        let line = cell(rows, "end-outcome", "2026-03", "G", .institution, "HF-A")!.jsonRow()
        #expect(line == #"{"distribution":"end-outcome","period":"2026-03","by":"institution","group":"HF-A","category":"G","label":"completed","count":null,"total":null,"share":null,"median":null,"p75":null,"p90":null,"suppressed":true,"institution":"HF-A"}"#)
    }

    @Test("the report is one self-contained HTML file with the tables, the three charts and their notes")
    func report() {
        var all = episodes()
        var odd = ep("HF <&> \"Ø\"", "unit'1"); odd.add(.A, "2026-03-01"); odd.add(.M, "2026-03-02"); odd.add(.C("T"), "2026-03-04")
        all.append(odd.marks)
        let counters = QT.counters(all, symbols: s)
        let html = QualityReport.html(rows: QualityTable.rows(counters: counters, query: QualityQuery(period: "2026-T1")),
                                      distributions: QualityTable.distributions(counters: counters, query: QualityQuery(period: "2026-T1")),
                                      trend: QualityTable.trend(counters: counters, period: "2026-T1"),
                                      period: "2026-T1", generatedFrom: "test <ledger>", rules: QT.rules)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for forbidden in ["<script", "<link", "@import", "url(", "http://", "https://", "<img", "<iframe", "src="] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        #expect(html.contains("<style>"))
        #expect(html.components(separatedBy: "<svg").count - 1 >= 5 + 5 + 2)
        #expect(html.contains("Pathway times met, per unit") && html.contains("Monthly trend") && html.contains("Distribution of pathway times"))
        #expect(html.contains("Indicator table"))
        #expect(html.components(separatedBy: "class=\"note\"").count - 1 >= 5)
        #expect(html.contains("HF &lt;&amp;&gt; &quot;Ø&quot;") && !html.contains("HF <&>"))
        #expect(html.contains("test &lt;ledger&gt;"))
        #expect(html.contains("Tertial 1: January–April 2026"))
        // Deterministic.
        #expect(html == QualityReport.html(rows: QualityTable.rows(counters: counters, query: QualityQuery(period: "2026-T1")),
                                           distributions: QualityTable.distributions(counters: counters, query: QualityQuery(period: "2026-T1")),
                                           trend: QualityTable.trend(counters: counters, period: "2026-T1"),
                                           period: "2026-T1", generatedFrom: "test <ledger>", rules: QT.rules))
    }

    @Test("trend: monthly national rows of the time indicators up to the period's last month")
    func trend() {
        var episodes: [[Mark]] = []
        for (m, d) in [("2025-04-10", 3), ("2025-05-10", 3), ("2026-04-10", 30), ("2026-05-10", 3)] {
            var e = ep(); let c = CivilDate(m)!
            e.add(.A, c.adding(days: -d - 1).description); e.add(.M, c.adding(days: -d).description); e.add(.C("T"), m)
            episodes.append(e.marks)
        }
        let t = QualityTable.trend(counters: QT.counters(episodes, symbols: s), period: "2026-T1", months: 12)
        // 12 months up to 2026-04: 2025-05 … 2026-04.
        #expect(t.map(\.period) == ["2025-05", "2026-04"])
        #expect(t.allSatisfy { $0.indicator == "basic-assessment-on-time" && $0.by == .national && $0.variant == "all" })
        #expect(t.map(\.share) == [1.0, 0.0])
    }
}
