/// A map from `UInt64` keys to `UInt64` values: open addressing, linear probing, a multiplicative
/// mix of the key. For the ledger's integer-keyed tables on hot paths — stream digests to versions
/// in `verify`, counter-cell groups to ranks in a rebuild — where `Dictionary`'s SipHash would cost
/// more than the work around it. `UInt64.max` marks an empty slot and cannot be a key.
public struct IntegerMap: Sendable {
    /// A key and its value side by side: a look-up in a big map (verify's million streams, met in
    /// random order in an interleaved log) is then one cache miss, not one for the key and one
    /// for the value.
    struct Slot { var key: UInt64; var value: UInt64 }
    private var slots: [Slot]
    private var mask: Int
    public private(set) var count = 0

    public init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Slot](repeating: Slot(key: .max, value: 0), count: n)
        mask = n - 1
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always) private func find(_ key: UInt64) -> Int {
        var i = slot(key)
        while slots[i].key != key && slots[i].key != .max { i = (i + 1) & mask }
        return i
    }

    @inline(__always) public subscript(key: UInt64) -> UInt64? {
        let i = find(key)
        return slots[i].key == key ? slots[i].value : nil
    }

    /// Sets `key` to `value`.
    public mutating func set(_ key: UInt64, to value: UInt64) {
        precondition(key != .max, "UInt64.max cannot be a key of an IntegerMap")
        var i = find(key)
        if slots[i].key != key {
            if (count + 1) * 2 > mask + 1 { grow(); i = find(key) }
            slots[i].key = key
            count += 1
        }
        slots[i].value = value
    }

    /// Adds one to the value of `key` (0 when absent) and returns the new value.
    @inline(__always) public mutating func increment(_ key: UInt64) -> UInt64 {
        let i = find(key)
        if slots[i].key == key { slots[i].value += 1; return slots[i].value }
        set(key, to: 1)
        return 1
    }

    private mutating func grow() {
        var bigger = IntegerMap(capacity: mask + 1)
        for s in slots where s.key != .max { bigger.set(s.key, to: s.value) }
        self = bigger
    }
}
