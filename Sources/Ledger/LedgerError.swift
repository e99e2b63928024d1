/// Errors from the store as a whole, each saying what to do about it.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownProjection(String, known: [String])
    case projectionsNeedRebuild([String])
    case projectionAheadOfLog(checkpoint: UInt64, head: UInt64)
    case damagedProjection(String, episode: String)
    case unknownEpisode(String)
    case invalidClock(String)
    case viewsUnavailable(String, reason: String)

    public var description: String {
        switch self {
        case .unknownProjection(let n, let known):
            "there is no projection named '\(n)'; the projections are: \(known.joined(separator: ", "))"
        case .projectionsNeedRebuild(let names):
            "the projections \(names.joined(separator: ", ")) must be rebuilt first: run `pathway rebuild`"
        case .projectionAheadOfLog(let c, let h):
            "the projections claim position \(c) but the log ends at \(h): the log was truncated or replaced; run `pathway verify` and `pathway rebuild`"
        case .damagedProjection(let n, let e):
            "the \(n) projection's record for episode '\(e)' cannot be read; run `pathway rebuild --projection \(n)`"
        case .unknownEpisode(let e):
            "no episode '\(e)' in this store"
        case .invalidClock(let v):
            "PATHWAY_NOW / --now is '\(v)', which is not an RFC 3339 instant such as 2026-01-05T10:00:00Z"
        case .viewsUnavailable(let dir, let reason):
            "the projections' directory \(dir) cannot be used: \(reason); check its permissions and free space"
        }
    }
}
