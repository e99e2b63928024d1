/// The episode state's stored form and its JSON view.
///
/// Binary layout (format 1), every field always in this order so equal states give equal bytes:
/// format byte; patient, institution, unit (zig-zag varints — symbol numbers of the fold's
/// ``SymbolTable``); setting (0 none, else ``CareSetting`` raw value); phase; registration count; a
/// presence bit set for the optional milestones; the base date (earliest registration); then each
/// milestone as date delta from the base, setting, and place as a zig-zag delta from the previous
/// place written; decisions, feedback, evaluations, postponements and help needs as counted lists;
/// findings as rule, place delta, position − place, code, date delta.
extension EpisodeState {
    static let formatVersion: UInt8 = 1

    public func encode() -> [UInt8] {
        ByteWriter.bytes(capacity: encodedSizeBound) { encode(into: &$0) }
    }

    /// Appends the encoding to `out` (no intermediate array).
    public func encode(appendingTo out: inout [UInt8]) {
        ByteWriter.append(to: &out, capacity: encodedSizeBound) { encode(into: &$0) }
    }

    /// An upper bound of the encoding's size: what a ``ByteWriter`` passed to ``encode(into:)`` must hold.
    public var encodedSizeBound: Int {
        let m = milestones
        return 224 + 18 * m.decisions.count + 16 * (m.feedback.count + m.evaluations.count + m.postponements.count)
            + 17 * m.helpNeeds.count + 28 * findings.count
    }

    public func encode(into w: inout ByteWriter) {
        let m = milestones
        w.byte(Self.formatVersion)
        w.signed(Int64(m.patient)); w.signed(Int64(m.institution)); w.signed(Int64(m.unit))
        w.byte(m.setting?.rawValue ?? 0)
        w.byte(phase.rawValue)
        w.varint(UInt64(m.count))
        var flags: UInt64 = 0
        if m.start != nil { flags |= 1 << 0 }
        if m.emergencyAssessment != nil { flags |= 1 << 1 }
        if m.detoxFinished != nil { flags |= 1 << 2 }
        if m.firstAttendance != nil { flags |= 1 << 3 }
        if m.informed != nil { flags |= 1 << 4 }
        if m.involved != nil { flags |= 1 << 5 }
        if m.feedbackTool != nil { flags |= 1 << 6 }
        if m.end != nil { flags |= 1 << 7 }
        if m.earliestDate != nil { flags |= 1 << 8 }
        w.varint(flags)
        let base = m.earliestDate ?? .epoch
        w.date(base, from: .epoch)
        var lastPlace: UInt64 = 0
        func point(_ p: Milestones.Point, _ w: inout ByteWriter) {
            w.date(p.date, from: base)
            w.byte(p.setting.rawValue)
            w.signed(Int64(bitPattern: p.place &- lastPlace))
            lastPlace = p.place
        }
        if let p = m.start { point(p, &w) }
        if let d = m.emergencyAssessment { w.date(d, from: base) }
        if let p = m.detoxFinished { point(p, &w) }
        if let p = m.firstAttendance { point(p, &w) }
        if let p = m.informed { point(p, &w) }
        if let p = m.involved { point(p, &w) }
        if let p = m.feedbackTool { point(p, &w) }
        if let e = m.end { point(e, &w); w.byte(e.outcome) }
        w.varint(UInt64(m.decisions.count))
        for d in m.decisions {
            point(d.first, &w)
            w.byte(d.outcomes.rawValue)
            w.byte(d.firstCode.outcomeByte)
        }
        w.varint(UInt64(m.feedback.count))
        for p in m.feedback { point(p, &w) }
        w.varint(UInt64(m.evaluations.count))
        for p in m.evaluations { point(p, &w) }
        w.varint(UInt64(m.postponements.count))
        for p in m.postponements { point(p, &w) }
        w.varint(UInt64(m.helpNeeds.count))
        for h in m.helpNeeds { point(h, &w); w.byte(h.outcome) }
        w.varint(UInt64(findings.count))
        for f in findings {
            w.byte(f.rule.rawValue)
            w.signed(Int64(bitPattern: f.place &- lastPlace))
            lastPlace = f.place
            w.varint(f.position &- f.place)
            w.code(f.code)
            w.date(f.date, from: base)
        }
    }

    /// Decodes ``encode()``'s bytes; nil when they are not a well-formed state.
    public init?(decoding bytes: [UInt8]) {
        guard let s = bytes.withUnsafeBytes({ EpisodeState(decoding: $0) }) else { return nil }
        self = s
    }

    public init?(decoding bytes: UnsafeRawBufferPointer) {
        var r = ByteReader(bytes)
        guard r.byte() == Self.formatVersion,
              let patient = r.int32(), let institution = r.int32(), let unit = r.int32(),
              let settingByte = r.byte(), let phaseByte = r.byte(), let phase = Phase(rawValue: phaseByte),
              let count = r.varint(), let flags = r.varint(), let base = r.date(from: .epoch) else { return nil }
        var m = Milestones()
        m.patient = patient; m.institution = institution; m.unit = unit
        if settingByte != 0 {
            guard let s = CareSetting(rawValue: settingByte) else { return nil }
            m.setting = s
        }
        m.count = Int(count)
        if flags & (1 << 8) != 0 { m.earliestDate = base }
        var lastPlace: UInt64 = 0
        func point(_ r: inout ByteReader) -> Milestones.Point? {
            guard let d = r.date(from: base), let sb = r.byte(), let s = CareSetting(rawValue: sb), let delta = r.signed() else { return nil }
            lastPlace = lastPlace &+ UInt64(bitPattern: delta)
            return Milestones.Point(date: d, setting: s, place: lastPlace)
        }
        func has(_ bit: Int) -> Bool { flags & (1 << UInt64(bit)) != 0 }
        if has(0) { guard let p = point(&r) else { return nil }; m.start = p }
        if has(1) { guard let d = r.date(from: base) else { return nil }; m.emergencyAssessment = d }
        if has(2) { guard let p = point(&r) else { return nil }; m.detoxFinished = p }
        if has(3) { guard let p = point(&r) else { return nil }; m.firstAttendance = p }
        if has(4) { guard let p = point(&r) else { return nil }; m.informed = p }
        if has(5) { guard let p = point(&r) else { return nil }; m.involved = p }
        if has(6) { guard let p = point(&r) else { return nil }; m.feedbackTool = p }
        if has(7) {
            guard var p = point(&r), let o = r.byte() else { return nil }
            p.outcome = o
            m.end = p
        }
        guard let nd = r.varint(), nd <= UInt64(bytes.count) else { return nil }
        var decisions: [Milestones.Decision] = []
        decisions.reserveCapacity(Int(nd))
        for _ in 0..<nd {
            guard let p = point(&r), let o = r.byte(), let fo = r.byte(),
                  let code = PathwayCode(event: .clinicalDecision, outcome: fo == 0 ? nil : fo) else { return nil }
            decisions.append(Milestones.Decision(date: p.date, outcomes: OutcomeSet(rawValue: o), first: p, firstCode: code))
        }
        m.decisions = Milestones.DecisionList(decisions)
        for k in 0..<3 {
            guard let n = r.varint(), n <= UInt64(bytes.count) else { return nil }
            var list: [Milestones.Point] = []
            list.reserveCapacity(Int(n))
            for _ in 0..<n { guard let p = point(&r) else { return nil }; list.append(p) }
            switch k {
            case 0: m.feedback = Milestones.PointList(list)
            case 1: m.evaluations = Milestones.PointList(list)
            default: m.postponements = Milestones.PointList(list)
            }
        }
        guard let nh = r.varint(), nh <= UInt64(bytes.count) else { return nil }
        var help: [Milestones.Point] = []
        for _ in 0..<nh {
            guard var p = point(&r), let o = r.byte() else { return nil }
            p.outcome = o
            help.append(p)
        }
        m.helpNeeds = Milestones.PointList(help)
        guard let nf = r.varint(), nf <= UInt64(bytes.count) else { return nil }
        var findings: [Finding] = []
        findings.reserveCapacity(Int(nf))
        for _ in 0..<nf {
            guard let rb = r.byte(), let rule = Finding.Rule(rawValue: rb), let delta = r.signed(), let extra = r.varint(),
                  let code = r.code(), let date = r.date(from: base) else { return nil }
            lastPlace = lastPlace &+ UInt64(bitPattern: delta)
            findings.append(Finding(rule: rule, position: lastPlace &+ extra, place: lastPlace, code: code, date: date))
        }
        guard r.isAtEnd else { return nil }
        self.init(milestones: m, phase: phase, findings: findings)
    }

    /// The JSON view (field names are stable; see docs/formats.md). Names come from `symbols`; the
    /// episode id, stream version and last position from the caller.
    public func json(episode: String, symbols: SymbolTable, version: UInt64, lastPosition: UInt64) -> String {
        var out = ""
        out.reserveCapacity(512)
        writeJSON(into: &out, episode: episode, symbols: symbols, version: version, lastPosition: lastPosition)
        return out
    }

    public func writeJSON(into out: inout String, episode: String, symbols: SymbolTable, version: UInt64, lastPosition: UInt64) {
        let m = milestones
        func date(_ k: String, _ d: CivilDate?) { out.append(","); JSONText.key(k, into: &out); JSONText.date(d, into: &out) }
        func dates(_ k: String, _ list: Milestones.PointList) {
            out.append(","); JSONText.key(k, into: &out); out.append("[")
            for (i, p) in list.enumerated() { if i > 0 { out.append(",") }; JSONText.date(p.date, into: &out) }
            out.append("]")
        }
        out.append("{")
        JSONText.key("episode", into: &out); JSONText.string(episode, into: &out)
        out.append(","); JSONText.key("patient", into: &out); JSONText.string(symbols.name(m.patient), into: &out)
        out.append(","); JSONText.key("institution", into: &out); JSONText.string(symbols.name(m.institution), into: &out)
        out.append(","); JSONText.key("unit", into: &out); JSONText.string(symbols.name(m.unit), into: &out)
        out.append(","); JSONText.key("setting", into: &out)
        if let s = m.setting { JSONText.string(s.name, into: &out) } else { out.append("null") }
        out.append(","); JSONText.key("phase", into: &out); JSONText.string(phase.name, into: &out)
        out.append(","); JSONText.key("version", into: &out); out.append(String(version))
        out.append(","); JSONText.key("lastPosition", into: &out); out.append(String(lastPosition))
        out.append(","); JSONText.key("findings", into: &out); out.append("[")
        for (i, f) in findings.enumerated() {
            if i > 0 { out.append(",") }
            out.append("{"); JSONText.key("rule", into: &out); JSONText.string(f.rule.id, into: &out)
            out.append(","); JSONText.key("message", into: &out); JSONText.string(f.message, into: &out)
            out.append(","); JSONText.key("position", into: &out); out.append(String(f.position))
            out.append("}")
        }
        out.append("]")
        date("start", m.start?.date)
        date("emergencyAssessmentDate", m.emergencyAssessment)
        date("detoxFinished", m.detoxFinished?.date)
        date("firstAttendance", m.firstAttendance?.date)
        out.append(","); JSONText.key("decisions", into: &out); out.append("[")
        for (i, d) in m.decisions.enumerated() {
            if i > 0 { out.append(",") }
            out.append("{"); JSONText.key("date", into: &out); JSONText.date(d.date, into: &out)
            out.append(","); JSONText.key("outcomes", into: &out); out.append("[")
            for (j, l) in d.outcomes.letterBytes.enumerated() { if j > 0 { out.append(",") }; JSONText.letter(l, into: &out) }
            out.append("]}")
        }
        out.append("]")
        date("informed", m.informed?.date)
        date("involved", m.involved?.date)
        date("feedbackTool", m.feedbackTool?.date)
        dates("feedback", m.feedback)
        dates("evaluations", m.evaluations)
        dates("postponed", m.postponements)
        out.append(","); JSONText.key("end", into: &out)
        if let e = m.end {
            out.append("{"); JSONText.key("date", into: &out); JSONText.date(e.date, into: &out)
            out.append(","); JSONText.key("outcome", into: &out); JSONText.letter(e.outcome, into: &out); out.append("}")
        } else {
            out.append("null")
        }
        out.append(","); JSONText.key("helpNeeds", into: &out); out.append("[")
        for (i, h) in m.helpNeeds.enumerated() {
            if i > 0 { out.append(",") }
            out.append("{"); JSONText.key("date", into: &out); JSONText.date(h.date, into: &out)
            out.append(","); JSONText.key("outcome", into: &out); JSONText.letter(h.outcome, into: &out); out.append("}")
        }
        out.append("]}")
    }
}
