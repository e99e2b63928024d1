import CLMDB

/// Byte views returned by LMDB point into the memory map and are valid only until the transaction
/// that produced them ends. Copy what must outlive it.
@inline(__always)
func view(_ v: MDB_val) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
}

@inline(__always)
func withVal<R>(_ bytes: UnsafeRawBufferPointer, _ body: (inout MDB_val) throws -> R) rethrows -> R {
    var v = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
    return try body(&v)
}

/// The reads both kinds of transaction offer.
public protocol Transaction: ~Copyable {
    var txn: OpaquePointer { get }
}

extension Transaction where Self: ~Copyable {
    /// The value stored under `key`, or nil. The view is valid only inside this transaction.
    public func get(_ db: Database, _ key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "reading from '\(db.name)'")
        return view(v)
    }

    public func get(_ db: Database, _ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try key.withUnsafeBytes { (k) in try get(db, k) }
    }

    /// Opens a cursor that lives for the duration of `body`.
    public func withCursor<R>(_ db: Database, _ body: (inout Cursor) throws -> R) throws -> R {
        var c: OpaquePointer?
        try check(mdb_cursor_open(txn, db.dbi, &c), "opening a cursor on '\(db.name)'")
        defer { mdb_cursor_close(c) }
        var cursor = Cursor(cursor: c!, db: db)
        return try body(&cursor)
    }

    /// Opens one cursor per database for the duration of `body`, to walk several databases side by
    /// side (verify compares each stored database with records rebuilt in one pass).
    public func withCursors<R>(_ dbs: [Database], _ body: (CursorSet) throws -> R) throws -> R {
        var opened: [OpaquePointer] = []
        defer { for c in opened { mdb_cursor_close(c) } }
        for db in dbs {
            var c: OpaquePointer?
            try check(mdb_cursor_open(txn, db.dbi, &c), "opening a cursor on '\(db.name)'")
            opened.append(c!)
        }
        return try body(CursorSet(cursors: opened, dbs: dbs))
    }

    /// Number of entries in a database.
    public func count(_ db: Database) throws -> Int {
        var st = MDB_stat()
        try check(mdb_stat(txn, db.dbi, &st), "reading statistics of '\(db.name)'")
        return st.ms_entries
    }
}

/// A read-only snapshot. It exists only inside ``Environment/read(_:)``.
public struct ReadTransaction: ~Copyable, Transaction {
    public let txn: OpaquePointer
    init(txn: OpaquePointer) { self.txn = txn }
}

/// The single write transaction. It exists only inside ``Environment/write(_:)``.
public struct WriteTransaction: ~Copyable, Transaction {
    public let txn: OpaquePointer
    init(txn: OpaquePointer) { self.txn = txn }

    public struct PutFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The key sorts after every key already there (`MDB_APPEND`): the log's fast path.
        public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
        /// With duplicates: the value sorts after the key's existing values (`MDB_APPENDDUP`).
        public static let appendDuplicate = PutFlags(rawValue: UInt32(MDB_APPENDDUP))
        /// Fail with `MDB_KEYEXIST` rather than overwrite (`MDB_NOOVERWRITE`).
        public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
        /// Through a cursor: replace the value at the cursor's position, whose key must be the one
        /// given (`MDB_CURRENT`) — no second search of the tree.
        public static let current = PutFlags(rawValue: UInt32(MDB_CURRENT))
    }

    public mutating func put(_ db: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                             flags: PutFlags = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(txn, db.dbi, &k, &v, flags.rawValue), "writing to '\(db.name)'")
    }

    public mutating func put(_ db: Database, _ key: [UInt8], _ value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { (k) in
            try value.withUnsafeBytes { (v) in try put(db, k, v, flags: flags) }
        }
    }

    /// Reserves `size` bytes for `key` and lets `fill` write them in place (`MDB_RESERVE`): no copy.
    public mutating func reserve(_ db: Database, _ key: UnsafeRawBufferPointer, size: Int, flags: PutFlags = [],
                                 fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: size, mv_data: nil)
        try check(mdb_put(txn, db.dbi, &k, &v, flags.rawValue | UInt32(MDB_RESERVE)), "writing to '\(db.name)'")
        fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: size))
    }

    /// Deletes `key` (all its values in a duplicates database). Returns false if it was not there.
    @discardableResult
    public mutating func delete(_ db: Database, _ key: UnsafeRawBufferPointer) throws -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(txn, db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "deleting from '\(db.name)'")
        return true
    }
    @discardableResult
    public mutating func delete(_ db: Database, _ key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { (k) in try delete(db, k) }
    }

    /// Empties a database, keeping it (`mdb_drop` with del = 0).
    public mutating func clear(_ db: Database) throws {
        try check(mdb_drop(txn, db.dbi, 0), "emptying '\(db.name)'")
    }
}

/// A cursor over one database, valid inside ``Transaction/withCursor(_:_:)``.
public struct Cursor: ~Copyable {
    let cursor: OpaquePointer
    public let db: Database

    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    @inline(__always)
    mutating func op(_ o: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil, value: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: key.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) })
        var v = MDB_val(mv_size: value?.count ?? 0, mv_data: value.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) })
        let rc = mdb_cursor_get(cursor, &k, &v, o)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "moving a cursor on '\(db.name)'")
        return (view(k), view(v))
    }

    public mutating func first() throws -> Entry? { try op(MDB_FIRST) }
    public mutating func last() throws -> Entry? { try op(MDB_LAST) }
    public mutating func next() throws -> Entry? { try op(MDB_NEXT) }
    public mutating func previous() throws -> Entry? { try op(MDB_PREV) }
    /// Positions at `key` exactly.
    public mutating func seek(exactly key: UnsafeRawBufferPointer) throws -> Entry? { try op(MDB_SET_KEY, key: key) }
    /// Positions at the first key at or after `key`.
    public mutating func seek(atOrAfter key: UnsafeRawBufferPointer) throws -> Entry? { try op(MDB_SET_RANGE, key: key) }
    /// In a duplicates database: the next value of the same key.
    public mutating func nextDuplicate() throws -> Entry? { try op(MDB_NEXT_DUP) }
    /// In a duplicates database: the last value of the current key.
    public mutating func lastDuplicate() throws -> Entry? { try op(MDB_LAST_DUP) }
    /// In a duplicates database: the first key with a value, skipping the current key's values.
    public mutating func nextKey() throws -> Entry? { try op(MDB_NEXT_NODUP) }

    /// In a database of fixed-size duplicates (`MDB_DUPFIXED`), with the cursor on a key's first
    /// value (`first()`, `nextKey()`): that key's values, as many as share the cursor's page, laid
    /// end to end (`MDB_GET_MULTIPLE`) — a whole run of values for one call instead of one each.
    /// `current` is the value the cursor stands on: a key with a single value keeps it in its
    /// node, with no page of duplicates, and LMDB then leaves the value as it was given.
    public mutating func duplicatesPage(current: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        var k = MDB_val()
        var v = MDB_val(mv_size: current.count, mv_data: UnsafeMutableRawPointer(mutating: current.baseAddress))
        try check(mdb_cursor_get(cursor, &k, &v, MDB_GET_MULTIPLE), "reading values of '\(db.name)'")
        return view(v)
    }

    /// After ``duplicatesPage(current:)``: the current key's next page of values
    /// (`MDB_NEXT_MULTIPLE`), or nil when it has no more.
    public mutating func nextDuplicatesPage() throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(), v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT_MULTIPLE)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "reading values of '\(db.name)'")
        return view(v)
    }

    /// Number of values under the current key (duplicates databases).
    public func duplicateCount() throws -> Int {
        var n = 0
        try check(mdb_cursor_count(cursor, &n), "counting values in '\(db.name)'")
        return n
    }

    /// Deletes the entry at the cursor's position (write transactions only); the cursor then
    /// stands before the entry that followed it.
    public mutating func deleteCurrent() throws {
        try check(mdb_cursor_del(cursor, 0), "deleting from '\(db.name)'")
    }

    /// Writes through the cursor (write transactions only).
    public mutating func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: WriteTransaction.PutFlags = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_cursor_put(cursor, &k, &v, flags.rawValue), "writing to '\(db.name)'")
    }
}

/// Cursors over several databases, valid only inside ``Transaction/withCursors(_:_:)``.
public struct CursorSet {
    let cursors: [OpaquePointer]
    let dbs: [Database]

    func op(_ i: Int, _ o: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Cursor.Entry? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: key.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) })
        var v = MDB_val()
        let rc = mdb_cursor_get(cursors[i], &k, &v, o)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "moving a cursor on '\(dbs[i].name)'")
        return (view(k), view(v))
    }
    public func first(_ i: Int) throws -> Cursor.Entry? { try op(i, MDB_FIRST) }
    public func next(_ i: Int) throws -> Cursor.Entry? { try op(i, MDB_NEXT) }

    /// Positions cursor `i` at `key` exactly (nil when absent). A cursor already on the leaf that
    /// holds `key` searches only that page.
    public func seek(_ i: Int, exactly key: UnsafeRawBufferPointer) throws -> Cursor.Entry? {
        try op(i, MDB_SET_KEY, key: key)
    }

    /// Deletes `key` through cursor `i` when it is there (write transactions only); whether it was.
    @discardableResult
    public func delete(_ i: Int, _ key: UnsafeRawBufferPointer) throws -> Bool {
        guard try seek(i, exactly: key) != nil else { return false }
        try check(mdb_cursor_del(cursors[i], 0), "deleting from '\(dbs[i].name)'")
        return true
    }

    /// Writes through cursor `i` (write transactions only). With `.append`, a cursor that stays on
    /// the last page appends without searching the tree from its root: a rebuild writes a million
    /// records per database this way.
    @inline(__always)
    public func put(_ i: Int, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: WriteTransaction.PutFlags = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_cursor_put(cursors[i], &k, &v, flags.rawValue), "writing to '\(dbs[i].name)'")
    }
}

/// Starts loading memory the caller is about to read (a hint; never faults). A log scan decodes one
/// record while the next one's cache lines arrive: decoding is a chain of dependent loads (each
/// field's length says where the next one starts), so without the hint every record waits on
/// memory several times.
@inlinable @inline(__always) public func prefetch(_ bytes: UnsafeRawBufferPointer) {
    if let base = bytes.baseAddress { pathwayledger_prefetch(base, Swift.min(bytes.count, 512)) }
}

/// Big-endian `UInt64` keys sort in numeric order, which `MDB_APPEND` and range scans rely on.
public enum BigEndian {
    @inline(__always) public static func bytes(_ v: UInt64) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }
    @inline(__always) public static func withBytes<R>(_ v: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: v.bigEndian) { try body($0) }
    }
    @inline(__always) public static func uint64(_ b: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[offset..<(offset + 8)])) }
        return UInt64(bigEndian: v)
    }
    @inline(__always) public static func uint32(_ b: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt32 {
        var v: UInt32 = 0
        withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[offset..<(offset + 4)])) }
        return UInt32(bigEndian: v)
    }
}
