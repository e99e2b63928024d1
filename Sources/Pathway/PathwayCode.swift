/// The pathway codes (forløpskoder) of the TSB pathway, from the Volven code systems 9321–9328.
///
/// A registration carries one ``PathwayCode``: an event letter (9322) and, for the events that take
/// one, an outcome letter from the code system that belongs to that event. Both spellings a hospital
/// system can send — the pathway module's separate fields (`pathway` D01, `event` C, `outcome` T) and
/// the procedure code (`D01CT`) — parse to the same value and print back to either.

/// 9321: the pathway type. Only TSB for adults is in scope.
public enum PathwayType: String, Sendable, CaseIterable {
    case d01 = "D01"
    public var norwegian: String { "Tverrfaglig spesialisert rusbehandling (TSB)" }
    public var english: String { "Substance-use treatment pathway (TSB)" }
}

/// 9322: the event (hendelse) a code registers.
public enum PathwayEvent: UInt8, Sendable, CaseIterable, Comparable {
    case start, firstAttendance, detoxFinished, patientPostponed, clinicalDecision
    case activity, feedback, evaluation, end, helpNeeded

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var letter: Character {
        switch self {
        case .start: "A"; case .firstAttendance: "M"; case .detoxFinished: "D"; case .patientPostponed: "L"
        case .clinicalDecision: "C"; case .activity: "U"; case .feedback: "F"; case .evaluation: "E"
        case .end: "X"; case .helpNeeded: "H"
        }
    }
    /// The letter as an ASCII byte, without going through `Character` (this is on the append path).
    public var letterByte: UInt8 {
        switch self {
        case .start: 0x41; case .firstAttendance: 0x4D; case .detoxFinished: 0x44; case .patientPostponed: 0x4C
        case .clinicalDecision: 0x43; case .activity: 0x55; case .feedback: 0x46; case .evaluation: 0x45
        case .end: 0x58; case .helpNeeded: 0x48
        }
    }

    public init?(letter: UInt8) {
        switch letter {
        case UInt8(ascii: "A"): self = .start
        case UInt8(ascii: "M"): self = .firstAttendance
        case UInt8(ascii: "D"): self = .detoxFinished
        case UInt8(ascii: "L"): self = .patientPostponed
        case UInt8(ascii: "C"): self = .clinicalDecision
        case UInt8(ascii: "U"): self = .activity
        case UInt8(ascii: "F"): self = .feedback
        case UInt8(ascii: "E"): self = .evaluation
        case UInt8(ascii: "X"): self = .end
        case UInt8(ascii: "H"): self = .helpNeeded
        default: return nil
        }
    }
    /// The code system that holds this event's outcomes, if the event takes one.
    public var outcomeSystem: OutcomeSystem? {
        switch self {
        case .clinicalDecision: .decision
        case .activity: .activity
        case .end: .end
        case .helpNeeded: .helpNeeded
        default: nil
        }
    }
    /// Whether a code of this event must carry an outcome. PATHWAY.md lets a clinical decision stand
    /// alone when treatment is granted without assessment, but the seed (001, "Klinisk beslutning")
    /// says a service-need code is registered then too, so every C carries an outcome. The seed wins.
    public var requiresOutcome: Bool { outcomeSystem != nil }

    /// The code text (kodetekst) as the code guide prints it since 2023 ("nasjonalt pasientforløp").
    public var norwegian: String {
        switch self {
        case .start: "Nasjonalt pasientforløp start"
        case .firstAttendance: "Første fremmøte i nasjonalt pasientforløp"
        case .detoxFinished: "Avrusning avsluttet"
        case .patientPostponed: "Pasientutsatt forløp"
        case .clinicalDecision: "Klinisk beslutning"
        case .activity: "Utført aktivitet"
        case .feedback: "Tilbakemelding til henviser og fastlege sendt underveis i forløpet"
        case .evaluation: "Evalueringspunkt"
        case .end: "Avslutning av nasjonalt pasientforløp"
        case .helpNeeded: "Hjelpebehov ved avslutning av nasjonalt pasientforløp i spesialisthelsetjenesten"
        }
    }
    public var english: String {
        switch self {
        case .start: "pathway start"
        case .firstAttendance: "first attendance"
        case .detoxFinished: "detox finished"
        case .patientPostponed: "patient-postponed pathway"
        case .clinicalDecision: "clinical decision"
        case .activity: "activity performed"
        case .feedback: "feedback sent to referrer and GP"
        case .evaluation: "evaluation point"
        case .end: "pathway end"
        case .helpNeeded: "help needed at pathway end"
        }
    }
}

/// The code systems that hold outcomes, by Volven OID.
public enum OutcomeSystem: Int, Sendable, CaseIterable {
    case decision = 9323, activity = 9325, end = 9326, helpNeeded = 9328

    /// The outcome letters the system defines, in the order the code guide lists them.
    public var letters: [Character] {
        switch self {
        case .decision: ["U", "P", "T", "S", "K", "A", "I"]
        case .activity: ["B", "U", "F"]
        case .end: ["G", "P", "M", "A", "R", "O", "N", "S"]
        case .helpNeeded: ["P", "T", "S", "K", "A", "I"]
        }
    }
    /// Whether the system defines this outcome letter (no allocation: it runs per parsed line).
    public func contains(_ letter: UInt8) -> Bool {
        switch self {
        case .decision: "UPTSKAI".utf8.contains(letter)
        case .activity: "BUF".utf8.contains(letter)
        case .end: "GPMAROSN".utf8.contains(letter)
        case .helpNeeded: "PTSKAI".utf8.contains(letter)
        }
    }

    /// The outcome's code text, verbatim from the code guide (seed 001).
    public func norwegian(_ letter: Character) -> String {
        switch (self, letter) {
        case (.decision, "U"): "Behov for utvidet utredning"
        case (.decision, "P"), (.helpNeeded, "P"): "Behov for behandling innen psykisk helsevern"
        case (.decision, "T"), (.helpNeeded, "T"): "Behov for behandling innen TSB"
        case (.decision, "S"), (.helpNeeded, "S"): "Behov for behandling fra annen spesialisthelsetjeneste (ikke psykisk helsevern eller TSB)"
        case (.decision, "K"), (.helpNeeded, "K"): "Behov for behandling og/eller oppfølging fra fastlege, kommunal helse- og omsorgstjeneste"
        case (.decision, "A"): "Behov for oppfølging fra andre instanser som NAV, PPT, arbeidsgiver, skole, barnevern m.m."
        case (.helpNeeded, "A"): "Behov for oppfølging fra andre instanser som NAV, PPT, arbeidsgiver, skole, barnevern mm."
        case (.decision, "I"), (.helpNeeded, "I"): "Ikke behov for videre behandling og/eller oppfølging"
        case (.activity, "B"): "Pasient og/eller foreldre og eventuelt pårørende er informert om de ulike behandlingsformer enheten tilbyr for aktuell lidelse"
        case (.activity, "U"): "Pasient og/eller foreldre og eventuelt pårørende er involvert i utarbeidelse av behandlingsplan"
        case (.activity, "F"): "Brukt feedbackverktøy"
        case (.end, "G"): "Avslutning av gjennomført nasjonalt pasientforløp"
        case (.end, "P"): "Avbrudd etter pasientens/foresattes eget ønske"
        case (.end, "M"): "Avbrudd fordi pasienten ikke har møtt"
        case (.end, "A"): "Avslutning av andre årsaker"
        case (.end, "R"): "Rett til helsehjelp ikke innvilget"
        case (.end, "O"): "Overført til annet helseforetak / privat behandlingssted for videreføring av pågående nasjonalt pasientforløp"
        case (.end, "N"): "Overført til annet nasjonalt pasientforløp innen psykisk helse eller rus"
        case (.end, "S"): "Overført til avtalespesialist for ferdigbehandling og avslutning av nasjonalt pasientforløp"
        default: "?"
        }
    }
    public func english(_ letter: Character) -> String {
        switch (self, letter) {
        case (.decision, "U"): "needs extended assessment"
        case (.decision, "P"), (.helpNeeded, "P"): "needs mental-health care"
        case (.decision, "T"), (.helpNeeded, "T"): "needs treatment in TSB"
        case (.decision, "S"), (.helpNeeded, "S"): "needs other specialist care"
        case (.decision, "K"), (.helpNeeded, "K"): "needs GP / municipal follow-up"
        case (.decision, "A"), (.helpNeeded, "A"): "needs follow-up from other agencies"
        case (.decision, "I"), (.helpNeeded, "I"): "no further need"
        case (.activity, "B"): "informed about treatment options"
        case (.activity, "U"): "involved in making the treatment plan"
        case (.activity, "F"): "feedback tool used"
        case (.end, "G"): "completed"
        case (.end, "P"): "dropped out at patient's own wish"
        case (.end, "M"): "dropped out, patient did not attend"
        case (.end, "A"): "ended for other reasons"
        case (.end, "R"): "right to health care not granted"
        case (.end, "O"): "transferred to another trust or private institution"
        case (.end, "N"): "transferred to another pathway"
        case (.end, "S"): "transferred to a contract specialist, measuring ends"
        default: "?"
        }
    }
}

/// One pathway code: an event and, where the event takes one, an outcome letter (ASCII).
///
/// Packed into two bytes so the fold over millions of events never touches a `String`.
public struct PathwayCode: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let event: PathwayEvent
    /// The outcome letter as an ASCII byte, or 0 for none.
    public let outcomeByte: UInt8

    public init(_ event: PathwayEvent) { self.event = event; self.outcomeByte = 0 }

    /// Puts a code back together from parts that were checked when it was registered (folds keep
    /// codes as two bytes); `outcome` 0 means none.
    @inline(__always) public init(unchecked event: PathwayEvent, outcome: UInt8) { self.event = event; self.outcomeByte = outcome }

    /// Builds a code, checking that the outcome belongs to the event's code system.
    public init?(event: PathwayEvent, outcome: UInt8?) {
        if let o = outcome {
            guard let system = event.outcomeSystem, system.contains(o) else { return nil }
            self.event = event; self.outcomeByte = o
        } else {
            guard !event.requiresOutcome else { return nil }
            self.event = event; self.outcomeByte = 0
        }
    }

    public var outcome: Character? { outcomeByte == 0 ? nil : Character(Unicode.Scalar(outcomeByte)) }

    /// The procedure-code spelling, `D01CT`.
    public var procedureCode: String {
        var s = "D01" + String(event.letter)
        if let o = outcome { s.append(o) }
        return s
    }
    public var description: String { procedureCode }

    /// The pathway-module spelling: type, event, outcome as separate fields.
    public var moduleFields: (pathway: String, event: String, outcome: String?) {
        ("D01", String(event.letter), outcome.map { String($0) })
    }

    /// Parses the procedure spelling (`D01CT`) from raw bytes.
    public init?(procedureCode b: UnsafeRawBufferPointer) {
        guard b.count == 4 || b.count == 5, b[0] == UInt8(ascii: "D"), b[1] == UInt8(ascii: "0"), b[2] == UInt8(ascii: "1"),
              let ev = PathwayEvent(letter: b[3]) else { return nil }
        self.init(event: ev, outcome: b.count == 5 ? b[4] : nil)
    }
    public init?(procedureCode s: String) {
        var t = s
        guard let c = t.withUTF8({ PathwayCode(procedureCode: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = c
    }
    /// Parses the module spelling.
    public init?(pathway: String, event: String, outcome: String?) {
        guard pathway == "D01", event.utf8.count == 1, let ev = PathwayEvent(letter: event.utf8.first!) else { return nil }
        if let o = outcome {
            guard o.utf8.count == 1 else { return nil }
            self.init(event: ev, outcome: o.utf8.first!)
        } else {
            self.init(event: ev, outcome: nil)
        }
    }

    public var norwegian: String {
        guard let o = outcome, let sys = event.outcomeSystem else { return event.norwegian }
        return event.norwegian + ": " + sys.norwegian(o)
    }
    public var english: String {
        guard let o = outcome, let sys = event.outcomeSystem else { return event.english }
        return event.english + ": " + sys.english(o)
    }

    /// Every valid code, in code-guide order: what `pathway codes` lists and tests round-trip.
    public static let all: [PathwayCode] = PathwayEvent.allCases.flatMap { ev -> [PathwayCode] in
        var codes: [PathwayCode] = []
        if !ev.requiresOutcome { codes.append(PathwayCode(ev)) }
        if let sys = ev.outcomeSystem {
            for l in sys.letters { codes.append(PathwayCode(event: ev, outcome: l.asciiValue!)!) }
        }
        return codes
    }

    public static func < (a: Self, b: Self) -> Bool { (a.event.rawValue, a.outcomeByte) < (b.event.rawValue, b.outcomeByte) }

    // Shorthands used throughout the domain code.
    public static let A = PathwayCode(.start), M = PathwayCode(.firstAttendance), D = PathwayCode(.detoxFinished)
    public static let L = PathwayCode(.patientPostponed), F = PathwayCode(.feedback), E = PathwayCode(.evaluation)
    public static func C(_ o: Character) -> PathwayCode { PathwayCode(event: .clinicalDecision, outcome: o.asciiValue!)! }
    public static func U(_ o: Character) -> PathwayCode { PathwayCode(event: .activity, outcome: o.asciiValue!)! }
    public static func X(_ o: Character) -> PathwayCode { PathwayCode(event: .end, outcome: o.asciiValue!)! }
    public static func H(_ o: Character) -> PathwayCode { PathwayCode(event: .helpNeeded, outcome: o.asciiValue!)! }
}

/// Where the patient is treated. Not in the codes themselves, so every registration carries it.
public enum CareSetting: UInt8, Sendable, CaseIterable {
    case outpatient = 1, inpatient = 2
    public var name: String { self == .outpatient ? "outpatient" : "inpatient" }
    public init?(name: String) {
        switch name {
        case "outpatient": self = .outpatient
        case "inpatient": self = .inpatient
        default: return nil
        }
    }
}
