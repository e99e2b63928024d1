import ArgumentParser
import Deadlines
import Ledger
import Pathway

struct DeadlinesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadlines",
        abstract: "Deadline timers for every pathway time, sorted by due date; or, with --transitions, what changed between two dates.",
        discussion: """
        Statuses: running, due-soon (due within --due-soon-days of the as-of date), overdue, met, met-late, \
        stopped (ended on or before the due date without being met), missed (ended after it). Evaluated as \
        of a date, a timer sees only registrations dated on or before it. The same log and the same as-of \
        date always give the same output. Timers: detox-to-first-attendance, basic-assessment, \
        extended-assessment, total-assessment, first-evaluation, next-evaluation, emergency-start. \
        --transitions lists, for the window after --from up to and including --to, each timer's \
        became-due-soon, became-overdue, met and met-late on the date it happened (NDJSON, or CSV with \
        --csv); each timer is read as of that date, so --as-of does not apply. --status then keeps the \
        transitions into that status: due-soon, overdue, met or met-late.
        """)
    @OptionGroup var store: StoreOptions
    @Option(name: .customLong("as-of"), help: ArgumentHelp("Evaluate as of this date (default: today in Oslo).", valueName: "DATE")) var asOf: String?
    @Option(help: "Only timers with this status (with --transitions: only transitions into it).") var status: String?
    @Option(help: "Only this institution.") var institution: String?
    @Option(help: "Only this unit.") var unit: String?
    @Option(help: "Only this episode.") var episode: String?
    @Option(name: .customLong("due-soon-days"), help: "How many days before its due date a timer is due-soon (0–3650).") var dueSoonDays: Int = Deadlines.defaultDueSoonDays
    @Flag(help: "Print NDJSON rows.") var json = false
    @Flag(help: "Print CSV rows.") var csv = false
    @Flag(help: "List timer transitions between --from and --to (NDJSON, or CSV with --csv; each exactly once).") var transitions = false
    @Option(help: ArgumentHelp("Transitions after this date…", valueName: "DATE")) var from: String?
    @Option(help: ArgumentHelp("…up to and including this date.", valueName: "DATE")) var to: String?

    func run() throws {
        try PathwayCLI.run {
            var wanted: Deadlines.Timer.Status? = nil
            if let s = status {
                guard let st = Deadlines.Timer.Status(name: s) else { throw CLIError.usage("--status must be one of \(Deadlines.Timer.Status.allCases.map(\.name).joined(separator: ", "))") }
                wanted = st
            }
            if json && csv { throw CLIError.usage("--json and --csv exclude each other: give one") }
            guard (0...3650).contains(dueSoonDays) else {
                throw CLIError.usage("--due-soon-days must be 0–3650 (days before the due date), got \(dueSoonDays)")
            }
            if transitions {
                if asOf != nil {
                    throw CLIError.usage("--as-of does not apply to --transitions: each transition is read as of its own date; give the window with --from and --to")
                }
                if let w = wanted, !Deadlines.Transition.Kind.allCases.contains(where: { $0.status == w }) {
                    throw CLIError.usage("no transition leads to status \(w.name): with --transitions, --status must be one of \(Deadlines.Transition.Kind.allCases.map(\.status.name).joined(separator: ", "))")
                }
            } else if from != nil || to != nil {
                throw CLIError.usage("--from and --to only apply with --transitions")
            }
            let ledger = try store.open()
            let out = Output()
            defer { out.flush() }
            // Plain copies: reading an option through its property wrapper costs more than the
            // whole per-episode check, which runs for every episode with an open timer.
            let onlyEpisode = episode, onlyInstitution = institution, onlyUnit = unit, dueSoonDays = self.dueSoonDays
            func keep(_ ep: String, _ inst: String, _ u: String) -> Bool {
                (onlyEpisode == nil || onlyEpisode == ep) && (onlyInstitution == nil || onlyInstitution == inst) && (onlyUnit == nil || onlyUnit == u)
            }
            if transitions {
                guard let f = from.flatMap(CivilDate.init), let t = to.flatMap(CivilDate.init), f <= t else {
                    throw CLIError.usage("--transitions needs --from DATE and --to DATE (YYYY-MM-DD, from ≤ to)")
                }
                var lines: [(CivilDate, String, Deadlines.Transition, String, String)] = []
                try ledger.storedTimers { ep, inst, u, timers in
                    guard keep(ep, inst, u) else { return }
                    for tr in Deadlines.transitions(timers, from: f, to: t, dueSoonDays: dueSoonDays) where wanted == nil || tr.kind.status == wanted {
                        lines.append((tr.date, ep, tr, inst, u))
                    }
                }
                lines.sort { ($0.0, $0.1, $0.2.timer.id, $0.2.kind) < ($1.0, $1.1, $1.2.timer.id, $1.2.kind) }
                if csv {
                    out.line(Deadlines.Transition.csvHeader)
                    for l in lines { out.line(l.2.csvRow(episode: l.1, institution: l.3, unit: l.4)) }
                } else {
                    for l in lines { out.line(l.2.jsonLine(episode: l.1, institution: l.3, unit: l.4)) }
                }
                return
            }
            let day: CivilDate
            if let s = asOf { guard let d = CivilDate(s) else { throw CLIError.usage("--as-of must be a date YYYY-MM-DD") }; day = d } else { day = ledger.clock.today() }
            var rows: [(Deadlines.Timer, String, String, String)] = []
            let collect: (String, String, String, [Deadlines.Timer]) throws -> Void = { ep, inst, u, timers in
                guard keep(ep, inst, u) else { return }
                for t in timers {
                    guard let e = t.evaluated(asOf: day, dueSoonDays: dueSoonDays) else { continue }
                    if let w = wanted, e.status != w { continue }
                    rows.append((e, ep, inst, u))
                }
            }
            if let ep = episode {
                try ledger.storedTimers(of: [ep], collect)
            } else if let w = wanted, w.isOpen {
                // Only timers open on the as-of date can be running, due-soon or overdue then.
                try ledger.storedTimers(of: ledger.episodesWithOpenTimers(asOf: day), collect)
            } else {
                try ledger.storedTimers(collect)
            }
            rows.sort { ($0.0.due, $0.1, $0.0.id) < ($1.0.due, $1.1, $1.0.id) }
            if json {
                for r in rows { out.line(r.0.jsonRow(episode: r.1, institution: r.2, unit: r.3)) }
            } else if csv {
                out.line(Deadlines.Timer.csvHeader)
                for r in rows { out.line(r.0.csvRow(episode: r.1, institution: r.2, unit: r.3)) }
            } else {
                var table: [[String]] = [["due", "status", "timer", "episode", "institution", "unit", "start", "met", "setting", "postponed"]]
                for r in rows {
                    let t = r.0
                    table.append([t.due.description, t.status.name, t.kind.name, r.1, r.2, r.3, t.start.description,
                                  t.met?.date.description ?? "-", t.setting.name, t.patientPostponed ? "patient" : "-"])
                }
                for l in EpisodeText.columns(table, indent: "") { out.line(l) }
                out.line("\(rows.count) timer(s) as of \(day)")
            }
        }
    }
}
