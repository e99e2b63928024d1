import ArgumentParser
import Deadlines
import Ledger
import Pathway

struct TimeAxes: ParsableArguments {
    @Option(name: .customLong("known-at"), help: ArgumentHelp("Only what had been recorded by this instant (RFC 3339).", valueName: "INSTANT"))
    var knownAt: String?
    @Option(name: .customLong("valid-at"), help: ArgumentHelp("The state as of this calendar date, using everything known now.", valueName: "DATE"))
    var validAt: String?

    func parsed() throws -> (Instant?, CivilDate?) {
        var k: Instant? = nil, v: CivilDate? = nil
        if let s = knownAt { guard let i = Instant(rfc3339: s) else { throw CLIError.usage("--known-at '\(s)' is not an RFC 3339 instant such as 2026-01-05T10:00:00Z") }; k = i }
        if let s = validAt { guard let d = CivilDate(s) else { throw CLIError.usage("--valid-at '\(s)' is not a date YYYY-MM-DD") }; v = d }
        return (k, v)
    }
}

struct EpisodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "episode", abstract: "Show one episode: phase, milestones, findings, timers, linked episodes.",
        discussion: "Without --known-at/--valid-at it reads the maintained projection; with either, it folds the episode's own events on demand.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "The episode id.") var episode: String
    @OptionGroup var axes: TimeAxes
    @Flag(help: "Print JSON (field names in docs/formats.md).") var json = false

    func run() throws {
        try PathwayCLI.run {
            let (knownAt, validAt) = try axes.parsed()
            let ledger = try store.open()
            var symbols = SymbolTable()
            let state: EpisodeState, version: UInt64, last: UInt64, timers: [Deadlines.Timer]
            var institution = "", unit = ""
            if knownAt == nil && validAt == nil {
                guard let s = try ledger.storedEpisode(episode, symbols: symbols) else { throw CLIError.usage("no episode '\(episode)' in \(ledger.environment.path)") }
                state = s.state; version = s.version; last = s.lastPosition; institution = s.institution; unit = s.unit
                timers = try ledger.storedTimers(episode).compactMap { $0.evaluated(asOf: ledger.clock.today()) }
            } else {
                let events = try ledger.events(of: episode)
                guard !events.isEmpty else { throw CLIError.usage("no episode '\(episode)' in \(ledger.environment.path)") }
                let v = Ledger.view(of: episode, events: events, knownAt: knownAt, validAt: validAt)
                if let k = knownAt, v.version == 0 {
                    // Not an empty episode: one the ledger had not heard of yet.
                    let first = events.map(\.effectiveRecordedAt).min().map { " (its first registration was recorded at \($0))" } ?? ""
                    throw CLIError.usage("nothing about episode '\(episode)' had been recorded by \(k)\(first)")
                }
                if let d = validAt, v.version > 0, v.history.validAt(d).slots.isEmpty {
                    // Not an episode in phase `started` with nothing in it: one whose pathway had not
                    // begun by that date (its registrations in force are all dated later).
                    let first = v.marks.map(\.date).min().map { " (its earliest registration in force is dated \($0))" } ?? ""
                    throw CLIError.usage("episode '\(episode)' has no registration dated on or before \(d)\(first)")
                }
                state = v.state; version = v.version; last = v.lastPosition
                timers = v.timers.compactMap { $0.evaluated(asOf: validAt ?? ledger.clock.today()) }
                // The view's marks are numbered in its own table: render with that one.
                symbols = v.symbols
                institution = symbols.name(v.state.milestones.institution); unit = symbols.name(v.state.milestones.unit)
            }
            let patient = symbols.name(state.milestones.patient)
            let links = try ledger.patientLinks(patient: patient, episode: episode)
            if json {
                print(EpisodeText.json(state, episode: episode, symbols: symbols, version: version, lastPosition: last,
                                       timers: timers, links: links, institution: institution, unit: unit))
                return
            }
            var title = "Episode \(episode)"
            if let k = knownAt { title += "  as known at \(k)" }
            if let v = validAt { title += "  as valid at \(v)" }
            print(title)
            print("  version \(version), last position \(last)")
            for l in EpisodeText.table(EpisodeText.lines(state, symbols: symbols)) { print(l) }
            if let p = links.previous { print("  previous episode      \(p) (the patient's earlier pathway, ended by transfer)") }
            if let n = links.next { print("  next episode          \(n) (this pathway ended by transfer)") }
            print("Timers (as of \(validAt ?? ledger.clock.today()))")
            for l in EpisodeText.timerLines(timers) { print(l) }
        }
    }
}

struct EpisodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "episodes", abstract: "List episodes from the maintained projection, optionally filtered.")
    @OptionGroup var store: StoreOptions
    @Option(help: "started, assessment, extended-assessment, treatment, decided or ended.") var phase: String?
    @Option(help: "Only this institution.") var institution: String?
    @Option(help: "Only this unit.") var unit: String?
    @Flag(help: "Print NDJSON, one episode per line.") var json = false

    func run() throws {
        try PathwayCLI.run {
            var p: EpisodeState.Phase? = nil
            if let name = phase {
                guard let ph = EpisodeState.Phase(name: name) else { throw CLIError.usage("--phase must be one of \(EpisodeState.Phase.allCases.map(\.name).joined(separator: ", "))") }
                p = ph
            }
            let ledger = try store.open()
            let symbols = SymbolTable()
            let out = Output()
            var rows: [[String]] = [["episode", "phase", "institution", "unit", "start", "findings", "version"]]
            var n = 0
            try ledger.storedEpisodes(phase: p, institution: institution, unit: unit, symbols: symbols) { s in
                n += 1
                if json {
                    out.line(EpisodeText.json(s.state, episode: s.episode, symbols: symbols, version: s.version, lastPosition: s.lastPosition,
                                              timers: [], links: nil, institution: s.institution, unit: s.unit))
                } else {
                    rows.append([s.episode, s.phase.name, s.institution, s.unit, s.state.milestones.start?.date.description ?? "-",
                                 String(s.state.findings.count), String(s.version)])
                    if rows.count >= 5000 { for l in EpisodeText.columns(rows, indent: "") { out.line(l) }; rows = [rows[0]] }
                }
            }
            if !json {
                if rows.count > 1 { for l in EpisodeText.columns(rows, indent: "") { out.line(l) } }
                out.line("\(n) episode(s)")
            }
            out.flush()
        }
    }
}

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "List the versioned pathway-time rule sets and their tables.")
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try PathwayCLI.run {
            let book = RuleBook.bundled
            if json {
                print("[" + book.sets.map { $0.json() }.joined(separator: ",") + "]")
                return
            }
            for set in book.sets {
                print("\(set.version)  effective from \(set.effectiveFrom)\(set.source.isEmpty ? "" : "  (\(set.source))")")
                var rows: [[String]] = [["timer", "outpatient", "inpatient", "notes"]]
                for k in Deadlines.Timer.Kind.allCases {
                    guard let r = set.rule(k) else { rows.append([k.name, "-", "-", "not measured in this version"]); continue }
                    var notes: [String] = []
                    if r.carryOverUnusedBasicDays { notes.append("+ unused basic-assessment days") }
                    if let y = r.fromSecondYear { notes.append("from day \(y.afterDays): \(y.outpatient.map(String.init) ?? "-") / \(y.inpatient.map(String.init) ?? "-")") }
                    if !r.patientPostponable { notes.append("not patient-postponable") }
                    rows.append([k.name, r.outpatient.map { "\($0) days" } ?? "-", r.inpatient.map { "\($0) days" } ?? "-", notes.joined(separator: "; ")])
                }
                for l in EpisodeText.columns(rows) { print(l) }
                print("")
            }
        }
    }
}
