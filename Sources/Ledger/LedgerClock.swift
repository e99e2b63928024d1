import Pathway
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ledger's only clock: the append instant and "today" for the future-date check.
///
/// Projections never read it — they are folds of the log. It can be fixed (`--now`, `PATHWAY_NOW`)
/// so tests and reproducible runs give the same bytes.
public struct LedgerClock: Sendable {
    private let fixed: Instant?
    public init(fixed: Instant? = nil) { self.fixed = fixed }
    public static let system = LedgerClock()

    /// Reads `PATHWAY_NOW` if set; nil if it is set but not an instant.
    public static func fromEnvironment() -> LedgerClock? {
        guard let raw = getenv("PATHWAY_NOW") else { return .system }
        let s = String(cString: raw)
        if s.isEmpty { return .system }
        guard let i = Instant(rfc3339: s) else { return nil }
        return LedgerClock(fixed: i)
    }

    public var isFixed: Bool { fixed != nil }

    public func now() -> Instant {
        if let f = fixed { return f }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Instant(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec / 1000))
    }

    /// Today in Oslo.
    public func today() -> CivilDate { now().osloDate }
}
