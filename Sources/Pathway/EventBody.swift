/// The canonical body of a stored ledger event.
///
/// Fourteen text fields in a fixed order, each written as a big-endian `UInt16` length followed by
/// its UTF-8 bytes (an absent value is the empty string). The event log prefixes its own header
/// fields (position, stream version, append instant, id, stream) in the same form, and the hash
/// chain covers the whole. Being text, the bytes can be rebuilt by an auditor from an export line
/// with any tool; being length-prefixed, they are read in place without a parser.
/// See docs/formats.md.
public enum EventBody {
    public enum Field: Int, CaseIterable, Sendable {
        case kind, target, targetPosition, reason, recordedAt, author, patient, institution, unit, setting, code, date, note,
             emergencyAssessmentDate
        public var name: String {
            switch self {
            case .kind: "kind"; case .target: "target"; case .targetPosition: "targetPosition"; case .reason: "reason"; case .recordedAt: "recordedAt"
            case .author: "author"; case .patient: "patient"; case .institution: "institution"; case .unit: "unit"
            case .setting: "setting"; case .code: "code"; case .date: "date"; case .note: "note"
            case .emergencyAssessmentDate: "emergencyAssessmentDate"
            }
        }
    }
    public static let fieldCount = Field.allCases.count

    /// The body's field values as text, in canonical order. `targetPosition` is the log position of
    /// the event a voiding or correction names (resolved by the ledger when it appends).
    public static func fields(of event: LedgerEvent, targetPosition: UInt64?) -> [String] {
        let tp = targetPosition.map { String($0) } ?? ""
        func reg(_ kind: EventKind, _ target: String, _ reason: String, _ r: Registration) -> [String] {
            [kind.rawValue, target, tp, reason, r.recordedAt?.description ?? "", r.author, r.patient, r.institution, r.unit,
             r.setting.name, r.code.procedureCode, r.date.description, r.note ?? "",
             r.emergencyAssessmentDate?.description ?? ""]
        }
        switch event {
        case .registration(let r): return reg(.registration, "", "", r)
        case .correction(let c): return reg(.correction, c.target, c.reason, c.replacement)
        case .voiding(let v):
            return [EventKind.voiding.rawValue, v.target, tp, v.reason, v.recordedAt?.description ?? "", v.author,
                    "", "", "", "", "", "", "", ""]
        }
    }

    /// Encodes the body in canonical form — the same bytes as ``fields(of:targetPosition:)`` would
    /// give, written straight into one buffer (this runs once per appended event).
    public static func encode(_ event: LedgerEvent, targetPosition: UInt64?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(192)
        encode(event, targetPosition: targetPosition, into: &out)
        return out
    }

    public static func encode(_ event: LedgerEvent, targetPosition: UInt64?, into out: inout [UInt8]) {
        // Written field by field without closures or temporary arrays: this is on the append path
        // of every event (an import spends a tenth of its appending thread here otherwise).
        switch event {
        case .registration(let r): encodeRegistration(.registration, nil, nil, r, targetPosition, into: &out)
        case .correction(let c): encodeRegistration(.correction, c.target, c.reason, c.replacement, targetPosition, into: &out)
        case .voiding(let v):
            appendText(EventKind.voiding.rawValue, to: &out)
            appendText(v.target, to: &out)
            appendPosition(targetPosition, to: &out)
            appendText(v.reason, to: &out)
            appendInstant(v.recordedAt, to: &out)
            appendText(v.author, to: &out)
            for _ in 0..<8 { out.append(0); out.append(0) }
        }
    }

    private static func encodeRegistration(_ kind: EventKind, _ target: String?, _ reason: String?, _ r: Registration,
                                           _ targetPosition: UInt64?, into out: inout [UInt8]) {
        appendText(kind.rawValue, to: &out)
        appendText(target, to: &out)
        appendPosition(targetPosition, to: &out)
        appendText(reason, to: &out)
        appendInstant(r.recordedAt, to: &out)
        appendText(r.author, to: &out)
        appendText(r.patient, to: &out)
        appendText(r.institution, to: &out)
        appendText(r.unit, to: &out)
        appendText(r.setting.name, to: &out)
        let outcome = r.code.outcomeByte
        out.append(0); out.append(outcome != 0 ? 5 : 4)
        out.append(UInt8(ascii: "D")); out.append(UInt8(ascii: "0")); out.append(UInt8(ascii: "1")); out.append(r.code.event.letterByte)
        if outcome != 0 { out.append(outcome) }
        appendDate(r.date, to: &out)
        appendText(r.note, to: &out)
        if let e = r.emergencyAssessmentDate { appendDate(e, to: &out) } else { out.append(0); out.append(0) }
    }

    /// A text field: length, then the UTF-8 bytes (an absent value is the empty field).
    @inline(__always) private static func appendText(_ s: String?, to out: inout [UInt8]) {
        guard var t = s else { out.append(0); out.append(0); return }
        t.withUTF8 { b in
            let n = min(b.count, Int(UInt16.max))
            out.append(UInt8(n >> 8)); out.append(UInt8(n & 0xff))
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[0..<n]))
        }
    }
    /// `YYYY-MM-DD` is always ten bytes (``CivilDate`` years are 0–9999).
    @inline(__always) private static func appendDate(_ d: CivilDate, to out: inout [UInt8]) {
        let start = out.count
        out.append(0); out.append(0)
        d.appendISO(to: &out)
        out[start + 1] = UInt8(out.count - start - 2)
    }
    @inline(__always) private static func appendInstant(_ i: Instant?, to out: inout [UInt8]) {
        let start = out.count
        out.append(0); out.append(0)
        i?.appendRFC3339(to: &out)
        out[start + 1] = UInt8(out.count - start - 2)
    }
    @inline(__always) private static func appendPosition(_ p: UInt64?, to out: inout [UInt8]) {
        let start = out.count
        out.append(0); out.append(0)
        if let p { Digits.append(p, to: &out) }
        out[start + 1] = UInt8(out.count - start - 2)
    }

    public static func appendField(_ s: String, to out: inout [UInt8]) {
        let u = s.utf8
        let n = min(u.count, Int(UInt16.max))
        out.append(UInt8(n >> 8)); out.append(UInt8(n & 0xff))
        out.append(contentsOf: u.prefix(n))
    }

    /// Splits length-prefixed fields in place; nil if the bytes are not well formed.
    public static func split(_ bytes: UnsafeRawBufferPointer, count: Int) -> [UnsafeRawBufferPointer]? {
        var result: [UnsafeRawBufferPointer] = []
        result.reserveCapacity(count)
        var i = 0
        for _ in 0..<count {
            guard i + 2 <= bytes.count else { return nil }
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            i += 2
            guard i + n <= bytes.count else { return nil }
            result.append(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)]))
            i += n
        }
        return i == bytes.count ? result : nil
    }

    /// Decodes a body back into an event. `id` and `episode` come from the log's header.
    public static func decode(_ bytes: UnsafeRawBufferPointer, id: String, episode: String) throws(BodyError) -> (event: LedgerEvent, targetPosition: UInt64?) {
        guard let f = split(bytes, count: fieldCount) else { throw BodyError.malformed("field lengths do not add up") }
        func s(_ field: Field) -> String { String(decoding: f[field.rawValue], as: UTF8.self) }
        func opt(_ field: Field) -> String? { f[field.rawValue].isEmpty ? nil : s(field) }
        let recordedAt: Instant?
        if let r = opt(.recordedAt) {
            guard let i = Instant(rfc3339: r) else { throw BodyError.malformed("recordedAt '\(r)' is not an instant") }
            recordedAt = i
        } else { recordedAt = nil }
        let kind = s(.kind)
        var targetPosition: UInt64? = nil
        if let t = opt(.targetPosition) {
            guard let p = UInt64(t) else { throw BodyError.malformed("targetPosition '\(t)' is not a position") }
            targetPosition = p
        }
        if kind == EventKind.voiding.rawValue {
            return (.voiding(Voiding(id: id, target: s(.target), reason: s(.reason), author: s(.author), recordedAt: recordedAt)), targetPosition)
        }
        guard let setting = CareSetting(name: s(.setting)) else { throw BodyError.malformed("unknown setting '\(s(.setting))'") }
        guard let code = PathwayCode(procedureCode: f[Field.code.rawValue]) else { throw BodyError.malformed("unknown code '\(s(.code))'") }
        guard let date = CivilDate(utf8: f[Field.date.rawValue]) else { throw BodyError.malformed("bad date '\(s(.date))'") }
        var emergency: CivilDate? = nil
        if !f[Field.emergencyAssessmentDate.rawValue].isEmpty {
            guard let e = CivilDate(utf8: f[Field.emergencyAssessmentDate.rawValue]) else { throw BodyError.malformed("bad emergencyAssessmentDate") }
            emergency = e
        }
        let r = Registration(id: id, episode: episode, patient: s(.patient), institution: s(.institution), unit: s(.unit),
                             setting: setting, code: code, date: date, author: s(.author), recordedAt: recordedAt,
                             note: opt(.note), emergencyAssessmentDate: emergency)
        switch kind {
        case EventKind.registration.rawValue: return (.registration(r), nil)
        case EventKind.correction.rawValue:
            return (.correction(Correction(target: s(.target), reason: s(.reason), replacement: r)), targetPosition)
        default: throw BodyError.malformed("unknown event kind '\(kind)'")
        }
    }
}

public enum BodyError: Error, Sendable, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self { case .malformed(let m): "stored event body is malformed: \(m)" }
    }
}
