import Pathway
import Deadlines

/// `pathway report`: one self-contained HTML file — inline CSS and inline SVG, no scripts, no
/// fonts or images fetched from anywhere — with the indicator tables per institution and unit,
/// the share per unit against the target line, the monthly trend of each time indicator, the
/// distribution of pathway times and how pathways end, each chart with a note on what it counts.
public enum QualityReport {
    /// Renders the report for `period`.
    ///
    /// - Parameters:
    ///   - rows: indicator rows (``QualityTable/rows(counters:query:)``); those of `period` are used,
    ///     at every grouping level present.
    ///   - distributions: distribution rows (``QualityTable/distributions(counters:query:)``); those of
    ///     `period` are used.
    ///   - trend: monthly national rows of the time indicators (``QualityTable/trend(counters:period:months:minCell:)``).
    ///   - period: the report's period (`2026-T1`, `2026-03`, `2026`).
    ///   - generatedFrom: a line saying what the numbers were computed from (store, log position, known-at).
    ///   - target: the share the pathway times aim for (the national 80 % goal).
    ///   - rules: when given, the newest rule set's outpatient limits are marked on the pathway-time chart.
    public static func html(rows: [IndicatorRow], distributions: [DistributionRow], trend: [IndicatorRow], period: String,
                            generatedFrom: String, target: Double = 0.8, rules: RuleBook? = nil) -> String {
        let r = Renderer(rows: rows.filter { $0.period == period }, distributions: distributions.filter { $0.period == period },
                         trend: trend, period: period, generatedFrom: generatedFrom, target: target, rules: rules)
        return r.document()
    }
}

/// Escapes text for HTML and SVG text and attribute values.
func esc(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out
}

private let nnbsp = "\u{202F}"

private func pct(_ share: Double?) -> String {
    guard let s = share else { return "–" }
    return String(Int((s * 100).rounded())) + nnbsp + "%"
}

/// A share as a percentage next to a target: with one decimal where whole-number rounding would put
/// it on the other side of the target (79.5 % is below 80 %, not "80 %").
private func pct(_ share: Double?, target: Double) -> String {
    guard let s = share else { return "–" }
    let whole = (s * 100).rounded()
    if (s >= target) != (whole / 100 >= target) {
        let tenth = (s * 1000).rounded(s >= target ? .up : .down) / 10
        return String(tenth) + nnbsp + "%"
    }
    return String(Int(whole)) + nnbsp + "%"
}

/// A number with at most one decimal, no trailing ".0" (SVG coordinates).
private func n(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    if r == r.rounded() { return String(Int(r)) }
    return String(r)
}

private let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                          "October", "November", "December"]
private let monthShort = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

private enum Palette {
    static let ink = "#1f2933"
    static let muted = "#616e7c"
    static let grid = "#e4e7eb"
    static let good = "#2f855a"
    static let below = "#dd6b20"
    static let suppressed = "#cbd2d9"
    static let target = "#c53030"
    static let accent = "#0f6e6e"
    static let series = ["#0f6e6e", "#3867d6", "#8854d0", "#d9480f", "#2b8a3e"]
    static func outcome(_ letter: String) -> String {
        switch letter {
        case "G": "#2f855a"
        case "P": "#dd6b20"
        case "M": "#b7410e"
        case "A": "#7b8794"
        case "R": "#bcccdc"
        case "O": "#3867d6"
        case "N": "#8854d0"
        case "S": "#0b7285"
        default: "#9aa5b1"
        }
    }
}

private struct Renderer {
    let rows: [IndicatorRow]
    let distributions: [DistributionRow]
    let trend: [IndicatorRow]
    let period: String
    let generatedFrom: String
    let target: Double
    let rules: RuleBook?

    var periodLabel: String {
        guard let p = QualityPeriod(period) else { return period }
        switch p.kind {
        case .month: return monthNames[p.index - 1] + " " + String(p.year)
        case .tertial: return "Tertial \(p.index): " + monthNames[(p.index - 1) * 4] + "–" + monthNames[(p.index - 1) * 4 + 3] + " " + String(p.year)
        case .year: return "The year " + String(p.year)
        }
    }

    /// The smallest denominator shown unsuppressed, if any row was suppressed (for notes).
    var suppressionNote: String {
        rows.contains(where: \.suppressed) || distributions.contains(where: \.suppressed)
            ? " Grey cells and bars have too few pathways to publish (under the minimum cell size) and are blanked." : ""
    }

    func row(_ ind: QualityIndicator, _ by: Grouping, _ group: String, _ variant: String = "all", institution: String? = nil) -> IndicatorRow? {
        rows.first { $0.indicator == ind.id && $0.by == by && $0.group == group && $0.variant == variant
            && (institution == nil || $0.institution == institution) }
    }

    var institutions: [String] {
        var seen = Set<String>(), out: [String] = []
        for r in rows where r.by == .institution && seen.insert(r.group).inserted { out.append(r.group) }
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// (institution, unit) pairs, by institution then unit.
    var units: [(inst: String, unit: String)] {
        var seen = Set<String>(), out: [(String, String)] = []
        for r in rows where r.by == .unit {
            let i = r.institution ?? ""
            if seen.insert(i + "\u{0}" + r.group).inserted { out.append((i, r.group)) }
        }
        return out.sorted { a, b in
            a.0 != b.0 ? a.0.utf8.lexicographicallyPrecedes(b.0.utf8) : a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
        }
    }

    func document() -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>TSB pathway quality indicators – \(esc(period))</title>
        <style>\(css)</style>
        </head>
        <body>
        <header class="band">
          <div class="wrap">
            <div class="kicker">Pakkeforløp rusbehandling (TSB) · quality indicators</div>
            <h1>\(esc(periodLabel))</h1>
            <div class="sub">Period <b>\(esc(period))</b> · per institution and unit · target \(pct(target)) of pathways within each pathway time</div>
          </div>
        </header>
        <main class="wrap">

        """
        h += summary()
        h += unitCharts()
        h += trendCharts()
        h += pathwayTimes()
        h += outcomes()
        h += tables()
        h += """
        <footer>
          <p><b>Generated from:</b> \(esc(generatedFrom))</p>
          <p>Time indicators count completed intervals in the period of the event that completes them; the other
          indicators count ended pathways in the period of the end (X). A pathway belongs to the institution and unit
          registered on its start (A). “Within the pathway time” means met on or before the due day under the rule
          version in force on the pathway's start. <i>Service-caused</i> leaves out pathways the patient postponed (L).
          Definitions: <code>docs/indicators.md</code>. This file is self-contained: it loads nothing from the network.</p>
        </footer>
        </main>
        </body>
        </html>

        """
        return h
    }

    // MARK: Summary tiles

    func summary() -> String {
        var h = "<section><h2>National summary</h2><div class=\"tiles\">"
        for ind in QualityIndicator.timeIndicators {
            let all = row(ind, .national, "national")
            let sc = row(ind, .national, "national", IndicatorRow.variantServiceCaused)
            let share = all?.share
            let cls = share.map { $0 >= target ? "ok" : "below" } ?? "none"
            h += "<div class=\"tile \(cls)\"><div class=\"t-title\">\(esc(ind.title))</div>"
            h += "<div class=\"t-value\">\(pct(share, target: target))</div>"
            h += meter(share)
            if let a = all, let num = a.numerator, let den = a.denominator {
                h += "<div class=\"t-detail\">\(num) of \(den) \(ind == .evaluationIntervalKept ? "intervals" : "pathways")</div>"
                h += "<div class=\"t-detail\">service-caused \(pct(sc?.share)) · patient-postponed \(a.postponed.map { String($0) } ?? "–")</div>"
            } else if all?.suppressed == true {
                h += "<div class=\"t-detail\">too few to publish</div>"
            } else {
                h += "<div class=\"t-detail\">no completed intervals</div>"
            }
            h += "</div>"
        }
        h += "</div><div class=\"tiles small\">"
        for ind in QualityIndicator.allCases where !ind.isTimeIndicator {
            let all = row(ind, .national, "national")
            h += "<div class=\"tile plain\"><div class=\"t-title\">\(esc(ind.title))</div>"
            h += "<div class=\"t-value\">\(pct(all?.share))</div>"
            if let a = all, let num = a.numerator, let den = a.denominator {
                h += "<div class=\"t-detail\">\(num) of \(den)</div>"
            } else {
                h += "<div class=\"t-detail\">\(all?.suppressed == true ? "too few to publish" : "no data")</div>"
            }
            h += "</div>"
        }
        h += "</div><p class=\"note\">Share of pathways nationally in \(esc(period)). The first five are pathway times (forløpstider), "
        h += "coloured green at or above the \(pct(target)) target and orange below; the bar's tick marks the target. "
        h += "The rest are shares of pathways ended in the period (outcome not R), except ended by agreement (of XG, XP, XM), "
        h += "drop-out (of ends other than R, O, N) and patient-postponed (pathways open in the period with an L in it).</p></section>\n"
        return h
    }

    func meter(_ share: Double?) -> String {
        let w = 200.0, t = target * w
        var s = "<svg class=\"meter\" viewBox=\"0 0 \(n(w)) 10\" width=\"100%\" height=\"10\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(pct(share))\">"
        s += "<rect x=\"0\" y=\"2\" width=\"\(n(w))\" height=\"6\" rx=\"3\" fill=\"\(Palette.grid)\"/>"
        if let v = share {
            s += "<rect x=\"0\" y=\"2\" width=\"\(n(max(3, v * w)))\" height=\"6\" rx=\"3\" fill=\"\(v >= target ? Palette.good : Palette.below)\"/>"
        }
        s += "<rect x=\"\(n(t - 1))\" y=\"0\" width=\"2\" height=\"10\" fill=\"\(Palette.ink)\"/></svg>"
        return s
    }

    // MARK: Share per unit

    func unitCharts() -> String {
        var h = "<section><h2>Pathway times met, per unit</h2><div class=\"grid2\">"
        for ind in QualityIndicator.timeIndicators {
            h += "<figure class=\"card\"><figcaption>\(esc(ind.title))</figcaption>"
            h += unitBars(ind)
            h += "</figure>"
        }
        h += "</div><p class=\"note\">One bar per unit: the share of \(esc(period))'s completed intervals that were within the pathway "
        h += "time, all pathways (patient-postponed included), with the denominator in brackets. A pathway counts for the unit of its "
        h += "start. Dashed line: the \(pct(target)) target. Green bars reach it, orange bars do not; units are sorted by share."
        h += esc(suppressionNote) + "</p></section>\n"
        return h
    }

    func unitBars(_ ind: QualityIndicator) -> String {
        var items: [(label: String, inst: String, row: IndicatorRow)] = []
        for u in units {
            if let r = row(ind, .unit, u.unit, institution: u.inst) { items.append((u.unit, u.inst, r)) }
        }
        guard !items.isEmpty else { return "<p class=\"empty\">No completed intervals in this period.</p>" }
        items.sort { a, b in
            let x = a.row.share ?? -1, y = b.row.share ?? -1
            if x != y { return x > y }
            return a.label != b.label ? a.label.utf8.lexicographicallyPrecedes(b.label.utf8) : a.inst.utf8.lexicographicallyPrecedes(b.inst.utf8)
        }
        let W = 560.0, labelW = 180.0, right = 92.0, rowH = 30.0, top = 22.0
        let plotW = W - labelW - right
        let H = top + Double(items.count) * rowH + 8
        var s = "<svg viewBox=\"0 0 \(n(W)) \(n(H))\" width=\"100%\" role=\"img\" aria-label=\"\(esc(ind.title)) per unit\">"
        for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let x = labelW + t * plotW
            s += "<line x1=\"\(n(x))\" y1=\"\(n(top - 4))\" x2=\"\(n(x))\" y2=\"\(n(H - 6))\" stroke=\"\(Palette.grid)\"/>"
            s += "<text x=\"\(n(x))\" y=\"12\" class=\"axis\" text-anchor=\"middle\">\(Int(t * 100))%</text>"
        }
        for (i, it) in items.enumerated() {
            let y = top + Double(i) * rowH
            s += "<text x=\"\(n(labelW - 8))\" y=\"\(n(y + 13))\" class=\"lbl\" text-anchor=\"end\">\(esc(truncate(it.label, 26)))</text>"
            s += "<text x=\"\(n(labelW - 8))\" y=\"\(n(y + 25))\" class=\"den\" text-anchor=\"end\">\(esc(truncate(it.inst, 30)))</text>"
            if let v = it.row.share, let den = it.row.denominator {
                let w = max(1.5, v * plotW)
                s += "<rect x=\"\(n(labelW))\" y=\"\(n(y + 6))\" width=\"\(n(w))\" height=\"16\" rx=\"2\" fill=\"\(v >= target ? Palette.good : Palette.below)\"/>"
                s += "<text x=\"\(n(labelW + w + 5))\" y=\"\(n(y + 18))\" class=\"val\">\(pct(v, target: target)) <tspan class=\"den\">(\(den))</tspan></text>"
            } else {
                s += "<rect x=\"\(n(labelW))\" y=\"\(n(y + 6))\" width=\"\(n(plotW))\" height=\"16\" rx=\"2\" fill=\"\(Palette.suppressed)\" opacity=\"0.45\"/>"
                s += "<text x=\"\(n(labelW + 6))\" y=\"\(n(y + 18))\" class=\"den\">too few to publish</text>"
            }
        }
        let tx = labelW + target * plotW
        s += "<line x1=\"\(n(tx))\" y1=\"\(n(top - 6))\" x2=\"\(n(tx))\" y2=\"\(n(H - 4))\" stroke=\"\(Palette.target)\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>"
        s += "</svg>"
        return s
    }

    // MARK: Monthly trend

    func trendCharts() -> String {
        var months: [QualityPeriod] = []
        for r in trend { if let p = QualityPeriod(r.period), p.kind == .month, !months.contains(p) { months.append(p) } }
        months.sort()
        // Fill gaps so the x axis is continuous.
        if let f = months.first, let l = months.last {
            months = (f.firstMonthIndex...l.firstMonthIndex).map { QualityPeriod.month($0 / 12, $0 % 12 + 1) }
        }
        var h = "<section><h2>Monthly trend, national</h2>"
        guard !months.isEmpty else { return h + "<p class=\"empty\">No monthly data.</p></section>\n" }
        h += "<div class=\"grid2\">"
        for (k, ind) in QualityIndicator.timeIndicators.enumerated() {
            h += "<figure class=\"card\"><figcaption>\(esc(ind.title))</figcaption>"
            h += trendChart(ind, months, color: Palette.series[k % Palette.series.count])
            h += "</figure>"
        }
        h += "</div><p class=\"note\">Share within the pathway time per calendar month, all pathways in the country, for the "
        h += "\(months.count) months up to the end of \(esc(period)). Each month counts the intervals completed in it; a gap means no "
        h += "completed intervals (or too few to publish) that month. Dashed line: the \(pct(target)) target.</p></section>\n"
        return h
    }

    func trendChart(_ ind: QualityIndicator, _ months: [QualityPeriod], color: String) -> String {
        let W = 560.0, H = 190.0, left = 40.0, right = 16.0, top = 14.0, bottom = 28.0
        let pw = W - left - right, ph = H - top - bottom
        let step = months.count > 1 ? pw / Double(months.count - 1) : 0
        func x(_ i: Int) -> Double { months.count > 1 ? left + Double(i) * step : left + pw / 2 }
        var points: [(Int, Double, Int?)] = []
        for (i, m) in months.enumerated() {
            if let r = trend.first(where: { $0.indicator == ind.id && $0.period == m.description && $0.variant == "all" }), let v = r.share {
                points.append((i, v, r.denominator))
            }
        }
        // The axis starts at 0 %, or higher when every value is well above it (marked on the axis).
        let lowest = points.map(\.1).min() ?? 0
        let floor = max(0, min(target - 0.2, ((lowest - 0.1) * 10).rounded(.down) / 10))
        func y(_ v: Double) -> Double { top + (1 - (v - floor) / (1 - floor)) * ph }
        var s = "<svg viewBox=\"0 0 \(n(W)) \(n(H))\" width=\"100%\" role=\"img\" aria-label=\"\(esc(ind.title)) by month\">"
        var ticks = [floor, 1.0]
        let mid = ((floor + 1) / 2 * 10).rounded() / 10
        if abs(mid - target) > 0.06 { ticks.append(mid) }
        for t in ticks {
            s += "<line x1=\"\(n(left))\" y1=\"\(n(y(t)))\" x2=\"\(n(W - right))\" y2=\"\(n(y(t)))\" stroke=\"\(Palette.grid)\"/>"
            s += "<text x=\"\(n(left - 6))\" y=\"\(n(y(t) + 4))\" class=\"axis\" text-anchor=\"end\">\(Int((t * 100).rounded()))%</text>"
        }
        if floor > 0 {
            s += "<path d=\"M\(n(left - 3)) \(n(y(floor) - 9)) l6 -3 M\(n(left - 3)) \(n(y(floor) - 5)) l6 -3\" stroke=\"\(Palette.muted)\" stroke-width=\"1\"/>"
        }
        s += "<line x1=\"\(n(left))\" y1=\"\(n(y(target)))\" x2=\"\(n(W - right))\" y2=\"\(n(y(target)))\" stroke=\"\(Palette.target)\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>"
        s += "<text x=\"\(n(left - 6))\" y=\"\(n(y(target) + 4))\" class=\"axis target\" text-anchor=\"end\">\(Int((target * 100).rounded()))%</text>"
        let labelEvery = months.count > 14 ? 3 : (months.count > 8 ? 2 : 1)
        for (i, m) in months.enumerated() where i % labelEvery == 0 || i == months.count - 1 {
            let label = monthShort[m.index - 1] + (m.index == 1 || i == 0 ? " " + String(m.year % 100 < 10 ? "’0" : "’") + String(m.year % 100) : "")
            s += "<text x=\"\(n(x(i)))\" y=\"\(n(H - 8))\" class=\"axis\" text-anchor=\"middle\">\(esc(label))</text>"
        }
        // Lines between consecutive months only.
        var path = ""
        var prev = -2
        for (i, v, _) in points {
            path += (i == prev + 1 ? "L" : "M") + n(x(i)) + " " + n(y(v)) + " "
            prev = i
        }
        if !path.isEmpty { s += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.2\" stroke-linejoin=\"round\"/>" }
        for (i, v, den) in points {
            s += "<circle cx=\"\(n(x(i)))\" cy=\"\(n(y(v)))\" r=\"3.2\" fill=\"\(v >= target ? color : "#fff")\" stroke=\"\(color)\" stroke-width=\"1.6\"><title>\(esc(months[i].description)): \(pct(v, target: target))\(den.map { " of \($0)" } ?? "")</title></circle>"
        }
        if let last = points.last {
            let above = last.1 < 0.97
            s += "<text x=\"\(n(x(last.0)))\" y=\"\(n(y(last.1) + (above ? -9 : 16)))\" class=\"val\" text-anchor=\"end\">\(pct(last.1, target: target))</text>"
        }
        if points.isEmpty { s += "<text x=\"\(n(left + pw / 2))\" y=\"\(n(top + ph / 2))\" class=\"den\" text-anchor=\"middle\">no data</text>" }
        s += "</svg>"
        return s
    }

    // MARK: Pathway times

    func pathwayTimes() -> String {
        let times = distributions.filter { $0.distribution == "pathway-time" && $0.by == .national }
        var h = "<section><h2>Distribution of pathway times, national</h2>"
        guard !times.isEmpty else { return h + "<p class=\"empty\">No completed pathway times in this period.</p></section>\n" }
        let limits = rules?.sets.last
        var maxDay = 10
        for t in times { maxDay = max(maxDay, t.p90 ?? 0) }
        for t in times { if let k = Deadlines.Timer.Kind(name: t.category), let d = limits?.days(k, .outpatient) { maxDay = max(maxDay, d) } }
        let scaleMax = Double(((maxDay + 9) / 10) * 10)
        let W = 1120.0, labelW = 300.0, right = 200.0, rowH = 34.0, top = 26.0
        let pw = W - labelW - right
        let H = top + Double(times.count) * rowH + 10
        func x(_ d: Int) -> Double { labelW + Double(d) / scaleMax * pw }
        var s = "<figure class=\"card\"><svg viewBox=\"0 0 \(n(W)) \(n(H))\" width=\"100%\" role=\"img\" aria-label=\"pathway time percentiles\">"
        let tickStep = scaleMax > 200 ? 50 : (scaleMax > 80 ? 20 : 10)
        var d = 0
        while Double(d) <= scaleMax {
            s += "<line x1=\"\(n(x(d)))\" y1=\"\(n(top - 6))\" x2=\"\(n(x(d)))\" y2=\"\(n(H - 6))\" stroke=\"\(Palette.grid)\"/>"
            s += "<text x=\"\(n(x(d)))\" y=\"14\" class=\"axis\" text-anchor=\"middle\">\(d) d</text>"
            d += tickStep
        }
        for (i, t) in times.enumerated() {
            let y = top + Double(i) * rowH
            s += "<text x=\"\(n(labelW - 10))\" y=\"\(n(y + 15))\" class=\"lbl\" text-anchor=\"end\">\(esc(t.category))</text>"
            s += "<text x=\"\(n(labelW - 10))\" y=\"\(n(y + 28))\" class=\"den\" text-anchor=\"end\">\(esc(t.label))</text>"
            guard let md = t.median, let p75 = t.p75, let p90 = t.p90, let count = t.count else {
                s += "<text x=\"\(n(labelW + 6))\" y=\"\(n(y + 18))\" class=\"den\">too few to publish</text>"
                continue
            }
            s += "<rect x=\"\(n(labelW))\" y=\"\(n(y + 6))\" width=\"\(n(max(1, x(p90) - labelW)))\" height=\"16\" rx=\"3\" fill=\"#cfe8e6\"/>"
            s += "<rect x=\"\(n(labelW))\" y=\"\(n(y + 6))\" width=\"\(n(max(1, x(p75) - labelW)))\" height=\"16\" rx=\"3\" fill=\"#7cc0ba\"/>"
            s += "<rect x=\"\(n(x(md) - 1.5))\" y=\"\(n(y + 2))\" width=\"3\" height=\"24\" fill=\"\(Palette.accent)\"/>"
            if let k = Deadlines.Timer.Kind(name: t.category), let lim = limits?.days(k, .outpatient) {
                s += "<line x1=\"\(n(x(lim)))\" y1=\"\(n(y + 1))\" x2=\"\(n(x(lim)))\" y2=\"\(n(y + 27))\" stroke=\"\(Palette.target)\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>"
            }
            s += "<text x=\"\(n(W - right + 10))\" y=\"\(n(y + 13))\" class=\"val\">median \(md) · p75 \(p75) · p90 \(p90)</text>"
            s += "<text x=\"\(n(W - right + 10))\" y=\"\(n(y + 27))\" class=\"den\">\(count) completed</text>"
        }
        s += "</svg></figure>"
        h += s
        h += "<p class=\"note\">Calendar days from the event that starts each pathway time to the event that completes it, for the intervals "
        h += "completed in \(esc(period)), all pathways in the country (inpatient and outpatient together). Dark mark: median; dark bar: up to "
        h += "the 75th percentile; light bar: up to the 90th (nearest rank)."
        if let l = limits { h += " Red dashed tick: the outpatient limit in rule version \(esc(l.version))." }
        h += " Times of \(QualityCounters.maxDays) days or more count as \(QualityCounters.maxDays).</p></section>\n"
        return h
    }

    // MARK: Outcomes

    func outcomes() -> String {
        let ends = distributions.filter { $0.distribution == "end-outcome" }
        var h = "<section><h2>How pathways end</h2>"
        guard !ends.isEmpty else { return h + "<p class=\"empty\">No pathways ended in this period.</p></section>\n" }
        var groups: [(label: String, by: Grouping, group: String, inst: String?)] = [("National", .national, "national", nil)]
        for i in institutions { groups.append((i, .institution, i, i)) }
        let letters = OutcomeSystem.end.letters.map { String($0) }
        let W = 1120.0, labelW = 200.0, right = 70.0, rowH = 28.0, top = 8.0
        let pw = W - labelW - right
        let H = top + Double(groups.count) * rowH + 6
        var s = "<figure class=\"card\"><svg viewBox=\"0 0 \(n(W)) \(n(H))\" width=\"100%\" role=\"img\" aria-label=\"end outcomes\">"
        for (i, g) in groups.enumerated() {
            let y = top + Double(i) * rowH
            let cells = ends.filter { $0.by == g.by && $0.group == g.group }
            s += "<text x=\"\(n(labelW - 10))\" y=\"\(n(y + 17))\" class=\"lbl\" text-anchor=\"end\">\(esc(truncate(g.label, 28)))</text>"
            guard let total = cells.first?.total else {
                if cells.first?.suppressed == true {
                    s += "<rect x=\"\(n(labelW))\" y=\"\(n(y + 4))\" width=\"\(n(pw))\" height=\"18\" rx=\"2\" fill=\"\(Palette.suppressed)\" opacity=\"0.45\"/>"
                    s += "<text x=\"\(n(labelW + 6))\" y=\"\(n(y + 17))\" class=\"den\">too few to publish</text>"
                }
                continue
            }
            var x0 = labelW
            for l in letters {
                guard let c = cells.first(where: { $0.category == l }), let share = c.share, share > 0 else { continue }
                let w = share * pw
                s += "<rect x=\"\(n(x0))\" y=\"\(n(y + 4))\" width=\"\(n(w))\" height=\"18\" fill=\"\(Palette.outcome(l))\"><title>X\(l) \(esc(c.label)): \(c.count ?? 0) (\(pct(share)))</title></rect>"
                if w > 34 { s += "<text x=\"\(n(x0 + w / 2))\" y=\"\(n(y + 17))\" class=\"seg\" text-anchor=\"middle\">\(l) \(pct(share))</text>" }
                x0 += w
            }
            s += "<text x=\"\(n(W - right + 8))\" y=\"\(n(y + 17))\" class=\"den\">n = \(total)</text>"
        }
        s += "</svg><div class=\"legend\">"
        for l in letters {
            s += "<span><i style=\"background:\(Palette.outcome(l))\"></i><b>X\(l)</b> \(esc(OutcomeSystem.end.english(Character(l))))</span>"
        }
        s += "</div></figure>"
        h += s
        h += "<p class=\"note\">Pathways ended in \(esc(period)) by end outcome (9326), nationally and per institution; n is the number of "
        h += "ended pathways. Hover a segment for its count.\(esc(suppressionNote))</p>"
        h += outcomeTables()
        h += "</section>\n"
        return h
    }

    func outcomeTables() -> String {
        var h = "<div class=\"grid2\">"
        for (dist, title, note) in [
            ("help-need", "Help needed at the end (9328)", "Share of ended pathways with H; a pathway may have several needs."),
            ("decision-outcome", "Clinical decision outcomes (9323)", "Share of clinical decisions taken in the period; a decision may carry several outcomes."),
        ] {
            let cells = distributions.filter { $0.distribution == dist && $0.by == .national }
            h += "<figure class=\"card\"><figcaption>\(esc(title))</figcaption>"
            guard let total = cells.first?.total else {
                h += "<p class=\"empty\">\(cells.first?.suppressed == true ? "Too few to publish." : "None in this period.")</p></figure>"
                continue
            }
            h += "<table class=\"mini\"><tbody>"
            for c in cells {
                let share = c.share ?? 0
                h += "<tr><td class=\"code\">\(esc(c.category))</td><td>\(esc(c.label))</td><td class=\"num\">\(c.count ?? 0)</td>"
                h += "<td class=\"barcell\"><span class=\"hbar\" style=\"width:\(n(share * 100))%\"></span></td><td class=\"num\">\(pct(share))</td></tr>"
            }
            h += "</tbody></table><p class=\"note\">\(esc(note)) n = \(total).</p></figure>"
        }
        return h + "</div>"
    }

    // MARK: Tables

    func tables() -> String {
        var h = "<section><h2>Indicator table</h2>"
        let time = QualityIndicator.timeIndicators
        let other = QualityIndicator.allCases.filter { !$0.isTimeIndicator }
        let levels: [(title: String, groups: [(label: String, inst: String?, by: Grouping, group: String)])] = [
            ("Per institution", [("National", nil, .national, "national")] + institutions.map { ($0, nil, .institution, $0) }),
            ("Per unit", units.map { ($0.unit, $0.inst, .unit, $0.unit) }),
        ]
        for (title, groups) in levels where !groups.isEmpty {
            let showInst = groups.contains { $0.inst != nil }
            for (caption, inds) in [("Pathway times: share within the time (service-caused share below)", time), ("Pathway content and endings", other)] {
                h += "<h3>\(esc(title)) · \(esc(caption))</h3><div class=\"scroll\"><table class=\"ind\"><thead><tr>"
                if showInst { h += "<th class=\"grp\">Institution</th>" }
                h += "<th class=\"grp\">\(showInst ? "Unit" : "Group")</th>"
                for ind in inds { h += "<th>\(esc(ind.title))</th>" }
                h += "</tr></thead><tbody>"
                for g in groups {
                    h += "<tr>"
                    if showInst { h += "<td class=\"grp\">\(esc(g.inst ?? ""))</td>" }
                    h += "<td class=\"grp\">\(g.by == .national ? "<b>National</b>" : esc(g.label))</td>"
                    for ind in inds {
                        h += cell(ind, row(ind, g.by, g.group, institution: g.inst),
                                  ind.isTimeIndicator ? row(ind, g.by, g.group, IndicatorRow.variantServiceCaused, institution: g.inst) : nil)
                    }
                    h += "</tr>"
                }
                h += "</tbody></table></div>"
            }
        }
        h += "<p class=\"note\">Each cell: the share, then numerator / denominator. For the pathway times the second line is the "
        h += "service-caused share (patient-postponed pathways left out) and the number postponed; green cells reach the "
        h += "\(pct(target)) target, orange cells do not. An empty cell has no pathways in the denominator.\(esc(suppressionNote))</p></section>\n"
        return h
    }

    func cell(_ ind: QualityIndicator, _ r: IndicatorRow?, _ sc: IndicatorRow?) -> String {
        guard let r else { return "<td class=\"c empty\"></td>" }
        if r.suppressed { return "<td class=\"c sup\" title=\"too few to publish\">n&lt;min</td>" }
        let share = r.share ?? 0
        var cls = "c"
        if ind.isTimeIndicator { cls += share >= target ? " ok" : " below" }
        var h = "<td class=\"\(cls)\"><span class=\"pct\">\(ind.isTimeIndicator ? pct(share, target: target) : pct(share))</span> <span class=\"nd\">\(r.numerator ?? 0)/\(r.denominator ?? 0)</span>"
        if ind.isTimeIndicator {
            let scText = sc.map { $0.suppressed ? "n&lt;min" : pct($0.share) } ?? "–"
            h += "<br><span class=\"sc\">sc \(scText) · L \(r.postponed.map { String($0) } ?? "–")</span>"
        }
        return h + "</td>"
    }

    func truncate(_ s: String, _ max: Int) -> String {
        s.count <= max ? s : String(s.prefix(max - 1)) + "…"
    }

    var css: String {
        """
        :root{--ink:\(Palette.ink);--muted:\(Palette.muted);--grid:\(Palette.grid);--accent:\(Palette.accent);--good:\(Palette.good);--below:\(Palette.below)}
        *{box-sizing:border-box}
        body{margin:0;background:#f5f7fa;color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
        .wrap{max-width:1200px;margin:0 auto;padding:0 28px}
        .band{background:linear-gradient(120deg,#0b4f4f,#0f6e6e 60%,#14807a);color:#fff;padding:30px 0 26px;margin-bottom:8px}
        .kicker{text-transform:uppercase;letter-spacing:.08em;font-size:12px;opacity:.85}
        h1{margin:4px 0 6px;font-size:30px;font-weight:650}
        .sub{opacity:.9;font-size:14px}
        h2{font-size:20px;margin:30px 0 12px;font-weight:650}
        h3{font-size:15px;margin:22px 0 8px;color:var(--muted);font-weight:600}
        section{margin-bottom:8px}
        .tiles{display:grid;grid-template-columns:repeat(5,1fr);gap:12px}
        .tiles.small{grid-template-columns:repeat(7,1fr);margin-top:12px}
        .tile{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(16,24,40,.08);border-top:4px solid var(--grid)}
        .tile.ok{border-top-color:var(--good)}.tile.below{border-top-color:var(--below)}.tile.plain{border-top-color:#9fb3c8}
        .t-title{font-size:12.5px;color:var(--muted);font-weight:600;min-height:2.6em}
        .t-value{font-size:28px;font-weight:700;margin:2px 0 4px;font-variant-numeric:tabular-nums}
        .tiles.small .t-value{font-size:22px}
        .tile.ok .t-value{color:var(--good)}.tile.below .t-value{color:var(--below)}
        .t-detail{font-size:12px;color:var(--muted)}
        .meter{display:block;margin:4px 0 6px}
        .grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px}
        .card{background:#fff;border-radius:10px;padding:12px 14px 8px;margin:0;box-shadow:0 1px 2px rgba(16,24,40,.08)}
        figcaption{font-weight:650;font-size:14px;margin-bottom:4px}
        .note{color:var(--muted);font-size:13px;margin:10px 2px 0;max-width:980px}
        .card .note{margin:6px 0 4px}
        .empty{color:var(--muted);font-style:italic}
        svg text{font-family:inherit}
        .axis{font-size:11px;fill:var(--muted)}
        .axis.target{fill:\(Palette.target)}
        .lbl{font-size:12px;fill:var(--ink)}
        .val{font-size:12px;fill:var(--ink);font-weight:600}
        .den{font-size:11px;fill:var(--muted);font-weight:400}
        .seg{font-size:11px;fill:#fff;font-weight:600}
        div.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:12px;color:var(--ink);margin:6px 0 6px 2px}
        div.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
        .scroll{overflow-x:auto;background:#fff;border-radius:10px;box-shadow:0 1px 2px rgba(16,24,40,.08)}
        table.ind{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
        table.ind th{background:#eef2f6;font-size:12px;font-weight:600;color:var(--muted);text-align:right;padding:8px 10px;vertical-align:bottom}
        table.ind th.grp,table.ind td.grp{text-align:left;white-space:nowrap}
        table.ind td{padding:6px 10px;border-top:1px solid var(--grid);text-align:right;vertical-align:top;white-space:nowrap}
        table.ind tbody tr:first-child td{font-weight:500}
        td.c .pct{font-weight:650}
        td.c .nd{color:var(--muted);font-size:11.5px}
        td.c .sc{color:var(--muted);font-size:11px}
        td.c.ok .pct{color:var(--good)} td.c.below .pct{color:var(--below)}
        td.c.ok{background:#f0f8f3} td.c.below{background:#fdf4ec}
        td.sup{color:#9aa5b1;background:repeating-linear-gradient(45deg,#f5f7fa,#f5f7fa 4px,#eceff3 4px,#eceff3 8px)}
        table.mini{border-collapse:collapse;width:100%;font-size:13px}
        table.mini td{padding:4px 6px;border-top:1px solid var(--grid)}
        table.mini td.code{font-weight:700;width:22px;color:var(--accent)}
        table.mini td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums;width:52px}
        table.mini td.barcell{width:30%}
        .hbar{display:block;height:9px;border-radius:3px;background:#7cc0ba;min-width:1px}
        footer{margin:34px 0 40px;padding-top:14px;border-top:1px solid var(--grid);color:var(--muted);font-size:12.5px}
        code{font-size:12px;background:#eef2f6;padding:1px 4px;border-radius:3px}
        @media (max-width:900px){.tiles{grid-template-columns:repeat(2,1fr)}.tiles.small{grid-template-columns:repeat(2,1fr)}.grid2{grid-template-columns:1fr}}
        @media print{body{background:#fff}.band{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
        """
    }
}
