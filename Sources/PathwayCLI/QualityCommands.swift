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
        behind one cell (--group: national, an institution id or a unit id, as in the table's `group` \
        column); with --min-cell, a cell the table blanks, or one with fewer than N episodes, is reported \
        as suppressed and its episodes are not listed (exit 0). With --known-at, the table and --explain \
        both count only what was recorded by then. --distributions lists end outcomes, help needs, \
        decision outcomes and pathway-time percentiles.
        """)
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("A month, tertial or year.", valueName: "P")) var period: String?
    @Option(help: "institution, unit or national.") var by: String?
    @Option(help: ArgumentHelp("One indicator id.", valueName: "ID")) var indicator: String?
    @Flag(help: "Print NDJSON rows.") var json = false
    @Flag(help: "Print CSV rows (not with --explain).") var csv = false
    @Option(name: .customLong("known-at"), help: ArgumentHelp("The numbers (and, with --explain, the episodes) as they stood at this instant.", valueName: "INSTANT")) var knownAt: String?
    @Option(name: .customLong("min-cell"), help: "Blank cells whose denominator is under N; with --explain, list no episodes of such a cell.") var minCell: Int = 0
    @Option(help: ArgumentHelp("List the episodes behind one cell (needs --period and --group).", valueName: "INDICATOR")) var explain: String?
    @Option(help: ArgumentHelp("With --explain: institution or unit id, or national.", valueName: "G")) var group: String?
    @Option(help: ArgumentHelp("With --explain: all (the default) or service-caused (time indicators only).", valueName: "VARIANT")) var variant: String?
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
            if json && csv { throw CLIError.usage("--json and --csv exclude each other: give one") }
            guard minCell >= 0 else { throw CLIError.usage("--min-cell must be 0 or more") }
            let knownAtInstant = try parseKnownAt(knownAt)
            if let ind = explain {
                try runExplain(ind, grouping: grouping, knownAt: knownAtInstant)
                return
            }
            for (given, name) in [(group != nil, "--group"), (variant != nil, "--variant"), (institution != nil, "--institution")] where given {
                throw CLIError.usage("\(name) only applies with --explain INDICATOR (the table lists every group and variant)")
            }
            let ledger = try store.open()
            let out = Output()
            defer { out.flush() }
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

    /// `--explain IND`: the episodes behind one cell, as the table counts them (same instant, same
    /// --min-cell).
    private func runExplain(_ ind: String, grouping: Grouping?, knownAt: Instant?) throws {
        if csv { throw CLIError.usage("--explain prints text, or JSON with --json; it has no CSV form") }
        if distributions { throw CLIError.usage("--explain and --distributions are separate views: give one") }
        if indicator != nil { throw CLIError.usage("--explain names the indicator: leave out --indicator") }
        guard let p = period, let g = group else { throw CLIError.usage("--explain needs --period P and --group G") }
        let variant = self.variant ?? IndicatorRow.variantAll
        let qi = QualityIndicator(id: ind)!
        let variants = qi.isTimeIndicator ? [IndicatorRow.variantAll, IndicatorRow.variantServiceCaused] : [IndicatorRow.variantAll]
        guard variants.contains(variant) else {
            throw CLIError.usage(qi.isTimeIndicator || variant != IndicatorRow.variantServiceCaused
                ? "unknown --variant '\(variant)'; the variants are: \(variants.joined(separator: ", "))"
                : "--variant service-caused is for the time indicators; \(ind) has the one variant all")
        }
        let ledger = try store.open()
        try Self.checkGroup(g, by: grouping, institution: institution, period: p, units: ledger.qualityUnits())
        let r = try ledger.explainQuality(indicator: ind, period: p, group: g, variant: variant, by: grouping,
                                          institution: institution, knownAt: knownAt, minCell: minCell)
        let suppressed = r.suppressed(minCell: minCell)
        let out = Output()
        defer { out.flush() }
        if json {
            var o = "{\"indicator\":\"\(ind)\",\"period\":\"\(p)\","
            JSONText.key("group", into: &o); JSONText.string(g, into: &o)
            o += ",\"variant\":\"\(variant)\","
            JSONText.key("knownAt", into: &o)
            if let k = self.knownAt { JSONText.string(k, into: &o) } else { o += "null" }
            o += ",\"suppressed\":\(suppressed)"
            func episodes(_ list: [String]) -> String {
                "[" + list.map { s -> String in var x = ""; JSONText.string(s, into: &x); return x }.joined(separator: ",") + "]"
            }
            if suppressed {
                o += ",\"numerator\":null,\"denominator\":null,\"numeratorEpisodes\":[],\"denominatorEpisodes\":[]}"
            } else {
                o += ",\"numerator\":\(r.numerator.count),\"denominator\":\(r.denominator.count)"
                o += ",\"numeratorEpisodes\":" + episodes(r.numerator) + ",\"denominatorEpisodes\":" + episodes(r.denominator) + "}"
            }
            out.line(o)
            return
        }
        let head = "\(ind) \(p) \(g) (\(variant))" + (self.knownAt.map { " as known at \($0)" } ?? "")
        if suppressed {
            out.line("\(head): suppressed (fewer than --min-cell \(minCell) in the denominator); its episodes are not listed")
            return
        }
        out.line("\(head): \(r.numerator.count) of \(r.denominator.count)")
        let inNum = Set(r.numerator)
        for e in r.denominator { out.line("  \(inNum.contains(e) ? "counted  " : "not met  ") \(e)") }
    }

    /// A usage error unless `group` (with `by` and `institution`) names a group the store has: the
    /// nation, an institution or a unit some episode belongs to.
    static func checkGroup(_ group: String, by: Grouping?, institution: String?, period: String,
                           units: [(institution: String, unit: String)]) throws {
        var institutions: [String] = []
        for u in units where institutions.last != u.institution { institutions.append(u.institution) }
        func some(_ names: [String]) -> String {
            names.isEmpty ? "none yet" : names.prefix(4).joined(separator: ", ") + (names.count > 4 ? ", … (\(names.count) in all)" : "")
        }
        if let i = institution, !institutions.contains(i) {
            throw CLIError.usage("--institution '\(i)' names no institution in the store; institutions: \(some(institutions))")
        }
        if by == .national {
            guard group == "national" else { throw CLIError.usage("--by national has the one group national, not '\(group)'") }
            return
        }
        if group == "national" && by == nil { return }
        let isInstitution = by != .unit && institutions.contains(group)
        let isUnit = by != .institution && units.contains { $0.unit == group && (institution == nil || $0.institution == institution) }
        if isInstitution || isUnit { return }
        let kind = by == .institution ? "institution" : by == .unit ? "unit" : "institution or unit"
        let unitNames = units.filter { institution == nil || $0.institution == institution }.map(\.unit)
        var uniqueUnits: [String] = []
        var seen = Set<String>()
        for u in unitNames.sorted() where seen.insert(u).inserted { uniqueUnits.append(u) }
        throw CLIError.usage("--group '\(group)' matched no \(kind) in the store\(institution.map { " in institution \($0)" } ?? ""). "
            + "A group is national, an institution id (\(some(institutions))) or a unit id (\(some(uniqueUnits))), exactly as in the "
            + "table's group column: `pathway quality --period \(period) --by \(by == .institution ? "institution" : "unit")` lists them")
    }
}

func percent(_ v: Double) -> String {
    let p = (v * 1000).rounded() / 10
    return String(p) + " %"
}
