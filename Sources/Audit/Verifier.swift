import EventLog
import Foundation
import LMDB
import Ledger
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
            // The previous hash and the one computed now, in two fixed buffers: no allocation per event.
            // Every link is checked against the *stored* previous hash, so links are independent:
            // the walk does the ordered checks (positions, versions) and queues the links, and the
            // queued links are hashed on every core, a batch at a time. The pointers point into
            // the read transaction's memory map, valid until it ends.
            let zero = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
            defer { zero.deallocate() }
            zero.initializeMemory(as: UInt8.self, repeating: 0)
            var pending: [PendingLink] = []
            pending.reserveCapacity(Verifier.batch)
            var previousHash = UnsafeRawBufferPointer(zero)
            var expected: UInt64 = 1
            var lastVersion: [UInt64: UInt64] = [:]      // stream digest → last version seen
            var streamOf: [UInt64] = [0]                  // position → stream digest
            var versionOf: [UInt64] = [0]                 // position → version
            var chainBroken = false
            /// Hashes the queued links; the first bad one becomes the report's problem.
            func flush() {
                guard !pending.isEmpty, !chainBroken || !report.problems.isEmpty else { return }
                if let bad = Verifier.firstBrokenLink(pending) {
                    let message = "the hash chain breaks here: this event's content or the one before it was changed after it was appended"
                    if let i = report.problems.firstIndex(where: { $0.position >= bad }) {
                        report.problems.insert(Problem(position: bad, what: message), at: i)
                        report.problems.removeSubrange((i + 1)...)
                    } else if report.problems.isEmpty {
                        report.problems.append(Problem(position: bad, what: message))
                    }
                    report.events = min(report.events, Int(bad) - 1)
                    chainBroken = true
                }
                pending.removeAll(keepingCapacity: true)
            }
            try log.scanRaw(in: txn) { k, v in
                guard k.count == 8 else {
                    report.problems.append(Problem(position: expected, what: "a log key is \(k.count) bytes, not 8: the log database was altered"))
                    chainBroken = true; return false
                }
                let key = BigEndian.uint64(k)
                if key != expected {
                    report.problems.append(Problem(position: expected, what: key > expected
                        ? "positions \(expected)…\(key - 1) are missing: events were removed"
                        : "position \(key) appears out of order"))
                    chainBroken = true; return false
                }
                let e: StoredEvent
                do { e = try StoredEvent(bytes: v, key: key) } catch {
                    report.problems.append(Problem(position: key, what: "\(error)"))
                    chainBroken = true; return false
                }
                if e.position != key {
                    report.problems.append(Problem(position: key, what: "the event says it is at position \(e.position): events were moved or swapped"))
                    chainBroken = true; return false
                }
                pending.append(PendingLink(position: key, previous: previousHash, canonical: e.canonical, hash: e.hash))
                let sd = digest(e.stream)
                let version = (lastVersion[sd] ?? 0) + 1
                if e.version != version {
                    report.problems.append(Problem(position: key, what: "stream '\(e.streamString)' has version \(e.version) here, expected \(version)"))
                    chainBroken = true; return false
                }
                lastVersion[sd] = version
                streamOf.append(sd); versionOf.append(version)
                previousHash = e.hash
                report.events += 1
                expected += 1
                if pending.count >= Verifier.batch { flush(); if chainBroken { return false } }
                return true
            }
            flush()
            report.head = try log.head(in: txn)
            report.streams = lastVersion.count
            guard !chainBroken else { return }

            // The stream index must list exactly each stream's positions, in version order.
            var indexed = 0
            var indexProblem: Problem? = nil
            try log.scanStreams(in: txn) { key, positions in
                guard indexProblem == nil else { return }
                let sd = digest(key)
                for (i, p) in positions.enumerated() {
                    guard p >= 1, p < UInt64(streamOf.count), streamOf[Int(p)] == sd, versionOf[Int(p)] == UInt64(i + 1) else {
                        indexProblem = Problem(position: p, what: "the stream index for '\(String(decoding: key, as: UTF8.self))' does not match the log")
                        return
                    }
                }
                indexed += positions.count
            }
            if let p = indexProblem { report.problems.append(p) }
            else if indexed != report.events {
                report.problems.append(Problem(position: 0, what: "the stream index lists \(indexed) events but the log holds \(report.events)"))
            }
            let ids = try log.counts(in: txn).ids
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
        }
        if projections && report.ok {
            let (_, mismatches) = try ledger.engine.verify()
            report.projectionsChecked = ledger.engine.projections.map(\.name)
            for m in mismatches { report.problems.append(Problem(position: 0, what: m.description)) }
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

    @inline(__always) func digest(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}

/// Per-worker results, each written once at its own index under a lock.
final class ParallelResults: @unchecked Sendable {
    private(set) var values: [UInt64?]
    private let lock = NSLock()
    init(_ n: Int) { values = [UInt64?](repeating: nil, count: n) }
    func set(_ i: Int, _ v: UInt64) { lock.lock(); values[i] = v; lock.unlock() }
}
