import Pathway
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

    /// The stored history names each patient, institution and unit once: the bytes do not depend on
    /// how a particular fold numbered the names, a decoded history equals the original, and a cut,
    /// padded or out-of-range record is refused instead of read.
    @Test func historyRecordsRoundTripIndependentOfNumberingAndRefuseDamage() throws {
        func history(_ symbols: SymbolTable, order: [String]) -> EpisodeHistory {
            for name in order { _ = symbols.intern(name) }   // numbering differs with `order`
            func mark(_ code: String, _ date: String, _ position: UInt64, unit: String) -> Mark {
                Mark(code: PathwayCode(procedureCode: code)!, setting: .outpatient, date: CivilDate(date)!, emergencyDate: nil,
                     place: position, position: position, patient: symbols.intern("P-1"),
                     institution: symbols.intern("HF-Vest-01"), unit: symbols.intern(unit))
            }
            var h = EpisodeHistory()
            h.register(mark("D01A", "2026-01-05", 1, unit: "TSB-POL-01"))
            h.register(mark("D01M", "2026-01-09", 2, unit: "TSB-POL-01"))
            h.register(mark("D01E", "2026-02-01", 3, unit: "TSB-DOGN-02"))
            _ = h.correct(targetPosition: 2, with: mark("D01M", "2026-01-08", 4, unit: "TSB-POL-01"))
            _ = h.void(targetPosition: 3)
            return h
        }
        let s1 = SymbolTable(), s2 = SymbolTable()
        let h1 = history(s1, order: []), h2 = history(s2, order: ["TSB-DOGN-02", "x", "P-1"])
        var b1: [UInt8] = [], b2: [UInt8] = []
        HistoryCodec.encode(h1, symbols: s1, into: &b1)
        HistoryCodec.encode(h2, symbols: s2, into: &b2)
        #expect(b1 == b2)
        // Each name once: the three names of four marks, plus the second unit.
        #expect(b1.count < 100, "\(b1.count) bytes")
        let s3 = SymbolTable()
        let decoded = try #require(b1.withUnsafeBytes { HistoryCodec.decode($0, symbols: s3) })
        var b3: [UInt8] = []
        HistoryCodec.encode(decoded, symbols: s3, into: &b3)
        #expect(b3 == b1)
        #expect(decoded.marks.map { s3.name($0.unit) } == h1.marks.map { s1.name($0.unit) })
        #expect(decoded.marks.map(\.position) == [1, 4])

        for cut in 0..<b1.count {
            #expect(b1[..<cut].withUnsafeBytes { HistoryCodec.decode($0, symbols: SymbolTable()) } == nil, "cut at \(cut)")
        }
        #expect((b1 + [0]).withUnsafeBytes { HistoryCodec.decode($0, symbols: SymbolTable()) } == nil, "trailing byte")
        // A mark naming a unit the table does not hold.
        var one = EpisodeHistory()
        one.register(h1.marks[0])
        var outOfRange: [UInt8] = []
        HistoryCodec.encode(one, symbols: s1, into: &outOfRange)
        #expect(outOfRange.withUnsafeBytes { HistoryCodec.decode($0, symbols: SymbolTable()) } != nil)
        outOfRange[outOfRange.count - 1] = 9   // the mark's unit: name 9 of 3
        #expect(outOfRange.withUnsafeBytes { HistoryCodec.decode($0, symbols: SymbolTable()) } == nil)
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

    /// The rebuild's ordering of counter cells — sums from several tables, bucketed, merged, keys
    /// made once — against the plain way: a dictionary of sums, each cell's key from
    /// `key(of:symbols:)`, sorted byte-wise, zero sums dropped.
    @Test func cellSumsComeOutSummedOnceEachInKeyByteOrder() throws {
        var rng = SeededGenerator(seed: 0x0DE5)
        let symbols = SymbolTable()
        // Names that share prefixes and differ in length, so the group ranks are not symbol order.
        let names = ["INST-9", "INST-10", "INST-1", "U", "U-2", "U-10", "U-1", "Ø-enhet", "A"].map { symbols.intern($0) }
        let projection = QualityProjection()
        let tables = (0..<3).map { _ in CellSums(capacity: 8) }
        var reference: [Cell: Counts] = [:]
        for i in 0..<40_000 {
            let family: UInt64 = [0x44, 0x49][Int.random(in: 0...1, using: &rng)]
            let code = family << 56 | UInt64.random(in: 0..<6, using: &rng) << 48 | UInt64.random(in: 0..<50, using: &rng) << 16
            let cell = Cell(first: names[Int.random(in: 0..<3, using: &rng)], second: names[Int.random(in: 3..<names.count, using: &rng)], code: code)
            // Every seventh addition is taken back later, so some cells sum to zero and must vanish.
            let amounts = i % 7 == 0 ? Counts(-1, 0, 0) : Counts(1, Int64(i % 3), 0)
            tables[i % 3].add(cell, amounts)
            reference[cell] = (reference[cell] ?? .zero) + amounts
        }
        let expected = reference.filter { !$0.value.isZero }
            .map { (key: projection.key(of: $0.key, symbols: symbols), sum: $0.value) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        #expect(reference.count > expected.count, "the test has cells that sum to zero")
        var visited: [(key: [UInt8], sum: Counts)] = []
        CellOrder.forEachSum(of: tables, projection: projection, symbols: symbols) { key, sum in visited.append((Array(key), sum)) }
        #expect(visited.count == expected.count)
        #expect(visited.map(\.key) == expected.map(\.key))
        #expect(visited.map(\.sum) == expected.map(\.sum))

        // The catch-up path orders the same way, for many cells (ranked groups) and for an
        // append's few (keys sorted as bytes).
        for cells in [Array(reference.keys), Array(reference.keys.prefix(40))] {
            var order: [[UInt8]] = []
            projection.forEachKeyInOrder(of: cells, symbols: symbols) { i, key in
                #expect(Array(key) == projection.key(of: cells[i], symbols: symbols))
                order.append(Array(key))
            }
            #expect(order == cells.map { projection.key(of: $0, symbols: symbols) }.sorted { $0.lexicographicallyPrecedes($1) })
        }
    }

    @Test func integerMapAgreesWithADictionaryThroughGrowth() {
        var rng = SeededGenerator(seed: 0x6A0)
        var map = IntegerMap(capacity: 2)
        var reference: [UInt64: UInt64] = [:]
        for i in 0..<5_000 {
            let key = UInt64.random(in: 0..<3_000, using: &rng) << 32 | UInt64.random(in: 0..<4, using: &rng)
            map.set(key, to: UInt64(i))
            reference[key] = UInt64(i)
        }
        for (key, value) in reference { #expect(map[key] == value) }
        #expect(map[UInt64(9_999) << 32] == nil)
    }
}
