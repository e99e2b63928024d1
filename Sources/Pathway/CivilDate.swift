/// A calendar date in Europe/Oslo, the only kind of date a pathway code stands for.
///
/// Stored as days since 1970-01-01 so that "within 21 days" is plain integer arithmetic: the pathway
/// times (forløpstider) are counted in calendar days, with the start date as day 0.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let daysSinceEpoch: Int32

    public init(daysSinceEpoch: Int32) { self.daysSinceEpoch = daysSinceEpoch }

    /// Builds a date from its parts, or nil when the date does not exist (2026-02-30).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else { return nil }
        self.daysSinceEpoch = Int32(CivilDate.daysFromCivil(year: year, month: month, day: day))
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(_ text: String) {
        var t = text
        guard let d = t.withUTF8({ CivilDate(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = d
    }

    /// Parses exactly `YYYY-MM-DD` from raw UTF-8 bytes, with no allocation (the ingest hot path).
    public init?(utf8 b: UnsafeRawBufferPointer) {
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        var y = 0, m = 0, d = 0
        for i in 0..<4 { let c = Int(b[i]) - 48; guard c >= 0 && c <= 9 else { return nil }; y = y * 10 + c }
        for i in 5..<7 { let c = Int(b[i]) - 48; guard c >= 0 && c <= 9 else { return nil }; m = m * 10 + c }
        for i in 8..<10 { let c = Int(b[i]) - 48; guard c >= 0 && c <= 9 else { return nil }; d = d * 10 + c }
        self.init(year: y, month: m, day: d)
    }

    public var parts: (year: Int, month: Int, day: Int) { CivilDate.civilFromDays(Int(daysSinceEpoch)) }
    public var year: Int { parts.year }
    public var month: Int { parts.month }

    public func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + Int32(days)) }
    public func days(until other: CivilDate) -> Int { Int(other.daysSinceEpoch) - Int(daysSinceEpoch) }

    public var description: String {
        var b: [UInt8] = []
        b.reserveCapacity(10)
        appendISO(to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DD` as bytes.
    public func appendISO(to out: inout [UInt8]) {
        let (y, m, d) = parts
        guard (0...9999).contains(y) else {
            Digits.append(y, width: 4, to: &out); out.append(UInt8(ascii: "-"))
            Digits.append(m, width: 2, to: &out); out.append(UInt8(ascii: "-"))
            Digits.append(d, width: 2, to: &out)
            return
        }
        // Ten bytes from one buffer (a date is written for every appended registration).
        var b: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &b) { p in
            p[0] = UInt8(48 + y / 1000); p[1] = UInt8(48 + y / 100 % 10); p[2] = UInt8(48 + y / 10 % 10); p[3] = UInt8(48 + y % 10)
            p[4] = 0x2D; p[5] = UInt8(48 + m / 10); p[6] = UInt8(48 + m % 10)
            p[7] = 0x2D; p[8] = UInt8(48 + d / 10); p[9] = UInt8(48 + d % 10)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[0..<10]))
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
    // Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
    /// Year, month and day of a day number (days since 1970-01-01), without building a date.
    @inline(__always) public static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

@inline(__always) func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// Decimal digits straight into a byte buffer, without making a `String`.
public enum Digits {
    @inline(__always) public static func append(_ v: Int, width: Int, to out: inout [UInt8]) {
        var buf: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v < 0 ? -v : v
        withUnsafeMutableBytes(of: &buf) { b in
            repeat { b[n] = UInt8(48 + x % 10); x /= 10; n += 1 } while x > 0 && n < 20
            while n < width && n < 20 { b[n] = 48; n += 1 }
            if v < 0 { out.append(UInt8(ascii: "-")) }
            var i = n - 1
            while i >= 0 { out.append(b[i]); i -= 1 }
        }
    }
    @inline(__always) public static func append(_ v: UInt64, to out: inout [UInt8]) {
        if v < UInt64(Int.max) { append(Int(v), width: 1, to: &out) } else { out.append(contentsOf: String(v).utf8) }
    }
}
