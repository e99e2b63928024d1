/// The generator's own pseudo-random numbers: xoshiro256** seeded through SplitMix64.
///
/// Deliberately not `SystemRandomNumberGenerator` or Foundation: the output must be the same bytes
/// for the same seed on every platform and Swift version.
struct Xoshiro256 {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var sm = SplitMix64(state: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 } // the all-zero state is the one state xoshiro cannot leave
    }

    @inline(__always) mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// Uniform in `lo...hi` (inclusive), by Lemire's multiply-shift on 32 bits (bias < 2^-32 · range).
    @inline(__always) mutating func int(_ lo: Int, _ hi: Int) -> Int {
        if hi <= lo { return lo }
        let range = UInt64(hi - lo + 1)
        return lo + Int(((next() >> 32) &* range) >> 32)
    }

    /// True with probability `p`.
    @inline(__always) mutating func chance(_ p: Double) -> Bool {
        Double(next() >> 11) * 0x1p-53 < p
    }

    /// In `lo...hi`, skewed towards `lo` (the square of a uniform: mean lo + range/3, median lo + range/4).
    @inline(__always) mutating func skewed(_ lo: Int, _ hi: Int) -> Int {
        let u = Double(next() >> 11) * 0x1p-53
        return lo + Int(Double(hi - lo + 1) * u * u)
    }

    /// An index into `cumulative` (running totals of integer weights).
    @inline(__always) mutating func pick(_ cumulative: [Int]) -> Int {
        let r = int(0, cumulative[cumulative.count - 1] - 1)
        var i = 0
        while cumulative[i] <= r { i += 1 }
        return i
    }
}

struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Running totals of a weight list, for ``Xoshiro256/pick(_:)``.
func cumulative(_ weights: [Int]) -> [Int] {
    var total = 0
    return weights.map { total += $0; return total }
}
