import Deadlines
import EventLog
import LMDB
import Pathway

/// One stored event, decoded for people: what the audit replay and the episode history show.
public struct LoggedEvent: Sendable {
    public var position: UInt64
    public var version: UInt64
    public var appendedAt: Instant
    public var event: LedgerEvent
    public var targetPosition: UInt64?
    public var hash: String
    /// When the source registered it, else when the ledger appended it: the "known at" axis.
    public var effectiveRecordedAt: Instant { event.recordedAt ?? appendedAt }
}

/// What the ledger believed about one episode, evaluated on demand from its events.
public struct EpisodeView: Sendable {
    public var episode: String
    public var state: EpisodeState
    public var symbols: SymbolTable
    public var version: UInt64
    public var lastPosition: UInt64
    public var timers: [Deadlines.Timer]
    public var marks: [Mark]
    public var history: EpisodeHistory
}

extension Ledger {
    /// The episode's events in log order, decoded.
    public func events(of episode: String) throws -> [LoggedEvent] {
        try environment.read { txn in
            let positions = try log.positions(of: episode, in: txn)
            var out: [LoggedEvent] = []
            out.reserveCapacity(positions.count)
            for p in positions {
                let e = try log.withEvent(at: p, in: txn) { e -> LoggedEvent in
                    let (event, tp) = try EventBody.decode(e.body, id: e.idString, episode: e.streamString)
                    guard let at = Instant(utf8: e.appendedAt) else { throw LogError.corrupt(position: p, reason: "append instant is not an instant") }
                    return LoggedEvent(position: p, version: e.version, appendedAt: at, event: event, targetPosition: tp, hash: e.hashHex)
                }
                guard let e else { throw LogError.corrupt(position: p, reason: "the stream index points at a missing event") }
                out.append(e)
            }
            return out
        }
    }

    /// Folds events into a view. `knownAt` keeps only events recorded at or before the instant;
    /// `validAt` keeps only registrations dated on or before the date (after corrections).
    public static func view(of episode: String, events: [LoggedEvent], knownAt: Instant? = nil, validAt: CivilDate? = nil,
                            rules: RuleBook = RuleBook.bundled) -> EpisodeView {
        let symbols = SymbolTable()
        var h = EpisodeHistory()
        var version: UInt64 = 0, last: UInt64 = 0
        for e in events {
            if let k = knownAt, e.effectiveRecordedAt > k { continue }
            version += 1; last = e.position
            switch e.event {
            case .registration(let r): h.register(mark(r, position: e.position, symbols: symbols))
            case .correction(let c): if let t = e.targetPosition { h.correct(targetPosition: t, with: mark(c.replacement, position: e.position, symbols: symbols)) }
            case .voiding: if let t = e.targetPosition { h.void(targetPosition: t) }
            }
        }
        let marks = h.marks
        let state = EpisodeState(marks: marks, validAt: validAt, allVoided: h.isAllVoided)
        let timers = Deadlines.timers(for: marks, rules: rules, asOf: validAt)
        return EpisodeView(episode: episode, state: state, symbols: symbols, version: version, lastPosition: last,
                           timers: timers, marks: marks, history: h)
    }

    /// What any projection holds for one episode as known at an instant and/or as valid at a date,
    /// worked out on demand from the episode's events (no rebuild): the records `projection` makes
    /// from the episode's corrected history restricted to the events recorded by `knownAt` and the
    /// registrations dated by `validAt`. For a keyed projection these are the records a store given
    /// only those events would hold for the episode; for an additive one (quality), the episode's
    /// contribution to the counters. Nil when the store has no projection of that name.
    public func projectionRecords(_ projection: String, episode: String, knownAt: Instant? = nil,
                                  validAt: CivilDate? = nil) throws -> [RecordSink.Record]? {
        guard let p = engine.projections.first(where: { $0.name == projection }) else { return nil }
        let v = Ledger.view(of: episode, events: try events(of: episode), knownAt: knownAt)
        guard v.version > 0 else { return [] }
        let history = validAt.map { v.history.validAt($0) } ?? v.history
        let snapshot = EpisodeSnapshot(episode: episode, history: history, symbols: v.symbols,
                                       version: v.version, lastPosition: v.lastPosition)
        var sink = RecordSink()
        p.records(for: snapshot, into: &sink)
        return sink.records
    }

    /// The records a keyed projection holds right now under the keys of `records`, read from its
    /// databases (nil where a key is absent): what ``projectionRecords`` works out afresh.
    public func storedRecords(_ projection: String, keys records: [RecordSink.Record]) throws -> [RecordSink.Record?] {
        try views.read { txn in
            let dbs = try engine.activeDatabases(named: projection, in: txn)
            return try records.map { r in
                try txn.get(dbs[r.database], r.key).map { RecordSink.Record(database: r.database, key: r.key, value: Array($0)) }
            }
        }
    }

    /// The stored (maintained) state of one episode, or nil.
    public func storedEpisode(_ episode: String, symbols: SymbolTable = SymbolTable()) throws -> StoredEpisode? {
        try views.read { txn in
            let db = try engine.activeDatabases(named: "episodes", in: txn)[0]
            guard let v = try txn.get(db, Array(episode.utf8)) else { return nil }
            guard let s = StoredEpisode(episode: episode, record: v, symbols: symbols) else {
                throw LedgerError.damagedProjection("episodes", episode: episode)
            }
            return s
        }
    }

    /// The maintained timers of one episode (as derived with everything known).
    public func storedTimers(_ episode: String) throws -> [Deadlines.Timer] {
        try views.read { txn in
            let db = try engine.activeDatabases(named: "deadlines", in: txn)[0]
            guard let v = try txn.get(db, Array(episode.utf8)) else { return [] }
            guard let d = DeadlinesProjection.decode(v) else { throw LedgerError.damagedProjection("deadlines", episode: episode) }
            return d.timers
        }
    }

    /// Episodes from the maintained projection, filtered without decoding the ones that do not match.
    public func storedEpisodes(phase: EpisodeState.Phase? = nil, institution: String? = nil, unit: String? = nil,
                               symbols: SymbolTable = SymbolTable(), _ body: (StoredEpisode) throws -> Void) throws {
        try views.read { txn in
            let db = try engine.activeDatabases(named: "episodes", in: txn)[0]
            try txn.withCursor(db) { c in
                var entry = try c.first()
                while let (k, v) = entry {
                    if let peek = StoredEpisode.peek(v),
                       phase.map({ $0.rawValue == peek.phase }) ?? true,
                       institution.map({ peek.institution.elementsEqual($0.utf8) }) ?? true,
                       unit.map({ peek.unit.elementsEqual($0.utf8) }) ?? true {
                        let ep = String(decoding: k, as: UTF8.self)
                        guard let s = StoredEpisode(episode: ep, record: v, symbols: symbols) else {
                            throw LedgerError.damagedProjection("episodes", episode: ep)
                        }
                        try body(s)
                    }
                    entry = try c.next()
                }
            }
        }
    }

    /// Walks every episode's maintained timers.
    public func storedTimers(_ body: (String, String, String, [Deadlines.Timer]) throws -> Void) throws {
        try views.read { txn in
            let db = try engine.activeDatabases(named: "deadlines", in: txn)[0]
            try txn.withCursor(db) { c in
                var entry = try c.first()
                while let (k, v) = entry {
                    let ep = String(decoding: k, as: UTF8.self)
                    guard let d = DeadlinesProjection.decode(v) else { throw LedgerError.damagedProjection("deadlines", episode: ep) }
                    try body(ep, d.institution, d.unit, d.timers)
                    entry = try c.next()
                }
            }
        }
    }

    /// The episodes with a timer still open on `asOf` (not met and the episode not ended by then),
    /// from the closing-date index: the fast path for work lists such as today's overdue timers.
    public func episodesWithOpenTimers(asOf: CivilDate) throws -> [String] {
        try views.read { txn in
            let db = try engine.activeDatabases(named: "deadlines", in: txn)[1]
            var out: [String] = []
            let from = DeadlinesProjection.dateKey(asOf.adding(days: 1))
            // The index holds one entry per episode (its last open date), so no episode comes twice.
            try txn.withCursor(db) { c in
                var entry = try from.withUnsafeBytes { try c.seek(atOrAfter: $0) }
                while let (k, _) = entry, k.count > 4 {
                    out.append(String(decoding: UnsafeRawBufferPointer(rebasing: k[4...]), as: UTF8.self))
                    entry = try c.next()
                }
            }
            // Key order, so the look-ups in the timers database walk its pages in order.
            out.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            return out
        }
    }

    /// The maintained timers of the given episodes, with their institution and unit.
    public func storedTimers(of episodes: [String], _ body: (String, String, String, [Deadlines.Timer]) throws -> Void) throws {
        try views.read { txn in
            let db = try engine.activeDatabases(named: "deadlines", in: txn)[0]
            for ep in episodes {
                guard let v = try txn.get(db, Array(ep.utf8)) else { continue }
                guard let d = DeadlinesProjection.decode(v) else { throw LedgerError.damagedProjection("deadlines", episode: ep) }
                try body(ep, d.institution, d.unit, d.timers)
            }
        }
    }

    /// The same patient's previous and next episode, linked when the earlier one ended by transfer
    /// (XO: to another trust or private institution; XN: to another pathway) and the later one
    /// started on or after that end.
    public func patientLinks(patient: String, episode: String) throws -> (previous: String?, next: String?) {
        guard !patient.isEmpty else { return (nil, nil) }
        // The patient's episodes in order of their start date (the index key carries it).
        var list: [(episode: String, start: Int32)] = []
        try views.read { txn in
            let db = try engine.activeDatabases(named: "episodes", in: txn)[1]
            var prefix = Array(patient.utf8); prefix.append(0)
            try txn.withCursor(db) { c in
                var entry = try prefix.withUnsafeBytes { try c.seek(atOrAfter: $0) }
                while let (k, _) = entry, k.count > prefix.count + 4, k.prefix(prefix.count).elementsEqual(prefix) {
                    let start = Int32(bitPattern: BigEndian.uint32(k, at: prefix.count) ^ UInt32(bitPattern: Int32.min))
                    list.append((String(decoding: UnsafeRawBufferPointer(rebasing: k[(prefix.count + 4)...]), as: UTF8.self), start))
                    entry = try c.next()
                }
            }
        }
        guard let i = list.firstIndex(where: { $0.episode == episode }) else { return (nil, nil) }
        /// The day an episode ended by transfer, if it did.
        func transferEnd(_ ep: String) throws -> Int32? {
            guard let s = try storedEpisode(ep), let e = s.state.milestones.end,
                  e.outcome == UInt8(ascii: "O") || e.outcome == UInt8(ascii: "N") else { return nil }
            return e.date.daysSinceEpoch
        }
        var prev: String? = nil, next: String? = nil
        if i > 0, let end = try transferEnd(list[i - 1].episode), list[i].start >= end { prev = list[i - 1].episode }
        if i + 1 < list.count, let end = try transferEnd(episode), list[i + 1].start >= end { next = list[i + 1].episode }
        return (prev, next)
    }
}
