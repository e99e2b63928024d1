import Pathway

/// Turns the scanned fields of one line into a ledger event, or the first structural problem.
///
/// The checks run in a fixed order, so a line with several problems always gives the same message:
/// first how the fields combine (`voids`, `corrects`, `reason`), then identity numbers and control
/// characters across the fields, then each field in the order id, voids/corrects, reason, episode,
/// patient, institution, unit, setting, code, date, author, recordedAt, note, emergencyAssessmentDate.
extension FieldSlots {
    private struct Stop: Error { let error: IngestError }

    func buildEvent(lineNumber: Int, today: CivilDate) -> Result<LedgerEvent, IngestError> {
        do {
            return .success(try build(lineNumber, today))
        } catch {
            return .failure(error.error)
        }
    }

    @inline(__always)
    private func fail(_ ln: Int, _ f: Field, _ kind: IngestError.Kind, _ message: String) -> Stop {
        Stop(error: IngestError(line: ln, field: f.name, kind: kind, message: message))
    }

    private func build(_ ln: Int, _ today: CivilDate) throws(Stop) -> LedgerEvent {
        let voids = has(.voids), corrects = has(.corrects)
        if voids && corrects {
            throw fail(ln, .corrects, .invalidCombination, "cannot be combined with 'voids': a line either voids or corrects an event")
        }
        if voids {
            for f in Field.registrationOnly where has(f) {
                throw fail(ln, f, .invalidCombination,
                           "not allowed on a voiding line (a voiding has only id, voids, reason, author and recordedAt)")
            }
        } else if !corrects && has(.reason) {
            throw fail(ln, .reason, .invalidCombination, "only allowed together with 'voids' or 'corrects'")
        }

        // No identity numbers anywhere in the store: an identifier shaped like one is refused in
        // any field, and free text (note, reason) may not carry one that passes the
        // fødselsnummer/D-number check digits.
        // (The field lists are static: an array literal here would be allocated for every line.)
        for f in Field.identifiersButPatient where has(f) && looksLikeIdentityNumber(value(f)) {
            throw fail(ln, f, .identityNumber, "looks like a national identity number (11 digits); identity numbers are never stored — use the system's own ids")
        }
        for f in Field.freeText where has(f) && containsCheckedIdentityNumber(value(f)) {
            throw fail(ln, f, .identityNumber, "contains what looks like a national identity number (11 digits with a plausible birth date and valid check digits); remove it — identity numbers are never stored")
        }
        // Nor inside an identifier ("EP-01017010170"): ids are printed in every listing and export.
        for f in Field.identifiers where has(f) && containsCheckedIdentityNumber(value(f)) {
            throw fail(ln, f, .identityNumber, "contains what looks like a national identity number (11 digits with a valid birth date and check digits); identity numbers are never stored — use the system's own ids or a pseudonym")
        }

        // No control characters: a NUL or an escape sequence in an id or a name is invisible in
        // listings and can cut or rewrite what a terminal or another tool shows. Free text may be
        // laid out in lines (and CSV quoting carries CRLF line breaks); tab is allowed everywhere.
        // The other fields are checked against exact shapes below, which no control character fits.
        for f in Field.identifiers where has(f) {
            if let c = firstControlCharacter(value(f), allowingLineBreaks: false) {
                throw fail(ln, f, .controlCharacter, "contains the control character \(c); identifiers may not contain control characters (only tab is allowed)")
            }
        }
        for f in Field.freeText where has(f) {
            if let c = firstControlCharacter(value(f), allowingLineBreaks: true) {
                throw fail(ln, f, .controlCharacter, "contains the control character \(c); free text may contain tab, line feed and carriage return but no other control character")
            }
        }

        let id = try key(ln, .id)
        if voids {
            let target = try key(ln, .voids)
            if target == id { throw fail(ln, .voids, .invalidCombination, "must name another event, not the line's own id") }
            let reason = try required(ln, .reason)
            let author = try required(ln, .author)
            let recordedAt = try instant(ln, today)
            return .voiding(Voiding(id: id, target: target, reason: reason, author: author, recordedAt: recordedAt))
        }
        var target = "", reason = ""
        if corrects {
            target = try key(ln, .corrects)
            if target == id { throw fail(ln, .corrects, .invalidCombination, "must name another event, not the line's own id") }
            reason = try required(ln, .reason)
        }
        let episode = try key(ln, .episode)
        try requirePresent(ln, .patient)
        if looksLikeIdentityNumber(value(.patient)) {
            throw fail(ln, .patient, .identityNumber,
                       "looks like a national identity number (11 digits); expected a pseudonym, the ledger never stores identity numbers")
        }
        let patient = string(.patient)
        let institution = try required(ln, .institution)
        let unit = try required(ln, .unit)

        try requirePresent(ln, .setting)
        let setting: CareSetting
        let sv = value(.setting)
        if equals(sv, "outpatient") {
            setting = .outpatient
        } else if equals(sv, "inpatient") {
            setting = .inpatient
        } else {
            throw fail(ln, .setting, .invalidSetting, "expected \"outpatient\" or \"inpatient\", \(Quote.got(value(.setting)))")
        }

        let code = try pathwayCode(ln)

        try requirePresent(ln, .date)
        guard let date = CivilDate(utf8: value(.date)) else {
            throw fail(ln, .date, .invalidDate, "expected a calendar date YYYY-MM-DD, \(Quote.got(value(.date)))")
        }
        if Int(date.daysSinceEpoch) > Int(today.daysSinceEpoch) + 1 {
            throw fail(ln, .date, .futureDate, "\(date) is more than one day after today (\(today))")
        }
        let author = try required(ln, .author)
        let recordedAt = try instant(ln, today)
        let note = value(.note).isEmpty ? nil : string(.note)

        var emergency: CivilDate? = nil
        if has(.emergencyAssessmentDate) && !value(.emergencyAssessmentDate).isEmpty {
            guard code.event == .start else {
                throw fail(ln, .emergencyAssessmentDate, .emergencyAssessmentDate,
                           "only allowed on an A (pathway start) code, not on \(code.procedureCode)")
            }
            guard let e = CivilDate(utf8: value(.emergencyAssessmentDate)) else {
                throw fail(ln, .emergencyAssessmentDate, .invalidDate,
                           "expected a calendar date YYYY-MM-DD, \(Quote.got(value(.emergencyAssessmentDate)))")
            }
            if e > date {
                throw fail(ln, .emergencyAssessmentDate, .emergencyAssessmentDate,
                           "\(e) is after the pathway start date \(date); the emergency assessment comes first")
            }
            emergency = e
        }

        let registration = Registration(id: id, episode: episode, patient: patient, institution: institution, unit: unit,
                                        setting: setting, code: code, date: date, author: author, recordedAt: recordedAt,
                                        note: note, emergencyAssessmentDate: emergency)
        if corrects { return .correction(Correction(target: target, reason: reason, replacement: registration)) }
        return .registration(registration)
    }

    /// The first C0 control character (U+0000–U+001F) other than tab, or DEL (U+007F), in `b`,
    /// written as `U+00XX`; line feed and carriage return pass too when `allowingLineBreaks`.
    /// Only ASCII bytes are controls here: UTF-8 continuation and lead bytes are all ≥ 0x80.
    private func firstControlCharacter(_ b: UnsafeRawBufferPointer, allowingLineBreaks: Bool) -> String? {
        // Eight bytes at a time first: this runs on ten fields of every line, and almost none
        // holds a control character (exact for "a byte below 0x20 or equal to 0x7F" — see
        // `mayHoldControl`); the byte loop below only runs when a word says it may.
        guard let base = b.baseAddress else { return nil }
        var i = 0
        var suspect = false
        while i + 8 <= b.count {
            if Self.mayHoldControl(base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { suspect = true; break }
            i += 8
        }
        if !suspect {
            while i < b.count { let c = base.load(fromByteOffset: i, as: UInt8.self); if c < 0x20 || c == 0x7F { suspect = true; break }; i += 1 }
            if !suspect { return nil }
        }
        for c in b where c < 0x20 || c == 0x7F {
            if c == ASCII.tab || (allowingLineBreaks && (c == ASCII.newline || c == ASCII.cr)) { continue }
            return "U+" + Quote.hex4(UInt32(c))
        }
        return nil
    }

    /// Whether any of the eight bytes is below 0x20 or is 0x7F ("hasless" and "hasvalue" from the
    /// bit-twiddling folklore: the tests are exact as yes/no answers, borrows notwithstanding).
    @inline(__always) static func mayHoldControl(_ x: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let below20 = (x &- ones &* 0x20) & ~x & highs
        let y = x ^ (ones &* 0x7F)
        let is7F = (y &- ones) & ~y & highs
        return (below20 | is7F) != 0
    }

    @inline(__always) private func string(_ f: Field) -> String { String(decoding: value(f), as: UTF8.self) }

    @inline(__always) private func equals(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for k in 0..<b.count where b[k] != p[k] { return false }
        return true
    }

    private func requirePresent(_ ln: Int, _ f: Field) throws(Stop) {
        guard has(f) else { throw fail(ln, f, .missingField, "required field is missing") }
        let v = value(f)
        guard !isBlank(v) else { throw fail(ln, f, .emptyField, v.isEmpty ? "must not be empty" : "must not be blank") }
    }

    private func required(_ ln: Int, _ f: Field) throws(Stop) -> String {
        try requirePresent(ln, f)
        return string(f)
    }

    /// The longest id or episode the store takes: they are LMDB keys.
    static let maxKeyBytes = 511

    /// A required field that the store uses as a key (id, episode, and the ids voided or corrected).
    private func key(_ ln: Int, _ f: Field) throws(Stop) -> String {
        try requirePresent(ln, f)
        let n = value(f).count
        guard n <= Self.maxKeyBytes else {
            throw fail(ln, f, .tooLong, "is \(n) bytes long; at most \(Self.maxKeyBytes) bytes are allowed (it is a key in the store)")
        }
        return string(f)
    }

    private func instant(_ ln: Int, _ today: CivilDate) throws(Stop) -> Instant? {
        let v = value(.recordedAt)
        if v.isEmpty { return nil }
        // A bare date is no instant here (the parser takes one as Oslo midnight for query options):
        // the known-at axis needs the moment the source system registered it.
        guard v.count > 10, let i = Instant(utf8: v) else {
            throw fail(ln, .recordedAt, .invalidInstant, "expected an RFC 3339 instant such as 2026-01-05T10:15:00Z, \(Quote.got(v))")
        }
        // Like a registration's date: nothing can have been registered after today (+ one day's slack).
        // Oslo's date is the UTC date or the day after, so only an instant on the UTC day after
        // tomorrow's eve needs the time-zone rules (the common case costs a division).
        let utcDay = i.microseconds >= 0 ? i.microseconds / 86_400_000_000 : (i.microseconds - 86_399_999_999) / 86_400_000_000
        let limit = Int64(today.daysSinceEpoch) + 1
        if utcDay > limit || (utcDay == limit && Int64(i.osloDate.daysSinceEpoch) > limit) {
            throw fail(ln, .recordedAt, .futureDate, "\(i) is more than one day after today (\(today)): a registration cannot have been recorded in the future")
        }
        return i
    }

    // MARK: codes

    private static let eventLetters = "A, M, D, L, C, U, F, E, X or H"

    private func pathwayCode(_ ln: Int) throws(Stop) -> PathwayCode {
        let procedure = has(.code)
        let module = has(.pathway) || has(.event) || has(.outcome)
        if procedure && module {
            throw fail(ln, .code, .invalidCombination,
                       "give either 'code' (procedure spelling, e.g. \"D01CT\") or 'pathway', 'event' and 'outcome' (module spelling), not both")
        }
        if !procedure && !module {
            throw fail(ln, .code, .missingField,
                       "required field is missing (give 'code', e.g. \"D01CT\", or 'pathway', 'event' and 'outcome')")
        }
        if procedure {
            try requirePresent(ln, .code)
            let v = value(.code)
            guard v.count >= 4, v.count <= 5, v[0] == UInt8(ascii: "D"), v[1] == UInt8(ascii: "0"), v[2] == UInt8(ascii: "1") else {
                throw fail(ln, .code, .invalidCode,
                           "expected a procedure code: D01, an event letter and the outcome letter if the event takes one (e.g. \"D01A\", \"D01CT\"), \(Quote.got(v))")
            }
            guard let event = PathwayEvent(letter: v[3]) else {
                throw fail(ln, .code, .invalidCode, "expected event letter \(Self.eventLetters) after D01, \(Quote.got(v))")
            }
            return try outcome(ln, .code, event, v.count == 5 ? v[4] : nil, got: v)
        }
        try requirePresent(ln, .pathway)
        let p = value(.pathway)
        guard p.count == 3, p[0] == UInt8(ascii: "D"), p[1] == UInt8(ascii: "0"), p[2] == UInt8(ascii: "1") else {
            throw fail(ln, .pathway, .invalidCode, "expected \"D01\" (the TSB pathway, code system 9321), \(Quote.got(p))")
        }
        try requirePresent(ln, .event)
        let e = value(.event)
        guard e.count == 1, let event = PathwayEvent(letter: e[0]) else {
            throw fail(ln, .event, .invalidCode, "expected one event letter \(Self.eventLetters) (code system 9322), \(Quote.got(e))")
        }
        let o = value(.outcome)
        if o.isEmpty { return try outcome(ln, .outcome, event, nil, got: o) }
        guard o.count == 1 else {
            guard let system = event.outcomeSystem else {
                throw fail(ln, .outcome, .invalidOutcome, "event \(event.letter) takes no outcome, \(Quote.got(o))")
            }
            throw fail(ln, .outcome, .invalidOutcome, "expected one outcome letter \(Self.letters(system)) (code system \(system.rawValue)), \(Quote.got(o))")
        }
        return try outcome(ln, .outcome, event, o[0], got: o)
    }

    /// Every valid code with an outcome, by event and outcome byte: a lookup instead of a search.
    private static let codeTable: [PathwayCode?] = {
        var t = [PathwayCode?](repeating: nil, count: PathwayEvent.allCases.count << 7)
        for c in PathwayCode.all where c.outcomeByte != 0 { t[Int(c.event.rawValue) << 7 | Int(c.outcomeByte)] = c }
        return t
    }()

    private static func letters(_ system: OutcomeSystem) -> String {
        let l = system.letters.map { String($0) }
        return l.dropLast().joined(separator: ", ") + " or " + l.last!
    }

    private func outcome(_ ln: Int, _ f: Field, _ event: PathwayEvent, _ o: UInt8?, got: UnsafeRawBufferPointer) throws(Stop) -> PathwayCode {
        guard let o else {
            if event.requiresOutcome, let system = event.outcomeSystem {
                let what = f == .code ? Quote.got(got) : "got none"
                throw fail(ln, f, .invalidOutcome,
                           "event \(event.letter) needs an outcome \(Self.letters(system)) (code system \(system.rawValue)), \(what)")
            }
            return PathwayCode(event)
        }
        guard let system = event.outcomeSystem else {
            throw fail(ln, f, .invalidOutcome, "event \(event.letter) takes no outcome, \(Quote.got(got))")
        }
        guard let code = Self.codeTable[Int(event.rawValue) << 7 | Int(o & 0x7F)], o < 0x80 else {
            throw fail(ln, f, .invalidOutcome,
                       "expected an outcome of event \(event.letter) from code system \(system.rawValue): \(Self.letters(system)), \(Quote.got(got))")
        }
        return code
    }
}
