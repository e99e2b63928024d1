import EventLog
import Pathway

/// Applies stored events to corrected episode histories, reading the body in place.
///
/// This is the innermost loop of every rebuild and catch-up: it makes no `String`s, interns names
/// straight from the memory map, and allocates only when an episode's history grows.
struct EventFolder {
    let symbols: SymbolTable

    /// The decoded parts of a stored body that folds need.
    struct Parts {
        var kind: UInt8 = 0 // first byte of the kind field: r(egistration), v(oid), c(orrection)
        var targetPosition: UInt64 = 0
        var mark: Mark? = nil
        var recordedAt: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// Reads the fields folds need from a stored body. Throws if the body is malformed.
    func parts(of e: StoredEvent) throws -> Parts {
        let b = e.body
        var fields = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: EventBody.fieldCount)
        var i = 0
        for f in 0..<EventBody.fieldCount {
            guard i + 2 <= b.count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) is cut short") }
            let n = Int(b[i]) << 8 | Int(b[i + 1]); i += 2
            guard i + n <= b.count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) runs past the end") }
            fields[f] = UnsafeRawBufferPointer(rebasing: b[i..<(i + n)]); i += n
        }
        var p = Parts()
        let kind = fields[EventBody.Field.kind.rawValue]
        guard let k = kind.first else { throw LogError.corrupt(position: e.position, reason: "empty event kind") }
        p.kind = k
        p.recordedAt = fields[EventBody.Field.recordedAt.rawValue]
        let tp = fields[EventBody.Field.targetPosition.rawValue]
        if !tp.isEmpty {
            var v: UInt64 = 0
            for c in tp { guard c >= 48 && c <= 57 else { throw LogError.corrupt(position: e.position, reason: "targetPosition is not a number") }; v = v * 10 + UInt64(c - 48) }
            p.targetPosition = v
        }
        if k == UInt8(ascii: "v") { return p }
        guard let code = PathwayCode(procedureCode: fields[EventBody.Field.code.rawValue]),
              let date = CivilDate(utf8: fields[EventBody.Field.date.rawValue]) else {
            throw LogError.corrupt(position: e.position, reason: "code or date is not valid")
        }
        let settingField = fields[EventBody.Field.setting.rawValue]
        let setting: CareSetting = settingField.first == UInt8(ascii: "i") ? .inpatient : .outpatient
        let ef = fields[EventBody.Field.emergencyAssessmentDate.rawValue]
        let emergency = ef.isEmpty ? nil : CivilDate(utf8: ef)
        p.mark = Mark(code: code, setting: setting, date: date, emergencyDate: emergency, place: e.position, position: e.position,
                      patient: symbols.intern(bytes: fields[EventBody.Field.patient.rawValue]),
                      institution: symbols.intern(bytes: fields[EventBody.Field.institution.rawValue]),
                      unit: symbols.intern(bytes: fields[EventBody.Field.unit.rawValue]))
        return p
    }

    /// Applies one event to its episode's history.
    func apply(_ p: Parts, to h: inout EpisodeHistory) {
        switch p.kind {
        case UInt8(ascii: "r"): if let m = p.mark { h.register(m) }
        case UInt8(ascii: "c"): if let m = p.mark { h.correct(targetPosition: p.targetPosition, with: m) }
        case UInt8(ascii: "v"): h.void(targetPosition: p.targetPosition)
        default: break
        }
    }
}
