import Deadlines
import LMDB
import Pathway

/// The deadline-timer projection: every episode's timers against the pathway times, derived with
/// everything known (no as-of date), so a status is read at query time for any as-of date.
///
/// Database `timers` (key = episode): institution, unit as length-prefixed text ‖ the encoded
/// timers. Database `closing` indexes each episode once, by the last date any of its timers is
/// still open — a timer stops being open at its met date or the episode's end, whichever comes
/// first, and is open for good while neither is registered — (closes (4, order-preserving) ‖
/// episode). The episodes with a timer open on a date D are then a range scan from D + 1 rather
/// than a walk over every episode: for today, only the episodes with a timer still running.
public struct DeadlinesProjection: EpisodeProjection {
    public let name = "deadlines"
    public let databases = ["timers", "closing"]
    /// Encoding version 2, with the rule book (see ``rulesSchemaVersion(_:encoding:rules:)``).
    public let schemaVersion: UInt32
    public let rules: RuleBook
    public init(rules: RuleBook = RuleBook.bundled) {
        self.rules = rules
        schemaVersion = rulesSchemaVersion("deadlines", encoding: 2, rules: rules)
    }

    public func records(for s: EpisodeSnapshot, into sink: inout RecordSink) {
        let m = s.derived.milestones
        let timers = s.derived.timers(rules: rules)
        guard !timers.isEmpty else { return }
        sink.put(database: 0, key: { $0.append(contentsOf: s.episode.utf8) }, value: { value in
            putName(m.institution, s.symbols, &value)
            putName(m.unit, s.symbols, &value)
            Deadlines.encode(timers, appendingTo: &value)
        })
        var lastOpen: CivilDate? = nil   // nil: some timer never closes
        var neverCloses = false
        for t in timers {
            let closes: CivilDate
            if let met = t.met?.date, let end = t.episodeEnd { closes = Swift.min(met, end) }
            else if let met = t.met?.date { closes = met }
            else if let end = t.episodeEnd { closes = end }
            else { neverCloses = true; break }
            if lastOpen == nil || closes > lastOpen! { lastOpen = closes }
        }
        let closes = neverCloses ? UInt32.max : DeadlinesProjection.dateWord(lastOpen!)
        sink.put(database: 1, key: { key in
            withUnsafeBytes(of: closes.bigEndian) { key.append(contentsOf: $0) }
            key.append(contentsOf: s.episode.utf8)
        }, value: { _ in })
    }

    /// A date as 4 bytes that sort in date order.
    static func dateKey(_ d: CivilDate) -> [UInt8] {
        withUnsafeBytes(of: dateWord(d).bigEndian) { Array($0) }
    }
    /// The same as a number (stored big-endian).
    static func dateWord(_ d: CivilDate) -> UInt32 { UInt32(bitPattern: d.daysSinceEpoch) ^ 0x8000_0000 }

    /// Decodes a `timers` record.
    public static func decode(_ v: UnsafeRawBufferPointer) -> (institution: String, unit: String, timers: [Deadlines.Timer])? {
        var r = Reader(v)
        guard let i = r.text(), let u = r.text(), let t = Deadlines.decodeTimers(UnsafeRawBufferPointer(rebasing: v[r.i...])) else { return nil }
        return (i, u, t)
    }
}
