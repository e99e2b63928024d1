import ArgumentParser
import Foundation
import Ingest
import Ledger
import Pathway

struct IngestArguments: ParsableArguments {
    @Flag(help: "Print a machine-readable summary: appended, duplicates, rejected, findings.") var json = false
    @Flag(help: "Reject registrations that break a pathway rule instead of storing them with a finding. Rules a later registration can still satisfy (a missing A, H or E) are reported as findings, not rejected.") var strict = false
    @Option(name: .customLong("skip-invalid"), help: ArgumentHelp("Append the good lines; write each rejected line with its reason to this file (NDJSON), digit runs shaped like an identity number masked with *.", valueName: "REJECTFILE"))
    var skipInvalid: String?
}

let ingestDiscussion = """
Input is NDJSON (one registration, voiding or correction per line) or CSV with the header \
id,episode,patient,institution,unit,setting,code,date,author,recordedAt. See docs/formats.md.

A file is atomic: one structural error and nothing is appended; every bad line is listed with its \
line number, field and what was expected. With --skip-invalid the good lines are appended and the \
bad ones written to REJECTFILE (created or emptied before anything is appended; it may not be the \
input), each with its reason and a copy of the line in which every identity-number-shaped run of \
digits (11 or more, or 6 + space or dash + 5) is masked with *. Registrations that break a pathway \
rule are stored and flagged as findings, or rejected with --strict. Re-appending the same lines \
appends nothing (ids are idempotency keys).

Exit codes: 0 all appended (or already present); 2 input rejected (nothing appended unless \
--skip-invalid); 3 store error, or REJECTFILE cannot be written; 64 usage error (a bad option, an \
unreadable input, or a REJECTFILE that is the input or the store).
"""

struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "append", abstract: "Append registrations from a file or standard input (NDJSON by default).", discussion: ingestDiscussion)
    @OptionGroup var store: StoreOptions
    @OptionGroup var ingest: IngestArguments
    @Argument(help: "The input file, or - for standard input.") var file: String = "-"
    @Option(help: "ndjson or csv.") var format: String = "ndjson"

    func run() throws {
        try PathwayCLI.run { try runIngest(store: store, args: ingest, file: file, format: format, progress: false) }
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import a file of registrations in bulk, with a progress bar on a terminal.", discussion: ingestDiscussion)
    @OptionGroup var store: StoreOptions
    @OptionGroup var ingest: IngestArguments
    @Argument(help: "The input file, or - for standard input.") var file: String
    @Option(help: "ndjson or csv.") var format: String = "ndjson"

    func run() throws {
        try PathwayCLI.run { try runIngest(store: store, args: ingest, file: file, format: format, progress: true) }
    }
}

/// Streams an input into one atomic append session.
func runIngest(store: StoreOptions, args: IngestArguments, file: String, format: String, progress: Bool) throws {
    guard let fmt = InputFormat(rawValue: format) else { throw CLIError.usage("--format must be ndjson or csv, not '\(format)'") }
    let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY)
    guard fd >= 0 else { throw CLIError.usage("cannot read \(file): \(String(cString: strerror(errno)))") }
    defer { if fd != 0 { close(fd) } }
    var st = stat()
    let inputStat = fstat(fd, &st) == 0 ? st : nil
    let totalBytes = inputStat.map { ($0.st_mode & S_IFMT) == S_IFREG ? Int($0.st_size) : 0 } ?? 0
    // The reject file is opened before anything is appended: one that cannot be written would
    // otherwise be found out only after the good lines were committed, with the rejected ones
    // reported nowhere.
    let rejectFile = try args.skipInvalid.map { try RejectFile(path: $0, input: inputStat, store: store.path) }
    let ledger = try store.open(create: true)
    let bar = progress && isatty(2) == 1 ? ProgressBar(totalBytes: totalBytes) : nil

    var options = Ledger.AppendOptions(strict: args.strict, skipInvalid: args.skipInvalid != nil)
    if let bar { options.onStage = { bar.stage($0) } }
    let keepRaw = args.skipInvalid != nil
    var rawLines: [Int: String] = [:]
    // A big import is one transaction; give the map room for it up front (growing it mid-way
    // means aborting and running the whole batch again).
    // The same for the views, which a big import's catch-up writes in one transaction too.
    if totalBytes > 0 {
        try ledger.environment.reserve(atLeast: ledger.environment.fileSize + totalBytes * 4 + (64 << 20))
        try ledger.views.reserve(atLeast: ledger.views.fileSize + totalBytes * 3 + (64 << 20))
    }
    let source = InputSource(fd: fd)
    let today = ledger.clock.today()
    let t0 = monotonicSeconds()
    var report: Ledger.AppendReport
    do {
        report = try ledger.appendSession(options: options) { session in
            // The store may run this body again (after growing a full map), so it starts over:
            // fresh parser state, the input rewound.
            try source.rewind()
            rawLines.removeAll()
            // Reading and parsing run on a second thread, a few chunks ahead of the appends, which
            // stay on this thread in the store's write transaction.
            let parser = ParsePipeline(source: source, format: fmt, options: IngestOptions(today: today), keepRaw: keepRaw)
            defer { parser.stop() }
            var bytesRead = 0, lines = 0, events = 0
            bar?.restart()
            while let batch = try parser.next() {
                bytesRead += batch.bytes
                lines += batch.lines
                for r in batch.rejections { session.reject(r) }
                for (line, text) in batch.raw { rawLines[line] = text }
                // Only the text of lines the store refuses is kept (for the reject file): holding
                // every line of a big import until the commit would cost as much memory as the input.
                if keepRaw {
                    for (k, p) in batch.parsed.enumerated() {
                        let refusedBefore = session.rejectedCount
                        try session.append(p)
                        if session.rejectedCount > refusedBefore { rawLines[p.line] = batch.parsedRaw[k] }
                    }
                } else {
                    for p in batch.parsed { try session.append(p) }
                }
                events += batch.parsed.count
                bar?.update(bytes: bytesRead, events: events)
            }
            // Every line read must be accounted for before anything commits.
            let r = session.report
            guard r.appended + r.duplicates + r.rejected.count == lines else {
                throw CLIError.store("internal error: \(lines) lines were read but \(r.appended + r.duplicates + r.rejected.count) accounted for; nothing was appended")
            }
        }
    } catch let rejected as Ledger.BatchRejected {
        bar?.finish()
        report = rejected.report
        report.appended = 0
        report.findings = []
        printReport(report, json: args.json, elapsed: monotonicSeconds() - t0, nothingAppended: true)
        throw ExitCode(2)
    } catch let behind as Ledger.ProjectionsBehind {
        // The lines are in the log: say so with the usual summary, then why the views lag.
        bar?.finish()
        printReport(behind.report, json: args.json, elapsed: monotonicSeconds() - t0, nothingAppended: false)
        throw CLIError.store(behind.description)
    }
    bar?.finish()
    // The good lines are committed: whatever happens to the reject file, the summary (which lists
    // the rejected lines) is printed first.
    let writeFailure = rejectFile.flatMap { $0.writeRejections(report.rejected, rawLines: rawLines) }
    printReport(report, json: args.json, elapsed: monotonicSeconds() - t0, nothingAppended: false)
    if let writeFailure, let rejectFile {
        throw CLIError.store("the good lines were appended, but writing the rejected lines to \(rejectFile.path) failed: \(writeFailure); they are listed above")
    }
    if !report.rejected.isEmpty { throw ExitCode(2) }
}

/// The `--skip-invalid` file, created (or emptied) when the command starts so that a path that
/// cannot be written stops it before anything is appended.
final class RejectFile {
    let path: String
    private var fd: Int32

    /// Refuses (usage error) a path that is the input itself or one of the store's files — emptying
    /// it would destroy what is being read or appended to — then opens it for writing, truncated.
    /// `input`: the input's `fstat`, when it has one.
    init(path: String, input: stat?, store: String) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0 {
            func same(_ other: stat) -> Bool { other.st_dev == st.st_dev && other.st_ino == st.st_ino }
            if let input, same(input) {
                throw CLIError.usage("--skip-invalid \(path) is the input file itself; writing the rejected lines there would overwrite the input — give another path")
            }
            for name in ["data.mdb", "lock.mdb", "views/data.mdb", "views/lock.mdb"] {
                var s = stat()
                if stat(store + "/" + name, &s) == 0, same(s) {
                    throw CLIError.usage("--skip-invalid \(path) is the store's \(name); writing the rejected lines there would destroy the store — give another path")
                }
            }
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CLIError.store("cannot write the reject file \(path): \(String(cString: strerror(errno))); nothing was appended")
        }
    }
    deinit { if fd >= 0 { close(fd) } }

    /// Writes one line per rejection, in line order, and closes the file: `{"line","reason","input"}`,
    /// the input copied with its identity-number-shaped digit runs masked (a line rejected for
    /// holding one must not repeat it). Returns the system's reason when writing fails.
    func writeRejections(_ rejected: [Ledger.Rejection], rawLines: [Int: String]) -> String? {
        var text = ""
        for r in rejected.sorted(by: { $0.line < $1.line }) {
            var o = "{\"line\":\(r.line),"
            JSONText.key("reason", into: &o); JSONText.string(r.description, into: &o)
            o += ","; JSONText.key("input", into: &o); JSONText.string(IdentityNumber.masked(rawLines[r.line] ?? ""), into: &o)
            o += "}\n"
            text += o
        }
        var failure = writeAll(fd, text)
        if close(fd) != 0 && failure == 0 { failure = errno }
        fd = -1
        return failure == 0 ? nil : String(cString: strerror(failure))
    }
}

func printReport(_ r: Ledger.AppendReport, json: Bool, elapsed: Double, nothingAppended: Bool) {
    let rejected = r.rejected.sorted { $0.line < $1.line }
    if json {
        var o = "{\"appended\":\(r.appended),\"duplicates\":\(r.duplicates),\"rejectedCount\":\(rejected.count),\"rejected\":["
        o += rejected.prefix(1000).map { x -> String in
            var s = "{\"line\":\(x.line),\"field\":"
            if let f = x.field { JSONText.string(f, into: &s) } else { s += "null" }
            s += ","; JSONText.key("message", into: &s); JSONText.string(x.message, into: &s); s += "}"
            return s
        }.joined(separator: ",")
        o += "],\"findingsCount\":\(r.findings.count),\"findings\":["
        o += r.findings.prefix(1000).map { f -> String in
            var s = "{\"line\":\(f.line),"
            JSONText.key("episode", into: &s); JSONText.string(f.episode, into: &s)
            s += ","; JSONText.key("rule", into: &s); JSONText.string(f.rule, into: &s)
            s += ","; JSONText.key("message", into: &s); JSONText.string(f.message, into: &s)
            s += ",\"position\":\(f.position)}"
            return s
        }.joined(separator: ",")
        o += "],\"head\":\"\(r.head.anchor)\"}"
        print(o)
        return
    }
    if nothingAppended {
        printError("nothing was appended: \(rejected.count) line(s) rejected")
        for x in rejected.prefix(100) { printError("  \(x)") }
        if rejected.count > 100 { printError("  … and \(rejected.count - 100) more") }
        return
    }
    let rate = elapsed > 0 ? " in \(format3(elapsed)) s (\(Int(Double(r.appended) / elapsed)) registrations/s)" : ""
    print("appended \(r.appended), duplicates \(r.duplicates), rejected \(rejected.count), findings \(r.findings.count)\(rate)")
    for x in rejected.prefix(100) { printError("  rejected \(x)") }
    if rejected.count > 100 { printError("  … and \(rejected.count - 100) more rejected") }
    for f in r.findings.prefix(20) { print("  finding line \(f.line) \(f.episode) [\(f.rule)] \(f.message)") }
    if r.findings.count > 20 { print("  … and \(r.findings.count - 20) more findings (see `pathway episodes --json` or `pathway episode EP`)") }
    if r.appended > 0 || r.duplicates > 0 { print("head \(r.head.anchor)") }
}

/// A one-line progress bar on standard error (a terminal only): while events are appended, the
/// share of the input appended, events/s, elapsed and an estimate of the time left *to append*;
/// then, since the findings, the projections' catch-up and the commit after the last append can
/// take a good share of a bulk import, a line naming the stage the import is in.
final class ProgressBar: @unchecked Sendable { // used by the appending thread only
    let totalBytes: Int
    let start = monotonicSeconds()
    var last = 0.0
    var events = 0
    var appendSeconds = 0.0
    init(totalBytes: Int) { self.totalBytes = totalBytes }

    /// The appends start (again, when the store re-runs a batch after growing its map).
    func restart() { last = 0; events = 0 }

    func update(bytes: Int, events: Int) {
        self.events = events
        let now = monotonicSeconds()
        guard now - last > 0.2 else { return }
        last = now
        let elapsed = now - start
        let rate = Double(events) / max(elapsed, 1e-9)
        var s = "  \(events) events  \(Int(rate)) events/s  \(format1(elapsed)) s"
        if totalBytes > 0 {
            let frac = min(1, Double(bytes) / Double(totalBytes))
            let width = 30
            let filled = Int(frac * Double(width))
            s = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(Int(frac * 100))%" + s
            if frac > 0.01 { s += "  appending, ~\(format1(elapsed / frac - elapsed)) s left" }
        }
        show(s)
    }

    /// The appends are done; the import has moved on to `stage`.
    func stage(_ stage: Ledger.AppendStage) {
        let now = monotonicSeconds()
        if stage == .findings { appendSeconds = now - start }
        let what = switch stage {
        case .findings: "checking pathway rules…"
        case .projections: "catching up projections…"
        case .commit: "committing…"
        }
        show("  \(events) events appended in \(format1(appendSeconds)) s; \(what)  \(format1(now - start)) s")
        last = now
    }

    private var shown = 0
    private func show(_ s: String) {
        // Overwrite the previous line entirely, whatever its length.
        let pad = max(0, shown - s.count)
        printErrorRaw("\r" + s + String(repeating: " ", count: pad))
        shown = s.count
    }

    func finish() { printErrorRaw("\r" + String(repeating: " ", count: max(shown, 100)) + "\r") }
}

func format1(_ v: Double) -> String { String(Double(Int(v * 10)) / 10) }
func printErrorRaw(_ s: String) { writeAll(2, s) }

/// Reads and parses the input on a thread of its own, handing parsed batches (one per chunk read)
/// to the appending thread through a queue of at most `depth` batches. The appending thread calls
/// ``next()`` until it returns nil, and ``stop()`` when it is done or gives up (after an error):
/// `stop` waits for the parsing thread, so the input source is never used by two threads at once.
final class ParsePipeline: @unchecked Sendable {
    struct Batch {
        var parsed: [ParsedLine] = []
        var rejections: [Ledger.Rejection] = []
        /// With `keepRaw`: the text of each line the parser rejected, by line number …
        var raw: [(Int, String)] = []
        /// … and of each parsed line, parallel to `parsed` (dropped once appended, unless refused).
        var parsedRaw: [String] = []
        var bytes = 0
        var lines = 0
    }
    private let condition = NSCondition()
    private var queue: [Batch] = []
    /// The parsing thread has ended (input read, or a read failed, or it was stopped).
    private var finished = false
    private var failure: Error?
    private var stopped = false
    private let depth = 4

    init(source: InputSource, format: InputFormat, options: IngestOptions, keepRaw: Bool) {
        let thread = Thread { [self] in
            let reader = IngestStreamReader(format: format, options: options)
            var batch = Batch()
            let handle: (Result<ParsedLine, IngestError>, UnsafeRawBufferPointer) -> Void = { result, raw in
                batch.lines += 1
                switch result {
                case .success(var p):
                    // The body is encoded here, off the appending thread, when it needs nothing
                    // from the store (everything but voidings and corrections).
                    if p.event.target == nil { p.encodedBody = EventBody.encode(p.event, targetPosition: nil) }
                    batch.parsed.append(p)
                    if keepRaw { batch.parsedRaw.append(String(decoding: raw, as: UTF8.self)) }
                case .failure(let e):
                    batch.rejections.append(Ledger.Rejection(line: e.line, field: e.field, message: e.message))
                    if keepRaw { batch.raw.append((e.line, String(decoding: raw, as: UTF8.self))) }
                }
            }
            do {
                while let chunk = try source.next() {
                    batch.bytes += chunk.count
                    chunk.withUnsafeBytes { reader.feed($0, handle) }
                    if !self.put(batch) { break }
                    batch = Batch()
                }
                if !self.isStopped {
                    reader.finish(handle)
                    _ = self.put(batch)
                }
                self.end(nil)
            } catch {
                self.end(error)
            }
        }
        thread.stackSize = 1 << 22
        thread.start()
    }

    private var isStopped: Bool { condition.lock(); defer { condition.unlock() }; return stopped }

    /// Queues a batch, waiting while the queue is full; false once the consumer has stopped.
    private func put(_ batch: Batch) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while queue.count >= depth && !stopped { condition.wait() }
        if stopped { return false }
        queue.append(batch)
        condition.broadcast()
        return true
    }

    private func end(_ error: Error?) {
        condition.lock()
        finished = true; failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch in input order, nil at the end of the input; rethrows a read error.
    func next() throws -> Batch? {
        condition.lock(); defer { condition.unlock() }
        while queue.isEmpty && !finished { condition.wait() }
        if !queue.isEmpty {
            let b = queue.removeFirst()
            condition.broadcast()
            return b
        }
        if let failure { throw failure }
        return nil
    }

    /// Tells the parsing thread to stop and waits until it has.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

/// Input that can be read again from the start: a regular file is rewound with `lseek`; a pipe
/// (standard input) is kept in memory as it is read, and replayed. Used by one thread at a time:
/// the appending thread rewinds it, then only a ``ParsePipeline``'s thread reads it until stopped.
final class InputSource: @unchecked Sendable {
    let fd: Int32
    let seekable: Bool
    var replay: [UInt8] = []
    var replayOffset = 0
    var buffer = [UInt8](repeating: 0, count: 1 << 22)

    init(fd: Int32) {
        self.fd = fd
        seekable = lseek(fd, 0, SEEK_CUR) >= 0
    }

    func rewind() throws {
        if seekable {
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw CLIError.usage("cannot rewind the input: \(String(cString: strerror(errno)))") }
        } else {
            replayOffset = 0
        }
    }

    /// The next chunk, or nil at the end.
    func next() throws -> ArraySlice<UInt8>? {
        if !seekable && replayOffset < replay.count {
            let end = min(replay.count, replayOffset + buffer.count)
            defer { replayOffset = end }
            return replay[replayOffset..<end]
        }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw CLIError.usage("reading the input failed: \(String(cString: strerror(errno)))") }
        if n == 0 { return nil }
        if !seekable { replay.append(contentsOf: buffer[0..<n]); replayOffset = replay.count }
        return buffer[0..<n]
    }
}
