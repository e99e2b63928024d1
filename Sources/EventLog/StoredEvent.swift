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

    /// Reads a stored value in place; `key` is the position it was stored under.
    public init(bytes: UnsafeRawBufferPointer, key position: UInt64) throws(LogError) {
        guard bytes.count >= 33 else { throw LogError.corrupt(position: position, reason: "the record is \(bytes.count) bytes, shorter than its fixed header") }
        guard bytes[0] == StoredEvent.formatVersion else { throw LogError.unknownFormat(position: position, version: bytes[0]) }
        self.bytes = bytes
        var i = 33
        func field() throws(LogError) -> UnsafeRawBufferPointer {
            guard i + 2 <= bytes.count else { throw LogError.corrupt(position: position, reason: "a header field runs past the end of the record") }
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            i += 2
            guard i + n <= bytes.count else { throw LogError.corrupt(position: position, reason: "a header field runs past the end of the record") }
            defer { i += n }
            return UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)])
        }
        let p = try field(), v = try field()
        appendedAt = try field(); id = try field(); stream = try field()
        body = UnsafeRawBufferPointer(rebasing: bytes[i...])
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
        guard !b.isEmpty, b.count <= 19 else { return nil }
        var v: UInt64 = 0
        for c in b { guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + UInt64(c - 48) }
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
