#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Byte-level helpers for the scanners: line search, UTF-8 validation, identity-number shapes and
// the quoting of values in error messages. No Foundation.

enum ASCII {
    static let newline: UInt8 = 0x0A, cr: UInt8 = 0x0D, space: UInt8 = 0x20, tab: UInt8 = 0x09
    static let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, comma: UInt8 = 0x2C, colon: UInt8 = 0x3A
    static let openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D, dash: UInt8 = 0x2D
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
    /// JSON whitespace (the line feed never occurs inside a line).
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == space || c == tab || c == cr || c == newline }
}

/// The offset of the first `byte` in `b[from..<to]` (`to` defaults to the end), or nil.
@inline(__always)
func find(_ byte: UInt8, in b: UnsafeRawBufferPointer, from: Int, to: Int? = nil) -> Int? {
    let end = to ?? b.count
    guard from < end, let base = b.baseAddress else { return nil }
    guard let hit = memchr(base + from, Int32(byte), end - from) else { return nil }
    return UnsafeRawPointer(hit) - base
}

/// The offset of the first byte that is not part of well-formed UTF-8 (no overlong forms, no
/// surrogates, nothing above U+10FFFF), or nil when all of `b` is well formed.
func firstInvalidUTF8(_ b: UnsafeRawBufferPointer) -> Int? {
    guard let base = b.baseAddress else { return nil }
    let n = b.count
    var i = 0
    while i < n {
        // ASCII fast path, eight bytes at a time.
        while i + 8 <= n, base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
        guard i < n else { break }
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        @inline(__always) func cont(_ k: Int) -> Bool { k < n && b[k] & 0xC0 == 0x80 }
        if c < 0xC2 { return i }
        if c < 0xE0 {
            guard cont(i + 1) else { return i }
            i += 2
        } else if c < 0xF0 {
            guard i + 1 < n else { return i }
            let c1 = b[i + 1]
            let ok1 = c == 0xE0 ? (0xA0...0xBF).contains(c1) : c == 0xED ? (0x80...0x9F).contains(c1) : c1 & 0xC0 == 0x80
            guard ok1, cont(i + 2) else { return i }
            i += 3
        } else if c < 0xF5 {
            guard i + 1 < n else { return i }
            let c1 = b[i + 1]
            let ok1 = c == 0xF0 ? (0x90...0xBF).contains(c1) : c == 0xF4 ? (0x80...0x8F).contains(c1) : c1 & 0xC0 == 0x80
            guard ok1, cont(i + 2), cont(i + 3) else { return i }
            i += 4
        } else {
            return i
        }
    }
    return nil
}

/// Whether the line holds nothing but blanks (space, tab, carriage return).
@inline(__always)
func isBlank(_ b: UnsafeRawBufferPointer) -> Bool {
    for c in b where !ASCII.isSpace(c) { return false }
    return true
}

/// The shape of a Norwegian national identity number (fødselsnummer, D- or H-number), which the
/// ledger refuses as a patient key.
public enum IdentityNumber {
    /// Whether a value is shaped like an identity number: exactly 11 digits once surrounding blanks
    /// are trimmed, optionally with one space or dash after the sixth digit. Any such value is
    /// refused, whether or not its check digits add up.
    public static func isShaped(_ text: String) -> Bool {
        var t = text
        return t.withUTF8 { looksLikeIdentityNumber(UnsafeRawBufferPointer($0)) }
    }
    public static func isShaped(_ bytes: UnsafeRawBufferPointer) -> Bool { looksLikeIdentityNumber(bytes) }
    /// Whether an identity-number-shaped run (six digits, an optional space or dash, five digits)
    /// occurs anywhere in the value: such a value is never quoted in a message.
    public static func occurs(in bytes: UnsafeRawBufferPointer) -> Bool { containsIdentityNumber(bytes) }

    /// `text` with the digits of every identity-number-shaped run (the shape ``occurs(in:)``
    /// looks for) replaced by `*`, every other byte kept: how a rejected line is copied into a
    /// reject file, which must not repeat an identity number the line was rejected for.
    public static func masked(_ text: String) -> String {
        var t = text
        return t.withUTF8 { b in
            // Only ASCII digits change, to an ASCII byte: the result is as well formed as the input.
            String(decoding: maskIdentityNumbers(UnsafeRawBufferPointer(b)), as: UTF8.self)
        }
    }
}

func looksLikeIdentityNumber(_ b: UnsafeRawBufferPointer) -> Bool {
    var lo = 0, hi = b.count
    while lo < hi, ASCII.isSpace(b[lo]) { lo += 1 }
    while hi > lo, ASCII.isSpace(b[hi - 1]) { hi -= 1 }
    let n = hi - lo
    if n == 11 {
        for k in lo..<hi where !ASCII.isDigit(b[k]) { return false }
        return true
    }
    if n == 12 {
        let sep = b[lo + 6]
        guard sep == ASCII.space || sep == ASCII.dash else { return false }
        for k in lo..<hi where k != lo + 6 && !ASCII.isDigit(b[k]) { return false }
        return true
    }
    return false
}

/// Whether an identity-number-shaped run (six digits, an optional space or dash, five digits)
/// occurs anywhere in the value. Such values are never quoted in messages.
func containsIdentityNumber(_ b: UnsafeRawBufferPointer) -> Bool {
    let n = b.count
    var i = 0
    while i < n {
        guard ASCII.isDigit(b[i]) else { i += 1; continue }
        var run = 0, k = i
        while k < n, ASCII.isDigit(b[k]) { run += 1; k += 1 }
        if run >= 11 { return true }
        if run >= 6, k < n, b[k] == ASCII.space || b[k] == ASCII.dash {
            var tail = 0, j = k + 1
            while j < n, ASCII.isDigit(b[j]) { tail += 1; j += 1 }
            if tail >= 5 { return true }
        }
        i = k
    }
    return false
}

/// A copy of `b` with the digits of every run that ``containsIdentityNumber(_:)`` would find
/// replaced by `*`: a run of 11 or more digits, or a run of 6 or more digits, a space or dash and
/// a run of 5 or more (both runs masked, the separator kept). The runs are judged on the original
/// bytes, so a run masked as the tail of one shape still counts as the head of the next.
///
/// The text is read as a JSON string would be: an escape such as `\u0031` counts as the character
/// it stands for (the validator judged the decoded value, so a number spelled with escapes was
/// refused and must be masked too) and a masked escape becomes one `*`. Other escapes (`\\`,
/// `\"`, `\u00e6`…) are characters that are not digits, so `\\u0031` stays as it is. In a CSV
/// line a literal `\u0031` is masked as a digit as well: that can only hide more, never less.
func maskIdentityNumbers(_ b: UnsafeRawBufferPointer) -> [UInt8] {
    // The characters of the text: where each starts in `b` (it ends where the next starts), and
    // the ASCII byte it stands for (0 for anything that is neither a digit nor a separator).
    var starts: [Int] = [], chars: [UInt8] = []
    starts.reserveCapacity(b.count + 1); chars.reserveCapacity(b.count)
    @inline(__always) func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
    let n = b.count
    var i = 0
    while i < n {
        if b[i] == UInt8(ascii: "\\"), i + 1 < n {
            if b[i + 1] == UInt8(ascii: "u"), i + 5 < n,
               let h0 = hex(b[i + 2]), let h1 = hex(b[i + 3]), let h2 = hex(b[i + 4]), let h3 = hex(b[i + 5]) {
                let scalar = UInt32(h0) << 12 | UInt32(h1) << 8 | UInt32(h2) << 4 | UInt32(h3)
                starts.append(i); chars.append(scalar < 0x80 ? UInt8(scalar) : 0)
                i += 6
            } else {
                starts.append(i); chars.append(0)
                i += 2
            }
            continue
        }
        starts.append(i); chars.append(b[i])
        i += 1
    }
    let count = chars.count
    starts.append(n)
    var masked = [Bool](repeating: false, count: count)
    @inline(__always) func digit(_ k: Int) -> Bool { ASCII.isDigit(chars[k]) }
    var t = 0
    while t < count {
        guard digit(t) else { t += 1; continue }
        var k = t
        while k < count, digit(k) { k += 1 }
        if k - t >= 11 { for m in t..<k { masked[m] = true } }
        if k - t >= 6, k < count, chars[k] == ASCII.space || chars[k] == ASCII.dash {
            var j = k + 1
            while j < count, digit(j) { j += 1 }
            if j - (k + 1) >= 5 { for m in t..<k { masked[m] = true }; for m in (k + 1)..<j { masked[m] = true } }
        }
        t = k
    }
    var out: [UInt8] = []
    out.reserveCapacity(n)
    for k in 0..<count {
        if masked[k] { out.append(UInt8(ascii: "*")) } else { out.append(contentsOf: b[starts[k]..<starts[k + 1]]) }
    }
    return out
}

/// Whether an 11-digit run in the value (optionally split 6 + 5 by a space or dash) could be a
/// fødselsnummer, D-number or H-number: a plausible birth date (day 1–31, or +40 for a D-number;
/// month 1–12, +40 for an H-number, +80 for a synthetic test number) and valid mod-11 check digits.
/// Used on free text and inside identifiers, where refusing any 11-digit run would refuse order
/// numbers and the like; an identifier that *is* 11 digits is refused outright (see
/// `looksLikeIdentityNumber`). Runs longer than 11 digits are not identity numbers.
/// Reads the bytes in place: it runs on several fields of every line.
func containsCheckedIdentityNumber(_ b: UnsafeRawBufferPointer) -> Bool {
    let n = b.count
    guard n >= 11 else { return false }
    // The candidates are every maximal run of exactly 11 digits, and every run of exactly 6 digits
    // joined by one space or dash to a run of exactly 5 ("150590-10023"). Each run is judged on
    // its own first, so a prefix such as "202401-" cannot hide the number that follows it.
    var d: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return withUnsafeMutableBytes(of: &d) { raw in
        let digits = raw.bindMemory(to: Int.self)
        func candidate(_ start: Int, _ count: Int, joinedTo second: Int = -1) -> Bool {
            var k = 0
            for i in start..<(start + count) { digits[k] = Int(b[i]) - 48; k += 1 }
            if second >= 0 { for i in second..<(second + 5) { digits[k] = Int(b[i]) - 48; k += 1 } }
            return identityNumberPlausible(UnsafeBufferPointer(digits))
        }
        var previous = (start: -1, count: 0)   // the digit run before the current one
        var i = 0
        while i < n {
            guard ASCII.isDigit(b[i]) else { i += 1; continue }
            var k = i
            while k < n, ASCII.isDigit(b[k]) { k += 1 }
            let count = k - i
            if count == 11, candidate(i, 11) { return true }
            if count == 5, previous.count == 6, previous.start + 7 == i,
               b[i - 1] == ASCII.space || b[i - 1] == ASCII.dash, candidate(previous.start, 6, joinedTo: i) { return true }
            previous = (i, count)
            i = k
        }
        return false
    }
}

/// Eleven digits: a plausible (D-/H-/synthetic) birth date and valid check digits.
func identityNumberPlausible(_ d: UnsafeBufferPointer<Int>) -> Bool {
    var day = d[0] * 10 + d[1], month = d[2] * 10 + d[3]
    if day > 40 { day -= 40 }
    if month > 80 { month -= 80 } else if month > 40 { month -= 40 }
    guard (1...31).contains(day), (1...12).contains(month) else { return false }
    return fodselsnummerCheckDigitsValid(d)
}

func fodselsnummerCheckDigitsValid(_ d: UnsafeBufferPointer<Int>) -> Bool {
    func control(_ weights: [Int]) -> Int? {
        var sum = 0
        for (w, x) in zip(weights, d) { sum += w * x }
        let r = 11 - sum % 11
        return r == 11 ? 0 : (r == 10 ? nil : r)
    }
    guard let k1 = control([3, 7, 6, 1, 8, 9, 4, 5, 2]), k1 == d[9],
          let k2 = control([5, 4, 3, 2, 7, 6, 5, 4, 3, 2]), k2 == d[10] else { return false }
    return true
}

enum Quote {
    /// Values longer than this are cut (with "…") when quoted in a message.
    static let maxShown = 40

    /// The value as a quoted, escaped string for an error message, or nil when it must not be shown
    /// because it holds something shaped like an identity number.
    static func show(_ b: UnsafeRawBufferPointer) -> String? {
        if containsIdentityNumber(b) { return nil }
        return "\"" + escaped(b) + "\""
    }

    /// `got "value"`, or `got a value that is not shown (it looks like an identity number)`.
    static func got(_ b: UnsafeRawBufferPointer) -> String {
        if let s = show(b) { return "got " + s }
        return "got a value that is not shown (it looks like an identity number)"
    }

    /// The text, cut to ``maxShown`` characters, with quotes, backslashes and control characters escaped.
    static func escaped(_ b: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: b, as: UTF8.self)
        var out = ""
        var shown = 0
        for u in text.unicodeScalars {
            if shown == maxShown { out += "…"; break }
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    out += "\\u" + hex4(u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
            shown += 1
        }
        return out
    }

    static func hex4(_ v: UInt32) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
        var s = ""
        for shift in stride(from: 12, through: 0, by: -4) { s.append(digits[Int((v >> UInt32(shift)) & 0xF)]) }
        return s
    }
}
