import ArgumentParser
import EventLog
import Ledger
import Pathway
#if canImport(Glibc)
import Glibc
#endif

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create an empty store (or check that an existing one opens).")
    @OptionGroup var store: StoreOptions

    func run() throws {
        try PathwayCLI.run {
            let ledger = try store.open(create: true)
            let s = try ledger.stats()
            print("store ready at \(ledger.environment.path): \(s.events) events, head \(s.head.anchor)")
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Event count, episodes, head position and hash, file size, projection checkpoints.")
    @OptionGroup var store: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try PathwayCLI.run {
            let ledger = try store.open()
            let s = try ledger.stats()
            if json {
                var o = "{"
                JSONText.key("store", into: &o); JSONText.string(ledger.environment.path, into: &o)
                o += ",\"events\":\(s.events),\"episodes\":\(s.episodes),\"headPosition\":\(s.head.position)"
                o += ",\"headHash\":\"\(Hex.encode(s.head.hash))\",\"fileBytes\":\(s.fileBytes),\"viewsFileBytes\":\(s.viewsFileBytes),\"mapBytes\":\(s.mapBytes),\"checkpoints\":{"
                o += s.checkpoints.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
                o += "}}"
                print(o)
            } else {
                print("store       \(ledger.environment.path)")
                print("events      \(s.events)")
                print("episodes    \(s.episodes)")
                print("head        \(s.head.anchor)")
                print("log file    \(formatBytes(s.fileBytes)) (map \(formatBytes(s.mapBytes)))")
                print("views file  \(formatBytes(s.viewsFileBytes)) (views/, rebuilt from the log when lost)")
                for (name, cp) in s.checkpoints { print("projection  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)) at position \(cp)") }
            }
        }
    }
}

struct HeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "head", abstract: "Print the log's anchor POSITION:HASH — what an auditor writes down.")
    @OptionGroup var store: StoreOptions

    func run() throws {
        try PathwayCLI.run {
            let ledger = try store.open()
            print(try ledger.head().anchor)
        }
    }
}

struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild projections from position 1 (blue/green: readers keep the old ones until the swap).")
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Rebuild only this projection (history, episodes, deadlines, quality).", valueName: "NAME"))
    var projection: [String] = []

    func run() throws {
        try PathwayCLI.run {
            let ledger = try store.open(allowingProjectionsAhead: true)
            let known = ledger.engine.projections.map(\.name)
            // A misspelt name is the caller's mistake (exit 64), not the store's.
            if let bad = projection.first(where: { !known.contains($0) }) {
                throw CLIError.usage(LedgerError.unknownProjection(bad, known: known).description)
            }
            let r = try ledger.engine.rebuild(projection, clock: monotonicSeconds)
            let total = r.foldSeconds + r.writeSeconds
            print("rebuilt \(r.projections.joined(separator: ", ")) from \(r.events) events, \(r.episodes) episodes in \(String(format3(total))) s "
                  + "(fold \(format3(r.foldSeconds)) s, write \(format3(r.writeSeconds)) s): \(Int(Double(r.events) / max(total, 1e-9))) events/s")
        }
    }
}

struct CodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "codes", abstract: "List every pathway code with its Norwegian text and English description.")

    func run() throws {
        for c in PathwayCode.all {
            let sys = c.event.outcomeSystem.map { "\($0.rawValue)" } ?? "9322"
            print("\(c.procedureCode.padding(toLength: 6, withPad: " ", startingAt: 0)) \(sys)  \(c.norwegian)\n       \(String(repeating: " ", count: 5)) \(c.english)")
        }
    }
}

func formatBytes(_ n: Int) -> String {
    if n >= 1 << 30 { return format3(Double(n) / Double(1 << 30)) + " GiB" }
    if n >= 1 << 20 { return format3(Double(n) / Double(1 << 20)) + " MiB" }
    if n >= 1 << 10 { return format3(Double(n) / Double(1 << 10)) + " KiB" }
    return "\(n) B"
}

func format3(_ v: Double) -> String {
    let r = (v * 1000).rounded() / 1000
    var s = String(r)
    if let dot = s.firstIndex(of: "."), s.distance(from: dot, to: s.endIndex) > 4 { s = String(s[..<s.index(dot, offsetBy: 4)]) }
    return s
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
