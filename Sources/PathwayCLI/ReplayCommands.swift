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
            let asOf = validAt ?? ledger.clock.today()
            let out = Output()
            defer { out.flush() }
            if json {
                out.line(ReplayText.json(replay, asOf: asOf))
            } else {
                for l in ReplayText.text(replay, asOf: asOf, knownAt: knownAt, validAt: validAt, atPosition: atPosition) { out.line(l) }
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
            let today = ledger.clock.today()
            if json {
                var o = "{"
                JSONText.key("episode", into: &o); JSONText.string(episode, into: &o)
                o += ",\"from\":\"\(a)\",\"to\":\"\(b)\",\"learned\":[" + learned.map { ReplayText.eventJSON($0) }.joined(separator: ",") + "]"
                o += ",\"before\":" + ReplayText.stateJSON(before, asOf: today)
                o += ",\"after\":" + ReplayText.stateJSON(after, asOf: today) + "}"
                print(o)
                return
            }
            print("Episode \(episode): what the ledger learned between \(a) and \(b)")
            if learned.isEmpty { print("  nothing") }
            for e in learned { for l in ReplayText.eventLines(e, target: nil) { print(l) } }
            print("How the state changed")
            let d = EpisodeText.diff(EpisodeText.lines(before.state, symbols: before.symbols), EpisodeText.lines(after.state, symbols: after.symbols))
            if d.isEmpty { print("  no change") } else { for l in d { print("  " + l) } }
            print("Timers as known at \(a)")
            for l in EpisodeText.timerLines(before.timers.compactMap { $0.evaluated(asOf: today) }) { print(l) }
            print("Timers as known at \(b)")
            for l in EpisodeText.timerLines(after.timers.compactMap { $0.evaluated(asOf: today) }) { print(l) }
        }
    }
}

enum ReplayText {
    static func codeText(_ r: Registration) -> String {
        let f = r.code.moduleFields
        return "\(r.code.procedureCode) (pathway \(f.pathway), event \(f.event)\(f.outcome.map { ", outcome \($0)" } ?? "")) — \(r.code.norwegian)"
    }

    static func eventLines(_ e: LoggedEvent, target: LoggedEvent?) -> [String] {
        var rows: [(String, String)] = []
        let recorded = e.event.recordedAt.map { "\($0)" } ?? "\(e.appendedAt) (not given: the append instant)"
        rows.append(("recorded at", recorded))
        rows.append(("appended at", e.appendedAt.description))
        rows.append(("by", e.event.author))
        switch e.event {
        case .registration(let r):
            rows.append(("registered", codeText(r)))
            rows.append(("dated", r.date.description))
            rows.append(("where", "\(r.institution) / \(r.unit), \(r.setting.name)"))
            if let n = r.note { rows.append(("note", n)) }
        case .correction(let c):
            rows.append(("corrects", "\(c.target)\(target.map { " (position \($0.position))" } ?? "")"))
            rows.append(("reason", c.reason))
            rows.append(("now reads", codeText(c.replacement) + ", dated \(c.replacement.date)"))
            if case .registration(let old)? = target?.event { rows.append(("was", codeText(old) + ", dated \(old.date)")) }
            if case .correction(let old)? = target?.event { rows.append(("was", codeText(old.replacement) + ", dated \(old.replacement.date)")) }
        case .voiding(let v):
            rows.append(("voids", "\(v.target)\(target.map { " (position \($0.position))" } ?? "")"))
            rows.append(("reason", v.reason))
            if case .registration(let old)? = target?.event { rows.append(("which was", codeText(old) + ", dated \(old.date)")) }
            if case .correction(let old)? = target?.event { rows.append(("which was", codeText(old.replacement) + ", dated \(old.replacement.date)")) }
        }
        rows.append(("hash", e.hash))
        return ["Position \(e.position) · version \(e.version) · \(e.event.kind.rawValue) \(e.event.id)"] + EpisodeText.table(rows, indent: "    ")
    }

    static func text(_ r: Replay, asOf: CivilDate, knownAt: Instant?, validAt: CivilDate?, atPosition: UInt64?) -> [String] {
        var out = ["Replay of episode \(r.episode)" + (knownAt.map { ", as known at \($0)" } ?? "") + (validAt.map { ", as valid at \($0)" } ?? "")
                   + (atPosition.map { ", up to position \($0)" } ?? "")]
        if r.steps.isEmpty { out.append("  (no events in this view)") }
        for s in r.steps {
            out.append("")
            out.append(contentsOf: eventLines(s.event, target: s.target))
            for f in s.raised { out.append("    finding raised  [\(f.rule.id)] \(f.message)") }
            for f in s.cleared { out.append("    finding cleared [\(f.rule.id)] \(f.message)") }
            let d = EpisodeText.diff(EpisodeText.lines(s.before.state, symbols: s.before.symbols), EpisodeText.lines(s.after.state, symbols: s.after.symbols))
            out.append("    state after     phase \(s.after.state.phase.name)" + (d.isEmpty ? " (no change)" : ""))
            for l in d { out.append("      " + l) }
            // What the ledger believed then: timers read as of the day the event was recorded
            // (or the --valid-at date).
            let then = validAt ?? s.event.effectiveRecordedAt.osloDate
            let timers = s.after.timers.compactMap { $0.evaluated(asOf: then) }
            if !timers.isEmpty {
                out.append("    timers after (as of \(then))")
                out.append(contentsOf: EpisodeText.timerLines(timers, indent: "      "))
            }
        }
        return out
    }

    static func eventJSON(_ e: LoggedEvent) -> String {
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
        return o + ",\"hash\":\"\(e.hash)\"}"
    }

    static func stateJSON(_ v: EpisodeView, asOf: CivilDate) -> String {
        EpisodeText.json(v.state, episode: v.episode, symbols: v.symbols, version: v.version, lastPosition: v.lastPosition,
                         timers: v.timers.compactMap { $0.evaluated(asOf: asOf) }, links: nil,
                         institution: v.symbols.name(v.state.milestones.institution), unit: v.symbols.name(v.state.milestones.unit))
    }

    static func json(_ r: Replay, asOf: CivilDate) -> String {
        var o = "{"; JSONText.key("episode", into: &o); JSONText.string(r.episode, into: &o)
        o += ",\"steps\":["
        o += r.steps.map { s -> String in
            var x = "{\"event\":" + eventJSON(s.event)
            x += ",\"findingsRaised\":[" + s.raised.map { "{\"rule\":\"\($0.rule.id)\",\"position\":\($0.position)}" }.joined(separator: ",") + "]"
            x += ",\"findingsCleared\":[" + s.cleared.map { "{\"rule\":\"\($0.rule.id)\",\"position\":\($0.position)}" }.joined(separator: ",") + "]"
            x += ",\"state\":" + stateJSON(s.after, asOf: s.event.effectiveRecordedAt.osloDate) + "}"
            return x
        }.joined(separator: ",")
        return o + "]}"
    }
}
