import Testing
import Ingest
import Pathway

@Suite("Ingest: CSV")
struct IngestCSVTests {
    let header = "id,episode,patient,institution,unit,setting,code,date,author,recordedAt"

    private func parse(_ text: String) -> (events: [ParsedLine], errors: [IngestError]) {
        ingestReader(.csv).parse(text)
    }
    private func registrations(_ events: [ParsedLine]) -> [Registration] {
        events.compactMap { if case .registration(let r) = $0.event { r } else { nil } }
    }

    @Test("the writer's header is the contract's header")
    func headerText() {
        #expect(CSVWriter.header == header)
    }

    @Test("plain rows, LF and CRLF, with and without recordedAt")
    func plainRows() {
        let text = header + "\r\n"
            + "r-1,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,\r\n"
            + "r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,inpatient,D01CT,2026-01-20,u-17,2026-01-20T10:00:00+01:00\n"
            + "\n"
            + "r-3,EP-1,P-7f3a,HF-Vest,TSB-POL,inpatient,D01XG,2026-02-01,u-17,"
        let (events, errors) = parse(text)
        #expect(errors == [])
        #expect(events.map(\.line) == [2, 3, 5])
        let regs = registrations(events)
        #expect(regs.map(\.code) == [.A, .C("T"), .X("G")])
        #expect(regs.map(\.recordedAt) == [nil, Instant(rfc3339: "2026-01-20T09:00:00Z"), nil])
        #expect(regs[1].setting == .inpatient)
        #expect(regs[0] == Registration(id: "r-1", episode: "EP-1", patient: "P-7f3a", institution: "HF-Vest", unit: "TSB-POL",
                                        setting: .outpatient, code: .A, date: CivilDate("2026-01-05")!, author: "u-17"))
    }

    @Test("RFC 4180 quoting: commas, doubled quotes, line breaks inside quotes, quoted header")
    func quoting() {
        let text = "\"id\",\"episode\",patient,institution,unit,setting,code,date,author,recordedAt\n"
            + "\"r-1\",EP-1,P-7f3a,\"HF, Vest\",\"TSB \"\"POL\"\"\",outpatient,D01A,2026-01-05,u-17,\"\"\r\n"
            + "r-2,EP-1,P-7f3a,\"HF\r\nVest\",\"a\nb\",outpatient,D01M,2026-01-06,\"u,17\",\n"
            + "r-3,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01E,2026-01-07,\"u,17\",\n"
        let (events, errors) = parse(text)
        // The record with two quoted line breaks starts on line 3 and is read whole; identifiers
        // may not hold line breaks (control characters), so it is refused there. The next record
        // starts on line 6.
        #expect(errors.map(\.description) == ["line 3: field 'institution': contains the control character U+000D; identifiers may not contain control characters (only tab is allowed)"])
        let regs = registrations(events)
        #expect(regs.map(\.institution) == ["HF, Vest", "HF-Vest"])
        #expect(regs.map(\.unit) == ["TSB \"POL\"", "TSB-POL"])
        #expect(regs.map(\.author) == ["u-17", "u,17"])
        #expect(events.map(\.line) == [2, 6])
        // The raw record handed to forEachLine is the whole multi-line record, terminator excluded.
        var raws: [String] = []
        Array(text.utf8).withUnsafeBytes { buf in
            ingestReader(.csv).forEachLine(buf) { _, raw in raws.append(String(decoding: raw, as: UTF8.self)) }
        }
        #expect(raws[1] == "r-2,EP-1,P-7f3a,\"HF\r\nVest\",\"a\nb\",outpatient,D01M,2026-01-06,\"u,17\",")
    }

    @Test("the writer quotes what needs quoting and the reader reads it back", arguments: [
        "plain", "with,comma", "with \"quotes\"", "line\nbreak", "cr\rlf", "\"", ",", "", "  spaced  ", "æøå 😀",
    ])
    func writerRoundTrip(_ s: String) {
        let reg = Registration(id: "r-\(s)", episode: "EP \(s)", patient: "P-\(s)", institution: "HF\(s)", unit: s.isEmpty ? "u" : s,
                               setting: .inpatient, code: .H("K"), date: CivilDate("2026-02-28")!, author: "a\(s)",
                               recordedAt: Instant(rfc3339: "2026-02-28T12:00:00Z"))
        let line = CSVWriter.line(for: reg)
        let (events, errors) = parse(header + "\n" + line + "\n")
        if s.contains("\n") || s.contains("\r") {
            // Written quoted and read back whole, then refused: identifiers hold no line breaks.
            #expect(errors.map(\.kind) == [.controlCharacter])
            #expect(errors.first?.field == "id")
            #expect(events.isEmpty)
        } else {
            #expect(errors == [])
            #expect(registrations(events) == [reg])
        }
        let needsQuotes = s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")
        #expect(line.hasPrefix("\"") == needsQuotes)
    }

    @Test("CSV writer: exact text")
    func writerText() {
        let reg = Registration(id: "r-1", episode: "EP-1", patient: "P-7f3a", institution: "HF, \"Vest\"", unit: "TSB-POL",
                               setting: .outpatient, code: .C("T"), date: CivilDate("2026-01-20")!, author: "u-17",
                               note: "not in CSV")
        #expect(CSVWriter.line(for: reg) == #"r-1,EP-1,P-7f3a,"HF, ""Vest""",TSB-POL,outpatient,D01CT,2026-01-20,u-17,"#)
    }

    @Test("CSV errors: exact messages and line numbers")
    func errors() {
        let good = "r-1,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,"
        let cases: [(String, String)] = [
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17",
             "line 3: expected 10 fields (\(header)), got 9"),
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,,extra",
             "line 3: expected 10 fields (\(header)), got 11"),
            ("r-2,EP-1,P-7f3a,HF \"Vest\",TSB-POL,outpatient,D01A,2026-01-05,u-17,",
             "line 3: field 'institution': invalid CSV at column 20: a double quote inside an unquoted field (quote the field and double the quote)"),
            ("r-2,EP-1,P-7f3a,\"HF\"Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,",
             "line 3: field 'institution': invalid CSV at column 21: unexpected characters after a closing quote"),
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,\"2026",
             "line 3: field 'recordedAt': invalid CSV at column 65: a quoted field is not closed"),
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01XU,2026-01-05,u-17,",
             #"line 3: field 'code': expected an outcome of event X from code system 9326: G, P, M, A, R, O, N or S, got "D01XU""#),
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-02-30,u-17,",
             #"line 3: field 'date': expected a calendar date YYYY-MM-DD, got "2026-02-30""#),
            ("r-2,EP-1,01017012345,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,",
             "line 3: field 'patient': looks like a national identity number (11 digits); expected a pseudonym, the ledger never stores identity numbers"),
            ("r-2,,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,",
             "line 3: field 'episode': must not be empty"),
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,day,D01A,2026-01-05,u-17,",
             #"line 3: field 'setting': expected "outpatient" or "inpatient", got "day""#),
            ("r-2,EP-1,P-7f3a,HF\u{0}Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,",
             "line 3: field 'institution': contains the control character U+0000; identifiers may not contain control characters (only tab is allowed)"),
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,\"u\n17\",",
             "line 3: field 'author': contains the control character U+000A; identifiers may not contain control characters (only tab is allowed)"),
            ("r-2,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,soon",
             #"line 3: field 'recordedAt': expected an RFC 3339 instant such as 2026-01-05T10:15:00Z, got "soon""#),
        ]
        for (line, message) in cases {
            let (events, errors) = parse(header + "\n" + good + "\n" + line + "\n")
            #expect(errors.map(\.description) == [message])
            #expect(events.map(\.line) == [2])
        }
    }

    @Test("an unterminated quote swallows the rest of the input into one rejected record")
    func unterminatedQuote() {
        let text = header + "\nr-1,EP-1,P-7f3a,\"HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,\nr-2,EP-1,P,HF,U,outpatient,D01A,2026-01-05,u,\n"
        let (events, errors) = parse(text)
        #expect(events.isEmpty)
        #expect(errors.map(\.description) == ["line 2: field 'institution': invalid CSV at column 17: a quoted field is not closed"])
    }

    @Test("a wrong header rejects it and every record after it")
    func wrongHeader() {
        let row = "r-1,EP-1,P-7f3a,HF-Vest,TSB-POL,outpatient,D01A,2026-01-05,u-17,"
        for bad in ["id,episode,patient,institution,unit,setting,code,date,author",
                    "ID,episode,patient,institution,unit,setting,code,date,author,recordedAt",
                    "id,episode,patient,institution,unit,setting,code,date,recordedAt,author",
                    row] {
            let (events, errors) = parse(bad + "\n" + row + "\n\n" + row)
            #expect(events.isEmpty)
            #expect(errors.map(\.description) == [
                "line 1: expected the CSV header \"\(header)\"",
                "line 2: not read, because the CSV header on line 1 is not valid",
                "line 4: not read, because the CSV header on line 1 is not valid",
            ])
        }
        // A byte-order mark and leading blank lines before the header are fine.
        let (events, errors) = parse("\u{FEFF}\n" + header + "\n" + row)
        #expect(errors == [])
        #expect(events.map(\.line) == [3])
        // Only a header: nothing, and no error.
        #expect(parse(header + "\r\n").events.isEmpty && parse(header).errors.isEmpty)
    }
}
