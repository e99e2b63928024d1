#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the generator could not put its lines in recorded order.
public enum GeneratorError: Error, Sendable, CustomStringConvertible {
    /// A run file in the temporary directory could not be made, written or read back.
    case temporaryFile(directory: String, reason: String)

    public var description: String {
        switch self {
        case .temporaryFile(let d, let r):
            "cannot sort the generated lines through temporary files in \(d): \(r) (choose another directory with --temp-dir or TMPDIR)"
        }
    }
}

extension SyntheticGenerator {
    /// The same lines as ``generateChunks(_:)``, in the order a national ledger would receive them:
    /// by the instant each is recorded, as ``generateTimed(_:)`` gives it (ties keep the generated
    /// order). Each episode's lines stay in their generated order, so every episode's history —
    /// and with it every finding and every projection — is the same as in generated order; only
    /// the episodes are interleaved, as in a real log where thousands of pathways run at once.
    ///
    /// Why this exists: generated order puts an episode's events next to each other, which flatters
    /// every fold, import and cache (the next event almost always belongs to the episode just seen).
    /// Benchmarks should be able to measure the interleaved case too.
    ///
    /// Memory stays bounded for any N: lines are collected into runs of at most `runBytes` bytes,
    /// each run sorted and written to an (already unlinked) temporary file in `temporaryDirectory`,
    /// and the runs are merged. The bytes do not depend on `runBytes`.
    @discardableResult
    public func generateInRecordedOrder(runBytes: Int = 128 << 20, temporaryDirectory: String,
                                        _ write: (UnsafeRawBufferPointer) -> Void) throws(GeneratorError) -> Summary {
        var sorter = RunSorter(runBytes: max(runBytes, 1 << 12), directory: temporaryDirectory)
        defer { sorter.close() }
        var failure: GeneratorError? = nil
        let summary = generateTimed { second, line in
            guard failure == nil else { return }
            do throws(GeneratorError) { try sorter.add(key: UInt64(bitPattern: second), line: line) } catch { failure = error }
        }
        if let failure { throw failure }
        try sorter.finish(write)
        return summary
    }
}

/// An external merge sort of lines on (key, arrival): runs sorted in memory, spilled to unlinked
/// temporary files, merged with a binary heap. Output goes out in blocks of whole lines, each line
/// ending in `\n`.
struct RunSorter: ~Copyable {
    /// One line of the run in memory: where its bytes are in the arena.
    struct Entry { var key: UInt64; var sequence: UInt64; var start: Int; var count: Int }

    let runBytes: Int
    let directory: String
    var arena: [UInt8] = []
    var entries: [Entry] = []
    var runs: [UnsafeMutablePointer<FILE>] = []
    var sequence: UInt64 = 0

    init(runBytes: Int, directory: String) {
        self.runBytes = runBytes
        self.directory = directory
    }

    mutating func add(key: UInt64, line: UnsafeRawBufferPointer) throws(GeneratorError) {
        if arena.count + line.count > runBytes && !entries.isEmpty { try spill() }
        entries.append(Entry(key: key, sequence: sequence, start: arena.count, count: line.count))
        arena.append(contentsOf: line)
        sequence += 1
    }

    /// The run in memory, in (key, arrival) order.
    mutating func sortedEntries() -> [Entry] {
        entries.sort { $0.key != $1.key ? $0.key < $1.key : $0.sequence < $1.sequence }
        return entries
    }

    /// Writes the run in memory to a new temporary file: per line its key, arrival number and
    /// length, then its bytes.
    mutating func spill() throws(GeneratorError) {
        var template = Array((directory + "/pathway-generate-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw fail("cannot create a run file") }
        // Unlinked at once: nothing is left behind, even if the process is killed.
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        guard let file = fdopen(fd, "w+") else { Glibc.close(fd); throw fail("cannot open a run file") }
        runs.append(file)
        var header = [UInt8](repeating: 0, count: RunHead.headerBytes)
        for e in sortedEntries() {
            header.withUnsafeMutableBytes { h in
                h.storeBytes(of: e.key, toByteOffset: 0, as: UInt64.self)
                h.storeBytes(of: e.sequence, toByteOffset: 8, as: UInt64.self)
                h.storeBytes(of: UInt32(e.count), toByteOffset: 16, as: UInt32.self)
            }
            let ok = header.withUnsafeBytes { fwrite($0.baseAddress!, 1, $0.count, file) == $0.count }
                && arena.withUnsafeBytes { fwrite($0.baseAddress! + e.start, 1, e.count, file) == e.count }
            guard ok else { throw fail("cannot write a run file") }
        }
        guard fflush(file) == 0, fseek(file, 0, SEEK_SET) == 0 else { throw fail("cannot write a run file") }
        entries.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
    }

    func fail(_ what: String, errno code: Int32 = errno) -> GeneratorError {
        .temporaryFile(directory: directory, reason: code == 0 ? what : "\(what): \(String(cString: strerror(code)))")
    }

    /// Writes every line out in order.
    mutating func finish(_ write: (UnsafeRawBufferPointer) -> Void) throws(GeneratorError) {
        var out = OutputBlocks()
        if runs.isEmpty {
            // Everything fitted in one run: no file needed.
            let sorted = sortedEntries()
            arena.withUnsafeBytes { a in
                for e in sorted { out.line(UnsafeRawBufferPointer(rebasing: a[e.start..<(e.start + e.count)]), write) }
            }
            out.flush(write)
            return
        }
        if !entries.isEmpty { try spill() }
        arena = []; entries = []
        // One reader per run, a heap of the runs by their next line's (key, arrival).
        var heads: [RunHead] = []
        for f in runs {
            var h = RunHead(file: f)
            guard try h.advance(self) else { continue }
            heads.append(h)
        }
        var heap = Array(heads.indices)
        func less(_ a: Int, _ b: Int) -> Bool {
            heads[a].key != heads[b].key ? heads[a].key < heads[b].key : heads[a].sequence < heads[b].sequence
        }
        func down(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && less(heap[l], heap[m]) { m = l }
                if r < heap.count && less(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m); i = m
            }
        }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { down(i) }
        while let top = heap.first {
            heads[top].line.withUnsafeBytes { out.line($0, write) }
            if try heads[top].advance(self) {
                down(0)
            } else {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
                if !heap.isEmpty { down(0) }
            }
        }
        out.flush(write)
    }

    mutating func close() {
        for f in runs { fclose(f) }
        runs = []
    }
}

/// The next line of one run file.
struct RunHead {
    let file: UnsafeMutablePointer<FILE>
    var key: UInt64 = 0, sequence: UInt64 = 0
    /// The current line; it and the header buffer are reused from line to line, so merging
    /// millions of lines allocates nothing per line.
    var line: [UInt8] = []
    private var header = [UInt8](repeating: 0, count: RunHead.headerBytes)

    init(file: UnsafeMutablePointer<FILE>) { self.file = file }

    /// Per line in a run file: key (8 bytes), arrival number (8), length (4), in this machine's
    /// byte order (the files never leave the process).
    static let headerBytes = 20

    /// Reads the next line; false at the end of the run.
    mutating func advance(_ sorter: borrowing RunSorter) throws(GeneratorError) -> Bool {
        let n = header.withUnsafeMutableBytes { fread($0.baseAddress!, 1, $0.count, file) }
        if n == 0 && feof(file) != 0 { return false }
        guard n == RunHead.headerBytes else { throw sorter.fail("a run file was cut short", errno: 0) }
        let count = header.withUnsafeBytes { h in
            key = h.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            sequence = h.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            return Int(h.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        }
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: repeatElement(0, count: count))
        let read = count == 0 ? 0 : line.withUnsafeMutableBytes { fread($0.baseAddress!, 1, count, file) }
        guard read == count else { throw sorter.fail("a run file was cut short", errno: 0) }
        return true
    }
}

/// Collects lines into blocks of about 64 KiB for the writer.
struct OutputBlocks {
    var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func line(_ bytes: UnsafeRawBufferPointer, _ write: (UnsafeRawBufferPointer) -> Void) {
        if !buffer.isEmpty && buffer.count + bytes.count + 1 > 1 << 16 { flush(write) }
        buffer.append(contentsOf: bytes)
        buffer.append(10)
    }

    mutating func flush(_ write: (UnsafeRawBufferPointer) -> Void) {
        if !buffer.isEmpty { buffer.withUnsafeBytes { write($0) } }
        buffer.removeAll(keepingCapacity: true)
    }
}
