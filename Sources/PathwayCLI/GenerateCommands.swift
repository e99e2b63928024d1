import ArgumentParser
import Foundation
import Ingest
import Ledger
import Pathway
import Synthetic
#if canImport(Glibc)
import Glibc
#endif

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate realistic synthetic registrations (deterministic for a seed, streaming, valid `pathway import` input).",
        discussion: SyntheticGenerator.distributionsHelp)
    @Option(help: "How many episodes (pathways) to generate.") var episodes: Int
    @Option(help: "The random seed: the same seed gives the same bytes.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("First start date.", valueName: "DATE")) var from: String = "2024-01-01"
    @Option(help: ArgumentHelp("Last date anything is registered on.", valueName: "DATE")) var to: String = "2026-10-31"
    @Option(help: ArgumentHelp("Where to write (- for standard output).", valueName: "FILE")) var out: String = "-"
    @Option(help: "ndjson or csv (CSV carries plain registrations only: no corrections or voidings).") var format: String = "ndjson"
    @Option(help: ArgumentHelp("generated (episode after episode, streamed) or recorded (all episodes interleaved by the instant each line is recorded, as a national log receives them; sorted through temporary files).", valueName: "ORDER"))
    var order: String = "generated"
    @Option(name: .customLong("temp-dir"), help: ArgumentHelp("Where --order recorded keeps its run files (default: $TMPDIR, else /tmp); they are unlinked at once.", valueName: "DIR"))
    var tempDir: String?

    func run() throws {
        try PathwayCLI.run {
            guard episodes >= 0 else { throw CLIError.usage("--episodes must be 0 or more") }
            guard let f = CivilDate(from), let t = CivilDate(to), f <= t else { throw CLIError.usage("--from and --to must be dates YYYY-MM-DD, from ≤ to") }
            guard let fmt = SyntheticGenerator.Format(rawValue: format) else { throw CLIError.usage("--format must be ndjson or csv") }
            guard order == "generated" || order == "recorded" else { throw CLIError.usage("--order must be generated or recorded") }
            let fd: Int32 = out == "-" ? 1 : open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw CLIError.store("cannot write \(out): \(String(cString: strerror(errno)))") }
            defer { if fd != 1 { close(fd) } }
            // The output never depends on today (the same seed gives the same bytes), but import
            // refuses registrations dated more than a day after its today: say so up front.
            let today = (LedgerClock.fromEnvironment() ?? .system).today()
            if today.days(until: t) > 1 {
                printError("pathway generate: warning: --to \(t) is after today (\(today)); `pathway import` rejects lines dated "
                           + "more than one day after its today unless run with --now (or PATHWAY_NOW) at or after \(t)T12:00:00Z")
            }
            let g = SyntheticGenerator(episodes: episodes, seed: seed, from: f, to: t, format: fmt)
            var failed = false
            let sink: (UnsafeRawBufferPointer) -> Void = { chunk in
                guard !failed else { return }
                var off = 0
                while off < chunk.count {
                    let n = write(fd, chunk.baseAddress! + off, chunk.count - off)
                    if n <= 0 { failed = true; return }
                    off += n
                }
            }
            let summary: SyntheticGenerator.Summary
            if order == "recorded" {
                let dir = tempDir ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
                do { summary = try g.generateInRecordedOrder(temporaryDirectory: dir, sink) }
                catch let e as GeneratorError { throw CLIError.store(e.description) }
            } else {
                summary = g.generateChunks(sink)
            }
            if failed { throw CLIError.usage("writing \(out) failed: \(String(cString: strerror(errno)))") }
            if out != "-" {
                let what = fmt == .csv
                    ? "a header and \(summary.registrations) registrations (no corrections or voidings: CSV carries registrations only)"
                    : "\(summary.registrations) registrations, \(summary.corrections) corrections, \(summary.voidings) voidings"
                print("wrote \(out): \(summary.lines) lines for \(summary.episodes) episodes of \(summary.patients) patients: "
                      + "\(what); \(summary.ruleBreaks) rule breaks")
            }
        }
    }
}

/// A child process for crash tests: appends one registration per durable transaction and reports
/// each position on stdout the moment the *log* has committed it — before the projections have —
/// so a SIGKILL can land exactly between the two.
struct DebugAppendLoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "debug-append-loop", abstract: "Crash-test helper (not for users).", shouldDisplay: false)
    @OptionGroup var store: StoreOptions
    @Option var count: Int = 1000

    func run() throws {
        try PathwayCLI.run {
            let ledger = try store.open(create: true)
            let start = try ledger.head().position
            let codes = ["D01A", "D01M", "D01CT", "D01E", "D01E", "D01UB", "D01F", "D01E", "D01XG", "D01HK"]
            var options = Ledger.AppendOptions()
            options.afterLogCommit = { r in writeAll(1, "\(r.lastPosition)\n") }
            let reader = IngestReader(format: .ndjson, options: IngestOptions(today: CivilDate(year: 2030, month: 1, day: 1)!))
            for i in 0..<count {
                let n = Int(start) + i
                let ep = n / codes.count, k = n % codes.count
                let day = CivilDate(year: 2025, month: 1, day: 1)!.adding(days: ep % 300 + k * 3)
                let line = "{\"id\":\"crash-\(n)\",\"episode\":\"EP-\(ep)\",\"patient\":\"P-\(ep % 97)\",\"institution\":\"HF-\(ep % 3)\",\"unit\":\"U-\(ep % 5)\",\"setting\":\"outpatient\",\"code\":\"\(codes[k])\",\"date\":\"\(day)\",\"author\":\"crash\"}"
                let parsed = reader.parse(line)
                guard let p = parsed.events.first else { throw CLIError.usage("bad generated line: \(parsed.errors)") }
                _ = try ledger.append([p], options: options)
            }
        }
    }
}
