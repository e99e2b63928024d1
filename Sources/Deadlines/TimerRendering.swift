import Pathway

extension Deadlines.Timer {
    /// The CSV header of ``csvRow(episode:institution:unit:)``: the fields issue 5 requires, in its
    /// order, then the timer id, the starting and meeting codes and the allowed days.
    public static let csvHeader =
        "episode,institution,unit,timer,start,due,met,status,setting,patientPostponed,rulesVersion,id,startedBy,metBy,allowedDays"

    /// One JSON object with a fixed key order; the names come from the caller.
    public func jsonRow(episode: String, institution: String, unit: String) -> String {
        var out = ""
        out.reserveCapacity(320)
        out.append("{")
        writeJSONFields(into: &out, episode: episode, institution: institution, unit: unit)
        out.append("}")
        return out
    }

    /// The row's fields without the braces, so a transition line can prefix its own.
    public func writeJSONFields(into out: inout String, episode: String, institution: String, unit: String) {
        JSONText.key("episode", into: &out); JSONText.string(episode, into: &out)
        out.append(","); JSONText.key("institution", into: &out); JSONText.string(institution, into: &out)
        out.append(","); JSONText.key("unit", into: &out); JSONText.string(unit, into: &out)
        out.append(","); JSONText.key("timer", into: &out); JSONText.string(kind.name, into: &out)
        out.append(","); JSONText.key("start", into: &out); JSONText.date(start, into: &out)
        out.append(","); JSONText.key("due", into: &out); JSONText.date(due, into: &out)
        out.append(","); JSONText.key("met", into: &out); JSONText.date(met?.date, into: &out)
        out.append(","); JSONText.key("status", into: &out); JSONText.string(status.name, into: &out)
        out.append(","); JSONText.key("setting", into: &out); JSONText.string(setting.name, into: &out)
        out.append(","); JSONText.key("patientPostponed", into: &out); out.append(patientPostponed ? "true" : "false")
        out.append(","); JSONText.key("rulesVersion", into: &out); JSONText.string(rulesVersion, into: &out)
        out.append(","); JSONText.key("id", into: &out); JSONText.string(id.description, into: &out)
        out.append(","); JSONText.key("startedBy", into: &out); JSONText.string(startedBy.name, into: &out)
        out.append(","); JSONText.key("metBy", into: &out)
        if let m = met { JSONText.string(m.name, into: &out) } else { out.append("null") }
        out.append(","); JSONText.key("allowedDays", into: &out); out.append(String(allowedDays))
    }

    /// One CSV line (no line break) matching ``csvHeader``; an unmet timer has an empty `met`.
    public func csvRow(episode: String, institution: String, unit: String) -> String {
        var out = ""
        out.reserveCapacity(160)
        CSVText.field(episode, into: &out); out.append(",")
        CSVText.field(institution, into: &out); out.append(",")
        CSVText.field(unit, into: &out); out.append(",")
        out.append(kind.name); out.append(",")
        out.append(start.description); out.append(",")
        out.append(due.description); out.append(",")
        if let m = met { out.append(m.date.description) }
        out.append(",")
        out.append(status.name); out.append(",")
        out.append(setting.name); out.append(",")
        out.append(patientPostponed ? "true" : "false"); out.append(",")
        CSVText.field(rulesVersion, into: &out); out.append(",")
        out.append(id.description); out.append(",")
        out.append(startedBy.name); out.append(",")
        if let m = met { out.append(m.name) }
        out.append(",")
        out.append(String(allowedDays))
        return out
    }
}

extension Deadlines.Transition {
    /// One NDJSON line (no line break): `date` and `transition`, then the timer's row fields as of
    /// the transition's date.
    public func jsonLine(episode: String, institution: String, unit: String) -> String {
        var out = "{"
        JSONText.key("date", into: &out); JSONText.date(date, into: &out)
        out.append(","); JSONText.key("transition", into: &out); JSONText.string(kind.name, into: &out)
        out.append(",")
        timer.writeJSONFields(into: &out, episode: episode, institution: institution, unit: unit)
        out.append("}")
        return out
    }

    /// The CSV header of ``csvRow(episode:institution:unit:)``: `date`, `transition`, then the timer row's.
    public static let csvHeader = "date,transition," + Deadlines.Timer.csvHeader

    /// One CSV line (no line break) matching ``csvHeader``.
    public func csvRow(episode: String, institution: String, unit: String) -> String {
        date.description + "," + kind.name + "," + timer.csvRow(episode: episode, institution: institution, unit: unit)
    }
}
