import Testing
import TestSupport
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

    /// The fixed-buffer writers against the digit-by-digit form they replace, over years 1–9999,
    /// times of day, fractions and instants before 1970; and every event letter as a byte.
    @Test func datesAndInstantsWrittenInOneBufferMatchTheDigitByDigitForm() {
        func slowDate(_ d: CivilDate) -> [UInt8] {
            var out: [UInt8] = []
            let (y, m, day) = d.parts
            Digits.append(y, width: 4, to: &out); out.append(45); Digits.append(m, width: 2, to: &out); out.append(45)
            Digits.append(day, width: 2, to: &out)
            return out
        }
        func slowInstant(_ i: Instant) -> [UInt8] {
            let us = i.microseconds
            let secs = us >= 0 ? us / 1_000_000 : (us - 999_999) / 1_000_000
            let frac = Int(us - secs * 1_000_000)
            let day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
            let sod = Int(secs - day * 86400)
            var out = slowDate(CivilDate(daysSinceEpoch: Int32(day)))
            out.append(84)
            Digits.append(sod / 3600, width: 2, to: &out); out.append(58)
            Digits.append(sod / 60 % 60, width: 2, to: &out); out.append(58)
            Digits.append(sod % 60, width: 2, to: &out)
            if frac != 0 {
                out.append(46)
                var f = frac, digits = 6
                while f % 10 == 0 { f /= 10; digits -= 1 }
                Digits.append(f, width: digits, to: &out)
            }
            out.append(90)
            return out
        }
        var rng = SeededGenerator(seed: 0xDA7E)
        let first = CivilDate(year: 1, month: 1, day: 1)!.daysSinceEpoch, last = CivilDate(year: 9999, month: 12, day: 31)!.daysSinceEpoch
        for k in 0..<20_000 {
            let d = CivilDate(daysSinceEpoch: k < 2 ? (k == 0 ? first : last) : Int32.random(in: first...last, using: &rng))
            var fast: [UInt8] = [1, 2]   // written after what is there
            d.appendISO(to: &fast)
            #expect(Array(fast.dropFirst(2)) == slowDate(d), "\(d.parts)")
            let us = Int64(d.daysSinceEpoch) * 86_400_000_000 + Int64.random(in: 0..<86_400_000_000, using: &rng)
                / (k % 3 == 0 ? 1_000_000 : 1) * (k % 3 == 0 ? 1_000_000 : 1)
            let i = Instant(microseconds: us)
            var fastI: [UInt8] = []
            i.appendRFC3339(to: &fastI)
            #expect(fastI == slowInstant(i), "\(us)")
        }
        for e in PathwayEvent.allCases { #expect(e.letterByte == UInt8(ascii: e.letter.unicodeScalars.first!)) }
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
