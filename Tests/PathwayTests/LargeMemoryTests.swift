import Testing
@testable import Pathway

/// The big-table allocator: alignment, contents, and the huge-page advice leaving arrays intact.
@Suite struct LargeMemoryTests {
    @Test func allocationsAreAlignedAndInitialized() {
        for count in [1, 100, 5_000, 3_000_000] {
            let p = LargeMemory.allocate(UInt64.self, count: count, initializedTo: 0xA5A5)
            defer { LargeMemory.deallocate(p) }
            let address = Int(bitPattern: UnsafeRawPointer(p))
            #expect(address % 64 == 0)
            if count * 8 >= 2 << 20 { #expect(address % (2 << 20) == 0, "big tables start on a huge-page boundary") }
            #expect(p[0] == 0xA5A5 && p[count - 1] == 0xA5A5)
            p[count - 1] = 7
            #expect(p[count - 1] == 7)
        }
    }

    @Test func adviceKeepsAnArraysContents() {
        var steps: [Int32] = []
        steps.reserveCapacity(3_000_000)
        LargeMemory.adviseHugePages(&steps)
        for i in 0..<3_000_000 { steps.append(Int32(truncatingIfNeeded: i &* 7)) }
        #expect(steps.count == 3_000_000)
        #expect(steps[2_999_999] == Int32(truncatingIfNeeded: 2_999_999 &* 7))
        var small: [UInt8] = [1, 2, 3]
        LargeMemory.adviseHugePages(&small)
        #expect(small == [1, 2, 3])
    }
}
