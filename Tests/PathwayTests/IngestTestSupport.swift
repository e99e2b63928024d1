import Ingest
import Pathway
import TestSupport

// Shared helpers for the Ingest* test files (names prefixed to stay clear of other tests in this target).

/// The ledger "today" the ingest tests use.
let ingestToday = CivilDate(year: 2026, month: 3, day: 1)!

func ingestReader(_ format: InputFormat = .ndjson, today: CivilDate = ingestToday) -> IngestReader {
    IngestReader(format: format, options: IngestOptions(today: today))
}

/// The first registration of the issue's example, field by field, in the format's key order.
let ingestBaseFields: [(String, String)] = [
    ("id", "r-1"), ("episode", "EP-1"), ("patient", "P-7f3a"), ("institution", "HF-Vest"), ("unit", "TSB-POL"),
    ("setting", "outpatient"), ("code", "D01A"), ("date", "2026-01-05"), ("author", "u-17"),
]

let ingestBaseLine = #"{"id":"r-1","episode":"EP-1","patient":"P-7f3a","institution":"HF-Vest","unit":"TSB-POL","setting":"outpatient","code":"D01A","date":"2026-01-05","author":"u-17"}"#

/// A JSON object line from key/value pairs, in the given order (values escaped by the writer's escaper).
func ingestJSONLine(_ fields: [(String, String)]) -> String {
    var out: [UInt8] = [UInt8(ascii: "{")]
    for (i, (k, v)) in fields.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        NDJSONWriter.appendJSONString(k, to: &out)
        out.append(UInt8(ascii: ":"))
        NDJSONWriter.appendJSONString(v, to: &out)
    }
    out.append(UInt8(ascii: "}"))
    return String(decoding: out, as: UTF8.self)
}

/// The base registration with some fields replaced (a nil value removes the field); new keys go last.
func ingestLine(_ changes: [(String, String?)], base: [(String, String)] = ingestBaseFields) -> String {
    var fields = base
    for (k, v) in changes {
        if let i = fields.firstIndex(where: { $0.0 == k }) {
            if let v { fields[i].1 = v } else { fields.remove(at: i) }
        } else if let v {
            fields.append((k, v))
        }
    }
    return ingestJSONLine(fields)
}

/// Parses two good lines followed by `line`, so any error must carry line number 3.
func ingestParseThird(_ line: String, _ format: InputFormat = .ndjson) -> (events: [ParsedLine], errors: [IngestError]) {
    let good2 = ingestLine([("id", "r-2"), ("code", "D01M"), ("date", "2026-01-06")])
    return ingestReader(format).parse(ingestBaseLine + "\n" + good2 + "\n" + line + "\n")
}

/// The shared seeded generator, under the name the ingest property tests use.
typealias IngestSplitMix = SeededGenerator

/// A valid registration for round-trip and property tests.
func ingestRegistration(_ code: PathwayCode, id: String = "r-1", note: String? = nil, recordedAt: Instant? = nil,
                        emergency: CivilDate? = nil) -> Registration {
    Registration(id: id, episode: "EP-1", patient: "P-7f3a", institution: "HF-Vest", unit: "TSB-POL",
                 setting: .outpatient, code: code, date: CivilDate(year: 2026, month: 1, day: 20)!, author: "u-17",
                 recordedAt: recordedAt, note: note, emergencyAssessmentDate: emergency)
}
