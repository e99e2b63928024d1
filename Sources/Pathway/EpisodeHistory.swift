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
}

/// Interns names (patients, institutions, units, episodes) to small integers for one fold.
/// Numbers follow first appearance, so the same input always gives the same numbering; the
/// byte-keyed path lets the fold intern a name straight from the memory map without making a
/// `String` or hashing one.
public final class SymbolTable: @unchecked Sendable {
    public private(set) var names: [String] = [""]
    private var bytes: [[UInt8]] = [[]]
    private var buckets: [Int32]
    private var mask: Int

    public init() {
        buckets = [Int32](repeating: -1, count: 1024)
        mask = 1023
        insertBucket(hash: Self.hash(UnsafeRawBufferPointer(start: nil, count: 0)), id: 0)
    }

    public var count: Int { names.count }

    @inline(__always) static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
        return h ^ (h >> 29)
    }

    private func insertBucket(hash: UInt64, id: Int32) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while buckets[i] >= 0 { i = (i + 1) & mask }
        buckets[i] = id
    }

    private func grow() {
        let n = buckets.count * 2
        buckets = [Int32](repeating: -1, count: n)
        mask = n - 1
        for (id, b) in bytes.enumerated() {
            b.withUnsafeBytes { insertBucket(hash: Self.hash($0), id: Int32(id)) }
        }
    }

    public func intern(bytes b: UnsafeRawBufferPointer) -> Int32 {
        let h = Self.hash(b)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = buckets[i]
            if id < 0 { break }
            if bytes[Int(id)].withUnsafeBytes({ $0.elementsEqual(b) }) { return id }
            i = (i + 1) & mask
        }
        let id = Int32(names.count)
        names.append(String(decoding: b, as: UTF8.self))
        bytes.append(Array(b))
        buckets[i] = id
        if names.count * 2 > buckets.count { grow() }
        return id
    }

    public func intern(_ s: String) -> Int32 {
        var t = s
        return t.withUTF8 { intern(bytes: UnsafeRawBufferPointer($0)) }
    }

    public func name(_ i: Int32) -> String { names[Int(i)] }
    /// The name's UTF-8 bytes, for comparisons without making a `String`.
    public func nameBytes(_ i: Int32) -> [UInt8] { bytes[Int(i)] }
}
