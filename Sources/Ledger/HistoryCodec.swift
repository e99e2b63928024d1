import Pathway

/// The stored form of an episode's corrected history (the `history` projection), which every other
/// projection is derived from. Names are stored as text, never as interned numbers, so the bytes
/// depend only on the log — whether folded incrementally or rebuilt.
///
/// Format 2: the names the marks use, each once (in order of first use: slot order, version order,
/// patient, institution, unit — so the bytes depend only on the history), then the slots, each
/// mark naming its patient, institution and unit by index into that table. Format 1 repeated the
/// three names in every mark: three times the bytes, and three names copied per event on every
/// rebuild, verify and catch-up.
///
/// ```
/// 2 ‖ varint names ‖ (varint length ‖ UTF-8)* ‖ varint slots ‖
///   (varint place ‖ varint versions ‖ (varint position ‖ event ‖ outcome ‖ setting ‖ varint date ‖
///    0 | 1 varint emergency date ‖ varint patient ‖ varint institution ‖ varint unit)*)*
/// ```
enum HistoryCodec {
    static let version: UInt8 = 2

    static func encode(_ h: EpisodeHistory, symbols: SymbolTable, into out: inout [UInt8]) {
        // The episode's distinct names (a handful): symbol → index by a linear search.
        var table: [Int32] = []
        @inline(__always) func index(_ symbol: Int32) -> Int {
            if let i = table.firstIndex(of: symbol) { return i }
            table.append(symbol)
            return table.count - 1
        }
        for slot in h.slots {
            for v in 0..<slot.versionCount {
                let m = slot.version(v)
                _ = index(m.patient); _ = index(m.institution); _ = index(m.unit)
            }
        }
        out.append(version)
        putVarint(UInt64(table.count), &out)
        for symbol in table { putName(symbol, symbols, &out) }
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
                putVarint(UInt64(index(m.patient)), &out)
                putVarint(UInt64(index(m.institution)), &out)
                putVarint(UInt64(index(m.unit)), &out)
            }
        }
    }

    static func decode(_ b: UnsafeRawBufferPointer, symbols: SymbolTable) -> EpisodeHistory? {
        var r = Reader(b)
        guard r.byte() == version, let nameCount = r.varint(), nameCount <= UInt64(b.count) else { return nil }
        var names: [Int32] = []
        names.reserveCapacity(Int(nameCount))
        for _ in 0..<nameCount {
            guard let s = r.string(symbols) else { return nil }
            names.append(s)
        }
        func name(_ r: inout Reader) -> Int32? {
            guard let i = r.varint(), i < UInt64(names.count) else { return nil }
            return names[Int(i)]
        }
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
                guard let p = name(&r), let i = name(&r), let u = name(&r),
                      let code = PathwayCode(event: ev, outcome: ob == 0 ? nil : ob) else { return nil }
                versions.append(Mark(code: code, setting: st, date: CivilDate(daysSinceEpoch: Int32(bitPattern: UInt32(d))),
                                     emergencyDate: emergency, place: place, position: pos, patient: p, institution: i, unit: u))
            }
            h.restore(slot: EpisodeHistory.Slot(place: place, versions: versions))
        }
        return r.atEnd ? h : nil
    }
}

@inline(__always) func putVarint(_ v0: UInt64, _ out: inout [UInt8]) {
    var v = v0
    while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
    out.append(UInt8(v))
}
/// A name as ``putString(_:_:)`` writes it (varint length, UTF-8), copied from the symbol table.
@inline(__always) func putName(_ symbol: Int32, _ symbols: SymbolTable, _ out: inout [UInt8]) {
    symbols.withName(symbol) { b in
        putVarint(UInt64(b.count), &out)
        out.append(contentsOf: b)
    }
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
