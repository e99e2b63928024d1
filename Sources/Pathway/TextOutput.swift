/// Hand-written JSON and CSV output with a fixed key order, so the same state always prints the
/// same bytes (Foundation's `JSONEncoder` promises neither order nor speed).
public enum JSONText {
    /// Appends `s` as a JSON string literal.
    public static func string(_ s: String, into out: inout String) {
        out.append("\"")
        var needsEscape = false
        for u in s.utf8 where u < 0x20 || u == 0x22 || u == 0x5c { needsEscape = true; break }
        if !needsEscape {
            out.append(s)
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        out.append("\\u")
                        out.append(String(repeating: "0", count: 4 - hex.count))
                        out.append(hex)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        out.append("\"")
    }

    /// Appends `"key":` (keys are plain ASCII chosen by the code, never escaped).
    @inline(__always) public static func key(_ k: String, into out: inout String) {
        out.append("\"")
        out.append(k)
        out.append("\":")
    }

    public static func date(_ d: CivilDate?, into out: inout String) {
        if let d { out.append("\""); out.append(d.description); out.append("\"") } else { out.append("null") }
    }

    public static func letter(_ byte: UInt8, into out: inout String) {
        out.append("\"")
        out.unicodeScalars.append(Unicode.Scalar(byte))
        out.append("\"")
    }
}

/// A JSON line built as bytes: for outputs of many thousands of rows, where appending to a `String`
/// piece by piece costs more than computing the rows. Same escaping as ``JSONText``.
public struct JSONBytes {
    public private(set) var bytes: [UInt8] = []
    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Plain ASCII chosen by the code (punctuation, keys with their quotes and colon).
    @inline(__always) public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }
    /// `,"key":` — or without the comma for the first key.
    @inline(__always) public mutating func key(_ k: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\"")); bytes.append(UInt8(ascii: ":"))
    }
    public mutating func string(_ s: String) {
        var plain = true
        for u in s.utf8 where u < 0x20 || u == 0x22 || u == 0x5c { plain = false; break }
        if plain {
            bytes.append(UInt8(ascii: "\"")); bytes.append(contentsOf: s.utf8); bytes.append(UInt8(ascii: "\""))
        } else {
            var t = ""
            JSONText.string(s, into: &t)
            bytes.append(contentsOf: t.utf8)
        }
    }
    public mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }
    public mutating func int(_ v: Int?) {
        if let v { bytes.append(contentsOf: String(v).utf8) } else { raw("null") }
    }
    public mutating func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }
    /// Any text already valid as JSON (a number's description).
    public mutating func literal(_ s: String) { bytes.append(contentsOf: s.utf8) }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

public enum CSVText {
    /// Appends one field, quoted per RFC 4180 when it holds a comma, quote or line break.
    public static func field(_ s: String, into out: inout String) {
        var quote = false
        for u in s.utf8 where u == 0x2c || u == 0x22 || u == 0x0a || u == 0x0d { quote = true; break }
        guard quote else { out.append(s); return }
        out.append("\"")
        for ch in s { if ch == "\"" { out.append("\"\"") } else { out.append(ch) } }
        out.append("\"")
    }
}
