import Pathway

extension Deadlines {
    static let timerFormatVersion: UInt8 = 1

    /// The compact stored form of one episode's timers.
    ///
    /// Layout (format 1): format byte; timer count; the rules-version names used (count, then each as
    /// length-prefixed UTF-8 — one for any single episode); the base date (first timer's start, as a
    /// zig-zag varint of days since 1970); then per timer: kind, status, flags (met, end, postponement,
    /// patient-postponed, starting code present, setting inpatient, open setting inpatient), version
    /// index, place as a zig-zag delta from the previous timer's, start as a delta from the base, the
    /// starting code (2 bytes, if present), due, open due and visible-from as deltas from the start,
    /// then met (code and date delta), end and postponement (date deltas) when flagged.
    public static func encode(_ timers: [Timer]) -> [UInt8] {
        ByteWriter.bytes(capacity: encodedSizeBound(timers)) { encode(timers, into: &$0) }
    }

    /// Appends the encoding to `out` (no intermediate array).
    public static func encode(_ timers: [Timer], appendingTo out: inout [UInt8]) {
        ByteWriter.append(to: &out, capacity: encodedSizeBound(timers)) { encode(timers, into: &$0) }
    }

    /// An upper bound of the encoding's size: what a ``ByteWriter`` passed to ``encode(_:into:)`` must hold.
    public static func encodedSizeBound(_ timers: [Timer]) -> Int { 32 + 88 * timers.count }

    public static func encode(_ timers: [Timer], into w: inout ByteWriter) {
        w.byte(timerFormatVersion)
        w.varint(UInt64(timers.count))
        guard let first = timers.first else { return }
        // One episode has one version; a list of several is only built when they differ.
        var versions: [ShortName] = []
        for t in timers where t.versionName != first.versionName { versions = [first.versionName]; break }
        if !versions.isEmpty {
            for t in timers where !versions.contains(t.versionName) { versions.append(t.versionName) }
            w.varint(UInt64(versions.count))
            for v in versions { write(v, &w) }
        } else {
            w.varint(1)
            write(first.versionName, &w)
        }
        let base = first.start
        w.date(base, from: .epoch)
        var lastPlace: UInt64 = 0
        for t in timers {
            w.byte(t.kind.rawValue)
            w.byte(t.status.rawValue)
            var flags: UInt8 = 0
            if t.met != nil { flags |= 1 }
            if t.episodeEnd != nil { flags |= 2 }
            if t.firstPostponement != nil { flags |= 4 }
            if t.patientPostponed { flags |= 8 }
            if t.startedBy.code != nil { flags |= 16 }
            if t.setting == .inpatient { flags |= 32 }
            if t.openSetting == .inpatient { flags |= 64 }
            w.byte(flags)
            w.varint(versions.isEmpty ? 0 : UInt64(versions.firstIndex(of: t.versionName)!))
            w.signed(Int64(bitPattern: t.place &- lastPlace))
            lastPlace = t.place
            let s = t.start
            w.date(s, from: base)
            if let c = t.startedBy.code { w.code(c) }
            w.date(t.due, from: s)
            w.date(t.openDue, from: s)
            w.date(t.visibleFrom, from: s)
            if let m = t.met {
                w.code(m.code ?? .A)
                w.date(m.date, from: s)
            }
            if let e = t.episodeEnd { w.date(e, from: s) }
            if let l = t.firstPostponement { w.date(l, from: s) }
        }
    }

    /// A name as length-prefixed UTF-8, like ``ByteWriter/text(_:)``.
    @inline(__always) static func write(_ v: ShortName, _ w: inout ByteWriter) {
        let n = v.byteCount
        w.varint(UInt64(n))
        for i in 0..<n { w.byte(v.byte(i)) }
    }

    /// Decodes ``encode(_:)``'s bytes; nil when they are not well formed.
    public static func decodeTimers(_ bytes: [UInt8]) -> [Timer]? {
        bytes.withUnsafeBytes { decodeTimers($0) }
    }

    public static func decodeTimers(_ bytes: UnsafeRawBufferPointer) -> [Timer]? {
        var r = ByteReader(bytes)
        guard r.byte() == timerFormatVersion, let n = r.varint(), n <= UInt64(bytes.count) else { return nil }
        var out: [Timer] = []
        guard n > 0 else { return r.isAtEnd ? out : nil }
        out.reserveCapacity(Int(n))
        guard let nv = r.varint(), nv > 0, nv <= UInt64(bytes.count) else { return nil }
        var versions: [ShortName] = []
        for _ in 0..<nv { guard let v = r.text() else { return nil }; versions.append(ShortName(v)) }
        guard let base = r.date(from: .epoch) else { return nil }
        var lastPlace: UInt64 = 0
        for _ in 0..<n {
            guard let kb = r.byte(), let kind = Timer.Kind(rawValue: kb), let sb = r.byte(), let status = Timer.Status(rawValue: sb),
                  let flags = r.byte(), let vi = r.varint(), vi < UInt64(versions.count), let pd = r.signed(),
                  let start = r.date(from: base) else { return nil }
            lastPlace = lastPlace &+ UInt64(bitPattern: pd)
            var code: PathwayCode? = nil
            if flags & 16 != 0 { guard let c = r.code() else { return nil }; code = c }
            guard let due = r.date(from: start), let openDue = r.date(from: start), let visible = r.date(from: start) else { return nil }
            var met: Timer.Point? = nil
            if flags & 1 != 0 {
                guard let c = r.code(), let d = r.date(from: start) else { return nil }
                met = Timer.Point(code: c, date: d)
            }
            var end: CivilDate? = nil
            if flags & 2 != 0 { guard let e = r.date(from: start) else { return nil }; end = e }
            var firstL: CivilDate? = nil
            if flags & 4 != 0 { guard let l = r.date(from: start) else { return nil }; firstL = l }
            var t = Timer(kind: kind, place: lastPlace, startedBy: Timer.Point(code: code, date: start), due: due, met: met,
                          setting: flags & 32 != 0 ? .inpatient : .outpatient,
                          openSetting: flags & 64 != 0 ? .inpatient : .outpatient, openDue: openDue, episodeEnd: end,
                          firstPostponement: firstL, visibleFrom: visible, versionName: versions[Int(vi)])
            t.status = status
            t.patientPostponed = flags & 8 != 0
            out.append(t)
        }
        return r.isAtEnd ? out : nil
    }
}
