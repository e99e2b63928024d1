import EventLog
import Foundation
import LMDB
import Ledger
import Pathway

/// Episode export bundles: one episode's events in clear text with the chain links that tie them
/// to an anchor, checkable offline without the store (docs/formats.md has the byte-level recipe).
///
/// A bundle is NDJSON: a header line, then one line per log position from the episode's first
/// event up to the anchor — the episode's own events in full, every other position only as the
/// SHA-256 digest of its canonical bytes, so nobody else's registrations are disclosed.
public enum EpisodeBundle {
    public static let format = 1
    /// The canonical field names, in hashing order: the log's header, then the event body.
    public static let canonicalFields = ["position", "version", "appendedAt", "id", "stream"] + EventBody.Field.allCases.map(\.name)

    public struct ExportReport: Sendable { public var events: Int; public var links: Int; public var anchor: String }

    /// Writes the bundle for `episode`, anchored at `anchorPosition` (default: the log's head).
    public static func export(episode: String, from ledger: Ledger, anchorPosition: UInt64? = nil,
                              write: (String) throws -> Void) throws -> ExportReport {
        try ledger.environment.read { txn in
            let log = ledger.log
            let positions = try log.positions(of: episode, in: txn)
            guard let first = positions.first, let last = positions.last else { throw LedgerError.unknownEpisode(episode) }
            let head = try log.head(in: txn)
            let anchorAt = anchorPosition ?? head.position
            guard anchorAt >= last, anchorAt <= head.position else {
                throw BundleError.badAnchorPosition(anchorAt, lastEvent: last, head: head.position)
            }
            let prev: [UInt8] = first == 1 ? EventLog.Head.genesis.hash
                : try log.withEvent(at: first - 1, in: txn) { Array($0.hash) } ?? EventLog.Head.genesis.hash
            let anchorHash = try log.withEvent(at: anchorAt, in: txn) { Array($0.hash) }!
            let anchor = "\(anchorAt):\(Hex.encode(anchorHash))"
            var header = "{"
            JSONText.key("bundle", into: &header); JSONText.string("pathwayledger-episode", into: &header)
            header += ","; JSONText.key("format", into: &header); header += String(format)
            header += ","; JSONText.key("episode", into: &header); JSONText.string(episode, into: &header)
            header += ","; JSONText.key("anchor", into: &header); JSONText.string(anchor, into: &header)
            header += ","; JSONText.key("first", into: &header); header += String(first)
            header += ","; JSONText.key("previousHash", into: &header); JSONText.string(Hex.encode(prev), into: &header)
            header += "}"
            try write(header)
            var own = Set(positions)
            var events = 0, links = 0
            var failure: Error? = nil
            try log.scan(from: first, in: txn) { e in
                if e.position > anchorAt { return false }
                do {
                    if own.remove(e.position) != nil {
                        try write(eventLine(e)); events += 1
                    } else {
                        try write("{\"type\":\"link\",\"position\":\(e.position),\"digest\":\"\(Hex.encode(EventLog.contentDigest(e.canonical)))\"}")
                        links += 1
                    }
                } catch { failure = error; return false }
                return true
            }
            if let f = failure { throw f }
            return ExportReport(events: events, links: links, anchor: anchor)
        }
    }

    /// The canonical text fields of a stored event, by name, in hashing order.
    public static func canonicalValues(_ e: StoredEvent) throws -> [String] {
        guard let body = EventBody.split(e.body, count: EventBody.fieldCount) else {
            throw LogError.corrupt(position: e.position, reason: "the body's fields do not add up")
        }
        return [String(e.position), String(e.version), e.appendedAtString, e.idString, e.streamString]
            + body.map { String(decoding: $0, as: UTF8.self) }
    }

    static func eventLine(_ e: StoredEvent) throws -> String {
        var s = "{\"type\":\"event\""
        for (name, value) in zip(canonicalFields, try canonicalValues(e)) {
            s += ","; JSONText.key(name, into: &s); JSONText.string(value, into: &s)
        }
        s += ",\"hash\":\"\(e.hashHex)\"}"
        return s
    }

    public struct CheckReport: Sendable {
        public var episode: String
        public var events: Int
        public var links: Int
        public var anchor: String
    }

    /// Checks a bundle offline: recomputes every hash from the clear-text fields and the links, and
    /// compares the end of the chain with the bundle's anchor — and with `anchor` if given (the one
    /// the auditor trusts, e.g. published earlier).
    public static func verify(lines: [Substring], anchor trusted: Verifier.Anchor? = nil) throws -> CheckReport {
        guard let headerLine = lines.first else { throw BundleError.invalid(line: 1, "the bundle is empty") }
        let header = try object(headerLine, line: 1)
        guard header["bundle"] as? String == "pathwayledger-episode" else { throw BundleError.invalid(line: 1, "not a PathwayLedger episode bundle") }
        guard (header["format"] as? Int) == format else { throw BundleError.invalid(line: 1, "unknown bundle format \(header["format"] ?? "")") }
        guard let episode = header["episode"] as? String, let anchorText = header["anchor"] as? String,
              let anchor = Verifier.Anchor(anchorText), let first = (header["first"] as? Int).flatMap({ UInt64(exactly: $0) }), first >= 1,
              let prevHex = header["previousHash"] as? String, var previous = Hex.decode(prevHex), previous.count == 32 else {
            throw BundleError.invalid(line: 1, "the header lacks episode, anchor, first or previousHash")
        }
        var expected = first
        var events = 0, links = 0
        for (i, raw) in lines.dropFirst().enumerated() where !raw.isEmpty {
            let n = i + 2
            let o = try object(raw, line: n)
            let digest: [UInt8]
            let position: UInt64
            switch o["type"] as? String {
            case "event":
                var canonical: [UInt8] = []
                for name in canonicalFields {
                    guard let v = o[name] as? String else { throw BundleError.invalid(line: n, "field '\(name)' is missing or not a string") }
                    Canonical.appendField(v, to: &canonical)
                }
                guard let p = UInt64(o["position"] as! String) else { throw BundleError.invalid(line: n, "position is not a number") }
                guard o["stream"] as? String == episode else { throw BundleError.tampered(position: p, "this event belongs to another episode") }
                position = p
                // Order first: a missing position must be reported as missing, not as the next event altered.
                guard position == expected else { throw BundleError.tampered(position: expected, "position \(expected) is missing or out of order (found \(position))") }
                digest = canonical.withUnsafeBytes { EventLog.contentDigest($0) }
                let hash = digest.withUnsafeBytes { d in previous.withUnsafeBytes { EventLog.link(previous: $0, digest: d) } }
                guard let claimed = (o["hash"] as? String).flatMap(Hex.decode), claimed == hash else {
                    throw BundleError.tampered(position: p, "the event's fields do not hash to its recorded hash: the event was altered")
                }
                // The episode's events carry their stream versions: 1, 2, 3, … with no gap, so an
                // event of the episode cannot be passed off as another episode's link.
                guard o["version"] as? String == String(events + 1) else {
                    throw BundleError.tampered(position: p, "the episode's version \(o["version"] as? String ?? "?") follows version \(events): an event of this episode is missing from the bundle")
                }
                events += 1
            case "link":
                guard let p = (o["position"] as? Int).flatMap({ UInt64(exactly: $0) }), let d = (o["digest"] as? String).flatMap(Hex.decode), d.count == 32 else {
                    throw BundleError.invalid(line: n, "a link needs a position and a 32-byte hex digest")
                }
                position = p; digest = d; links += 1
            default:
                throw BundleError.invalid(line: n, "type must be \"event\" or \"link\"")
            }
            guard position == expected else { throw BundleError.tampered(position: expected, "position \(expected) is missing or out of order (found \(position))") }
            previous = digest.withUnsafeBytes { d in previous.withUnsafeBytes { EventLog.link(previous: $0, digest: d) } }
            expected += 1
        }
        guard expected - 1 == anchor.position, previous == anchor.hash else {
            throw BundleError.tampered(position: anchor.position, "the chain does not end at the bundle's anchor \(anchorText)")
        }
        if let t = trusted, t != anchor {
            throw BundleError.anchorMismatch(bundle: anchor.description, trusted: t.description)
        }
        return CheckReport(episode: episode, events: events, links: links, anchor: anchorText)
    }

    static func object(_ line: Substring, line n: Int) throws -> [String: Any] {
        guard let data = line.data(using: .utf8), let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BundleError.invalid(line: n, "not a JSON object")
        }
        return o
    }
}

public enum BundleError: Error, CustomStringConvertible {
    case invalid(line: Int, String)
    case tampered(position: UInt64, String)
    case anchorMismatch(bundle: String, trusted: String)
    case badAnchorPosition(UInt64, lastEvent: UInt64, head: UInt64)

    public var description: String {
        switch self {
        case .invalid(let l, let m): "line \(l): \(m)"
        case .tampered(let p, let m): "position \(p): \(m)"
        case .anchorMismatch(let b, let t): "the bundle is consistent with its own anchor \(b), but not with the trusted anchor \(t): the log was rewritten, or the bundle comes from another log"
        case .badAnchorPosition(let a, let l, let h): "the anchor position \(a) must be at or after the episode's last event (\(l)) and at most the head (\(h))"
        }
    }
}
