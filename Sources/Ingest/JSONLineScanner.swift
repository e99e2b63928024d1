/// A scanner for the one JSON shape the ledger reads: a flat object whose values are all strings.
///
/// It works on the raw bytes of one line (already checked to be well-formed UTF-8 and no longer
/// than the limit) and records, for each known key, where its value is. Values without escapes are
/// left in place; values with escapes are decoded into the scratch buffer. Anything that is not a
/// flat object of strings, an unknown key or a repeated key stops the scan with an error; the first
/// problem from the left is the one reported.
extension FieldSlots {
    private struct Stop: Error { let error: IngestError }

    /// Scans `line` (already set with ``reset(line:)``). Returns nil when the object is well formed.
    func scanJSON(lineNumber: Int) -> IngestError? {
        do {
            try scanObject(lineNumber)
            return nil
        } catch {
            return error.error
        }
    }

    @inline(__always)
    private func json(_ lineNumber: Int, _ at: Int, _ what: String) -> Stop {
        Stop(error: IngestError(line: lineNumber, field: nil, kind: .invalidJSON, message: "invalid JSON at column \(at + 1): \(what)"))
    }

    private func scanObject(_ ln: Int) throws(Stop) {
        let b = line
        let n = b.count
        var i = 0
        i = skipSpace(b, i)
        guard i < n, b[i] == ASCII.openBrace else { throw json(ln, i, "expected '{' to open an object") }
        i += 1
        i = skipSpace(b, i)
        if i < n, b[i] == ASCII.closeBrace {
            i += 1
        } else {
            while true {
                guard i < n, b[i] == ASCII.quote else { throw json(ln, i, "expected a field name in double quotes") }
                let field: Field
                if let (f, end) = Field.matchQuotedKey(b, at: i) {
                    // The common case: a known key, spelled without escapes.
                    field = f
                    i = end
                } else {
                    let key = try scanString(ln, &i)
                    let keyBytes = key.inScratch ? UnsafeRawBufferPointer(start: scratch + key.start, count: key.count)
                                                 : UnsafeRawBufferPointer(rebasing: b[key.start..<(key.start + key.count)])
                    guard let f = Field.lookup(keyBytes) else { throw unknownField(ln, keyBytes) }
                    if key.inScratch { scratchUsed = key.start } // the decoded key is no longer needed
                    field = f
                }
                if has(field) {
                    throw Stop(error: IngestError(line: ln, field: field.name, kind: .duplicateField,
                                                  message: "appears more than once in the object"))
                }
                i = skipSpace(b, i)
                guard i < n, b[i] == ASCII.colon else { throw json(ln, i, "expected ':' after a field name") }
                i += 1
                i = skipSpace(b, i)
                guard i < n else { throw json(ln, i, "expected a value") }
                let c = b[i]
                if c != ASCII.quote {
                    let what: String
                    switch c {
                    case ASCII.openBrace: what = "an object"
                    case UInt8(ascii: "["): what = "an array"
                    case UInt8(ascii: "t"), UInt8(ascii: "f"): what = "a boolean"
                    case UInt8(ascii: "n"): what = "null"
                    case ASCII.dash, UInt8(ascii: "0")...UInt8(ascii: "9"): what = "a number"
                    default: throw json(ln, i, "expected a value")
                    }
                    throw Stop(error: IngestError(line: ln, field: field.name, kind: .notAString,
                                                  message: "expected a string value, got \(what)"))
                }
                let v = try scanString(ln, &i)
                if v.inScratch { set(field, scratchRange: v.start, v.count) } else { set(field, lineRange: v.start, v.count) }
                i = skipSpace(b, i)
                guard i < n else { throw json(ln, i, "expected ',' or '}'") }
                if b[i] == ASCII.comma {
                    i += 1
                    i = skipSpace(b, i)
                    continue
                }
                guard b[i] == ASCII.closeBrace else { throw json(ln, i, "expected ',' or '}'") }
                i += 1
                break
            }
        }
        i = skipSpace(b, i)
        guard i == n else { throw json(ln, i, "unexpected characters after the closing '}'") }
    }

    @inline(__always)
    private func skipSpace(_ b: UnsafeRawBufferPointer, _ from: Int) -> Int {
        var i = from
        while i < b.count, ASCII.isSpace(b[i]) { i += 1 }
        return i
    }

    private func unknownField(_ ln: Int, _ key: UnsafeRawBufferPointer) -> Stop {
        if containsIdentityNumber(key) {
            return Stop(error: IngestError(line: ln, field: nil, kind: .unknownField,
                                           message: "unknown field (its name is not shown: it looks like an identity number); expected only "
                                               + Field.knownList))
        }
        return Stop(error: IngestError(line: ln, field: Quote.escaped(key), kind: .unknownField,
                                       message: "unknown field; expected only " + Field.knownList))
    }

    /// Scans the string starting at the quote at `i`, leaving `i` after its closing quote.
    @inline(__always)
    private func scanString(_ ln: Int, _ i: inout Int) throws(Stop) -> (start: Int, count: Int, inScratch: Bool) {
        let b = line
        let n = b.count
        let open = i
        var k = i + 1
        // Fast path: no escapes. Skip eight bytes at a time while none is a quote, a backslash or a
        // control character (SWAR: a set high bit marks a candidate; the byte loop finds it exactly).
        if let base = b.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            while k + 8 <= n {
                let w = base.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                let q = w ^ (ones &* 0x22), bs = w ^ (ones &* 0x5C)
                let hit = ((q &- ones) & ~q) | ((bs &- ones) & ~bs) | ((w &- ones &* 0x20) & ~w)
                if hit & highs != 0 { break }
                k += 8
            }
        }
        while k < n {
            let c = b[k]
            if c == ASCII.quote {
                i = k + 1
                return (open + 1, k - open - 1, false)
            }
            if c == ASCII.backslash { break }
            if c < 0x20 { throw json(ln, k, "control character in a string (it must be escaped)") }
            k += 1
        }
        guard k < n else { throw json(ln, open, "unterminated string") }
        // Slow path: decode into scratch.
        let out = scratchUsed
        appendScratch(UnsafeRawBufferPointer(rebasing: b[(open + 1)..<k]))
        while k < n {
            let c = b[k]
            if c == ASCII.quote {
                i = k + 1
                return (out, scratchUsed - out, true)
            }
            if c < 0x20 { throw json(ln, k, "control character in a string (it must be escaped)") }
            if c != ASCII.backslash {
                appendScratch(c)
                k += 1
                continue
            }
            guard k + 1 < n else { throw json(ln, k, "unterminated string") }
            let e = b[k + 1]
            switch e {
            case ASCII.quote, ASCII.backslash, UInt8(ascii: "/"): appendScratch(e)
            case UInt8(ascii: "b"): appendScratch(0x08)
            case UInt8(ascii: "f"): appendScratch(0x0C)
            case UInt8(ascii: "n"): appendScratch(0x0A)
            case UInt8(ascii: "r"): appendScratch(0x0D)
            case UInt8(ascii: "t"): appendScratch(0x09)
            case UInt8(ascii: "u"):
                guard let hi = hex4(b, k + 2) else { throw json(ln, k, "invalid \\u escape (expected four hex digits)") }
                var scalar = hi
                var width = 6
                if (0xD800...0xDBFF).contains(hi) {
                    guard k + 7 < n, b[k + 6] == ASCII.backslash, b[k + 7] == UInt8(ascii: "u"), let lo = hex4(b, k + 8),
                          (0xDC00...0xDFFF).contains(lo) else {
                        throw json(ln, k, "invalid \\u escape (a high surrogate must be followed by a low surrogate)")
                    }
                    scalar = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    width = 12
                } else if (0xDC00...0xDFFF).contains(hi) {
                    throw json(ln, k, "invalid \\u escape (a low surrogate without a high surrogate)")
                }
                appendUTF8(scalar)
                k += width
                continue
            default:
                throw json(ln, k, "invalid escape sequence in a string")
            }
            k += 2
        }
        throw json(ln, open, "unterminated string")
    }

    @inline(__always)
    private func hex4(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32? {
        guard at + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for k in at..<(at + 4) {
            let c = b[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - 55
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    @inline(__always)
    private func appendUTF8(_ s: UInt32) {
        switch s {
        case 0..<0x80:
            appendScratch(UInt8(s))
        case 0x80..<0x800:
            appendScratch(UInt8(0xC0 | s >> 6)); appendScratch(UInt8(0x80 | s & 0x3F))
        case 0x800..<0x10000:
            appendScratch(UInt8(0xE0 | s >> 12)); appendScratch(UInt8(0x80 | s >> 6 & 0x3F)); appendScratch(UInt8(0x80 | s & 0x3F))
        default:
            appendScratch(UInt8(0xF0 | s >> 18)); appendScratch(UInt8(0x80 | s >> 12 & 0x3F))
            appendScratch(UInt8(0x80 | s >> 6 & 0x3F)); appendScratch(UInt8(0x80 | s & 0x3F))
        }
    }
}
