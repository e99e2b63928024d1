/// A map from `UInt64` keys to `UInt64` values: open addressing, linear probing, a multiplicative
/// mix of the key. For the ledger's integer-keyed tables on hot paths — stream digests to versions
/// in `verify`, counter-cell groups to ranks in a rebuild — where `Dictionary`'s SipHash would cost
/// more than the work around it. `UInt64.max` marks an empty slot and cannot be a key.
public struct IntegerMap: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private var mask: Int
    public private(set) var count = 0

    public init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        keys = [UInt64](repeating: .max, count: n)
        values = [UInt64](repeating: 0, count: n)
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
        while keys[i] != key && keys[i] != .max { i = (i + 1) & mask }
        return i
    }

    @inline(__always) public subscript(key: UInt64) -> UInt64? {
        let i = find(key)
        return keys[i] == key ? values[i] : nil
    }

    /// Sets `key` to `value`.
    public mutating func set(_ key: UInt64, to value: UInt64) {
        precondition(key != .max, "UInt64.max cannot be a key of an IntegerMap")
        var i = find(key)
        if keys[i] != key {
            if (count + 1) * 2 > mask + 1 { grow(); i = find(key) }
            keys[i] = key
            count += 1
        }
        values[i] = value
    }

    /// Adds one to the value of `key` (0 when absent) and returns the new value.
    @inline(__always) public mutating func increment(_ key: UInt64) -> UInt64 {
        let i = find(key)
        if keys[i] == key { values[i] += 1; return values[i] }
        set(key, to: 1)
        return 1
    }

    private mutating func grow() {
        var bigger = IntegerMap(capacity: mask + 1)
        for i in keys.indices where keys[i] != .max { bigger.set(keys[i], to: values[i]) }
        self = bigger
    }
}
