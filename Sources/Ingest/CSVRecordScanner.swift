/// RFC 4180 records: fields separated by commas; a field is either unquoted (no quotes, commas or
/// line breaks in it) or enclosed in double quotes, with a quote inside written as two quotes and
/// commas and line breaks allowed. Records end with CRLF or LF.
extension FieldSlots {
    static let csvColumnCount = Field.csvColumns.count

    /// Splits `line` (already set with ``reset(line:)``, without its terminator) into the ten CSV
    /// columns. An empty `recordedAt` column is left absent; every other column is present, possibly
    /// empty. Returns nil when the record is well formed and has exactly ten fields.
    func scanCSV(lineNumber ln: Int) -> IngestError? {
        let b = line
        let n = b.count
        var i = 0
        var column = 0
        while true {
            let field: Field? = column < FieldSlots.csvColumnCount ? Field.csvColumns[column] : nil
            @inline(__always) func bad(_ at: Int, _ what: String) -> IngestError {
                IngestError(line: ln, field: field?.name, kind: .invalidCSV, message: "invalid CSV at column \(at + 1): \(what)")
            }
            if i < n, b[i] == ASCII.quote {
                let open = i
                let out = scratchUsed
                var k = i + 1
                var closed = false
                while k < n {
                    let c = b[k]
                    if c == ASCII.quote {
                        if k + 1 < n, b[k + 1] == ASCII.quote { appendScratch(ASCII.quote); k += 2; continue }
                        closed = true
                        k += 1
                        break
                    }
                    appendScratch(c)
                    k += 1
                }
                guard closed else { return bad(open, "a quoted field is not closed") }
                guard k == n || b[k] == ASCII.comma else { return bad(k, "unexpected characters after a closing quote") }
                if let f = field { store(f, scratch: out, count: scratchUsed - out) }
                i = k
            } else {
                var k = i
                while k < n, b[k] != ASCII.comma {
                    if b[k] == ASCII.quote { return bad(k, "a double quote inside an unquoted field (quote the field and double the quote)") }
                    k += 1
                }
                if let f = field { store(f, line: i, count: k - i) }
                i = k
            }
            column += 1
            if i == n { break }
            i += 1 // the comma
        }
        guard column == FieldSlots.csvColumnCount else {
            return IngestError(line: ln, field: nil, kind: .fieldCount,
                               message: "expected \(FieldSlots.csvColumnCount) fields (\(Field.csvHeader)), got \(column)")
        }
        return nil
    }

    @inline(__always) private func store(_ f: Field, line s: Int, count: Int) {
        if count == 0 && f == .recordedAt { return }
        set(f, lineRange: s, count)
    }
    @inline(__always) private func store(_ f: Field, scratch s: Int, count: Int) {
        if count == 0 && f == .recordedAt { return }
        set(f, scratchRange: s, count)
    }

    /// Whether the scanned record is exactly the expected header.
    func isCSVHeader() -> Bool {
        for f in Field.csvColumns {
            let v = value(f)
            let name = f.name.utf8
            guard v.count == name.count, zip(v, name).allSatisfy({ $0 == $1 }) else { return false }
        }
        return true
    }
}
