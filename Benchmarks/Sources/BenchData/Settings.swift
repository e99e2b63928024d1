import Ledger
import Pathway
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a benchmark run works on, read once from the environment.
///
/// - `PATHWAY_BENCH_EVENTS`: events in the prepared store (default 1,000,000; the big run uses 10,000,000).
/// - `PATHWAY_BENCH_SEED`: the generator's seed (default 2026).
/// - `PATHWAY_BENCH_DIR`: where the prepared data and scratch stores live (default `$TMPDIR`, else `/tmp`).
/// - `PATHWAY_BENCH_ITERATIONS`: measured iterations of the heavy benchmarks (import, rebuilds,
///   verify, parse; default 3).
/// - `PATHWAY_BENCH_ORDER`: `generated` (default: episode after episode) or `recorded` (all
///   episodes interleaved by the instant each line is recorded, as a national log receives them;
///   see `pathway generate --order`). The two are prepared in separate directories.
///
/// The data is deterministic: four years of registrations (2022-07-01 … 2026-06-30) from
/// ``SyntheticGenerator`` with the seed, cut at exactly `events` lines, and a ledger clock fixed at
/// 2026-07-01T08:00:00Z, which is also "today" for the deadline query.
public enum Settings {
    public static let events: Int = positive("PATHWAY_BENCH_EVENTS") ?? 1_000_000
    public static let seed: UInt64 = UInt64(positive("PATHWAY_BENCH_SEED") ?? 2026)
    public static let iterations: Int = positive("PATHWAY_BENCH_ITERATIONS") ?? 3
    /// Whether the data is in recorded order (interleaved) rather than generated order.
    public static let recordedOrder: Bool = {
        switch string("PATHWAY_BENCH_ORDER") {
        case nil, "", "generated": return false
        case "recorded": return true
        case let other?: fatalError("pathway-bench: PATHWAY_BENCH_ORDER must be generated or recorded, not '\(other)'")
        }
    }()
    public static let baseDirectory: String = {
        if let d = string("PATHWAY_BENCH_DIR"), !d.isEmpty { return d }
        if let d = string("TMPDIR"), !d.isEmpty { return d }
        return "/tmp"
    }()

    public static let from = CivilDate(year: 2022, month: 7, day: 1)!
    public static let to = CivilDate(year: 2026, month: 6, day: 30)!
    public static let now = Instant(rfc3339: "2026-07-01T08:00:00Z")!
    public static var clock: LedgerClock { LedgerClock(fixed: now) }
    public static var today: CivilDate { now.osloDate }

    /// The largest power of 1,000 not above `events` (1,000,000 for both the 1 M and the 10 M run):
    /// the fixed amount of work of benchmarks whose cost does not depend on the store's size
    /// (parsing), so that their throughput reads directly as lines/s.
    public static var unit: Int {
        var u = 1
        while u * 1000 <= events { u *= 1000 }
        return u
    }

    static func string(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }
    static func positive(_ name: String) -> Int? {
        guard let s = string(name)?.replacingUnderscores(), let v = Int(s), v > 0 else { return nil }
        return v
    }
}

extension String {
    /// "10_000_000" and "10,000,000" read as 10000000.
    func replacingUnderscores() -> String { String(filter { $0 != "_" && $0 != "," }) }
}

// MARK: - Timing

/// Monotonic seconds.
public func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

// MARK: - Scratch directories

public enum Scratch {
    /// A new empty directory under the base directory.
    public static func directory(_ prefix: String) throws -> String {
        try makeDirectories(Settings.baseDirectory)
        var template = Array("\(Settings.baseDirectory)/\(prefix)-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("cannot create a scratch directory under \(Settings.baseDirectory): \(String(cString: strerror(errno)))")
        }
        return String(cString: p)
    }

    /// Removes a directory tree (a store: plain files, one level deep, or the prepared-data folder).
    public static func remove(_ path: String) {
        guard let d = opendir(path) else { unlink(path); return }
        var entries: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name != "." && name != ".." { entries.append(name) }
        }
        closedir(d)
        for name in entries {
            let p = path + "/" + name
            var st = stat()
            if lstat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { remove(p) } else { unlink(p) }
        }
        rmdir(path)
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw BenchError("cannot create \(current): \(String(cString: strerror(errno)))")
            }
        }
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Reports progress of the one-time preparation: on standard error (which the benchmark tool
/// may swallow) and appended to `PATHWAY_BENCH_DIR/pathway-bench.log`.
func note(_ s: String) {
    let line = Array(("[pathway-bench \(Settings.events)] " + s + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    let fd = open(Settings.baseDirectory + "/pathway-bench.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
    if fd >= 0 {
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

/// A value computed on first use and kept (per process).
public final class Lazy<T> {
    private var value: T? = nil
    private let make: () throws -> T
    public init(_ make: @escaping () throws -> T) { self.make = make }
    public func get() throws -> T {
        if let v = value { return v }
        let v = try make()
        value = v
        return v
    }
}
