import Testing
@testable import Pathway

/// The stored body is the hashed canonical form, so its bytes must be exactly the documented
/// length-prefixed text fields (docs/formats.md) — whichever way they are written.
@Suite struct EventBodyTests {
    static let registration = Registration(
        id: "r-1", episode: "EP-1", patient: "P-7f3a", institution: "HF-Vest", unit: "TSB-POL", setting: .inpatient,
        code: .X("G"), date: CivilDate("2026-01-05")!, author: "u-17", recordedAt: Instant(rfc3339: "2026-01-05T10:00:00.25+01:00"),
        note: "æøå \"quoted\"", emergencyAssessmentDate: CivilDate("2025-12-30")!)

    static func reference(_ e: LedgerEvent, _ tp: UInt64?) -> [UInt8] {
        var out: [UInt8] = []
        for f in EventBody.fields(of: e, targetPosition: tp) { EventBody.appendField(f, to: &out) }
        return out
    }

    @Test(arguments: [
        (LedgerEvent.registration(registration), UInt64?.none),
        (LedgerEvent.registration(Registration(id: "r-2", episode: "EP-1", patient: "P", institution: "I", unit: "U", setting: .outpatient,
                                               code: .A, date: CivilDate("1999-12-31")!, author: "a")), nil),
        (LedgerEvent.correction(Correction(target: "r-1", reason: "wrong date", replacement: registration)), UInt64(1_234_567)),
        (LedgerEvent.voiding(Voiding(id: "r-9", target: "r-1", reason: "wrong patient", author: "u-2",
                                     recordedAt: Instant(microseconds: 1_700_000_000_123_456))), UInt64(7)),
    ])
    func encodingMatchesTheDocumentedFields(event: LedgerEvent, targetPosition: UInt64?) throws {
        let bytes = EventBody.encode(event, targetPosition: targetPosition)
        #expect(bytes == Self.reference(event, targetPosition))
        let decoded = try bytes.withUnsafeBytes { try EventBody.decode($0, id: event.id, episode: event.namedEpisode ?? "EP-1") }
        #expect(decoded.targetPosition == targetPosition)
        if case .registration = event { #expect(decoded.event == event) }
    }

    @Test func instantsAndDatesPrintInTheirCanonicalForms() {
        #expect(Instant(rfc3339: "2026-01-05T10:00:00.25+01:00")!.description == "2026-01-05T09:00:00.25Z")
        #expect(Instant(rfc3339: "2026-01-05T10:00:00Z")!.description == "2026-01-05T10:00:00Z")
        #expect(Instant(microseconds: -1).description == "1969-12-31T23:59:59.999999Z")
        #expect(CivilDate(year: 987, month: 3, day: 9)!.description == "0987-03-09")
        #expect(Instant(rfc3339: "2026-07-01T00:30:00+02:00")!.osloDate == CivilDate("2026-07-01")!)
        #expect(Instant(rfc3339: "2026-01-01T00:30:00+01:00")!.osloDate == CivilDate("2026-01-01")!)
        #expect(Instant(rfc3339: "2026-03-29T00:59:59Z")!.osloDate == CivilDate("2026-03-29")!)
    }
}
