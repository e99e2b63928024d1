import Pathway

/// Which spelling of a pathway code a writer uses.
public enum CodeSpelling: Sendable {
    /// One `code` field: `"code":"D01CT"`.
    case procedure
    /// Separate `pathway`, `event` and (when there is one) `outcome` fields.
    case module
}

/// Writes events as NDJSON lines that ``IngestReader`` reads back to the same events.
///
/// Keys come in the order of the format's examples — registration: id, episode, patient,
/// institution, unit, setting, code (or pathway, event, outcome), date, author, then recordedAt,
/// note, emergencyAssessmentDate; voiding: id, voids, reason, author, recordedAt; correction: id,
/// corrects, reason, then the registration's fields. Absent optional fields are omitted.
public enum NDJSONWriter {
    /// One line, without the line terminator.
    public static func line(for event: LedgerEvent, spelling: CodeSpelling = .procedure) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        append(event, spelling: spelling, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends one line and its `\n` terminator to `out`.
    public static func appendLine(_ event: LedgerEvent, spelling: CodeSpelling = .procedure, to out: inout [UInt8]) {
        append(event, spelling: spelling, to: &out)
        out.append(ASCII.newline)
    }

    /// Appends one line, without the terminator, to `out`.
    public static func append(_ event: LedgerEvent, spelling: CodeSpelling = .procedure, to out: inout [UInt8]) {
        var first = true
        func field(_ key: StaticString, _ value: String) {
            out.append(first ? ASCII.openBrace : ASCII.comma)
            first = false
            out.append(ASCII.quote)
            out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            out.append(ASCII.quote); out.append(ASCII.colon)
            appendJSONString(value, to: &out)
        }
        func registration(_ r: Registration) {
            field("episode", r.episode); field("patient", r.patient); field("institution", r.institution)
            field("unit", r.unit); field("setting", r.setting.name)
            switch spelling {
            case .procedure: field("code", r.code.procedureCode)
            case .module:
                let m = r.code.moduleFields
                field("pathway", m.pathway); field("event", m.event)
                if let o = m.outcome { field("outcome", o) }
            }
            field("date", r.date.description); field("author", r.author)
            if let t = r.recordedAt { field("recordedAt", t.description) }
            if let n = r.note { field("note", n) }
            if let e = r.emergencyAssessmentDate { field("emergencyAssessmentDate", e.description) }
        }
        switch event {
        case .registration(let r):
            field("id", r.id)
            registration(r)
        case .voiding(let v):
            field("id", v.id); field("voids", v.target); field("reason", v.reason); field("author", v.author)
            if let t = v.recordedAt { field("recordedAt", t.description) }
        case .correction(let c):
            field("id", c.id); field("corrects", c.target); field("reason", c.reason)
            registration(c.replacement)
        }
        out.append(ASCII.closeBrace)
    }

    /// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped,
    /// everything else as UTF-8.
    public static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(ASCII.quote)
        for c in s.utf8 {
            switch c {
            case ASCII.quote: out.append(ASCII.backslash); out.append(ASCII.quote)
            case ASCII.backslash: out.append(ASCII.backslash); out.append(ASCII.backslash)
            case 0x0A: out.append(ASCII.backslash); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(ASCII.backslash); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(ASCII.backslash); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(ASCII.backslash); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(ASCII.backslash); out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [ASCII.backslash, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
            default: out.append(c)
            }
        }
        out.append(ASCII.quote)
    }
}

/// Writes registrations as RFC 4180 CSV that ``IngestReader`` reads back.
///
/// CSV carries registrations only, in procedure spelling, without `note` and
/// `emergencyAssessmentDate` (those need NDJSON).
public enum CSVWriter {
    /// The header line, without the terminator.
    public static let header = Field.csvHeader

    /// One record, without the terminator. Fields holding a comma, a quote, CR or LF are quoted,
    /// with quotes doubled.
    public static func line(for r: Registration) -> String {
        let fields = [r.id, r.episode, r.patient, r.institution, r.unit, r.setting.name, r.code.procedureCode,
                      r.date.description, r.author, r.recordedAt?.description ?? ""]
        return fields.map(escape).joined(separator: ",")
    }

    /// A field as RFC 4180 wants it.
    public static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == ASCII.comma || $0 == ASCII.quote || $0 == ASCII.cr || $0 == ASCII.newline }) else {
            return s
        }
        var out = "\""
        for ch in s.unicodeScalars {
            if ch == "\"" { out += "\"\"" } else { out.unicodeScalars.append(ch) }
        }
        return out + "\""
    }
}
