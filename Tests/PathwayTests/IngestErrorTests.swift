import Testing
import Ingest
import Pathway

/// One structural error case: the third line of an input and the exact message it must give.
struct IngestErrorCase: Sendable, CustomTestStringConvertible {
    let line: String
    let message: String
    init(_ line: String, _ message: String) { self.line = line; self.message = message }
    var testDescription: String { message }
}

private let known = "id, episode, patient, institution, unit, setting, code, pathway, event, outcome, date, author, recordedAt, note, emergencyAssessmentDate, voids, corrects, reason"
private let base = ingestBaseLine
private func swapped(_ a: String, _ b: String) -> String { base.replacing(a, with: b, maxReplacements: 1) }
private func module(_ fields: [(String, String?)]) -> String { ingestLine([("code", nil)] + fields) }

private let fieldCases: [IngestErrorCase] = [
    // dates
    .init(ingestLine([("date", "2026-02-30")]), #"line 3: field 'date': expected a calendar date YYYY-MM-DD, got "2026-02-30""#),
    .init(ingestLine([("date", "2025-02-29")]), #"line 3: field 'date': expected a calendar date YYYY-MM-DD, got "2025-02-29""#),
    .init(ingestLine([("date", "5.1.2026")]), #"line 3: field 'date': expected a calendar date YYYY-MM-DD, got "5.1.2026""#),
    .init(ingestLine([("date", "2026-01-05T10:00:00Z")]), #"line 3: field 'date': expected a calendar date YYYY-MM-DD, got "2026-01-05T10:00:00Z""#),
    .init(ingestLine([("date", "2026-03-03")]), "line 3: field 'date': 2026-03-03 is more than one day after today (2026-03-01)"),
    .init(ingestLine([("date", "2030-01-01")]), "line 3: field 'date': 2030-01-01 is more than one day after today (2026-03-01)"),
    // procedure codes
    .init(ingestLine([("code", "D01Q")]), #"line 3: field 'code': expected event letter A, M, D, L, C, U, F, E, X or H after D01, got "D01Q""#),
    .init(ingestLine([("code", "X99")]), #"line 3: field 'code': expected a procedure code: D01, an event letter and the outcome letter if the event takes one (e.g. "D01A", "D01CT"), got "X99""#),
    .init(ingestLine([("code", "D01")]), #"line 3: field 'code': expected a procedure code: D01, an event letter and the outcome letter if the event takes one (e.g. "D01A", "D01CT"), got "D01""#),
    .init(ingestLine([("code", "d01a")]), #"line 3: field 'code': expected a procedure code: D01, an event letter and the outcome letter if the event takes one (e.g. "D01A", "D01CT"), got "d01a""#),
    .init(ingestLine([("code", "D01CTT")]), #"line 3: field 'code': expected a procedure code: D01, an event letter and the outcome letter if the event takes one (e.g. "D01A", "D01CT"), got "D01CTT""#),
    .init(ingestLine([("code", "D01XU")]), #"line 3: field 'code': expected an outcome of event X from code system 9326: G, P, M, A, R, O, N or S, got "D01XU""#),
    .init(ingestLine([("code", "D01CB")]), #"line 3: field 'code': expected an outcome of event C from code system 9323: U, P, T, S, K, A or I, got "D01CB""#),
    .init(ingestLine([("code", "D01HU")]), #"line 3: field 'code': expected an outcome of event H from code system 9328: P, T, S, K, A or I, got "D01HU""#),
    .init(ingestLine([("code", "D01UT")]), #"line 3: field 'code': expected an outcome of event U from code system 9325: B, U or F, got "D01UT""#),
    .init(ingestLine([("code", "D01MT")]), #"line 3: field 'code': event M takes no outcome, got "D01MT""#),
    .init(ingestLine([("code", "D01AA")]), #"line 3: field 'code': event A takes no outcome, got "D01AA""#),
    .init(ingestLine([("code", "D01U")]), #"line 3: field 'code': event U needs an outcome B, U or F (code system 9325), got "D01U""#),
    .init(ingestLine([("code", "D01C")]), #"line 3: field 'code': event C needs an outcome U, P, T, S, K, A or I (code system 9323), got "D01C""#),
    .init(ingestLine([("code", "D01X")]), #"line 3: field 'code': event X needs an outcome G, P, M, A, R, O, N or S (code system 9326), got "D01X""#),
    .init(ingestLine([("code", "")]), "line 3: field 'code': must not be empty"),
    // module spelling
    .init(module([("pathway", "D02"), ("event", "A")]), #"line 3: field 'pathway': expected "D01" (the TSB pathway, code system 9321), got "D02""#),
    .init(module([("pathway", "D01"), ("event", "Q")]), #"line 3: field 'event': expected one event letter A, M, D, L, C, U, F, E, X or H (code system 9322), got "Q""#),
    .init(module([("pathway", "D01"), ("event", "CT")]), #"line 3: field 'event': expected one event letter A, M, D, L, C, U, F, E, X or H (code system 9322), got "CT""#),
    .init(module([("pathway", "D01"), ("event", "M"), ("outcome", "T")]), #"line 3: field 'outcome': event M takes no outcome, got "T""#),
    .init(module([("pathway", "D01"), ("event", "X"), ("outcome", "U")]), #"line 3: field 'outcome': expected an outcome of event X from code system 9326: G, P, M, A, R, O, N or S, got "U""#),
    .init(module([("pathway", "D01"), ("event", "X")]), "line 3: field 'outcome': event X needs an outcome G, P, M, A, R, O, N or S (code system 9326), got none"),
    .init(module([("pathway", "D01"), ("event", "H"), ("outcome", "")]), "line 3: field 'outcome': event H needs an outcome P, T, S, K, A or I (code system 9328), got none"),
    .init(module([("pathway", "D01"), ("event", "C"), ("outcome", "TT")]), #"line 3: field 'outcome': expected one outcome letter U, P, T, S, K, A or I (code system 9323), got "TT""#),
    .init(module([("pathway", "D01"), ("event", "C"), ("outcome", "t")]), #"line 3: field 'outcome': expected an outcome of event C from code system 9323: U, P, T, S, K, A or I, got "t""#),
    .init(module([("pathway", "D01")]), "line 3: field 'event': required field is missing"),
    .init(module([("event", "A")]), "line 3: field 'pathway': required field is missing"),
    .init(module([("outcome", "T")]), "line 3: field 'pathway': required field is missing"),
    // both spellings, or neither
    .init(ingestLine([("pathway", "D01"), ("event", "A")]), #"line 3: field 'code': give either 'code' (procedure spelling, e.g. "D01CT") or 'pathway', 'event' and 'outcome' (module spelling), not both"#),
    .init(ingestLine([("outcome", "T")]), #"line 3: field 'code': give either 'code' (procedure spelling, e.g. "D01CT") or 'pathway', 'event' and 'outcome' (module spelling), not both"#),
    .init(ingestLine([("code", nil)]), #"line 3: field 'code': required field is missing (give 'code', e.g. "D01CT", or 'pathway', 'event' and 'outcome')"#),
    // missing, empty and blank required fields
    .init(ingestLine([("id", nil)]), "line 3: field 'id': required field is missing"),
    .init(ingestLine([("episode", nil)]), "line 3: field 'episode': required field is missing"),
    .init(ingestLine([("patient", nil)]), "line 3: field 'patient': required field is missing"),
    .init(ingestLine([("institution", nil)]), "line 3: field 'institution': required field is missing"),
    .init(ingestLine([("unit", nil)]), "line 3: field 'unit': required field is missing"),
    .init(ingestLine([("setting", nil)]), "line 3: field 'setting': required field is missing"),
    .init(ingestLine([("date", nil)]), "line 3: field 'date': required field is missing"),
    .init(ingestLine([("author", nil)]), "line 3: field 'author': required field is missing"),
    .init(ingestLine([("id", "")]), "line 3: field 'id': must not be empty"),
    .init(ingestLine([("episode", "")]), "line 3: field 'episode': must not be empty"),
    .init(ingestLine([("patient", "")]), "line 3: field 'patient': must not be empty"),
    .init(ingestLine([("date", "")]), "line 3: field 'date': must not be empty"),
    .init(ingestLine([("author", "  ")]), "line 3: field 'author': must not be blank"),
    .init("{}", "line 3: field 'id': required field is missing"),
    // ids and episodes are store keys: at most 511 bytes
    .init(ingestLine([("id", String(repeating: "i", count: 512))]), "line 3: field 'id': is 512 bytes long; at most 511 bytes are allowed (it is a key in the store)"),
    .init(ingestLine([("episode", String(repeating: "ø", count: 256))]), "line 3: field 'episode': is 512 bytes long; at most 511 bytes are allowed (it is a key in the store)"),
    .init(#"{"id":"x","voids":"\#(String(repeating: "v", count: 600))","reason":"r","author":"a"}"#, "line 3: field 'voids': is 600 bytes long; at most 511 bytes are allowed (it is a key in the store)"),
    .init(ingestLine([("corrects", String(repeating: "c", count: 1000)), ("reason", "x")]), "line 3: field 'corrects': is 1000 bytes long; at most 511 bytes are allowed (it is a key in the store)"),
    // the first problem in field order is the one reported
    .init(ingestLine([("episode", nil), ("date", "bad")]), "line 3: field 'episode': required field is missing"),
    .init(ingestLine([("setting", "day"), ("code", "D01Q")]), #"line 3: field 'setting': expected "outpatient" or "inpatient", got "day""#),
    // settings
    .init(ingestLine([("setting", "Outpatient")]), #"line 3: field 'setting': expected "outpatient" or "inpatient", got "Outpatient""#),
    .init(ingestLine([("setting", "døgn")]), #"line 3: field 'setting': expected "outpatient" or "inpatient", got "døgn""#),
    // identity numbers: the value is never echoed
    .init(ingestLine([("patient", "01017012345")]), "line 3: field 'patient': looks like a national identity number (11 digits); expected a pseudonym, the ledger never stores identity numbers"),
    .init(ingestLine([("patient", "010170 12345")]), "line 3: field 'patient': looks like a national identity number (11 digits); expected a pseudonym, the ledger never stores identity numbers"),
    .init(ingestLine([("patient", "010170-12345")]), "line 3: field 'patient': looks like a national identity number (11 digits); expected a pseudonym, the ledger never stores identity numbers"),
    .init(ingestLine([("patient", " 99999999999 ")]), "line 3: field 'patient': looks like a national identity number (11 digits); expected a pseudonym, the ledger never stores identity numbers"),
    .init(ingestLine([("setting", "01017012345")]), "line 3: field 'setting': expected \"outpatient\" or \"inpatient\", got a value that is not shown (it looks like an identity number)"),
    .init(ingestLine([("date", "pnr 010170-12345")]), "line 3: field 'date': expected a calendar date YYYY-MM-DD, got a value that is not shown (it looks like an identity number)"),
    // control characters: none but tab in an identifier, none but tab and line breaks in free text
    .init(ingestLine([("author", "u\u{0}v")]), "line 3: field 'author': contains the control character U+0000; identifiers may not contain control characters (only tab is allowed)"),
    .init(ingestLine([("patient", "P-\u{1B}[2J")]), "line 3: field 'patient': contains the control character U+001B; identifiers may not contain control characters (only tab is allowed)"),
    .init(ingestLine([("id", "r-1\u{7F}")]), "line 3: field 'id': contains the control character U+007F; identifiers may not contain control characters (only tab is allowed)"),
    .init(ingestLine([("episode", "EP\n1")]), "line 3: field 'episode': contains the control character U+000A; identifiers may not contain control characters (only tab is allowed)"),
    .init(ingestLine([("institution", "HF\r")]), "line 3: field 'institution': contains the control character U+000D; identifiers may not contain control characters (only tab is allowed)"),
    .init(ingestLine([("unit", "\u{1}")]), "line 3: field 'unit': contains the control character U+0001; identifiers may not contain control characters (only tab is allowed)"),
    .init(ingestLine([("corrects", "r-0\u{0}"), ("reason", "x")]), "line 3: field 'corrects': contains the control character U+0000; identifiers may not contain control characters (only tab is allowed)"),
    .init(#"{"id":"x","voids":"r\u0001","reason":"r","author":"a"}"#, "line 3: field 'voids': contains the control character U+0001; identifiers may not contain control characters (only tab is allowed)"),
    .init(ingestLine([("note", "a\u{0}b")]), "line 3: field 'note': contains the control character U+0000; free text may contain tab, line feed and carriage return but no other control character"),
    .init(#"{"id":"x","voids":"r-1","reason":"feil\u001b","author":"a"}"#, "line 3: field 'reason': contains the control character U+001B; free text may contain tab, line feed and carriage return but no other control character"),
    // an identity number is refused before a control character is looked for
    .init(ingestLine([("patient", "P-15059010023"), ("author", "u\u{0}")]), "line 3: field 'patient': contains what looks like a national identity number (11 digits with a valid birth date and check digits); identity numbers are never stored — use the system's own ids or a pseudonym"),
    // recordedAt
    .init(ingestLine([("recordedAt", "yesterday")]), #"line 3: field 'recordedAt': expected an RFC 3339 instant such as 2026-01-05T10:15:00Z, got "yesterday""#),
    .init(ingestLine([("recordedAt", "2026-01-05T25:00:00Z")]), #"line 3: field 'recordedAt': expected an RFC 3339 instant such as 2026-01-05T10:15:00Z, got "2026-01-05T25:00:00Z""#),
    // emergency assessment date
    .init(ingestLine([("code", "D01M"), ("emergencyAssessmentDate", "2026-01-01")]), "line 3: field 'emergencyAssessmentDate': only allowed on an A (pathway start) code, not on D01M"),
    .init(ingestLine([("emergencyAssessmentDate", "2026-01-06")]), "line 3: field 'emergencyAssessmentDate': 2026-01-06 is after the pathway start date 2026-01-05; the emergency assessment comes first"),
    .init(ingestLine([("emergencyAssessmentDate", "2026-13-01")]), #"line 3: field 'emergencyAssessmentDate': expected a calendar date YYYY-MM-DD, got "2026-13-01""#),
    // long values are cut when quoted
    .init(ingestLine([("setting", String(repeating: "x", count: 50))]), "line 3: field 'setting': expected \"outpatient\" or \"inpatient\", got \"\(String(repeating: "x", count: 40))…\""),
]

private let shapeCases: [IngestErrorCase] = [
    // unknown and repeated keys
    .init(ingestLine([("colour", "red")]), "line 3: field 'colour': unknown field; expected only \(known)"),
    .init(ingestLine([("Date", "2026-01-05")]), "line 3: field 'Date': unknown field; expected only \(known)"),
    .init(ingestLine([("01017012345", "x")]), "line 3: unknown field (its name is not shown: it looks like an identity number); expected only \(known)"),
    .init(swapped(#""author":"u-17"}"#, #""author":"u-17","author":"u-18"}"#), "line 3: field 'author': appears more than once in the object"),
    .init(swapped(#""author":"u-17"}"#, #""author":"u-17","\u0061uthor":"u-18"}"#), "line 3: field 'author': appears more than once in the object"),
    // values that are not strings
    .init(swapped(#""id":"r-1""#, #""id":1"#), "line 3: field 'id': expected a string value, got a number"),
    .init(swapped(#""id":"r-1""#, #""id":-1.5e3"#), "line 3: field 'id': expected a string value, got a number"),
    .init(swapped(#""author":"u-17""#, #""author":null"#), "line 3: field 'author': expected a string value, got null"),
    .init(swapped(#""author":"u-17""#, #""author":true"#), "line 3: field 'author': expected a string value, got a boolean"),
    .init(swapped(#""author":"u-17""#, #""author":{"name":"u-17"}"#), "line 3: field 'author': expected a string value, got an object"),
    .init(swapped(#""author":"u-17""#, #""author":["u-17"]"#), "line 3: field 'author': expected a string value, got an array"),
    // JSON syntax
    .init("not json", "line 3: invalid JSON at column 1: expected '{' to open an object"),
    .init(#"["r-1"]"#, "line 3: invalid JSON at column 1: expected '{' to open an object"),
    .init(#""r-1""#, "line 3: invalid JSON at column 1: expected '{' to open an object"),
    .init(#"{"id":"r-1",}"#, "line 3: invalid JSON at column 13: expected a field name in double quotes"),
    .init(#"{id:"r-1"}"#, "line 3: invalid JSON at column 2: expected a field name in double quotes"),
    .init(#"{"id" "r-1"}"#, "line 3: invalid JSON at column 7: expected ':' after a field name"),
    .init(#"{"id":}"#, "line 3: invalid JSON at column 7: expected a value"),
    .init(#"{"id":'r-1'}"#, "line 3: invalid JSON at column 7: expected a value"),
    .init(#"{"id":"r-1""#, "line 3: invalid JSON at column 12: expected ',' or '}'"),
    .init(#"{"id":"r-1" "x"}"#, "line 3: invalid JSON at column 13: expected ',' or '}'"),
    .init(#"{"id":"r-1"#, "line 3: invalid JSON at column 7: unterminated string"),
    .init(#"{"id":"r-1\"}"#, "line 3: invalid JSON at column 7: unterminated string"),
    .init(#"{"id":"r\x"}"#, "line 3: invalid JSON at column 9: invalid escape sequence in a string"),
    .init("{\"id\":\"r\t1\"}", "line 3: invalid JSON at column 9: control character in a string (it must be escaped)"),
    .init(#"{"id":"\ud800"}"#, "line 3: invalid JSON at column 8: invalid \\u escape (a high surrogate must be followed by a low surrogate)"),
    .init(#"{"id":"\ud800\u0041"}"#, "line 3: invalid JSON at column 8: invalid \\u escape (a high surrogate must be followed by a low surrogate)"),
    .init(#"{"id":"\udc00x"}"#, "line 3: invalid JSON at column 8: invalid \\u escape (a low surrogate without a high surrogate)"),
    .init(#"{"id":"\u12g4"}"#, "line 3: invalid JSON at column 8: invalid \\u escape (expected four hex digits)"),
    .init(#"{"id":"\u12"}"#, "line 3: invalid JSON at column 8: invalid \\u escape (expected four hex digits)"),
    .init(#"{"id":"r-1"} x"#, "line 3: invalid JSON at column 14: unexpected characters after the closing '}'"),
    .init(#"{"id":"r-1"}{"id":"r-2"}"#, "line 3: invalid JSON at column 13: unexpected characters after the closing '}'"),
    // voids / corrects / reason combined wrongly
    .init(#"{"id":"x","voids":"r-1","corrects":"r-2","reason":"r","author":"a"}"#, "line 3: field 'corrects': cannot be combined with 'voids': a line either voids or corrects an event"),
    .init(#"{"id":"x","voids":"r-1","reason":"r","author":"a","code":"D01A"}"#, "line 3: field 'code': not allowed on a voiding line (a voiding has only id, voids, reason, author and recordedAt)"),
    .init(#"{"id":"x","voids":"r-1","reason":"r","author":"a","episode":"EP-1"}"#, "line 3: field 'episode': not allowed on a voiding line (a voiding has only id, voids, reason, author and recordedAt)"),
    .init(ingestLine([("reason", "typo")]), "line 3: field 'reason': only allowed together with 'voids' or 'corrects'"),
    .init(#"{"id":"x","voids":"x","reason":"r","author":"a"}"#, "line 3: field 'voids': must name another event, not the line's own id"),
    .init(#"{"id":"x","voids":"","reason":"r","author":"a"}"#, "line 3: field 'voids': must not be empty"),
    .init(#"{"id":"x","voids":"r-1","author":"a"}"#, "line 3: field 'reason': required field is missing"),
    .init(#"{"id":"x","voids":"r-1","reason":"r"}"#, "line 3: field 'author': required field is missing"),
    .init(#"{"id":"x","voids":"r-1","reason":"r","author":"a","recordedAt":"now"}"#, #"line 3: field 'recordedAt': expected an RFC 3339 instant such as 2026-01-05T10:15:00Z, got "now""#),
    .init(ingestLine([("corrects", "r-0")]), "line 3: field 'reason': required field is missing"),
    .init(ingestLine([("id", "c-1"), ("corrects", "c-1"), ("reason", "x")]), "line 3: field 'corrects': must name another event, not the line's own id"),
    .init(ingestLine([("corrects", "r-9"), ("reason", "wrong unit"), ("unit", nil)]), "line 3: field 'unit': required field is missing"),
    .init(ingestLine([("corrects", "r-9"), ("reason", "wrong date"), ("date", "2026-02-30")]), #"line 3: field 'date': expected a calendar date YYYY-MM-DD, got "2026-02-30""#),
]

@Suite("Ingest: structural errors")
struct IngestErrorTests {
    @Test("field errors: exact message and line number", arguments: fieldCases)
    func fieldError(_ c: IngestErrorCase) { check(c) }

    @Test("shape errors: exact message and line number", arguments: shapeCases)
    func shapeError(_ c: IngestErrorCase) { check(c) }

    private func check(_ c: IngestErrorCase, sourceLocation: SourceLocation = #_sourceLocation) {
        let (events, errors) = ingestParseThird(c.line)
        #expect(errors.map(\.description) == [c.message], sourceLocation: sourceLocation)
        #expect(errors.first?.line == 3, sourceLocation: sourceLocation)
        #expect(events.map(\.line) == [1, 2], sourceLocation: sourceLocation)
    }

    @Test("IngestError carries line, field, kind and message separately")
    func errorParts() {
        let (_, errors) = ingestParseThird(ingestLine([("date", "2026-02-30")]))
        #expect(errors == [IngestError(line: 3, field: "date", kind: .invalidDate,
                                       message: #"expected a calendar date YYYY-MM-DD, got "2026-02-30""#)])
        let (_, json) = ingestParseThird("nope")
        #expect(json.first?.field == nil)
        #expect(json.first?.kind == .invalidJSON)
        #expect(ingestParseThird(ingestLine([("patient", "01017012345")])).errors.first?.kind == .identityNumber)
        #expect(ingestParseThird(ingestLine([("code", "D01XU")])).errors.first?.kind == .invalidOutcome)
        #expect(ingestParseThird(ingestLine([("code", "D01Q")])).errors.first?.kind == .invalidCode)
        #expect(ingestParseThird(ingestLine([("date", "2027-01-01")])).errors.first?.kind == .futureDate)
        // recordedAt: an instant, not a bare date, and not in the future either.
        let bare = ingestParseThird(ingestLine([("recordedAt", "2026-01-05")])).errors.first
        #expect(bare?.field == "recordedAt" && bare?.kind == .invalidInstant, "\(String(describing: bare))")
        let future = ingestParseThird(ingestLine([("recordedAt", "2099-01-05T10:00:00Z")])).errors.first
        #expect(future?.field == "recordedAt" && future?.kind == .futureDate, "\(String(describing: future))")
        #expect(future?.message.contains("recorded in the future") == true)
        #expect(ingestParseThird(ingestLine([("recordedAt", "2026-01-05T10:00:00+01:00")])).errors.isEmpty)
    }

    @Test("no message ever contains an identity-number-shaped patient value")
    func privacy() {
        let values = ["01017012345", "010170 12345", "010170-12345", "41017012345", "71017012345"]
        for v in values {
            for line in [ingestLine([("patient", v)]), ingestLine([("patient", v), ("episode", nil)]),
                         ingestLine([("patient", v), ("setting", v)]), ingestLine([(v, v)])] {
                let (events, errors) = ingestParseThird(line)
                #expect(events.count == 2)
                #expect(errors.count == 1)
                for e in errors {
                    #expect(!e.description.contains(v))
                    #expect(!e.description.contains("12345"))
                }
            }
        }
        // Pseudonyms with digits are fine: only an 11-digit value (with an optional separator) is refused.
        for ok in ["1234567890", "123456789012", "P-01017012345", "0101701234a", "010170--12345"] {
            let (events, errors) = ingestParseThird(ingestLine([("patient", ok)]))
            #expect(errors == [], "\(ok)")
            #expect(events.count == 3)
        }
    }

    @Test("tab is allowed in every text field, line feed and carriage return in free text")
    func allowedControlCharacters() {
        let line = ingestLine([("id", "r\t3"), ("author", "u\t17"), ("note", "line 1\r\nline 2\tend")])
        let (events, errors) = ingestParseThird(line)
        #expect(errors == [])
        guard case .registration(let r)? = events.last?.event else { Issue.record("no registration"); return }
        #expect(r.id == "r\t3")
        #expect(r.note == "line 1\r\nline 2\tend")
        #expect(ingestParseThird(ingestLine([("note", "x\u{7F}")])).errors.first?.kind == .controlCharacter)
    }

    @Test("invalid UTF-8 is reported with its column")
    func invalidUTF8() {
        let prefix = Array(#"{"id":"r-1","note":"a"#.utf8)
        let suffix = Array(#""}"#.utf8)
        let bads: [[UInt8]] = [[0xFF], [0xC3], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                               [0xF0, 0x9F, 0x98], [0x80]]
        for bad in bads {
            let bytes = Array((ingestBaseLine + "\n\n").utf8) + prefix + bad + suffix + [0x0A]
            let (events, errors) = ingestReader().parse(bytes)
            #expect(events.count == 1)
            #expect(errors.map(\.description) == ["line 3: invalid UTF-8 at column \(prefix.count + 1)"], "\(bad)")
        }
        // Well-formed multi-byte text is fine anywhere in a value.
        let good = ingestLine([("note", "æøå Å € 😀 \u{10FFFF}")])
        #expect(ingestReader().parse(good).errors == [])
        // Outside a string, even well-formed non-ASCII is a JSON error.
        #expect(ingestParseThird("{\"id\":\"r-1\"}é").errors.map(\.description)
            == ["line 3: invalid JSON at column 13: unexpected characters after the closing '}'"])
    }

    @Test("a line of exactly 64 KiB is read; one byte more is rejected")
    func lineLength() {
        let shell = ingestLine([("note", "")])
        let pad = IngestOptions.maxLineBytes - shell.utf8.count
        let exact = ingestLine([("note", String(repeating: "n", count: pad))])
        #expect(exact.utf8.count == 65536)
        let (events, errors) = ingestParseThird(exact + "\r")
        #expect(errors == [])
        #expect(events.count == 3)
        let over = ingestLine([("note", String(repeating: "n", count: pad + 1))])
        let (events2, errors2) = ingestParseThird(over)
        #expect(events2.count == 2)
        #expect(errors2.map(\.description) == ["line 3: line is longer than the limit of 65536 bytes (64 KiB)"])
        #expect(errors2.first?.kind == .lineTooLong)
        // An over-long garbage line is also just this error, and the next line is read normally.
        let (events3, errors3) = ingestReader().parse(String(repeating: "\u{1}", count: 70_000) + "\n" + ingestBaseLine)
        #expect(errors3.map(\.description) == ["line 1: line is longer than the limit of 65536 bytes (64 KiB)"])
        #expect(events3.map(\.line) == [2])
    }

    @Test("every bad line of a file is listed with its own line number")
    func manyBadLines() {
        let lines = [
            ingestBaseLine,
            ingestLine([("id", "r-2"), ("date", "2026-02-30")]),
            "",
            ingestLine([("id", "r-3"), ("code", "D01XU")]),
            ingestLine([("id", "r-4"), ("patient", "01017012345")]),
            ingestLine([("id", "r-5")]),
            "{",
        ]
        let (events, errors) = ingestReader().parse(lines.joined(separator: "\n"))
        #expect(events.map(\.line) == [1, 6])
        #expect(errors.map(\.line) == [2, 4, 5, 7])
    }
}

@Suite("Ingest: identity-number shape")
struct IngestIdentityNumberTests {
    @Test("11 digits, optionally split after six by one space or dash, surrounding blanks ignored")
    func shapes() {
        for yes in ["01017012345", "010170 12345", "010170-12345", " 01017012345\t", "00000000000"] {
            #expect(IdentityNumber.isShaped(yes), "\(yes)")
        }
        for no in ["", "0101701234", "010170123456", "0101701234x", "01017 012345", "010170  12345", "010170_12345",
                   "P-01017012345", "０１０１７０１２３４５"] {
            #expect(!IdentityNumber.isShaped(no), "\(no)")
        }
    }
}
