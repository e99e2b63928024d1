import TestSupport
import Testing
import Ingest
import Pathway

/// Property-style tests with a seeded generator: whatever the bytes, the reader returns (never
/// traps), gives exactly one result per non-blank line, and turns garbage into errors, not events.
@Suite("Ingest: robustness properties")
struct IngestPropertyTests {
    /// Valid lines of every kind, in both spellings.
    static func validLines() -> [String] {
        var lines: [String] = []
        for (i, code) in PathwayCode.all.enumerated() {
            let reg = ingestRegistration(code, id: "r-\(i)", note: i % 3 == 0 ? "n\u{e6}\"\\\n" : nil,
                                         recordedAt: i % 2 == 0 ? Instant(rfc3339: "2026-01-20T10:00:00Z") : nil)
            lines.append(NDJSONWriter.line(for: .registration(reg), spelling: i % 2 == 0 ? .procedure : .module))
        }
        lines.append(NDJSONWriter.line(for: .voiding(Voiding(id: "v-1", target: "r-1", reason: "dup", author: "u-2"))))
        lines.append(NDJSONWriter.line(for: .correction(Correction(target: "r-2", reason: "date",
                                                                   replacement: ingestRegistration(.M, id: "c-1")))))
        return lines
    }

    private func nonBlankLineCount(_ bytes: [UInt8]) -> Int {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            .filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }.count
    }

    @Test("random bytes never crash the reader and never yield events", arguments: [InputFormat.ndjson, .csv])
    func randomBytes(format: InputFormat) {
        var rng = IngestSplitMix(seed: 0x5EED_0001)
        // Bytes biased towards the ones that matter to the scanners.
        let interesting = Array("{}[]:,\"\\/ \t\r\nu0123456789abcdefABCDEF-.DXidtecoa".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xED, 0xF0, 0xFF]
        let reader = ingestReader(format)
        for _ in 0..<400 {
            let n = Int(rng.next() % 400)
            var bytes: [UInt8] = []
            for _ in 0..<n {
                bytes.append(rng.next() % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : interesting[Int(rng.next() % UInt64(interesting.count))])
            }
            if format == .csv { bytes = Array((CSVWriter.header + "\n").utf8) + bytes }
            let (events, errors) = reader.parse(bytes)
            #expect(events.isEmpty, "random input gave an event: \(bytes)")
            if format == .ndjson {
                #expect(errors.count == nonBlankLineCount(bytes))
            }
            for e in errors { #expect(e.line >= 1 && e.line <= bytes.count + 1) }
        }
    }

    @Test("every proper prefix of a valid line is an error, and the lines after it are unaffected")
    func truncatedLines() {
        let reader = ingestReader()
        let next = IngestPropertyTests.validLines()[1]
        for line in IngestPropertyTests.validLines() {
            let bytes = Array(line.utf8)
            var cut = 0
            while cut < bytes.count {
                let prefix = bytes[..<cut]
                let input = Array(prefix) + [0x0A] + Array(next.utf8)
                let (events, errors) = reader.parse(input)
                if prefix.allSatisfy({ $0 == 0x20 }) {
                    #expect(errors.isEmpty)
                } else {
                    #expect(errors.map(\.line) == [1], "prefix \(cut) of \(line)")
                }
                #expect(events.map(\.line) == [2])
                cut += 1 + cut / 40 // every cut near the start, then sparser
            }
        }
    }

    @Test("fields in any order give the same event")
    func shuffledFields() {
        var rng = IngestSplitMix(seed: 0x5EED_0002)
        let reader = ingestReader()
        for line in IngestPropertyTests.validLines() {
            let expected = reader.parse(line).events.map(\.event)
            #expect(expected.count == 1)
            let fields = jsonFields(line)
            for _ in 0..<20 {
                let shuffled = ingestJSONLine(fields.shuffled(using: &rng))
                #expect(reader.parse(shuffled).events.map(\.event) == expected)
            }
        }
    }

    @Test("values moved between fields, dropped or duplicated never crash and give one result per line")
    func scrambledFields() {
        var rng = IngestSplitMix(seed: 0x5EED_0003)
        let reader = ingestReader()
        let valid = IngestPropertyTests.validLines()
        var lines: [String] = []
        for _ in 0..<600 {
            var fields = jsonFields(valid[Int(rng.next() % UInt64(valid.count))])
            switch rng.next() % 4 {
            case 0: // swap two values
                let a = Int(rng.next() % UInt64(fields.count)), b = Int(rng.next() % UInt64(fields.count))
                let v = fields[a].1; fields[a].1 = fields[b].1; fields[b].1 = v
            case 1: // drop a field
                fields.remove(at: Int(rng.next() % UInt64(fields.count)))
            case 2: // repeat a field
                fields.append(fields[Int(rng.next() % UInt64(fields.count))])
            default: // rename a key
                let a = Int(rng.next() % UInt64(fields.count))
                fields[a].0 = ["id", "voids", "corrects", "reason", "code", "outcome", "x", ""][Int(rng.next() % 8)]
            }
            lines.append(ingestJSONLine(fields.shuffled(using: &rng)))
        }
        let (events, errors) = reader.parse(lines.joined(separator: "\n"))
        #expect(events.count + errors.count == lines.count)
        #expect(Set(events.map(\.line)).isDisjoint(with: errors.map(\.line)))
        // Whatever was accepted writes back to a line that reads to the same event.
        for e in events {
            #expect(reader.parse(NDJSONWriter.line(for: e.event)).events.map(\.event) == [e.event])
        }
    }

    @Test("single-byte mutations of valid input never crash and keep one result per line", arguments: [InputFormat.ndjson, .csv])
    func mutations(format: InputFormat) {
        var rng = IngestSplitMix(seed: 0x5EED_0004)
        let reader = ingestReader(format)
        let text: String
        if format == .ndjson {
            text = IngestPropertyTests.validLines().joined(separator: "\n")
        } else {
            text = ([CSVWriter.header] + PathwayCode.all.map { CSVWriter.line(for: ingestRegistration($0)) }).joined(separator: "\r\n")
        }
        let original = Array(text.utf8)
        let baseline = reader.parse(original)
        #expect(baseline.errors == [])
        for _ in 0..<300 {
            var bytes = original
            for _ in 0...(rng.next() % 3) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            let (events, errors) = reader.parse(bytes)
            if format == .ndjson {
                #expect(events.count + errors.count == nonBlankLineCount(bytes))
            }
            for e in events { #expect(e.byteRange.upperBound <= bytes.count) }
        }
    }

    @Test("reading in random chunks gives exactly what reading all at once gives", arguments: [InputFormat.ndjson, .csv])
    func chunkedReading(format: InputFormat) {
        var rng = IngestSplitMix(seed: 0x5EED_0005)
        var text: String
        if format == .ndjson {
            text = "\u{FEFF}" + IngestPropertyTests.validLines().joined(separator: "\r\n") + "\n\nnot json\n"
                + ingestLine([("note", String(repeating: "x", count: 70_000))]) + "\n" + ingestBaseLine
        } else {
            let rows = PathwayCode.all.map { CSVWriter.line(for: ingestRegistration($0, note: nil)) }
            let quoted = CSVWriter.line(for: Registration(id: "q", episode: "E\n1", patient: "P,\"1\"", institution: "I", unit: "U",
                                                          setting: .outpatient, code: .A, date: CivilDate("2026-01-01")!, author: "a"))
            text = "\u{FEFF}" + ([CSVWriter.header] + rows + [quoted]).joined(separator: "\n") + "\n"
                + "x,\"" + String(repeating: "y\n", count: 40_000) + "\",z\r\n" + rows[0] + "\nbad,\"row\n" + rows[1]
        }
        let bytes = Array(text.utf8)
        let reader = ingestReader(format)
        var whole: [String] = []
        bytes.withUnsafeBytes { buf in
            reader.forEachLine(buf) { r, raw in whole.append(describe(r, raw)) }
        }
        #expect(whole.count > 10)
        for round in 0..<12 {
            var pieces: [String] = []
            let stream = IngestStreamReader(format: format, options: IngestOptions(today: ingestToday))
            var i = 0
            while i < bytes.count {
                let n = round == 0 ? bytes.count : min(bytes.count - i, 1 + Int(rng.next() % (rng.next() % 2 == 0 ? 7 : 9000)))
                bytes[i..<(i + n)].withUnsafeBytes { chunk in
                    stream.feed(chunk) { r, raw in pieces.append(describe(r, raw)) }
                }
                i += n
            }
            stream.finish { r, raw in pieces.append(describe(r, raw)) }
            #expect(pieces == whole)
        }
    }

    private func describe(_ r: Result<ParsedLine, IngestError>, _ raw: UnsafeRawBufferPointer) -> String {
        let prefix = String(decoding: raw.prefix(200), as: UTF8.self)
        switch r {
        case .success(let p): return "\(p.line) \(p.byteRange) \(p.event.id) \(prefix)"
        case .failure(let e): return "\(e) \(prefix)"
        }
    }

    /// Splits a writer-made line (flat object, string values) back into its key/value pairs.
    private func jsonFields(_ line: String) -> [(String, String)] {
        var fields: [(String, String)] = []
        var strings: [String] = []
        var current: [UInt8] = []
        var inString = false, escaped = false
        for c in line.utf8 {
            if inString {
                if escaped { current.append(c); escaped = false; continue }
                if c == UInt8(ascii: "\\") { current.append(c); escaped = true; continue }
                if c == UInt8(ascii: "\"") { inString = false; strings.append(String(decoding: current, as: UTF8.self)); continue }
                current.append(c)
            } else if c == UInt8(ascii: "\"") {
                inString = true; current = []
            }
        }
        for k in stride(from: 0, to: strings.count - 1, by: 2) {
            fields.append((unescape(strings[k]), unescape(strings[k + 1])))
        }
        return fields
    }

    private func unescape(_ s: String) -> String {
        var out = ""
        var it = s.unicodeScalars.makeIterator()
        while let u = it.next() {
            guard u == "\\", let e = it.next() else { out.unicodeScalars.append(u); continue }
            switch e {
            case "n": out += "\n"
            case "t": out += "\t"
            case "r": out += "\r"
            case "b": out += "\u{08}"
            case "f": out += "\u{0C}"
            case "u":
                var v: UInt32 = 0
                for _ in 0..<4 { v = v * 16 + UInt32(String(it.next()!), radix: 16)! }
                out.unicodeScalars.append(Unicode.Scalar(v)!)
            default: out.unicodeScalars.append(e)
            }
        }
        return out
    }
}
