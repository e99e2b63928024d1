import LMDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The projections' own LMDB environment, `STORE/views`, beside the log's (`STORE/data.mdb`).
///
/// Why two environments: an LMDB commit that must be durable flushes every page the transaction
/// dirtied, and each tree it touched costs about its depth in pages, however small the change.
/// With the projections in the log's environment, keeping them current added ~9.5 pages to the
/// ~14.5 a durable single append writes, and a batch's quality counters ~1,850 — all flushed
/// before the append could be acknowledged. Nothing in a projection needs that: each is a pure
/// fold of the log, which is durable on its own. So the views commit without an fsync
/// (`MDB_NOSYNC`) right after the log's commit, and only the log's pages are on the append's path
/// to disk.
///
/// What that costs, and how it is made safe:
/// - A killed process loses nothing: its commits are in the kernel's page cache, which outlives it.
///   The views' checkpoint says how far they got, and the next open catches up from there.
/// - A power loss or kernel crash can lose the views' last commits or tear them (LMDB without
///   fsync does not order its page writes). So before its first write, every process that writes
///   the views leaves a durable marker, `views/unsynced-PID`, holding the machine's boot id; it
///   flushes the views and removes its marker when it closes. (A process that only reads writes
///   no marker.) An open that finds a marker
///   from an earlier boot knows the machine went down with view pages unflushed: it discards the
///   views, and they are rebuilt from the log. A marker from this boot whose process is gone (a
///   `kill -9`) is harmless: its pages are in the page cache; the views are flushed and it is
///   removed.
/// - Where the boot id cannot be read (not Linux), the views commit durably, as the log does.
/// - A views file LMDB cannot read at all (damaged by anything else) is discarded the same way.
final class Views: @unchecked Sendable {
    let environment: Environment
    private let directory: String
    /// The machine's boot id (nil: the views commit durably, and no marker is needed).
    private let boot: String?
    /// This process's marker, once written (before its first write to the views).
    private let marker = Mutex<String?>(nil)
    /// Why the views were started afresh at open, if they were (they are then rebuilt from the log).
    private(set) var discarded: String? = nil

    /// The directory of a store's views.
    static func directory(ofStore path: String) -> String { path + "/views" }

    init(store path: String, options: Environment.Options) throws {
        let dir = Views.directory(ofStore: path)
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw LedgerError.viewsUnavailable(dir, reason: String(cString: strerror(errno)))
        }
        directory = dir
        boot = Views.bootID()
        guard let boot else {
            var durable = options
            durable.syncsEachCommit = true
            (environment, discarded) = try Views.openEnvironment(dir, options: durable)
            return
        }
        // One opener at a time decides about the markers (two processes starting after a reboot
        // must not both discard the views, one of them while the other writes them).
        let lockFD = open(dir + "/markers.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw LedgerError.viewsUnavailable(dir, reason: String(cString: strerror(errno))) }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        defer { flock(lockFD, LOCK_UN) }

        var fromEarlierBoot = false
        var leftByDeadProcesses: [String] = []
        for (name, content) in Views.markers(in: dir) {
            if content != boot { fromEarlierBoot = true; continue }
            let pid = Int32(name.dropFirst("unsynced-".count)) ?? 0
            if pid != getpid() && (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) { leftByDeadProcesses.append(name) }
        }
        if fromEarlierBoot {
            // The machine went down with view pages not flushed: what the views' file says cannot be
            // trusted. An empty environment makes every projection rebuild from the log.
            Views.discard(dir)
            for (name, _) in Views.markers(in: dir) { unlink(dir + "/" + name) }
            leftByDeadProcesses = []
            discarded = "the machine went down (a power loss or crash) before they were written to disk"
        }
        // A new environment's first pages, written when it is opened, are not synced and carry no
        // marker: a power loss can leave that file empty or torn, which `openEnvironment` discards.
        var unsynced = options
        unsynced.syncsEachCommit = false
        let (env, unreadable) = try Views.openEnvironment(dir, options: unsynced)
        environment = env
        if discarded == nil { discarded = unreadable }
        if !leftByDeadProcesses.isEmpty {
            try environment.sync()
            for name in leftByDeadProcesses { unlink(dir + "/" + name) }
        }
    }

    /// Opens the views' environment; one whose file LMDB cannot read (damaged, or not LMDB at all)
    /// is discarded and started afresh — it holds nothing the log does not, and the engine
    /// rebuilds every projection into it.
    /// Also returns why it was discarded, if it was.
    static func openEnvironment(_ dir: String, options: Environment.Options) throws -> (Environment, String?) {
        do {
            return (try Environment(path: dir, options: options), nil)
        } catch let e as LMDBError where e.isUnreadableFile {
            discard(dir)
            return (try Environment(path: dir, options: options), "their file could not be read (\(e))")
        }
    }

    /// Removes the views' data and lock files.
    static func discard(_ dir: String) {
        unlink(dir + "/data.mdb")
        unlink(dir + "/lock.mdb")
    }

    /// Leaves this process's marker on disk, once, before its first write to the views.
    func prepareToWrite() throws {
        guard let boot else { return }
        try marker.withLock { m in
            guard m == nil else { return }
            let file = directory + "/unsynced-\(getpid())"
            try Views.writeDurably(file, boot, directory: directory)
            m = file
        }
    }

    /// Flushes the views and removes this process's marker: everything they hold is on disk.
    deinit {
        if let file = marker.withLock({ $0 }), (try? environment.sync()) != nil { unlink(file) }
    }

    /// The machine's boot id, which changes at every boot (Linux), or nil.
    static func bootID() -> String? {
        guard let bytes = contents(of: "/proc/sys/kernel/random/boot_id", upTo: 64) else { return nil }
        let id = String(decoding: bytes.filter { $0 > 0x20 }, as: UTF8.self)
        return id.isEmpty ? nil : id
    }

    /// The first `limit` bytes of a small file (nil when it cannot be read or is empty).
    static func contents(of path: String, upTo limit: Int) -> ArraySlice<UInt8>? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: limit)
        let n = read(fd, &buf, limit)
        return n > 0 ? buf[0..<n] : nil
    }

    /// The markers in `dir`: file name and content.
    static func markers(in dir: String) -> [(String, String)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [(String, String)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix("unsynced-") else { continue }
            let content = contents(of: dir + "/" + name, upTo: 128).map { String(decoding: $0, as: UTF8.self) } ?? ""
            out.append((name, content))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Writes `content` to `file` and makes it and its directory entry durable.
    static func writeDurably(_ file: String, _ content: String, directory: String) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LedgerError.viewsUnavailable(directory, reason: String(cString: strerror(errno))) }
        let bytes = Array(content.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else {
            throw LedgerError.viewsUnavailable(directory, reason: "could not write \(file)")
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
