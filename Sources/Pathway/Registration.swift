/// One pathway-code registration, exactly as a hospital system sent it.
///
/// The patient is a pseudonym: the ledger never needs a national identity number (fødselsnummer)
/// and the ingest rejects values shaped like one.
public struct Registration: Equatable, Sendable {
    /// The client-given id: the idempotency key.
    public var id: String
    public var episode: String
    public var patient: String
    public var institution: String
    public var unit: String
    public var setting: CareSetting
    public var code: PathwayCode
    /// The calendar date (Europe/Oslo) the code stands for.
    public var date: CivilDate
    public var author: String
    /// When the source system registered it; nil means "when the ledger appended it".
    public var recordedAt: Instant?
    public var note: String?
    /// Only on an A: the date of the emergency (øyeblikkelig hjelp) assessment that led to the start.
    public var emergencyAssessmentDate: CivilDate?

    public init(id: String, episode: String, patient: String, institution: String, unit: String,
                setting: CareSetting, code: PathwayCode, date: CivilDate, author: String,
                recordedAt: Instant? = nil, note: String? = nil, emergencyAssessmentDate: CivilDate? = nil) {
        self.id = id; self.episode = episode; self.patient = patient; self.institution = institution
        self.unit = unit; self.setting = setting; self.code = code; self.date = date; self.author = author
        self.recordedAt = recordedAt; self.note = note; self.emergencyAssessmentDate = emergencyAssessmentDate
    }
}

/// Voids an earlier registration (or an earlier correction): as if it had never been registered.
public struct Voiding: Equatable, Sendable {
    public var id: String
    public var target: String
    public var reason: String
    public var author: String
    public var recordedAt: Instant?
    public init(id: String, target: String, reason: String, author: String, recordedAt: Instant? = nil) {
        self.id = id; self.target = target; self.reason = reason; self.author = author; self.recordedAt = recordedAt
    }
}

/// Replaces an earlier registration with a full new one, at the original's place in the history.
/// The replacement's `id` is the correction's own id, so a correction can itself be corrected.
public struct Correction: Equatable, Sendable {
    public var target: String
    public var reason: String
    public var replacement: Registration
    public var id: String { replacement.id }
    public init(target: String, reason: String, replacement: Registration) {
        self.target = target; self.reason = reason; self.replacement = replacement
    }
}

/// Everything the ledger stores is one of these. Corrections are events too, never edits.
public enum LedgerEvent: Equatable, Sendable {
    case registration(Registration)
    case voiding(Voiding)
    case correction(Correction)

    public var id: String {
        switch self {
        case .registration(let r): r.id
        case .voiding(let v): v.id
        case .correction(let c): c.id
        }
    }
    public var recordedAt: Instant? {
        switch self {
        case .registration(let r): r.recordedAt
        case .voiding(let v): v.recordedAt
        case .correction(let c): c.replacement.recordedAt
        }
    }
    public var author: String {
        switch self {
        case .registration(let r): r.author
        case .voiding(let v): v.author
        case .correction(let c): c.replacement.author
        }
    }
    /// The episode named in the event itself; a voiding names none (its episode is its target's).
    public var namedEpisode: String? {
        switch self {
        case .registration(let r): r.episode
        case .voiding: nil
        case .correction(let c): c.replacement.episode
        }
    }
    /// The id this event voids or corrects.
    public var target: String? {
        switch self {
        case .registration: nil
        case .voiding(let v): v.target
        case .correction(let c): c.target
        }
    }
    public var kind: EventKind {
        switch self {
        case .registration: .registration
        case .voiding: .voiding
        case .correction: .correction
        }
    }
}

public enum EventKind: String, Sendable {
    case registration, voiding = "void", correction
}
