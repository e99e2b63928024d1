import CLMDB
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One LMDB environment: a store directory holding a data file and a lock file.
///
/// The rules this type enforces, because LMDB itself leaves them to the caller:
/// - it is opened with `MDB_NOTLS`, so a read transaction is not bound to a thread;
/// - one environment per path per process (LMDB forbids opening it twice);
/// - stale reader slots left by killed processes are cleared at open (`mdb_reader_check`);
/// - writes are serialized through one lock: there is exactly one writer at a time;
/// - transactions live only inside a synchronous closure, so they cannot escape it or be held
///   across an `await`;
/// - a write that fills the map grows it and runs again, so the ledger never stops because a
///   preset size was reached.
public final class Environment: @unchecked Sendable {
    public struct Options: Sendable {
        /// The initial map size. It grows by doubling whenever a write needs more.
        /// The initial map size. It grows by doubling whenever a write needs more. The map is only
        /// address space: the file grows as pages are written, so a generous start costs nothing and
        /// spares big imports the re-runs that growing mid-transaction needs.
        public var initialMapSize: Int = 1 << 30
        public var maxDatabases: UInt32 = 32
        public var maxReaders: UInt32 = 126
        /// Whether a commit returns only once it is on disk (LMDB's default). Off (`MDB_NOSYNC`),
        /// a commit hands its pages to the kernel and returns: a killed process loses nothing,
        /// but a power loss or kernel crash can lose or tear what was not yet flushed — only for
        /// data that can be rebuilt from elsewhere, and only with a way to tell (see ``sync()``).
        public var syncsEachCommit = true
        public init() {}
    }

    let env: OpaquePointer
    public let path: String
    /// Held for the whole of every write: one writer at a time.
    private let writer = Mutex<Void>(())
    /// Readers and writers hold it shared; growing the map holds it exclusively, because LMDB
    /// allows `mdb_env_set_mapsize` only while this process has no transaction open. It prefers
    /// the exclusive side: with glibc's default reader preference a steady stream of readers
    /// starves `grow`, and every append waits behind them.
    private let resizeLock: UnsafeMutablePointer<pthread_rwlock_t>
    /// Set on a thread while it holds `resizeLock` shared, so a transaction nested inside another
    /// on the same thread does not take it again (behind a waiting `grow` that would deadlock).
    private let lockHolder: pthread_key_t
    private let databases = Mutex<[String: Database]>([:])

    private static let openPaths = Mutex<Set<String>>([])
    /// The data file's resolved path, to find its mapping in `/proc/self/maps`.
    private let dataFile: String

    /// Opens (creating if needed) the store directory at `path`.
    public init(path: String, options: Options = Options()) throws {
        var made = mkdir(path, 0o755)
        if made != 0 && errno == EEXIST { made = 0 }
        if made != 0 { throw LMDBError(code: errno, context: "creating the store directory \(path)") }
        let canonical: String = {
            guard let r = realpath(path, nil) else { return path }
            defer { free(r) }
            return String(cString: r)
        }()
        dataFile = canonical + "/data.mdb"
        let inserted = Environment.openPaths.withLock { $0.insert(canonical).inserted }
        guard inserted else { throw LMDBError.alreadyOpen(canonical) }

        var e: OpaquePointer?
        do {
            try check(mdb_env_create(&e), "creating the LMDB environment")
            guard let env = e else { throw LMDBError(code: ENOMEM, context: "creating the LMDB environment") }
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "configuring \(path)")
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "configuring \(path)")
            try check(mdb_env_set_mapsize(env, options.initialMapSize), "configuring \(path)")
            let flags = UInt32(MDB_NOTLS) | (options.syncsEachCommit ? 0 : UInt32(MDB_NOSYNC))
            try check(mdb_env_open(env, path, flags, 0o644), "opening the store at \(path)")
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "clearing stale readers in \(path)")
            self.env = env
        } catch {
            if let env = e { mdb_env_close(env) }
            _ = Environment.openPaths.withLock { $0.remove(canonical) }
            throw error
        }
        self.path = canonical
        resizeLock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(resizeLock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        lockHolder = key
    }

    deinit {
        mdb_env_close(env)
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
        pthread_key_delete(lockHolder)
        let p = path
        _ = Environment.openPaths.withLock { $0.remove(p) }
    }

    /// The current map size in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Tells the kernel this process no longer needs the file pages it has read through the memory
    /// map, so they leave its resident set (they stay in the page cache, and the next read maps them
    /// again without touching the disk).
    ///
    /// Why: a full scan of a 10 M-event log touches ≈ 3.4 GB of mapped pages, and without this they
    /// all count as the scanning process's resident memory. Long scans (rebuilds, verify) call this
    /// between their read transactions. LMDB maps the file read-only (no `MDB_WRITEMAP`), so no page
    /// is ever dirty and dropping them loses nothing; the shared resize lock keeps the map from being
    /// replaced meanwhile.
    public func releaseMappedPages() {
        #if os(Linux)
        let took = lockShared()
        defer { unlockShared(took) }
        // LMDB does not export its map address (`me_mapaddr` is set only with MDB_FIXEDMAP), so
        // find the data file's mapping in /proc/self/maps.
        guard let f = fopen("/proc/self/maps", "r") else { return }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, f) > 0 {
            guard let l = line else { break }
            let text = String(cString: l)
            guard text.hasSuffix(dataFile + "\n") else { continue }
            let range = text.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start,
                  let base = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            _ = madvise(base, Int(end - start), MADV_DONTNEED)
        }
        #endif
    }

    /// Size of the data file on disk, in bytes.
    public var fileSize: Int {
        var st = stat()
        return stat(path + "/data.mdb", &st) == 0 ? Int(st.st_size) : 0
    }

    /// Opens (creating if needed) a named database. Handles are cached: LMDB wants each opened once.
    public func database(_ name: String, flags: Database.Flags = []) throws -> Database {
        if let db = databases.withLock({ $0[name] }) { return db }
        let db = try write { (txn: inout WriteTransaction) throws -> Database in
            var dbi = MDB_dbi()
            try check(mdb_dbi_open(txn.txn, name, UInt32(MDB_CREATE) | flags.rawValue, &dbi), "opening database '\(name)'")
            return Database(dbi: dbi, name: name, flags: flags)
        }
        databases.withLock { $0[name] = db }
        return db
    }

    /// Deletes those of the named databases that exist, in one write transaction (nothing is
    /// written when none does); returns how many it deleted. For retiring a layout: a database
    /// deleted here must not have been opened through ``database(_:flags:)`` in this process.
    @discardableResult
    public func dropDatabasesIfPresent(_ names: [String]) throws -> Int {
        let present = try presentDatabases(names)
        guard !present.isEmpty else { return 0 }
        try write { txn in
            for name in present {
                var dbi = MDB_dbi()
                try check(mdb_dbi_open(txn.txn, name, 0, &dbi), "opening database '\(name)'")
                try check(mdb_drop(txn.txn, dbi, 1), "deleting database '\(name)'")
            }
        }
        return present.count
    }

    /// Those of the named databases that exist, without creating any (a read transaction).
    public func presentDatabases(_ names: [String]) throws -> [String] {
        try read { txn in
            try names.filter { name in
                var dbi = MDB_dbi()
                let rc = mdb_dbi_open(txn.txn, name, 0, &dbi)
                if rc == MDB_NOTFOUND { return false }
                try check(rc, "looking for database '\(name)'")
                return true
            }
        }
    }

    /// Runs `body` in a read-only snapshot. Keep it short: an open reader pins old pages.
    public func read<T>(_ body: (borrowing ReadTransaction) throws -> T) throws -> T {
        var t: OpaquePointer?
        var took = false
        while true {
            took = lockShared()
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &t)
            if rc == 0 { break }
            unlockShared(took)
            if rc == MDB_MAP_RESIZED { try adoptGrownMap(took); continue }
            throw LMDBError(code: rc, context: "starting a read transaction on \(path)")
        }
        defer { unlockShared(took) }
        let txn = ReadTransaction(txn: t!)
        defer { mdb_txn_abort(t) }
        return try body(txn)
    }

    /// Runs `body` in the one write transaction and commits it (synced to disk unless the
    /// environment was opened without ``Options/syncsEachCommit``).
    ///
    /// If the map fills up, the transaction is aborted, the map doubled and `body` run again from
    /// the start; so `body` must change nothing but the transaction (or undo its own effects when
    /// it is re-run). If `body` throws, nothing is written.
    public func write<T>(_ body: (inout WriteTransaction) throws -> T) throws -> T {
        try writer.withLock { _ in
            while true {
                let took = lockShared()
                var t: OpaquePointer?
                var rc = mdb_txn_begin(env, nil, 0, &t)
                if rc != 0 {
                    unlockShared(took)
                    if rc == MDB_MAP_RESIZED { try adoptGrownMap(took); continue }
                    throw LMDBError(code: rc, context: "starting a write transaction on \(path)")
                }
                var txn = WriteTransaction(txn: t!)
                let result: T
                do {
                    result = try body(&txn)
                } catch let e as LMDBError where e.isMapFull {
                    mdb_txn_abort(t)
                    unlockShared(took)
                    try grow(took)
                    continue
                } catch {
                    mdb_txn_abort(t)
                    unlockShared(took)
                    throw error
                }
                rc = mdb_txn_commit(t)
                unlockShared(took)
                if rc == MDB_MAP_FULL { try grow(took); continue }
                try check(rc, "committing to \(path)")
                return result
            }
        }
    }

    /// Takes the resize lock shared, unless this thread already holds it (a transaction nested in
    /// another); returns whether it took it.
    private func lockShared() -> Bool {
        if pthread_getspecific(lockHolder) != nil { return false }
        pthread_rwlock_rdlock(resizeLock)
        pthread_setspecific(lockHolder, UnsafeRawPointer(bitPattern: 1))
        return true
    }

    private func unlockShared(_ took: Bool) {
        guard took else { return }
        pthread_setspecific(lockHolder, nil)
        pthread_rwlock_unlock(resizeLock)
    }

    /// Another process grew the map past ours (`MDB_MAP_RESIZED`): adopt its size. This remaps the
    /// file, so it needs the resize lock exclusively: no other thread may be inside a transaction.
    private func adoptGrownMap(_ tookLock: Bool) throws {
        guard tookLock else {
            throw LMDBError(code: MDB_MAP_RESIZED, context: "starting a transaction nested in another on \(path)")
        }
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        try check(mdb_env_set_mapsize(env, 0), "adopting the map size another process set for \(path)")
    }

    /// Doubles the map. Called with no transaction of ours open (the writer lock is held, and the
    /// exclusive resize lock waits for readers to finish).
    private func grow(_ tookLock: Bool) throws {
        guard tookLock else {
            throw LMDBError(code: MDB_MAP_FULL, context: "writing inside a read transaction on \(path), which cannot grow the map")
        }
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        let next = mapSize * 2
        try check(mdb_env_set_mapsize(env, next), "growing the store's map to \(next >> 20) MiB")
    }

    /// Makes the map at least `bytes` large before a big write, so it does not fill mid-way (a
    /// transaction that fills the map has to be aborted and run again). Call it with no
    /// transaction open on this thread.
    public func reserve(atLeast bytes: Int) throws {
        try writer.withLock { _ in
            pthread_rwlock_wrlock(resizeLock)
            defer { pthread_rwlock_unlock(resizeLock) }
            guard mapSize < bytes else { return }
            let page = 1 << 20
            let target = (bytes + page - 1) / page * page
            try check(mdb_env_set_mapsize(env, target), "growing the store's map to \(target >> 20) MiB")
        }
    }

    /// Flushes everything to disk (for callers that committed with syncing relaxed).
    public func sync() throws { try check(mdb_env_sync(env, 1), "syncing \(path)") }

    /// Copies the environment into `directory` (a consistent snapshot, compacted).
    public func copy(to directory: String) throws {
        try check(mdb_env_copy2(env, directory, UInt32(MDB_CP_COMPACT)), "copying the store to \(directory)")
    }
}

/// A named database inside an environment.
public struct Database: Sendable, Hashable {
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Several values per key, kept sorted (`MDB_DUPSORT`).
        public static let duplicates = Flags(rawValue: UInt32(MDB_DUPSORT))
        /// With `duplicates`: every value has the same size (`MDB_DUPFIXED`).
        public static let fixedSizeDuplicates = Flags(rawValue: UInt32(MDB_DUPFIXED))
    }
    let dbi: MDB_dbi
    public let name: String
    public let flags: Flags
}
