import Testing
@testable import Pathway

/// The name table every fold and projection numbers names with.
@Suite struct SymbolTableTests {
    /// The empty name is one symbol however its bytes arrive: from a `String` (a buffer with an
    /// address) or from a default buffer (none). It used to hash differently in the two cases.
    @Test func theEmptyNameIsOneSymbolWhateverItsBuffer() {
        let t = SymbolTable()
        let fromString = t.intern("")
        let fromNil = t.intern(bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        let fromBytes = [UInt8]().withUnsafeBytes { t.intern(bytes: $0) }
        #expect(fromString == 0, "a new table holds the empty name as symbol 0")
        #expect(fromNil == 0)
        #expect(fromBytes == 0)
        #expect(t.count == 1, "the table holds its empty name once")
    }

    /// Copying a table name by name gives every name the same number.
    @Test func aTableCopiedNameByNameNumbersEveryNameAlike() {
        let t = SymbolTable()
        let names = ["P-1", "HF-Vest", "", "TSB-POL", "a-name-longer-than-sixteen-bytes", "P-1"]
        let ids = names.map { t.intern($0) }
        let copy = SymbolTable()
        for n in t.names { _ = copy.intern(n) }
        for (n, i) in zip(names, ids) {
            #expect(copy.intern(n) == i, "'\(n)'")
            #expect(copy.name(i) == n)
        }
        #expect(copy.count == t.count)
    }
}
