import TestSupport
import Testing
@testable import Ingest

/// The word-at-a-time screens the validator runs on every field of every line.
@Suite struct IngestWordTests {
    /// "Some byte is below 0x20 or is 0x7F", eight bytes at once, against the byte loop — on random
    /// words, words of printable ASCII and UTF-8 lead bytes with one control byte planted, and the
    /// boundary values (0x1F, 0x20, 0x7E, 0x7F, 0x80, 0xFF) in every position.
    @Test func theControlScreenAgreesWithTheByteLoop() {
        func slow(_ x: UInt64) -> Bool {
            (0..<8).contains { k in let c = UInt8(truncatingIfNeeded: x >> (8 * UInt64(k))); return c < 0x20 || c == 0x7F }
        }
        var rng = SeededGenerator(seed: 0xC0DE)
        var words: [UInt64] = (0..<200_000).map { _ in rng.next() }
        for _ in 0..<50_000 {
            var x: UInt64 = 0
            for k in 0..<8 { x |= UInt64([0x41, 0x7A, 0x20, 0x7E, 0xC3, 0xA6, 0x80, 0xFF][Int(rng.next() % 8)]) << (8 * UInt64(k)) }
            words.append(x)
            let at = UInt64(rng.next() % 8) * 8
            words.append((x & ~(0xFF << at)) | (UInt64([0x00, 0x09, 0x0A, 0x1F, 0x7F][Int(rng.next() % 5)]) << at))
        }
        for b in [UInt64(0x1F), 0x20, 0x7E, 0x7F, 0x80, 0xFF] {
            for k in 0..<8 { words.append((0x4141_4141_4141_4141 & ~(0xFF << (8 * UInt64(k)))) | (b << (8 * UInt64(k)))) }
        }
        var disagreements = 0
        for x in words where FieldSlots.mayHoldControl(x) != slow(x) { disagreements += 1 }
        #expect(disagreements == 0)
    }
}
