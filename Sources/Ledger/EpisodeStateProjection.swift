import LMDB
import Pathway

/// The episode-state projection: where each episode stands (phase, milestones, findings), plus an
/// index from patient to episodes for the links between a patient's pathways.
///
/// Record (database `state`, key = episode id): stream version (8) ‖ last position (8) ‖ phase (1) ‖
/// patient, institution, unit as length-prefixed text ‖ the ``EpisodeState`` encoding with its
/// symbol numbers zeroed — names are stored as text so the bytes never depend on the numbering a
/// particular fold happened to use. Database `patients`: patient ‖ 0x00 ‖ start date (4) ‖ episode → empty.
public struct EpisodeStateProjection: EpisodeProjection {
    public let name = "episodes"
    public let databases = ["state", "patients"]
    /// 2: phase `voided` for an episode whose registrations are all voided (1 showed `started`).
    public let schemaVersion: UInt32 = 2
    public init() {}

    public func records(for s: EpisodeSnapshot, into sink: inout RecordSink) {
        guard !s.marks.isEmpty || s.version > 0 else { return }
        var state = EpisodeState(marks: s.marks, milestones: s.derived.milestones, allVoided: s.history.isAllVoided)
        let m = state.milestones
        state.milestones.patient = 0; state.milestones.institution = 0; state.milestones.unit = 0
        sink.put(database: 0, key: { $0.append(contentsOf: s.episode.utf8) }, value: { value in
            BigEndian.withBytes(s.version) { value.append(contentsOf: $0) }
            BigEndian.withBytes(s.lastPosition) { value.append(contentsOf: $0) }
            value.append(state.phase.rawValue)
            putName(m.patient, s.symbols, &value); putName(m.institution, s.symbols, &value)
            putName(m.unit, s.symbols, &value)
            state.encode(appendingTo: &value)
        })
        guard s.symbols.withName(m.patient, { !$0.isEmpty }) else { return }
        sink.put(database: 1, key: { key in
            s.symbols.withName(m.patient) { key.append(contentsOf: $0) }
            key.append(0)
            let start = m.start?.date.daysSinceEpoch ?? Int32.max
            withUnsafeBytes(of: UInt32(bitPattern: start ^ Int32.min).bigEndian) { key.append(contentsOf: $0) }
            key.append(contentsOf: s.episode.utf8)
        }, value: { _ in })
    }
}

/// A stored episode state, decoded.
public struct StoredEpisode: Sendable {
    public var episode: String
    public var version: UInt64
    public var lastPosition: UInt64
    public var phase: EpisodeState.Phase
    public var patient: String
    public var institution: String
    public var unit: String
    public var state: EpisodeState

    /// Decodes a record; names are interned into `symbols` so the state's symbol fields resolve.
    public init?(episode: String, record v: UnsafeRawBufferPointer, symbols: SymbolTable) {
        guard v.count >= 17, let phase = EpisodeState.Phase(rawValue: v[16]) else { return nil }
        var r = Reader(v)
        r.i = 17
        guard let p = r.text(), let i = r.text(), let u = r.text(),
              var state = EpisodeState(decoding: UnsafeRawBufferPointer(rebasing: v[r.i...])) else { return nil }
        state.milestones.patient = symbols.intern(p)
        state.milestones.institution = symbols.intern(i)
        state.milestones.unit = symbols.intern(u)
        self.episode = episode; self.version = BigEndian.uint64(v); self.lastPosition = BigEndian.uint64(v, at: 8)
        self.phase = phase; self.patient = p; self.institution = i; self.unit = u; self.state = state
    }

    /// Reads the three names and phase without decoding the whole state (for list filters).
    public static func peek(_ v: UnsafeRawBufferPointer) -> (phase: UInt8, patient: UnsafeRawBufferPointer, institution: UnsafeRawBufferPointer, unit: UnsafeRawBufferPointer)? {
        guard v.count >= 17 else { return nil }
        var r = Reader(v)
        r.i = 17
        guard let pn = r.varint(), let p = r.bytes(Int(pn)), let inn = r.varint(), let i = r.bytes(Int(inn)),
              let un = r.varint(), let u = r.bytes(Int(un)) else { return nil }
        return (v[16], p, i, u)
    }
}
