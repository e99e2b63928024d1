import EventLog
import Foundation
import LMDB
import Pathway
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the projections current and rebuilds them.
///
/// Design (see docs/ARCHITECTURE.md):
/// - Every projection's state and its checkpoint (the last applied log position) are written in the
///   same write transaction, so they can never disagree after a crash.
/// - Normally the engine runs inside the append's own write transaction (``catchUp(in:)`` right after
///   the log append), so a committed event is always already projected. If a process dies between a
///   log commit and a projection update (deferred mode), the next open catches up from the
///   checkpoint: no event is skipped or applied twice.
/// - Each projection has two generations of databases, `a` and `b`. A rebuild folds the log into the
///   inactive one while readers keep using the active one, then flips the pointer in one transaction.
public final class ProjectionEngine: @unchecked Sendable {
    let environment: Environment
    let log: EventLog
    let meta: Database
    public let projections: [EpisodeProjection]
    /// Per projection, per generation (0 = a, 1 = b), its databases.
    let databases: [[[Database]]]
    let historyIndex: Int

    public init(log: EventLog, projections extra: [EpisodeProjection]) throws {
        let environment = log.environment
        self.environment = environment
        self.log = log
        meta = try environment.database("projections")
        let all: [EpisodeProjection] = [HistoryProjection()] + extra
        projections = all
        historyIndex = 0
        var dbs: [[[Database]]] = []
        for p in all {
            var gens: [[Database]] = []
            for g in ["a", "b"] {
                gens.append(try p.databases.map { try environment.database("\(p.name).\(g).\($0)") })
            }
            dbs.append(gens)
        }
        databases = dbs
    }

    public func projection(named name: String) -> Int? { projections.firstIndex { $0.name == name } }

    // MARK: - Meta: active generation, checkpoint, schema version

    func metaKey(_ what: String, _ p: Int) -> [UInt8] { Array("\(what)/\(projections[p].name)".utf8) }

    func activeGeneration<T: Transaction & ~Copyable>(_ p: Int, in txn: borrowing T) throws -> Int {
        guard let v = try txn.get(meta, metaKey("active", p)), v.count == 1 else { return 0 }
        return Int(v[0])
    }
    public func checkpoint<T: Transaction & ~Copyable>(_ p: Int, in txn: borrowing T) throws -> UInt64 {
        guard let v = try txn.get(meta, metaKey("checkpoint", p)), v.count == 8 else { return 0 }
        return BigEndian.uint64(v)
    }
    func schema<T: Transaction & ~Copyable>(_ p: Int, in txn: borrowing T) throws -> UInt32? {
        guard let v = try txn.get(meta, metaKey("schema", p)), v.count == 4 else { return nil }
        return UInt32(v[0]) << 24 | UInt32(v[1]) << 16 | UInt32(v[2]) << 8 | UInt32(v[3])
    }
    func setMeta(_ p: Int, generation: Int, checkpoint: UInt64, in txn: inout WriteTransaction) throws {
        try txn.put(meta, metaKey("active", p), [UInt8(generation)])
        try txn.put(meta, metaKey("checkpoint", p), BigEndian.bytes(checkpoint))
        let s = projections[p].schemaVersion
        try txn.put(meta, metaKey("schema", p), [UInt8(s >> 24), UInt8(s >> 16 & 0xff), UInt8(s >> 8 & 0xff), UInt8(s & 0xff)])
    }

    /// The active databases of projection `p`.
    public func activeDatabases<T: Transaction & ~Copyable>(_ p: Int, in txn: borrowing T) throws -> [Database] {
        databases[p][try activeGeneration(p, in: txn)]
    }
    public func activeDatabases<T: Transaction & ~Copyable>(named name: String, in txn: borrowing T) throws -> [Database] {
        guard let p = projection(named: name) else { throw LedgerError.unknownProjection(name, known: projections.map(\.name)) }
        return try activeDatabases(p, in: txn)
    }

    // MARK: - Keeping current

    /// Which projections are behind the log and how: all at one checkpoint (catch up), or some
    /// needing a rebuild (new projection, changed schema, or checkpoints that differ).
    public func status<T: Transaction & ~Copyable>(in txn: borrowing T) throws -> (checkpoint: UInt64?, needRebuild: [Int]) {
        var needRebuild: [Int] = []
        var checkpoints: Set<UInt64> = []
        for p in projections.indices {
            if try schema(p, in: txn) != projections[p].schemaVersion { needRebuild.append(p); continue }
            checkpoints.insert(try checkpoint(p, in: txn))
        }
        if checkpoints.count > 1 { return (nil, Array(projections.indices)) }
        return (checkpoints.first ?? 0, needRebuild)
    }

    /// Applies every logged event after the projections' checkpoint, inside the caller's write
    /// transaction. Returns how many events were applied.
    @discardableResult
    public func catchUp(in txn: inout WriteTransaction) throws -> Int {
        let head = try log.head(in: txn).position
        let (cp, needRebuild) = try status(in: txn)
        guard let checkpoint = cp, needRebuild.isEmpty else {
            throw LedgerError.projectionsNeedRebuild(needRebuild.map { projections[$0].name })
        }
        if checkpoint == head { return 0 }
        guard checkpoint < head else {
            throw LedgerError.projectionAheadOfLog(checkpoint: checkpoint, head: head)
        }
        let symbols = SymbolTable()
        let folder = EventFolder(symbols: symbols)
        // Episodes touched, indexed through their interned symbol: no String hashing per event.
        var dirtyList: [Dirty] = []
        var names: [String] = []
        var slotOfSymbol: [Int32] = []
        let historyDB = try activeDatabases(historyIndex, in: txn)[0]
        var count = 0
        try log.scan(from: checkpoint + 1, in: txn) { e in
            let sym = Int(symbols.intern(bytes: e.stream))
            if sym >= slotOfSymbol.count { slotOfSymbol.append(contentsOf: repeatElement(-1, count: sym - slotOfSymbol.count + 1 + sym / 2)) }
            var slot = Int(slotOfSymbol[sym])
            if slot < 0 {
                let episode = e.streamString
                let old = try HistoryProjection.load(episode: episode, from: historyDB, symbols: symbols, in: txn)
                slot = dirtyList.count
                slotOfSymbol[sym] = Int32(slot)
                dirtyList.append(Dirty(old: old, history: old?.history ?? EpisodeHistory(),
                                       version: old?.version ?? 0, lastPosition: old?.lastPosition ?? 0))
                names.append(episode)
            }
            let parts = try folder.parts(of: e)
            folder.apply(parts, to: &dirtyList[slot].history)
            dirtyList[slot].version += 1
            dirtyList[slot].lastPosition = e.position
            count += 1
            return true
        }
        let order = names.indices.sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
        // The per-episode work (old and new records of every projection) runs on every core in
        // contiguous runs of the key order; the writes then happen in that order on this thread.
        let work = dirtyList
        let episodeNames = names
        let runs = Swift.max(1, Swift.min(ProjectionEngine.workers * 4, order.count / 2048))
        let bounds = (0...runs).map { $0 * order.count / runs }
        for p in self.projections.indices {
            let dbs = try activeDatabases(p, in: txn)
            let proj = self.projections[p]
            if proj.isAdditive {
                let parts: [[ByteKey: Counts]] = parallelMap(runs) { r in
                    var deltas: [ByteKey: Counts] = [:]
                    var oldSink = RecordSink(), newSink = RecordSink()
                    for slot in order[bounds[r]..<bounds[r + 1]] {
                        let d = work[slot]
                        oldSink.records.removeAll(keepingCapacity: true); newSink.records.removeAll(keepingCapacity: true)
                        if let old = d.old { proj.records(for: old, into: &oldSink) }
                        proj.records(for: EpisodeSnapshot(episode: episodeNames[slot], history: d.history, symbols: symbols,
                                                          version: d.version, lastPosition: d.lastPosition), into: &newSink)
                        for rec in oldSink.records {
                            let k = ByteKey([UInt8(rec.database)] + rec.key)
                            deltas[k, default: .zero] = deltas[k, default: .zero] - rec.value.withUnsafeBytes { Counts(bytes: $0)! }
                        }
                        for rec in newSink.records {
                            let k = ByteKey([UInt8(rec.database)] + rec.key)
                            deltas[k, default: .zero] = deltas[k, default: .zero] + rec.value.withUnsafeBytes { Counts(bytes: $0)! }
                        }
                    }
                    return deltas
                }
                var deltas = parts[0]
                for part in parts.dropFirst() { deltas.merge(part, uniquingKeysWith: +) }
                for (k, sum) in deltas.sorted(by: { bytesLess($0.key.bytes, $1.key.bytes) }) where !sum.isZero {
                    let db = dbs[Int(k.bytes[0])]
                    let key = Array(k.bytes[1...])
                    let current = try txn.get(db, key).flatMap { Counts(bytes: $0) } ?? .zero
                    let next = current + sum
                    if next.isZero { try txn.delete(db, key) } else { try txn.put(db, key, next.bytes) }
                }
            } else {
                // Per episode: the keys to delete and the records to put.
                typealias Change = (deletes: [RecordSink.Record], puts: [RecordSink.Record])
                let parts: [[Change]] = parallelMap(runs) { r in
                    var changes: [Change] = []
                    for slot in order[bounds[r]..<bounds[r + 1]] {
                        let d = work[slot]
                        var oldSink = RecordSink(), newSink = RecordSink()
                        if let old = d.old { proj.records(for: old, into: &oldSink) }
                        proj.records(for: EpisodeSnapshot(episode: episodeNames[slot], history: d.history, symbols: symbols,
                                                          version: d.version, lastPosition: d.lastPosition), into: &newSink)
                        if oldSink.records == newSink.records { continue }
                        let deletes = oldSink.records.filter { o in !newSink.records.contains { $0.database == o.database && $0.key == o.key } }
                        changes.append((deletes, newSink.records))
                    }
                    return changes
                }
                for part in parts {
                    for change in part {
                        for r in change.deletes { try txn.delete(dbs[r.database], r.key) }
                        for r in change.puts { try txn.put(dbs[r.database], r.key, r.value) }
                    }
                }
            }
            try txn.put(meta, metaKey("checkpoint", p), BigEndian.bytes(head))
        }
        return count
    }

    struct Dirty: Sendable {
        var old: EpisodeSnapshot?
        var history: EpisodeHistory
        var version: UInt64
        var lastPosition: UInt64
    }

    // MARK: - Folding the whole log

    /// Every episode's corrected history, folded from the log in memory.
    public struct Fold: Sendable {
        public var symbols = SymbolTable()
        public var episodeIDs: [Int32] = []          // index → symbol of the episode name
        public var histories: [EpisodeHistory] = []
        public var versions: [UInt64] = []
        public var lastPositions: [UInt64] = []
        var indexOfSymbol: [Int32] = []               // episode symbol → index, -1 if none
        public var head: UInt64 = 0
        public var events = 0

        public init() {}

        mutating func index(for symbol: Int32) -> Int {
            let s = Int(symbol)
            if s >= indexOfSymbol.count { indexOfSymbol.append(contentsOf: repeatElement(-1, count: s - indexOfSymbol.count + 1 + s / 2)) }
            if indexOfSymbol[s] >= 0 { return Int(indexOfSymbol[s]) }
            let i = histories.count
            indexOfSymbol[s] = Int32(i)
            episodeIDs.append(symbol); histories.append(EpisodeHistory()); versions.append(0); lastPositions.append(0)
            return i
        }

        /// Episode indices in the byte order of their names (the order keys are stored in).
        public func episodeOrder() -> [Int] {
            let names = episodeIDs.map { symbols.nameBytes($0) }
            return histories.indices.sorted { bytesLess(names[$0], names[$1]) }
        }

        public func snapshot(_ i: Int) -> EpisodeSnapshot {
            EpisodeSnapshot(episode: symbols.name(episodeIDs[i]), history: histories[i], symbols: symbols,
                            version: versions[i], lastPosition: lastPositions[i])
        }
    }

    /// Folds events `from`…head into `fold`, in read transactions of at most `chunk` events each,
    /// so no reader is held open for long.
    public func fold(into fold: inout Fold, from start: UInt64 = 1, upTo limit: UInt64 = .max, chunk: Int = 1_000_000,
                     include: ((_ recordedAt: UnsafeRawBufferPointer, _ appendedAt: UnsafeRawBufferPointer) -> Bool)? = nil) throws {
        let folder = EventFolder(symbols: fold.symbols)
        var next = start
        while true {
            let (done, last) = try environment.read { txn -> (Bool, UInt64) in
                var n = 0
                var last = next - 1
                var finished = true
                try log.scan(from: next, in: txn) { e in
                    if e.position > limit { return false }
                    let parts = try folder.parts(of: e)
                    if let include, !include(parts.recordedAt, e.appendedAt) {
                        last = e.position
                        n += 1
                        if n >= chunk { finished = false; return false }
                        return true
                    }
                    let sym = fold.symbols.intern(bytes: e.stream)
                    let i = fold.index(for: sym)
                    folder.apply(parts, to: &fold.histories[i])
                    fold.versions[i] += 1
                    fold.lastPositions[i] = e.position
                    last = e.position
                    n += 1
                    if n >= chunk { finished = false; return false }
                    return true
                }
                fold.events += n
                return (finished, last)
            }
            if last >= next { fold.head = last }
            next = last + 1
            if done { return }
        }
    }

    /// Folds events after `fold.head` inside a write transaction (the rebuild's final step).
    func foldRemaining(into fold: inout Fold, in txn: borrowing WriteTransaction) throws {
        let folder = EventFolder(symbols: fold.symbols)
        var f = fold
        try log.scan(from: fold.head + 1, in: txn) { e in
            let i = f.index(for: f.symbols.intern(bytes: e.stream))
            folder.apply(try folder.parts(of: e), to: &f.histories[i])
            f.versions[i] += 1
            f.lastPositions[i] = e.position
            f.head = e.position
            f.events += 1
            return true
        }
        fold = f
    }

    /// The records a projection holds for a fold, per database, sorted by key.
    ///
    /// Episodes are visited in key order, so a projection's main database (keyed by episode) comes
    /// out sorted without a sort; only secondary indexes and counters are sorted, with `memcmp`.
    /// The per-episode work — the bulk of a rebuild — runs on every core: episodes are split into
    /// contiguous runs of the key order, each run folded on its own, and the runs joined in order,
    /// so the result is the same bytes whatever the number of cores.
    public func records(of p: Int, fold: Fold) -> [[(key: [UInt8], value: [UInt8])]] {
        let proj = projections[p]
        let dbCount = proj.databases.count
        let order = fold.episodeOrder()
        let runs = Swift.max(1, Swift.min(ProjectionEngine.workers * 4, order.count / 4096))
        let bounds = (0...runs).map { $0 * order.count / runs }
        typealias Records = [[(key: [UInt8], value: [UInt8])]]
        if proj.isAdditive {
            let parts: [[[ByteKey: Counts]]] = parallelMap(runs) { r in
                var sums = [[ByteKey: Counts]](repeating: [:], count: dbCount)
                var sink = RecordSink()
                for i in order[bounds[r]..<bounds[r + 1]] {
                    sink.records.removeAll(keepingCapacity: true)
                    proj.records(for: fold.snapshot(i), into: &sink)
                    for rec in sink.records {
                        let k = ByteKey(rec.key)
                        sums[rec.database][k, default: .zero] = sums[rec.database][k, default: .zero] + rec.value.withUnsafeBytes { Counts(bytes: $0)! }
                    }
                }
                return sums
            }
            var perDB = Records(repeating: [], count: dbCount)
            for d in 0..<dbCount {
                var total = parts[0][d]
                for part in parts.dropFirst() { total.merge(part[d], uniquingKeysWith: +) }
                perDB[d] = total.filter { !$0.value.isZero }.map { ($0.key.bytes, $0.value.bytes) }
                perDB[d].sort { bytesLess($0.key, $1.key) }
            }
            return perDB
        }
        let parts: [Records] = parallelMap(runs) { r in
            var perDB = Records(repeating: [], count: dbCount)
            var sink = RecordSink()
            for i in order[bounds[r]..<bounds[r + 1]] {
                sink.records.removeAll(keepingCapacity: true)
                proj.records(for: fold.snapshot(i), into: &sink)
                for rec in sink.records { perDB[rec.database].append((rec.key, rec.value)) }
            }
            return perDB
        }
        var perDB = Records(repeating: [], count: dbCount)
        for d in 0..<dbCount {
            perDB[d].reserveCapacity(parts.reduce(0) { $0 + $1[d].count })
            for part in parts { perDB[d].append(contentsOf: part[d]) }
            var sorted = true
            var k = 1
            while k < perDB[d].count { if !bytesLess(perDB[d][k - 1].key, perDB[d][k].key) { sorted = false; break }; k += 1 }
            if !sorted { perDB[d].sort { bytesLess($0.key, $1.key) } }
        }
        return perDB
    }

    /// How many threads the per-episode work of a rebuild uses.
    static let workers = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

    // MARK: - Rebuild (blue/green)

    public struct RebuildReport: Sendable {
        public var projections: [String]
        public var events: Int
        public var episodes: Int
        public var foldSeconds: Double
        public var writeSeconds: Double
    }

    /// Rebuilds the named projections (all when empty) from position 1 into their inactive
    /// generation and swaps them in, in one write transaction. Readers see the old generation
    /// until that transaction commits.
    public func rebuild(_ names: [String] = [], clock: () -> Double = { 0 }) throws -> RebuildReport {
        let targets: [Int] = try names.isEmpty ? Array(projections.indices) : names.map {
            guard let p = projection(named: $0) else { throw LedgerError.unknownProjection($0, known: projections.map(\.name)) }
            return p
        }
        let t0 = clock()
        var f = Fold()
        try fold(into: &f)
        let t1 = clock()
        try environment.write { txn in
            try foldRemaining(into: &f, in: txn)
            for p in targets {
                let gen = 1 - (try activeGeneration(p, in: txn))
                let dbs = databases[p][gen]
                let perDB = records(of: p, fold: f)
                for (d, recs) in perDB.enumerated() {
                    try txn.clear(dbs[d])
                    for r in recs { try txn.put(dbs[d], r.key, r.value, flags: .append) }
                }
                try setMeta(p, generation: gen, checkpoint: f.head, in: &txn)
            }
        }
        // The generation just retired still holds the old data; empty it so the file can reuse the pages.
        try environment.write { txn in
            for p in targets {
                let retired = 1 - (try activeGeneration(p, in: txn))
                for db in databases[p][retired] { try txn.clear(db) }
            }
        }
        let t2 = clock()
        return RebuildReport(projections: targets.map { projections[$0].name }, events: f.events,
                             episodes: f.histories.count, foldSeconds: t1 - t0, writeSeconds: t2 - t1)
    }

    /// Brings every projection up to the log: rebuilds those that need it, then catches up.
    public func open() throws {
        let needRebuild = try environment.read { txn in try status(in: txn).needRebuild }
        if !needRebuild.isEmpty { _ = try rebuild(needRebuild.map { projections[$0].name }) }
        try environment.write { txn in _ = try catchUp(in: &txn) }
    }

    // MARK: - Verification

    public struct Mismatch: Sendable, CustomStringConvertible {
        public var projection: String
        public var database: String
        public var key: String
        public var problem: String
        public var description: String { "projection '\(projection)' (\(database)): \(problem) at key \(key)" }
    }

    /// Compares every projection, byte for byte, with a fresh fold of the log (in one snapshot).
    public func verify() throws -> (events: Int, mismatches: [Mismatch]) {
        try environment.read { txn in
            var f = Fold()
            let folder = EventFolder(symbols: f.symbols)
            try log.scan(from: 1, in: txn) { e in
                let i = f.index(for: f.symbols.intern(bytes: e.stream))
                folder.apply(try folder.parts(of: e), to: &f.histories[i])
                f.versions[i] += 1; f.lastPositions[i] = e.position; f.head = e.position; f.events += 1
                return true
            }
            var mismatches: [Mismatch] = []
            for p in projections.indices {
                let cp = try checkpoint(p, in: txn)
                if cp != f.head {
                    mismatches.append(Mismatch(projection: projections[p].name, database: "-", key: "-",
                                               problem: "checkpoint is \(cp) but the log's head is \(f.head)"))
                }
                let expected = records(of: p, fold: f)
                let dbs = try activeDatabases(p, in: txn)
                for (d, recs) in expected.enumerated() {
                    let dbName = projections[p].databases[d]
                    var k = 0
                    var first: Mismatch? = nil
                    try txn.withCursor(dbs[d]) { c in
                        var entry = try c.first()
                        while let (key, value) = entry, first == nil {
                            if k >= recs.count {
                                first = Mismatch(projection: projections[p].name, database: dbName, key: printable(key), problem: "an extra record is stored")
                                break
                            }
                            if !recs[k].key.elementsEqual(key) {
                                first = Mismatch(projection: projections[p].name, database: dbName, key: recs[k].key.withUnsafeBytes { printable($0) },
                                                 problem: "the stored keys differ from the rebuilt ones")
                                break
                            }
                            if !recs[k].value.elementsEqual(value) {
                                first = Mismatch(projection: projections[p].name, database: dbName, key: printable(key), problem: "the stored record differs from the rebuilt one")
                                break
                            }
                            k += 1
                            entry = try c.next()
                        }
                    }
                    if first == nil && k < recs.count {
                        first = Mismatch(projection: projections[p].name, database: dbName, key: recs[k].key.withUnsafeBytes { printable($0) }, problem: "a record is missing")
                    }
                    if let m = first { mismatches.append(m) }
                }
            }
            return (f.events, mismatches)
        }
    }
}

func printable(_ b: UnsafeRawBufferPointer) -> String {
    var s = ""
    for x in b.prefix(80) { s += (x >= 32 && x < 127) ? String(UnicodeScalar(x)) : "·" }
    return s
}

/// A byte-string key whose hash is computed once (FNV-1a), so dictionaries of counter keys do not
/// feed the hasher one byte at a time.
struct ByteKey: Hashable {
    let bytes: [UInt8]
    let hash: UInt64
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in bytes { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
        hash = h
    }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    static func == (a: ByteKey, b: ByteKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
}

/// Byte-wise order, as LMDB's default comparator sorts keys.
@inline(__always) func bytesLess(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in
            let n = min(x.count, y.count)
            let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
            return c != 0 ? c < 0 : x.count < y.count
        }
    }
}

/// Runs `body(0)…body(n−1)` on all cores and returns the results in index order.
func parallelMap<R>(_ n: Int, _ body: @Sendable (Int) -> R) -> [R] {
    if n == 1 { return [body(0)] }
    let slots = ParallelSlots<R>(n)
    let lock = NSLock()
    DispatchQueue.concurrentPerform(iterations: n) { i in
        let r = body(i)
        lock.lock(); slots.values[i] = r; lock.unlock()
    }
    return slots.values.map { $0! }
}

/// Result slots written by concurrent workers, each at its own index, under a lock.
final class ParallelSlots<R>: @unchecked Sendable {
    var values: [R?]
    init(_ n: Int) { values = [R?](repeating: nil, count: n) }
}
