import Foundation
import EventLog
import LMDB
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Temporary stores

/// A fresh directory from `mkdtemp`, removed when `body` returns.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/eventlogtests-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    let dir = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

/// Opens the log at `dir`. The environment closes when the returned log (and every other
/// reference to its environment) is released; only then can the same path be opened again.
func openLog(_ dir: String, initialMapSize: Int? = nil) throws -> EventLog {
    var options = Environment.Options()
    if let initialMapSize { options.initialMapSize = initialMapSize }
    return try EventLog(environment: Environment(path: dir, options: options))
}

/// The fixed append instant the tests use (the ledger's clock is the caller's business).
let fixedInstant = "2026-01-02T03:04:05.000000Z"

/// A body of length-prefixed fields.
func body(_ fields: String...) -> [UInt8] {
    var out: [UInt8] = []
    for f in fields { Canonical.appendField(f, to: &out) }
    return out
}

extension EventLog {
    /// Appends `events` in one durable write transaction.
    @discardableResult
    func append(_ events: [Pending], at instant: String = fixedInstant) throws -> [Outcome] {
        try environment.write { txn in try append(events, appendedAt: instant, in: &txn) }
    }

    @discardableResult
    func append(_ event: Pending, at instant: String = fixedInstant) throws -> Outcome {
        try append([event], at: instant)[0]
    }

    var currentHead: Head { get throws { try environment.read { txn in try head(in: txn) } } }
}

// MARK: - Byte-for-byte snapshots

/// Every key and value of the log's four databases, and the head: two equal snapshots mean the
/// store's contents are byte-for-byte the same.
struct Snapshot: Equatable {
    var databases: [String: [[UInt8]]]
    var head: EventLog.Head
}

func snapshot(_ log: EventLog) throws -> Snapshot {
    let env = log.environment
    let dbs = try ["log", "streams", "ids", "meta"].map { name in
        (name, try env.database(name, flags: name == "streams" ? [.duplicates, .fixedSizeDuplicates] : []))
    }
    return try env.read { txn throws in
        var out: [String: [[UInt8]]] = [:]
        for (name, db) in dbs {
            out[name] = try txn.withCursor(db) { c throws in
                var entries: [[UInt8]] = []
                var entry = try c.first()
                while let (k, v) = entry {
                    entries.append(Array(k)); entries.append(Array(v))
                    entry = try c.next()
                }
                return entries
            }
        }
        return Snapshot(databases: out, head: try log.head(in: txn))
    }
}

// MARK: - Chain verification

/// What verification found wrong first.
struct ChainBreak: Error, Equatable, CustomStringConvertible {
    var position: UInt64
    var reason: String
    var description: String { "position \(position): \(reason)" }
}

/// A verified log: its head, and each stream's positions in version order.
struct VerifiedLog {
    var head: EventLog.Head
    var streams: [String: [UInt64]]
    var ids: [UInt64: String]
}

/// Recomputes the whole chain from the raw stored bytes in one snapshot and cross-checks the
/// indexes: keys gapless from 1; every record's hash is SHA-256(previous hash ‖ its canonical
/// bytes); every record decodes, names its own position, and has the next version of its stream;
/// the head is the last record; the stream index and the id index agree with the log.
/// Throws ``ChainBreak`` naming the first position that is wrong.
func verifyChain(_ log: EventLog) throws -> VerifiedLog {
    try log.environment.read { txn in try verifyChain(log, in: txn) }
}

func verifyChain<T: Transaction & ~Copyable>(_ log: EventLog, in txn: borrowing T) throws -> VerifiedLog {
    var previous = EventLog.Head.genesis.hash
    var expected: UInt64 = 1
    var versions: [String: UInt64] = [:]
    var streams: [String: [UInt64]] = [:]
    var ids: [UInt64: String] = [:]
    var failure: ChainBreak?
    try log.scanRaw(in: txn) { k, v in
        guard k.count == 8 else {
            failure = ChainBreak(position: expected, reason: "a key of \(k.count) bytes"); return false
        }
        let p = BigEndian.uint64(k)
        guard p == expected else {
            failure = ChainBreak(position: expected, reason: "missing (the next stored position is \(p))"); return false
        }
        guard v.count >= 33 else {
            failure = ChainBreak(position: p, reason: "a record of \(v.count) bytes"); return false
        }
        let hash = previous.withUnsafeBytes { prev in
            EventLog.chainHash(previous: prev, canonical: UnsafeRawBufferPointer(rebasing: v[33...]))
        }
        guard hash.elementsEqual(v[1..<33]) else {
            failure = ChainBreak(position: p, reason: "the stored hash does not match the recomputed chain"); return false
        }
        let event: StoredEvent
        do { event = try StoredEvent(bytes: v, key: p) } catch {
            failure = ChainBreak(position: p, reason: "does not decode: \(error)"); return false
        }
        guard event.position == p else {
            failure = ChainBreak(position: p, reason: "the record says position \(event.position)"); return false
        }
        let stream = event.streamString
        let version = (versions[stream] ?? 0) + 1
        guard event.version == version else {
            failure = ChainBreak(position: p, reason: "stream \(stream) version \(event.version), expected \(version)"); return false
        }
        versions[stream] = version
        streams[stream, default: []].append(p)
        ids[p] = event.idString
        previous = hash
        expected += 1
        return true
    }
    if let failure { throw failure }
    let last = expected - 1
    let head = try log.head(in: txn)
    guard head == EventLog.Head(position: last, hash: previous) else {
        throw ChainBreak(position: last, reason: "the head is \(head), the chain ends at \(last)")
    }
    var indexed: [String: [UInt64]] = [:]
    try log.scanStreams(in: txn) { k, positions in indexed[String(decoding: k, as: UTF8.self)] = positions }
    guard indexed == streams else { throw ChainBreak(position: last, reason: "the stream index disagrees with the log") }
    for (stream, positions) in streams {
        guard try log.version(of: stream, in: txn) == UInt64(positions.count),
              try log.positions(of: stream, in: txn) == positions else {
            throw ChainBreak(position: last, reason: "stream \(stream)'s version or positions disagree with the log")
        }
    }
    for (p, id) in ids where try log.position(ofID: id, in: txn) != p {
        throw ChainBreak(position: p, reason: "the id index does not point id \(id) here")
    }
    let counts = try log.counts(in: txn)
    guard counts.events == Int(last), counts.ids == Int(last), counts.streams == streams.count else {
        throw ChainBreak(position: last, reason: "counts \(counts) disagree with the log")
    }
    return VerifiedLog(head: head, streams: streams, ids: ids)
}

// MARK: - Randomness and threads


/// Runs `body` on `count` new threads (not the cooperative pool: these block) and waits for all.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> ThreadGroup {
    let group = ThreadGroup()
    for i in 0..<count {
        group.group.enter()
        Thread.detachNewThread { body(i); group.group.leave() }
    }
    return group
}

final class ThreadGroup: @unchecked Sendable {
    let group = DispatchGroup()
    func wait() { group.wait() }
}

// MARK: - Child processes

/// Where the build put the `LogAppender` executable: next to the running test binary.
func logAppenderPath() throws -> String {
    var dirs: [String] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        dirs.append((exe as NSString).deletingLastPathComponent)
    }
    let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    dirs.append(argv0.deletingLastPathComponent().path)
    let bundle = Bundle.main.bundleURL
    dirs.append(bundle.deletingLastPathComponent().path)
    dirs.append(bundle.path)
    for dir in dirs {
        // On macOS the test binary sits inside a .xctest bundle; walk up to the build directory.
        var d = dir
        for _ in 0..<4 {
            let candidate = d + "/LogAppender"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            d = (d as NSString).deletingLastPathComponent
        }
    }
    throw ChildError.notFound(dirs)
}

private let spawnLock = NSLock()

func signalProcess(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }

enum ChildError: Error, CustomStringConvertible {
    case notFound([String])
    case spawn(Int32)
    var description: String {
        switch self {
        case .notFound(let dirs): "LogAppender was not found next to the test binary (looked in \(dirs)); build it first"
        case .spawn(let rc): "posix_spawn failed: \(String(cString: strerror(rc)))"
        }
    }
}

/// A child process whose stdout is read line by line. A watchdog SIGKILLs it after `guardSeconds`,
/// so a hang ends the test with a failure instead of blocking it forever.
final class Child: @unchecked Sendable {
    let pid: pid_t
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let finished = DispatchSemaphore(value: 0)
    let watchdogFired = Locked(false)

    init(_ executable: String, _ arguments: [String], guardSeconds: Int = 120) throws {
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
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let env: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in env { free(e) } }
        var spawned: pid_t = 0
        let rc = posix_spawn(&spawned, executable, &actions, nil, argv, env)
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

    func kill(_ signal: Int32 = SIGKILL) { signalProcess(pid, signal) }

    enum Exit: Equatable { case code(Int32), signal(Int32) }

    /// Waits for the child to end (and stops the watchdog).
    func wait() -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        finished.signal()
        close(fd)
        let sig = status & 0x7f
        return sig == 0 ? .code((status >> 8) & 0xff) : .signal(sig)
    }
}
