import ArgumentParser
import Audit
import Foundation
import Ledger

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Walk the whole log: hash chain, gapless positions and versions, indexes, an optional anchor, and every projection against a fresh fold.",
        discussion: "Exits 0 when everything checks out, 1 naming the first bad position and what is wrong.")
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Also confirm the log still holds exactly this prefix.", valueName: "POSITION:HASH"))
    var anchor: String?
    @Flag(help: "Compare every projection, byte for byte, with a fresh fold of the log (the default; the log itself is always checked first).") var projections = false
    @Flag(name: .customLong("log-only"), help: "Check the log and indexes but not the projections.") var logOnly = false

    func run() throws {
        try PathwayCLI.run {
            let a: Verifier.Anchor?
            if let text = anchor {
                guard let parsed = Verifier.Anchor(text) else { throw CLIError.usage("--anchor must be POSITION:HASH with a 64-digit hex hash, as `pathway head` prints") }
                a = parsed
            } else { a = nil }
            if projections && logOnly { throw CLIError.usage("--projections and --log-only contradict each other") }
            let ledger = try store.open(allowingProjectionsAhead: true)
            let t0 = monotonicSeconds()
            let r = try Verifier(ledger: ledger).verify(anchor: a, projections: !logOnly)
            let dt = monotonicSeconds() - t0
            if r.ok {
                print("ok: \(r.events) events in \(r.streams) episodes; hash chain, positions, versions and indexes intact")
                if let a = r.anchorChecked { print("ok: the log holds exactly the prefix anchored at \(a)") }
                if !r.projectionsChecked.isEmpty { print("ok: projections \(r.projectionsChecked.joined(separator: ", ")) equal a fresh fold, byte for byte") }
                print("head \(r.head.anchor)")
                print("checked in \(format3(dt)) s (\(Int(Double(r.events) / max(dt, 1e-9))) events/s)")
            } else {
                for p in r.problems { printError("FAILED: \(p)") }
                throw CLIError.verification("verification failed at \(r.problems.first!)")
            }
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export one episode as an audit bundle: its events in clear text, the chain links to an anchor, and the anchor (NDJSON; see docs/formats.md).")
    @OptionGroup var store: StoreOptions
    @Argument(help: "The episode id.") var episode: String
    @Option(help: ArgumentHelp("Where to write the bundle.", valueName: "BUNDLE")) var out: String
    @Option(name: .customLong("anchor-at"), help: ArgumentHelp("Anchor the bundle at this position (default: the head).", valueName: "POSITION"))
    var anchorAt: UInt64?

    func run() throws {
        try PathwayCLI.run {
            let ledger = try store.open()
            // Written to a temporary file beside BUNDLE and renamed over it only once complete: a
            // failed export leaves no file (and an earlier bundle at that path untouched).
            let url = URL(fileURLWithPath: out)
            var template = Array("\(url.deletingLastPathComponent().path)/.\(url.lastPathComponent).XXXXXX".utf8CString)
            let fd = mkstemp(&template)
            guard fd >= 0 else { throw CLIError.store("cannot write \(out): \(String(cString: strerror(errno)))") }
            let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            var renamed = false
            defer { if !renamed { unlink(temporary) } }
            // mkstemp makes the file 0600; a bundle is meant to be handed on, so the usual mode.
            let mask = umask(0); umask(mask)
            fchmod(fd, 0o666 & ~mask)
            let fh = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            var buffer = [UInt8]()
            let r: EpisodeBundle.ExportReport
            do {
                r = try EpisodeBundle.export(episode: episode, from: ledger, anchorPosition: anchorAt) { line in
                    buffer.append(contentsOf: line.utf8); buffer.append(10)
                    if buffer.count > 1 << 20 { try fh.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
                }
            } catch LedgerError.unknownEpisode {
                throw CLIError.usage("no episode '\(episode)' in \(ledger.environment.path)")
            } catch let e as BundleError {
                guard case .badAnchorPosition = e else { throw e }
                throw CLIError.usage("--anchor-at: \(e)")
            }
            try fh.write(contentsOf: buffer)
            try fh.synchronize()
            try fh.close()
            guard rename(temporary, out) == 0 else { throw CLIError.store("cannot write \(out): \(String(cString: strerror(errno)))") }
            renamed = true
            print("wrote \(out): \(r.events) events of \(episode), \(r.links) chain links, anchor \(r.anchor)")
        }
    }
}

struct VerifyBundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-bundle",
        abstract: "Check an exported bundle offline, without the store.")
    @Argument(help: "The bundle file.") var bundle: String
    @Option(help: ArgumentHelp("The anchor you trust (e.g. one published earlier).", valueName: "POSITION:HASH")) var anchor: String?

    func run() throws {
        try PathwayCLI.run {
            guard let data = FileManager.default.contents(atPath: bundle) else { throw CLIError.usage("cannot read \(bundle)") }
            let text = String(decoding: data, as: UTF8.self)
            let trusted: Verifier.Anchor?
            if let a = anchor {
                guard let t = Verifier.Anchor(a) else { throw CLIError.usage("--anchor must be POSITION:HASH") }
                trusted = t
            } else { trusted = nil }
            do {
                let r = try EpisodeBundle.verify(lines: text.split(separator: "\n", omittingEmptySubsequences: false), anchor: trusted)
                print("ok: \(r.events) events of episode \(r.episode) chain to anchor \(r.anchor) through \(r.links) links")
                if trusted != nil {
                    print("ok: the anchor is the one you trust (--anchor): the bundle's events are in that log, unaltered")
                } else {
                    // Without a trusted anchor this proves only that the bundle agrees with itself:
                    // anyone who rewrites the events can recompute the chain and the anchor too.
                    print("only consistent with its own anchor \(r.anchor); pass --anchor with an anchor you trust to prove it is unaltered")
                }
            } catch let e as BundleError {
                throw CLIError.verification("bundle check failed: \(e)")
            }
        }
    }
}
