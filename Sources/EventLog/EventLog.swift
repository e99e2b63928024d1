import CChainHash
import LMDB

/// The append-only, hash-chained event log.
///
/// Every event gets a gapless global position (1, 2, 3, … as big-endian `UInt64` keys written with
/// `MDB_APPEND`) and a gapless version within its stream. Three named databases hold it:
/// - `log`: position → stored event (see ``StoredEvent``);
/// - `streams`: stream → its positions, as sorted fixed-size duplicates, so a stream's version is
///   the number of its values and one episode is read without scanning the log;
/// - `ids`: client id → position, for idempotency.
///
/// The log knows nothing of pathways: a body is opaque bytes, and the append instant is text given
/// by the caller (the ledger's clock, which tests fix).
public final class EventLog: Sendable {
    public let environment: Environment
    let log: Database
    let streams: Database
    let ids: Database
    let meta: Database

    public init(environment: Environment) throws {
        self.environment = environment
        log = try environment.database("log")
        streams = try environment.database("streams", flags: [.duplicates, .fixedSizeDuplicates])
        ids = try environment.database("ids")
        meta = try environment.database("meta")
        try environment.write { txn in
            let key = Array("log-format".utf8)
            if let v = try txn.get(meta, key) {
                guard v.count == 1, v[0] == StoredEvent.formatVersion else {
                    throw LogError.unknownFormat(position: 0, version: v.first ?? 0)
                }
            } else {
                try txn.put(meta, key, [StoredEvent.formatVersion])
            }
        }
    }

    /// One event to append.
    public struct Pending: Sendable {
        public var id: String
        public var stream: String
        public var body: [UInt8]
        /// When set, the append fails unless the stream is at exactly this version (0 = new stream).
        public var expectedVersion: UInt64?
        public init(id: String, stream: String, body: [UInt8], expectedVersion: UInt64? = nil) {
            self.id = id; self.stream = stream; self.body = body; self.expectedVersion = expectedVersion
        }
    }

    public enum Outcome: Equatable, Sendable {
        case appended(position: UInt64, version: UInt64)
        /// Already stored with identical content: nothing was written.
        case duplicate(position: UInt64)
        public var position: UInt64 {
            switch self { case .appended(let p, _), .duplicate(let p): p }
        }
    }

    /// The newest event's position and chain hash (0 and 32 zero bytes for an empty log).
    public struct Head: Equatable, Sendable, CustomStringConvertible {
        public var position: UInt64
        public var hash: [UInt8]
        public static let genesis = Head(position: 0, hash: [UInt8](repeating: 0, count: 32))
        /// `POSITION:HASH`, what an auditor writes down.
        public var anchor: String { "\(position):\(Hex.encode(hash))" }
        public var description: String { anchor }
        public init(position: UInt64, hash: [UInt8]) { self.position = position; self.hash = hash }
    }

    public func head<T: Transaction & ~Copyable>(in txn: borrowing T) throws -> Head {
        try txn.withCursor(log) { c in
            guard let (k, v) = try c.last() else { return Head.genesis }
            let p = BigEndian.uint64(k)
            guard v.count >= 33 else { throw LogError.corrupt(position: p, reason: "record shorter than its header") }
            return Head(position: p, hash: Array(v[1..<33]))
        }
    }

    /// Appends `events` in order inside the caller's write transaction: all of them or, if any
    /// throws, none (the caller's transaction is aborted).
    public func append(_ events: [Pending], appendedAt: String, in txn: inout WriteTransaction) throws -> [Outcome] {
        var head = try head(in: txn)
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(events.count)
        var versions: [String: UInt64] = [:]
        let batch = BatchIndexes()
        for e in events {
            let outcome = try appendOne(e, appendedAt: appendedAt, head: &head, versions: &versions, batch: batch, in: &txn)
            outcomes.append(outcome)
        }
        try writeIndexes(batch, in: &txn)
        return outcomes
    }

    /// Appends one event; `head`, `versions` and `batch` carry state between the events of one
    /// batch. The event's `ids` and `streams` entries go into `batch`, and
    /// ``writeIndexes(_:in:)`` must write them before the transaction commits.
    /// `idKnownAbsent`: the caller has just looked the id up in this transaction and found nothing,
    /// so the lookup is not repeated.
    public func appendOne(_ e: Pending, appendedAt: String, head: inout Head, versions: inout [String: UInt64],
                          batch: BatchIndexes, idKnownAbsent: Bool = false, in txn: inout WriteTransaction) throws -> Outcome {
        var current: UInt64? = versions[e.stream]
        let outcome = try appendOne(e, appendedAt: appendedAt, head: &head, version: &current, batch: batch,
                                    idKnownAbsent: idKnownAbsent, in: &txn)
        if case .appended(_, let v) = outcome { versions[e.stream] = v }
        return outcome
    }

    /// The same, for a caller that keeps each stream's version itself: `version` is the stream's
    /// current version, or nil when the caller does not know it yet (it is then read from the
    /// stream index, which holds the versions from before the batch); an appended event leaves
    /// the new version in it.
    public func appendOne(_ e: Pending, appendedAt: String, head: inout Head, version streamVersion: inout UInt64?,
                          batch: BatchIndexes, idKnownAbsent: Bool = false, in txn: inout WriteTransaction) throws -> Outcome {
        guard e.id.utf8.count <= 511, !e.id.isEmpty else { throw LogError.keyTooLong(field: "id", length: e.id.utf8.count) }
        guard e.stream.utf8.count <= 511, !e.stream.isEmpty else { throw LogError.keyTooLong(field: "stream", length: e.stream.utf8.count) }
        var idKey = e.id
        if !idKnownAbsent, let p = try position(ofID: e.id, batch: batch, in: txn) {
            guard let raw = try BigEndian.withBytes(p, { try txn.get(log, $0) }) else {
                throw LogError.corrupt(position: p, reason: "the id index points at a missing event")
            }
            let stored = try StoredEvent(bytes: raw, key: p)
            let same = stored.stream.elementsEqual(e.stream.utf8) && e.body.withUnsafeBytes { stored.body.elementsEqual($0) }
            if same { return .duplicate(position: p) }
            throw LogError.idConflict(id: e.id, position: p)
        }
        let current: UInt64
        if let v = streamVersion { current = v } else { current = try version(of: e.stream, in: txn) }
        if let expected = e.expectedVersion, expected != current {
            throw LogError.versionConflict(stream: e.stream, expected: expected, actual: current)
        }
        let position = head.position + 1
        let version = current + 1
        let canonical = e.body.withUnsafeBytes {
            Canonical.bytes(position: position, version: version, appendedAt: appendedAt, id: e.id, stream: e.stream, body: $0)
        }
        let hash = EventLog.chainHash(previous: head.hash, canonical: canonical)
        try BigEndian.withBytes(position) { key in
            try txn.reserve(log, key, size: 33 + canonical.count, flags: .append) { out in
                out[0] = StoredEvent.formatVersion
                out.baseAddress!.advanced(by: 1).copyMemory(from: hash, byteCount: 32)
                canonical.withUnsafeBytes { out.baseAddress!.advanced(by: 33).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
        }
        idKey.withUTF8 { batch.insert(id: UnsafeRawBufferPointer($0), position: position) }
        head = Head(position: position, hash: hash)
        streamVersion = version
        return .appended(position: position, version: version)
    }

    /// The chain: hashₙ = SHA-256(hashₙ₋₁ ‖ SHA-256(canonical bytesₙ)).
    ///
    /// Hashing the event's digest rather than its bytes into the link means one episode can be
    /// checked against a published anchor offline with only the *digests* of the other episodes'
    /// events in between — an export bundle proves integrity without disclosing anyone else's data.
    public static func chainHash(previous: [UInt8], canonical: [UInt8]) -> [UInt8] {
        canonical.withUnsafeBytes { c in previous.withUnsafeBytes { p in chainHash(previous: p, canonical: c) } }
    }
    public static func chainHash(previous: UnsafeRawBufferPointer, canonical: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, n in
            pl_chain_hash(previous.baseAddress!.assumingMemoryBound(to: UInt8.self), canonical.baseAddress, canonical.count, out.baseAddress!)
            n = 32
        }
    }
    /// The chain hash written into `out` (32 bytes) without allocating: the verifier's hot path.
    /// `previous` and `out` may be the same memory.
    @inline(__always)
    public static func chainHash(previous: UnsafeRawBufferPointer, canonical: UnsafeRawBufferPointer,
                                 into out: UnsafeMutableRawBufferPointer) {
        pl_chain_hash(previous.baseAddress!.assumingMemoryBound(to: UInt8.self), canonical.baseAddress, canonical.count,
                      out.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// Two independent links at once, each written into its `out` (32 bytes): with the CPU's SHA
    /// extensions their rounds interleave, about 1.5 × the throughput of two calls. For a verifier,
    /// whose links are each checked against the stored previous hash and so do not wait on each other.
    @inline(__always)
    public static func chainHashes(previous a: UnsafeRawBufferPointer, canonical ca: UnsafeRawBufferPointer,
                                   into outA: UnsafeMutableRawBufferPointer,
                                   previous b: UnsafeRawBufferPointer, canonical cb: UnsafeRawBufferPointer,
                                   into outB: UnsafeMutableRawBufferPointer) {
        pl_chain_hash2(a.baseAddress!.assumingMemoryBound(to: UInt8.self), ca.baseAddress, ca.count,
                       outA.baseAddress!.assumingMemoryBound(to: UInt8.self),
                       b.baseAddress!.assumingMemoryBound(to: UInt8.self), cb.baseAddress, cb.count,
                       outB.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// SHA-256 of an event's canonical bytes.
    public static func contentDigest(_ canonical: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, n in
            pl_sha256(canonical.baseAddress, canonical.count, out.baseAddress!)
            n = 32
        }
    }
    /// One link of the chain: SHA-256(previous hash ‖ digest).
    public static func link(previous: UnsafeRawBufferPointer, digest: UnsafeRawBufferPointer) -> [UInt8] {
        var buffer = [UInt8](previous)
        buffer.append(contentsOf: digest)
        return buffer.withUnsafeBytes { b in
            [UInt8](unsafeUninitializedCapacity: 32) { out, n in
                pl_sha256(b.baseAddress, b.count, out.baseAddress!)
                n = 32
            }
        }
    }

    /// Whether SHA-256 runs on the CPU's SHA extensions here (for benchmark reports).
    public static var hashUsesCPUExtensions: Bool { pl_sha256_uses_cpu_extensions() != 0 }

    /// The stream's current version (the number of events in it).
    public func version<T: Transaction & ~Copyable>(of stream: String, in txn: borrowing T) throws -> UInt64 {
        var s = stream
        return try s.withUTF8 { key in
            try txn.withCursor(streams) { c in
                guard try c.seek(exactly: UnsafeRawBufferPointer(key)) != nil else { return 0 }
                return UInt64(try c.duplicateCount())
            }
        }
    }

    /// The stream's positions in version order.
    public func positions<T: Transaction & ~Copyable>(of stream: String, in txn: borrowing T) throws -> [UInt64] {
        var s = stream
        return try s.withUTF8 { key in
            try txn.withCursor(streams) { c in
                var out: [UInt64] = []
                var entry = try c.seek(exactly: UnsafeRawBufferPointer(key))
                while let (_, v) = entry {
                    out.append(BigEndian.uint64(v))
                    entry = try c.nextDuplicate()
                }
                return out
            }
        }
    }

    /// The position an id was appended at, if any.
    public func position<T: Transaction & ~Copyable>(ofID id: String, in txn: borrowing T) throws -> UInt64? {
        var s = id
        guard !s.isEmpty, s.utf8.count <= 511 else { return nil }
        return try s.withUTF8 { k in try txn.get(ids, UnsafeRawBufferPointer(k)).map { BigEndian.uint64($0) } }
    }

    /// The position of the event with this id: appended earlier in the running `batch` (whose
    /// index entries are not written yet), or stored before it.
    public func position<T: Transaction & ~Copyable>(ofID id: String, batch: BatchIndexes, in txn: borrowing T) throws -> UInt64? {
        var s = id
        guard !s.isEmpty, s.utf8.count <= 511 else { return nil }
        return try s.withUTF8 { k in
            let key = UnsafeRawBufferPointer(k)
            var found: UInt64? = nil
            try batch.forEachCandidate(key) { p in
                guard let raw = try BigEndian.withBytes(p, { try txn.get(log, $0) }) else {
                    throw LogError.corrupt(position: p, reason: "an event appended in this batch is missing")
                }
                if try StoredEvent(bytes: raw, key: p).id.elementsEqual(key) { found = p; return true }
                return false
            }
            if let found { return found }
            return try txn.get(ids, key).map { BigEndian.uint64($0) }
        }
    }

    /// Writes the `ids` and `streams` entries of the batch's events, each index in key order (see
    /// ``BatchIndexes`` for why they wait until now). Reads the keys back from the batch's log
    /// records.
    public func writeIndexes(_ batch: BatchIndexes, in txn: inout WriteTransaction) throws {
        guard !batch.isEmpty else { return }
        let expected = batch.count
        batch.release()
        // One index at a time, so only one set of keys is held (a bulk import has millions).
        for (db, flags) in [(ids, WriteTransaction.PutFlags.noOverwrite), (streams, .appendDuplicate)] {
            var keys = IndexKeys(first: batch.first, capacity: expected)
            let isIDs = db == ids
            // The batch's records are read back through the memory map: a big batch hands the
            // pages back as the scan goes, or a bulk import's resident memory grows by the size of
            // its log. (Not a small one: releasing costs a walk of /proc/self/maps and the next
            // reads' page faults — it doubled the time of a durable single append.)
            let environment = environment
            try scan(from: batch.first, in: txn) { e in
                keys.add(isIDs ? e.id : e.stream, position: e.position)
                if keys.count % 1_000_000 == 0 { environment.releaseMappedPages() }
                return true
            }
            if keys.count >= 1_000_000 { environment.releaseMappedPages() }
            guard keys.count == expected else {
                throw LogError.corrupt(position: batch.first, reason: "the batch appended \(expected) events but the log holds \(keys.count) from its first position")
            }
            // Streams hold each episode's positions as sorted duplicates; ids are unique.
            try txn.withCursors([db]) { c in
                try keys.forEachSorted { key, value in try c.put(0, key, value, flags: flags) }
            }
        }
    }

    /// Reads the event at `position` and hands it to `body` (the view dies with the transaction).
    public func withEvent<T: Transaction & ~Copyable, R>(at position: UInt64, in txn: borrowing T,
                                                           _ body: (StoredEvent) throws -> R) throws -> R? {
        guard let raw = try BigEndian.withBytes(position, { try txn.get(log, $0) }) else { return nil }
        return try body(try StoredEvent(bytes: raw, key: position))
    }

    /// Walks events from `start` in log order until `body` returns false. `body` must not write in
    /// `txn`: the cursor reads one record ahead.
    public func scan<T: Transaction & ~Copyable>(from start: UInt64 = 1, in txn: borrowing T,
                                                 _ body: (StoredEvent) throws -> Bool) throws {
        try txn.withCursor(log) { c in
            var entry = try BigEndian.withBytes(start) { try c.seek(atOrAfter: $0) }
            // One record ahead: the cursor moves on (and the next record's memory is requested)
            // before the current one is decoded. The views stay valid: `body` only reads. (Two
            // records ahead measured no better.)
            while let (k, v) = entry {
                entry = try c.next()
                if let next = entry { prefetch(next.value) }
                let p = BigEndian.uint64(k)
                guard try body(try StoredEvent(bytes: v, key: p)) else { return }
            }
        }
    }

    /// Walks the raw stored values from `start`: key and value bytes, no decoding (for verifiers
    /// that must survive records too damaged to decode). `body` must not write in `txn`.
    public func scanRaw<T: Transaction & ~Copyable>(from start: UInt64 = 1, in txn: borrowing T,
                                                    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try txn.withCursor(log) { c in
            var entry = try BigEndian.withBytes(start) { try c.seek(atOrAfter: $0) }
            while let (k, v) = entry {
                entry = try c.next()
                if let next = entry { prefetch(next.value) }
                guard try body(k, v) else { return }
            }
        }
    }

    /// Walks the stream index: each stream with its positions in order.
    public func scanStreams<T: Transaction & ~Copyable>(in txn: borrowing T,
                                                        _ body: (UnsafeRawBufferPointer, [UInt64]) throws -> Void) throws {
        try txn.withCursor(streams) { c in
            var entry = try c.first()
            var positions: [UInt64] = []
            while let (k, v) = entry {
                positions.removeAll(keepingCapacity: true)
                positions.append(BigEndian.uint64(v))
                while let (_, v2) = try c.nextDuplicate() { positions.append(BigEndian.uint64(v2)) }
                try body(k, positions)
                entry = try c.nextKey()
            }
        }
    }

    /// Walks the stream index a page at a time, in key order: `body(stream, positions, first)`
    /// gets each stream's positions as runs of 8-byte big-endian numbers in the index's own pages
    /// (`first` on a stream's first run). A reader of every stream — the numbering of a fold's
    /// episodes — makes a few calls per stream instead of one per event. The bytes are views into
    /// the transaction's map: valid until it ends, never to be written.
    public func scanStreamPages<T: Transaction & ~Copyable>(in txn: borrowing T,
        _ body: (_ stream: UnsafeRawBufferPointer, _ positions: UnsafeRawBufferPointer, _ first: Bool) throws -> Void) throws {
        try txn.withCursor(streams) { c in
            var entry = try c.first()
            while let (k, v) = entry {
                try body(k, try c.duplicatesPage(current: v), true)
                while let more = try c.nextDuplicatesPage() { try body(k, more, false) }
                entry = try c.nextKey()
            }
        }
    }

    /// Walks the id index in key order: each client id with the value stored for it (an 8-byte
    /// big-endian position when intact; the raw bytes, so a verifier can report a damaged one).
    public func scanIDs<T: Transaction & ~Copyable>(in txn: borrowing T,
                                                    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        try txn.withCursor(ids) { c in
            var entry = try c.first()
            while let (k, v) = entry {
                try body(k, v)
                entry = try c.next()
            }
        }
    }

    /// Number of entries in the id index (one per appended event), without walking anything.
    public func idCount<T: Transaction & ~Copyable>(in txn: borrowing T) throws -> Int { try txn.count(ids) }

    /// Number of records in the log database, without walking anything.
    public func eventCount<T: Transaction & ~Copyable>(in txn: borrowing T) throws -> Int { try txn.count(log) }

    /// Number of events, streams and ids.
    public func counts<T: Transaction & ~Copyable>(in txn: borrowing T) throws -> (events: Int, streams: Int, ids: Int) {
        let events = try txn.count(log)
        let ids = try txn.count(self.ids)
        var streamCount = 0
        try txn.withCursor(streams) { c in
            var e = try c.first()
            while e != nil { streamCount += 1; e = try c.nextKey() }
        }
        return (events, streamCount, ids)
    }
}
