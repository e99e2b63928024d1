import ArgumentParser
import Foundation
import Ledger
import Pathway
import Quality

struct QualityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "KvaRus/NPR-style quality indicators per institution, unit and period (definitions: docs/indicators.md).",
        discussion: """
        Periods: a month 2026-03, a tertial 2026-T1 (T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec) or a year 2026. \
        Time indicators come in two variants: all (with the patient-postponed count in `postponed`) and \
        service-caused (patient-postponed episodes left out). --min-cell N blanks cells whose denominator \
        is under N (registries publish only cells with enough patients). --explain lists the episodes \
        behind one cell. --distributions lists end outcomes, help needs, decision outcomes and pathway-time \
        percentiles.
        """)
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("A month, tertial or year.", valueName: "P")) var period: String?
    @Option(help: "institution, unit or national.") var by: String?
    @Option(help: ArgumentHelp("One indicator id.", valueName: "ID")) var indicator: String?
    @Flag(help: "Print NDJSON rows.") var json = false
    @Flag(help: "Print CSV rows.") var csv = false
    @Option(name: .customLong("known-at"), help: ArgumentHelp("The numbers as they stood at this instant.", valueName: "INSTANT")) var knownAt: String?
    @Option(name: .customLong("min-cell"), help: "Blank cells whose denominator is under N.") var minCell: Int = 0
    @Option(help: ArgumentHelp("List the episodes behind one cell (needs --period and --group).", valueName: "INDICATOR")) var explain: String?
    @Option(help: ArgumentHelp("With --explain: institution or unit id, or national.", valueName: "G")) var group: String?
    @Option(help: "With --explain: all or service-caused.") var variant: String = "all"
    @Option(help: ArgumentHelp("With --explain on a unit: the institution it belongs to (unit ids may repeat across institutions).", valueName: "I")) var institution: String?
    @Flag(help: "Show distributions and pathway-time percentiles instead of indicators.") var distributions = false

    func run() throws {
        try PathwayCLI.run {
            var grouping: Grouping? = nil
            if let b = by {
                guard let g = Grouping(rawValue: b) else { throw CLIError.usage("--by must be institution, unit or national") }
                grouping = g
            }
            if let p = period, QualityPeriod(p) == nil { throw CLIError.usage("--period must be a month 2026-03, a tertial 2026-T1 or a year 2026") }
            if let i = indicator ?? explain, QualityIndicator(id: i) == nil {
                throw CLIError.usage("unknown indicator '\(i)'; the indicators are: \(QualityIndicator.allCases.map(\.id).joined(separator: ", "))")
            }
            let ledger = try store.open()
            let out = Output()
            defer { out.flush() }
            if let ind = explain {
                guard let p = period, let g = group else { throw CLIError.usage("--explain needs --period P and --group G") }
                let r = try ledger.explainQuality(indicator: ind, period: p, group: g, variant: variant, by: grouping, institution: institution)
                if json {
                    var o = "{\"indicator\":\"\(ind)\",\"period\":\"\(p)\","
                    JSONText.key("group", into: &o); JSONText.string(g, into: &o)
                    o += ",\"variant\":\"\(variant)\",\"numerator\":\(r.numerator.count),\"denominator\":\(r.denominator.count)"
                    o += ",\"numeratorEpisodes\":[" + r.numerator.map { s -> String in var x = ""; JSONText.string(s, into: &x); return x }.joined(separator: ",") + "]"
                    o += ",\"denominatorEpisodes\":[" + r.denominator.map { s -> String in var x = ""; JSONText.string(s, into: &x); return x }.joined(separator: ",") + "]}"
                    out.line(o)
                } else {
                    out.line("\(ind) \(p) \(g) (\(variant)): \(r.numerator.count) of \(r.denominator.count)")
                    let inNum = Set(r.numerator)
                    for e in r.denominator { out.line("  \(inNum.contains(e) ? "counted  " : "not met  ") \(e)") }
                }
                return
            }
            let knownAtInstant = try parseKnownAt(knownAt)
            let query = QualityQuery(period: period, by: grouping, indicator: indicator, minCell: minCell)
            if distributions {
                let counters = try ledger.qualityCounters(knownAt: knownAtInstant)
                let rows = QualityTable.distributions(counters: counters, query: query)
                if json { for r in rows { out.line(r.jsonRow()) }; return }
                if csv { out.line(DistributionRow.csvHeader); for r in rows { out.line(r.csvRow()) }; return }
                var t: [[String]] = [["distribution", "period", "by", "group", "category", "count", "total", "share", "median", "p75", "p90"]]
                for r in rows {
                    t.append([r.distribution, r.period, r.by.rawValue, r.group, r.category, r.count.map(String.init) ?? "·",
                              r.total.map(String.init) ?? "·", r.share.map(percent) ?? "·", r.median.map(String.init) ?? "", r.p75.map(String.init) ?? "", r.p90.map(String.init) ?? ""])
                }
                for l in EpisodeText.columns(t, indent: "") { out.line(l) }
                return
            }
            let rows = try knownAtInstant == nil ? ledger.qualityRows(query)
                : QualityTable.rows(counters: ledger.qualityCounters(knownAt: knownAtInstant), query: query)
            if json { for r in rows { out.line(r.jsonRow()) }; return }
            if csv { out.line(IndicatorRow.csvHeader); for r in rows { out.line(r.csvRow()) }; return }
            var t: [[String]] = [["indicator", "period", "by", "group", "variant", "numerator", "denominator", "share", "postponed"]]
            for r in rows {
                t.append([r.indicator, r.period, r.by.rawValue, r.group, r.variant,
                          r.numerator.map(String.init) ?? "·", r.denominator.map(String.init) ?? "·",
                          r.suppressed ? "suppressed" : (r.share.map(percent) ?? "-"), r.postponed.map(String.init) ?? ""])
            }
            for l in EpisodeText.columns(t, indent: "") { out.line(l) }
            out.line("\(rows.count) row(s)")
        }
    }
}

func percent(_ v: Double) -> String {
    let p = (v * 1000).rounded() / 10
    return String(p) + " %"
}
