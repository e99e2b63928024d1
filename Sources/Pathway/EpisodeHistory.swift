#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One registration as the pathway rules, timers and indicators see it: two bytes of code, a date,
/// a setting and interned names. Small and free of `String`s so a fold over millions of events
/// allocates nothing per event.
public struct Mark: Sendable, Equatable {
    public var code: PathwayCode
    public var setting: CareSetting
    public var date: CivilDate
    /// Only on an A: the emergency assessment date, if the pathway started after one.
    public var emergencyDate: CivilDate?
    /// The log position of the original registration: its place in the episode's history.
    public var place: UInt64
    /// The log position of the event that put this version in force (the original or a correction).
    public var position: UInt64
    /// Interned names; see ``SymbolTable``.
    public var patient: Int32
    public var institution: Int32
    public var unit: Int32

    public init(code: PathwayCode, setting: CareSetting, date: CivilDate, emergencyDate: CivilDate? = nil,
                place: UInt64, position: UInt64, patient: Int32 = 0, institution: Int32 = 0, unit: Int32 = 0) {
        self.code = code; self.setting = setting; self.date = date; self.emergencyDate = emergencyDate
        self.place = place; self.position = position; self.patient = patient; self.institution = institution; self.unit = unit
    }
}

/// The corrected history of one episode.
///
/// Every original registration opens a *slot* at its log position. A correction adds a new version
/// to its target's slot (correcting a correction works the same way); voiding the original removes
/// the slot, voiding a correction takes that version back out, so the previous one is in force
/// again. What remains, in slot order, is the history every projection folds — so they all see the
/// same corrected past.
public struct EpisodeHistory: Sendable, Equatable {
    public struct Slot: Sendable, Equatable {
        init(place: UInt64, original: Mark) { self.place = place; self.original = original; self.corrections = [] }

        public var place: UInt64
        /// The original registration (nil once the slot is voided).
        var original: Mark?
        /// Corrections in log order; the last one is in force. Empty for most slots, and an empty
        /// array costs no allocation — a fold registers millions of slots.
        var corrections: [Mark]

        public init(place: UInt64, versions: [Mark]) {
            self.place = place
            self.original = versions.first
            self.corrections = Array(versions.dropFirst())
        }
        /// Versions in log order; the last one is in force. Empty when voided.
        public var versions: [Mark] { original.map { [$0] + corrections } ?? [] }
        public var current: Mark? { corrections.last ?? original }
        public var isVoided: Bool { original == nil }
        public var versionCount: Int { original == nil ? 0 : 1 + corrections.count }
        public func version(_ i: Int) -> Mark { i == 0 ? original! : corrections[i - 1] }
    }
    public private(set) var slots: [Slot] = []

    public init() {}
    /// An empty history with room for `capacity` slots (the events a fold knows the episode has),
    /// so registering them does not grow the array step by step.
    public init(capacity: Int) { slots.reserveCapacity(capacity) }

    /// Why a voiding or correction cannot be applied. The ingest turns these into structural errors.
    public enum TargetProblem: Error, Equatable, Sendable {
        case unknownTarget, alreadyVoided
    }

    /// Finds the slot and version index holding the event at `position`.
    public func locate(_ position: UInt64) -> (slot: Int, version: Int)? {
        // Slots are in place order and a version's position is never before its slot's place.
        var s = slots.count - 1
        while s >= 0 {
            let slot = slots[s]
            if slot.place <= position, slot.original != nil {
                if let c = slot.corrections.lastIndex(where: { $0.position == position }) { return (s, c + 1) }
                if slot.original!.position == position { return (s, 0) }
            }
            s -= 1
        }
        return nil
    }

    /// Checks that `targetPosition` names a live registration or correction of this episode.
    public func check(targetPosition: UInt64) -> TargetProblem? {
        if locate(targetPosition) != nil { return nil }
        if slots.contains(where: { $0.place == targetPosition && $0.isVoided }) { return .alreadyVoided }
        return .unknownTarget
    }

    /// Puts back a slot read from storage (slots must come in place order).
    public mutating func restore(slot: Slot) { slots.append(slot) }

    /// Appends an original registration (log order is place order).
    public mutating func register(_ mark: Mark) {
        var m = mark
        m.place = mark.position
        slots.append(Slot(place: mark.position, original: m))
    }

    /// Applies a correction: `mark` replaces the version at `targetPosition`, keeping its place.
    @discardableResult
    public mutating func correct(targetPosition: UInt64, with mark: Mark) -> Bool {
        guard let (s, _) = locate(targetPosition) else { return false }
        var m = mark
        m.place = slots[s].place
        slots[s].corrections.append(m)
        return true
    }

    /// Applies a voiding of the event at `targetPosition`.
    @discardableResult
    public mutating func void(targetPosition: UInt64) -> Bool {
        guard let (s, v) = locate(targetPosition) else { return false }
        if v == 0 {
            slots[s].original = nil
            slots[s].corrections.removeAll()
        } else {
            slots[s].corrections.remove(at: v - 1)
        }
        return true
    }

    /// The registrations in force, in place order.
    public var marks: [Mark] {
        var out: [Mark] = []
        out.reserveCapacity(slots.count)
        for s in slots { if let m = s.current { out.append(m) } }
        return out
    }

    /// Whether the episode has registrations and every one of them is voided (phase `voided`).
    public var isAllVoided: Bool { !slots.isEmpty && slots.allSatisfy { $0.current == nil } }

    /// The history as valid at a date, with everything known now: the slots whose registration in
    /// force is dated on or before `date` (each keeping its versions and place), and the voided
    /// slots (known now to be void, so void at any date too).
    public func validAt(_ date: CivilDate) -> EpisodeHistory {
        var h = EpisodeHistory()
        h.slots = slots.filter { s in s.current.map { $0.date <= date } ?? true }
        return h
    }
}

/// Interns names (patients, institutions, units, episodes) to small integers for one fold.
/// Numbers follow first appearance, so the same input always gives the same numbering; the
/// byte-keyed path lets the fold intern a name straight from the memory map without making a
/// `String` or hashing one.
///
/// The table is the fold's hottest structure (four look-ups per event), so it keeps its bytes in
/// one flat arena behind an unsafe pointer: no per-name arrays, no retain/release and no dynamic
/// exclusivity checks per look-up, `memcmp` for the comparison. Not thread-safe: one fold, one table.
///
/// In a real log, where episodes are interleaved, the look-ups land at random in tables of a
/// million names, so each memory access is a cache miss; the layout keeps them to three per
/// name found: the bucket (which holds 32 bits of the hash beside the id, so a probe passing
/// other names touches nothing else), the name's packed place (arena offset and length in one
/// word), and its bytes.
public final class SymbolTable: @unchecked Sendable {
    struct State {
        var arena: UnsafeMutablePointer<UInt8>
        var arenaCount = 0, arenaCapacity: Int
        /// id → arena offset << 24 | length.
        var places: UnsafeMutablePointer<UInt64>
        var count = 0, idCapacity: Int
        /// Open addressing on the hash's top 32 bits: 0 empty, else those bits << 32 | (id + 1).
        var buckets: UnsafeMutablePointer<UInt64>
        var mask: Int
    }
    private let s: UnsafeMutablePointer<State>
    /// Names as `String`s, made once per distinct name.
    public private(set) var names: [String] = []

    static let lengthBits: UInt64 = 24
    static let maxLength = (1 << 24) - 1

    public init() {
        s = .allocate(capacity: 1)
        let buckets = LargeMemory.allocate(UInt64.self, count: 1024, initializedTo: 0)
        s.initialize(to: State(arena: LargeMemory.allocate(UInt8.self, count: 4096), arenaCapacity: 4096,
                               places: LargeMemory.allocate(UInt64.self, count: 256), idCapacity: 256, buckets: buckets, mask: 1023))
        _ = intern(bytes: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    deinit {
        LargeMemory.deallocate(s.pointee.arena); LargeMemory.deallocate(s.pointee.places); LargeMemory.deallocate(s.pointee.buckets)
        s.deinitialize(count: 1); s.deallocate()
    }

    public var count: Int { s.pointee.count }

    /// A multiply-xorshift hash over 8-byte words: names are 5–20 bytes, so this is two or three
    /// rounds instead of one multiply per byte. Only the bucket order depends on it; the numbering
    /// follows first appearance, so the hash never shows in any output.
    @inline(__always) public static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: b.count)
        // An empty name hashes the same whether or not its buffer has an address (a `String`'s
        // empty UTF-8 view has one, a default buffer has none): otherwise "" is interned twice and
        // every later name is numbered one off in a table copied name by name.
        let base = b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        let n = b.baseAddress == nil ? 0 : b.count
        var i = 0
        while i + 8 <= n {
            h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var w: UInt64 = 0, shift: UInt64 = 0
            while i < n { w |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift; shift += 8; i += 1 }
            h = (h ^ w) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 32
        }
        h = (h ^ (h >> 29)) &* 0xc4ce_b9fe_1a85_ec53
        return h ^ (h >> 32)
    }

    @inline(__always) func start(_ i: Int) -> Int { Int(truncatingIfNeeded: s.pointee.places[i] >> Self.lengthBits) }
    @inline(__always) func length(_ i: Int) -> Int { Int(truncatingIfNeeded: s.pointee.places[i] & UInt64(Self.maxLength)) }

    public func intern(bytes b: UnsafeRawBufferPointer) -> Int32 {
        let top = Self.hash(b) >> 32
        let mask = s.pointee.mask, buckets = s.pointee.buckets
        var i = Int(truncatingIfNeeded: top) & mask
        while true {
            let v = buckets[i]
            if v == 0 { break }
            if v >> 32 == top {
                let k = Int(truncatingIfNeeded: v & 0xffff_ffff) - 1
                let place = s.pointee.places[k]
                if Int(truncatingIfNeeded: place & UInt64(Self.maxLength)) == b.count,
                   b.count == 0 || memcmp(s.pointee.arena + Int(truncatingIfNeeded: place >> Self.lengthBits), b.baseAddress!, b.count) == 0 {
                    return Int32(k)
                }
            }
            i = (i + 1) & mask
        }
        return insert(b, top: top, bucket: i)
    }

    private func insert(_ b: UnsafeRawBufferPointer, top: UInt64, bucket: Int) -> Int32 {
        precondition(b.count <= Self.maxLength, "a name of more than 16 MiB")
        var st = s.pointee
        if st.arenaCount + b.count > st.arenaCapacity {
            var cap = st.arenaCapacity * 2
            while cap < st.arenaCount + b.count { cap *= 2 }
            let next = LargeMemory.allocate(UInt8.self, count: cap)
            next.update(from: st.arena, count: st.arenaCount)
            LargeMemory.deallocate(st.arena); st.arena = next; st.arenaCapacity = cap
        }
        if st.count == st.idCapacity {
            let cap = st.idCapacity * 2
            let n = LargeMemory.allocate(UInt64.self, count: cap)
            n.moveInitialize(from: st.places, count: st.count); LargeMemory.deallocate(st.places)
            st.places = n
            st.idCapacity = cap
        }
        let id = st.count
        if b.count > 0 { (st.arena + st.arenaCount).update(from: b.baseAddress!.assumingMemoryBound(to: UInt8.self), count: b.count) }
        st.places[id] = UInt64(st.arenaCount) << Self.lengthBits | UInt64(b.count)
        st.arenaCount += b.count
        st.count += 1
        st.buckets[bucket] = top << 32 | UInt64(id + 1)
        s.pointee = st
        names.append(String(decoding: b, as: UTF8.self))
        if st.count * 2 > st.mask + 1 { rehash() }
        return Int32(id)
    }

    /// Doubles the buckets; each entry is placed again from the hash bits its bucket keeps.
    private func rehash() {
        let old = s.pointee.buckets, oldSize = s.pointee.mask + 1
        let size = oldSize * 2
        let buckets = LargeMemory.allocate(UInt64.self, count: size, initializedTo: 0)
        let mask = size - 1
        for j in 0..<oldSize where old[j] != 0 {
            var i = Int(truncatingIfNeeded: old[j] >> 32) & mask
            while buckets[i] != 0 { i = (i + 1) & mask }
            buckets[i] = old[j]
        }
        LargeMemory.deallocate(old)
        s.pointee.buckets = buckets
        s.pointee.mask = mask
    }

    public func intern(_ str: String) -> Int32 {
        var t = str
        return t.withUTF8 { intern(bytes: UnsafeRawBufferPointer($0)) }
    }

    public func name(_ i: Int32) -> String { names[Int(i)] }
    /// Whether symbol `i` names exactly these bytes.
    @inline(__always) public func equals(_ i: Int32, _ b: UnsafeRawBufferPointer) -> Bool {
        guard length(Int(i)) == b.count else { return false }
        return b.count == 0 || memcmp(s.pointee.arena + start(Int(i)), b.baseAddress!, b.count) == 0
    }
    /// Whether name `a` sorts before name `b` byte-wise (LMDB's key order), without copying either.
    public func nameLess(_ a: Int32, _ b: Int32) -> Bool {
        let arena = s.pointee.arena
        let la = length(Int(a)), lb = length(Int(b))
        let n = Swift.min(la, lb)
        let c = n == 0 ? 0 : memcmp(arena + start(Int(a)), arena + start(Int(b)), n)
        return c != 0 ? c < 0 : la < lb
    }
    /// Calls `body` with the name's UTF-8 bytes in the table's own memory, without making a
    /// `String` or an array: how stored records copy names. The view is valid only inside `body`
    /// and only while nothing is interned (an intern may move the bytes).
    @inline(__always) public func withName<R>(_ i: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: s.pointee.arena + start(Int(i)), count: length(Int(i))))
    }
    /// The name's UTF-8 bytes, for comparisons without making a `String`.
    public func nameBytes(_ i: Int32) -> [UInt8] {
        Array(UnsafeBufferPointer(start: s.pointee.arena + start(Int(i)), count: length(Int(i))))
    }
}
