/// Why the log refused an append or found a stored record wrong. Refused appends write nothing.
public enum LogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The id is already stored with different content: idempotency keys must not be reused.
    case idConflict(id: String, position: UInt64)
    /// The caller expected the stream at one version and it is at another.
    case versionConflict(stream: String, expected: UInt64, actual: UInt64)
    /// A key is longer than LMDB allows (511 bytes).
    case keyTooLong(field: String, length: Int)
    /// A record written by a newer (or unknown) format.
    case unknownFormat(position: UInt64, version: UInt8)
    case corrupt(position: UInt64, reason: String)

    public var description: String {
        switch self {
        case .idConflict(let id, let p):
            "id '\(id)' is already stored at position \(p) with different content; an id identifies one registration forever — use a new id, or a correction"
        case .versionConflict(let s, let e, let a):
            "episode '\(s)' is at version \(a), not the expected \(e); someone else appended first — reread the episode and retry"
        case .keyTooLong(let f, let n):
            "the \(f) is \(n) bytes long; at most 511 bytes are allowed"
        case .unknownFormat(let p, let v):
            "the event at position \(p) is stored in format version \(v), which this version of pathway does not know; upgrade pathway"
        case .corrupt(let p, let r):
            "the event at position \(p) is damaged: \(r)"
        }
    }
}
