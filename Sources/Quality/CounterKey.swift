import Pathway

/// The byte layout of the quality counter keys (see `docs/indicators.md`, "Counter keys").
///
/// ```
/// indicator cell:    'I' name(institution) name(unit) year(2, big-endian) kind index indicator part 0x00
/// end cell:          'I' name(institution) name(unit) year(2) 0x01 month 0x00 'X' outcome  (ended episodes by 9326 outcome)
///                    'I' name(institution) name(unit) year(2) 0x01 month 0x00 'F' flags    (ended, not R, by UB/UU/F/UF)
/// distribution cell: 'D' name(institution) name(unit) year(2) month family category [days(2)]
/// name:              LEB128 length, then the UTF-8 bytes
/// ```
/// Names come right after the family byte so the keys of one unit are adjacent in the store's
/// order, and a reader decodes each unit's names once. The period comes next (key layout 2), so
/// the cells of one unit and month are adjacent too: an episode's registrations change a few
/// months' cells, and a batch of today's registrations changes each unit's current month — a
/// page or two per unit, where layout 1 (indicator before period) spread one episode's cells
/// over a page per indicator. Years are 0–9999 (``CivilDate``'s range) and fit the two bytes;
/// day counts are capped at ``QualityCounters/maxDays``.
enum CounterKey {
    static let indicatorFamily: UInt8 = 0x49 // "I"
    static let distributionFamily: UInt8 = 0x44 // "D"

    /// Parts of an indicator cell.
    enum Part: UInt8 {
        /// A monthly cell: (numerator, denominator, postponed among the denominator).
        case all = 0x61 // "a"
        /// The patient-postponed subset of the monthly cell: (numerator, denominator, 0).
        case postponed = 0x70 // "p"
        /// `patient-postponed`: episodes opening (first registration) and closing (X) in the month.
        case open = 0x6f // "o"
        /// `patient-postponed`: episodes with an L in the period (month, tertial or year).
        case postponement = 0x4c // "L"
    }

    /// The indicator byte of an end cell: the counts behind the six X-dated indicators and the
    /// end-outcome distribution.
    static let endCell: UInt8 = 0
    /// End cells: ended episodes by end outcome (the letter follows).
    static let endOutcome: UInt8 = 0x58 // "X"
    /// End cells: ended episodes with outcome not R, by the content flags (UB 1, UU 2, F 4, UF 8).
    static let endContent: UInt8 = 0x46 // "F"

    /// Families of a distribution cell.
    enum Family: UInt8 {
        /// Ended episodes with H, by the set of help needs (category: ``OutcomeSet`` raw value).
        case helpNeed = 0x48 // "H", 9328
        /// Clinical decisions, by their set of outcomes (category: ``OutcomeSet`` raw value).
        case decisionOutcome = 0x43 // "C", 9323
        /// Completed pathway times (category: the timer kind; then the day count).
        case pathwayTime = 0x54 // "T"
    }

    /// The names part of every key of one episode: LEB128 length and UTF-8 bytes of the institution,
    /// then of the unit.
    static func names(institution: [UInt8], unit: [UInt8]) -> [UInt8] {
        var k: [UInt8] = []
        k.reserveCapacity(institution.count + unit.count + 4)
        func name(_ b: [UInt8]) {
            var n = b.count
            while n >= 0x80 { k.append(UInt8(truncatingIfNeeded: n) | 0x80); n >>= 7 }
            k.append(UInt8(n))
            k.append(contentsOf: b)
        }
        name(institution)
        name(unit)
        return k
    }

    // A key without its names, as one integer whose order is the keys' byte order: the family byte
    // in the top byte, then the bytes after the names (seven for an indicator cell, five or seven
    // for a distribution cell), zero-padded. Contributions are summed and sorted on these, and the
    // byte keys are made once per distinct cell.

    /// The bytes after the names of an indicator cell and of a distribution cell.
    static let indicatorTail = 7
    static func distributionTail(_ family: UInt8) -> Int { family == Family.pathwayTime.rawValue ? 7 : 5 }

    @inline(__always) static func period(_ p: QualityPeriod) -> UInt64 {
        UInt64(UInt16(truncatingIfNeeded: p.year)) << 40 | UInt64(p.kind.rawValue) << 32 | UInt64(UInt8(truncatingIfNeeded: p.index)) << 24
    }

    @inline(__always) static func indicatorCode(_ ind: QualityIndicator, _ part: Part, _ p: QualityPeriod) -> UInt64 {
        UInt64(indicatorFamily) << 56 | period(p) | UInt64(ind.rawValue) << 16 | UInt64(part.rawValue) << 8
    }

    @inline(__always) static func endCode(_ kind: UInt8, _ value: UInt8, month p: QualityPeriod) -> UInt64 {
        UInt64(indicatorFamily) << 56 | period(p) | UInt64(endCell) << 16 | UInt64(kind) << 8 | UInt64(value)
    }

    @inline(__always) static func distributionCode(_ family: Family, month p: QualityPeriod, category: UInt8, days: Int = 0) -> UInt64 {
        UInt64(distributionFamily) << 56 | UInt64(UInt16(truncatingIfNeeded: p.year)) << 40 | UInt64(UInt8(truncatingIfNeeded: p.index)) << 32
            | UInt64(family.rawValue) << 24 | UInt64(category) << 16 | UInt64(UInt16(truncatingIfNeeded: days))
    }

    /// Writes the byte key of a code — family byte, names, then the code's cell bytes — into `buf`
    /// (at least `names.count + 8` bytes) and returns its length.
    @inline(__always) static func write(_ code: UInt64, names: [UInt8], into buf: UnsafeMutableRawBufferPointer) -> Int {
        let family = UInt8(truncatingIfNeeded: code >> 56)
        let tail = family == indicatorFamily ? indicatorTail : distributionTail(UInt8(truncatingIfNeeded: code >> 24))
        buf[0] = family
        names.withUnsafeBytes { nb in
            UnsafeMutableRawBufferPointer(rebasing: buf[1..<(1 + nb.count)]).copyMemory(from: nb)
        }
        var at = 1 + names.count
        for i in 0..<tail {
            buf[at] = UInt8(truncatingIfNeeded: code >> (48 - 8 * UInt64(i)))
            at += 1
        }
        return at
    }

    /// Reads the two names after the family byte; returns the offset after them.
    @inline(__always) static func skipNames(_ k: UnsafeBufferPointer<UInt8>) -> (inst: Range<Int>, unit: Range<Int>, end: Int)? {
        var i = 1
        func name() -> Range<Int>? {
            var n = 0, shift = 0
            while i < k.count {
                let b = k[i]; i += 1
                n |= Int(b & 0x7f) << shift
                if b < 0x80 {
                    guard n <= k.count - i else { return nil }
                    defer { i += n }
                    return i..<(i + n)
                }
                shift += 7
                if shift > 28 { return nil }
            }
            return nil
        }
        guard let a = name(), let b = name() else { return nil }
        return (a, b, i)
    }
}
