import LMDB
import Pathway

/// The corrected history of every episode: the base the other projections are derived from, and
/// what the engine reads to update an episode incrementally.
///
/// Record: episode → stream version (8 bytes) ‖ last position (8 bytes) ‖ encoded history.
struct HistoryProjection: EpisodeProjection {
    let name = "history"
    let databases = ["episodes"]
    /// 2: ``HistoryCodec`` format 2 (each name once per episode).
    let schemaVersion: UInt32 = 2

    func records(for s: EpisodeSnapshot, into sink: inout RecordSink) {
        sink.put(key: { $0.append(contentsOf: s.episode.utf8) }, value: { value in
            BigEndian.withBytes(s.version) { value.append(contentsOf: $0) }
            BigEndian.withBytes(s.lastPosition) { value.append(contentsOf: $0) }
            HistoryCodec.encode(s.history, symbols: s.symbols, into: &value)
        })
    }

    static func load<T: Transaction & ~Copyable>(episode: String, from db: Database, symbols: SymbolTable,
                                                 in txn: borrowing T) throws -> EpisodeSnapshot? {
        guard let v = try txn.get(db, Array(episode.utf8)) else { return nil }
        guard v.count >= 16, let h = HistoryCodec.decode(UnsafeRawBufferPointer(rebasing: v[16...]), symbols: symbols) else {
            throw LedgerError.damagedProjection("history", episode: episode)
        }
        return EpisodeSnapshot(episode: episode, history: h, symbols: symbols,
                               version: BigEndian.uint64(v), lastPosition: BigEndian.uint64(v, at: 8))
    }
}
