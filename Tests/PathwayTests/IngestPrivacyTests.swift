import Ingest
import Pathway
import Testing

/// No national identity number reaches the store, in any field, and none is echoed in an error.
@Suite("Ingest: identity numbers")
struct IngestPrivacyTests {
    /// A fødselsnummer-shaped value with valid check digits (synthetic, born 15.05.90).
    static let checked = "15059010023"

    @Test(arguments: ["id", "episode", "institution", "unit", "author"])
    func anIdentityNumberShapedIdentifierIsRefusedInAnyField(field: String) {
        let r = ingestReader().parse(ingestLine([(field, Self.checked)]))
        #expect(r.events.isEmpty)
        #expect(r.errors.count == 1)
        #expect(r.errors.first?.field == field)
        #expect(r.errors.first?.kind == .identityNumber)
        #expect(!(r.errors.first?.description.contains(Self.checked) ?? true))
    }

    @Test func freeTextWithACheckedIdentityNumberIsRefusedWithoutEchoingIt() {
        for text in ["ring om 150590 10023", "pnr 15059010023.", "150590-10023"] {
            let r = ingestReader().parse(ingestLine([("note", text)]))
            #expect(r.events.isEmpty, "note \(text)")
            #expect(r.errors.first?.field == "note")
            #expect(!(r.errors.first?.description.contains("10023") ?? true))
        }
        let void = #"{"id":"r-9","voids":"r-1","reason":"feil pasient 15059010023","author":"u-2"}"#
        #expect(ingestReader().parse(void).errors.first?.field == "reason")
    }

    /// An identity number inside an identifier is refused too (ids are printed in every listing):
    /// split or not, as a D-number (day + 40) too, in every identifier field.
    @Test(arguments: ["id", "episode", "patient", "institution", "unit", "author"])
    func anIdentityNumberInsideAnIdentifierIsRefused(field: String) {
        for value in ["EP-\(Self.checked)", "P-150590-10023", "x\(Self.checked)y", "ID-55059000054",
                      "EP-202401-\(Self.checked)", "EP-2024 150590-10023"] {
            let r = ingestReader().parse(ingestLine([(field, value)]))
            #expect(r.events.isEmpty, "\(field) \(value)")
            #expect(r.errors.first?.field == field, "\(field) \(value)")
            #expect(r.errors.first?.kind == .identityNumber, "\(field) \(value)")
            #expect(!(r.errors.first?.description.contains("10023") ?? true), "not echoed: \(field) \(value)")
        }
    }

    /// The targets a voiding or a correction names are identifiers too.
    @Test func anIdentityNumberInsideAVoidedOrCorrectedIdIsRefused() {
        let void = #"{"id":"r-9","voids":"r-\#(Self.checked)","reason":"feil","author":"u-2"}"#
        #expect(ingestReader().parse(void).errors.first?.field == "voids")
        let correct = ingestLine([("corrects", "r-202401-\(Self.checked)"), ("reason", "feil dato")])
        let r = ingestReader().parse(correct)
        #expect(r.errors.first?.field == "corrects", "\(r.errors)")
        #expect(r.errors.first?.kind == .identityNumber)
    }

    /// Long digit runs, runs without a plausible birth date and runs failing the check digits are
    /// ordinary ids.
    @Test func otherDigitRunsInIdentifiersAreAllowed() {
        for value in ["EP-150590100231", "EP-12345678901", "EP-99999999999", "r-0000123", "EP-2026-000123"] {
            let r = ingestReader().parse(ingestLine([("episode", value)]))
            #expect(r.errors.isEmpty, "\(value): \(r.errors)")
        }
    }

    /// How a reject file copies a rejected line: the digits of every identity-number-shaped run
    /// become `*`, whatever the check digits; every other byte stays.
    @Test func maskingReplacesTheDigitsOfEveryIdentityShapedRun() {
        let cases: [(String, String)] = [
            ("15038512363", "***********"),
            (#"{"patient":"15038512363","note":"pnr 150385 12363."}"#, #"{"patient":"***********","note":"pnr ****** *****."}"#),
            ("150385-12363", "******-*****"),
            ("ordre 123456789012345", "ordre ***************"),
            ("123456 123456 12345", "****** ****** *****"),
            ("æ15038512363ø", "æ***********ø"),
            // Not the shape: kept as they are.
            ("1503851236", "1503851236"), ("150385 1236", "150385 1236"), ("15038 512363", "15038 512363"),
            ("150385--12363", "150385--12363"), ("2026-01-05", "2026-01-05"), ("", ""),
            // JSON escapes count as the characters they stand for; a masked escape becomes one `*`.
            (#"{"patient":"\u00315038512363"}"#, #"{"patient":"***********"}"#),
            (#"\u0031\u0035038\u00351236\u0033"#, "***********"),
            (#"150385\u002012363"#, #"******\u0020*****"#),
            (#"150385\u002D12363"#, #"******\u002D*****"#),
            // Escapes that stand for other characters stay, and so does text that only looks like one.
            (#"\u00e6\n\"15038\u00e6"#, #"\u00e6\n\"15038\u00e6"#),
            (#"1503851\\u0032363"#, #"1503851\\u0032363"#),
        ]
        for (input, masked) in cases {
            #expect(IdentityNumber.masked(input) == masked, "\(input)")
            var m = IdentityNumber.masked(input)
            #expect(!m.withUTF8 { IdentityNumber.occurs(in: UnsafeRawBufferPointer($0)) }, "\(input)")
        }
    }

    @Test func elevenDigitsWithoutValidCheckDigitsAreAllowedInFreeText() {
        // An order number or a phone number with a country code is not an identity number.
        let r = ingestReader().parse(ingestLine([("note", "ordre 12345678901")]))
        #expect(r.errors.isEmpty)
        #expect(r.events.count == 1)
    }
}
