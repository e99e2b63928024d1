import ArgumentParser
import Ledger
import Pathway
#if canImport(Glibc)
import Glibc
#endif

/// Options every command that touches a store shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory.", valueName: "DIR"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("Fix the ledger's clock to this RFC 3339 instant (else $PATHWAY_NOW, else the system clock).", valueName: "INSTANT"))
    var now: String?

    var path: String {
        if let s = store { return s }
        if let e = getenv("PATHWAY_STORE"), !String(cString: e).isEmpty { return String(cString: e) }
        return "./pathway-store"
    }

    func clock() throws -> LedgerClock {
        if let n = now {
            guard let i = Instant(rfc3339: n) else { throw CLIError.usage("--now '\(n)' is not an RFC 3339 instant such as 2026-01-05T10:00:00Z") }
            return LedgerClock(fixed: i)
        }
        guard let c = LedgerClock.fromEnvironment() else {
            throw CLIError.usage("PATHWAY_NOW is not an RFC 3339 instant such as 2026-01-05T10:00:00Z")
        }
        return c
    }

    /// Opens the store; a store that does not exist yet is an error unless `create`.
    /// `allowingProjectionsAhead`: see ``Ledger/init(path:clock:projections:options:allowingProjectionsAhead:)``.
    func open(create: Bool = false, allowingProjectionsAhead: Bool = false) throws -> Ledger {
        let c = try clock()
        if !create {
            var st = stat()
            if stat(path + "/data.mdb", &st) != 0 {
                throw CLIError.store("there is no store at \(path); create one with `pathway init --store \(path)` or point --store / $PATHWAY_STORE at one")
            }
        }
        let ledger: Ledger
        do { ledger = try Ledger(path: path, clock: c, allowingProjectionsAhead: allowingProjectionsAhead) } catch { throw CLIError.store("\(error)") }
        if let note = ledger.openingNote { printError("note: \(note)") }
        return ledger
    }
}

/// Errors the CLI reports as one line on stderr with a documented exit code — never a stack trace.
enum CLIError: Error, CustomStringConvertible {
    case usage(String)
    case store(String)
    case rejected(String)
    case verification(String)

    var description: String {
        switch self {
        case .usage(let m), .store(let m), .rejected(let m), .verification(let m): m
        }
    }
    var exitCode: Int32 {
        switch self {
        case .usage: 64
        case .store: 3
        case .rejected: 2
        case .verification: 1
        }
    }
}

/// Runs a command body, turning every error into a message and an exit code.
func run(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as CLIError {
        printError("pathway: \(e)")
        throw ExitCode(e.exitCode)
    } catch let e as ExitCode {
        throw e
    } catch {
        printError("pathway: \(error)")
        throw ExitCode(3)
    }
}

/// Writes all of `s` to a file descriptor (no `FILE*`: stdio's globals are not concurrency-safe),
/// retrying short writes and interruptions. Returns 0, or the `errno` of the write that failed;
/// the descriptor stays open.
@discardableResult
func writeAll(_ fd: Int32, _ s: String) -> Int32 {
    var failure: Int32 = 0
    var t = s
    t.withUTF8 { b in
        var off = 0
        while off < b.count {
            let n = write(fd, b.baseAddress! + off, b.count - off)
            if n < 0 { if errno == EINTR { continue }; failure = errno; return }
            if n == 0 { failure = EIO; return }
            off += n
        }
    }
    return failure
}

func printError(_ s: String) {
    var line = s
    if !line.hasSuffix("\n") { line += "\n" }
    writeAll(2, line)
}

/// Buffered stdout: commands print a lot of lines, and `print` flushes per line on some systems.
final class Output {
    private var buffer: [UInt8] = []
    init() { buffer.reserveCapacity(1 << 16) }
    func line(_ s: String) {
        buffer.append(contentsOf: s.utf8); buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }
    func flush() {
        buffer.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let n = write(1, b.baseAddress! + off, b.count - off)
                if n <= 0 { break }
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
    deinit { flush() }
}
