#if canImport(Glibc)
import Glibc
#endif

/// Memory for the big tables of a rebuild — counter cells, name tables — that are read at random:
/// aligned to 2 MiB and marked for transparent huge pages (`madvise(MADV_HUGEPAGE)`, which Debian
/// enables on request). A table of tens of megabytes in 4 KiB pages makes nearly every random look-up
/// a TLB miss and a page walk as well as a cache miss; in 2 MiB pages the translations stay cached.
/// Where the kernel has no huge pages to give, this is ordinary memory.
public enum LargeMemory {
    static let hugePage = 2 << 20

    /// `count` initialized values, in memory from ``allocate(bytes:)``; free with ``deallocate(_:)``.
    public static func allocate<T>(_ type: T.Type, count: Int, initializedTo value: T) -> UnsafeMutablePointer<T> {
        let p = allocate(bytes: Swift.max(1, count) * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: count)
        p.initialize(repeating: value, count: count)
        return p
    }

    /// Room for `count` values, uninitialized; free with ``deallocate(_:)``.
    public static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        allocate(bytes: Swift.max(1, count) * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: count)
    }

    /// `bytes` of uninitialized memory, 64-byte aligned, huge-page backed when it is big enough.
    public static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer? = nil
        let huge = bytes >= hugePage
        let size = huge ? (bytes + hugePage - 1) & ~(hugePage - 1) : Swift.max(bytes, 64)
        let rc = posix_memalign(&p, huge ? hugePage : 64, size)
        guard rc == 0, let p else { fatalError("out of memory: could not allocate \(size) bytes") }
        #if os(Linux)
        if huge { _ = madvise(p, size, MADV_HUGEPAGE) }
        #endif
        return p
    }

    public static func deallocate<T>(_ p: UnsafeMutablePointer<T>) { free(p) }

    /// Asks for huge pages behind the not-yet-touched capacity of an array (for arrays that are
    /// filled once and then read at random, like a fold's steps). Call it right after
    /// `reserveCapacity`, before the elements are written: pages already touched stay small.
    public static func adviseHugePages<T>(_ array: inout [T]) {
        #if os(Linux)
        let bytes = array.capacity * MemoryLayout<T>.stride
        guard bytes >= 2 * hugePage else { return }
        array.withUnsafeMutableBufferPointer { b in
            guard let base = b.baseAddress else { return }
            let start = (Int(bitPattern: UnsafeRawPointer(base)) + hugePage - 1) & ~(hugePage - 1)
            let end = (Int(bitPattern: UnsafeRawPointer(base)) + bytes) & ~(hugePage - 1)
            if end > start, let p = UnsafeMutableRawPointer(bitPattern: start) { _ = madvise(p, end - start, MADV_HUGEPAGE) }
        }
        #endif
    }
}
