import Pathway

/// The two input formats the ledger reads.
public enum InputFormat: String, Sendable, CaseIterable {
    /// One flat JSON object per line, string values only (see ``IngestReader``).
    case ndjson
    /// RFC 4180 CSV with the header `id,episode,patient,institution,unit,setting,code,date,author,recordedAt`.
    case csv
}

/// What the reader needs to know besides the bytes.
public struct IngestOptions: Sendable {
    /// The ledger's "today" (Europe/Oslo). A registration dated more than one day after it is rejected.
    public var today: CivilDate
    /// How many errors ``IngestReader/read(_:)`` keeps in ``IngestResult/errors``; the rest are only
    /// counted. ``IngestReader/parse(_:)`` and ``IngestReader/forEachLine(_:_:)`` always report every error.
    public var maxListedErrors: Int = 100
    /// The longest line (record) accepted, in bytes, not counting its line terminator.
    public static let maxLineBytes = 65536

    public init(today: CivilDate) { self.today = today }
    public init(today: CivilDate, maxListedErrors: Int) { self.today = today; self.maxListedErrors = maxListedErrors }
}

/// A structural problem with one input line. ``description`` is the exact user-facing message, e.g.
/// `line 3: field 'date': expected a calendar date YYYY-MM-DD, got "2026-02-30"`.
///
/// Messages never contain a patient value, and never quote any value that is shaped like an
/// 11-digit identity number.
public struct IngestError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// What kind of problem it is: stable, for machine-readable summaries.
    public enum Kind: String, Sendable, Equatable, Hashable, CaseIterable {
        case lineTooLong = "line-too-long"
        case invalidUTF8 = "invalid-utf8"
        case invalidJSON = "invalid-json"
        case invalidCSV = "invalid-csv"
        case csvHeader = "csv-header"
        case fieldCount = "csv-field-count"
        case notAString = "not-a-string"
        case unknownField = "unknown-field"
        case duplicateField = "duplicate-field"
        case missingField = "missing-field"
        case emptyField = "empty-field"
        /// An id or episode longer than the store's 511-byte key limit.
        case tooLong = "too-long"
        case invalidCombination = "invalid-combination"
        case identityNumber = "identity-number"
        /// A control character in a value: in an identifier anything but tab, in free text (note,
        /// reason) anything but tab, line feed and carriage return.
        case controlCharacter = "control-character"
        case invalidSetting = "invalid-setting"
        case invalidCode = "invalid-code"
        case invalidOutcome = "invalid-outcome"
        case invalidDate = "invalid-date"
        case futureDate = "future-date"
        case invalidInstant = "invalid-instant"
        case emergencyAssessmentDate = "emergency-assessment-date"
    }

    /// The 1-based line number (for CSV: the line the record starts on).
    public let line: Int
    /// The field the problem is in, if it is in one.
    public let field: String?
    /// The problem, without the line and field prefix.
    public let message: String
    public let kind: Kind

    public init(line: Int, field: String?, kind: Kind, message: String) {
        self.line = line; self.field = field; self.kind = kind; self.message = message
    }

    public var description: String {
        if let f = field { return "line \(line): field '\(f)': \(message)" }
        return "line \(line): \(message)"
    }
}

/// One well-formed input line and the event it carries.
public struct ParsedLine: Sendable, Equatable {
    /// The 1-based line number (for CSV: the line the record starts on).
    public let line: Int
    public let event: LedgerEvent
    /// Where the line's bytes are in the input given to the reader, without the line terminator.
    public let byteRange: Range<Int>
    /// The event's canonical body (``EventBody``), when a parsing thread encoded it ahead of the
    /// append — only for an event naming no target, whose body needs nothing from the store.
    /// Nil: the appending session encodes it.
    public var encodedBody: [UInt8]? = nil

    public init(line: Int, event: LedgerEvent, byteRange: Range<Int>) {
        self.line = line; self.event = event; self.byteRange = byteRange
    }
}

/// The outcome of ``IngestReader/read(_:)``: the events, and the errors up to the listing limit.
public struct IngestResult: Sendable {
    public var events: [ParsedLine] = []
    /// The first ``IngestOptions/maxListedErrors`` errors, in line order.
    public var errors: [IngestError] = []
    /// How many lines were rejected in all (at least `errors.count`).
    public var errorCount = 0
    /// Non-blank lines (records) read, the CSV header not included.
    public var lineCount = 0

    public init() {}

    /// The listed error messages, followed by "… and N more lines with structural errors" when
    /// errors were left off the list.
    public var listing: [String] {
        var out = errors.map(\.description)
        let more = errorCount - errors.count
        if more > 0 { out.append("… and \(more) more \(more == 1 ? "line" : "lines") with structural errors") }
        return out
    }
}
