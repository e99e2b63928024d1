import EventLog
import Ingest
import LMDB
import Pathway

/// One atomic batch being appended, inside the ledger's single write transaction.
///
/// It resolves what a line refers to (the target of a voiding or correction, the episode it lives
/// in), works out the corrected history the line leads to and the pathway-rule findings it
/// raises, and appends it to the log — or records why it was rejected.
public final class AppendSession {
    let ledger: Ledger
    let options: Ledger.AppendOptions
    let appendedAt: String
    var txnPointer: UnsafeMutablePointer<WriteTransaction>?
    /// A read transaction on the views, where the stored histories are: open for the whole batch.
    let views: UnsafePointer<ReadTransaction>
    public internal(set) var report = Ledger.AppendReport()
    /// How many lines have been refused so far: read after each append by a caller that keeps the
    /// text of refused lines, without copying the whole report out of the session each time.
    public var rejectedCount: Int { report.rejected.count }
    var head: EventLog.Head
    let symbols = SymbolTable()
    /// What the batch knows of one episode it touched.
    struct Touched {
        var name: String
        /// The stream version (nil until the log has read or set it).
        var version: UInt64?
        var history: EpisodeHistory
        /// The history as it was before this batch (for the findings the batch raised).
        var original: EpisodeHistory
        /// The last input line that appended to the episode (0: none).
        var lastLine = 0
    }
    /// Touched episodes, found by name with one look-up per line (a big import touches hundreds
    /// of thousands, interleaved, so each extra hashed look-up is a cache miss per line) — in a
    /// symbol table of their own, whose hash reads the name a word at a time, not through a
    /// `String`-keyed dictionary, which hashed every line's episode name with SipHash.
    var touched: [Touched] = []
    let episodeSymbols = SymbolTable()
    /// Episode symbol → index in ``touched`` (−1: not touched).
    var touchedOfSymbol: [Int32] = []
    /// The input line of every event this batch appended, by position − first position.
    var lineOfPosition: [Int] = []
    let historyDB: Database
    /// This batch's `ids` and `streams` entries, written in key order when it ends.
    let indexes = BatchIndexes()

    init(ledger: Ledger, options: Ledger.AppendOptions, appendedAt: String, txn: borrowing WriteTransaction,
         views: UnsafePointer<ReadTransaction>) throws {
        self.ledger = ledger; self.options = options; self.appendedAt = appendedAt
        self.views = views
        head = try ledger.log.head(in: txn)
        historyDB = try ledger.engine.activeDatabases(ledger.engine.historyIndex, in: views.pointee)[0]
    }

    /// Records a line rejected before it reached the store (a parse error).
    public func reject(_ r: Ledger.Rejection) { report.rejected.append(r) }

    /// The index of `episode` in ``touched``, loading its stored history the first time.
    func touch(_ episode: String) throws -> Int {
        var name = episode
        let symbol = Int(name.withUTF8 { episodeSymbols.intern(bytes: UnsafeRawBufferPointer($0)) })
        if symbol < touchedOfSymbol.count, touchedOfSymbol[symbol] >= 0 { return Int(touchedOfSymbol[symbol]) }
        let h = try HistoryProjection.load(episode: episode, from: historyDB, symbols: symbols, in: views.pointee)?.history ?? EpisodeHistory()
        touched.append(Touched(name: episode, version: nil, history: h, original: h))
        if symbol >= touchedOfSymbol.count {
            touchedOfSymbol.append(contentsOf: repeatElement(-1, count: symbol - touchedOfSymbol.count + 1 + symbol / 2))
        }
        touchedOfSymbol[symbol] = Int32(touched.count - 1)
        return touched.count - 1
    }

    /// Works out, per touched episode, the findings this batch left in the store, naming the line
    /// that appended the registration each one is about (or, for a finding about an earlier
    /// registration, the batch's last line on that episode). Findings a later registration can
    /// still clear (a missing A, H or E) count too: they are stored like any other, so the report
    /// says so — `--strict` rejected the others as they arrived but lets these through, or a
    /// client sending X before its H could never send the pair.
    func finish() {
        let appendedTo = touched.indices.filter { touched[$0].lastLine > 0 }
            .sorted { touched[$0].name.utf8.lexicographicallyPrecedes(touched[$1].name.utf8) }
        for t in appendedTo {
            let episode = touched[t]
            for f in PathwayRules.findingsAdded(before: episode.original.marks, after: episode.history.marks, includingAwaiting: true) {
                let i = Int(f.position) - Int(report.firstPosition)
                let line = report.firstPosition > 0 && i >= 0 && i < lineOfPosition.count ? lineOfPosition[i] : episode.lastLine
                report.findings.append(.init(line: line, episode: episode.name, rule: f.rule.id, message: f.message, position: f.position))
            }
        }
        report.findings.sort { ($0.line, $0.position, $0.rule) < ($1.line, $1.position, $1.rule) }
    }

    func apply(_ event: LedgerEvent, to h: inout EpisodeHistory, position: UInt64, target: UInt64?) {
        switch event {
        case .registration(let r): h.register(Ledger.mark(r, position: position, symbols: symbols))
        case .correction(let c): h.correct(targetPosition: target!, with: Ledger.mark(c.replacement, position: position, symbols: symbols))
        case .voiding: h.void(targetPosition: target!)
        }
    }

    /// Appends one parsed line (or records why not).
    public func append(_ line: ParsedLine) throws {
        let log = ledger.log
        let event = line.event
        let knownAt = try log.position(ofID: event.id, batch: indexes, in: txnPointer!.pointee)
        var stream = event.namedEpisode ?? ""
        var targetPosition: UInt64? = nil
        if let existing = knownAt {
            // Already stored: the log decides duplicate or conflict by comparing content, so build
            // the body exactly as it was built then.
            let stored = try log.withEvent(at: existing, in: txnPointer!.pointee) { e in
                (e.streamString, try EventFolder(symbols: symbols).parts(of: e).targetPosition)
            }!
            // A line that names its episode is compared with that episode (the body does not
            // carry it): the same registration sent again for another episode is a conflict, not
            // a duplicate. A voiding names none; it lives in its target's episode.
            if event.namedEpisode == nil { stream = stored.0 }
            if event.target != nil { targetPosition = stored.1 }
        } else if let target = event.target {
            let field = event.kind == .voiding ? "voids" : "corrects"
            guard let tp = try log.position(ofID: target, batch: indexes, in: txnPointer!.pointee) else {
                report.rejected.append(.init(line: line.line, field: field, message: "no registration with id '\(target)' is stored"))
                return
            }
            let (targetStream, targetKind) = try log.withEvent(at: tp, in: txnPointer!.pointee) { e in
                (e.streamString, try EventFolder(symbols: symbols).parts(of: e).kind)
            }!
            if targetKind == UInt8(ascii: "v") {
                report.rejected.append(.init(line: line.line, field: field, message: "'\(target)' is a voiding; a voiding cannot be voided or corrected — register the registration again with a new id"))
                return
            }
            if let named = event.namedEpisode, named != targetStream {
                report.rejected.append(.init(line: line.line, field: "episode", message: "a correction cannot move a registration from episode '\(targetStream)' to '\(named)'; void it and register it on the right episode"))
                return
            }
            switch touched[try touch(targetStream)].history.check(targetPosition: tp) {
            case .alreadyVoided?:
                report.rejected.append(.init(line: line.line, field: field, message: "'\(target)' is already voided"))
                return
            case .unknownTarget?:
                // Every version of a live slot can be named (the newest correction wins), so a
                // target that is not found was itself voided, or the registration it corrected was.
                report.rejected.append(.init(line: line.line, field: field, message: "'\(target)' is no longer in force: it was voided, or the registration it corrected was"))
                return
            case nil: break
            }
            stream = targetStream
            targetPosition = tp
        }

        // The corrected history this event leads to, and (strict mode) the findings it raises —
        // worked out before appending, so strict mode can refuse it without writing anything.
        // Otherwise the findings a batch raised are worked out once per episode when it ends (see
        // `finish`), and the history is changed in place once the event is in the log.
        var next: EpisodeHistory? = nil
        var raised: [Finding] = []
        let position = head.position + 1
        // A line already stored is a duplicate or a conflict: its episode's history is not needed
        // (a file sent twice must not load every episode it names).
        let t = knownAt == nil ? try touch(stream) : nil
        if let t {
            if options.strict {
                var h = touched[t].history
                let before = h.marks
                apply(event, to: &h, position: position, target: targetPosition)
                raised = PathwayRules.findingsAdded(before: before, after: h.marks)
                if !raised.isEmpty {
                    let list = raised.map { "\($0.rule.id) (\($0.message))" }.joined(separator: "; ")
                    report.rejected.append(.init(line: line.line, field: nil, message: "--strict: this registration breaks a pathway rule: \(list)"))
                    return
                }
                next = h
            }
        }
        // Encoded on the parsing thread when it could be (no target to resolve).
        let body = (targetPosition == nil ? line.encodedBody : nil) ?? EventBody.encode(event, targetPosition: targetPosition)
        let outcome: EventLog.Outcome
        var version = t.flatMap { touched[$0].version }
        do {
            outcome = try log.appendOne(EventLog.Pending(id: event.id, stream: stream, body: body),
                                        appendedAt: appendedAt, head: &head, version: &version, batch: indexes,
                                        idKnownAbsent: knownAt == nil, in: &txnPointer!.pointee)
        } catch LogError.idConflict(let id, let p) where report.firstPosition > 0 && p >= report.firstPosition {
            // The clash is with an earlier line of this same batch, which is not stored yet (and,
            // without --skip-invalid, never will be): name that line, not a log position.
            let earlier = lineOfPosition[Int(p - report.firstPosition)]
            report.rejected.append(.init(line: line.line, field: "id", message: "id '\(id)' appears earlier in this input (line \(earlier)) with different content; an id identifies one registration forever — use a new id, or a correction"))
            return
        } catch let e as LogError {
            report.rejected.append(.init(line: line.line, field: "id", message: e.description))
            return
        }
        switch outcome {
        case .duplicate: report.duplicates += 1
        case .appended(let position, _):
            // Only a line not stored yet is appended, and that line touched its episode above.
            let t = try t ?? touch(stream)
            touched[t].version = version
            if let h = next { touched[t].history = h }
            else { apply(event, to: &touched[t].history, position: position, target: targetPosition) }
            touched[t].lastLine = line.line
            lineOfPosition.append(line.line)
            for f in raised {
                report.findings.append(.init(line: line.line, episode: stream, rule: f.rule.id, message: f.message, position: f.position))
            }
            report.appended += 1
            if report.firstPosition == 0 { report.firstPosition = position }
            report.lastPosition = position
        }
    }
}
