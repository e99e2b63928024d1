import ArgumentParser
import Audit
import Deadlines
import Ledger
import Pathway

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Walk one episode's history event by event: what was registered, when, by whom, and what the ledger believed after each step.",
        discussion: "--known-at stops at what had been recorded by that instant; --valid-at shows each state as of a calendar date using everything known now; --at-position stops after that log position.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "The episode id.") var episode: String
    @OptionGroup var axes: TimeAxes
    @Option(name: .customLong("at-position"), help: ArgumentHelp("Stop after this log position.", valueName: "N")) var atPosition: UInt64?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try PathwayCLI.run {
            let (knownAt, validAt) = try axes.parsed()
            let ledger = try store.open()
            let events = try ledger.events(of: episode)
            guard !events.isEmpty else { throw CLIError.usage("no episode '\(episode)' in \(ledger.environment.path)") }
            let replay = Replay(episode: episode, events: events, knownAt: knownAt, validAt: validAt, atPosition: atPosition)
            let out = Output()
            defer { out.flush() }
            if json {
                out.line(ReplayText.json(replay, knownAt: knownAt, validAt: validAt, atPosition: atPosition))
            } else {
                for l in ReplayText.text(replay, knownAt: knownAt, validAt: validAt, atPosition: atPosition) { out.line(l) }
            }
        }
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "What the ledger learned about an episode between two instants, and how its state and timers changed as a result.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "The episode id.") var episode: String
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Two RFC 3339 instants.", valueName: "INSTANT1 INSTANT2")) var between: [String]
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try PathwayCLI.run {
            guard between.count == 2, let a = Instant(rfc3339: between[0]), let b = Instant(rfc3339: between[1]), a <= b else {
                throw CLIError.usage("--between needs two RFC 3339 instants, the earlier first")
            }
            let ledger = try store.open()
            let events = try ledger.events(of: episode)
            guard !events.isEmpty else { throw CLIError.usage("no episode '\(episode)' in \(ledger.environment.path)") }
            let learned = events.filter { $0.effectiveRecordedAt > a && $0.effectiveRecordedAt <= b }
            let before = Ledger.view(of: episode, events: events, knownAt: a)
            let after = Ledger.view(of: episode, events: events, knownAt: b)
            // What a correction or voiding names, wherever it lies (often before the window).
            let targets = Replay.targets(of: events)
            // Each side's timers read as of its instant's Oslo calendar date: what was believed then.
            let dateA = a.osloDate, dateB = b.osloDate
            if json {
                var o = "{"
                JSONText.key("episode", into: &o); JSONText.string(episode, into: &o)
                o += ",\"from\":\"\(a)\",\"to\":\"\(b)\",\"learned\":["
                o += learned.map { ReplayText.eventJSON($0, target: $0.targetPosition.flatMap { targets[$0] }) }.joined(separator: ",") + "]"
                o += ",\"before\":" + ReplayText.stateJSON(before, asOf: dateA)
                o += ",\"after\":" + ReplayText.stateJSON(after, asOf: dateB) + "}"
                print(o)
                return
            }
            print("Episode \(episode): what the ledger learned between \(a) and \(b)")
            if learned.isEmpty { print("  nothing") }
            for e in learned { for l in ReplayText.eventLines(e, target: e.targetPosition.flatMap { targets[$0] }) { print(l) } }
            print("How the state changed")
            let d = EpisodeText.diff(EpisodeText.lines(before.state, symbols: before.symbols), EpisodeText.lines(after.state, symbols: after.symbols))
            if d.isEmpty { print("  no change") } else { for l in d { print("  " + l) } }
            print("Timers as known at \(a), status as of \(dateA)")
            for l in EpisodeText.timerLines(before.timers.compactMap { $0.evaluated(asOf: dateA) }) { print(l) }
            print("Timers as known at \(b), status as of \(dateB)")
            for l in EpisodeText.timerLines(after.timers.compactMap { $0.evaluated(asOf: dateB) }) { print(l) }
        }
    }
}

enum ReplayText {
    static func codeText(_ r: Registration) -> String {
        let f = r.code.moduleFields
        return "\(r.code.procedureCode) (pathway \(f.pathway), event \(f.event)\(f.outcome.map { ", outcome \($0)" } ?? "")) — \(r.code.norwegian)"
    }

    /// Every label of an event's rows, the findings, the state and the timers share one column:
    /// the longest label ("finding cleared") and two spaces.
    static let labelWidth = 15

    static func row(_ label: String, _ value: String) -> String {
        "    " + EpisodeText.pad(label, labelWidth) + "  " + value
    }

    /// What else a registration (or a correction's replacement) says besides its code and date.
    static func registrationRows(_ r: Registration) -> [(String, String)] {
        var rows = [("patient", r.patient), ("where", "\(r.institution) / \(r.unit), \(r.setting.name)")]
        if let e = r.emergencyAssessmentDate { rows.append(("emergency", "assessed \(e) (øyeblikkelig hjelp)")) }
        if let n = r.note { rows.append(("note", n)) }
        return rows
    }

    /// The registration a correction or voiding names, as it read before: its code and date, and
    /// for a correction whichever other fields the replacement changed.
    static func replaced(_ old: Registration, by new: Registration?) -> String {
        var s = codeText(old) + ", dated \(old.date)"
        func differs<T: Equatable>(_ k: KeyPath<Registration, T>) -> Bool { new.map { $0[keyPath: k] != old[keyPath: k] } ?? true }
        if differs(\.patient) { s += ", patient \(old.patient)" }
        if differs(\.institution) || differs(\.unit) || differs(\.setting) { s += ", at \(old.institution) / \(old.unit), \(old.setting.name)" }
        if new != nil, differs(\.emergencyAssessmentDate) { s += ", emergency assessment \(old.emergencyAssessmentDate?.description ?? "none")" }
        if new != nil, differs(\.note) { s += ", note \(old.note.map { "\"\($0)\"" } ?? "none")" }
        return s
    }

    static func eventLines(_ e: LoggedEvent, target: LoggedEvent?) -> [String] {
        var rows: [(String, String)] = []
        let recorded = e.event.recordedAt.map { "\($0)" } ?? "\(e.appendedAt) (not given: the append instant)"
        rows.append(("recorded at", recorded))
        rows.append(("appended at", e.appendedAt.description))
        rows.append(("by", e.event.author))
        var old: Registration? = nil
        if case .registration(let r)? = target?.event { old = r }
        if case .correction(let c)? = target?.event { old = c.replacement }
        let at = target.map { " (position \($0.position))" } ?? ""
        switch e.event {
        case .registration(let r):
            rows.append(("registered", codeText(r)))
            rows.append(("dated", r.date.description))
            rows.append(contentsOf: registrationRows(r))
        case .correction(let c):
            rows.append(("corrects", "\(c.target)\(at)"))
            rows.append(("reason", c.reason))
            rows.append(("now reads", codeText(c.replacement) + ", dated \(c.replacement.date)"))
            rows.append(contentsOf: registrationRows(c.replacement))
            if let old { rows.append(("was", replaced(old, by: c.replacement))) }
        case .voiding(let v):
            rows.append(("voids", "\(v.target)\(at)"))
            rows.append(("reason", v.reason))
            if let old { rows.append(("which was", replaced(old, by: nil))) }
        }
        rows.append(("hash", e.hash))
        return ["Position \(e.position) · version \(e.version) · \(e.event.kind.rawValue) \(e.event.id)"] + rows.map { row($0.0, $0.1) }
    }

    /// The date a step's timers are read as of: the --valid-at date, else the Oslo date the event
    /// was recorded (what the ledger believed then). Text and JSON use the same.
    static func timersAsOf(_ s: Replay.Step, validAt: CivilDate?) -> CivilDate {
        validAt ?? s.event.effectiveRecordedAt.osloDate
    }

    static func text(_ r: Replay, knownAt: Instant?, validAt: CivilDate?, atPosition: UInt64?) -> [String] {
        var out = ["Replay of episode \(r.episode)" + (knownAt.map { ", as known at \($0)" } ?? "") + (validAt.map { ", as valid at \($0)" } ?? "")
                   + (atPosition.map { ", up to position \($0)" } ?? "")]
        if r.steps.isEmpty { out.append("  (no events in this view)") }
        for s in r.steps {
            out.append("")
            out.append(contentsOf: eventLines(s.event, target: s.target))
            for f in s.raised { out.append(row("finding raised", "[\(f.rule.id)] \(f.message)")) }
            for f in s.cleared { out.append(row("finding cleared", "[\(f.rule.id)] \(f.message)")) }
            let d = EpisodeText.diff(EpisodeText.lines(s.before.state, symbols: s.before.symbols), EpisodeText.lines(s.after.state, symbols: s.after.symbols))
            out.append(row("state after", "phase \(s.after.state.phase.name)" + (d.isEmpty ? " (no change)" : "")))
            for l in d { out.append("      " + l) }
            let then = timersAsOf(s, validAt: validAt)
            let timers = s.after.timers.compactMap { $0.evaluated(asOf: then) }
            if timers.isEmpty {
                out.append(row("timers after", "none"))
            } else {
                out.append(row("timers after", "as of \(then)"))
                out.append(contentsOf: EpisodeText.timerLines(timers, indent: "      "))
            }
        }
        return out
    }

    /// One event as JSON. `target`, for a correction or voiding, is the event it names: added as
    /// `targetEvent` (null otherwise).
    static func eventJSON(_ e: LoggedEvent, target: LoggedEvent? = nil) -> String {
        var o = "{\"position\":\(e.position),\"version\":\(e.version),\"appendedAt\":\"\(e.appendedAt)\",\"recordedAt\":"
        if let r = e.event.recordedAt { o += "\"\(r)\"" } else { o += "null" }
        o += ",\"kind\":\"\(e.event.kind.rawValue)\","; JSONText.key("id", into: &o); JSONText.string(e.event.id, into: &o)
        o += ","; JSONText.key("author", into: &o); JSONText.string(e.event.author, into: &o)
        func reg(_ r: Registration) {
            let f = r.code.moduleFields
            o += ",\"code\":\"\(r.code.procedureCode)\",\"pathway\":\"\(f.pathway)\",\"event\":\"\(f.event)\",\"outcome\":"
            if let x = f.outcome { o += "\"\(x)\"" } else { o += "null" }
            o += ","; JSONText.key("text", into: &o); JSONText.string(r.code.norwegian, into: &o)
            o += ","; JSONText.key("english", into: &o); JSONText.string(r.code.english, into: &o)
            o += ",\"date\":\"\(r.date)\",\"setting\":\"\(r.setting.name)\""
            o += ","; JSONText.key("institution", into: &o); JSONText.string(r.institution, into: &o)
            o += ","; JSONText.key("unit", into: &o); JSONText.string(r.unit, into: &o)
            o += ","; JSONText.key("patient", into: &o); JSONText.string(r.patient, into: &o)
            o += ",\"emergencyAssessmentDate\":" + (r.emergencyAssessmentDate.map { "\"\($0)\"" } ?? "null")
            o += ","; JSONText.key("note", into: &o); if let n = r.note { JSONText.string(n, into: &o) } else { o += "null" }
        }
        switch e.event {
        case .registration(let r): reg(r)
        case .correction(let c):
            o += ","; JSONText.key("corrects", into: &o); JSONText.string(c.target, into: &o)
            o += ","; JSONText.key("reason", into: &o); JSONText.string(c.reason, into: &o)
            reg(c.replacement)
        case .voiding(let v):
            o += ","; JSONText.key("voids", into: &o); JSONText.string(v.target, into: &o)
            o += ","; JSONText.key("reason", into: &o); JSONText.string(v.reason, into: &o)
        }
        o += ",\"targetPosition\":" + (e.targetPosition.map(String.init) ?? "null")
        o += ",\"targetEvent\":" + (target.map { eventJSON($0) } ?? "null")
        return o + ",\"hash\":\"\(e.hash)\"}"
    }

    /// The episode JSON of a view, its timers read as of `asOf` (named in `timersAsOf`).
    static func stateJSON(_ v: EpisodeView, asOf: CivilDate) -> String {
        var s = EpisodeText.json(v.state, episode: v.episode, symbols: v.symbols, version: v.version, lastPosition: v.lastPosition,
                                 timers: v.timers.compactMap { $0.evaluated(asOf: asOf) }, links: nil,
                                 institution: v.symbols.name(v.state.milestones.institution), unit: v.symbols.name(v.state.milestones.unit))
        s.removeLast()
        return s + ",\"timersAsOf\":\"\(asOf)\"}"
    }

    static func json(_ r: Replay, knownAt: Instant?, validAt: CivilDate?, atPosition: UInt64?) -> String {
        var o = "{"; JSONText.key("episode", into: &o); JSONText.string(r.episode, into: &o)
        o += ",\"knownAt\":" + (knownAt.map { "\"\($0)\"" } ?? "null")
        o += ",\"validAt\":" + (validAt.map { "\"\($0)\"" } ?? "null")
        o += ",\"atPosition\":" + (atPosition.map(String.init) ?? "null")
        o += ",\"steps\":["
        o += r.steps.map { s -> String in
            var x = "{\"event\":" + eventJSON(s.event, target: s.target)
            x += ",\"findingsRaised\":[" + s.raised.map { "{\"rule\":\"\($0.rule.id)\",\"position\":\($0.position)}" }.joined(separator: ",") + "]"
            x += ",\"findingsCleared\":[" + s.cleared.map { "{\"rule\":\"\($0.rule.id)\",\"position\":\($0.position)}" }.joined(separator: ",") + "]"
            x += ",\"state\":" + stateJSON(s.after, asOf: timersAsOf(s, validAt: validAt)) + "}"
            return x
        }.joined(separator: ",")
        return o + "]}"
    }
}
