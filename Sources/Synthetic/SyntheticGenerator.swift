import Pathway

/// The deterministic national-scale data generator behind `pathway generate` (issue 8).
///
/// It writes pathway-code registrations in the ingest format of issue 3 — NDJSON (registrations,
/// corrections and voidings) or CSV (plain registrations only) — one line at a time. The same seed
/// and parameters always give the same bytes, on every platform: the randomness is the generator's
/// own (xoshiro256** seeded by SplitMix64). Episodes are generated one after another (a patient's
/// re-referrals follow their earlier episode), so memory stays constant for any number of episodes,
/// and the output for N episodes is a prefix of the output for more.
///
/// Within an episode, registrations come in pathway order (by date, and on one date in the order a
/// clinician registers them: D before M, the final E and H before X); the episode's corrections and
/// voidings follow all of its registrations. Episodes are not in global date order.
public struct SyntheticGenerator: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// Registrations, corrections (`corrects`) and voidings (`voids`), one JSON object per line.
        case ndjson
        /// The CSV contract of issue 3: a header line, then plain registrations in procedure-code
        /// spelling. Corrections and voidings are skipped (notes and emergency-assessment dates too,
        /// which CSV has no column for); the registrations are the same as in NDJSON for the seed.
        case csv
    }

    /// What one run produced.
    public struct Summary: Sendable, Equatable {
        public var episodes = 0
        /// Distinct patients; `episodes - patients` are re-referrals and transfers.
        public var patients = 0
        /// Episodes with no X on or before `to`.
        public var openEpisodes = 0
        /// Lines emitted, including the CSV header.
        public var lines = 0
        public var registrations = 0
        /// Corrections and voidings written: always 0 in CSV, which carries registrations only (the
        /// generator still draws them, so the registrations are the same as in NDJSON).
        public var corrections = 0
        public var voidings = 0
        /// Registrations deliberately breaking a pathway rule (each should raise a finding).
        public var ruleBreaks = 0
        /// Registrations whose `recordedAt` is on a later day than their `date`.
        public var lateRecorded = 0
        public init() {}
    }

    public let episodes: Int
    public let seed: UInt64
    public let from: CivilDate
    public let to: CivilDate
    public let format: Format

    /// - Parameters:
    ///   - episodes: how many episodes (pathways) to generate, re-referrals included.
    ///   - from, to: first episodes start uniformly in `from...to`; nothing is dated after `to`.
    public init(episodes: Int, seed: UInt64, from: CivilDate, to: CivilDate, format: Format = .ndjson) {
        precondition(episodes >= 0, "episodes must not be negative")
        precondition(from <= to, "from must not be after to")
        self.episodes = episodes; self.seed = seed; self.from = from; self.to = to; self.format = format
    }

    /// The CSV header of issue 3 (the first line in CSV mode).
    public static let csvHeader = "id,episode,patient,institution,unit,setting,code,date,author,recordedAt"

    /// About 33,000 patients a year start a TSB pathway nationally; with transfers and re-referrals
    /// inside a year that is about this many episodes. `--episodes` for national scale over a span is
    /// roughly `nationalEpisodesPerYear * days / 365`.
    public static let nationalEpisodesPerYear = 36_000

    /// Episodes for national scale between two dates (inclusive), at ``nationalEpisodesPerYear``.
    public static func nationalScaleEpisodes(from: CivilDate, to: CivilDate) -> Int {
        max(1, (from.days(until: to) + 1) * nationalEpisodesPerYear / 365)
    }

    /// Emits each line as a `String` (no trailing newline).
    @discardableResult
    public func generate(_ emit: (String) -> Void) -> Summary {
        generateUTF8 { emit(String(decoding: $0, as: UTF8.self)) }
    }

    /// Emits each line's UTF-8 bytes (no trailing newline). The buffer is only valid during the call.
    @discardableResult
    public func generateUTF8(_ emit: (UnsafeRawBufferPointer) -> Void) -> Summary {
        var engine = Engine(self, chunked: false)
        engine.run { _, line in emit(line) }
        return engine.summary
    }

    /// Emits each line's UTF-8 bytes with the second (since 1970-01-01, UTC) at which it is
    /// recorded, made non-decreasing within each episode: a line's own `recordedAt`, or for a
    /// voiding (which carries none) the latest of its episode's lines before it. This is the key
    /// ``generateInRecordedOrder(runBytes:temporaryDirectory:_:)`` sorts on.
    @discardableResult
    public func generateTimed(_ emit: (_ recordedSecond: Int64, _ line: UnsafeRawBufferPointer) -> Void) -> Summary {
        var engine = Engine(self, chunked: false)
        engine.run(emit)
        return engine.summary
    }

    /// Emits blocks of whole lines, each line ending in `\n` (at most 64 KiB a block): the fastest
    /// way to write a file. The buffer is only valid during the call.
    @discardableResult
    public func generateChunks(_ write: (UnsafeRawBufferPointer) -> Void) -> Summary {
        var engine = Engine(self, chunked: true)
        engine.run { _, chunk in write(chunk) }
        return engine.summary
    }
}

// MARK: - Places and people

enum Places {
    /// 20 institutions (helseforetak) in the four health regions, with rough relative sizes.
    static let institutions: [(name: String, weight: Int)] = {
        let regions: [(String, [Int])] = [
            ("SorOst", [9, 8, 7, 6, 6, 5, 5, 4, 4, 3]),
            ("Vest", [7, 5, 4, 3]),
            ("Midt", [6, 4, 3]),
            ("Nord", [5, 3, 2]),
        ]
        var out: [(String, Int)] = []
        for (region, weights) in regions {
            for (i, w) in weights.enumerated() {
                out.append(("HF-\(region)-" + (i + 1 < 10 ? "0" : "") + String(i + 1), w))
            }
        }
        return out
    }()
    static var institutionCount: Int { institutions.count }

    /// 80 units: each institution `i` has outpatient clinics TSB-POL-(2i+1) and (2i+2), an inpatient
    /// ward TSB-DOGN-(i+1) and a detox unit TSB-AVR-(i+1). Global index: POL 0..<40, DOGN 40..<60,
    /// AVR 60..<80.
    static let units: [String] = {
        func two(_ n: Int) -> String { (n < 10 ? "0" : "") + String(n) }
        let n = institutions.count
        return (0..<(2 * n)).map { "TSB-POL-" + two($0 + 1) }
            + (0..<n).map { "TSB-DOGN-" + two($0 + 1) }
            + (0..<n).map { "TSB-AVR-" + two($0 + 1) }
    }()

    /// Free-text notes on about 2 % of registrations. ASCII only, nothing to escape.
    static let notes = [
        "videokonsultasjon", "telefonkonsultasjon", "tolk benyttet", "samtale med parorende til stede",
        "time flyttet etter avtale med pasienten", "registrert etter samarbeidsmote",
    ]
    static let correctionReasons = ["wrong date", "wrong unit", "wrong outcome", "note added"]
    static let voidReasons = ["registered in error", "registered on the wrong patient", "registered twice"]
}

// MARK: - The engine

private let letterG = UInt8(ascii: "G"), letterP = UInt8(ascii: "P"), letterM = UInt8(ascii: "M")
private let letterA = UInt8(ascii: "A"), letterR = UInt8(ascii: "R"), letterO = UInt8(ascii: "O")
private let letterN = UInt8(ascii: "N"), letterS = UInt8(ascii: "S"), letterT = UInt8(ascii: "T")
private let letterK = UInt8(ascii: "K"), letterI = UInt8(ascii: "I"), letterU = UInt8(ascii: "U")
private let letterB = UInt8(ascii: "B"), letterF = UInt8(ascii: "F")

/// One planned registration of the episode being built.
struct Entry {
    var date: Int
    var seq: Int
    var event: PathwayEvent
    var outcome: UInt8
    var setting: CareSetting
    var unit: Int
    var emergency: Int = Int.min
    var broken = false
    /// Voided by a line after the episode's registrations.
    var voided = false
    // Filled in when the episode is finalised.
    var id = 0
    var author = 0
    var recordDay = 0
    var recordSecond = 0
    var note = -1
    var module = false
}

/// Where the engine hands its output: a line (or, chunked, a block of lines) and the line's
/// recorded second (0 for blocks and for the CSV header).
typealias Emit = (Int64, UnsafeRawBufferPointer) -> Void

struct Engine: ~Copyable {
    var rng: Xoshiro256
    let from: Int, to: Int
    let total: Int
    let csv: Bool
    let chunked: Bool
    let patientKey: UInt64
    var buf = LineBuffer(capacity: 1 << 16)
    var summary = SyntheticGenerator.Summary()

    // Tables as bytes, resolved once.
    let institutionNames: [[UInt8]]
    let unitNames: [[UInt8]]
    let notes: [[UInt8]]
    let eventLetters: [UInt8]
    let institutionCum: [Int]
    let decisionOutcomes: [UInt8] = [letterT, letterP, letterS, letterK, letterA, letterI]
    let decisionCum = cumulative([78, 6, 4, 6, 3, 3])
    let treatmentEnds: [UInt8] = [letterG, letterP, letterM, letterO, letterA, letterS, letterN]
    let treatmentEndCum = cumulative([58, 12, 11, 10, 4, 4, 1])
    let helpOutcomes: [UInt8] = [letterK, letterT, letterA, letterI, letterP, letterS]
    let helpCum = cumulative([45, 10, 20, 15, 7, 3])

    // Counters.
    var nextID = 1
    var episodeNumber = 0
    var patientIndex = 0

    // The episode being built.
    var plan: [Entry] = []
    /// The recorded second of the line being written (0: it carries none, a voiding).
    var lineSecond: Int64 = 0
    /// The latest recorded second of the current episode's lines so far.
    var episodeSecond: Int64 = 0
    var seq = 0
    var institution = 0
    var polUnit = 0
    var mainAuthor = 0
    var patientValue: UInt64 = 0
    var patientDigits = 6
    // Landmarks of the plan, for rule breaks.
    var aIndex = -1, mIndex = -1, cuIndex = -1, ubIndex = -1, decisionDate = -1

    static let transferToSpecialistFrom = Int(CivilDate(year: 2022, month: 9, day: 30)!.daysSinceEpoch)

    init(_ g: SyntheticGenerator, chunked: Bool) {
        rng = Xoshiro256(seed: g.seed)
        var sm = SplitMix64(state: g.seed ^ 0x5053_4555_444F_4E59) // a separate stream for pseudonyms
        patientKey = sm.next()
        from = Int(g.from.daysSinceEpoch)
        to = Int(g.to.daysSinceEpoch)
        total = g.episodes
        csv = g.format == .csv
        self.chunked = chunked
        institutionNames = Places.institutions.map { Array($0.name.utf8) }
        unitNames = Places.units.map { Array($0.utf8) }
        notes = Places.notes.map { Array($0.utf8) }
        eventLetters = PathwayEvent.allCases.map { $0.letter.asciiValue! }
        institutionCum = cumulative(Places.institutions.map(\.weight))
        plan.reserveCapacity(128)
    }

    // MARK: Driving

    mutating func run(_ emit: Emit) {
        if csv {
            buf.put("id,episode,patient,institution,unit,setting,code,date,author,recordedAt")
            finishLine(emit)
        }
        while summary.episodes < total {
            // A new patient, referred somewhere in the period.
            newPatient()
            institution = rng.pick(institutionCum)
            var start = from + rng.int(0, to - from)
            var transfer = false
            while true {
                let (outcome, endDate) = episode(start: start, transfer: transfer, emit)
                if summary.episodes >= total || outcome == 0 { break }
                // Re-referral of the same patient: a transfer continues at once, other ends sometimes
                // come back months later.
                switch outcome {
                case letterO:
                    guard rng.chance(0.9) else { break }
                    institution = otherInstitution()
                    start = endDate + rng.int(0, 3); transfer = true
                    if start <= to { continue }
                case letterN:
                    guard rng.chance(0.25) else { break }
                    if rng.chance(0.2) { institution = otherInstitution() }
                    start = endDate + rng.int(60, 400); transfer = false
                    if start <= to { continue }
                case letterR:
                    guard rng.chance(0.15) else { break }
                    start = endDate + rng.int(30, 365); transfer = false
                    if start <= to { continue }
                default:
                    guard rng.chance(0.12) else { break }
                    if rng.chance(0.2) { institution = otherInstitution() }
                    start = endDate + 30 + rng.skewed(0, 690); transfer = false
                    if start <= to { continue }
                }
                break
            }
        }
        if chunked && buf.count > 0 { emit(0, buf.bytes); buf.count = 0 }
    }

    mutating func otherInstitution() -> Int {
        var i = rng.pick(institutionCum)
        while i == institution { i = rng.pick(institutionCum) }
        return i
    }

    /// Pseudonyms are a keyed bijection of the patient number, so they never repeat: six hex digits
    /// for the first 16.7 million patients, ten after that.
    mutating func newPatient() {
        let i = UInt64(patientIndex)
        patientIndex += 1
        summary.patients += 1
        if i < 1 << 24 {
            patientValue = Engine.permute(i, bits: 24, key: patientKey); patientDigits = 6
        } else {
            patientValue = Engine.permute(i, bits: 40, key: patientKey); patientDigits = 10
        }
    }

    static func permute(_ i: UInt64, bits: UInt64, key: UInt64) -> UInt64 {
        let mask: UInt64 = (1 << bits) - 1
        var x = (i ^ key) & mask
        for round in 0..<3 {
            x = (x &* 0xD6E8_FEB8_6659_FD93) & mask // odd: a bijection modulo 2^bits
            x ^= x >> (bits / 2)
            x = (x &+ (key >> UInt64(8 * round + 3))) & mask
        }
        return x
    }

    // MARK: One episode

    /// Builds, finalises and emits one episode; returns its end outcome letter (0 when still open at
    /// `to`) and end date.
    mutating func episode(start: Int, transfer: Bool, _ emit: Emit) -> (UInt8, Int) {
        episodeNumber += 1
        summary.episodes += 1
        episodeSecond = 0
        build(start: start, transfer: transfer)
        injectRuleBreak()
        return finalise(emit)
    }

    @inline(__always) func workday(_ d: Int) -> Int {
        let weekday = ((d + 3) % 7 + 7) % 7 // 0 = Monday; 1970-01-01 was a Thursday
        return weekday == 5 ? d + 2 : weekday == 6 ? d + 1 : d
    }
    /// Outpatient activity happens on weekdays; inpatient on any day.
    @inline(__always) func day(_ d: Int, _ s: CareSetting) -> Int { s == .outpatient ? workday(d) : d }

    @discardableResult
    mutating func add(_ date: Int, _ event: PathwayEvent, _ outcome: UInt8 = 0, _ setting: CareSetting, _ unit: Int,
                      emergency: Int = Int.min, broken: Bool = false) -> Int {
        plan.append(Entry(date: date, seq: seq, event: event, outcome: outcome, setting: setting, unit: unit,
                          emergency: emergency, broken: broken))
        seq += 1
        return plan.count - 1
    }

    /// The end of a pathway: the final evaluation point, help needed, then X — in that order, one date.
    mutating func end(_ date: Int, _ outcome: UInt8, _ s: CareSetting, _ unit: Int, finalE: Bool = false,
                      help: UInt8 = 0, help2: UInt8 = 0) {
        if finalE { add(date, .evaluation, 0, s, unit) }
        if help != 0 { add(date, .helpNeeded, help, s, unit) }
        if help2 != 0 && help2 != help { add(date, .helpNeeded, help2, s, unit) }
        add(date, .end, outcome, s, unit)
    }

    mutating func dropOut(_ date: Int, _ s: CareSetting, _ unit: Int) {
        end(date, rng.chance(0.55) ? letterP : letterM, s, unit)
    }

    mutating func build(start: Int, transfer: Bool) {
        plan.removeAll(keepingCapacity: true)
        seq = 0
        aIndex = -1; mIndex = -1; cuIndex = -1; ubIndex = -1; decisionDate = -1
        let primaryIn = rng.chance(0.20)
        let detox = rng.chance(transfer ? 0.05 : 0.27)
        let emergency = !transfer && rng.chance(0.05)
        polUnit = institution * 2 + rng.int(0, 1)
        let dognUnit = 40 + institution, avrUnit = 60 + institution
        mainAuthor = rng.int(0, 29)
        let ts: CareSetting = primaryIn ? .inpatient : .outpatient // the treatment setting
        let tu = primaryIn ? dognUnit : polUnit

        // A: the referral's receiving date (a weekday), or the decision date after an emergency assessment.
        var a = start
        if !emergency { a = workday(start); if a > to { a = start } }
        var emergencyDate = Int.min
        if emergency { emergencyDate = a - (rng.chance(0.1) ? rng.int(15, 21) : rng.int(0, 14)) }
        aIndex = add(a, .start, 0, detox ? .inpatient : ts, detox ? avrUnit : tu, emergency: emergencyDate)

        // Right to health care not granted: XR directly after A, on the assessment date.
        if !detox && !emergency && rng.chance(0.05) {
            end(day(a + rng.int(3, 10), ts), letterR, ts, tu)
            return
        }

        // Detox at the start, then M; otherwise M after the wait (with A after an emergency start).
        var m: Int
        if detox {
            if rng.chance(0.06) { // left detox early
                dropOut(a + rng.int(1, 7), .inpatient, avrUnit)
                return
            }
            let d = a + rng.int(2, 12)
            add(d, .detoxFinished, 0, .inpatient, avrUnit)
            if primaryIn { m = rng.chance(0.9) ? d : d + rng.int(1, 3) }
            else { m = workday(d + (rng.chance(0.85) ? rng.int(0, 3) : rng.int(4, 10))) }
        } else if emergency {
            m = a
        } else {
            m = day(a + (primaryIn ? rng.int(7, 42) : rng.skewed(5, 40)), ts)
        }
        mIndex = add(m, .firstAttendance, 0, ts, tu)

        // Ended after the first conversation: XA, sometimes with H.
        if rng.chance(0.03) {
            let h = rng.chance(0.6) ? [letterK, letterI, letterA][rng.int(0, 2)] : 0
            end(day(m + rng.int(0, 7), ts), letterA, ts, tu, help: h)
            return
        }

        // Basic assessment, perhaps postponed by the patient (L before the decision).
        let earlyL = rng.chance(0.08)
        let delay = earlyL ? rng.int(7, 28) : 0
        let basic = primaryIn ? (rng.chance(0.88) ? rng.int(2, 7) : rng.int(8, 14))
                              : (rng.chance(0.88) ? rng.int(5, 21) : rng.int(22, 35))
        let c1 = day(m + basic + delay, ts)
        let lDate = earlyL ? min(max(m, day(m + rng.int(3, 14), ts)), c1 - 1) : -1
        if rng.chance(0.06) { // dropped out during the assessment
            let x = day(m + rng.int(1, basic + delay), ts)
            if earlyL && lDate <= x { add(lDate, .patientPostponed, 0, ts, tu) }
            dropOut(x, ts, tu)
            return
        }
        if earlyL { add(lDate, .patientPostponed, 0, ts, tu) }
        if rng.chance(0.85) { ubIndex = add(min(day(m + rng.int(0, c1 - m), ts), c1), .activity, letterB, ts, tu) }

        // Extended assessment: CU, then the final decision.
        var decision = c1
        if rng.chance(primaryIn ? 0.05 : 0.22) {
            cuIndex = add(c1, .clinicalDecision, letterU, ts, tu)
            let ext = rng.chance(0.88) ? rng.int(14, 42) : rng.int(43, 60)
            if rng.chance(0.05) {
                dropOut(day(c1 + rng.int(1, ext), ts), ts, tu)
                return
            }
            decision = day(c1 + ext, ts)
        }
        decisionDate = decision

        // The final decision: one or more service needs on one date. (A bare C is not generated: the
        // code model requires an outcome on C.)
        let need = decisionOutcomes[rng.pick(decisionCum)]
        add(decision, .clinicalDecision, need, ts, tu)
        let r = rng.int(0, 99)
        if need == letterT {
            if r < 12 { add(decision, .clinicalDecision, letterK, ts, tu) }
            else if r < 17 { add(decision, .clinicalDecision, letterP, ts, tu) }
            else if r < 20 { add(decision, .clinicalDecision, letterA, ts, tu) }
        } else if (need == letterP && r < 20) || (need == letterA && r < 30) {
            add(decision, .clinicalDecision, letterK, ts, tu)
        }
        if need != letterT {
            // No treatment in TSB: feedback to the referrer, then the pathway ends with the need as help.
            if rng.chance(0.8) { add(decision, .feedback, 0, ts, tu) }
            let x = day(decision + rng.int(0, 14), ts)
            if need == letterP {
                end(x, letterN, ts, tu, help: letterP, help2: rng.chance(0.3) ? letterT : 0)
            } else {
                end(x, letterG, ts, tu, help: need, help2: need == letterA && rng.chance(0.3) ? letterK : 0)
            }
            return
        }

        // Treatment: the first E (with the treatment plan: UU and F), then E every 4–9 weeks.
        let firstE = day(decision + (primaryIn ? (rng.chance(0.88) ? rng.int(1, 7) : rng.int(8, 14))
                                               : (rng.chance(0.88) ? rng.int(3, 14) : rng.int(15, 28))), ts)
        var outcome = treatmentEnds[rng.pick(treatmentEndCum)]
        var length: Int
        switch outcome {
        case letterG: length = 90 + rng.skewed(0, 640)
        case letterP, letterM: length = 14 + rng.skewed(0, 300)
        default: length = 30 + rng.skewed(0, 500)
        }
        var switchDay = Int.max // an inpatient stay may be followed by outpatient treatment
        if primaryIn {
            let stay = rng.int(21, 112)
            if length <= stay || rng.chance(0.4) { length = stay } else { switchDay = firstE + stay }
        }
        @inline(__always) func settingAt(_ d: Int) -> CareSetting { d >= switchDay ? .outpatient : ts }
        let pu = polUnit
        @inline(__always) func unitAt(_ d: Int) -> Int { d >= switchDay ? pu : tu }
        let endDate = day(firstE + length, settingAt(firstE + length))
        // XS (to a contract specialist) exists from 2022-09-30; before that such a transfer was an XO.
        if outcome == letterS && endDate < Engine.transferToSpecialistFrom { outcome = letterO }

        let lBefore = !earlyL && rng.chance(0.06) ? rng.int(1, 3) : -1 // L before the n-th E
        var e = firstE, previous = decision, index = 0
        while true {
            let s = settingAt(e), u = unitAt(e)
            if index == lBefore { add(max(previous, e - rng.int(1, 7)), .patientPostponed, 0, s, u) }
            add(e, .evaluation, 0, s, u)
            if index == 0 {
                if rng.chance(0.85) { add(e, .activity, letterU, s, u) }
                if rng.chance(0.9) { add(e, .feedback, 0, s, u) }
            } else if rng.chance(0.08) {
                add(e, .feedback, 0, s, u) // the plan changed a lot
            }
            index += 1
            let gap: Int
            if e - firstE >= 365 { gap = rng.chance(0.95) ? rng.int(42, 84) : rng.int(85, 100) }
            else if s == .inpatient { gap = rng.chance(0.92) ? rng.int(21, 42) : rng.int(43, 56) }
            else { gap = rng.chance(0.92) ? rng.int(28, 56) : rng.int(57, 70) }
            let next = e + gap
            if next >= endDate - 7 { break }
            previous = e
            e = day(next, settingAt(next))
        }
        if rng.chance(outcome == letterG ? 0.7 : 0.3) { // the feedback tool, near the end
            let d = endDate - rng.int(0, 21)
            add(min(endDate, max(firstE, day(d, settingAt(d)))), .activity, letterF, settingAt(d), unitAt(d))
        }
        let s = settingAt(endDate), u = unitAt(endDate)
        switch outcome {
        case letterG:
            let h = helpOutcomes[rng.pick(helpCum)]
            end(endDate, outcome, s, u, finalE: true, help: h, help2: rng.chance(0.25) ? helpOutcomes[rng.pick(helpCum)] : 0)
        case letterN:
            end(endDate, outcome, s, u, finalE: true, help: rng.chance(0.7) ? letterP : letterT)
        case letterO, letterS:
            end(endDate, outcome, s, u, finalE: true)
        case letterA:
            end(endDate, outcome, s, u, help: rng.chance(0.3) ? helpOutcomes[rng.pick(helpCum)] : 0)
        default:
            end(endDate, outcome, s, u)
        }
    }

    /// About 0.5 % of registrations break a pathway rule, so that findings appear: a second M, a
    /// third decision, UB twice, CU with another outcome on its date, a second A, or something after X.
    mutating func injectRuleBreak() {
        guard rng.chance(0.005 * Double(plan.count)) else { return }
        let x = plan[plan.count - 1] // the X: always planned last
        let kind = rng.int(0, 4)
        switch kind {
        case 0 where mIndex >= 0 && x.date - 1 > plan[mIndex].date:
            let m = plan[mIndex]
            add(rng.int(m.date + 1, min(m.date + 60, x.date - 1)), .firstAttendance, 0, m.setting, m.unit, broken: true)
        case 1 where cuIndex >= 0 && decisionDate >= 0 && x.date - 1 > decisionDate:
            add(rng.int(decisionDate + 1, min(decisionDate + 60, x.date - 1)), .clinicalDecision, letterT,
                x.setting, x.unit, broken: true)
        case 2 where ubIndex >= 0 && x.date - 1 > plan[ubIndex].date:
            let ub = plan[ubIndex]
            add(rng.int(ub.date + 1, min(ub.date + 60, x.date - 1)), .activity, letterB, ub.setting, ub.unit, broken: true)
        case 3 where cuIndex >= 0:
            let cu = plan[cuIndex]
            add(cu.date, .clinicalDecision, letterT, cu.setting, cu.unit, broken: true)
        case 4 where x.date - 1 > plan[aIndex].date:
            let a = plan[aIndex]
            add(rng.int(a.date + 1, min(a.date + 10, x.date - 1)), .start, 0, a.setting, a.unit, broken: true)
        default:
            add(x.date + rng.int(1, 20), .evaluation, 0, x.setting, x.unit, broken: true)
        }
    }

    // MARK: Finalising and writing

    /// Orders the plan, drops what lies after `to`, gives ids and recording times, writes the lines,
    /// then the episode's corrections and voidings.
    mutating func finalise(_ emit: Emit) -> (UInt8, Int) {
        plan.sort { ($0.date, $0.seq) < ($1.date, $1.seq) }
        while let last = plan.last, last.date > to { plan.removeLast() }
        let count = plan.count
        for i in 0..<count {
            plan[i].id = nextID; nextID += 1
            let bits = rng.next()
            plan[i].author = (institution + 1) * 100 + ((bits & 0xFF) < 179 ? mainAuthor : Int((bits >> 8) & 0xFFFF) % 30)
            plan[i].module = (bits >> 24) & 0xFF < 26 // about 10 % in the pathway-module spelling
            plan[i].note = (bits >> 32) & 0xFF < 5 ? Int((bits >> 40) & 0xFF) % notes.count : -1
            // 07–15 UTC, the same Oslo day; on one day, in registration order.
            plan[i].recordSecond = 7 * 3600 + Int((bits >> 48) & 0xFFFF) % (8 * 3600)
            var rec = plan[i].date
            if rng.chance(0.05) { // recorded days after the date
                rec = min(to, rec + (rng.chance(0.7) ? rng.int(1, 7) : rng.int(8, 30)))
                if rec > plan[i].date { summary.lateRecorded += 1 }
            }
            plan[i].recordDay = rec
            if i > 0 && plan[i - 1].recordDay == rec && plan[i - 1].recordSecond >= plan[i].recordSecond {
                plan[i].recordSecond = min(20 * 3600, plan[i - 1].recordSecond + 60 + Int((bits >> 56) & 0xFF) * 4)
            }
            if plan[i].broken { summary.ruleBreaks += 1 }
            writeRegistration(plan[i])
            finishLine(emit)
        }
        summary.registrations += count

        // About 1 % are corrected or voided later (not the deliberate rule breaks).
        for i in 0..<count where rng.chance(0.01) && !plan[i].broken {
            correctOrVoid(i, emit)
        }

        let last = plan[count - 1]
        if last.event == .end { return (last.outcome, last.date) }
        summary.openEpisodes += 1
        return (0, last.date)
    }

    mutating func correctOrVoid(_ i: Int, _ emit: Emit) {
        let target = plan[i]
        // Voided: F, L, UU, UF, or an E when another stays (so no rule breaks: the evaluation-at-end
        // rule wants an E between the final decision and the end).
        let voidable = target.event == .feedback || target.event == .patientPostponed
            || (target.event == .activity && target.outcome != letterB)
            || (target.event == .evaluation && anotherEvaluationStays(besides: i))
        let author = (target.author / 100) * 100 + rng.int(0, 29)
        if voidable && rng.chance(0.35) {
            plan[i].voided = true
            let id = nextID; nextID += 1
            let reason = rng.int(0, Places.voidReasons.count - 1)
            guard !csv else { return }
            summary.voidings += 1
            buf.put("{\"id\":\"r-"); buf.decimal(id)
            buf.put("\",\"voids\":\"r-"); buf.decimal(target.id)
            buf.put("\",\"reason\":\""); buf.put(Array(Places.voidReasons[reason].utf8))
            buf.put("\",\"author\":\"u-"); buf.decimal(author)
            buf.put("\"}")
            finishLine(emit)
            return
        }
        var replacement = target
        var targetID = target.id
        let recordDay = min(to, max(target.recordDay, target.date + rng.int(1, 60)))
        for round in 0..<2 {
            // What was wrong: the date (only of D, L, U, F and E, and only between its neighbours, so
            // the pathway order stays and no rule breaks), the unit (outpatient clinics), the help
            // outcome, or a missing note.
            var reason = 3
            let lo = i > 0 ? plan[i - 1].date : replacement.date
            let hi = i + 1 < plan.count ? plan[i + 1].date : min(to, replacement.date + 3)
            let datable = (replacement.event == .detoxFinished || replacement.event == .patientPostponed
                || replacement.event == .activity || replacement.event == .feedback
                || replacement.event == .evaluation) && hi > lo
            switch rng.int(0, 2) {
            case 0 where datable:
                var d = rng.int(lo, hi)
                if d == replacement.date { d = d == hi ? lo : d + 1 }
                replacement.date = d; reason = 0
            case 1 where replacement.unit < 40:
                replacement.unit ^= 1; reason = 1 // the institution's other outpatient clinic
            case 2 where replacement.event == .helpNeeded:
                var h = helpOutcomes[rng.int(0, helpOutcomes.count - 1)]
                while plan.contains(where: { $0.event == .helpNeeded && $0.outcome == h }) || h == replacement.outcome {
                    h = helpOutcomes[rng.int(0, helpOutcomes.count - 1)]
                }
                replacement.outcome = h; reason = 2
            default:
                replacement.note = rng.int(0, notes.count - 1)
            }
            let id = nextID; nextID += 1
            replacement.id = id
            replacement.author = author
            replacement.recordDay = max(recordDay, replacement.date) // never before the date it states
            replacement.recordSecond = min(20 * 3600, max(replacement.recordSecond, target.recordSecond) + 600 * (round + 1))
            replacement.emergency = target.emergency
            if !csv {
                summary.corrections += 1
                buf.put("{\"id\":\"r-"); buf.decimal(id)
                buf.put("\",\"corrects\":\"r-"); buf.decimal(targetID)
                buf.put("\",\"reason\":\""); buf.put(Array(Places.correctionReasons[reason].utf8))
                buf.put("\",")
                writeFields(replacement)
                finishLine(emit)
            }
            // Now and then the correction itself is corrected (correcting a correction works).
            guard round == 0, rng.chance(0.1) else { break }
            targetID = id
        }
    }

    /// Whether voiding the E at `i` leaves another E between the final decision and the end (after
    /// the decision, if the episode is still open). Not counted: Es already voided, and the
    /// deliberate rule break (an E after X). Corrections move an E only between its neighbours, so
    /// never out of that span.
    func anotherEvaluationStays(besides i: Int) -> Bool {
        let end = plan.last { $0.event == .end }?.date ?? Int.max
        for j in plan.indices where j != i {
            let e = plan[j]
            if e.event == .evaluation && !e.broken && !e.voided && e.date >= decisionDate && e.date <= end { return true }
        }
        return false
    }

    /// `{"id":"r-…",` and the registration fields.
    mutating func writeRegistration(_ e: Entry) {
        if csv {
            buf.put("r-"); buf.decimal(e.id)
            buf.put(",EP-"); buf.decimal(episodeNumber, width: 6)
            buf.put(",P-"); buf.hex(patientValue, digits: patientDigits)
            buf.byte(44); buf.put(institutionNames[institution])
            buf.byte(44); buf.put(unitNames[e.unit])
            buf.put(e.setting == .outpatient ? ",outpatient,D01" : ",inpatient,D01")
            buf.byte(eventLetters[Int(e.event.rawValue)])
            if e.outcome != 0 { buf.byte(e.outcome) }
            buf.byte(44); buf.date(e.date)
            buf.put(",u-"); buf.decimal(e.author)
            buf.byte(44); buf.instant(day: e.recordDay, secondOfDay: e.recordSecond)
            lineSecond = Int64(e.recordDay) * 86_400 + Int64(e.recordSecond)
            return
        }
        buf.put("{\"id\":\"r-"); buf.decimal(e.id)
        buf.put("\",")
        writeFields(e)
    }

    /// The registration fields from `"episode"` on, and the closing brace.
    mutating func writeFields(_ e: Entry) {
        buf.put("\"episode\":\"EP-"); buf.decimal(episodeNumber, width: 6)
        buf.put("\",\"patient\":\"P-"); buf.hex(patientValue, digits: patientDigits)
        buf.put("\",\"institution\":\""); buf.put(institutionNames[institution])
        buf.put("\",\"unit\":\""); buf.put(unitNames[e.unit])
        buf.put(e.setting == .outpatient ? "\",\"setting\":\"outpatient" : "\",\"setting\":\"inpatient")
        if e.module {
            buf.put("\",\"pathway\":\"D01\",\"event\":\""); buf.byte(eventLetters[Int(e.event.rawValue)])
            if e.outcome != 0 { buf.put("\",\"outcome\":\""); buf.byte(e.outcome) }
        } else {
            buf.put("\",\"code\":\"D01"); buf.byte(eventLetters[Int(e.event.rawValue)])
            if e.outcome != 0 { buf.byte(e.outcome) }
        }
        buf.put("\",\"date\":\""); buf.date(e.date)
        buf.put("\",\"author\":\"u-"); buf.decimal(e.author)
        buf.put("\",\"recordedAt\":\""); buf.instant(day: e.recordDay, secondOfDay: e.recordSecond)
        lineSecond = Int64(e.recordDay) * 86_400 + Int64(e.recordSecond)
        buf.byte(34)
        if e.note >= 0 { buf.put(",\"note\":\""); buf.put(notes[e.note]); buf.byte(34) }
        if e.emergency != Int.min { buf.put(",\"emergencyAssessmentDate\":\""); buf.date(e.emergency); buf.byte(34) }
        buf.byte(125)
    }

    @inline(__always) mutating func finishLine(_ emit: Emit) {
        summary.lines += 1
        if chunked {
            buf.byte(10)
            if buf.count > buf.capacity - 4096 { emit(0, buf.bytes); buf.count = 0 }
        } else {
            episodeSecond = max(episodeSecond, lineSecond)
            emit(episodeSecond, buf.bytes)
            buf.count = 0
        }
        lineSecond = 0
    }
}
