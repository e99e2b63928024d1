import EventLog
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
            let previous = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
            let computed = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
            defer { previous.deallocate(); computed.deallocate() }
            previous.initializeMemory(as: UInt8.self, repeating: 0)
            var expected: UInt64 = 1
            var lastVersion: [UInt64: UInt64] = [:]      // stream digest → last version seen
            var streamOf: [UInt64] = [0]                  // position → stream digest
            var versionOf: [UInt64] = [0]                 // position → version
            var chainBroken = false
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
                EventLog.chainHash(previous: UnsafeRawBufferPointer(previous), canonical: e.canonical, into: computed)
                if memcmp(computed.baseAddress!, e.hash.baseAddress!, 32) != 0 {
                    report.problems.append(Problem(position: key, what: "the hash chain breaks here: this event's content or the one before it was changed after it was appended"))
                    chainBroken = true; return false
                }
                let sd = digest(e.stream)
                let version = (lastVersion[sd] ?? 0) + 1
                if e.version != version {
                    report.problems.append(Problem(position: key, what: "stream '\(e.streamString)' has version \(e.version) here, expected \(version)"))
                    chainBroken = true; return false
                }
                lastVersion[sd] = version
                streamOf.append(sd); versionOf.append(version)
                previous.copyMemory(from: e.hash)
                report.events += 1
                expected += 1
                return true
            }
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

    @inline(__always) func digest(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
