import Synthetic
import EventLog
import Ingest
import LMDB
import Ledger
import Pathway
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The data every benchmark reads: an NDJSON file of exactly ``Settings/events`` generated
/// registrations, and a store holding all of them with every projection current.
///
/// package-benchmark runs each benchmark in a process of its own, so the data is prepared once
/// per size and seed into `PATHWAY_BENCH_DIR/pathway-bench-<events>-s<seed>/` (guarded by a lock
/// file, marked complete by a `READY` file) and reused by every later process and run; within a
/// process it is opened once (``shared``). To prepare it again (after a change to the store's format
/// or to the generator), delete that directory. Benchmarks that write (appends, import) never touch it:
/// they work in scratch stores of their own. Rebuilds swap its projections for identical ones.
public final class Prepared: @unchecked Sendable {
    public static let shared: Prepared = {
        do { return try Prepared() } catch { fatalError("pathway-bench: preparing the data failed: \(error)") }
    }()

    public let directory: String
    public let ndjsonPath: String
    public let storePath: String
    public let events: Int
    /// The ledger on the prepared store, opened once per process.
    public let ledger: Ledger

    init() throws {
        events = Settings.events
        directory = "\(Settings.baseDirectory)/pathway-bench-\(events)-s\(Settings.seed)" + (Settings.recordedOrder ? "-recorded" : "")
        ndjsonPath = directory + "/registrations.ndjson"
        storePath = directory + "/store"
        try Scratch.makeDirectories(directory)

        let lockFD = open(directory + "/.lock", O_CREAT | O_RDWR, 0o644)
        guard lockFD >= 0 else { throw BenchError("cannot open \(directory)/.lock") }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        defer { flock(lockFD, LOCK_UN) }

        let marker = directory + "/READY"
        let expected = "events=\(events)\nseed=\(Settings.seed)\nfrom=\(Settings.from)\nto=\(Settings.to)\n"
            + (Settings.recordedOrder ? "order=recorded\n" : "")
        if (readText(marker)?.hasPrefix(expected) ?? false) {
            // Reuse it if it still holds what it should (same count, same head as when prepared).
            do {
                // Only the head is read: Ledger.stats() walks the whole stream index to count
                // episodes, which would leave that index's pages in every benchmark's resident memory.
                let l = try Ledger(path: storePath, clock: Settings.clock)
                let head = try l.environment.read { txn in try l.log.head(in: txn) }
                if head.position == UInt64(events), readText(marker)?.contains("head=\(head.anchor)\n") == true {
                    ledger = l
                    note("reusing prepared data in \(directory) (\(events) events)")
                    return
                }
                note("prepared store in \(directory) does not match its marker; preparing again")
            } catch {
                note("prepared store in \(directory) cannot be opened (\(error)); preparing again")
            }
        }
        unlink(marker)
        Scratch.remove(storePath)
        unlink(ndjsonPath)

        let head = try Prepared.prepare(events: events, ndjsonPath: ndjsonPath, storePath: storePath)
        writeText(marker, expected + head)
        // Hand the preparation's freed heap back to the system, so that the benchmark which happened
        // to prepare the data does not report it as its own resident memory. (Cleaner still: prepare
        // beforehand with `pathway-bench-profile prepare`, see RESULTS.md.)
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
        // Opened anew, so this process does not carry the preparation's mapped pages as resident memory.
        ledger = try Ledger(path: storePath, clock: Settings.clock)
    }

    /// Writes the input and imports it; returns the marker's remaining lines (head, counts).
    static func prepare(events: Int, ndjsonPath: String, storePath: String) throws -> String {
        // 1. The NDJSON input, cut at exactly `events` lines.
        let t0 = seconds()
        let summary = try Prepared.generate(lines: events, to: ndjsonPath, scratch: ndjsonPath.lastIndex(of: "/").map { String(ndjsonPath[..<$0]) } ?? ".")
        let t1 = seconds()
        note("generated \(events) lines (from a run of \(summary.episodes) episodes) into \(ndjsonPath) in \(Int(t1 - t0)) s")

        // 2. The store: imported in atomic batches of 500,000 lines, projections kept current.
        let l = try Ledger(path: storePath, clock: Settings.clock)
        try l.environment.reserve(atLeast: fileSize(ndjsonPath) * 4 + (64 << 20))
        try l.views.reserve(atLeast: fileSize(ndjsonPath) * 3 + (64 << 20))
        let bytes = try readFile(ndjsonPath)
        let reader = IngestReader(format: .ndjson, options: IngestOptions(today: Settings.today))
        var batch: [ParsedLine] = []
        batch.reserveCapacity(500_000)
        var parseErrors: [IngestError] = []
        var appended = 0
        var appendError: Error? = nil
        bytes.withUnsafeBytes { b in
            reader.forEachLine(b) { result, _ in
                guard appendError == nil else { return }
                switch result {
                case .success(let p): batch.append(p)
                case .failure(let e): parseErrors.append(e)
                }
                if batch.count == 500_000 {
                    do { appended += try l.append(batch).appended } catch { appendError = error }
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        if let e = appendError { throw e }
        guard parseErrors.isEmpty else { throw BenchError("the generator wrote invalid input: \(parseErrors[0])") }
        if !batch.isEmpty { appended += try l.append(batch).appended }
        let stats = try l.stats()
        guard appended == events, stats.events == events else {
            throw BenchError("prepared store holds \(stats.events) events, expected \(events) (appended \(appended))")
        }
        let t2 = seconds()
        note("imported them into \(storePath) in \(Int(t2 - t1)) s: \(stats.episodes) episodes, \(stats.fileBytes >> 20) MiB")
        return "head=\(stats.head.anchor)\nepisodes=\(stats.episodes)\nfileBytes=\(stats.fileBytes)\n"
    }

    /// Generates at least `lines` lines (growing the episode count until it does) and writes exactly
    /// the first `lines` of them, each ending in a line feed. A cut episode is still valid input.
    /// In recorded order (``Settings/recordedOrder``) the first `lines` in that order are written:
    /// still valid input, since each episode's lines keep their order. `scratch` holds the sort's
    /// run files.
    static func generate(lines: Int, to path: String, scratch: String) throws -> SyntheticGenerator.Summary {
        var episodes = lines / 9 + 64
        while true {
            let g = SyntheticGenerator(episodes: episodes, seed: Settings.seed, from: Settings.from, to: Settings.to)
            guard let f = fopen(path, "w") else { throw BenchError("cannot write \(path)") }
            setvbuf(f, nil, _IOFBF, 1 << 22)
            var written = 0
            let summary: SyntheticGenerator.Summary
            if Settings.recordedOrder {
                summary = try g.generateInRecordedOrder(temporaryDirectory: scratch) { block in
                    // Whole lines, each ending in a line feed: write up to the `lines`-th.
                    guard written < lines, let base = block.baseAddress else { return }
                    var end = 0
                    while end < block.count && written < lines {
                        if block[end] == 10 { written += 1 }
                        end += 1
                    }
                    fwrite(base, 1, end, f)
                }
            } else {
                let newline: [UInt8] = [10]
                summary = g.generateUTF8 { line in
                    guard written < lines else { return }
                    fwrite(line.baseAddress, 1, line.count, f)
                    fwrite(newline, 1, 1, f)
                    written += 1
                }
            }
            fclose(f)
            if written == lines { return summary }
            note("\(episodes) episodes gave \(written) lines, fewer than \(lines); generating more")
            episodes = episodes * 5 / 4 + 64
        }
    }

    // MARK: - The input, in memory

    private let cache = Cache()
    private final class Cache: @unchecked Sendable {
        var longest: (episode: String, events: Int)? = nil
    }

    /// The first `lines` lines of the input (line feeds included), read from the file; nothing of
    /// it is kept, so a benchmark's resident memory holds only what it asked for.
    public func ndjsonPrefix(lines: Int) throws -> [UInt8] {
        let fd = open(ndjsonPath, O_RDONLY)
        guard fd >= 0 else { throw BenchError("cannot read \(ndjsonPath)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 22)
        var seen = 0
        while seen < lines {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw BenchError("reading \(ndjsonPath) failed") }
            if n == 0 { break }
            var cut = n
            for i in 0..<n where chunk[i] == 10 {
                seen += 1
                if seen == lines { cut = i + 1; break }
            }
            out.append(contentsOf: chunk[0..<cut])
        }
        return out
    }

    /// The first `count` lines, parsed (for the append benchmarks).
    public func parsedLines(_ count: Int) throws -> [ParsedLine] {
        let bytes = try ndjsonPrefix(lines: min(count, events))
        let reader = IngestReader(format: .ndjson, options: IngestOptions(today: Settings.today))
        let parsed = bytes.withUnsafeBytes { reader.parse($0) }
        guard parsed.errors.isEmpty else { throw BenchError("invalid generated input: \(parsed.errors[0])") }
        return parsed.events
    }

    /// The episode with the most events in the prepared store (the replay benchmark's subject).
    public func longestEpisode() throws -> (episode: String, events: Int) {
        if let l = cache.longest { return l }
        var best = ("", 0)
        try ledger.storedEpisodes { s in
            if Int(s.version) > best.1 { best = (s.episode, Int(s.version)) }
        }
        cache.longest = best
        return best
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("malloc_trim") func glibcMallocTrim(_ pad: Int) -> Int32
#endif

// MARK: - Files

func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw BenchError("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    fstat(fd, &st)
    let size = Int(st.st_size)
    var out = [UInt8](repeating: 0, count: size)
    var done = 0
    try out.withUnsafeMutableBytes { p in
        while done < size {
            let n = read(fd, p.baseAddress! + done, min(size - done, 1 << 26))
            if n <= 0 { throw BenchError("reading \(path) failed") }
            done += n
        }
    }
    return out
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

func readText(_ path: String) -> String? {
    guard let b = try? readFile(path) else { return nil }
    return String(decoding: b, as: UTF8.self)
}

func writeText(_ path: String, _ text: String) {
    guard let f = fopen(path, "w") else { return }
    _ = text.withCString { fputs($0, f) }
    fclose(f)
}
