/// A point in time, in microseconds since 1970-01-01T00:00:00Z.
///
/// The ledger has two clocks: the instant a source system says it registered a code (`recordedAt`)
/// and the instant the ledger appended it. Both are instants; the date a code stands for is a
/// ``CivilDate``. Converting an instant to the Oslo calendar date uses the EU summer-time rule
/// directly (CET/CEST since 1996), so no time-zone database or clock is consulted.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let microseconds: Int64
    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static func < (a: Instant, b: Instant) -> Bool { a.microseconds < b.microseconds }

    /// Parses RFC 3339: `2026-01-05T10:00:00Z`, `2026-01-05T10:00:00.25+01:00`, or a bare date
    /// `2026-01-05`, which means the start of that day in Oslo. Returns nil for anything else.
    public init?(rfc3339 text: String) {
        var t = text
        guard let v = t.withUTF8({ Instant(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = v
    }

    public init?(utf8 b: UnsafeRawBufferPointer) {
        if b.count == 10 {
            guard let d = CivilDate(utf8: b) else { return nil }
            self = Instant.startOfOsloDay(d)
            return
        }
        guard b.count >= 20, let date = CivilDate(utf8: UnsafeRawBufferPointer(rebasing: b[0..<10])) else { return nil }
        let sep = b[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        func num(_ i: Int, _ n: Int) -> Int? {
            var v = 0
            for k in i..<(i + n) { let c = Int(b[k]) - 48; guard c >= 0 && c <= 9 else { return nil }; v = v * 10 + c }
            return v
        }
        guard b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let hh = num(11, 2), let mi = num(14, 2), let ss = num(17, 2),
              hh < 24, mi < 60, ss < 61 else { return nil }
        var i = 19
        var micros: Int64 = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(b[i] - 48) }
                digits += 1; i += 1
            }
            guard digits > 0 else { return nil }
            var d = digits; while d < 6 { micros *= 10; d += 1 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let oh = num(i + 1, 2), let om = num(i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
        } else { return nil }
        let secs = Int64(date.daysSinceEpoch) * 86400 + Int64(hh * 3600 + mi * 60 + min(ss, 59)) - Int64(offsetSeconds)
        self.microseconds = secs * 1_000_000 + micros
    }

    /// `2026-01-05T10:00:00Z`, with a fraction only when there is one: a stable, sortable text form.
    public var description: String {
        var b: [UInt8] = []
        b.reserveCapacity(27)
        appendRFC3339(to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// Appends the ``description`` form as bytes.
    public func appendRFC3339(to out: inout [UInt8]) {
        let secs = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let frac = Int(microseconds - secs * 1_000_000)
        let day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
        let sod = Int(secs - day * 86400)
        let date = CivilDate(daysSinceEpoch: Int32(day))
        let (y, mo, d) = date.parts
        guard (0...9999).contains(y) else {
            // Outside four-digit years: the general path (never on real registrations).
            date.appendISO(to: &out)
            out.append(UInt8(ascii: "T"))
            Digits.append(sod / 3600, width: 2, to: &out); out.append(UInt8(ascii: ":"))
            Digits.append(sod / 60 % 60, width: 2, to: &out); out.append(UInt8(ascii: ":"))
            Digits.append(sod % 60, width: 2, to: &out)
            Instant.appendFraction(frac, to: &out)
            out.append(UInt8(ascii: "Z"))
            return
        }
        // `YYYY-MM-DDThh:mm:ss` in one fixed buffer, appended at once: this runs for every
        // registration with a recordedAt on the append path.
        var b: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &b) { p in
            func two(_ v: Int, _ at: Int) { p[at] = UInt8(48 + v / 10); p[at + 1] = UInt8(48 + v % 10) }
            two(y / 100, 0); two(y % 100, 2); p[4] = 0x2D; two(mo, 5); p[7] = 0x2D; two(d, 8)
            p[10] = 0x54; two(sod / 3600, 11); p[13] = 0x3A; two(sod / 60 % 60, 14); p[16] = 0x3A; two(sod % 60, 17)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[0..<19]))
        }
        Instant.appendFraction(frac, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// `.ffffff` without trailing zeros, or nothing for a whole second.
    private static func appendFraction(_ frac: Int, to out: inout [UInt8]) {
        guard frac != 0 else { return }
        out.append(UInt8(ascii: "."))
        var f = frac, digits = 6
        while f % 10 == 0 { f /= 10; digits -= 1 }
        Digits.append(f, width: digits, to: &out)
    }

    /// The Oslo calendar date this instant falls on.
    public var osloDate: CivilDate {
        let secs = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let local = secs + Int64(Instant.osloOffsetSeconds(utcSeconds: secs))
        let day = local >= 0 ? local / 86400 : (local - 86399) / 86400
        return CivilDate(daysSinceEpoch: Int32(day))
    }

    /// The first instant of an Oslo calendar day.
    public static func startOfOsloDay(_ d: CivilDate) -> Instant {
        let midnightUTC = Int64(d.daysSinceEpoch) * 86400
        // Oslo is UTC+1 or UTC+2; try the summer offset first and check it is in force.
        let summer = midnightUTC - 7200
        let secs = osloOffsetSeconds(utcSeconds: summer) == 7200 ? summer : midnightUTC - 3600
        return Instant(microseconds: secs * 1_000_000)
    }

    /// CET (+1h) or CEST (+2h): summer time runs from 01:00 UTC on the last Sunday of March to
    /// 01:00 UTC on the last Sunday of October.
    static func osloOffsetSeconds(utcSeconds: Int64) -> Int {
        let day = utcSeconds >= 0 ? utcSeconds / 86400 : (utcSeconds - 86399) / 86400
        let year = CivilDate(daysSinceEpoch: Int32(day)).year
        func lastSunday(_ month: Int) -> Int64 {
            let last = CivilDate.daysFromCivil(year: year, month: month, day: 31)
            let weekday = ((last % 7) + 11) % 7 // 0 = Sunday; 1970-01-01 was a Thursday
            return Int64(last - weekday)
        }
        let start = lastSunday(3) * 86400 + 3600
        let end = lastSunday(10) * 86400 + 3600
        return (utcSeconds >= start && utcSeconds < end) ? 7200 : 3600
    }
}
