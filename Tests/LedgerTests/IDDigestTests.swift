import Testing
@testable import Audit

/// The verifier's keyed id digest (a polynomial modulo 2⁶¹ − 1 evaluated at a random key).
@Suite struct IDDigestTests {
    func digest(_ d: Verifier.IDDigest, _ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { d($0) } }

    /// The same polynomial, one coefficient at a time with plain 128-bit arithmetic.
    func reference(_ key: UInt64, _ bytes: [UInt8]) -> UInt64 {
        let p = Verifier.IDDigest.prime
        func mulmod(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (hi, lo) = a.multipliedFullWidth(by: b)
            return p.dividingFullWidth((hi, lo)).remainder
        }
        var h = UInt64(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            var c: UInt64 = 0
            for (k, b) in bytes[i..<min(i + 7, bytes.count)].enumerated() { c |= UInt64(b) << (8 * UInt64(k)) }
            h = (mulmod(h, key % p) + c) % p
            i += 7
        }
        return h + 1
    }

    @Test func matchesASlowReferenceAndIsNeverZero() {
        for key: UInt64 in [0, 1, 2, 12345, Verifier.IDDigest.prime - 1, Verifier.IDDigest.prime, .max] {
            let d = Verifier.IDDigest(key: key)
            for n in [0, 1, 6, 7, 8, 13, 14, 15, 21, 64, 511] {
                let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ n) | 0x80 }
                #expect(digest(d, bytes) == reference(key, bytes), "key \(key), \(n) bytes")
                #expect(digest(d, bytes) != 0)
            }
        }
    }

    /// Pairs an unkeyed multiply-xorshift hash sends to one value whatever its seed: a trailing
    /// zero byte traded against the length, and a top-bit difference that passes a multiplication.
    @Test func pairsBuiltAgainstAMultiplyXorshiftHashDiffer() {
        var a = Array("r-1234567-abcdefg".utf8), b = a
        b[7] ^= 0x80; b[15] ^= 0x80
        for _ in 0..<100 {
            let d = Verifier.IDDigest()
            #expect(digest(d, Array("a".utf8)) != digest(d, Array("b".utf8) + [0]))
            #expect(digest(d, Array("r-2".utf8)) != digest(d, Array("r-2".utf8) + [0]))
            #expect(digest(d, a) != digest(d, b))
            // A digest depends on the bytes, not on the buffer holding them.
            #expect(digest(d, a) == digest(d, Array(String(decoding: a, as: UTF8.self).utf8)))
        }
        a = []; b = [0]
        #expect(digest(Verifier.IDDigest(key: 3), a) != digest(Verifier.IDDigest(key: 3), b))
    }
}
