import Deadlines
import Ledger
import Pathway

/// Text rendering for people who are not programmers: aligned columns, ISO dates, code texts.
enum EpisodeText {
    /// The episode's state as labelled lines; used both to print and to diff two states.
    static func lines(_ s: EpisodeState, symbols: SymbolTable) -> [(label: String, value: String)] {
        let m = s.milestones
        var out: [(String, String)] = []
        out.append(("phase", s.phase.name))
        if !symbols.name(m.patient).isEmpty { out.append(("patient", symbols.name(m.patient))) }
        if !symbols.name(m.institution).isEmpty { out.append(("institution / unit", "\(symbols.name(m.institution)) / \(symbols.name(m.unit))")) }
        if let st = m.setting { out.append(("care setting", st.name)) }
        func point(_ label: String, _ p: Milestones.Point?, _ code: PathwayCode) {
            if let p { out.append((label, "\(p.date)  \(code.procedureCode)  \(code.norwegian)")) }
        }
        point("start (A)", m.start, .A)
        if let e = m.emergencyAssessment { out.append(("emergency assessment", e.description)) }
        point("detox finished (D)", m.detoxFinished, .D)
        point("first attendance (M)", m.firstAttendance, .M)
        for (i, d) in m.decisions.enumerated() {
            let letters = d.outcomes.letterBytes.map { String(UnicodeScalar($0)) }.joined(separator: "+")
            let texts = d.outcomes.letterBytes.map { OutcomeSystem.decision.norwegian(Character(UnicodeScalar($0))) }.joined(separator: "; ")
            out.append(("clinical decision \(i + 1) (C)", "\(d.date)  C\(letters)  \(texts)"))
        }
        point("informed (UB)", m.informed, .U("B"))
        point("involved in plan (UU)", m.involved, .U("U"))
        point("feedback tool (UF)", m.feedbackTool, .U("F"))
        for (i, p) in m.feedback.enumerated() { out.append(("feedback \(i + 1) (F)", p.date.description)) }
        for (i, p) in m.evaluations.enumerated() { out.append(("evaluation \(i + 1) (E)", p.date.description)) }
        for (i, p) in m.postponements.enumerated() { out.append(("patient-postponed \(i + 1) (L)", p.date.description)) }
        if let e = m.end {
            let c = PathwayCode.X(Character(UnicodeScalar(e.outcome)))
            out.append(("end (X)", "\(e.date)  \(c.procedureCode)  \(c.norwegian)"))
        }
        for (i, h) in m.helpNeeds.enumerated() {
            let c = PathwayCode.H(Character(UnicodeScalar(h.outcome)))
            out.append(("help need \(i + 1) (H)", "\(h.date)  \(c.procedureCode)  \(c.norwegian)"))
        }
        for f in s.findings { out.append(("finding [\(f.rule.id)]", "\(f.message) (position \(f.position))")) }
        return out
    }

    static func table(_ rows: [(String, String)], indent: String = "  ") -> [String] {
        let w = rows.map(\.0.count).max() ?? 0
        return rows.map { indent + pad($0.0, w) + "  " + $0.1 }
    }

    static func timerLines(_ timers: [Deadlines.Timer], indent: String = "  ") -> [String] {
        guard !timers.isEmpty else { return [indent + "(no timers yet)"] }
        var rows: [[String]] = [["timer", "start", "due", "met", "status", "setting", "postponed", "rules"]]
        for t in timers {
            rows.append([t.kind.name, t.start.description, t.due.description, t.met?.date.description ?? "-",
                         t.status.name, t.setting.name, t.patientPostponed ? "yes (patient)" : "no", t.rulesVersion])
        }
        return columns(rows, indent: indent)
    }

    static func columns(_ rows: [[String]], indent: String = "  ") -> [String] {
        guard let n = rows.first?.count else { return [] }
        var widths = [Int](repeating: 0, count: n)
        for r in rows { for (i, c) in r.enumerated() where i < n { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            indent + r.enumerated().map { i, c in i == r.count - 1 ? c : pad(c, widths[i]) }.joined(separator: "  ")
        }
    }

    /// `s` followed by spaces up to `width` characters (no Foundation bridging: lists run to
    /// thousands of rows).
    static func pad(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    /// The lines that differ between two states: "+ label value", "- label value".
    static func diff(_ before: [(label: String, value: String)], _ after: [(label: String, value: String)]) -> [String] {
        var out: [String] = []
        let b = Dictionary(before.map { ($0.label, $0.value) }, uniquingKeysWith: { a, _ in a })
        let a = Dictionary(after.map { ($0.label, $0.value) }, uniquingKeysWith: { a, _ in a })
        for (l, v) in after where b[l] != v {
            if let old = b[l] { out.append("~ \(l): \(old)  →  \(v)") } else { out.append("+ \(l): \(v)") }
        }
        for (l, v) in before where a[l] == nil { out.append("- \(l): \(v)") }
        return out
    }

    /// The episode JSON with timers and links added.
    static func json(_ state: EpisodeState, episode: String, symbols: SymbolTable, version: UInt64, lastPosition: UInt64,
                     timers: [Deadlines.Timer], links: (previous: String?, next: String?)?, institution: String, unit: String) -> String {
        var s = state.json(episode: episode, symbols: symbols, version: version, lastPosition: lastPosition)
        s.removeLast()
        s += ",\"timers\":[" + timers.map { $0.jsonRow(episode: episode, institution: institution, unit: unit) }.joined(separator: ",") + "]"
        if let l = links {
            s += ",\"previousEpisode\":"; if let p = l.previous { JSONText.string(p, into: &s) } else { s += "null" }
            s += ",\"nextEpisode\":"; if let n = l.next { JSONText.string(n, into: &s) } else { s += "null" }
        }
        return s + "}"
    }
}
