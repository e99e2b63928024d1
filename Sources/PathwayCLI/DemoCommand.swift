import ArgumentParser
import Audit
import Deadlines
import Foundation
import Ingest
import Ledger
import Pathway
import Quality
import Synthetic

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "See the whole system work: generate ~5,000 synthetic episodes, import them, rebuild the projections and take a short tour.",
        discussion: "Works in a fresh temporary store unless --store is given. Nothing leaves the machine; the data is synthetic.")
    @Option(help: ArgumentHelp("Use this store directory instead of a fresh temporary one.", valueName: "DIR")) var store: String?
    @Option(help: "How many episodes to generate.") var episodes: Int = 5000
    @Option(help: "The generator's seed.") var seed: UInt64 = 2026

    func run() throws {
        try PathwayCLI.run {
            let t0 = monotonicSeconds()
            let clock = try StoreOptions.parse([]).clock()
            let today = clock.today()
            let path: String
            if let s = store { path = s } else {
                var template = Array((NSTemporaryDirectory() + "pathway-demo-XXXXXX").utf8CString)
                guard let p = mkdtemp(&template) else { throw CLIError.store("cannot create a temporary directory") }
                path = String(cString: p)
            }
            section("PathwayLedger demo — store \(path)")
            // 1. Generate three years of national-pattern data ending today.
            let from = today.adding(days: -3 * 365)
            let g = SyntheticGenerator(episodes: episodes, seed: seed, from: from, to: today)
            var data: [UInt8] = []
            let summary = g.generateChunks { data.append(contentsOf: $0) }
            say("generated \(summary.lines) registrations for \(summary.episodes) episodes of \(summary.patients) patients, \(from) … \(today)")
            say("  (\(summary.corrections) corrections, \(summary.voidings) voidings, \(summary.lateRecorded) recorded days late, \(summary.ruleBreaks) breaking a pathway rule)")

            // 2. Import them as one atomic batch.
            let ledger: Ledger
            do { ledger = try Ledger(path: path, clock: clock) } catch { throw CLIError.store("\(error)") }
            // A store that already holds events (an earlier demo, or real data) would mix two
            // generated histories, or refuse every id as stored with other content: say so first.
            let existing = try ledger.environment.read { txn in try ledger.log.head(in: txn).position }
            if existing > 0 {
                throw CLIError.usage("the demo needs an empty store, and \(path) already holds \(existing) events: give --store a new directory, or leave it out for a temporary one")
            }
            let reader = IngestReader(format: .ndjson, options: IngestOptions(today: today))
            let t1 = monotonicSeconds()
            let parsed = data.withUnsafeBytes { reader.parse($0) }
            guard parsed.errors.isEmpty else { throw CLIError.rejected("the generator wrote invalid input: \(parsed.errors.first!)") }
            let report = try ledger.append(parsed.events, options: .init(skipInvalid: false))
            let t2 = monotonicSeconds()
            say("imported \(report.appended) events in \(format3(t2 - t1)) s (\(Int(Double(report.appended) / (t2 - t1))) events/s), \(report.duplicates) duplicates, \(report.findings.count) findings flagged")

            // 3. Rebuild every projection from the log (blue/green).
            let r = try ledger.engine.rebuild(clock: monotonicSeconds)
            say("rebuilt \(r.projections.joined(separator: ", ")) from \(r.events) events in \(format3(r.foldSeconds + r.writeSeconds)) s")

            // 4. The tour.
            section("Episodes by phase")
            var phases: [EpisodeState.Phase: Int] = [:]
            var sample: String? = nil
            try ledger.storedEpisodes { s in
                phases[s.phase, default: 0] += 1
                if sample == nil, s.version >= 10, s.phase == .ended, !s.state.findings.isEmpty { sample = s.episode }
            }
            for l in EpisodeText.columns(EpisodeState.Phase.allCases.map { [$0.name, String(phases[$0] ?? 0)] }) { say(l) }

            section("The ten most overdue timers (as of \(today))")
            var overdue: [(Deadlines.Timer, String, String, String)] = []
            try ledger.storedTimers(of: ledger.episodesWithOpenTimers(asOf: today)) { ep, inst, unit, timers in
                for t in timers { if let e = t.evaluated(asOf: today), e.status == .overdue { overdue.append((e, ep, inst, unit)) } }
            }
            overdue.sort { ($0.0.due, $0.1) < ($1.0.due, $1.1) }
            var rows: [[String]] = [["days over", "timer", "episode", "institution", "unit", "due"]]
            for o in overdue.prefix(10) { rows.append([String(o.0.due.days(until: today)), o.0.kind.name, o.1, o.2, o.3, o.0.due.description]) }
            for l in EpisodeText.columns(rows) { say(l) }
            say("  \(overdue.count) timers overdue in all")

            let tertial = Self.latestFullTertial(before: today)
            section("Quality indicators, national, \(tertial) (the latest full tertial)")
            let q = QualityTable.rows(counters: try ledger.qualityCounters(), query: QualityQuery(period: tertial, by: .national))
            var qt: [[String]] = [["indicator", "variant", "numerator", "denominator", "share"]]
            for row in q { qt.append([row.indicator, row.variant, row.numerator.map(String.init) ?? "·", row.denominator.map(String.init) ?? "·", row.share.map(percent) ?? "-"]) }
            for l in EpisodeText.columns(qt) { say(l) }

            let firstEpisode = try ledger.storedEpisodes().first
            if let ep = sample ?? firstEpisode {
                section("One episode's history: pathway replay \(ep)")
                let replay = Replay(episode: ep, events: try ledger.events(of: ep))
                for l in ReplayText.text(replay, knownAt: nil, validAt: nil, atPosition: nil).dropFirst().prefix(60) { say(l) }
                if replay.steps.count > 6 { say("  … (\(replay.steps.count) events in all; run the command for the rest)") }
            }

            section("Verification")
            let v = try Verifier(ledger: ledger).verify()
            if v.ok {
                say("ok: \(v.events) events, hash chain intact, indexes consistent, projections equal a fresh fold")
            } else {
                for p in v.problems { say("FAILED: \(p)") }
            }
            say("head anchor \(v.head.anchor)")
            say("")
            say("demo finished in \(format3(monotonicSeconds() - t0)) s. Try next:")
            let s = "--store \(path)"
            // The commands as they can be pasted: after `swift run` there is no `pathway` on PATH,
            // so name the binary by the path this run was started with.
            let p = DemoCommand.invocation(CommandLine.arguments.first ?? "pathway",
                                           currentDirectory: FileManager.default.currentDirectoryPath)
            say("  \(p) stats \(s)")
            say("  \(p) episodes \(s) --phase treatment")
            say("  \(p) episode \(sample ?? "EP-000001") \(s)")
            say("  \(p) deadlines \(s) --status overdue")
            say("  \(p) quality \(s) --period \(tertial) --by institution")
            say("  \(p) report \(s) --period \(tertial) --out report.html")
            say("  \(p) replay \(sample ?? "EP-000001") \(s) --valid-at \(today.adding(days: -200))")
            say("  \(p) export \(sample ?? "EP-000001") \(s) --out bundle.ndjson && \(p) verify-bundle bundle.ndjson")
            say("  \(p) verify \(s) --anchor \(v.head.anchor)")
            if !v.ok { throw ExitCode(1) }
        }
    }

    /// How to name this binary in a command to paste: as started when that was a path (relative to
    /// the current directory when it lies under it, e.g. `.build/release/pathway`), else by name.
    static func invocation(_ argument0: String, currentDirectory: String) -> String {
        guard argument0.contains("/") else { return argument0 }
        let dir = currentDirectory.hasSuffix("/") ? currentDirectory : currentDirectory + "/"
        if argument0.hasPrefix(dir) { return String(argument0.dropFirst(dir.count)) }
        return argument0
    }

    static func latestFullTertial(before d: CivilDate) -> String {
        let t = (d.month - 1) / 4 + 1
        return t == 1 ? "\(d.year - 1)-T3" : "\(d.year)-T\(t - 1)"
    }
}

private func section(_ title: String) { print(""); print(title); print(String(repeating: "─", count: min(title.count, 100))) }
private func say(_ s: String) { print(s) }

extension Ledger {
    /// Convenience for the demo: all episode ids.
    func storedEpisodes() throws -> [String] {
        var out: [String] = []
        try storedEpisodes { out.append($0.episode) }
        return out
    }
}
