import EventLog
import Pathway
#if canImport(Glibc)
import Glibc
#endif

/// A name of at most 16 bytes held in two machine words, so that "is this the same name?" is two
/// integer comparisons on memory already loaded, instead of a look-up of the stored name's bytes
/// (a cache miss of its own in a table of a million names). Episode ids and patient pseudonyms
/// are short ("EP-448985", "P-2e1f2a"); a longer name is marked as not held (`count` =
/// ``ShortName/notHeld``) and compared through the symbol table.
struct ShortName: Equatable {
    static let notHeld = UInt32.max
    var w0: UInt64 = 0
    var w1: UInt64 = 0
    var count: UInt32 = ShortName.notHeld

    init() {}

    /// The bytes packed without padding ambiguity: 8…16 bytes as the first and the last eight
    /// (overlapping when shorter than 16), 4…7 as the first and the last four, fewer byte by byte.
    /// With the length, the two words determine the bytes.
    @inline(__always) init(_ b: UnsafeRawBufferPointer) {
        let n = b.count
        guard n <= 16, let base = b.baseAddress else {
            if n == 0 { count = 0 }
            return
        }
        if n >= 8 {
            w0 = base.loadUnaligned(as: UInt64.self)
            w1 = base.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            w0 = UInt64(base.loadUnaligned(as: UInt32.self)) | UInt64(base.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32
        } else {
            for i in 0..<n { w0 |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
        }
        count = UInt32(n)
    }

    var isHeld: Bool { count != ShortName.notHeld }
}

/// What a fold's scan remembers of one episode, in one 64-byte cache line: the episode's name
/// (to confirm that an event is the episode's, see ``EpisodePlacement``) and the names its last
/// event carried, the patient's also as bytes. Consecutive events of an episode almost always
/// repeat their patient, institution and unit, and with both on this line an event of an
/// interleaved log costs one cache miss for its episode instead of one for each name.
struct EpisodeCard {
    var name = ShortName()
    var patient = ShortName()
    var names = NameTriple()
}

/// The scan's cards, one per episode in fold order, in 64-byte-aligned huge-page memory (an
/// array's elements start 32 bytes into its buffer, so each card would straddle two lines).
/// Shared by copies of a ``ProjectionEngine/Fold``; the fold copies them before it writes to
/// shared ones (``ProjectionEngine/Fold/absorb(_:fields:folder:)``).
final class EpisodeCards: @unchecked Sendable {
    static let stride = 64
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = Swift.max(capacity, 16)
        base = LargeMemory.allocate(bytes: self.capacity * EpisodeCards.stride)
    }

    deinit { free(base) }

    @inline(__always) func card(_ i: Int) -> UnsafeMutablePointer<EpisodeCard> {
        (base + i &* EpisodeCards.stride).assumingMemoryBound(to: EpisodeCard.self)
    }

    func append(_ c: EpisodeCard) {
        if count == capacity { grow(to: capacity * 2) }
        (base + count * EpisodeCards.stride).initializeMemory(as: EpisodeCard.self, to: c)
        count += 1
    }

    func reserve(_ n: Int) { if n > capacity { grow(to: n) } }

    private func grow(to n: Int) {
        let next = LargeMemory.allocate(bytes: n * EpisodeCards.stride)
        next.copyMemory(from: base, byteCount: count * EpisodeCards.stride)
        free(base)
        base = next
        capacity = n
    }

    func copy() -> EpisodeCards {
        let c = EpisodeCards(capacity: capacity)
        c.base.copyMemory(from: base, byteCount: count * EpisodeCards.stride)
        c.count = count
        return c
    }
}

/// Which episode each log position belongs to, read from the `streams` index before a fold of
/// the whole log: position − 1 → the episode's fold index + 1 (0: not in the index).
///
/// Why: in a real log the events of thousands of pathways interleave, and finding each event's
/// episode by its name is a hash-table look-up per event in a table of a million names — three
/// cache misses (bucket, name's place, name's bytes) that made an interleaved fold twice as slow
/// as a grouped one. The index already lists every episode's positions, in key order: walking it
/// numbers the episodes in the order their records are stored (so no sort is needed before they
/// are written) and fills this table with sequential reads of the index and scattered writes,
/// which the processor does not wait for. The scan then reads its episode from here, in log
/// order, and confirms it against the name on the episode's card; a position the index leaves
/// out or gets wrong falls back to the look-up by name, so the fold never depends on the index
/// being right (``Audit/Verifier`` checks the index itself).
final class EpisodePlacement: @unchecked Sendable {
    let slots: UnsafeMutablePointer<UInt32>
    /// Positions 1…`count` are covered.
    let count: Int

    init(count: Int) {
        self.count = count
        slots = LargeMemory.allocate(UInt32.self, count: count, initializedTo: 0)
    }

    deinit { LargeMemory.deallocate(slots) }

    /// The fold index + 1 of the episode the index puts `position` in (0: none).
    @inline(__always) func episode(at position: UInt64) -> UInt32 {
        position &- 1 < UInt64(count) ? slots[Int(position &- 1)] : 0
    }
}
