import Ingest
import LMDB
import Ledger
import Pathway
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `pathway import FILE --format ndjson` without the command line around it: the same steps as
/// `runIngest` in Sources/PathwayCLI/IngestCommands.swift — the map reserved up front from the
/// file's size, the file read in 4 MiB chunks through ``IngestStreamReader`` into one atomic
/// ``AppendSession`` (projections kept current in the same transaction), the body restartable
/// (rewound) should the store run it again, every line accounted for before commit.
public enum BulkImport {
    public struct Result {
        public var report: Ledger.AppendReport
        public var lines: Int
        /// How many times the store ran the session's body (1 unless the map filled mid-way).
        public var bodyRuns: Int
    }

    public static func file(_ path: String, into ledger: Ledger) throws -> Result {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BenchError("cannot read \(path)") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let totalBytes = Int(st.st_size)
        if totalBytes > 0 {
            try ledger.environment.reserve(atLeast: ledger.environment.fileSize + totalBytes * 4 + (64 << 20))
            try ledger.views.reserve(atLeast: ledger.views.fileSize + totalBytes * 3 + (64 << 20))
        }
        let today = ledger.clock.today()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 22, alignment: 16)
        defer { chunk.deallocate() }
        var runs = 0
        var lines = 0
        let report = try ledger.appendSession(options: Ledger.AppendOptions()) { session in
            runs += 1
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw BenchError("cannot rewind \(path)") }
            let reader = IngestStreamReader(format: .ndjson, options: IngestOptions(today: today))
            var pending: [ParsedLine] = []
            pending.reserveCapacity(4096)
            var rejections: [Ledger.Rejection] = []
            lines = 0
            func drain() throws {
                for r in rejections { session.reject(r) }
                rejections.removeAll(keepingCapacity: true)
                for p in pending { try session.append(p) }
                pending.removeAll(keepingCapacity: true)
            }
            while true {
                let n = read(fd, chunk.baseAddress, chunk.count)
                if n < 0 { throw BenchError("reading \(path) failed") }
                if n == 0 { break }
                reader.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) { result, _ in
                    lines += 1
                    switch result {
                    case .success(let p): pending.append(p)
                    case .failure(let e): rejections.append(Ledger.Rejection(line: e.line, field: e.field, message: e.message))
                    }
                }
                try drain()
            }
            reader.finish { result, _ in
                lines += 1
                switch result {
                case .success(let p): pending.append(p)
                case .failure(let e): rejections.append(Ledger.Rejection(line: e.line, field: e.field, message: e.message))
                }
            }
            try drain()
            let r = session.report
            guard r.appended + r.duplicates + r.rejected.count == lines else {
                throw BenchError("\(lines) lines read but \(r.appended + r.duplicates + r.rejected.count) accounted for")
            }
        }
        return Result(report: report, lines: lines, bodyRuns: runs)
    }
}
