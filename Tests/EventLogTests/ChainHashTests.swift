import CChainHash
import Crypto
import EventLog
import Testing
import TestSupport

/// The chain's own SHA-256 (CPU extensions or portable C) must agree with swift-crypto's BoringSSL
/// on every length, including the padding edges at 55, 56, 63, 64 and 119/120 bytes.
@Suite struct ChainHashTests {
    func own(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { b in
            [UInt8](unsafeUninitializedCapacity: 32) { out, n in pl_sha256(b.baseAddress, b.count, out.baseAddress!); n = 32 }
        }
    }

    func portable(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { b in
            [UInt8](unsafeUninitializedCapacity: 32) { out, n in pl_sha256_portable(b.baseAddress, b.count, out.baseAddress!); n = 32 }
        }
    }

    @Test func knownVectors() {
        #expect(Hex.encode(own([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(own(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(own(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hex.encode(own([UInt8](repeating: 0x61, count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func agreesWithSwiftCryptoOnEveryLengthUpTo600() {
        var rng = SeededGenerator(seed: 0x5348_4132)
        for length in 0...600 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let reference = Array(SHA256.hash(data: bytes))
            #expect(own(bytes) == reference, "length \(length)")
            #expect(portable(bytes) == reference, "portable, length \(length)")
        }
    }

    /// Two links at once (rounds interleaved with the SHA extensions) equal two single links, for
    /// every pair of lengths around the block and padding edges, and with `out` the same memory as
    /// `previous`.
    @Test func twoLinksAtOnceEqualTwoSingleLinks() {
        var rng = SeededGenerator(seed: 0x7832)
        let lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 200, 247, 248, 300, 700]
        for la in lengths {
            for lb in lengths {
                let pa = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let pb = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let ca = (0..<la).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let cb = (0..<lb).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var outA = pa, outB = pb   // previous and out the same memory
                outA.withUnsafeMutableBytes { oa in outB.withUnsafeMutableBytes { ob in
                    ca.withUnsafeBytes { a in cb.withUnsafeBytes { b in
                        EventLog.chainHashes(previous: UnsafeRawBufferPointer(oa), canonical: a, into: oa,
                                             previous: UnsafeRawBufferPointer(ob), canonical: b, into: ob)
                    } }
                } }
                #expect(outA == Array(SHA256.hash(data: pa + Array(SHA256.hash(data: ca)))), "A: lengths \(la), \(lb)")
                #expect(outB == Array(SHA256.hash(data: pb + Array(SHA256.hash(data: cb)))), "B: lengths \(la), \(lb)")
            }
        }
    }

    @Test func chainLinkIsTheHashOfPreviousAndContentDigest() {
        var rng = SeededGenerator(seed: 7)
        for length in [0, 1, 100, 300, 1000] {
            let previous = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let canonical = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let expected = Array(SHA256.hash(data: previous + Array(SHA256.hash(data: canonical))))
            #expect(EventLog.chainHash(previous: previous, canonical: canonical) == expected)
            let link = previous.withUnsafeBytes { p in Array(SHA256.hash(data: canonical)).withUnsafeBytes { d in EventLog.link(previous: p, digest: d) } }
            #expect(link == expected)
        }
    }
}
