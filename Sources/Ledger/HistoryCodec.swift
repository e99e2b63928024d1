import Pathway

/// The stored form of an episode's corrected history (the `history` projection), which every other
/// projection is derived from. Names are stored as text, never as interned numbers, so the bytes
/// depend only on the log — whether folded incrementally or rebuilt.
enum HistoryCodec {
    static let version: UInt8 = 1

    static func encode(_ h: EpisodeHistory, symbols: SymbolTable, into out: inout [UInt8]) {
        out.append(version)
        putVarint(UInt64(h.slots.count), &out)
        for slot in h.slots {
            putVarint(slot.place, &out)
            putVarint(UInt64(slot.versionCount), &out)
            for v in 0..<slot.versionCount {
                let m = slot.version(v)
                putVarint(m.position, &out)
                out.append(m.code.event.rawValue); out.append(m.code.outcomeByte); out.append(m.setting.rawValue)
                putVarint(UInt64(UInt32(bitPattern: m.date.daysSinceEpoch)), &out)
                if let e = m.emergencyDate { out.append(1); putVarint(UInt64(UInt32(bitPattern: e.daysSinceEpoch)), &out) } else { out.append(0) }
                putString(symbols.name(m.patient), &out)
                putString(symbols.name(m.institution), &out)
                putString(symbols.name(m.unit), &out)
            }
        }
    }

    static func decode(_ b: UnsafeRawBufferPointer, symbols: SymbolTable) -> EpisodeHistory? {
        var r = Reader(b)
        guard r.byte() == version else { return nil }
        var h = EpisodeHistory()
        guard let n = r.varint() else { return nil }
        for _ in 0..<n {
            guard let place = r.varint(), let vc = r.varint() else { return nil }
            var versions: [Mark] = []
            for _ in 0..<vc {
                guard let pos = r.varint(), let ev = r.byte().flatMap({ PathwayEvent(rawValue: $0) }), let ob = r.byte(),
                      let st = r.byte().flatMap({ CareSetting(rawValue: $0) }), let d = r.varint(), let hasE = r.byte() else { return nil }
                var emergency: CivilDate? = nil
                if hasE == 1 { guard let e = r.varint() else { return nil }; emergency = CivilDate(daysSinceEpoch: Int32(bitPattern: UInt32(e))) }
                guard let p = r.string(symbols), let i = r.string(symbols), let u = r.string(symbols),
                      let code = PathwayCode(event: ev, outcome: ob == 0 ? nil : ob) else { return nil }
                versions.append(Mark(code: code, setting: st, date: CivilDate(daysSinceEpoch: Int32(bitPattern: UInt32(d))),
                                     emergencyDate: emergency, place: place, position: pos, patient: p, institution: i, unit: u))
            }
            h.restore(slot: EpisodeHistory.Slot(place: place, versions: versions))
        }
        return h
    }
}

@inline(__always) func putVarint(_ v0: UInt64, _ out: inout [UInt8]) {
    var v = v0
    while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
    out.append(UInt8(v))
}
@inline(__always) func putString(_ s: String, _ out: inout [UInt8]) {
    putVarint(UInt64(s.utf8.count), &out)
    out.append(contentsOf: s.utf8)
}

struct Reader {
    let b: UnsafeRawBufferPointer
    var i = 0
    init(_ b: UnsafeRawBufferPointer) { self.b = b }
    var atEnd: Bool { i >= b.count }
    mutating func byte() -> UInt8? { guard i < b.count else { return nil }; defer { i += 1 }; return b[i] }
    mutating func varint() -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while i < b.count {
            let x = b[i]; i += 1
            v |= UInt64(x & 0x7f) << shift
            if x < 0x80 { return v }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }
    mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer? {
        guard n >= 0, i + n <= b.count else { return nil }
        defer { i += n }
        return UnsafeRawBufferPointer(rebasing: b[i..<(i + n)])
    }
    mutating func string(_ symbols: SymbolTable) -> Int32? {
        guard let n = varint(), let s = bytes(Int(n)) else { return nil }
        return symbols.intern(bytes: s)
    }
    mutating func text() -> String? {
        guard let n = varint(), let s = bytes(Int(n)) else { return nil }
        return String(decoding: s, as: UTF8.self)
    }
}
