import Pathway

/// A fixed, reused byte buffer the generator writes lines into, with no Foundation formatting and no
/// allocation per line. Everything written is ASCII.
struct LineBuffer: ~Copyable {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }
    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    func bytes(from start: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + start, count: count - start) }

    @inline(__always) mutating func byte(_ b: UInt8) {
        base[count] = b
        count += 1
    }

    @inline(__always) mutating func put(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        (base + count).update(from: s.utf8Start, count: n)
        count += n
    }

    @inline(__always) mutating func put(_ a: [UInt8]) {
        a.withUnsafeBufferPointer { p in
            (base + count).update(from: p.baseAddress!, count: p.count)
            count += p.count
        }
    }

    /// A non-negative integer in decimal, zero-padded to at least `width` digits.
    @inline(__always) mutating func decimal(_ value: Int, width: Int = 1) {
        var v = value
        var digits = 1
        var t = v / 10
        while t > 0 { digits += 1; t /= 10 }
        let n = max(digits, width)
        var i = count + n - 1
        for _ in 0..<n {
            base[i] = UInt8(48 + v % 10)
            v /= 10
            i -= 1
        }
        count += n
    }

    @inline(__always) mutating func two(_ v: Int) {
        base[count] = UInt8(48 + v / 10)
        base[count + 1] = UInt8(48 + v % 10)
        count += 2
    }

    /// `YYYY-MM-DD` for a day number (days since 1970-01-01).
    @inline(__always) mutating func date(_ day: Int) {
        let (y, m, d) = CivilParts.of(day)
        decimal(y, width: 4)
        byte(45); two(m); byte(45); two(d)
    }

    /// RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SSZ`.
    @inline(__always) mutating func instant(day: Int, secondOfDay: Int) {
        date(day)
        byte(84)
        two(secondOfDay / 3600); byte(58); two(secondOfDay / 60 % 60); byte(58); two(secondOfDay % 60)
        byte(90)
    }

    /// Lowercase hexadecimal, exactly `digits` digits.
    @inline(__always) mutating func hex(_ value: UInt64, digits: Int) {
        let alphabet: StaticString = "0123456789abcdef"
        let a = alphabet.utf8Start
        for k in 0..<digits {
            base[count + k] = a[Int((value >> UInt64(4 * (digits - 1 - k))) & 0xF)]
        }
        count += digits
    }
}

/// Year, month and day of a day number: the same arithmetic as `CivilDate`, shared.
enum CivilParts {
    @inline(__always) static func of(_ z0: Int) -> (Int, Int, Int) { CivilDate.civilFromDays(z0) }
}
