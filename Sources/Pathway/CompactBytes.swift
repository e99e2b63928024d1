/// Building blocks for the compact binary encodings of projection state (episode state, timers).
///
/// Unsigned numbers are LEB128 varints; signed ones are zig-zag varints, so the small date deltas
/// and position deltas that dominate an episode take one or two bytes. Everything is written in a
/// fixed order, so equal values always give equal bytes — what "rebuild equals incremental byte for
/// byte" needs.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always) public mutating func byte(_ b: UInt8) { bytes.append(b) }

    @inline(__always) public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always) public mutating func signed(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    /// A date as a zig-zag delta from `base` (pass the zero date for an absolute value).
    @inline(__always) public mutating func date(_ d: CivilDate, from base: CivilDate) {
        signed(Int64(d.daysSinceEpoch) - Int64(base.daysSinceEpoch))
    }

    public mutating func code(_ c: PathwayCode) {
        bytes.append(c.event.rawValue)
        bytes.append(c.outcomeByte)
    }

    public mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { u in
            varint(UInt64(u.count))
            bytes.append(contentsOf: u)
        }
    }
}

/// Reads what ``ByteWriter`` wrote. Every read returns nil past the end or on a malformed value, so
/// a damaged record is reported, never trapped on.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset: Int = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var isAtEnd: Bool { offset == bytes.count }

    @inline(__always) public mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always) public mutating func varint() -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let b = bytes[offset]
            offset += 1
            guard shift < 64 else { return nil }
            v |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return v }
            shift += 7
        }
        return nil
    }

    @inline(__always) public mutating func signed() -> Int64? {
        guard let u = varint() else { return nil }
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    public mutating func date(from base: CivilDate) -> CivilDate? {
        guard let d = signed() else { return nil }
        let v = Int64(base.daysSinceEpoch) + d
        guard v >= Int64(Int32.min), v <= Int64(Int32.max) else { return nil }
        return CivilDate(daysSinceEpoch: Int32(v))
    }

    public mutating func int32() -> Int32? {
        guard let v = signed(), v >= Int64(Int32.min), v <= Int64(Int32.max) else { return nil }
        return Int32(v)
    }

    public mutating func code() -> PathwayCode? {
        guard let e = byte(), let o = byte(), let event = PathwayEvent(rawValue: e) else { return nil }
        return PathwayCode(event: event, outcome: o == 0 ? nil : o)
    }

    public mutating func text() -> String? {
        guard let n = varint(), n <= UInt64(bytes.count - offset) else { return nil }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(n))]), as: UTF8.self)
        offset += Int(n)
        return s
    }
}

extension CivilDate {
    /// The base for delta-encoded dates when there is no better one.
    public static let epoch = CivilDate(daysSinceEpoch: 0)
}
