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
