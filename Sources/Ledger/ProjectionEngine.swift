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
/// - The projections live in their own environment, the views (see ``Views``), apart from the log:
///   they are committed without an fsync, so keeping them current adds nothing to what an append
///   must flush before it is acknowledged.
/// - Every projection's state and its checkpoint (the last applied log position) are written in the
///   same write transaction, so they can never disagree after a crash.
/// - The engine runs right after each append's log commit (``catchUp(in:)``). If a process dies in
///   between, the next open — or the next append, before it reads any history — catches up from the
///   checkpoint: no event is skipped or applied twice.
/// - Each projection has two generations of databases, `a` and `b`. A rebuild folds the log into the
///   inactive one while readers keep using the active one, then flips the pointer in one transaction.
public final class ProjectionEngine: @unchecked Sendable {
    /// The views' environment: every projection database and the meta database.
    let views: Environment
    let log: EventLog
    let meta: Database
    public let projections: [EpisodeProjection]
    /// Per projection, itself as a ``CellProjection`` when it is one: cast once here, since a
    /// dynamic cast to a protocol costs more than some projections' work for one episode.
    let cellProjections: [CellProjection?]
    /// Per projection, per generation (0 = a, 1 = b), its databases.
    let databases: [[[Database]]]
    let historyIndex: Int
    /// Catching up this many events or more, when they are also at least a quarter of the log,
    /// refolds the whole log instead of updating episode by episode (see ``catchUp(in:)``). Set
    /// once before use (tests lower it to exercise both paths on small histories).
    public var bulkCatchUpThreshold = 200_000
    /// How many episodes a rebuild or verify works out (on every core) before handing their
    /// records on; the next block is worked out while this one is written (see
    /// ``forEachRecord(of:fold:_:)``). Set once before use (tests lower it to cross many block
    /// boundaries on small histories).
    public var recordBlock = 65_536
    /// Called before every write transaction on the views (the ledger leaves its power-loss
    /// marker there; see ``Views``). Set once before use.
    var beforeWrite: (() throws -> Void)? = nil

    /// A write transaction on the views, after ``beforeWrite``.
    func writeViews<T>(_ body: (inout WriteTransaction) throws -> T) throws -> T {
        try beforeWrite?()
        return try views.write(body)
    }

    /// The meta database's name.
    static let metaName = "projections"

    /// The name of database `database` of projection `p` in generation `generation` (0 = a, 1 = b).
    static func databaseName(_ p: EpisodeProjection, generation: Int, _ database: String) -> String {
        "\(p.name).\(generation == 0 ? "a" : "b").\(database)"
    }

    /// Every database the engine keeps for these projections (the corrected history added), the
    /// meta database first: what opening an engine creates when it is missing.
    static func databaseNames(projections extra: [EpisodeProjection]) -> [String] {
        [metaName] + ([HistoryProjection()] + extra).flatMap { p in
            [0, 1].flatMap { g in p.databases.map { databaseName(p, generation: g, $0) } }
        }
    }

    public init(log: EventLog, views: Environment, projections extra: [EpisodeProjection]) throws {
        self.views = views
        self.log = log
        meta = try views.database(ProjectionEngine.metaName)
        let all: [EpisodeProjection] = [HistoryProjection()] + extra
        for p in all where p.isAdditive && !(p is CellProjection) {
            preconditionFailure("projection '\(p.name)' is additive but not a CellProjection: the engine sums counters only as cells")
        }
        projections = all
        cellProjections = all.map { $0 as? CellProjection }
        historyIndex = 0
        var dbs: [[[Database]]] = []
        for p in all {
            var gens: [[Database]] = []
            for g in [0, 1] {
                gens.append(try p.databases.map { try views.database(ProjectionEngine.databaseName(p, generation: g, $0)) })
            }
            dbs.append(gens)
        }
        databases = dbs
        metaKeys = MetaField.allCases.map { field in all.map { Array("\(field)/\($0.name)".utf8) } }
    }

    public func projection(named name: String) -> Int? { projections.firstIndex { $0.name == name } }

    // MARK: - Meta: active generation, checkpoint, schema version

    /// What the meta database records per projection, under `FIELD/NAME`.
    enum MetaField: Int, CaseIterable { case active, checkpoint, schema }
    /// The meta keys, made once (field, then projection): every append reads and writes them.
    private let metaKeys: [[[UInt8]]]
    func metaKey(_ field: MetaField, _ p: Int) -> [UInt8] { metaKeys[field.rawValue][p] }

    func activeGeneration<T: Transaction & ~Copyable>(_ p: Int, in txn: borrowing T) throws -> Int {
        guard let v = try txn.get(meta, metaKey(.active, p)), v.count == 1 else { return 0 }
        return Int(v[0])
    }
    public func checkpoint<T: Transaction & ~Copyable>(_ p: Int, in txn: borrowing T) throws -> UInt64 {
        guard let v = try txn.get(meta, metaKey(.checkpoint, p)), v.count == 8 else { return 0 }
        return BigEndian.uint64(v)
    }
    func schema<T: Transaction & ~Copyable>(_ p: Int, in txn: borrowing T) throws -> UInt32? {
        guard let v = try txn.get(meta, metaKey(.schema, p)), v.count == 4 else { return nil }
        return UInt32(v[0]) << 24 | UInt32(v[1]) << 16 | UInt32(v[2]) << 8 | UInt32(v[3])
    }
    func setMeta(_ p: Int, generation: Int, checkpoint: UInt64, in txn: inout WriteTransaction) throws {
        try txn.put(meta, metaKey(.active, p), [UInt8(generation)])
        try txn.put(meta, metaKey(.checkpoint, p), BigEndian.bytes(checkpoint))
        let s = projections[p].schemaVersion
        try txn.put(meta, metaKey(.schema, p), [UInt8(s >> 24), UInt8(s >> 16 & 0xff), UInt8(s >> 8 & 0xff), UInt8(s & 0xff)])
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

    /// Whether every projection has applied the log up to `head` (and no further): one read of
    /// each checkpoint, for an append to tell whether it must catch the views up first.
    func isCurrent<T: Transaction & ~Copyable>(at head: UInt64, in txn: borrowing T) throws -> Bool {
        for p in projections.indices where try checkpoint(p, in: txn) != head { return false }
        return true
    }

    /// Applies every logged event after the projections' checkpoint, inside the caller's write
    /// transaction on the views. Returns how many events were applied.
    @discardableResult
    public func catchUp(in txn: inout WriteTransaction) throws -> Int {
        try withUnsafeMutablePointer(to: &txn) { t in
            try log.environment.read { logTxn in try catchUp(in: &t.pointee, log: logTxn) }
        }
    }

    /// The same, reading the log in `logTxn` (a read transaction, or the log's write transaction
    /// before it has appended anything).
    func catchUp<L: Transaction & ~Copyable>(in txn: inout WriteTransaction, log logTxn: borrowing L) throws -> Int {
        let head = try log.head(in: logTxn).position
        let (cp, needRebuild) = try status(in: txn)
        guard let checkpoint = cp, needRebuild.isEmpty else {
            throw LedgerError.projectionsNeedRebuild(needRebuild.map { projections[$0].name })
        }
        if checkpoint == head { return 0 }
        guard checkpoint < head else {
            throw LedgerError.projectionAheadOfLog(checkpoint: checkpoint, head: head)
        }
        // A bulk import into a young store: the new events are most of the log, and updating
        // hundreds of thousands of episodes one by one (load each history, make its old and new
        // records, put them at random keys) costs more — in time and in memory — than folding the
        // whole log again and writing every projection afresh in key order. Same bytes either way:
        // projections are pure folds (the rebuild-equals-incremental tests hold both paths to it).
        let behind = head - checkpoint
        if behind >= UInt64(bulkCatchUpThreshold) && behind * 4 >= head {
            var f = Fold()
            f.reserve(events: Int(head))
            try foldRemaining(into: &f, in: logTxn)
            let targets = Array(projections.indices)
            try write(targets, from: f, in: &txn)
            try clearRetired(targets, in: &txn)
            return Int(behind)
        }
        let symbols = SymbolTable()
        let folder = EventFolder(symbols: symbols)
        // Episodes touched, indexed through their interned symbol: no String hashing per event.
        var dirtyList: [Dirty] = []
        var names: [String] = []
        var slotOfSymbol: [Int32] = []
        let historyDB = try activeDatabases(historyIndex, in: txn)[0]
        var count = 0
        try log.scan(from: checkpoint + 1, in: logTxn) { e in
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
        // Each touched episode's new snapshot is made once and shared by every projection, so its
        // milestones and timers are derived once (a snapshot is used by one thread at a time: the
        // projections run one after the other, each episode in one run).
        let fresh = work.indices.map { slot in
            EpisodeSnapshot(episode: episodeNames[slot], history: work[slot].history, symbols: symbols,
                            version: work[slot].version, lastPosition: work[slot].lastPosition)
        }
        for p in self.projections.indices {
            let dbs = try activeDatabases(p, in: txn)
            let proj = self.projections[p]
            if let cp = cellProjections[p] {
                let parts: [CellSums] = parallelMap(runs) { r in
                    let deltas = CellSums(capacity: (bounds[r + 1] - bounds[r]) * 4)
                    for slot in order[bounds[r]..<bounds[r + 1]] {
                        let d = work[slot]
                        if let old = d.old { cp.cells(for: old) { cell, amounts in deltas.add(cell, .zero - amounts) } }
                        cp.cells(for: fresh[slot]) { cell, amounts in deltas.add(cell, amounts) }
                    }
                    return deltas
                }
                let deltas = parts[0]
                for part in parts.dropFirst() { deltas.merge(part) }
                var cells: [Cell] = [], sums: [Counts] = []
                deltas.forEach { cell, sum in if !sum.isZero { cells.append(cell); sums.append(sum) } }
                // One cursor walks the cells in key order: consecutive cells mostly share a leaf
                // page, which LMDB searches without descending from the root, and an existing cell
                // is replaced or deleted where the cursor stands instead of being searched again.
                try txn.withCursor(dbs[0]) { cursor in
                    try cp.forEachKeyInOrder(of: cells, symbols: symbols) { i, key in
                        if let found = try cursor.seek(exactly: key) {
                            let next = (Counts(bytes: found.value) ?? .zero) + sums[i]
                            if next.isZero { try cursor.deleteCurrent() } else { try next.withBytes { try cursor.put(key, $0, flags: .current) } }
                        } else {
                            try sums[i].withBytes { try cursor.put(key, $0) }
                        }
                    }
                }
            } else {
                // Per run: the keys to delete and the records to put. An episode's keys are its
                // own (each holds its id), so a run's deletes and puts never meet.
                typealias Change = (deletes: RecordSink, puts: RecordSink)
                let parts: [Change] = parallelMap(runs) { r in
                    var change: Change = (RecordSink(), RecordSink())
                    var oldSink = RecordSink(), newSink = RecordSink()
                    for slot in order[bounds[r]..<bounds[r + 1]] {
                        let d = work[slot]
                        oldSink.removeAll(); newSink.removeAll()
                        if let old = d.old { proj.records(for: old, into: &oldSink) }
                        proj.records(for: fresh[slot], into: &newSink)
                        if oldSink == newSink { continue }
                        oldSink.forEach { database, key, _ in
                            if !newSink.contains(database: database, key: key) { change.deletes.put(database: database, key: key) }
                        }
                        // A record the store already holds byte for byte is not put again: a put
                        // copies its page even when nothing changes, and every page an append
                        // dirties is written before its fsync (an index entry such as patient →
                        // episode rarely changes when a registration arrives).
                        newSink.forEach { database, key, value in
                            if !oldSink.contains(database: database, key: key, value: value) { change.puts.put(database: database, key: key, value: value) }
                        }
                    }
                    return change
                }
                // Through one cursor per database: the episodes come in key order, so a cursor
                // mostly finds the next key on the leaf it already stands on.
                try txn.withCursors(dbs) { cursors in
                    for part in parts {
                        try part.deletes.forEach { database, key, _ in _ = try cursors.delete(database, key) }
                        try part.puts.forEach { database, key, value in try cursors.put(database, key, value) }
                    }
                }
            }
            try txn.put(meta, metaKey(.checkpoint, p), BigEndian.bytes(head))
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

    /// One folded event, in 32 bytes: what a history needs of it, with names interned. A fold of
    /// the whole log keeps one per event in a single flat array (no per-episode arrays while
    /// scanning, no `String`s, no allocation per event), and builds each episode's history only
    /// when a projection asks for it — on every core, one episode at a time.
    struct Step {
        var offset: UInt32      // log position − the fold's first position (see `Fold.base`)
        var episode: Int32      // fold index of the episode
        var patient: Int32, institution: Int32, unit: Int32
        var date: Int32
        var emergency: Int32    // Int32.min: none
        var event: PathwayEvent
        var outcome: UInt8
        var setting: CareSetting
        var kind: UInt8         // r(egistration), c(orrection), v(oid)

        func mark(base: UInt64) -> Mark {
            let position = base + UInt64(offset)
            return Mark(code: PathwayCode(unchecked: event, outcome: outcome), setting: setting,
                 date: CivilDate(daysSinceEpoch: date),
                 emergencyDate: emergency == Int32.min ? nil : CivilDate(daysSinceEpoch: emergency),
                 place: position, position: position, patient: patient, institution: institution, unit: unit)
        }
    }

    /// Every episode's corrected history, folded from the log in memory.
    ///
    /// Scanning appends one ``Step`` per event; ``seal()`` then groups the steps by episode (a
    /// counting sort, two passes), and ``history(_:)`` replays one episode's steps into its
    /// ``EpisodeHistory``. Memory is ≈ 36 bytes per event plus the names.
    public struct Fold: Sendable {
        /// Names of patients, institutions and units (the marks' symbols).
        public var symbols = SymbolTable()
        /// Episode names: an episode's symbol is its fold index + 1. A fold of the whole log numbers
        /// them in key order from the stream index (``number(from:head:in:)``); events the index
        /// leaves out add theirs in order of first appearance.
        public var episodes = SymbolTable()
        /// Per episode, its name and the names its last event carried (see ``EpisodeCard``):
        /// consecutive events of an episode almost always repeat them, and comparing with names
        /// on one cache line is cheaper than a hash-table look-up in a table of a million patients.
        var cards = EpisodeCards()
        /// Each position's episode, from the stream index (see ``EpisodePlacement``); nil when the
        /// fold did not start from an empty fold at position 1, or once the scan is done.
        var placement: EpisodePlacement? = nil
        var steps: [Step] = []
        /// The log position of the first step; steps hold positions as 32-bit offsets from it.
        var base: UInt64 = 0
        /// The targets of corrections and voidings (≈ 1 % of events), by step index.
        var targets: [Int: UInt64] = [:]
        public var head: UInt64 = 0
        public var events = 0
        /// After ``seal()``: the steps of episode `i` are `stepOrder[groupStart[i]..<groupStart[i + 1]]`.
        var groupStart: [Int32] = []
        var stepOrder: [Int32] = []
        var sealedSteps = -1

        public init() {}

        public var episodeCount: Int { episodes.count - 1 }   // symbol 0 is the empty name

        /// The symbol of the previous event's episode (0: none yet). An episode's events tend to
        /// come in runs (a batch from one unit, a generated or migrated history), and comparing the
        /// bytes with one known name is cheaper than hashing them into a table of a million.
        var lastEpisode: Int32 = 0

        /// How many events ahead the scan asks for an episode's card.
        static let cardLookAhead: UInt64 = 8

        /// Whether episode symbol `symbol`'s card (or, for a long name, its table entry) names `bytes`.
        @inline(__always) func isEpisode(_ symbol: Int32, named bytes: UnsafeRawBufferPointer, short: ShortName) -> Bool {
            let name = cards.card(Int(symbol) - 1).pointee.name
            return name.isHeld ? name == short : episodes.equals(symbol, bytes)
        }

        /// The fold index of the episode named `bytes` at `position` (adding it when new): where
        /// the stream index put the position, if the episode's name confirms it; else the episode
        /// before, if it is the same; else by a look-up of the name.
        @inline(__always) mutating func index(ofEpisode bytes: UnsafeRawBufferPointer, at position: UInt64) throws -> Int32 {
            guard !bytes.isEmpty else { throw LogError.corrupt(position: position, reason: "the event names no episode (empty stream)") }
            let short = ShortName(bytes)
            if let placement {
                // The card of the episode a few events on is known without decoding its event:
                // asked for now, it is in cache when that event comes (the interleaved log's
                // cards are met at random).
                let ahead = placement.episode(at: position &+ Fold.cardLookAhead)
                if ahead > 0 { prefetch(UnsafeRawBufferPointer(start: cards.card(Int(ahead) - 1), count: 1)) }
                let symbol = Int32(truncatingIfNeeded: placement.episode(at: position))
                if symbol > 0 && isEpisode(symbol, named: bytes, short: short) { return symbol - 1 }
            }
            if lastEpisode > 0 && isEpisode(lastEpisode, named: bytes, short: short) { return lastEpisode - 1 }
            let symbol = episodes.intern(bytes: bytes)
            lastEpisode = symbol
            let i = symbol - 1
            if Int(i) == cards.count { var c = EpisodeCard(); c.name = short; cards.append(c) }
            return i
        }

        /// Numbers the episodes from the stream index, in its key order, and notes the episode of
        /// each position 1…`head` (see ``EpisodePlacement``): for a fold of the whole log that has
        /// not started, with `head` the log's head in `txn` (a verifier, which must not trust the
        /// head record, passes the number of records). The index is a hint, never trusted: the
        /// fold confirms every event's episode by name.
        public mutating func number<T: Transaction & ~Copyable>(from log: EventLog, head: UInt64, in txn: borrowing T) throws {
            precondition(events == 0 && episodeCount == 0, "episodes are numbered before a fold starts")
            let placement = EpisodePlacement(count: Int(head))
            let slots = placement.slots, count = UInt64(head)
            var current: UInt32 = 0
            let episodes = episodes, cards = cards
            try log.scanStreamPages(in: txn) { stream, positions, first in
                if first {
                    current = 0
                    // A damaged index could repeat a name or hold an empty one: such an entry is
                    // left out, and the scan finds those events by name.
                    guard !stream.isEmpty, episodes.count == cards.count + 1 else { return }
                    let symbol = episodes.intern(bytes: stream)
                    guard Int(symbol) == cards.count + 1 else { return }
                    var c = EpisodeCard(); c.name = ShortName(stream); cards.append(c)
                    current = UInt32(symbol)
                }
                guard current > 0, let p = positions.baseAddress else { return }
                for j in 0..<(positions.count / 8) {
                    let position = p.loadUnaligned(fromByteOffset: j * 8, as: UInt64.self).bigEndian
                    if position &- 1 < count { slots[Int(position &- 1)] = current }
                }
            }
            self.placement = placement
        }

        mutating func add(_ step: Step, position: UInt64, target: UInt64) {
            if steps.isEmpty { base = position }
            let offset = position &- base
            // A fold over more than 4 billion events would need over 128 GB for its steps.
            precondition(position >= base && offset <= UInt64(UInt32.max), "a fold spans at most 2^32 log positions")
            var s = step
            s.offset = UInt32(offset)
            if s.kind != UInt8(ascii: "r") { targets[steps.count] = target }
            steps.append(s)
            head = position
            events += 1
        }

        /// Folds one stored event in: its episode's number, its step, its target. The one place a
        /// scan of the log (rebuild, catch-up of a rebuild, verify, known-at) turns events into steps.
        @inline(__always)
        mutating func absorb(_ e: StoredEvent, fields: EventFolder.BodyFields, folder: EventFolder) throws {
            if !isKnownUniquelyReferenced(&cards) { cards = cards.copy() }
            let episode = try index(ofEpisode: e.stream, at: e.position)
            let (step, target) = try folder.step(of: e, fields: fields, episode: episode, card: cards.card(Int(episode)))
            add(step, position: e.position, target: target)
        }

        /// Folds one stored event in, for a caller that walks the log itself (the verifier). The
        /// events must come in log order.
        public mutating func absorb(_ e: StoredEvent) throws {
            try absorb(e, fields: EventFolder.BodyFields(e), folder: EventFolder(symbols: symbols))
        }

        /// Room for `events` more steps, in huge pages: histories are built by reading steps at
        /// random, so their page translations should stay cached.
        mutating func reserve(events: Int) {
            steps.reserveCapacity(steps.count + events)
            LargeMemory.adviseHugePages(&steps)
        }

        /// Groups the steps by episode; needed before ``history(_:)``, ``version(_:)`` and ``snapshot(_:)``.
        public mutating func seal() {
            placement = nil   // the scan is over (events folded later find their episode by name)
            if sealedSteps == steps.count { return }
            precondition(steps.count < Int(Int32.max), "a fold holds at most 2^31 events")
            var n = episodeCount
            var start = [Int32](repeating: 0, count: n + 1)
            for s in steps { start[Int(s.episode) + 1] += 1 }
            if start.dropFirst().contains(0) {
                dropEpisodesWithoutEvents(counts: start)
                n = episodeCount
                start = [Int32](repeating: 0, count: n + 1)
                for s in steps { start[Int(s.episode) + 1] += 1 }
            }
            for i in 0..<n { start[i + 1] += start[i] }
            var fill = start
            var order = [Int32]()
            order.reserveCapacity(steps.count)
            LargeMemory.adviseHugePages(&order)
            order.append(contentsOf: repeatElement(0, count: steps.count))
            for (k, s) in steps.enumerated() {
                let e = Int(s.episode)
                order[Int(fill[e])] = Int32(k)
                fill[e] += 1
            }
            groupStart = start; stepOrder = order; sealedSteps = steps.count
        }

        /// Renumbers the episodes without those no event was folded into — names a damaged
        /// stream index listed (see ``number(from:head:in:)``) that no event of the log has — so
        /// that they make no records. Their order is kept. `counts[i + 1]`: episode `i`'s steps.
        mutating func dropEpisodesWithoutEvents(counts: [Int32]) {
            let old = episodes, oldCards = cards
            let kept = SymbolTable(), keptCards = EpisodeCards(capacity: oldCards.count)
            var renumbered = [Int32](repeating: -1, count: episodeCount)
            for i in 0..<episodeCount where counts[i + 1] > 0 {
                renumbered[i] = old.withName(Int32(i + 1)) { kept.intern(bytes: $0) } - 1
                keptCards.append(oldCards.card(i).pointee)
            }
            for k in steps.indices { steps[k].episode = renumbered[Int(steps[k].episode)] }
            lastEpisode = lastEpisode > 0 ? Swift.max(0, renumbered[Int(lastEpisode) - 1] + 1) : 0
            episodes = kept
            cards = keptCards
        }

        /// Asks the processor for the steps of episode `i` ahead of ``history(_:)``.
        @inline(__always) func prefetchSteps(of i: Int) {
            steps.withUnsafeBytes { all in
                stepOrder.withUnsafeBufferPointer { order in
                    for k in Int(groupStart[i])..<Int(groupStart[i + 1]) {
                        let at = Int(order[k]) * MemoryLayout<Step>.stride
                        LMDB.prefetch(UnsafeRawBufferPointer(rebasing: all[at..<(at + MemoryLayout<Step>.stride)]))
                    }
                }
            }
        }

        /// Episode `i`'s corrected history (after ``seal()``).
        public func history(_ i: Int) -> EpisodeHistory {
            var h = EpisodeHistory(capacity: Int(groupStart[i + 1] - groupStart[i]))
            for k in stepOrder[Int(groupStart[i])..<Int(groupStart[i + 1])] {
                let s = steps[Int(k)]
                switch s.kind {
                case UInt8(ascii: "r"): h.register(s.mark(base: base))
                case UInt8(ascii: "c"): h.correct(targetPosition: targets[Int(k)] ?? 0, with: s.mark(base: base))
                case UInt8(ascii: "v"): h.void(targetPosition: targets[Int(k)] ?? 0)
                default: break
                }
            }
            return h
        }
        /// How many events episode `i` has (its stream version, when the fold started at 1).
        public func version(_ i: Int) -> UInt64 { UInt64(groupStart[i + 1] - groupStart[i]) }
        public func lastPosition(_ i: Int) -> UInt64 {
            groupStart[i + 1] > groupStart[i] ? base + UInt64(steps[Int(stepOrder[Int(groupStart[i + 1]) - 1])].offset) : 0
        }

        /// Episode indices in the byte order of their names (the order keys are stored in). A fold
        /// numbered from the stream index (see ``number(from:head:in:)``) is in that order already,
        /// unless events the index left out added episodes: checked, not assumed.
        public func episodeOrder() -> [Int] {
            let episodes = episodes, n = episodeCount
            var i = 1
            while i < n && episodes.nameLess(Int32(i), Int32(i + 1)) { i += 1 }
            if i >= n { return Array(0..<n) }
            return (0..<n).sorted { episodes.nameLess(Int32($0 + 1), Int32($1 + 1)) }
        }

        public func snapshot(_ i: Int) -> EpisodeSnapshot {
            EpisodeSnapshot(episode: episodes.name(Int32(i + 1)), history: history(i), symbols: symbols,
                            version: version(i), lastPosition: lastPosition(i))
        }
    }

    /// Folds events `from`…head into `fold`, in read transactions of at most `chunk` events each,
    /// so no reader is held open for long, handing the scanned file pages back between chunks (see
    /// ``Environment/releaseMappedPages()``). The fold comes back sealed.
    public func fold(into fold: inout Fold, from start: UInt64 = 1, upTo limit: UInt64 = .max, chunk: Int = 1_000_000,
                     include: ((_ recordedAt: UnsafeRawBufferPointer, _ appendedAt: UnsafeRawBufferPointer) -> Bool)? = nil) throws {
        let folder = EventFolder(symbols: fold.symbols)
        var next = start
        let environment = log.environment
        let expected = try environment.read { txn in
            let head = try log.head(in: txn).position
            if start == 1 && fold.events == 0 && fold.episodeCount == 0 && head > 0 { try fold.number(from: log, head: head, in: txn) }
            return head
        }
        if expected >= start, include == nil { fold.reserve(events: Int(Swift.min(limit, expected) - start + 1)) }
        while true {
            let (done, last) = try environment.read { txn -> (Bool, UInt64) in
                var n = 0
                var last = next - 1
                var finished = true
                try log.scan(from: next, in: txn) { e in
                    if e.position > limit { return false }
                    last = e.position
                    n += 1
                    if n >= chunk { finished = false }
                    let fields = try EventFolder.BodyFields(e)
                    if let include, !include(fields.recordedAt, e.appendedAt) { return finished }
                    try fold.absorb(e, fields: fields, folder: folder)
                    return finished
                }
                return (finished, last)
            }
            next = last + 1
            if done { break }
            environment.releaseMappedPages()
        }
        environment.releaseMappedPages()
        fold.seal()
    }

    /// Folds log positions 1…`records` for a verifier, in one read transaction of its own: episodes
    /// numbered from the stream index (a hint, confirmed by name), the head record not trusted.
    /// Positions 1…`records` of an append-only log read the same in any snapshot that holds them,
    /// so this may run beside a walk of the log in another transaction (a log changed meanwhile
    /// fails that walk). On an event that cannot be folded, returns no fold and that event's
    /// position and reason.
    public func foldForVerification(records: Int) -> (fold: Fold?, unreadable: (position: UInt64, reason: String)?) {
        var f = Fold()
        var at: UInt64 = 0
        let environment = log.environment
        do {
            try environment.read { txn in
                try f.number(from: log, head: UInt64(records), in: txn)
                f.reserve(events: records)
                let folder = EventFolder(symbols: f.symbols)
                try log.scan(from: 1, in: txn) { e in
                    guard e.position <= UInt64(records) else { return false }
                    at = e.position
                    try f.absorb(e, fields: EventFolder.BodyFields(e), folder: folder)
                    if f.events % 1_000_000 == 0 { environment.releaseMappedPages() }
                    return true
                }
            }
        } catch {
            return (nil, (at, "\(error)"))
        }
        environment.releaseMappedPages()
        f.seal()
        return (f, nil)
    }

    /// Folds events after `fold.head` in the caller's transaction on the log (the rebuild's final
    /// step, under the views' writer lock, and a bulk catch-up's whole fold), handing scanned file
    /// pages back as it goes.
    func foldRemaining<L: Transaction & ~Copyable>(into fold: inout Fold, in txn: borrowing L) throws {
        let folder = EventFolder(symbols: fold.symbols)
        // Moved out rather than copied: a copy would share the steps' buffer with `fold`, and
        // the first step appended would copy them all.
        var f = fold
        fold = Fold()
        let environment = log.environment
        if f.events == 0 && f.episodeCount == 0 {
            let head = try log.head(in: txn).position
            if head > 0 { try f.number(from: log, head: head, in: txn) }
        }
        try log.scan(from: f.head + 1, in: txn) { e in
            try f.absorb(e, fields: EventFolder.BodyFields(e), folder: folder)
            if f.events % 1_000_000 == 0 { environment.releaseMappedPages() }
            return true
        }
        f.seal()
        fold = f
    }

    /// Calls `body` with every record the projections `targets` hold for a fold: for each projection
    /// and database, the records in key order — the order `MDB_APPEND` needs and `verify` compares in.
    ///
    /// One pass over the episodes serves every target: each episode's history is built once and
    /// handed to all of them. Episodes are visited in key order in blocks, and the per-episode work —
    /// the bulk of a rebuild — runs on every core (each block split into contiguous runs joined in
    /// order, so the bytes do not depend on the number of cores). Database 0 of a keyed projection is
    /// keyed by episode id, so its records stream out block by block without being held (the streams
    /// of different projections interleave, each in order); the other databases (indexes) are
    /// collected compactly and sorted with `memcmp` at the end, and counter cells are summed on
    /// integers and given their keys once.
    public func forEachRecord(of targets: [Int], fold: Fold,
                              _ body: (_ projection: Int, _ database: Int, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) throws {
        let order = fold.episodeOrder()
        let block = Swift.max(1, recordBlock)
        let projections = targets.map { self.projections[$0] }
        // Per target: secondary databases' records, and the last database-0 key.
        var secondary = projections.map { [RecordArena](repeating: RecordArena(), count: $0.databases.count) }
        // Counter cells: summed in tables lent to the runs (one per core at most), kept across blocks,
        // put in key order at the end.
        let maxRuns = ProjectionEngine.workers * 2
        // Sized for a few cells per episode (they saturate at some hundred thousand per core), so a
        // big rebuild does not grow its tables several times over.
        let cellCapacity = Swift.min(Swift.max(fold.episodeCount * 3, 1 << 12), 1 << 19)
        let cellProjections = targets.map { self.cellProjections[$0] }
        let cellPools: [CellSumsPool?] = cellProjections.map { $0 == nil ? nil : CellSumsPool(capacity: cellCapacity) }
        var previous = [[UInt8]](repeating: [], count: targets.count)

        struct RunOutput {
            var records: [RecordSink]     // keyed projections, per target
        }
        /// The per-episode work for episodes `order[lo..<hi]`, on every core.
        let derive: @Sendable (_ lo: Int, _ hi: Int) -> [RunOutput] = { lo, hi in
            let runs = Swift.max(1, Swift.min(maxRuns, (hi - lo) / 2048))
            return parallelMap(runs) { r in
                var sinks = [RecordSink](repeating: RecordSink(), count: projections.count)
                let tables = cellPools.map { $0?.take() }
                var batch: [(cell: Cell, amounts: Counts)] = []
                batch.reserveCapacity(256)
                defer { for (pool, table) in zip(cellPools, tables) { if let pool, let table { pool.give(table) } } }
                let mine = (lo + r * (hi - lo) / runs)..<(lo + (r + 1) * (hi - lo) / runs)
                for n in mine {
                    let i = order[n]
                    // The steps of the episode two ahead: on an interleaved log an episode's steps
                    // lie far apart in the log-ordered array, each one a cache miss if it is
                    // waited for.
                    if n + 2 < mine.upperBound { fold.prefetchSteps(of: order[n + 2]) }
                    let snapshot = fold.snapshot(i)
                    for (t, proj) in projections.enumerated() {
                        if let cp = cellProjections[t] {
                            batch.removeAll(keepingCapacity: true)
                            cp.cells(for: snapshot) { cell, amounts in batch.append((cell, amounts)) }
                            batch.withUnsafeBufferPointer { tables[t]!.add(batch: $0) }
                        } else {
                            proj.records(for: snapshot, into: &sinks[t])
                        }
                    }
                }
                return RunOutput(records: sinks)
            }
        }
        // Block k + 1 is derived while this thread hands block k's records to `body` (LMDB puts
        // or comparisons, which only this thread may do): otherwise the other cores would wait
        // for every block's writing.
        var pending: Pending<[RunOutput]>? = order.isEmpty ? nil : Pending { derive(0, Swift.min(order.count, block)) }
        defer { _ = pending?.wait() }
        var from = 0
        while let current = pending {
            let parts = current.wait()
            let to = Swift.min(order.count, from + block)
            pending = to < order.count ? Pending { [to] in derive(to, Swift.min(order.count, to + block)) } : nil
            for part in parts {
                for t in projections.indices {
                    try part.records[t].forEach { database, key, value in
                        if database == 0 {
                            guard previous[t].isEmpty || bytesLess(previous[t], key) else {
                                throw LedgerError.damagedProjection(projections[t].name, episode: String(decoding: key, as: UTF8.self))
                            }
                            previous[t].removeAll(keepingCapacity: true)
                            previous[t].append(contentsOf: key)
                            try body(targets[t], 0, key, value)
                        } else {
                            secondary[t][database].append(key: key, value: value)
                        }
                    }
                }
            }
            from = to
        }
        for (t, proj) in projections.enumerated() {
            if let cp = cellProjections[t], let pool = cellPools[t] {
                try CellOrder.forEachSum(of: pool.all, projection: cp, symbols: fold.symbols) { kb, sum in
                    try sum.withBytes { vb in try body(targets[t], 0, kb, vb) }
                }
            } else {
                for d in 1..<Swift.max(1, proj.databases.count) {
                    try secondary[t][d].forEachSorted { k, v in try body(targets[t], d, k, v) }
                }
                secondary[t] = []
            }
        }
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
        var targets: [Int] = try names.isEmpty ? Array(projections.indices) : names.map {
            guard let p = projection(named: $0) else { throw LedgerError.unknownProjection($0, known: projections.map(\.name)) }
            return p
        }
        var seen = Set<Int>()
        targets = targets.filter { seen.insert($0).inserted }
        let t0 = clock()
        var f = Fold()
        try fold(into: &f)
        let t1 = clock()
        // The last events and the swap under the views' writer lock: an append commits its log
        // first, then waits here and catches up from the checkpoint this writes.
        try writeViews { txn in
            try log.environment.read { logTxn in try foldRemaining(into: &f, in: logTxn) }
            try write(targets, from: f, in: &txn)
        }
        log.environment.releaseMappedPages()
        views.releaseMappedPages()
        // The generation just retired still holds the old data; empty it so the file can reuse the pages.
        try writeViews { txn in try clearRetired(targets, in: &txn) }
        views.releaseMappedPages()
        let t2 = clock()
        return RebuildReport(projections: targets.map { projections[$0].name }, events: f.events,
                             episodes: f.episodeCount, foldSeconds: t1 - t0, writeSeconds: t2 - t1)
    }

    /// Writes projections `targets` as folded in `f` into their inactive generation and makes it
    /// the active one, inside the caller's write transaction (readers keep the old generation
    /// until it commits). The retired generation is left for the caller to empty.
    func write(_ targets: [Int], from f: Fold, in txn: inout WriteTransaction) throws {
        var generations: [Int: Int] = [:]
        for p in targets {
            let gen = 1 - (try activeGeneration(p, in: txn))
            generations[p] = gen
            for db in databases[p][gen] { try txn.clear(db) }
        }
        // One cursor per database written, each appending at the end of its tree.
        var flat: [Database] = []
        var flatIndex = [[Int]](repeating: [], count: projections.count)
        for p in targets {
            let dbs = databases[p][generations[p]!]
            flatIndex[p] = dbs.indices.map { flat.count + $0 }
            flat.append(contentsOf: dbs)
        }
        try txn.withCursors(flat) { cursors in
            try forEachRecord(of: targets, fold: f) { p, d, key, value in
                try cursors.put(flatIndex[p][d], key, value, flags: .append)
            }
        }
        for p in targets { try setMeta(p, generation: generations[p]!, checkpoint: f.head, in: &txn) }
    }

    /// Empties the generation of `targets` that is no longer active, so the file can reuse its pages.
    func clearRetired(_ targets: [Int], in txn: inout WriteTransaction) throws {
        for p in targets {
            let retired = 1 - (try activeGeneration(p, in: txn))
            for db in databases[p][retired] { try txn.clear(db) }
        }
    }

    /// Brings every projection up to the log: rebuilds those that need it, then catches up.
    /// Returns the names of the projections it rebuilt (none, normally).
    @discardableResult
    public func open() throws -> [String] {
        let needRebuild = try views.read { txn in try status(in: txn).needRebuild }
        let names = needRebuild.map { projections[$0].name }
        if !names.isEmpty { _ = try rebuild(names) }
        // Nothing is written when the views are current (a read-only command writes nothing).
        let head = try log.environment.read { try log.head(in: $0) }.position
        if try !views.read({ try isCurrent(at: head, in: $0) }) {
            try writeViews { txn in _ = try catchUp(in: &txn) }
        }
        return names
    }

    // MARK: - Verification

    public struct Mismatch: Sendable, CustomStringConvertible {
        public var projection: String
        public var database: String
        public var key: String
        public var problem: String
        public var description: String { "projection '\(projection)' (\(database)): \(problem) at key \(key)" }
    }

    /// Compares every projection, byte for byte, with a fresh fold of the log.
    public func verify() throws -> (events: Int, mismatches: [Mismatch]) {
        let environment = log.environment
        let f = try environment.read { txn in
            var f = Fold()
            let folder = EventFolder(symbols: f.symbols)
            try log.scan(from: 1, in: txn) { e in
                try f.absorb(e, fields: EventFolder.BodyFields(e), folder: folder)
                // One snapshot for the whole comparison, but the scanned pages need not stay resident.
                if f.events % 1_000_000 == 0 { environment.releaseMappedPages() }
                return true
            }
            environment.releaseMappedPages()
            f.seal()
            return f
        }
        return (f.events, try views.read { txn in try verify(fold: f, in: txn) })
    }

    /// Compares every projection, byte for byte, with `fold` — the whole log folded by the caller
    /// (the verifier folds beside its walk of the hash chain, see ``foldForVerification(records:)``)
    /// — reading the projections in `txn`, a read transaction on the views.
    public func verify(fold f: Fold, in txn: borrowing ReadTransaction) throws -> [Mismatch] {
        var mismatches: [Mismatch] = []
        var flat: [Database] = []
        var flatIndex: [[Int]] = []
        for p in projections.indices {
            let cp = try checkpoint(p, in: txn)
            if cp != f.head {
                mismatches.append(Mismatch(projection: projections[p].name, database: "-", key: "-",
                                           problem: "checkpoint is \(cp) but the log's head is \(f.head)"))
            }
            let dbs = try activeDatabases(p, in: txn)
            flatIndex.append(dbs.indices.map { flat.count + $0 })
            flat.append(contentsOf: dbs)
        }
        // One cursor per stored database walks it alongside the rebuilt records, all projections
        // in one pass over the episodes.
        try txn.withCursors(flat) { cursors in
            var started = [Bool](repeating: false, count: flat.count)
            var failed = [Bool](repeating: false, count: flat.count)
            func stored(_ i: Int) throws -> Cursor.Entry? {
                if started[i] { return try cursors.next(i) }
                started[i] = true
                return try cursors.first(i)
            }
            func report(_ p: Int, _ d: Int, _ key: UnsafeRawBufferPointer, _ problem: String) {
                mismatches.append(Mismatch(projection: projections[p].name, database: projections[p].databases[d],
                                           key: printable(key), problem: problem))
                failed[flatIndex[p][d]] = true
            }
            var compared = 0
            let environment = views
            try forEachRecord(of: Array(projections.indices), fold: f) { p, d, key, value in
                // The stored projections are as large as the log: their pages need not stay resident.
                compared += 1
                if compared % 1_000_000 == 0 { environment.releaseMappedPages() }
                let i = flatIndex[p][d]
                if failed[i] { return }
                guard let (k, v) = try stored(i) else { report(p, d, key, "a record is missing"); return }
                if !bytesEqual(k, key) { report(p, d, key, "the stored keys differ from the rebuilt ones"); return }
                if !bytesEqual(v, value) { report(p, d, k, "the stored record differs from the rebuilt one") }
            }
            for p in projections.indices {
                for d in projections[p].databases.indices where !failed[flatIndex[p][d]] {
                    if let (k, _) = try stored(flatIndex[p][d]) { report(p, d, k, "an extra record is stored") }
                }
            }
        }
        return mismatches
    }
}

func printable(_ b: UnsafeRawBufferPointer) -> String {
    var s = ""
    for x in b.prefix(80) { s += (x >= 32 && x < 127) ? String(UnicodeScalar(x)) : "·" }
    return s
}

/// Records held compactly (one byte buffer, offsets) to be sorted by key without an allocation each.
struct RecordArena {
    var bytes: [UInt8] = []
    var entries: [(offset: Int, keyCount: Int32, valueCount: Int32)] = []

    mutating func append(key: [UInt8], value: [UInt8]) {
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in append(key: k, value: v) } }
    }

    mutating func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        entries.append((bytes.count, Int32(key.count), Int32(value.count)))
        bytes.append(contentsOf: key); bytes.append(contentsOf: value)
    }

    /// Visits the records in byte order of their keys (duplicates keep their order of arrival).
    ///
    /// Sorted on the keys' first 16 bytes as two big-endian integers (index keys — a patient or a
    /// date followed by an episode id — nearly always differ there), with `memcmp` only for ties:
    /// a rebuild sorts about a million index entries per index.
    func forEachSorted(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            struct Item { var hi: UInt64; var lo: UInt64; var index: Int32 }
            func key(_ e: (offset: Int, keyCount: Int32, valueCount: Int32)) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: all[e.offset..<(e.offset + Int(e.keyCount))])
            }
            func word(_ k: UnsafeRawBufferPointer, _ from: Int) -> UInt64 {
                var w: UInt64 = 0
                for i in 0..<8 { w = w << 8 | UInt64(from + i < k.count ? k[from + i] : 0) }
                return w
            }
            var items = entries.indices.map { i -> Item in
                let k = key(entries[i])
                return Item(hi: word(k, 0), lo: word(k, 8), index: Int32(i))
            }
            items.sort { a, b in
                if a.hi != b.hi { return a.hi < b.hi }
                if a.lo != b.lo { return a.lo < b.lo }
                let x = key(entries[Int(a.index)]), y = key(entries[Int(b.index)])
                let n = min(x.count, y.count)
                let c = n <= 16 ? 0 : memcmp(x.baseAddress! + 16, y.baseAddress! + 16, n - 16)
                return c != 0 ? c < 0 : (x.count != y.count ? x.count < y.count : a.index < b.index)
            }
            for item in items {
                let e = entries[Int(item.index)]
                let v = e.offset + Int(e.keyCount)
                try body(key(e), UnsafeRawBufferPointer(rebasing: all[v..<(v + Int(e.valueCount))]))
            }
        }
    }
}

/// Whether two byte ranges are equal (`memcmp`; the generic `elementsEqual` goes byte by byte).
@inline(__always) func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

/// Byte-wise order, as LMDB's default comparator sorts keys.
@inline(__always) func bytesLess(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in bytesLess(x, y) } }
}
@inline(__always) func bytesLess(_ a: [UInt8], _ y: UnsafeRawBufferPointer) -> Bool {
    a.withUnsafeBytes { x in bytesLess(x, y) }
}
@inline(__always) func bytesLess(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
    let n = min(x.count, y.count)
    let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
    return c != 0 ? c < 0 : x.count < y.count
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

/// Work started on another thread now, its result waited for later.
public final class Pending<T>: @unchecked Sendable {
    private var value: T?
    private let done = DispatchGroup()
    public init(_ work: @escaping @Sendable () -> T) {
        done.enter()
        DispatchQueue.global().async {
            self.value = work()
            self.done.leave()
        }
    }
    /// The result (waits for it); may be called more than once.
    public func wait() -> T {
        done.wait()
        return value!
    }
}

/// Result slots written by concurrent workers, each at its own index, under a lock.
final class ParallelSlots<R>: @unchecked Sendable {
    var values: [R?]
    init(_ n: Int) { values = [R?](repeating: nil, count: n) }
}
