import Testing
import Ingest
import Pathway

@Suite("Ingest: NDJSON reading and writing")
struct IngestRoundTripTests {
    @Test("the code list has every TSB code once")
    func codeCount() {
        // A M D L F E stand alone; C carries one of 7 decisions (seed 001: never a bare C), U one of 3
        // activities, X one of 8 ends, H one of 6 help-needed outcomes.
        #expect(PathwayCode.all.count == 30)
        #expect(Set(PathwayCode.all).count == 30)
    }

    @Test("every code, in both spellings, round-trips through NDJSONWriter and IngestReader", arguments: PathwayCode.all)
    func everyCodeRoundTrips(code: PathwayCode) throws {
        let reg = ingestRegistration(code)
        let procedure = NDJSONWriter.line(for: .registration(reg), spelling: .procedure)
        let module = NDJSONWriter.line(for: .registration(reg), spelling: .module)
        #expect(procedure.contains(#""code":"\#(code.procedureCode)""#))
        #expect(!procedure.contains(#""pathway""#))
        let outcomePart = code.outcome.map { #","outcome":"\#($0)""# } ?? ""
        #expect(module.contains(#""pathway":"D01","event":"\#(code.event.letter)"\#(outcomePart),"date""#))
        #expect(!module.contains(#""code""#))
        let (events, errors) = ingestReader().parse(procedure + "\n" + module + "\n")
        #expect(errors == [])
        #expect(events.map(\.event) == [.registration(reg), .registration(reg)])
        #expect(events.map(\.line) == [1, 2])
    }

    @Test("hand-written lines in both spellings give the same code", arguments: PathwayCode.all)
    func handWrittenSpellings(code: PathwayCode) {
        let text = String(code.procedureCode)
        let event = String(text.dropFirst(3).prefix(1))
        let outcome = text.count == 5 ? String(text.suffix(1)) : nil
        var module: [(String, String?)] = [("code", nil), ("pathway", "D01"), ("event", event)]
        if let outcome { module.append(("outcome", outcome)) }
        let lines = [ingestLine([("code", text)]), ingestLine(module)]
        let (events, errors) = ingestReader().parse(lines.joined(separator: "\n"))
        #expect(errors == [])
        for e in events {
            guard case .registration(let r) = e.event else { Issue.record("not a registration"); continue }
            #expect(r.code == code)
        }
        #expect(events.count == 2)
    }

    @Test("the issue's example lines read as written")
    func issueExample() {
        let text = """
        {"id":"r-1","episode":"EP-1","patient":"P-7f3a","institution":"HF-Vest","unit":"TSB-POL","setting":"outpatient","code":"D01A","date":"2026-01-05","author":"u-17"}
        {"id":"r-2","episode":"EP-1","patient":"P-7f3a","institution":"HF-Vest","unit":"TSB-POL","setting":"outpatient","pathway":"D01","event":"C","outcome":"T","date":"2026-01-20","author":"u-17"}
        {"id":"r-9","voids":"r-3","reason":"registered on the wrong patient","author":"u-2"}
        {"id":"r-10","corrects":"r-4","reason":"wrong date","episode":"EP-1","patient":"P-7f3a","institution":"HF-Vest","unit":"TSB-POL","setting":"outpatient","code":"D01M","date":"2026-01-08","author":"u-17"}
        """
        let (events, errors) = ingestReader().parse(text)
        #expect(errors == [])
        let d = { (s: String) in CivilDate(s)! }
        let r1 = Registration(id: "r-1", episode: "EP-1", patient: "P-7f3a", institution: "HF-Vest", unit: "TSB-POL",
                              setting: .outpatient, code: .A, date: d("2026-01-05"), author: "u-17")
        var r2 = r1; r2.id = "r-2"; r2.code = .C("T"); r2.date = d("2026-01-20")
        var r10 = r1; r10.id = "r-10"; r10.code = .M; r10.date = d("2026-01-08")
        #expect(events.map(\.event) == [
            .registration(r1), .registration(r2),
            .voiding(Voiding(id: "r-9", target: "r-3", reason: "registered on the wrong patient", author: "u-2")),
            .correction(Correction(target: "r-4", reason: "wrong date", replacement: r10)),
        ])
        #expect(events.map(\.line) == [1, 2, 3, 4])
        // The writer gives back the same text (procedure spelling for r-1, module for r-2).
        let lines = text.split(separator: "\n").map(String.init)
        #expect(NDJSONWriter.line(for: events[0].event) == lines[0])
        #expect(NDJSONWriter.line(for: events[1].event, spelling: .module) == lines[1])
        #expect(NDJSONWriter.line(for: events[2].event) == lines[2])
        #expect(NDJSONWriter.line(for: events[3].event) == lines[3])
        // byteRange points at each line's bytes, terminator excluded.
        let bytes = Array(text.utf8)
        for (e, line) in zip(events, lines) {
            #expect(String(decoding: bytes[e.byteRange], as: UTF8.self) == line)
        }
    }

    @Test("optional fields are written in order after author, and omitted when absent")
    func optionalFields() {
        let reg = ingestRegistration(.A, note: "ringt \"Kari\"\\ i går\n\tæøå 😀 \u{01}",
                                     recordedAt: Instant(rfc3339: "2026-01-20T09:30:00.25+01:00"),
                                     emergency: CivilDate(year: 2026, month: 1, day: 10))
        let line = NDJSONWriter.line(for: .registration(reg))
        #expect(line == #"{"id":"r-1","episode":"EP-1","patient":"P-7f3a","institution":"HF-Vest","unit":"TSB-POL","setting":"outpatient","code":"D01A","date":"2026-01-20","author":"u-17","recordedAt":"2026-01-20T08:30:00.25Z","note":"ringt \"Kari\"\\ i går\n\tæøå 😀 \u0001","emergencyAssessmentDate":"2026-01-10"}"#)
        // The writer escapes every control character; the reader refuses those free text may not
        // hold (all but tab, line feed and carriage return).
        #expect(ingestReader().parse(line).errors.map(\.kind) == [.controlCharacter])
        let readable = ingestRegistration(.A, note: "ringt \"Kari\"\\ i går\n\tæøå 😀\r",
                                          recordedAt: Instant(rfc3339: "2026-01-20T09:30:00.25+01:00"),
                                          emergency: CivilDate(year: 2026, month: 1, day: 10))
        let (events, errors) = ingestReader().parse(NDJSONWriter.line(for: .registration(readable)))
        #expect(errors == [])
        #expect(events.first?.event == .registration(readable))

        let voiding = LedgerEvent.voiding(Voiding(id: "v-1", target: "r-1", reason: "dup", author: "u-2",
                                                  recordedAt: Instant(rfc3339: "2026-01-21T00:00:00Z")))
        let correction = LedgerEvent.correction(Correction(target: "r-1", reason: "wrong code",
                                                           replacement: ingestRegistration(.X("G"), id: "c-1")))
        let vLine = NDJSONWriter.line(for: voiding)
        let cLine = NDJSONWriter.line(for: correction, spelling: .module)
        #expect(vLine == #"{"id":"v-1","voids":"r-1","reason":"dup","author":"u-2","recordedAt":"2026-01-21T00:00:00Z"}"#)
        #expect(cLine.hasPrefix(#"{"id":"c-1","corrects":"r-1","reason":"wrong code","episode":"EP-1","#))
        #expect(ingestReader().parse(vLine + "\n" + cLine).events.map(\.event) == [voiding, correction])
    }

    @Test("JSON escapes decode, including \\u escapes and surrogate pairs")
    func escapes() {
        let line = #"{"id":"r\u002d1","episode":"EP\/1","patient":"P-\u00e6\u00F8","institution":"HF \"Vest\"","unit":"a\\b\tc","setting":"out\u0070atient","code":"D01\u0041","date":"2026-01-05","author":"u-\ud83d\ude00","note":"l1\nl2\r\u0009"}"#
        let (events, errors) = ingestReader().parse(line)
        #expect(errors == [])
        guard case .registration(let r)? = events.first?.event else { Issue.record("no registration"); return }
        #expect(r.id == "r-1")
        #expect(r.episode == "EP/1")
        #expect(r.patient == "P-æø")
        #expect(r.institution == "HF \"Vest\"")
        #expect(r.unit == "a\\b\tc")
        #expect(r.setting == .outpatient)
        #expect(r.code == .A)
        #expect(r.author == "u-😀")
        #expect(r.note == "l1\nl2\r\t")
        // \b, \f and \u00XX decode to control characters too, which no field but free text (tab,
        // line feed, carriage return) takes: the refusal names the decoded character.
        for (escape, shown) in [(#"\b"#, "U+0008"), (#"\f"#, "U+000C"), (#"\u0000"#, "U+0000"), (#"\u001F"#, "U+001F"), (#"\n"#, "U+000A")] {
            let l = ingestBaseLine.replacing(#""author":"u-17""#, with: #""author":"u"# + escape + #"""#, maxReplacements: 1)
            #expect(ingestReader().parse(l).errors.map(\.description)
                    == ["line 1: field 'author': contains the control character \(shown); identifiers may not contain control characters (only tab is allowed)"])
        }
        // Escaped keys name the same fields.
        let escapedKey = ingestBaseLine.replacing(#""author""#, with: #""\u0061uthor""#, maxReplacements: 1)
        #expect(ingestReader().parse(escapedKey).errors == [])
    }

    @Test("blank lines are skipped but counted; CRLF, whitespace and a byte-order mark are accepted")
    func layout() {
        let spaced = #"  { "id" : "r-2" , "episode":"EP-1","patient":"P-7f3a","institution":"HF-Vest","unit":"TSB-POL","setting":"inpatient","code":"D01M","date":"2026-01-06","author":"u-17" }  "#
        let text = "\u{FEFF}" + ingestBaseLine + "\r\n\r\n   \n\t\n" + spaced + "\r\n\n"
        let (events, errors) = ingestReader().parse(text)
        #expect(errors == [])
        #expect(events.map(\.line) == [1, 5])
        #expect(events.map(\.event.id) == ["r-1", "r-2"])
        // The last line needs no terminator.
        #expect(ingestReader().parse(ingestBaseLine).events.count == 1)
        #expect(ingestReader().parse("").events.isEmpty)
        #expect(ingestReader().parse("\n\n").errors.isEmpty)
    }

    @Test("an id and an episode of exactly 511 bytes are accepted")
    func keyLengthBoundary() {
        let line = ingestLine([("id", String(repeating: "i", count: 511)), ("episode", String(repeating: "e", count: 509) + "ø")])
        let (events, errors) = ingestReader().parse(line)
        #expect(errors == [])
        #expect(events.first?.event.id.utf8.count == 511)
    }

    @Test("a date one day after today is accepted, two days after is not")
    func futureBoundary() {
        let (ok, okErrors) = ingestParseThird(ingestLine([("date", "2026-03-02")]))
        #expect(okErrors == [])
        #expect(ok.count == 3)
        let (_, errors) = ingestParseThird(ingestLine([("date", "2026-03-03")]))
        #expect(errors.map(\.description) == ["line 3: field 'date': 2026-03-03 is more than one day after today (2026-03-01)"])
    }

    @Test("empty optional fields count as absent; emergencyAssessmentDate on an A is kept")
    func emptyOptionals() {
        let line = ingestLine([("recordedAt", ""), ("note", ""), ("emergencyAssessmentDate", "2026-01-05")])
        let (events, errors) = ingestParseThird(line)
        #expect(errors == [])
        guard case .registration(let r)? = events.last?.event else { Issue.record("no registration"); return }
        #expect(r.recordedAt == nil && r.note == nil)
        #expect(r.emergencyAssessmentDate == CivilDate(year: 2026, month: 1, day: 5))
        // An empty outcome is no outcome: fine for an event that takes none, an error for C.
        let m = ingestLine([("code", nil), ("pathway", "D01"), ("event", "M"), ("outcome", "")])
        let c = ingestLine([("code", nil), ("pathway", "D01"), ("event", "C"), ("outcome", "")])
        let parsed = ingestReader().parse(m + "\n" + c)
        #expect(parsed.events.map(\.line) == [1])
        #expect(parsed.errors.map(\.description)
            == ["line 2: field 'outcome': event C needs an outcome U, P, T, S, K, A or I (code system 9323), got none"])
    }

    @Test("read() lists errors up to the limit and counts the rest")
    func listingLimit() {
        var text = ingestBaseLine + "\n"
        for _ in 0..<5 { text += "nonsense\n" }
        var options = IngestOptions(today: ingestToday)
        options.maxListedErrors = 2
        let result = Array(text.utf8).withUnsafeBytes { IngestReader(format: .ndjson, options: options).read($0) }
        #expect(result.events.count == 1)
        #expect(result.errorCount == 5)
        #expect(result.lineCount == 6)
        #expect(result.errors.map(\.line) == [2, 3])
        #expect(result.listing == [
            "line 2: invalid JSON at column 1: expected '{' to open an object",
            "line 3: invalid JSON at column 1: expected '{' to open an object",
            "… and 3 more lines with structural errors",
        ])
    }
}
