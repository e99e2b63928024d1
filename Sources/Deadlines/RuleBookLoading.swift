import Foundation
import Pathway

// Foundation is used here only to find and decode the rule-set resources, once, at startup.

extension RuleBook {
    /// The rule sets shipped in `RuleSets/*.json`. Adding a version is adding a file.
    public static let bundled: RuleBook = {
        do { return try loadBundled() } catch { fatalError("cannot load the bundled rule sets: \(error)") }
    }()

    /// Loads every `*.json` file of the bundled `RuleSets` directory, in file-name order.
    public static func loadBundled() throws(RuleBookError) -> RuleBook {
        guard let dir = Bundle.module.url(forResource: "RuleSets", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
            throw .malformed(file: "RuleSets", reason: "the resource directory is missing from the bundle")
        }
        var sets: [RuleSet] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else {
                throw .malformed(file: name, reason: "cannot be read")
            }
            sets.append(try RuleSet(json: Array(data), file: name))
        }
        return try RuleBook(sets)
    }
}

extension RuleSet {
    private struct FileShape: Decodable {
        var version: String
        var effectiveFrom: String
        var source: String?
        var timers: [String: TimerShape]
    }
    private struct TimerShape: Decodable {
        var outpatient: Int?
        var inpatient: Int?
        var patientPostponable: Bool?
        var carryOverUnusedBasicDays: Bool?
        var fromSecondYear: SecondYearShape?
    }
    private struct SecondYearShape: Decodable {
        var afterDays: Int
        var outpatient: Int?
        var inpatient: Int?
    }

    /// Decodes one rule-set file (the shape of `RuleSets/tsb-2022.json`).
    public init(json: [UInt8], file: String) throws(RuleBookError) {
        let shape: FileShape
        do { shape = try JSONDecoder().decode(FileShape.self, from: Data(json)) } catch {
            throw .malformed(file: file, reason: "\(error)")
        }
        guard RuleSet.isValidVersionName(shape.version) else {
            throw .malformed(file: file, reason: "version '\(shape.version)' must be 1 to 16 bytes")
        }
        guard let from = CivilDate(shape.effectiveFrom) else {
            throw .malformed(file: file, reason: "effectiveFrom '\(shape.effectiveFrom)' is not a YYYY-MM-DD date")
        }
        var timers: [Deadlines.Timer.Kind: TimerRule] = [:]
        for (name, t) in shape.timers {
            guard let kind = Deadlines.Timer.Kind(name: name) else {
                throw .malformed(file: file, reason: "unknown timer '\(name)'")
            }
            for v in [t.outpatient, t.inpatient, t.fromSecondYear?.outpatient, t.fromSecondYear?.inpatient, t.fromSecondYear?.afterDays] {
                if let v, v < 0 || v > 3650 { throw .malformed(file: file, reason: "\(name): \(v) days is out of range") }
            }
            if t.carryOverUnusedBasicDays == true && kind != .extendedAssessment {
                throw .malformed(file: file, reason: "\(name): only extended-assessment carries over unused basic days")
            }
            if t.fromSecondYear != nil && kind != .nextEvaluation {
                throw .malformed(file: file, reason: "\(name): only next-evaluation has second-year intervals")
            }
            timers[kind] = TimerRule(
                outpatient: t.outpatient, inpatient: t.inpatient, patientPostponable: t.patientPostponable ?? true,
                carryOverUnusedBasicDays: t.carryOverUnusedBasicDays ?? false,
                fromSecondYear: t.fromSecondYear.map { TimerRule.SecondYear(afterDays: $0.afterDays, outpatient: $0.outpatient, inpatient: $0.inpatient) })
        }
        self.init(version: shape.version, effectiveFrom: from, source: shape.source ?? "", timers: timers)
    }
}
