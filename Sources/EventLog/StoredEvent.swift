import LMDB

/// The on-disk form of one event, read in place.
///
/// Layout (format 1): one byte format version, the 32-byte chain hash, then the *canonical bytes*:
/// five header fields — position, stream version, append instant, id, stream — followed by the
/// caller's body fields, every field a big-endian `UInt16` length and UTF-8 text. The hash is
/// SHA-256(previous hash ‖ SHA-256(canonical bytes)); the first event's previous hash is 32 zero
/// bytes (see ``EventLog/chainHash(previous:canonical:)`` for why the digest is linked).
/// Because the canonical bytes are text fields, an auditor can rebuild them from an export line.
public struct StoredEvent {
    public static let formatVersion: UInt8 = 1
    public static let headerFieldCount = 5

    /// The whole stored value (valid only inside the transaction that read it).
    public let bytes: UnsafeRawBufferPointer
    public let position: UInt64
    public let version: UInt64
    public let appendedAt: UnsafeRawBufferPointer
    public let id: UnsafeRawBufferPointer
    public let stream: UnsafeRawBufferPointer
    /// The body fields, still length-prefixed.
    public let body: UnsafeRawBufferPointer

    public var hash: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[1..<33]) }
    /// The bytes the chain hash covers.
    public var canonical: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[33...]) }

    public var idString: String { String(decoding: id, as: UTF8.self) }
    public var streamString: String { String(decoding: stream, as: UTF8.self) }
    public var appendedAtString: String { String(decoding: appendedAt, as: UTF8.self) }
    public var hashHex: String { Hex.encode(hash) }

    /// Reads a stored value in place; `key` is the position it was stored under. Every scan of the
    /// log goes through here, so it walks the header with plain pointer arithmetic.
    @inline(__always)
    public init(bytes: UnsafeRawBufferPointer, key position: UInt64) throws(LogError) {
        let count = bytes.count
        guard count >= 33, let base = bytes.baseAddress else {
            throw LogError.corrupt(position: position, reason: "the record is \(bytes.count) bytes, shorter than its fixed header")
        }
        let format = base.load(as: UInt8.self)
        guard format == StoredEvent.formatVersion else { throw LogError.unknownFormat(position: position, version: format) }
        self.bytes = bytes
        var i = 33
        var fields: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        try withUnsafeMutableBytes(of: &fields) { (f) throws(LogError) in
            let slots = f.bindMemory(to: Int.self)
            for n in 0..<StoredEvent.headerFieldCount {
                guard i + 2 <= count else { throw LogError.corrupt(position: position, reason: "a header field runs past the end of the record") }
                let length = Int(base.load(fromByteOffset: i, as: UInt8.self)) << 8 | Int(base.load(fromByteOffset: i + 1, as: UInt8.self))
                i += 2
                guard i + length <= count else { throw LogError.corrupt(position: position, reason: "a header field runs past the end of the record") }
                slots[2 * n] = i; slots[2 * n + 1] = length
                i += length
            }
        }
        let p = UnsafeRawBufferPointer(start: base + fields.0, count: fields.1)
        let v = UnsafeRawBufferPointer(start: base + fields.2, count: fields.3)
        appendedAt = UnsafeRawBufferPointer(start: base + fields.4, count: fields.5)
        id = UnsafeRawBufferPointer(start: base + fields.6, count: fields.7)
        stream = UnsafeRawBufferPointer(start: base + fields.8, count: fields.9)
        body = UnsafeRawBufferPointer(start: base + i, count: count - i)
        guard let pos = Decimal.parse(p), let ver = Decimal.parse(v) else {
            throw LogError.corrupt(position: position, reason: "position or stream version is not a number")
        }
        self.position = pos
        self.version = ver
    }
}

/// Builds canonical bytes. Shared by the appender and by tools that rebuild them from an export.
public enum Canonical {
    public static func appendField(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let n = min(bytes.count, Int(UInt16.max))
        out.append(UInt8(n >> 8)); out.append(UInt8(n & 0xff))
        out.append(contentsOf: bytes.prefix(n))
    }
    public static func appendField(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendField(UnsafeRawBufferPointer($0), to: &out) }
    }
    /// The canonical bytes of an event: its header fields then its body (already encoded).
    public static func bytes(position: UInt64, version: UInt64, appendedAt: String, id: String, stream: String,
                             body: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + id.utf8.count + stream.utf8.count + body.count)
        appendField(String(position), to: &out)
        appendField(String(version), to: &out)
        appendField(appendedAt, to: &out)
        appendField(id, to: &out)
        appendField(stream, to: &out)
        out.append(contentsOf: body)
        return out
    }
}

enum Decimal {
    @inline(__always) static func parse(_ b: UnsafeRawBufferPointer) -> UInt64? {
        guard let base = b.baseAddress, !b.isEmpty, b.count <= 19 else { return nil }
        var v: UInt64 = 0
        for k in 0..<b.count {
            let c = base.load(fromByteOffset: k, as: UInt8.self) &- 48
            guard c <= 9 else { return nil }
            v = v &* 10 &+ UInt64(c)
        }
        return v
    }
}

public enum Hex {
    public static func encode(_ b: UnsafeRawBufferPointer) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(b.count * 2)
        for x in b { out.append(digits[Int(x >> 4)]); out.append(digits[Int(x & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
    public static func encode(_ b: [UInt8]) -> String { b.withUnsafeBytes { encode($0) } }
    public static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8](); out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = nib(u[i]), let l = nib(u[i + 1]) else { return nil }
            out.append(h << 4 | l); i += 2
        }
        return out
    }
}
