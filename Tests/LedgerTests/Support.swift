import Foundation
import Testing
import EventLog
import Ingest
import LMDB
import Ledger
import Pathway
import Synthetic
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Temporary stores

/// A fresh directory from `mkdtemp`, removed when `body` returns.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

func makeTemporaryDirectory() throws -> String {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/ledgertests-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    return String(cString: made)
}

/// The instant every test's ledger clock is fixed to (the append instant, and "today" = 2026-03-01).
let fixedNow = "2026-03-01T12:00:00Z"
let fixedClock = LedgerClock(fixed: Instant(rfc3339: fixedNow)!)

/// Opens (creating) a ledger with the fixed clock. Release it before opening the same path again.
func openLedger(_ dir: String, now: String = fixedNow) throws -> Ledger {
    try Ledger(path: dir, clock: LedgerClock(fixed: Instant(rfc3339: now)!))
}

/// Copies every file of a (closed) store directory into a fresh temporary directory.
func copyStore(_ dir: String) throws -> String {
    let copy = try makeTemporaryDirectory()
    for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
        try FileManager.default.copyItem(atPath: dir + "/" + name, toPath: copy + "/" + name)
    }
    return copy
}

// MARK: - Input lines

/// NDJSON builders in the ingest format of issue 3. Patient, institution, unit and setting default
/// to one episode's values so a test names only what matters.
struct Lines {
    var patient = "P-7f3a"
    var institution = "HF-Vest"
    var unit = "TSB-POL"
    var setting = "outpatient"
    var author = "u-17"

    func reg(_ id: String, _ episode: String, _ code: String, _ date: String, recordedAt: String? = nil,
             author: String? = nil, patient: String? = nil, setting: String? = nil) -> String {
        var s = "{\"id\":\"\(id)\",\"episode\":\"\(episode)\",\"patient\":\"\(patient ?? self.patient)\",\"institution\":\"\(institution)\",\"unit\":\"\(unit)\",\"setting\":\"\(setting ?? self.setting)\",\"code\":\"\(code)\",\"date\":\"\(date)\",\"author\":\"\(author ?? self.author)\""
        if let r = recordedAt { s += ",\"recordedAt\":\"\(r)\"" }
        return s + "}"
    }

    /// EP-1's start (A on 5 January 2026) and first attendance (M on 8 January), each recorded on
    /// its day at 09:00 and 10:00: the opening the time-axis tests build on.
    func openingOfEP1() -> [String] {
        [reg("r-1", "EP-1", "D01A", "2026-01-05", recordedAt: "2026-01-05T09:00:00Z"),
         reg("r-2", "EP-1", "D01M", "2026-01-08", recordedAt: "2026-01-08T10:00:00Z")]
    }

    func void(_ id: String, _ target: String, reason: String, author: String = "u-2", recordedAt: String? = nil) -> String {
        var s = "{\"id\":\"\(id)\",\"voids\":\"\(target)\",\"reason\":\"\(reason)\",\"author\":\"\(author)\""
        if let r = recordedAt { s += ",\"recordedAt\":\"\(r)\"" }
        return s + "}"
    }

    func correct(_ id: String, _ target: String, reason: String, _ episode: String, _ code: String, _ date: String,
                 recordedAt: String? = nil, author: String? = nil) -> String {
        var s = "{\"id\":\"\(id)\",\"corrects\":\"\(target)\",\"reason\":\"\(reason)\",\"episode\":\"\(episode)\",\"patient\":\"\(patient)\",\"institution\":\"\(institution)\",\"unit\":\"\(unit)\",\"setting\":\"\(setting)\",\"code\":\"\(code)\",\"date\":\"\(date)\",\"author\":\"\(author ?? self.author)\""
        if let r = recordedAt { s += ",\"recordedAt\":\"\(r)\"" }
        return s + "}"
    }
}

/// Parses NDJSON text; a test's own input must be well formed.
func parse(_ lines: [String], today: String = "2026-03-01") throws -> [ParsedLine] {
    let reader = IngestReader(format: .ndjson, options: IngestOptions(today: CivilDate(today)!))
    let r = reader.parse(lines.joined(separator: "\n"))
    try #require(r.errors.isEmpty, "the test's input does not parse: \(r.errors)")
    return r.events
}

/// A generated history (`pathway generate`'s lines for `episodes` episodes between two dates), parsed.
func generatedLines(episodes: Int, seed: UInt64, from: String, to: String) throws -> [ParsedLine] {
    var text: [String] = []
    _ = SyntheticGenerator(episodes: episodes, seed: seed, from: CivilDate(from)!, to: CivilDate(to)!).generate { text.append($0) }
    return try parse(text)
}

/// Calls `body` with a store in a temporary directory that holds a generated history, appended as
/// one batch with nothing rejected.
func withGeneratedStore(episodes: Int, seed: UInt64, from: String, to: String,
                        _ body: (_ ledger: Ledger) throws -> Void) throws {
    let parsed = try generatedLines(episodes: episodes, seed: seed, from: from, to: to)
    try withTemporaryDirectory { dir in
        let ledger = try openLedger(dir)
        let r = try ledger.append(parsed)
        try #require(r.rejected.isEmpty, "\(r.rejected.prefix(3))")
        try body(ledger)
    }
}

extension Ledger {
    /// Parses and appends lines as one batch, requiring that none is rejected.
    @discardableResult
    func append(lines: [String], options: AppendOptions = AppendOptions()) throws -> AppendReport {
        let r = try append(try parse(lines), options: options)
        try #require(r.rejected.isEmpty, "rejected: \(r.rejected)")
        return r
    }

    var head: EventLog.Head { get throws { try stats().head } }

    /// Every projection's active databases, key by key: two equal dumps are byte-for-byte the same state.
    func dumpProjections() throws -> [String: [[UInt8]]] {
        try views.read { txn in
            var out: [String: [[UInt8]]] = [:]
            for p in engine.projections.indices {
                let proj = engine.projections[p]
                let dbs = try engine.activeDatabases(p, in: txn)
                for (d, db) in dbs.enumerated() {
                    var entries: [[UInt8]] = []
                    try txn.withCursor(db) { c in
                        var entry = try c.first()
                        while let (k, v) = entry {
                            entries.append(Array(k)); entries.append(Array(v))
                            entry = try c.next()
                        }
                    }
                    out["\(proj.name).\(proj.databases[d])"] = entries
                }
                out["\(proj.name) checkpoint"] = [BigEndian.bytes(try engine.checkpoint(p, in: txn))]
            }
            return out
        }
    }
}

// MARK: - Raw store access (no Ledger: nothing is caught up or rebuilt)

/// The log's head position and every projection's checkpoint as stored, read with the bare LMDB
/// layer so that opening does not catch anything up. The environment closes on return.
func rawHeadAndCheckpoints(_ dir: String, projections: [String]) throws -> (head: UInt64, checkpoints: [String: UInt64]) {
    let env = try Environment(path: dir)
    let log = try env.database("log")
    let head: UInt64 = try env.read { txn in try txn.withCursor(log) { c in try c.last().map { BigEndian.uint64($0.key) } ?? 0 } }
    let views = try Environment(path: dir + "/views")
    let meta = try views.database("projections")
    return try views.read { txn in
        var cps: [String: UInt64] = [:]
        for name in projections {
            if let v = try txn.get(meta, Array("checkpoint/\(name)".utf8)), v.count == 8 { cps[name] = BigEndian.uint64(v) } else { cps[name] = 0 }
        }
        return (head, cps)
    }
}

/// Finds every occurrence of `needle` in `haystack`.
func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
    guard !needle.isEmpty, haystack.count >= needle.count else { return [] }
    var out: [Int] = []
    var i = 0
    let first = needle[0]
    while i <= haystack.count - needle.count {
        if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { out.append(i) }
        i += 1
    }
    return out
}

// MARK: - Randomness


// MARK: - The `pathway` executable

enum ChildError: Error, CustomStringConvertible {
    case notFound([String])
    case spawn(Int32)
    var description: String {
        switch self {
        case .notFound(let dirs): "the `pathway` executable was not found next to the test binary (looked in \(dirs)); run `swift build --build-tests` first"
        case .spawn(let rc): "posix_spawn failed: \(String(cString: strerror(rc)))"
        }
    }
}

/// Where the build put `pathway`: the build directory that holds the running test binary.
func pathwayExecutable() throws -> String {
    var dirs: [String] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        dirs.append((exe as NSString).deletingLastPathComponent)
    }
    let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    dirs.append(argv0.deletingLastPathComponent().path)
    dirs.append(Bundle.main.bundleURL.deletingLastPathComponent().path)
    for dir in dirs {
        // On macOS the test binary sits inside a .xctest bundle; walk up to the build directory.
        var d = dir
        for _ in 0..<4 {
            let candidate = d + "/pathway"
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            d = (d as NSString).deletingLastPathComponent
        }
    }
    throw ChildError.notFound(dirs)
}

/// The environment children run in: the test's own, with the ledger's clock fixed and no default store.
func childEnvironment(now: String = fixedNow) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    env["PATHWAY_NOW"] = now
    env.removeValue(forKey: "PATHWAY_STORE")
    return env
}

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var json: [String: Any]? {
        guard let line = stdout.split(separator: "\n").first,
              let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return o
    }
}

/// Runs `pathway` with `arguments` to completion (Foundation `Process`), capturing both outputs.
/// `environment` adds to (or overrides) the child's environment.
func pathway(_ arguments: [String], stdin: String? = nil, now: String = fixedNow,
             environment: [String: String] = [:]) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try pathwayExecutable())
    p.arguments = arguments
    p.environment = childEnvironment(now: now).merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try p.run()
    if let s = stdin {
        input.fileHandleForWriting.write(Data(s.utf8))
        try input.fileHandleForWriting.close()
    }
    // Read both pipes to the end on separate threads, so neither can fill up and block the child.
    let errData = Locked(Data())
    let done = DispatchSemaphore(value: 0)
    let errHandle = err.fileHandleForReading
    Thread.detachNewThread {
        let d = errHandle.readDataToEndOfFile()
        errData.withLock { $0 = d }
        done.signal()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    return CommandResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData.current, as: UTF8.self))
}

private let spawnLock = NSLock()

func signalProcess(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }

/// A child process whose stdout is read line by line (posix_spawn, so it can be killed at any
/// moment and its pipe closed under it). A watchdog SIGKILLs it after `guardSeconds`, so a hang
/// ends the test with a failure instead of blocking it forever.
final class Child: @unchecked Sendable {
    let pid: pid_t
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let finished = DispatchSemaphore(value: 0)
    let watchdogFired = Locked(false)

    init(_ executable: String, _ arguments: [String], environment: [String: String], guardSeconds: Int = 60) throws {
        var fds: [Int32] = [-1, -1]
        // Close-on-exec, and under one lock with the spawn, so children that other tests spawn
        // meanwhile do not inherit the write end (which would delay our EOF until they exit).
        spawnLock.lock()
        defer { spawnLock.unlock() }
        guard pipe(&fds) == 0 else { throw ChildError.spawn(errno) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // The child gets the default SIGPIPE action whatever the test runner does with it, so
        // closing the pipe under it ends it at its next report.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let env: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in env { free(e) } }
        var spawned: pid_t = 0
        let rc = posix_spawn(&spawned, executable, &actions, &attributes, argv, env)
        close(fds[1])
        guard rc == 0 else { close(fds[0]); throw ChildError.spawn(rc) }
        let pid = spawned
        self.pid = pid
        self.fd = fds[0]
        let finished = self.finished, fired = watchdogFired
        Thread.detachNewThread {
            if finished.wait(timeout: .now() + .seconds(guardSeconds)) == .timedOut {
                fired.withLock { $0 = true }
                signalProcess(pid, SIGKILL)
            }
        }
    }

    /// The next complete line of the child's stdout, or nil once it has closed it.
    func nextLine() -> String? {
        guard fd >= 0 else { return nil }
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<i], as: UTF8.self)
                buffer.removeSubrange(...i)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil } // EOF; an unterminated tail was never a whole report
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Every remaining complete line, up to EOF.
    func remainingLines() -> [String] {
        var out: [String] = []
        while let l = nextLine() { out.append(l) }
        return out
    }

    /// Closes our end of the child's stdout: its next write fails with SIGPIPE.
    func closeOutput() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    func kill(_ signal: Int32 = SIGKILL) { signalProcess(pid, signal) }

    enum Exit: Equatable { case code(Int32), signal(Int32) }

    /// Waits for the child to end (and stops the watchdog).
    func wait() -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        finished.signal()
        closeOutput()
        let sig = status & 0x7f
        return sig == 0 ? .code((status >> 8) & 0xff) : .signal(sig)
    }
}

// MARK: - Command-line test helpers

/// Writes NDJSON lines (one per element, each ended by a newline) to `path`.
func write(_ lines: [String], to path: String) throws {
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
}

/// `pathway stats --json` for a store: its event count.
func events(_ store: String) throws -> Int? {
    let r = try pathway(["stats", "--store", store, "--json"])
    #expect(r.status == 0, "stats: \(r.stderr)")
    return r.json?["events"] as? Int
}
