/// Building blocks for the compact binary encodings of projection state (episode state, timers).
///
/// Unsigned numbers are LEB128 varints; signed ones are zig-zag varints, so the small date deltas
/// and position deltas that dominate an episode take one or two bytes. Everything is written in a
/// fixed order, so equal values always give equal bytes — what "rebuild equals incremental byte for
/// byte" needs.
public struct ByteWriter {
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    @usableFromInline let capacity: Int
    /// Bytes written so far.
    public var count: Int { written }
    @usableFromInline var written: Int = 0

    /// Writes into `buffer`; writing past its end traps (callers size it from an upper bound).
    @inlinable public init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!
        capacity = buffer.count
    }

    /// A new array of what `body` writes, in one allocation of at most `capacity` bytes.
    @inlinable public static func bytes(capacity: Int, _ body: (inout ByteWriter) -> Void) -> [UInt8] {
        // Zero-filled rather than `unsafeUninitializedCapacity`, whose generic path costs more than the fill.
        var out = [UInt8](repeating: 0, count: capacity)
        let n = out.withUnsafeMutableBufferPointer { buf -> Int in
            var w = ByteWriter(buf)
            body(&w)
            return w.count
        }
        out.removeLast(capacity - n)
        return out
    }

    /// Appends what `body` writes (at most `capacity` bytes) to `out`.
    @inlinable public static func append(to out: inout [UInt8], capacity: Int, _ body: (inout ByteWriter) -> Void) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: capacity))
        let written = out.withUnsafeMutableBufferPointer { buf -> Int in
            var w = ByteWriter(UnsafeMutableBufferPointer(rebasing: buf[start...]))
            body(&w)
            return w.count
        }
        out.removeLast(capacity - written)
    }

    @inlinable @inline(__always) public mutating func byte(_ b: UInt8) {
        precondition(written < capacity, "ByteWriter: write past the sized buffer")
        base[written] = b
        written &+= 1
    }

    @inlinable @inline(__always) public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            byte(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        byte(UInt8(v))
    }

    @inlinable @inline(__always) public mutating func signed(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    /// A date as a zig-zag delta from `base` (pass ``CivilDate/epoch`` for an absolute value).
    @inlinable @inline(__always) public mutating func date(_ d: CivilDate, from base: CivilDate) {
        signed(Int64(d.daysSinceEpoch) - Int64(base.daysSinceEpoch))
    }

    @inlinable public mutating func code(_ c: PathwayCode) {
        byte(c.event.rawValue)
        byte(c.outcomeByte)
    }

    /// Length-prefixed UTF-8: at most 10 + the byte count.
    public mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { u in
            varint(UInt64(u.count))
            precondition(written + u.count <= capacity, "ByteWriter: write past the sized buffer")
            if let src = u.baseAddress { (base + written).update(from: src, count: u.count) }
            written += u.count
        }
    }

    /// Upper bounds of what the writes take, for sizing the buffer.
    public static let maxVarint = 10
    public static let maxDate = 5
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
        guard let e = byte(), let o = byte(), let event = PathwayEvent(rawValue: e),
              PathwayCode.isValid(event: event, outcomeByte: o) else { return nil }
        return PathwayCode(trusted: event, outcomeByte: o)
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
