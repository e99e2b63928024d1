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

    /// Reads the fields folds need from a stored body, in place and without allocating.
    func parts(of e: StoredEvent) throws -> Parts {
        let b = e.body
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        var kind = empty, targetPosition = empty, recordedAt = empty, patient = empty, institution = empty
        var unit = empty, setting = empty, code = empty, date = empty, emergency = empty
        var i = 0
        for f in 0..<EventBody.fieldCount {
            guard i + 2 <= b.count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) is cut short") }
            let n = Int(b[i]) << 8 | Int(b[i + 1]); i += 2
            guard i + n <= b.count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) runs past the end") }
            let v = UnsafeRawBufferPointer(rebasing: b[i..<(i + n)]); i += n
            switch f {
            case EventBody.Field.kind.rawValue: kind = v
            case EventBody.Field.targetPosition.rawValue: targetPosition = v
            case EventBody.Field.recordedAt.rawValue: recordedAt = v
            case EventBody.Field.patient.rawValue: patient = v
            case EventBody.Field.institution.rawValue: institution = v
            case EventBody.Field.unit.rawValue: unit = v
            case EventBody.Field.setting.rawValue: setting = v
            case EventBody.Field.code.rawValue: code = v
            case EventBody.Field.date.rawValue: date = v
            case EventBody.Field.emergencyAssessmentDate.rawValue: emergency = v
            default: break
            }
        }
        var p = Parts()
        guard let k = kind.first else { throw LogError.corrupt(position: e.position, reason: "empty event kind") }
        p.kind = k
        p.recordedAt = recordedAt
        if !targetPosition.isEmpty {
            var v: UInt64 = 0
            for c in targetPosition { guard c >= 48 && c <= 57 else { throw LogError.corrupt(position: e.position, reason: "targetPosition is not a number") }; v = v * 10 + UInt64(c - 48) }
            p.targetPosition = v
        }
        if k == UInt8(ascii: "v") { return p }
        guard let c = PathwayCode(procedureCode: code), let d = CivilDate(utf8: date) else {
            throw LogError.corrupt(position: e.position, reason: "code or date is not valid")
        }
        let st: CareSetting = setting.first == UInt8(ascii: "i") ? .inpatient : .outpatient
        p.mark = Mark(code: c, setting: st, date: d, emergencyDate: emergency.isEmpty ? nil : CivilDate(utf8: emergency),
                      place: e.position, position: e.position,
                      patient: symbols.intern(bytes: patient), institution: symbols.intern(bytes: institution),
                      unit: symbols.intern(bytes: unit))
        return p
    }

    /// Reads a stored event into a fold step, in place: the same fields as ``parts(of:)``, without
    /// making a ``Mark``. Returns the target position of a correction or voiding (else 0).
    @inline(__always)
    func step(of e: StoredEvent, episode: Int32, names: inout NameTriple) throws -> (ProjectionEngine.Step, UInt64) {
        let b = e.body
        guard let base = b.baseAddress else { throw LogError.corrupt(position: e.position, reason: "the event has no body") }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        var kind = empty, targetPosition = empty, patient = empty, institution = empty
        var unit = empty, setting = empty, code = empty, date = empty, emergency = empty
        var i = 0
        let count = b.count
        for f in 0..<EventBody.fieldCount {
            guard i + 2 <= count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) is cut short") }
            let n = Int(base.load(fromByteOffset: i, as: UInt8.self)) << 8 | Int(base.load(fromByteOffset: i + 1, as: UInt8.self))
            i += 2
            guard i + n <= count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) runs past the end") }
            let v = UnsafeRawBufferPointer(start: base + i, count: n)
            i += n
            switch f {
            case EventBody.Field.kind.rawValue: kind = v
            case EventBody.Field.targetPosition.rawValue: targetPosition = v
            case EventBody.Field.patient.rawValue: patient = v
            case EventBody.Field.institution.rawValue: institution = v
            case EventBody.Field.unit.rawValue: unit = v
            case EventBody.Field.setting.rawValue: setting = v
            case EventBody.Field.code.rawValue: code = v
            case EventBody.Field.date.rawValue: date = v
            case EventBody.Field.emergencyAssessmentDate.rawValue: emergency = v
            default: break
            }
        }
        guard let k = kind.first else { throw LogError.corrupt(position: e.position, reason: "empty event kind") }
        var target: UInt64 = 0
        for c in targetPosition {
            guard c >= 48 && c <= 57 else { throw LogError.corrupt(position: e.position, reason: "targetPosition is not a number") }
            target = target &* 10 &+ UInt64(c - 48)
        }
        var step = ProjectionEngine.Step(offset: 0, episode: episode, patient: 0, institution: 0, unit: 0,
                                         date: 0, emergency: Int32.min, event: .start, outcome: 0, setting: .outpatient, kind: k)
        if k == UInt8(ascii: "v") { return (step, target) }
        guard let c = PathwayCode(procedureCode: code), let d = CivilDate(utf8: date) else {
            throw LogError.corrupt(position: e.position, reason: "code or date is not valid")
        }
        step.event = c.event; step.outcome = c.outcomeByte; step.date = d.daysSinceEpoch
        if !emergency.isEmpty, let x = CivilDate(utf8: emergency) { step.emergency = x.daysSinceEpoch }
        step.setting = setting.first == UInt8(ascii: "i") ? .inpatient : .outpatient
        if names.patient < 0 || !symbols.equals(names.patient, patient) { names.patient = symbols.intern(bytes: patient) }
        if names.institution < 0 || !symbols.equals(names.institution, institution) { names.institution = symbols.intern(bytes: institution) }
        if names.unit < 0 || !symbols.equals(names.unit, unit) { names.unit = symbols.intern(bytes: unit) }
        step.patient = names.patient; step.institution = names.institution; step.unit = names.unit
        return (step, target)
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

/// The symbols of the three names an episode's last event carried (-1: none yet).
struct NameTriple {
    var patient: Int32 = -1
    var institution: Int32 = -1
    var unit: Int32 = -1
}
