#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Every key the NDJSON format knows, in the order the validator checks them.
enum Field: Int, CaseIterable, Sendable {
    case id, voids, corrects, reason
    case episode, patient, institution, unit, setting, code, pathway, event, outcome, date, author, recordedAt, note
    case emergencyAssessmentDate

    @inline(__always) var bit: UInt32 { 1 << UInt32(rawValue) }

    var name: String {
        switch self {
        case .id: "id"; case .voids: "voids"; case .corrects: "corrects"; case .reason: "reason"
        case .episode: "episode"; case .patient: "patient"; case .institution: "institution"; case .unit: "unit"
        case .setting: "setting"; case .code: "code"; case .pathway: "pathway"; case .event: "event"
        case .outcome: "outcome"; case .date: "date"; case .author: "author"; case .recordedAt: "recordedAt"
        case .note: "note"; case .emergencyAssessmentDate: "emergencyAssessmentDate"
        }
    }

    /// The keys as a list for the "unknown field" message.
    static let knownList = "id, episode, patient, institution, unit, setting, code, pathway, event, outcome, date, author, "
        + "recordedAt, note, emergencyAssessmentDate, voids, corrects, reason"

    /// Fields only a registration (or the replacement in a correction) may carry.
    static let registrationOnly: [Field] = [.episode, .patient, .institution, .unit, .setting, .code, .pathway, .event,
                                            .outcome, .date, .note, .emergencyAssessmentDate]

    /// Fields that name something (keys, pseudonyms, places, people): no control characters but tab.
    static let identifiers: [Field] = [.id, .voids, .corrects, .episode, .patient, .institution, .unit, .author]
    /// The same without the patient, whose identity-number check has a message of its own.
    static let identifiersButPatient: [Field] = [.id, .voids, .corrects, .episode, .institution, .unit, .author]
    /// Free text, in the order its checks report.
    static let freeText: [Field] = [.note, .reason]

    /// The CSV columns, in header order.
    static let csvColumns: [Field] = [.id, .episode, .patient, .institution, .unit, .setting, .code, .date, .author, .recordedAt]
    static let csvHeader = "id,episode,patient,institution,unit,setting,code,date,author,recordedAt"

    /// Matches a known key written without escapes, quotes included, at `b[at]` (the opening
    /// quote). Returns the field and the offset after the closing quote, or nil (the caller then
    /// scans the key as a general string).
    @inline(__always)
    static func matchQuotedKey(_ b: UnsafeRawBufferPointer, at: Int) -> (Field, Int)? {
        guard at + 3 < b.count, let p = b.baseAddress else { return nil }
        let s = at + 1
        @inline(__always) func m(_ key: StaticString, _ f: Field) -> (Field, Int)? {
            let n = key.utf8CodeUnitCount // the key and its closing quote
            guard s + n <= b.count, memcmp(p + s, key.utf8Start, n) == 0 else { return nil }
            return (f, s + n)
        }
        switch b[s] {
        case UInt8(ascii: "i"): return m("id\"", .id) ?? m("institution\"", .institution)
        case UInt8(ascii: "e"): return m("episode\"", .episode) ?? m("event\"", .event) ?? m("emergencyAssessmentDate\"", .emergencyAssessmentDate)
        case UInt8(ascii: "p"): return m("patient\"", .patient) ?? m("pathway\"", .pathway)
        case UInt8(ascii: "u"): return m("unit\"", .unit)
        case UInt8(ascii: "s"): return m("setting\"", .setting)
        case UInt8(ascii: "c"): return m("code\"", .code) ?? m("corrects\"", .corrects)
        case UInt8(ascii: "d"): return m("date\"", .date)
        case UInt8(ascii: "a"): return m("author\"", .author)
        case UInt8(ascii: "r"): return m("recordedAt\"", .recordedAt) ?? m("reason\"", .reason)
        case UInt8(ascii: "n"): return m("note\"", .note)
        case UInt8(ascii: "o"): return m("outcome\"", .outcome)
        case UInt8(ascii: "v"): return m("voids\"", .voids)
        default: return nil
        }
    }

    /// Finds the field a key names. Exact, case-sensitive.
    @inline(__always)
    static func lookup(_ k: UnsafeRawBufferPointer) -> Field? {
        guard let p = k.baseAddress else { return nil }
        @inline(__always) func eq(_ s: StaticString) -> Bool { memcmp(p, s.utf8Start, s.utf8CodeUnitCount) == 0 }
        switch k.count {
        case 2: return eq("id") ? .id : nil
        case 4:
            switch k[0] {
            case UInt8(ascii: "u"): return eq("unit") ? .unit : nil
            case UInt8(ascii: "c"): return eq("code") ? .code : nil
            case UInt8(ascii: "d"): return eq("date") ? .date : nil
            case UInt8(ascii: "n"): return eq("note") ? .note : nil
            default: return nil
            }
        case 5:
            if eq("event") { return .event }
            return eq("voids") ? .voids : nil
        case 6:
            if eq("author") { return .author }
            return eq("reason") ? .reason : nil
        case 7:
            switch k[0] {
            case UInt8(ascii: "e"): return eq("episode") ? .episode : nil
            case UInt8(ascii: "p"):
                if eq("patient") { return .patient }
                return eq("pathway") ? .pathway : nil
            case UInt8(ascii: "s"): return eq("setting") ? .setting : nil
            case UInt8(ascii: "o"): return eq("outcome") ? .outcome : nil
            default: return nil
            }
        case 8: return eq("corrects") ? .corrects : nil
        case 10: return eq("recordedAt") ? .recordedAt : nil
        case 11: return eq("institution") ? .institution : nil
        case 23: return eq("emergencyAssessmentDate") ? .emergencyAssessmentDate : nil
        default: return nil
        }
    }
}

/// Where each field's value of the current line is: a range of the line itself, or (for values
/// with JSON escapes or doubled CSV quotes) of a scratch buffer holding the decoded bytes.
///
/// Allocated once per read; nothing is allocated per line. The scratch buffer is as large as the
/// longest accepted line, which bounds the decoded values of any one line. Its state is only ever
/// touched by the one read that owns it, so the hot fields skip dynamic exclusivity checks.
final class FieldSlots {
    static let count = Field.allCases.count
    let start: UnsafeMutablePointer<Int>
    let length: UnsafeMutablePointer<Int>
    let scratch: UnsafeMutableRawPointer
    let scratchCapacity = IngestOptions.maxLineBytes + 64
    /// Fields present on the current line.
    @exclusivity(unchecked) var present: UInt32 = 0
    /// Fields whose value lives in the scratch buffer.
    @exclusivity(unchecked) var inScratch: UInt32 = 0
    @exclusivity(unchecked) var scratchUsed = 0
    /// The current line.
    @exclusivity(unchecked) var line = UnsafeRawBufferPointer(start: nil, count: 0)

    init() {
        start = .allocate(capacity: FieldSlots.count)
        start.initialize(repeating: 0, count: FieldSlots.count)
        length = .allocate(capacity: FieldSlots.count)
        length.initialize(repeating: 0, count: FieldSlots.count)
        scratch = .allocate(byteCount: scratchCapacity, alignment: 8)
    }
    deinit {
        start.deallocate(); length.deallocate(); scratch.deallocate()
    }

    @inline(__always) func reset(line: UnsafeRawBufferPointer) {
        self.line = line; present = 0; inScratch = 0; scratchUsed = 0
    }
    @inline(__always) func has(_ f: Field) -> Bool { present & f.bit != 0 }

    @inline(__always) func set(_ f: Field, lineRange s: Int, _ n: Int) {
        start[f.rawValue] = s; length[f.rawValue] = n; present |= f.bit
    }
    @inline(__always) func set(_ f: Field, scratchRange s: Int, _ n: Int) {
        start[f.rawValue] = s; length[f.rawValue] = n; present |= f.bit; inScratch |= f.bit
    }

    /// The bytes of a present field's value (empty for an absent one).
    @inline(__always) func value(_ f: Field) -> UnsafeRawBufferPointer {
        guard has(f) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let s = start[f.rawValue], n = length[f.rawValue]
        if inScratch & f.bit != 0 { return UnsafeRawBufferPointer(start: scratch + s, count: n) }
        return UnsafeRawBufferPointer(rebasing: line[s..<(s + n)])
    }

    @inline(__always) func appendScratch(_ byte: UInt8) {
        scratch.storeBytes(of: byte, toByteOffset: scratchUsed, as: UInt8.self)
        scratchUsed += 1
    }
    @inline(__always) func appendScratch(_ bytes: UnsafeRawBufferPointer) {
        if let b = bytes.baseAddress, bytes.count > 0 { (scratch + scratchUsed).copyMemory(from: b, byteCount: bytes.count) }
        scratchUsed += bytes.count
    }
}
