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

    /// The body fields folds read, as views into the stored value, and the kind and target
    /// position decoded: read once per event, by ``parts(of:)`` and ``step(of:episode:names:)``.
    struct BodyFields {
        var kind: UInt8 = 0 // r(egistration), v(oid), c(orrection)
        var targetPosition: UInt64 = 0
        var recordedAt = UnsafeRawBufferPointer(start: nil, count: 0)
        var patient = UnsafeRawBufferPointer(start: nil, count: 0)
        var institution = UnsafeRawBufferPointer(start: nil, count: 0)
        var unit = UnsafeRawBufferPointer(start: nil, count: 0)
        var setting = UnsafeRawBufferPointer(start: nil, count: 0)
        var code = UnsafeRawBufferPointer(start: nil, count: 0)
        var date = UnsafeRawBufferPointer(start: nil, count: 0)
        var emergency = UnsafeRawBufferPointer(start: nil, count: 0)

        /// Walks the length-prefixed body fields in place, without allocating.
        @inline(__always)
        init(_ e: StoredEvent) throws {
            let b = e.body
            guard let base = b.baseAddress else { throw LogError.corrupt(position: e.position, reason: "the event has no body") }
            let count = b.count
            var kindField = UnsafeRawBufferPointer(start: nil, count: 0), target = kindField
            var i = 0
            for f in 0..<EventBody.fieldCount {
                guard i + 2 <= count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) is cut short") }
                let n = Int(base.load(fromByteOffset: i, as: UInt8.self)) << 8 | Int(base.load(fromByteOffset: i + 1, as: UInt8.self))
                i += 2
                guard i + n <= count else { throw LogError.corrupt(position: e.position, reason: "body field \(f) runs past the end") }
                let v = UnsafeRawBufferPointer(start: base + i, count: n)
                i += n
                switch f {
                case EventBody.Field.kind.rawValue: kindField = v
                case EventBody.Field.targetPosition.rawValue: target = v
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
            guard let k = kindField.first else { throw LogError.corrupt(position: e.position, reason: "empty event kind") }
            kind = k
            guard target.count <= 19 else { throw LogError.corrupt(position: e.position, reason: "targetPosition is not a number") }
            for c in target {
                guard c >= 48 && c <= 57 else { throw LogError.corrupt(position: e.position, reason: "targetPosition is not a number") }
                targetPosition = targetPosition * 10 + UInt64(c - 48)
            }
        }

        var careSetting: CareSetting { setting.first == UInt8(ascii: "i") ? .inpatient : .outpatient }

        /// The code and date of a registration or correction (voidings have none).
        func codeAndDate(at position: UInt64) throws -> (PathwayCode, CivilDate) {
            guard let c = PathwayCode(procedureCode: code), let d = CivilDate(utf8: date) else {
                throw LogError.corrupt(position: position, reason: "code or date is not valid")
            }
            return (c, d)
        }
    }

    /// Reads the fields folds need from a stored body, in place and without allocating.
    func parts(of e: StoredEvent) throws -> Parts {
        let f = try BodyFields(e)
        var p = Parts()
        p.kind = f.kind
        p.recordedAt = f.recordedAt
        p.targetPosition = f.targetPosition
        if f.kind == UInt8(ascii: "v") { return p }
        let (c, d) = try f.codeAndDate(at: e.position)
        p.mark = Mark(code: c, setting: f.careSetting, date: d, emergencyDate: f.emergency.isEmpty ? nil : CivilDate(utf8: f.emergency),
                      place: e.position, position: e.position,
                      patient: symbols.intern(bytes: f.patient), institution: symbols.intern(bytes: f.institution),
                      unit: symbols.intern(bytes: f.unit))
        return p
    }

    /// Makes a fold step from an event's body fields, without a ``Mark``; returns it with the target
    /// position of a correction or voiding (else 0). The step's position offset is set by
    /// ``ProjectionEngine/Fold/add(_:position:target:)``.
    @inline(__always)
    func step(of e: StoredEvent, fields f: BodyFields, episode: Int32, card: UnsafeMutablePointer<EpisodeCard>) throws -> (ProjectionEngine.Step, UInt64) {
        var step = ProjectionEngine.Step(offset: 0, episode: episode, patient: 0, institution: 0, unit: 0,
                                         date: 0, emergency: Int32.min, event: .start, outcome: 0, setting: .outpatient, kind: f.kind)
        if f.kind == UInt8(ascii: "v") { return (step, f.targetPosition) }
        let (c, d) = try f.codeAndDate(at: e.position)
        step.event = c.event; step.outcome = c.outcomeByte; step.date = d.daysSinceEpoch
        if !f.emergency.isEmpty, let x = CivilDate(utf8: f.emergency) { step.emergency = x.daysSinceEpoch }
        step.setting = f.careSetting
        // The patient's bytes are on the card (a short pseudonym): no look-up of the symbol's
        // bytes, which in a table of a million patients is a cache miss per event.
        let patient = ShortName(f.patient)
        var names = card.pointee.names
        if names.patient < 0 || (patient.isHeld ? card.pointee.patient != patient : !symbols.equals(names.patient, f.patient)) {
            names.patient = symbols.intern(bytes: f.patient)
            card.pointee.patient = patient
        }
        if names.institution < 0 || !symbols.equals(names.institution, f.institution) { names.institution = symbols.intern(bytes: f.institution) }
        if names.unit < 0 || !symbols.equals(names.unit, f.unit) { names.unit = symbols.intern(bytes: f.unit) }
        card.pointee.names = names
        step.patient = names.patient; step.institution = names.institution; step.unit = names.unit
        return (step, f.targetPosition)
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
