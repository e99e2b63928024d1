// LogAppender: the child process of the event log's crash test (and a quick append-rate probe).
//
//     LogAppender STORE_DIR COUNT [BATCH]
//
// Opens the store, reads the head, then appends COUNT events continuing after it: the event that
// lands at position n has id "crash-<n>", stream "S-<n % 7>" and a body of a few length-prefixed
// fields. Each write transaction appends BATCH events (default 1) and is durable (synced) before
// the next starts. After every commit it writes the committed last position as one line to
// stdout, unbuffered, so a parent that kills it knows exactly what was acknowledged. Exits 0 after
// COUNT events; on any error prints it to stderr and exits 1.
import EventLog
import LMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func fail(_ message: String, code: Int32) -> Never {
    let line = "LogAppender: \(message)\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(code)
}

/// Writes one whole line to stdout with a single `write(2)`: no buffering to lose on SIGKILL.
func report(_ position: UInt64) {
    let line = Array("\(position)\n".utf8)
    var done = 0
    while done < line.count {
        let n = line.withUnsafeBytes { write(1, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            exit(3) // the parent went away
        }
        done += n
    }
}

/// The wall-clock instant as UTC ISO 8601 with microseconds, e.g. 2026-11-20T12:34:56.123456Z.
func now() -> String {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    var t = ts.tv_sec
    var tm = tm()
    gmtime_r(&t, &tm)
    func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(Int(tm.tm_year) + 1900, 4))-\(pad(Int(tm.tm_mon) + 1, 2))-\(pad(Int(tm.tm_mday), 2))T"
        + "\(pad(Int(tm.tm_hour), 2)):\(pad(Int(tm.tm_min), 2)):\(pad(Int(tm.tm_sec), 2)).\(pad(ts.tv_nsec / 1000, 6))Z"
}

/// A small body of length-prefixed fields that varies with the position.
func body(for n: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    Canonical.appendField("kind=crash-test", to: &out)
    Canonical.appendField("n=\(n)", to: &out)
    Canonical.appendField(String(repeating: "abcdefghij", count: Int(n % 5) + 1), to: &out)
    return out
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4,
      let count = UInt64(arguments[2]),
      let batch = arguments.count == 4 ? UInt64(arguments[3]) : 1, batch >= 1
else {
    fail("usage: LogAppender STORE_DIR COUNT [BATCH]", code: 2)
}

do {
    let environment = try Environment(path: arguments[1])
    let log = try EventLog(environment: environment)
    var last = try environment.read { txn in try log.head(in: txn) }.position
    var remaining = count
    while remaining > 0 {
        let k = min(batch, remaining)
        let events = (1...k).map { i -> EventLog.Pending in
            let n = last + i
            return EventLog.Pending(id: "crash-\(n)", stream: "S-\(n % 7)", body: body(for: n))
        }
        let at = now()
        let outcomes = try environment.write { txn in try log.append(events, appendedAt: at, in: &txn) }
        guard let position = outcomes.last?.position, position == last + k else {
            fail("expected the batch to end at position \(last + k), got \(outcomes)", code: 1)
        }
        report(position)
        last = position
        remaining -= k
    }
    exit(0)
} catch {
    fail("\(error)", code: 1)
}
