import EventLog
import Foundation
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
        var report = Report()
        let log = ledger.log
        try ledger.environment.read { txn in
            // Every link is checked against the *stored* previous hash, so links are independent:
            // the walk does the ordered checks (positions, versions) and queues the links, and each
            // full batch of links is hashed on every core *while the walk goes on* with the next
            // one. The queued pointers point into the read transaction's memory map, valid until it
            // ends. All the walk's state is one struct, so the per-event closure makes one access.
            var walk = Walk(batch: Verifier.batch, folding: projections)
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
            report.events = walk.events
            report.problems = walk.problems
            let chainBroken = walk.chainBroken
            let streamOf = walk.streamOf, versionOf = walk.versionOf
            report.head = try log.head(in: txn)
            report.streams = walk.streams
            guard !chainBroken else { return }

            // The stream index must list exactly each stream's positions, in version order.
            var indexed = 0
            var indexProblem: Problem? = nil
            try log.scanStreams(in: txn) { key, positions in
                guard indexProblem == nil else { return }
                let sd = Verifier.digest(key)
                for (i, p) in positions.enumerated() {
                    guard p >= 1, p < UInt64(streamOf.count), streamOf[Int(p)] == sd, versionOf[Int(p)] == UInt64(i + 1) else {
                        indexProblem = Problem(position: p, what: "the stream index for '\(String(decoding: key, as: UTF8.self))' does not match the log")
                        return
                    }
                }
                let before = indexed
                indexed += positions.count
                // The index is as large as the log; its pages need not stay resident either.
                if indexed / 1_000_000 != before / 1_000_000 { ledger.environment.releaseMappedPages() }
            }
            ledger.environment.releaseMappedPages()
            if let p = indexProblem { report.problems.append(p) }
            else if indexed != report.events {
                report.problems.append(Problem(position: 0, what: "the stream index lists \(indexed) events but the log holds \(report.events)"))
            }
            let ids = try log.idCount(in: txn)
            if ids != report.events {
                report.problems.append(Problem(position: 0, what: "the id index has \(ids) entries but the log holds \(report.events) events"))
            }

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
            // Each projection against the fold made during the walk, in the same snapshot.
            if projections && report.ok {
                if let p = walk.foldProblem {
                    report.problems.append(p)
                } else if var fold = walk.fold {
                    walk.fold = nil
                    fold.seal()
                    let mismatches = try ledger.engine.verify(fold: fold, in: txn)
                    report.projectionsChecked = ledger.engine.projections.map(\.name)
                    for m in mismatches { report.problems.append(Problem(position: 0, what: m.description)) }
                }
            }
        }
        return report
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
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
            defer { out.deallocate() }
            for i in bounds[r]..<bounds[r + 1] {
                let l = links[i]
                EventLog.chainHash(previous: l.previous, canonical: l.canonical, into: out)
                if memcmp(out.baseAddress!, l.hash.baseAddress!, 32) != 0 { firsts.set(r, l.position); return }
            }
        }
        return firsts.values.compactMap { $0 }.min()
    }

    /// A 64-bit digest of a stream name, to follow stream versions without keeping names. Two
    /// streams with one digest would be reported, never hidden.
    /// (`UInt64.max` is folded onto its neighbour: it cannot be a key of the version table.)
    @inline(__always) static func digest(_ b: UnsafeRawBufferPointer) -> UInt64 {
        let h = SymbolTable.hash(b)
        return h == .max ? .max - 1 : h
    }

    /// The ordered part of the log walk: positions, decoding, stream versions; links queued and
    /// hashed a batch at a time in the background.
    struct Walk {
        var events = 0
        var problems: [Problem] = []
        var chainBroken = false
        var streamOf: [UInt64] = [0]                  // position → stream digest
        var versionOf: [UInt64] = [0]                 // position → version
        var streams: Int { versions.count }
        private var versions = IntegerMap(capacity: 1 << 15)   // stream digest → last version seen
        private var expected: UInt64 = 1
        private var previousHash: UnsafeRawBufferPointer
        private let zero: UnsafeMutableRawBufferPointer
        private var pending: [PendingLink] = []
        private let batch: Int
        private let hasher = BackgroundLinks()
        /// The projections' fresh fold, made in the same walk so the log is read once (nil when
        /// projections are not checked, or once an event could not be folded).
        var fold: ProjectionEngine.Fold?
        /// Why the fold stopped: an event whose registration cannot be read.
        var foldProblem: Problem?

        init(batch: Int, folding: Bool) {
            self.batch = batch
            fold = folding ? ProjectionEngine.Fold() : nil
            zero = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
            zero.initializeMemory(as: UInt8.self, repeating: 0)
            previousHash = UnsafeRawBufferPointer(zero)
            pending.reserveCapacity(batch)
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
            let sd = Verifier.digest(e.stream)
            let version = versions.increment(sd)
            if e.version != version { return fail(key, "stream '\(e.streamString)' has version \(e.version) here, expected \(version)") }
            streamOf.append(sd); versionOf.append(version)
            if fold != nil {
                do { try fold!.absorb(e) } catch {
                    foldProblem = Problem(position: key, what: "the registration stored here cannot be read: \(error)")
                    fold = nil
                }
            }
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

        mutating func finish() {
            defer { zero.deallocate() }
            if collect() { return }
            if let bad = Verifier.firstBrokenLink(pending) { record(brokenAt: bad) }
            pending = []
        }
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
