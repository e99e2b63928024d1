import Testing
import TestSupport
@testable import Ledger

/// The engine's own data structures against plain references: the index-entry sort against a
/// byte-wise sort, and the counter-cell table against a dictionary, through many growths.
@Suite struct EngineStructureTests {
    @Test func recordArenaVisitsKeysInByteOrderWithTiesInArrivalOrder() {
        var rng = SeededGenerator(seed: 0xA7E7A)
        var arena = RecordArena()
        var reference: [(key: [UInt8], value: [UInt8], arrival: Int)] = []
        // Keys sharing long prefixes (so the 16-byte integer prefix ties and memcmp decides), short
        // keys that are prefixes of others, zero bytes inside keys, and exact duplicates.
        let stems: [[UInt8]] = [Array("P-0001".utf8), Array("P-0001\u{0}\u{0}\u{0}\u{1}EP-00000001".utf8),
                                Array("0123456789abcdef0123".utf8), [0, 0, 0], []]
        for i in 0..<3_000 {
            var key = stems[Int.random(in: 0..<stems.count, using: &rng)]
            for _ in 0..<Int.random(in: 0...20, using: &rng) { key.append(UInt8.random(in: 0...3, using: &rng)) }
            if i % 97 == 0, let previous = reference.last { key = previous.key }
            let value = [UInt8(i & 0xff), UInt8(i >> 8)]
            arena.append(key: key, value: value)
            reference.append((key, value, i))
        }
        reference.sort { a, b in a.key == b.key ? a.arrival < b.arrival : a.key.lexicographicallyPrecedes(b.key) }
        var visited: [(key: [UInt8], value: [UInt8])] = []
        arena.forEachSorted { k, v in visited.append((Array(k), Array(v))) }
        #expect(visited.count == reference.count)
        #expect(visited.map(\.key) == reference.map(\.key))
        #expect(visited.map(\.value) == reference.map(\.value))
    }

    @Test func cellSumsAddUpLikeADictionaryThroughGrowthAndMerge() {
        var rng = SeededGenerator(seed: 0xCE115)
        let a = CellSums(capacity: 4), b = CellSums(capacity: 4)
        var reference: [Cell: [Int64]] = [:]
        for i in 0..<50_000 {
            let cell = Cell(first: Int32.random(in: 0..<40, using: &rng), second: Int32.random(in: -1..<40, using: &rng),
                            code: UInt64.random(in: 0..<300, using: &rng) << 40)
            let amounts = Counts(Int64.random(in: -2...3, using: &rng), 1, Int64(i % 2))
            (i % 3 == 0 ? b : a).add(cell, amounts)
            let old = reference[cell] ?? [0, 0, 0]
            reference[cell] = [old[0] + amounts.a, old[1] + amounts.b, old[2] + amounts.c]
        }
        a.merge(b)
        var seen: [Cell: [Int64]] = [:]
        a.forEach { cell, sum in
            #expect(seen[cell] == nil, "a cell is visited once")
            seen[cell] = [sum.a, sum.b, sum.c]
        }
        #expect(a.count == reference.count)
        #expect(seen == reference)
    }
}
