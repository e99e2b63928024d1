import Pathway

/// What `pathway quality` asks for. Nil fields mean "all".
public struct QualityQuery: Sendable, Equatable {
    /// A month `2026-03`, a tertial `2026-T1` or a year `2026`; nil for every period with data.
    /// A period that does not parse selects nothing (check it with ``QualityPeriod/init(_:)``).
    public var period: String?
    /// One grouping level; nil for all three.
    public var by: Grouping?
    /// One indicator id (``QualityIndicator/id``); nil for all.
    public var indicator: String?
    /// Cells whose denominator is under this keep their row but are blanked (`suppressed`).
    public var minCell: Int

    public init(period: String? = nil, by: Grouping? = nil, indicator: String? = nil, minCell: Int = 0) {
        self.period = period; self.by = by; self.indicator = indicator; self.minCell = minCell
    }
}

/// One cell of the indicator table: (indicator, period, group, variant).
public struct IndicatorRow: Sendable, Equatable {
    public var indicator: String
    public var period: String
    public var by: Grouping
    /// The institution or unit id, or `national`.
    public var group: String
    /// The institution the group belongs to: the unit's institution on a unit row, the group itself
    /// on an institution row, nil on the national row. Unit ids need not be unique across institutions.
    public var institution: String?
    /// `all` or `service-caused` (time indicators only: patient-postponed episodes left out).
    public var variant: String
    /// Nil when suppressed.
    public var numerator: Int?
    public var denominator: Int?
    /// numerator / denominator, 0–1; nil when suppressed.
    public var share: Double?
    /// Time indicators, `all` rows: how many of the denominator were patient-postponed. Nil on other
    /// rows and when suppressed.
    public var postponed: Int?
    /// The denominator was under `--min-cell`: numerator, denominator, share and postponed are blanked.
    public var suppressed: Bool

    public init(indicator: String, period: String, by: Grouping, group: String, institution: String?, variant: String,
                numerator: Int?, denominator: Int?, share: Double?, postponed: Int?, suppressed: Bool) {
        self.indicator = indicator; self.period = period; self.by = by; self.group = group; self.institution = institution
        self.variant = variant; self.numerator = numerator; self.denominator = denominator; self.share = share
        self.postponed = postponed; self.suppressed = suppressed
    }

    public static let variantAll = "all"
    public static let variantServiceCaused = "service-caused"

    /// The CSV header of ``csvRow()``: issue 6's fields in its order, then `suppressed` and `institution`.
    public static let csvHeader = "indicator,period,by,group,variant,numerator,denominator,share,postponed,suppressed,institution"

    /// One JSON object (one NDJSON line) with a fixed key order; blanked values are `null`.
    public func jsonRow() -> String {
        var out = JSONBytes(capacity: 320)
        out.raw("{")
        out.key("indicator", first: true); out.string(indicator)
        out.key("period"); out.string(period)
        out.key("by"); out.string(by.rawValue)
        out.key("group"); out.string(group)
        out.key("variant"); out.string(variant)
        out.key("numerator"); out.int(numerator)
        out.key("denominator"); out.int(denominator)
        out.key("share"); if let share { out.literal(formatShare(share)) } else { out.raw("null") }
        out.key("postponed"); out.int(postponed)
        out.key("suppressed"); out.bool(suppressed)
        out.key("institution"); out.optionalString(institution)
        out.raw("}")
        return out.text
    }

    /// One CSV line (no line break) matching ``csvHeader``; blanked values are empty fields.
    public func csvRow() -> String {
        var out = ""
        out.append(indicator); out.append(",")
        out.append(period); out.append(",")
        out.append(by.rawValue); out.append(",")
        CSVText.field(group, into: &out); out.append(",")
        out.append(variant); out.append(",")
        if let n = numerator { out.append(String(n)) }
        out.append(",")
        if let d = denominator { out.append(String(d)) }
        out.append(",")
        if let s = share { out.append(formatShare(s)) }
        out.append(",")
        if let p = postponed { out.append(String(p)) }
        out.append(",")
        out.append(suppressed ? "true" : "false"); out.append(",")
        if let i = institution { CSVText.field(i, into: &out) }
        return out
    }
}

/// One cell of a distribution: how often one category occurs in (distribution, period, group), or,
/// for a pathway time, its median and upper percentiles in days.
public struct DistributionRow: Sendable, Equatable {
    /// `end-outcome` (9326), `help-need` (9328), `decision-outcome` (9323) or `pathway-time`.
    public var distribution: String
    public var period: String
    public var by: Grouping
    public var group: String
    public var institution: String?
    /// The outcome letter (`G`, `T`, …) or the timer name (`basic-assessment`, …).
    public var category: String
    /// An English label for the category.
    public var label: String
    /// Outcomes: episodes (decisions for `decision-outcome`) with this category. Pathway time: the
    /// completed intervals measured. Nil when suppressed.
    public var count: Int?
    /// The cell's denominator: ended episodes (`end-outcome`), ended episodes with H (`help-need`),
    /// decisions (`decision-outcome`), completed intervals (`pathway-time`). Nil when suppressed.
    public var total: Int?
    /// count / total (outcomes only); nil for pathway times and when suppressed.
    public var share: Double?
    /// Pathway time only: nearest-rank percentiles in whole days (the day of the start is day 0;
    /// ``QualityCounters/maxDays`` stands for that many days or more).
    public var median: Int?
    public var p75: Int?
    public var p90: Int?
    public var suppressed: Bool

    public init(distribution: String, period: String, by: Grouping, group: String, institution: String?, category: String,
                label: String, count: Int?, total: Int?, share: Double?, median: Int?, p75: Int?, p90: Int?, suppressed: Bool) {
        self.distribution = distribution; self.period = period; self.by = by; self.group = group
        self.institution = institution; self.category = category; self.label = label; self.count = count
        self.total = total; self.share = share; self.median = median; self.p75 = p75; self.p90 = p90
        self.suppressed = suppressed
    }

    public static let csvHeader = "distribution,period,by,group,category,label,count,total,share,median,p75,p90,suppressed,institution"

    public func jsonRow() -> String {
        var out = "{"
        out.reserveCapacity(320)
        func int(_ k: String, _ v: Int?) { out.append(","); JSONText.key(k, into: &out); out.append(v.map { String($0) } ?? "null") }
        JSONText.key("distribution", into: &out); JSONText.string(distribution, into: &out)
        out.append(","); JSONText.key("period", into: &out); JSONText.string(period, into: &out)
        out.append(","); JSONText.key("by", into: &out); JSONText.string(by.rawValue, into: &out)
        out.append(","); JSONText.key("group", into: &out); JSONText.string(group, into: &out)
        out.append(","); JSONText.key("category", into: &out); JSONText.string(category, into: &out)
        out.append(","); JSONText.key("label", into: &out); JSONText.string(label, into: &out)
        int("count", count)
        int("total", total)
        out.append(","); JSONText.key("share", into: &out); out.append(share.map(formatShare) ?? "null")
        int("median", median)
        int("p75", p75)
        int("p90", p90)
        out.append(","); JSONText.key("suppressed", into: &out); out.append(suppressed ? "true" : "false")
        out.append(","); JSONText.key("institution", into: &out)
        if let i = institution { JSONText.string(i, into: &out) } else { out.append("null") }
        out.append("}")
        return out
    }

    public func csvRow() -> String {
        var out = ""
        func opt(_ v: Int?) { if let v { out.append(String(v)) }; out.append(",") }
        out.append(distribution); out.append(",")
        out.append(period); out.append(",")
        out.append(by.rawValue); out.append(",")
        CSVText.field(group, into: &out); out.append(",")
        CSVText.field(category, into: &out); out.append(",")
        CSVText.field(label, into: &out); out.append(",")
        opt(count); opt(total)
        if let s = share { out.append(formatShare(s)) }
        out.append(",")
        opt(median); opt(p75); opt(p90)
        out.append(suppressed ? "true" : "false"); out.append(",")
        if let i = institution { CSVText.field(i, into: &out) }
        return out
    }
}

/// Shares are printed with Swift's shortest round-trip form (`0.75`, `0.6666666666666666`, `1.0`),
/// so the same counters always print the same bytes.
@inline(__always) func formatShare(_ s: Double) -> String { s.description }
