import EventLog
import Foundation
import Ingest
import LMDB
import Ledger
import Pathway
#if canImport(Glibc)
import Glibc
#endif

/// Walks the whole store and proves nothing was changed: the hash chain, gapless positions and
/// stream versions, the stream and id indexes, an optional anchor, and every projection against a
/// fresh fold of the log.
public struct Verifier {
    public struct Problem: Sendable, CustomStringConvertible {
        /// The first log position the problem concerns (0 when it is not about one event).
        public var position: UInt64
        public var what: String
        public var description: String { position > 0 ? "position \(position): \(what)" : what }
    }

    public struct Report: Sendable {
        public var events = 0
        public var streams = 0
        public var head = EventLog.Head.genesis
        public var anchorChecked: String? = nil
        public var projectionsChecked: [String] = []
        public var problems: [Problem] = []
        public var ok: Bool { problems.isEmpty }
    }

    public let ledger: Ledger
    public init(ledger: Ledger) { self.ledger = ledger }

    /// An anchor `POSITION:HASH` as an auditor writes it down.
    public struct Anchor: Sendable, Equatable, CustomStringConvertible {
        public var position: UInt64
        public var hash: [UInt8]
        public init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let p = UInt64(parts[0]), let h = Hex.decode(String(parts[1])), h.count == 32 else { return nil }
            position = p; hash = h
        }
        public init(position: UInt64, hash: [UInt8]) { self.position = position; self.hash = hash }
        public var description: String { "\(position):\(Hex.encode(hash))" }
    }

    public func verify(anchor: Anchor? = nil, projections: Bool = true) throws -> Report {
        try countingTheLog(projections: projections) { records, folding in
            // First with the stream index read ahead (see ``IndexedStreams``); where the index and
            // the log disagree, again following each stream's versions by its name's digest, which
            // says exactly what is wrong and where. One fold serves both.
            if let report = try verify(anchor: anchor, records: records, folding: folding, readingIndexAhead: true) { return report }
            return try verify(anchor: anchor, records: records, folding: folding, readingIndexAhead: false)!
        }
    }

    /// One verification; nil when `readingIndexAhead` and the stream index does not agree with
    /// the log (the caller then verifies without reading it ahead).
    func verify(anchor: Anchor?, projections: Bool, readingIndexAhead: Bool) throws -> Report? {
        try countingTheLog(projections: projections) { records, folding in
            try verify(anchor: anchor, records: records, folding: folding, readingIndexAhead: readingIndexAhead)
        }
    }

    typealias FoldOutcome = (fold: ProjectionEngine.Fold?, unreadable: (position: UInt64, reason: String)?)
    struct LogGrewMeanwhile: Error {}

    /// Counts the log's events and calls `body` with the count and, when `projections`, the
    /// projections' fresh fold of those positions — started on another core, to run beside the
    /// walk in a read transaction of its own (see `foldForVerification`). An append between the
    /// count and the walk's transaction makes the walk throw ``LogGrewMeanwhile``: counted again.
    private func countingTheLog<R>(projections: Bool, _ body: (Int, Pending<FoldOutcome>?) throws -> R) throws -> R {
        while true {
            let records = try ledger.environment.read { txn in try ledger.log.eventCount(in: txn) }
            let engine = ledger.engine
            let folding = projections ? Pending { engine.foldForVerification(records: records) } : nil
            defer { _ = folding?.wait() }   // never left running, also when `body` throws
            do {
                return try body(records, folding)
            } catch is LogGrewMeanwhile {
                continue
            }
        }
    }

    /// One verification of the log's first `records` positions, with the projections checked
    /// against the fold `folding` makes of them (none: the log only).
    func verify(anchor: Anchor?, records: Int, folding: Pending<FoldOutcome>?, readingIndexAhead: Bool) throws -> Report? {
        let projections = folding != nil
        var report = Report()
        let log = ledger.log
        var indexDisagrees = false
        try ledger.environment.read { txn in
            // Every link is checked against the *stored* previous hash, so links are independent:
            // the walk does the ordered checks (positions, versions) and queues the links, and each
            // full batch of links is hashed on every core *while the walk goes on* with the next
            // one. The queued pointers point into the read transaction's memory map, valid until it
            // ends. All the walk's state is one struct, so the per-event closure makes one access.
            // The walk covers the same positions as the fold (its transaction is a later one).
            guard try log.eventCount(in: txn) == records else { throw LogGrewMeanwhile() }
            var readAhead: IndexedStreams? = nil
            if readingIndexAhead {
                guard let ix = try IndexedStreams(log: log, records: records, in: txn) else { indexDisagrees = true; return }
                readAhead = ix
            }
            var walk = Walk(batch: Verifier.batch, events: records)
            if let readAhead { walk.indexed = readAhead } else { walk.reserveTracking(events: records) }
            // Through a pointer: a captured `var` would cost a dynamic exclusivity check per event.
            try withUnsafeMutablePointer(to: &walk) { w in
                let environment = ledger.environment
                try log.scanRaw(in: txn) { k, v in
                    let more = w.pointee.step(key: k, value: v)
                    if w.pointee.events % 1_000_000 == 0 { environment.releaseMappedPages() }
                    return more
                }
                w.pointee.finish()
            }
            ledger.environment.releaseMappedPages()
            if let ix = walk.indexed {
                guard !walk.indexDisagrees, walk.chainBroken || ix.accountsFor(events: walk.events) else { indexDisagrees = true; return }
            }
            report.events = walk.events
            report.problems = walk.problems
            let chainBroken = walk.chainBroken
            let streamOf = walk.streamOf, versionOf = walk.versionOf
            report.head = try log.head(in: txn)
            report.streams = walk.streams
            guard !chainBroken else { return }

            // The stream index must list exactly each stream's positions, in version order
            // (proven during the walk when the index was read ahead).
            var indexed = walk.indexed == nil ? 0 : report.events
            var indexProblem: Problem? = nil
            if walk.indexed == nil {
                try log.scanStreams(in: txn) { key, positions in
                    guard indexProblem == nil else { return }
                    let sd = Verifier.digest(key)
                    for (i, p) in positions.enumerated() {
                        guard p >= 1, p < UInt64(streamOf.count), streamOf[Int(p)] == sd, versionOf[Int(p)] == UInt64(i + 1) else {
                            indexProblem = Problem(position: p, what: "the stream index for \(Verifier.shown(key)) does not match the log")
                            return
                        }
                    }
                    let before = indexed
                    indexed += positions.count
                    // The index is as large as the log; its pages need not stay resident either.
                    if indexed / 1_000_000 != before / 1_000_000 { ledger.environment.releaseMappedPages() }
                }
            }
            ledger.environment.releaseMappedPages()
            if let p = indexProblem { report.problems.append(p) }
            else if indexed != report.events {
                report.problems.append(Problem(position: 0, what: "the stream index lists \(indexed) events but the log holds \(report.events)"))
            }
            // The id index must map exactly each event's id to its position.
            var idDigests = walk.takeIDDigests()
            report.problems += try Verifier.checkIDIndex(log, in: txn, digests: &idDigests, digest: walk.idDigest,
                                                         environment: ledger.environment)
            idDigests = []

            if let a = anchor {
                report.anchorChecked = a.description
                if a.position > report.head.position {
                    report.problems.append(Problem(position: a.position, what: "the anchor is at position \(a.position) but the log ends at \(report.head.position): events after it were removed"))
                } else if a.position == 0 {
                    if a.hash != EventLog.Head.genesis.hash { report.problems.append(Problem(position: 0, what: "the anchor's hash does not match the empty log")) }
                } else {
                    let stored = try log.withEvent(at: a.position, in: txn) { Array($0.hash) }
                    if stored != a.hash {
                        report.problems.append(Problem(position: a.position, what: "the log's hash at the anchor's position differs from the anchor: the log was rewritten up to there"))
                    }
                }
            }
            // Each projection against the fold made beside the walk (the views are read in their own
            // snapshot, taken now; an append by another process between its log's commit and its
            // views' shows as a checkpoint behind the head — run verify again).
            if projections && report.ok {
                let folded = folding!.wait()
                if let (position, reason) = folded.unreadable {
                    report.problems.append(Problem(position: position, what: "the registration stored here cannot be read: \(reason)"))
                } else if let fold = folded.fold {
                    let mismatches = try ledger.views.read { viewsTxn in try ledger.engine.verify(fold: fold, in: viewsTxn) }
                    report.projectionsChecked = ledger.engine.projections.map(\.name)
                    for m in mismatches { report.problems.append(Problem(position: 0, what: m.description)) }
                }
            }
        }
        return indexDisagrees ? nil : report
    }

    /// At most this many id index problems are described one by one; the rest are counted.
    static let idProblemsShown = 10

    /// Checks every entry of the id index against the ids the walk saw: its value is an 8-byte
    /// position within 1…head whose event's id has the entry's digest, and no position is claimed
    /// twice or left without an entry. `digests` (position − 1 → id digest) is used up: each slot
    /// is set to 0 once an entry accounts for it. Together this proves the index is exactly the
    /// set of (id → position) pairs of the log — a per-entry check the entry count alone is not.
    /// Only when something is wrong are events read again, to name the ids involved.
    static func checkIDIndex<T: Transaction & ~Copyable>(_ log: EventLog, in txn: borrowing T, digests: inout [UInt64],
                             digest: IDDigest, environment: Environment) throws -> [Problem] {
        let head = UInt64(digests.count)
        var check = IDIndexCheck(head: head, digest: digest)
        defer { check.deallocate() }
        try digests.withUnsafeMutableBufferPointer { d in
            check.digests = d
            // Through a pointer, as the walk: a captured `var` would cost an exclusivity check per entry.
            try withUnsafeMutablePointer(to: &check) { c in
                try log.scanIDs(in: txn) { key, value in
                    if c.pointee.step(key: key, value: value) { environment.releaseMappedPages() }
                }
                c.pointee.settle()
            }
        }
        let (bad, badCount, entries) = (check.bad, check.badCount, check.entries)
        environment.releaseMappedPages()
        var problems: [Problem] = []
        for (key, value) in bad {
            let name = key.withUnsafeBytes { shown($0) }
            // Where the id really is, if any event has it (that position is then accounted for).
            let d = key.withUnsafeBytes { digest($0) }
            let actual = digests.firstIndex(of: d).map { UInt64($0 + 1) }
            if let q = actual { digests[Int(q - 1)] = 0 }
            let whereItIs = actual.map { "\(name) is at position \($0)" } ?? "no event has the id \(name)"
            let p = value.count == 8 ? value.withUnsafeBytes { BigEndian.uint64($0) } : 0
            if value.count != 8 {
                problems.append(Problem(position: actual ?? 0, what: "the id index holds \(value.count) bytes for \(name), not a log position (\(whereItIs)): the id index was altered"))
            } else if p < 1 || p > head {
                problems.append(Problem(position: actual ?? 0, what: "the id index points \(name) at position \(p), but the log's positions are 1…\(head) (\(whereItIs)): the id index was altered"))
            } else {
                let here = try log.withEvent(at: p, in: txn) { shown($0.id) } ?? "?"
                problems.append(Problem(position: p, what: "the id index points \(name) here, but the event here has the id \(here) and \(whereItIs): the id index was altered"))
            }
        }
        var missing = 0
        for (i, d) in digests.enumerated() where d != 0 {
            missing += 1
            guard problems.count < idProblemsShown else { continue }
            let p = UInt64(i + 1)
            let name = try log.withEvent(at: p, in: txn) { shown($0.id) } ?? "?"
            problems.append(Problem(position: p, what: "the id index has no entry for this event's id \(name): the id index was altered"))
        }
        if badCount + missing > problems.count {
            problems.append(Problem(position: 0, what: "in all, \(badCount) entries of the id index do not match the log and \(missing) events are not indexed under their ids (\(entries) entries for \(head) events); the first are described above"))
        }
        return problems
    }

    /// The pass over the id index. Its entries come in id order, so their positions jump about
    /// the digest table: they are compared a batch at a time, letting the table's cache misses
    /// overlap instead of each waiting behind a cursor step. (Keys point into the read
    /// transaction's map and stay valid until it ends.)
    struct IDIndexCheck {
        static let batch = 64
        let head: UInt64
        let digest: IDDigest
        var digests = UnsafeMutableBufferPointer<UInt64>(start: nil, count: 0)
        private let slot = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        private let want = UnsafeMutablePointer<UInt64>.allocate(capacity: batch)
        private let keys = UnsafeMutablePointer<UnsafeRawBufferPointer>.allocate(capacity: batch)
        private var pending = 0
        private(set) var entries = 0
        /// Entries that do not match (the first few kept to be described), in id order.
        private(set) var badCount = 0
        private(set) var bad: [(key: [UInt8], value: [UInt8])] = []

        init(head: UInt64, digest: IDDigest) { self.head = head; self.digest = digest }

        func deallocate() { slot.deallocate(); want.deallocate(); keys.deallocate() }

        /// One entry; true when the scanned pages should be handed back.
        @inline(__always) mutating func step(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
            entries += 1
            if value.count == 8, case let p = value.loadUnaligned(as: UInt64.self).bigEndian, p >= 1 && p <= head {
                slot[pending] = Int(p - 1); want[pending] = digest(key); keys[pending] = key
                pending += 1
                if pending == IDIndexCheck.batch { settle() }
            } else {
                settle()
                note(key, Array(value))
            }
            guard entries % 1_000_000 == 0 else { return false }
            settle()
            return true
        }

        /// Compares the batch: a slot that matches is set to 0, so no position counts twice.
        mutating func settle() {
            for j in 0..<pending {
                if digests[slot[j]] == want[j] { digests[slot[j]] = 0 }
                else { note(keys[j], BigEndian.bytes(UInt64(slot[j] + 1))) }
            }
            pending = 0
        }

        private mutating func note(_ key: UnsafeRawBufferPointer, _ value: [UInt8]) {
            badCount += 1
            if bad.count < Verifier.idProblemsShown { bad.append((Array(key), value)) }
        }
    }

    /// An id or stream name read from the store, fit to print: quoted when it is printable text,
    /// in hex when not, and withheld when it holds what could be an identity number (a tampered
    /// store can hold anything; nothing read from it is echoed unchecked).
    static func shown(_ id: UnsafeRawBufferPointer) -> String {
        if IdentityNumber.occurs(in: id) { return "(a name shaped like an identity number, not shown)" }
        let s = String(decoding: id, as: UTF8.self)
        if s.utf8.elementsEqual(id), !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return "'\(s)'" }
        return "0x" + Hex.encode(id)
    }

    /// A digest of a client id under a key drawn afresh for each verification: the polynomial
    /// whose coefficients are the id's length and its bytes, 7 to a coefficient, evaluated at the
    /// key modulo the prime 2⁶¹ − 1. Two different ids (at most 511 bytes: 74 coefficients) share a
    /// digest with probability below 2⁻⁵⁴ whichever they are, so a forged index entry cannot be
    /// given an id that passes for another — with an unkeyed hash such as `SymbolTable.hash`, whose
    /// steps can be inverted, one could be computed. Never 0: the index check marks slots with 0.
    struct IDDigest: Sendable {
        static let prime: UInt64 = (1 << 61) - 1
        let key: UInt64
        init() { key = UInt64.random(in: 0..<IDDigest.prime) }
        init(key: UInt64) { self.key = key % IDDigest.prime }

        /// a · b mod 2⁶¹ − 1, for a, b < 2⁶¹.
        @inline(__always) static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (hi, lo) = a.multipliedFullWidth(by: b)
            // 2⁶¹ ≡ 1: fold the bits above 61 onto the low ones (the product is below 2¹²²).
            var r = (lo & prime) &+ ((lo >> 61) | (hi << 3))
            r = (r & prime) &+ (r >> 61)
            return r >= prime ? r &- prime : r
        }

        @inline(__always) func callAsFunction(_ b: UnsafeRawBufferPointer) -> UInt64 {
            let p = IDDigest.prime
            let n = b.count
            var h = UInt64(n) + 1
            guard let base = b.baseAddress, n > 0 else { return h + 1 }
            var i = 0
            while i + 8 <= n {
                let c = base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian & 0x00ff_ffff_ffff_ffff
                h = IDDigest.multiply(h, key) &+ c
                if h >= p { h &-= p }
                i += 7
            }
            if i < n {
                var c: UInt64 = 0, shift: UInt64 = 0
                while i < n { c |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift; shift += 8; i += 1 }
                h = IDDigest.multiply(h, key) &+ c
                if h >= p { h &-= p }
            }
            return h + 1
        }
    }

    /// One link to check: SHA-256(previous ‖ SHA-256(canonical)) must equal hash. The buffers
    /// point into a read transaction's memory map.
    struct PendingLink: @unchecked Sendable {
        var position: UInt64
        var previous: UnsafeRawBufferPointer
        var canonical: UnsafeRawBufferPointer
        var hash: UnsafeRawBufferPointer
    }

    static let batch = 1 << 16

    /// The first position whose link does not verify, checked on every core.
    static func firstBrokenLink(_ links: [PendingLink]) -> UInt64? {
        let workers = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
        let runs = links.count < 4096 ? 1 : workers
        let bounds = (0...runs).map { $0 * links.count / runs }
        let firsts = ParallelResults(runs)
        DispatchQueue.concurrentPerform(iterations: runs) { r in
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
            defer { out.deallocate() }
            let outA = UnsafeMutableRawBufferPointer(rebasing: out[0..<32]), outB = UnsafeMutableRawBufferPointer(rebasing: out[32..<64])
            // Two links at a time (their SHA rounds interleave); the first broken one of a pair
            // is the one reported.
            var i = bounds[r]
            while i + 1 < bounds[r + 1] {
                let a = links[i], b = links[i + 1]
                EventLog.chainHashes(previous: a.previous, canonical: a.canonical, into: outA,
                                     previous: b.previous, canonical: b.canonical, into: outB)
                if memcmp(outA.baseAddress!, a.hash.baseAddress!, 32) != 0 { firsts.set(r, a.position); return }
                if memcmp(outB.baseAddress!, b.hash.baseAddress!, 32) != 0 { firsts.set(r, b.position); return }
                i += 2
            }
            if i < bounds[r + 1] {
                let l = links[i]
                EventLog.chainHash(previous: l.previous, canonical: l.canonical, into: outA)
                if memcmp(outA.baseAddress!, l.hash.baseAddress!, 32) != 0 { firsts.set(r, l.position); return }
            }
        }
        return firsts.values.compactMap { $0 }.min()
    }

    /// A 64-bit digest of a stream name, to follow stream versions without keeping names. Keyed
    /// afresh for each process (see ``IDDigest``), so a stream key forged into the index cannot be
    /// made to pass for another stream; two streams with one digest would be reported, never hidden.
    /// (Digests are at most 2⁶¹, so never `UInt64.max`, which cannot be a key of the version table.)
    static let streamDigest = IDDigest()
    @inline(__always) static func digest(_ b: UnsafeRawBufferPointer) -> UInt64 { streamDigest(b) }

    /// The ordered part of the log walk: positions, decoding, stream versions; links queued and
    /// hashed a batch at a time in the background.
    struct Walk {
        var events = 0
        var problems: [Problem] = []
        var chainBroken = false
        var streamOf: [UInt64] = [0]                  // position → stream digest
        var versionOf: [UInt64] = [0]                 // position → version
        /// Position − 1 → digest of the event's id (8 bytes an event), for the id index check.
        private var idOf: [UInt64] = []
        let idDigest = IDDigest()
        var streams: Int { indexed?.streamCount ?? versions.count }
        /// The stream index read ahead: each event's stream and version are checked against it,
        /// and the tracking below (`versions`, `streamOf`, `versionOf`) is not needed.
        var indexed: IndexedStreams? = nil
        /// Set when the index read ahead disagrees with the log: the walk stops there.
        var indexDisagrees = false
        private var versions = IntegerMap(capacity: 1 << 15)   // stream digest → last version seen
        /// The stream of the event before, its digest (0: none yet) and version. Events of one
        /// episode tend to come in runs; within a run a byte comparison replaces the digest and the
        /// table look-up, and the table learns the run's last version when the run ends (``finish()``
        /// writes the last run). The bytes point into the read transaction's map.
        private var runStream = UnsafeRawBufferPointer(start: nil, count: 0)
        private var runDigest: UInt64 = 0
        private var runVersion: UInt64 = 0
        private var expected: UInt64 = 1
        private var previousHash: UnsafeRawBufferPointer
        private let zero: UnsafeMutableRawBufferPointer
        private var pending: [PendingLink] = []
        private let batch: Int
        private let hasher = BackgroundLinks()
        init(batch: Int, events: Int) {
            self.batch = batch
            idOf.reserveCapacity(events)
            zero = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
            zero.initializeMemory(as: UInt8.self, repeating: 0)
            previousHash = UnsafeRawBufferPointer(zero)
            pending.reserveCapacity(batch)
        }

        /// Room to follow `events` events' streams and versions without the index read ahead.
        mutating func reserveTracking(events: Int) {
            streamOf.reserveCapacity(events + 1)
            versionOf.reserveCapacity(events + 1)
        }

        mutating func fail(_ position: UInt64, _ what: String) -> Bool {
            problems.append(Problem(position: position, what: what))
            chainBroken = true
            return false
        }

        mutating func step(key k: UnsafeRawBufferPointer, value v: UnsafeRawBufferPointer) -> Bool {
            guard k.count == 8 else { return fail(expected, "a log key is \(k.count) bytes, not 8: the log database was altered") }
            let key = BigEndian.uint64(k)
            if key != expected {
                return fail(expected, key > expected ? "positions \(expected)…\(key - 1) are missing: events were removed"
                                                     : "position \(key) appears out of order")
            }
            let e: StoredEvent
            do { e = try StoredEvent(bytes: v, key: key) } catch { return fail(key, "\(error)") }
            if e.position != key { return fail(key, "the event says it is at position \(e.position): events were moved or swapped") }
            pending.append(PendingLink(position: key, previous: previousHash, canonical: e.canonical, hash: e.hash))
            if let indexed {
                guard indexed.check(e) else { indexDisagrees = true; return false }
            } else {
                let sd: UInt64, version: UInt64
                if runDigest != 0, e.stream.count == runStream.count,
                   e.stream.count == 0 || memcmp(e.stream.baseAddress!, runStream.baseAddress!, e.stream.count) == 0 {
                    sd = runDigest
                    version = runVersion + 1
                } else {
                    if runDigest != 0 { versions.set(runDigest, to: runVersion) }
                    sd = Verifier.digest(e.stream)
                    version = (versions[sd] ?? 0) + 1
                    runStream = e.stream; runDigest = sd
                }
                runVersion = version
                if e.version != version { return fail(key, "stream \(Verifier.shown(e.stream)) has version \(e.version) here, expected \(version)") }
                streamOf.append(sd); versionOf.append(version)
            }
            idOf.append(idDigest(e.id))
            previousHash = e.hash
            events += 1
            expected += 1
            if pending.count >= batch {
                if collect() { return false }
                hasher.start(pending)
                pending = []
                pending.reserveCapacity(batch)
            }
            return true
        }

        /// Takes the result of the batch hashed in the background; true when a link was broken.
        private mutating func collect() -> Bool {
            guard let bad = hasher.wait() else { return false }
            record(brokenAt: bad)
            return true
        }

        private mutating func record(brokenAt bad: UInt64) {
            let message = "the hash chain breaks here: this event's content or the one before it was changed after it was appended"
            // A broken link comes before any problem the walk found after it.
            problems.removeAll { $0.position >= bad }
            problems.insert(Problem(position: bad, what: message), at: problems.firstIndex { $0.position > bad } ?? problems.count)
            events = min(events, Int(bad) - 1)
            chainBroken = true
        }

        /// The id digests, handed over (the walk keeps none).
        mutating func takeIDDigests() -> [UInt64] {
            var out: [UInt64] = []
            swap(&out, &idOf)
            return out
        }

        mutating func finish() {
            defer { zero.deallocate() }
            if runDigest != 0 { versions.set(runDigest, to: runVersion); runDigest = 0 }
            if collect() { return }
            if let bad = Verifier.firstBrokenLink(pending) { record(brokenAt: bad) }
            pending = []
        }
    }
}

/// The stream index, read before the log walk: which stream each position is in.
///
/// Why: following each stream's version through the walk means a look-up per event in a table of
/// a million stream digests — in a real log, whose pathways interleave, a cache miss per event —
/// and then a second pass over the index that compares each entry with what the walk saw, at
/// random positions again. Read ahead, the index gives each position's stream (the scattered
/// writes of that are not waited for), and the walk checks each event against it in log order,
/// asking a few events ahead for the stream entries it will need:
/// - the position is listed once, under a stream whose name has the event's stream digest (keyed
///   afresh for each process, see ``Verifier/IDDigest``, so a forged index cannot pass for
///   another stream);
/// - the event's version is one more than the events of that stream seen before it;
/// - at the end each stream has been seen as often as it is listed, and the index lists no more
///   positions than the log holds.
/// The index lists each position at most once, in ascending order within a stream, within
/// 1…records: so each stream's list is exactly its events, in version order — what the pass after
/// the walk proves otherwise. Anything else makes the verification run again without reading
/// ahead, which names the problem.
final class IndexedStreams {
    struct Stream { var digest: UInt64; var seen: UInt32; var listed: UInt32 }
    private let placement: UnsafeMutablePointer<UInt32>    // position − 1 → stream number + 1 (0: unlisted)
    private let records: Int
    private let table: UnsafeMutablePointer<Stream>
    let streamCount: Int
    private var entries = 0
    private var runNumber: UInt32 = 0
    private var runStream = UnsafeRawBufferPointer(start: nil, count: 0)
    static let lookAhead = 8

    /// Nil when the index lists a position twice, out of order or outside 1…`records`.
    init?<T: Transaction & ~Copyable>(log: EventLog, records: Int, in txn: borrowing T) throws {
        let placement = LargeMemory.allocate(UInt32.self, count: Swift.max(records, 1), initializedTo: 0)
        var streams: [Stream] = []
        var entries = 0, ok = true
        var last: UInt64 = 0   // the stream's position before (its pages come in order)
        try log.scanStreamPages(in: txn) { stream, positions, first in
            guard ok else { return }
            if first {
                guard streams.count < Int(UInt32.max - 1) else { ok = false; return }
                streams.append(Stream(digest: Verifier.digest(stream), seen: 0, listed: 0))
                last = 0
            }
            let number = UInt32(streams.count)
            guard let base = positions.baseAddress, positions.count % 8 == 0 else { ok = false; return }
            for j in 0..<(positions.count / 8) {
                let p = base.loadUnaligned(fromByteOffset: j * 8, as: UInt64.self).bigEndian
                guard p > last, p >= 1, p <= UInt64(records), placement[Int(p - 1)] == 0 else { ok = false; return }
                placement[Int(p - 1)] = number
                last = p
            }
            let n = UInt32(positions.count / 8)
            guard streams[streams.count - 1].listed <= UInt32.max - 1 - n else { ok = false; return }
            streams[streams.count - 1].listed += n
            entries += positions.count / 8
        }
        guard ok else { LargeMemory.deallocate(placement); return nil }
        self.placement = placement
        self.records = records
        table = LargeMemory.allocate(Stream.self, count: Swift.max(streams.count, 1))
        table.initialize(from: streams, count: streams.count)
        streamCount = streams.count
        self.entries = entries
    }

    deinit { LargeMemory.deallocate(placement); LargeMemory.deallocate(table) }

    /// Whether the event (at a position already checked to be the next one) is where the index
    /// says, with the version that follows its stream's last.
    @inline(__always) func check(_ e: StoredEvent) -> Bool {
        let p = e.position
        guard p >= 1, p <= UInt64(records) else { return false }
        let i = Int(p - 1)
        if i + IndexedStreams.lookAhead < records, case let a = placement[i + IndexedStreams.lookAhead], a > 0 {
            prefetch(UnsafeRawBufferPointer(start: table + Int(a - 1), count: 1))
        }
        let number = placement[i]
        guard number > 0 else { return false }
        let s = table + Int(number - 1)
        // Within a run of one stream's events, the same bytes as the event before: same digest.
        if number != runNumber || e.stream.count != runStream.count
            || (e.stream.count > 0 && memcmp(e.stream.baseAddress!, runStream.baseAddress!, e.stream.count) != 0) {
            guard Verifier.digest(e.stream) == s.pointee.digest else { return false }
            runNumber = number
            runStream = e.stream
        }
        guard UInt64(s.pointee.seen) + 1 == e.version else { return false }
        s.pointee.seen += 1
        return true
    }

    /// After a walk of `events` events: every listed position was an event of its stream.
    func accountsFor(events: Int) -> Bool {
        guard entries == events else { return false }
        for j in 0..<streamCount where table[j].seen != table[j].listed { return false }
        return true
    }
}

/// Hashes one batch of links in the background (on every core) while the walk reads the next.
final class BackgroundLinks: @unchecked Sendable {
    private let group = DispatchGroup()
    private var result: UInt64? = nil
    private var running = false

    func start(_ links: [Verifier.PendingLink]) {
        running = true
        group.enter()
        DispatchQueue.global().async {
            self.result = Verifier.firstBrokenLink(links)
            self.group.leave()
        }
    }

    /// Waits for the running batch (if any); its first broken position, if one is.
    func wait() -> UInt64? {
        guard running else { return nil }
        group.wait()
        running = false
        let r = result
        result = nil
        return r
    }
}

/// Per-worker results, each written once at its own index under a lock.
final class ParallelResults: @unchecked Sendable {
    private(set) var values: [UInt64?]
    private let lock = NSLock()
    init(_ n: Int) { values = [UInt64?](repeating: nil, count: n) }
    func set(_ i: Int, _ v: UInt64) { lock.lock(); values[i] = v; lock.unlock() }
}
