import Pathway

/// Reads NDJSON or CSV input into ledger events, with line-exact structural validation.
///
/// Each non-blank line (CSV: each record after the header) gives either one ``ParsedLine`` or one
/// ``IngestError``; the first problem found on a line is the one reported. Lines are checked in
/// this order: length (at most 64 KiB), UTF-8, syntax (JSON object of strings / CSV quoting and
/// field count), unknown and repeated keys, how `voids`/`corrects`/`reason` combine, then each
/// field's value. Blank lines are skipped but counted, so line numbers match an editor's. A UTF-8
/// byte-order mark at the start of the input is skipped. Line terminators are LF or CRLF.
///
/// The reader never traps on malformed input and allocates nothing per line beyond the event's
/// own strings.
public struct IngestReader: Sendable {
    public let format: InputFormat
    public let options: IngestOptions

    public init(format: InputFormat, options: IngestOptions) {
        self.format = format; self.options = options
    }

    /// Calls `body` once per non-blank line, in order, with the line's event or error and the
    /// line's raw bytes (without its terminator; valid only during the call).
    public func forEachLine(_ bytes: UnsafeRawBufferPointer,
                            _ body: (Result<ParsedLine, IngestError>, _ rawLine: UnsafeRawBufferPointer) -> Void) {
        let engine = LineEngine(format: format, today: options.today)
        _ = engine.process(bytes, baseOffset: 0, final: true, body)
    }

    /// Reads a whole input. Returns every event and every error (``IngestOptions/maxListedErrors``
    /// does not apply here; see ``read(_:)``), each in line order.
    public func parse(_ bytes: UnsafeRawBufferPointer) -> (events: [ParsedLine], errors: [IngestError]) {
        var events: [ParsedLine] = []
        var errors: [IngestError] = []
        events.reserveCapacity(Self.countLines(bytes))
        forEachLine(bytes) { result, _ in
            switch result {
            case .success(let p): events.append(p)
            case .failure(let e): errors.append(e)
            }
        }
        return (events, errors)
    }

    /// The number of line feeds (plus one for an unterminated last line): an upper bound on the events.
    static func countLines(_ b: UnsafeRawBufferPointer) -> Int {
        var count = 0, i = 0
        while let nl = find(ASCII.newline, in: b, from: i) { count += 1; i = nl + 1 }
        return i < b.count ? count + 1 : count
    }

    /// Reads a whole input, keeping at most ``IngestOptions/maxListedErrors`` errors and counting the rest.
    public func read(_ bytes: UnsafeRawBufferPointer) -> IngestResult {
        var r = IngestResult()
        let limit = max(0, options.maxListedErrors)
        forEachLine(bytes) { result, _ in
            r.lineCount += 1
            switch result {
            case .success(let p): r.events.append(p)
            case .failure(let e):
                r.errorCount += 1
                if r.errors.count < limit { r.errors.append(e) }
            }
        }
        return r
    }

    /// Convenience for tests and small inputs.
    public func parse(_ bytes: [UInt8]) -> (events: [ParsedLine], errors: [IngestError]) {
        bytes.withUnsafeBytes { parse($0) }
    }
    /// Convenience for tests and small inputs.
    public func parse(_ text: String) -> (events: [ParsedLine], errors: [IngestError]) {
        parse(Array(text.utf8))
    }
}

/// Reads an input that arrives in pieces (a pipe, standard input) without holding it all.
///
/// Feed chunks in order with ``feed(_:_:)`` and call ``finish(_:)`` once at the end; `body` is
/// called exactly as by ``IngestReader/forEachLine(_:_:)`` on the whole input, except that the raw
/// bytes given for a line over the length limit are only its first 64 KiB. ``ParsedLine/byteRange``
/// is relative to the start of the whole stream.
public final class IngestStreamReader {
    private let engine: LineEngine
    private var pending: [UInt8] = []
    /// Stream offset of `pending[0]`.
    private var base = 0
    /// Skipping the rest of an over-long line (CSV: with the quote state at the current byte).
    private var discarding = false
    private var discardInQuotes = false
    private var finished = false

    public init(format: InputFormat, options: IngestOptions) {
        engine = LineEngine(format: format, today: options.today)
    }

    /// Reads the next piece of the input. Complete lines are handed to `body` at once; only an
    /// incomplete last line is kept (copied) until the rest of it arrives.
    public func feed(_ chunk: UnsafeRawBufferPointer, _ body: (Result<ParsedLine, IngestError>, _ rawLine: UnsafeRawBufferPointer) -> Void) {
        precondition(!finished, "feed after finish")
        var c = chunk
        while !c.isEmpty {
            if discarding {
                guard let rest = discard(c) else { base += c.count; return }
                base += c.count - rest.count
                c = rest
                continue
            }
            if pending.isEmpty {
                // Read straight from the chunk; keep its unfinished tail.
                let consumed = engine.process(c, baseOffset: base, final: false, body)
                base += consumed
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: c[consumed...]))
                c = UnsafeRawBufferPointer(rebasing: c[c.count...])
            } else {
                // Extend the unfinished line up to the next line feed and try again.
                let cut = find(ASCII.newline, in: c, from: 0).map { $0 + 1 } ?? c.count
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: c[..<cut]))
                c = UnsafeRawBufferPointer(rebasing: c[cut...])
                let consumed = pending.withUnsafeBytes { engine.process($0, baseOffset: base, final: false, body) }
                pending.removeFirst(consumed)
                base += consumed
            }
            if pending.count > IngestOptions.maxLineBytes + 2 { // longer than the limit plus CRLF, and not finished
                pending.withUnsafeBytes { p in
                    engine.reportOverlong(UnsafeRawBufferPointer(rebasing: p[0..<IngestOptions.maxLineBytes]), body)
                }
                // Skip the rest of it: what is pending (no end in it), then the input up to its end.
                discarding = true
                discardInQuotes = false
                let unfinished = pending
                pending.removeAll(keepingCapacity: true)
                unfinished.withUnsafeBytes { _ = discard($0) }
                base += unfinished.count
            }
        }
    }

    public func finish(_ body: (Result<ParsedLine, IngestError>, _ rawLine: UnsafeRawBufferPointer) -> Void) {
        guard !finished else { return }
        finished = true
        if discarding { return }
        let consumed = pending.withUnsafeBytes { engine.process($0, baseOffset: base, final: true, body) }
        base += consumed
        pending.removeAll()
    }

    /// Skips bytes of an over-long line. Returns the bytes after its end, or nil if it goes on.
    private func discard(_ c: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var k = 0
        while k < c.count {
            let b = c[k]
            if b == ASCII.quote && engine.format == .csv { discardInQuotes.toggle() }
            if b == ASCII.newline {
                engine.nextLine += 1
                if !discardInQuotes {
                    discarding = false
                    return UnsafeRawBufferPointer(rebasing: c[(k + 1)...])
                }
            }
            k += 1
        }
        return nil
    }
}

/// The state of one read: line numbering, the CSV header, and the field slots.
final class LineEngine {
    let format: InputFormat
    let today: CivilDate
    let slots = FieldSlots()
    /// The number of the next line to be read.
    @exclusivity(unchecked) var nextLine = 1
    @exclusivity(unchecked) private var atStart = true
    private enum Header { case pending, ok, bad(Int) }
    @exclusivity(unchecked) private var header = Header.pending
    /// How far an incomplete last record (which always starts the next buffer given to
    /// ``process(_:baseOffset:final:_:)``) has been scanned, so a stream is scanned only once.
    private struct Resume { var scanned = 0, inQuotes = false, innerNewlines = 0 }
    @exclusivity(unchecked) private var resume = Resume()

    init(format: InputFormat, today: CivilDate) {
        self.format = format; self.today = today
    }

    typealias Body = (Result<ParsedLine, IngestError>, UnsafeRawBufferPointer) -> Void

    /// Reads the complete records of `b` (all of it when `final`) and returns how many bytes it used.
    func process(_ b: UnsafeRawBufferPointer, baseOffset: Int, final: Bool, _ body: Body) -> Int {
        var i = 0
        let n = b.count
        if atStart {
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            if n < 3 && !final && zip(b, bom).allSatisfy({ $0 == $1 }) { return 0 }
            if n >= 3 && b[0] == bom[0] && b[1] == bom[1] && b[2] == bom[2] { i = 3 }
            atStart = false
        }
        while i < n {
            let end: Int, next: Int
            var innerNewlines = 0
            if format == .ndjson {
                if let nl = find(ASCII.newline, in: b, from: i + resume.scanned) {
                    end = nl; next = nl + 1
                } else if final {
                    end = n; next = n
                } else {
                    resume.scanned = n - i
                    break
                }
            } else {
                guard let r = csvRecordEnd(b, from: i, final: final) else { break }
                end = r.end; next = r.next; innerNewlines = r.innerNewlines
            }
            resume = Resume()
            var contentEnd = end
            if contentEnd > i && b[contentEnd - 1] == ASCII.cr { contentEnd -= 1 }
            let lineNumber = nextLine
            nextLine += 1 + innerNewlines
            handle(UnsafeRawBufferPointer(rebasing: b[i..<contentEnd]), lineNumber, (baseOffset + i)..<(baseOffset + contentEnd), body)
            i = next
        }
        return i
    }

    /// Finds where the CSV record starting at `i` ends: the first line feed outside quotes.
    private func csvRecordEnd(_ b: UnsafeRawBufferPointer, from i: Int, final: Bool) -> (end: Int, next: Int, innerNewlines: Int)? {
        var k = i + resume.scanned
        var inQuotes = resume.inQuotes
        var inner = resume.innerNewlines
        while true {
            guard let nl = find(ASCII.newline, in: b, from: k) else {
                if final { return (b.count, b.count, inner) }
                resume = Resume(scanned: k - i, inQuotes: inQuotes, innerNewlines: inner)
                return nil
            }
            var q = k
            while let hit = find(ASCII.quote, in: b, from: q, to: nl) { inQuotes.toggle(); q = hit + 1 }
            if !inQuotes { return (nl, nl + 1, inner) }
            inner += 1
            k = nl + 1
        }
    }

    func reportOverlong(_ raw: UnsafeRawBufferPointer, _ body: Body) {
        resume = Resume()
        let lineNumber = nextLine
        if format == .csv, case .pending = header { header = .bad(lineNumber) }
        body(.failure(Self.overlong(lineNumber)), raw)
    }

    static func overlong(_ line: Int) -> IngestError {
        IngestError(line: line, field: nil, kind: .lineTooLong,
                    message: "line is longer than the limit of \(IngestOptions.maxLineBytes) bytes (64 KiB)")
    }

    @inline(__always)
    private func handle(_ rec: UnsafeRawBufferPointer, _ ln: Int, _ range: Range<Int>, _ body: Body) {
        if isBlank(rec) { return }
        let headerLine: Bool
        if format == .csv, case .pending = header { headerLine = true } else { headerLine = false }

        var problem: IngestError? = nil
        if rec.count > IngestOptions.maxLineBytes {
            problem = Self.overlong(ln)
        } else if let bad = firstInvalidUTF8(rec) {
            problem = IngestError(line: ln, field: nil, kind: .invalidUTF8, message: "invalid UTF-8 at column \(bad + 1)")
        }
        if let problem {
            if headerLine { header = .bad(ln) }
            body(.failure(problem), rec)
            return
        }
        slots.reset(line: rec)
        switch format {
        case .ndjson:
            if let e = slots.scanJSON(lineNumber: ln) { body(.failure(e), rec); return }
        case .csv:
            switch header {
            case .pending:
                if slots.scanCSV(lineNumber: ln) == nil && slots.isCSVHeader() {
                    header = .ok
                } else {
                    header = .bad(ln)
                    body(.failure(IngestError(line: ln, field: nil, kind: .csvHeader,
                                              message: "expected the CSV header \"\(Field.csvHeader)\"")), rec)
                }
                return
            case .bad(let h):
                body(.failure(IngestError(line: ln, field: nil, kind: .csvHeader,
                                          message: "not read, because the CSV header on line \(h) is not valid")), rec)
                return
            case .ok:
                if let e = slots.scanCSV(lineNumber: ln) { body(.failure(e), rec); return }
            }
        }
        switch slots.buildEvent(lineNumber: ln, today: today) {
        case .success(let event): body(.success(ParsedLine(line: ln, event: event, byteRange: range)), rec)
        case .failure(let e): body(.failure(e), rec)
        }
    }
}
