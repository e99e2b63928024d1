import Testing
import TestSupport
import LMDB
@testable import EventLog

/// A batch's index keys come out in the order LMDB stores them — bytes compared as unsigned, a
/// key before any longer key it begins, then by position — whatever their lengths (the sort looks
/// at the first sixteen bytes as two numbers and at the rest only for longer keys).
@Suite struct IndexKeysTests {
    @Test func keysComeOutInByteOrderThenPosition() throws {
        var rng = SeededGenerator(seed: 0x1D5)
        let stems: [[UInt8]] = [[], Array("EP-00000000000".utf8), Array("r-4935310".utf8), Array("0123456789abcdef".utf8), [0xff, 0x00, 0x7f]]
        var keys: [[UInt8]] = []
        for stem in stems {
            for extra in 0...26 {
                // The stem, then `extra` bytes from a small alphabet that includes 0 and 0xff, so
                // keys share long prefixes, end in zero bytes, and differ before and after byte 16.
                keys.append(stem + (0..<extra).map { _ in [0, 1, 0x41, 0xff][Int.random(in: 0..<4, using: &rng)] })
            }
        }
        keys += keys.prefix(40)   // repeated keys (a stream's several positions) sort by position
        keys.shuffle(using: &rng)
        let first: UInt64 = 1_000
        var index = IndexKeys(first: first, capacity: keys.count)
        for (i, k) in keys.enumerated() { k.withUnsafeBytes { index.add($0, position: first + UInt64(i)) } }
        var out: [([UInt8], UInt64)] = []
        try index.forEachSorted { k, v in out.append((Array(k), BigEndian.uint64(v))) }

        let expected = keys.enumerated().map { ($0.element, first + UInt64($0.offset)) }.sorted { a, b in
            a.0 != b.0 ? a.0.lexicographicallyPrecedes(b.0) : a.1 < b.1
        }
        #expect(out.count == expected.count)
        for (o, e) in zip(out, expected) {
            #expect(o.0 == e.0 && o.1 == e.1, "\(o) should be \(e)")
        }
    }
}
