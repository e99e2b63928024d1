import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every way LMDB can fail, with a message a person running the ledger can act on.
public struct LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The raw return code: an `MDB_*` code or an `errno`.
    public let code: Int32
    /// What the ledger was doing, e.g. "opening the store at /data/pathway-store".
    public let context: String

    public init(code: Int32, context: String) { self.code = code; self.context = context }

    public static func alreadyOpen(_ path: String) -> LMDBError { LMDBError(code: alreadyOpenCode, context: path) }
    /// Not an LMDB code: the same environment was asked for twice in one process.
    public static let alreadyOpenCode: Int32 = -40_000

    public var isMapFull: Bool { code == MDB_MAP_FULL }
    public var isNotFound: Bool { code == MDB_NOTFOUND }
    /// The file is not an LMDB environment this library can read: not one at all, damaged, or of
    /// another format version.
    public var isUnreadableFile: Bool {
        code == MDB_INVALID || code == MDB_CORRUPTED || code == MDB_VERSION_MISMATCH || code == MDB_PAGE_NOTFOUND
    }

    public var description: String {
        let what: String
        switch code {
        case LMDBError.alreadyOpenCode:
            what = "this store is already open in this process; open it once and share the handle"
        case MDB_KEYEXIST: what = "the key already exists (MDB_KEYEXIST)"
        case MDB_NOTFOUND: what = "no such key (MDB_NOTFOUND)"
        case MDB_PAGE_NOTFOUND: what = "a database page is missing: the data file is damaged or truncated (MDB_PAGE_NOTFOUND); restore it from a backup and run `pathway verify`"
        case MDB_CORRUPTED: what = "the data file is corrupted (MDB_CORRUPTED); restore it from a backup and run `pathway verify`"
        case MDB_PANIC: what = "LMDB hit a fatal error and the environment must be reopened (MDB_PANIC)"
        case MDB_VERSION_MISMATCH: what = "the store was written by an incompatible LMDB version (MDB_VERSION_MISMATCH)"
        case MDB_INVALID: what = "this is not an LMDB data file (MDB_INVALID); check the --store path"
        case MDB_MAP_FULL: what = "the store's map is full (MDB_MAP_FULL); the ledger grows it automatically, so this means growing failed: check free disk space"
        case MDB_DBS_FULL: what = "too many named databases (MDB_DBS_FULL); this is a bug in the ledger"
        case MDB_READERS_FULL: what = "too many concurrent readers (MDB_READERS_FULL); stale readers are cleared at open, so close other processes using the store"
        case MDB_TLS_FULL: what = "too many thread-local slots (MDB_TLS_FULL)"
        case MDB_TXN_FULL: what = "the transaction has too many dirty pages (MDB_TXN_FULL); import in smaller batches"
        case MDB_CURSOR_FULL: what = "cursor stack too deep (MDB_CURSOR_FULL): the data file may be damaged"
        case MDB_PAGE_FULL: what = "a page has no room (MDB_PAGE_FULL): this is a bug in the ledger"
        case MDB_MAP_RESIZED: what = "another process grew the store (MDB_MAP_RESIZED); retry"
        case MDB_INCOMPATIBLE: what = "a database was opened with incompatible flags (MDB_INCOMPATIBLE): the store was written by another program or version"
        case MDB_BAD_RSLOT: what = "invalid reader slot (MDB_BAD_RSLOT)"
        case MDB_BAD_TXN: what = "the transaction can no longer be used (MDB_BAD_TXN)"
        case MDB_BAD_VALSIZE: what = "a key or value has an unsupported size (MDB_BAD_VALSIZE); keys are at most 511 bytes"
        case MDB_BAD_DBI: what = "a database handle is not valid (MDB_BAD_DBI)"
        case ENOENT: what = "the directory does not exist (ENOENT); run `pathway init` or check --store"
        case EACCES: what = "permission denied (EACCES); check the store directory's permissions"
        case ENOSPC: what = "the disk is full (ENOSPC); free space and retry — nothing was written"
        case EAGAIN: what = "the store is locked by another process (EAGAIN)"
        case ENOMEM: what = "out of memory or address space (ENOMEM)"
        case EIO: what = "an I/O error from the disk (EIO)"
        default:
            if let p = mdb_strerror(code) { what = String(cString: p) + " (code \(code))" } else { what = "LMDB error \(code)" }
        }
        return context.isEmpty ? what : "\(context): \(what)"
    }
}

@inline(__always)
func check(_ rc: Int32, _ context: @autoclosure () -> String) throws {
    if rc != 0 { throw LMDBError(code: rc, context: context()) }
}
