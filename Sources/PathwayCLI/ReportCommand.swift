import ArgumentParser
import Foundation
import Ledger
import Pathway
import Quality
#if canImport(Glibc)
import Glibc
#endif

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML quality report for a period: indicator tables per institution and unit, charts, and what each counts.",
        discussion: "The file needs no network: styles and SVG charts are inline. tools/render-report.sh turns it into a PNG with headless Chromium.")
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("A month 2026-03, a tertial 2026-T1 or a year 2026.", valueName: "P")) var period: String
    @Option(help: ArgumentHelp("The HTML file to write.", valueName: "FILE.html")) var out: String
    @Option(name: .customLong("min-cell"), help: "Blank cells whose denominator is under N.") var minCell: Int = 0
    @Option(name: .customLong("known-at"), help: ArgumentHelp("The numbers as they stood at this instant.", valueName: "INSTANT")) var knownAt: String?

    func run() throws {
        try PathwayCLI.run {
            guard QualityPeriod(period) != nil else { throw CLIError.usage("--period must be a month 2026-03, a tertial 2026-T1 or a year 2026") }
            guard minCell >= 0 else { throw CLIError.usage("--min-cell must be 0 or more") }
            let knownAtInstant = try parseKnownAt(knownAt)
            let ledger = try store.open()
            let counters = try ledger.qualityCounters(knownAt: knownAtInstant)
            let rows = QualityTable.rows(counters: counters, query: QualityQuery(period: period, minCell: minCell))
            let dist = QualityTable.distributions(counters: counters, query: QualityQuery(period: period, minCell: minCell))
            let trend = QualityTable.trend(counters: counters, period: period, minCell: minCell)
            let head = try ledger.head()
            let html = QualityReport.html(rows: rows, distributions: dist, trend: trend, period: period,
                                          generatedFrom: "PathwayLedger store \(ledger.environment.path), log head \(head.anchor)" + (knownAt.map { ", as known at \($0)" } ?? ""))
            try writeFile(out, html)
            print("wrote \(out): \(rows.count) indicator rows, \(dist.count) distribution rows for \(period)")
        }
    }
}

/// Writes `text` to `path` (created or truncated). A failure is a store error (exit 3) naming the
/// path and the system's reason; a file left half-written is removed.
/// Writes `text` to `path` whole or not at all: into a temporary file beside it, renamed over it
/// once written, so a failure leaves an earlier file at that path untouched. A file that cannot
/// be written is a file error (exit 3), naming the path and the system's reason.
func writeFile(_ path: String, _ text: String) throws {
    let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    let name = path.split(separator: "/").last.map(String.init) ?? path
    var template = Array("\(dir.isEmpty ? "/" : dir)/.\(name).XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw CLIError.store("cannot write \(path): \(String(cString: strerror(errno)))") }
    let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    // mkstemp makes the file 0600; what is written here is meant to be handed on.
    let mask = umask(0); umask(mask)
    fchmod(fd, 0o666 & ~mask)
    var failure = writeAll(fd, text)
    if close(fd) != 0 && failure == 0 { failure = errno }
    if failure == 0 && rename(temporary, path) != 0 { failure = errno }
    if failure != 0 {
        unlink(temporary)
        throw CLIError.store("cannot write \(path): \(String(cString: strerror(failure)))")
    }
}

/// `--known-at` as an instant, or nil when not given.
func parseKnownAt(_ text: String?) throws -> Instant? {
    guard let t = text else { return nil }
    guard let i = Instant(rfc3339: t) else { throw CLIError.usage("--known-at must be an RFC 3339 instant such as 2026-01-05T10:00:00Z") }
    return i
}
