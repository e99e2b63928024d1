import EventLog
import Ingest
import LMDB
import Pathway

/// A PathwayLedger store: the event log in one LMDB environment (the store directory), its
/// projections in another (`views/` inside it; see ``Views`` for why).
///
/// Open it once per process and share it. Appends are serialized by the log environment's single
/// writer; reads run concurrently on snapshots.
public final class Ledger: @unchecked Sendable {
    /// The log's environment: the events, their indexes, and nothing derived.
    public let environment: Environment
    private let viewStore: Views
    /// The projections' environment.
    public var views: Environment { viewStore.environment }
    public let log: EventLog
    public let engine: ProjectionEngine
    public let clock: LedgerClock
    /// What opening the store had to repair, in words for its user (nil: nothing) — the views
    /// rebuilt from the log after they were lost, damaged, or written by an older version.
    public private(set) var openingNote: String? = nil

    /// `allowingProjectionsAhead`: open even when the projections claim positions the log no longer
    /// holds (the log was truncated behind their back) — for `verify`, which must report that, and
    /// `rebuild`, which repairs it. Everything else refuses such a store.
    public init(path: String, clock: LedgerClock = .system, projections: [EpisodeProjection]? = nil,
                options: Environment.Options = Environment.Options(), allowingProjectionsAhead: Bool = false) throws {
        environment = try Environment(path: path, options: options)
        log = try EventLog(environment: environment)
        // Before session 8 the projections lived in the log's file. Their databases there are
        // dropped (the views, empty on such a store's first open, are rebuilt from the log).
        let projections = projections ?? Ledger.standardProjections()
        let names = ProjectionEngine.databaseNames(projections: projections)
        try environment.dropDatabasesIfPresent(names)
        viewStore = try Views(store: environment.path, options: options)
        // Opening the engine creates the databases the views lack, which is a write.
        if try viewStore.environment.presentDatabases(names).count < names.count { try viewStore.prepareToWrite() }
        engine = try ProjectionEngine(log: log, views: viewStore.environment, projections: projections)
        let viewStore = viewStore
        engine.beforeWrite = { try viewStore.prepareToWrite() }
        self.clock = clock
        do {
            let rebuilt = try engine.open()
            let head = try environment.read { try log.head(in: $0) }.position
            if !rebuilt.isEmpty && head > 0 {
                let why = viewStore.discarded.map { "the projections were discarded because \($0)" }
                    ?? "the projections were missing or of another version"
                openingNote = "\(why); rebuilt \(rebuilt.joined(separator: ", ")) from the log's \(head) events"
            }
        } catch LedgerError.projectionAheadOfLog where allowingProjectionsAhead {
            // Left as they are: `engine.verify()` reports the checkpoints, `engine.rebuild()` replaces them.
        }
    }

    /// The projections every store maintains, besides the corrected history.
    public static func standardProjections() -> [EpisodeProjection] {
        [EpisodeStateProjection()] + extraProjections()
    }

    // MARK: - Appending

    public struct AppendOptions: Sendable {
        /// Reject registrations that would raise a pathway-rule finding (instead of storing and flagging them).
        public var strict = false
        /// Append the good lines and report the bad ones, instead of appending nothing.
        public var skipInvalid = false
        /// Called after the log's commit and before the projections': lets a crash test report
        /// what is durable at exactly the moment the two can disagree.
        public var afterLogCommit: (@Sendable (AppendReport) -> Void)? = nil
        /// Called, on the appending thread, as an append session moves past its appends into the
        /// work that follows them (for a progress display: on a bulk import that work is a large
        /// share of the time).
        public var onStage: (@Sendable (AppendStage) -> Void)? = nil
        public init(strict: Bool = false, skipInvalid: Bool = false) {
            self.strict = strict; self.skipInvalid = skipInvalid
        }
    }

    /// The work an append does after its last event is appended: findings, the log's commit, then
    /// the projections (in the views' own transaction).
    public enum AppendStage: Sendable, Equatable {
        /// Working out the findings the batch raised, episode by episode.
        case findings
        /// Committing the log's transaction to disk.
        case commit
        /// Bringing the projections up to the new head.
        case projections
    }

    /// A line the store refused, with the reason a person can act on.
    public struct Rejection: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var field: String?
        public var message: String
        public init(line: Int, field: String?, message: String) { self.line = line; self.field = field; self.message = message }
        public var description: String {
            if let f = field { return "line \(line): field '\(f)': \(message)" }
            return "line \(line): \(message)"
        }
    }

    /// A pathway-rule finding raised by an appended registration.
    public struct RaisedFinding: Sendable, Equatable {
        public var line: Int
        public var episode: String
        public var rule: String
        public var message: String
        public var position: UInt64
    }

    public struct AppendReport: Sendable {
        public var appended = 0
        public var duplicates = 0
        public var rejected: [Rejection] = []
        public var findings: [RaisedFinding] = []
        public var firstPosition: UInt64 = 0
        public var lastPosition: UInt64 = 0
        public var head = EventLog.Head.genesis
        public init() {}
    }

    /// Thrown when a batch is refused as a whole: nothing was appended.
    public struct BatchRejected: Error, Sendable, CustomStringConvertible {
        public var report: AppendReport
        public var description: String {
            "nothing was appended: \(report.rejected.count) line(s) rejected\n" + report.rejected.prefix(20).map { "  \($0)" }.joined(separator: "\n")
        }
    }

    /// Appends parsed lines as one atomic batch.
    ///
    /// Structural problems that need the store (an unknown or voided target, an id reused with
    /// other content, a correction moving a registration to another episode) are rejections like
    /// parse errors. Unless `skipInvalid`, one rejection means nothing is appended and
    /// ``BatchRejected`` is thrown carrying every rejection.
    public func append(_ lines: [ParsedLine], options: AppendOptions = AppendOptions()) throws -> AppendReport {
        try appendSession(options: options) { session in
            for line in lines { try session.append(line) }
        }
    }

    /// Runs one atomic batch fed by `feed`, which may hand lines to the session in any number of
    /// chunks (a streaming import of millions of lines is one session, so it stays all-or-nothing).
    /// Parse errors found while feeding are passed to ``AppendSession/reject(_:)``.
    public func appendSession(options: AppendOptions = AppendOptions(),
                              _ feed: (AppendSession) throws -> Void) throws -> AppendReport {
        let appendedAt = clock.now().description
        let views = self.views
        let report = try environment.write { txn -> AppendReport in
            try withUnsafeMutablePointer(to: &txn) { t in
                // The batch is checked against the stored histories, so they must hold every
                // logged event first: a process killed between its log commit and its views
                // commit, or another process's append, can leave the views behind. The log's
                // writer lock, held here, keeps the log still meanwhile.
                let head = try log.head(in: t.pointee).position
                if try views.read({ try !engine.isCurrent(at: head, in: $0) }) {
                    try engine.writeViews { viewsTxn in _ = try engine.catchUp(in: &viewsTxn, log: t.pointee) }
                }
                return try views.read { viewsTxn in
                    try withUnsafePointer(to: viewsTxn) { v in
                        let session = try AppendSession(ledger: self, options: options, appendedAt: appendedAt,
                                                        txn: t.pointee, views: v)
                        session.txnPointer = t
                        defer { session.txnPointer = nil }
                        try feed(session)
                        options.onStage?(.findings)
                        session.finish()
                        var report = session.report
                        if !report.rejected.isEmpty && !options.skipInvalid {
                            throw BatchRejected(report: report)
                        }
                        try log.writeIndexes(session.indexes, in: &t.pointee)
                        report.head = session.head
                        options.onStage?(.commit)
                        return report
                    }
                }
            }
        }
        options.afterLogCommit?(report)
        options.onStage?(.projections)
        do {
            try engine.writeViews { txn in _ = try engine.catchUp(in: &txn) }
        } catch {
            throw ProjectionsBehind(report: report, reason: "\(error)")
        }
        return report
    }

    /// Thrown when a batch was appended — it is in the log, durably — but the projections could
    /// not be brought up to it. They catch up at the next append or open; sending the batch again
    /// reports its lines as duplicates.
    public struct ProjectionsBehind: Error, Sendable, CustomStringConvertible {
        public var report: AppendReport
        public var reason: String
        public var description: String {
            "\(report.appended) event(s) were appended (the log's head is \(report.head.anchor)) but the projections could not be updated: \(reason); they catch up when the store is next opened or appended to"
        }
    }

    static func mark(_ r: Registration, position: UInt64, symbols: SymbolTable) -> Mark {
        Mark(code: r.code, setting: r.setting, date: r.date, emergencyDate: r.emergencyAssessmentDate,
             place: position, position: position, patient: symbols.intern(r.patient),
             institution: symbols.intern(r.institution), unit: symbols.intern(r.unit))
    }

    // MARK: - Reading

    public struct Stats: Sendable {
        public var events: Int
        public var episodes: Int
        public var head: EventLog.Head
        /// The log's data file.
        public var fileBytes: Int
        /// The views' data file.
        public var viewsFileBytes: Int
        public var mapBytes: Int
        public var checkpoints: [(String, UInt64)]
    }

    /// The log's newest position and hash: one cursor step, unlike ``stats()``, which counts the
    /// episodes by walking the stream index.
    public func head() throws -> EventLog.Head {
        try environment.read { try log.head(in: $0) }
    }

    public func stats() throws -> Stats {
        let cps = try views.read { txn in
            try engine.projections.indices.map { p in (engine.projections[p].name, try engine.checkpoint(p, in: txn)) }
        }
        return try environment.read { txn in
            let c = try log.counts(in: txn)
            return Stats(events: c.events, episodes: c.streams, head: try log.head(in: txn),
                         fileBytes: environment.fileSize, viewsFileBytes: views.fileSize,
                         mapBytes: environment.mapSize, checkpoints: cps)
        }
    }
}

extension Ledger {
    /// Projections beyond episode state.
    static func extraProjections() -> [EpisodeProjection] { [DeadlinesProjection(), QualityProjection()] }
}
