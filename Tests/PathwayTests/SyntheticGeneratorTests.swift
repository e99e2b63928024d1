// Tests for the synthetic data generator (issue 8) against the ingest contract of issue 3.
//
// PathwayTests must list "Synthetic" among its dependencies in Package.swift for these to build
// reliably; until it does, `canImport` keeps the rest of the test target building.
#if canImport(Synthetic)
import Testing
#if canImport(Glibc)
import Glibc
#endif
import Pathway
import Synthetic

private let synthFrom = CivilDate("2022-01-01")!
private let synthTo = CivilDate("2025-12-31")!

private func synthLines(_ n: Int, seed: UInt64, format: SyntheticGenerator.Format = .ndjson,
                   from f: CivilDate = synthFrom, to t: CivilDate = synthTo) -> (lines: [String], summary: SyntheticGenerator.Summary) {
    var out: [String] = []
    let s = SyntheticGenerator(episodes: n, seed: seed, from: f, to: t, format: format).generate { out.append($0) }
    return (out, s)
}

/// A flat JSON object of string values, parsed strictly: keys in order, no duplicates, nothing after
/// the closing brace. The generator never writes escapes, so a backslash is a failure too.
private func synthParseFlatObject(_ line: String) -> [(String, String)]? {
    let b = Array(line.utf8)
    var i = 0
    func string() -> String? {
        guard i < b.count, b[i] == 34 else { return nil }
        i += 1
        let start = i
        while i < b.count, b[i] != 34 {
            if b[i] == 92 || b[i] < 0x20 { return nil }
            i += 1
        }
        guard i < b.count else { return nil }
        defer { i += 1 }
        return String(decoding: b[start..<i], as: UTF8.self)
    }
    guard b.first == 123 else { return nil }
    i = 1
    var pairs: [(String, String)] = []
    while true {
        guard let k = string(), i < b.count, b[i] == 58 else { return nil }
        i += 1
        guard let v = string(), i < b.count else { return nil }
        if pairs.contains(where: { $0.0 == k }) { return nil }
        pairs.append((k, v))
        if b[i] == 44 { i += 1; continue }
        guard b[i] == 125, i == b.count - 1 else { return nil }
        return pairs
    }
}

private struct SynthBadLine: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

/// One parsed line, validated against the contract; `nil` fields are absent.
private struct SynthLine {
    enum Kind { case registration, correction, voiding }
    var kind: Kind
    var fields: [String: String]
    var code: PathwayCode?
    var date: CivilDate?
    var id: String { fields["id"]! }
    var episode: String? { fields["episode"] }
}

private let synthRegistrationKeys: Set<String> = ["id", "episode", "patient", "institution", "unit", "setting", "code",
                                             "pathway", "event", "outcome", "date", "author", "recordedAt", "note",
                                             "emergencyAssessmentDate"]

private func synthValidate(_ text: String, to: CivilDate = synthTo, from: CivilDate = synthFrom) -> Result<SynthLine, SynthBadLine> {
    guard let pairs = synthParseFlatObject(text) else { return .failure(SynthBadLine("not a flat JSON object: \(text)")) }
    let f = Dictionary(uniqueKeysWithValues: pairs)
    guard let id = f["id"], id.hasPrefix("r-"), Int(id.dropFirst(2)) != nil else { return .failure(SynthBadLine("bad id: \(text)")) }
    if let target = f["voids"] {
        guard Set(f.keys) == ["id", "voids", "reason", "author"], target.hasPrefix("r-"), !f["reason"]!.isEmpty,
              f["author"]!.hasPrefix("u-") else { return .failure(SynthBadLine("bad voiding: \(text)")) }
        return .success(SynthLine(kind: .voiding, fields: f))
    }
    var keys = Set(f.keys)
    let kind: SynthLine.Kind
    if let target = f["corrects"] {
        guard target.hasPrefix("r-"), let reason = f["reason"], !reason.isEmpty else { return .failure(SynthBadLine("bad correction: \(text)")) }
        keys.subtract(["corrects", "reason"])
        kind = .correction
    } else {
        kind = .registration
    }
    guard keys.isSubset(of: synthRegistrationKeys) else { return .failure(SynthBadLine("unknown keys: \(text)")) }
    for k in ["id", "episode", "patient", "institution", "unit", "setting", "date", "author", "recordedAt"] {
        guard let v = f[k], !v.isEmpty else { return .failure(SynthBadLine("missing \(k): \(text)")) }
    }
    let code: PathwayCode?
    if let c = f["code"] {
        guard f["pathway"] == nil, f["event"] == nil, f["outcome"] == nil else { return .failure(SynthBadLine("both spellings: \(text)")) }
        code = PathwayCode(procedureCode: c)
    } else if let p = f["pathway"], let e = f["event"] {
        code = PathwayCode(pathway: p, event: e, outcome: f["outcome"])
    } else {
        return .failure(SynthBadLine("no code: \(text)"))
    }
    guard let code else { return .failure(SynthBadLine("invalid code: \(text)")) }
    guard CareSetting(name: f["setting"]!) != nil else { return .failure(SynthBadLine("bad setting: \(text)")) }
    guard let date = CivilDate(f["date"]!), date >= from, date <= to else { return .failure(SynthBadLine("bad date: \(text)")) }
    guard let rec = Instant(rfc3339: f["recordedAt"]!), rec.osloDate >= date, rec.osloDate <= to
    else { return .failure(SynthBadLine("bad recordedAt: \(text)")) }
    let patient = f["patient"]!
    guard patient.hasPrefix("P-"), patient.utf8.count == 8,
          patient.utf8.dropFirst(2).allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
    else { return .failure(SynthBadLine("bad patient: \(text)")) }
    guard f["episode"]!.hasPrefix("EP-"), f["episode"]!.utf8.count >= 9, f["author"]!.hasPrefix("u-"),
          f["institution"]!.hasPrefix("HF-"), f["unit"]!.hasPrefix("TSB-") else { return .failure(SynthBadLine("bad names: \(text)")) }
    if let e = f["emergencyAssessmentDate"] {
        guard code == .A, let ed = CivilDate(e), ed <= date, ed.days(until: date) <= 21
        else { return .failure(SynthBadLine("bad emergencyAssessmentDate: \(text)")) }
    }
    return .success(SynthLine(kind: kind, fields: f, code: code, date: date))
}

/// The 2,000-episode synthSample the share tests look at.
private let synthSample: (lines: [String], summary: SyntheticGenerator.Summary) = synthLines(2_000, seed: 2026)
private let parsedSynthSample: [SynthLine] = synthSample.lines.map { try! synthValidate($0).get() }
/// The synthSample's registrations (not corrections or voidings) by episode, in output order.
private let synthSampleEpisodes: [String: [SynthLine]] = Dictionary(grouping: parsedSynthSample.filter { $0.kind == .registration },
                                                            by: { $0.episode! })

/// Counts the kinds of rule break the generator injects, on an episode's registrations: a second A,
/// M or UB, anything after X, a third decision date, a service need on a CU date.
private func synthPlainBreaks(_ regs: [SynthLine]) -> Int {
    let codes = regs.map { $0.code! }
    var found = 0
    found += max(0, codes.filter { $0 == .A }.count - 1)
    found += max(0, codes.filter { $0 == .M }.count - 1)
    found += max(0, codes.filter { $0 == .U("B") }.count - 1)
    if let x = codes.firstIndex(where: { $0.event == .end }) { found += codes.count - 1 - x }
    var decisionDates: [CivilDate] = []
    var cuDates: Set<CivilDate> = []
    for r in regs where r.code!.event == .clinicalDecision {
        if decisionDates.last != r.date { decisionDates.append(r.date!) }
        if r.code == .C("U") { cuDates.insert(r.date!) }
    }
    found += max(0, decisionDates.count - 2)
    found += regs.filter { $0.code!.event == .clinicalDecision && $0.code != .C("U") && cuDates.contains($0.date!) }.count
    return found
}

/// Folds parsed lines into per-episode corrected histories, as the ledger does, and lets the domain's
/// rules judge each episode against a plain count of the breaks on its registrations
/// (``synthPlainBreaks``). Returns what disagrees: an episode whose findings differ from its
/// injected breaks, a correction or voiding that found no target, or a total that is not `expected`
/// (the generator's ``SyntheticGenerator/Summary/ruleBreaks``).
private func synthFindingMismatches(_ lines: [SynthLine], expected: Int) -> [String] {
    var histories: [String: EpisodeHistory] = [:]
    var registrations: [String: [SynthLine]] = [:]
    var located: [String: (episode: String, position: UInt64)] = [:]
    var out: [String] = []
    func mark(_ l: SynthLine, _ position: UInt64) -> Mark {
        Mark(code: l.code!, setting: CareSetting(name: l.fields["setting"]!)!, date: l.date!,
             emergencyDate: l.fields["emergencyAssessmentDate"].flatMap { CivilDate($0) },
             place: position, position: position)
    }
    for (i, l) in lines.enumerated() {
        let position = UInt64(i + 1)
        switch l.kind {
        case .registration:
            histories[l.episode!, default: EpisodeHistory()].register(mark(l, position))
            registrations[l.episode!, default: []].append(l)
            located[l.id] = (l.episode!, position)
        case .correction:
            guard let t = located[l.fields["corrects"]!], histories[t.episode]!.correct(targetPosition: t.position, with: mark(l, position))
            else { out.append("\(l.id): correction not applied"); continue }
            located[l.id] = (t.episode, position)
        case .voiding:
            guard let t = located[l.fields["voids"]!], histories[t.episode]!.void(targetPosition: t.position)
            else { out.append("\(l.id): voiding not applied"); continue }
        }
    }
    var total = 0
    for (episode, history) in histories.sorted(by: { $0.key < $1.key }) {
        let findings = PathwayRules.findings(history.marks)
        let injected = synthPlainBreaks(registrations[episode]!)
        if findings.count != injected {
            out.append("\(episode): \(findings.map { "[\($0.rule.id)] \($0.message)" }) but \(injected) injected")
        }
        total += findings.count
    }
    if total != expected { out.append("\(total) findings, \(expected) rule breaks generated") }
    return out
}

@Suite("Synthetic generator")
struct SyntheticGeneratorTests {
    @Test func sameSeedSameOutputOtherSeedOther() {
        let a = synthLines(300, seed: 7), b = synthLines(300, seed: 7), c = synthLines(300, seed: 8)
        #expect(a.lines == b.lines)
        #expect(a.summary == b.summary)
        #expect(a.lines != c.lines)
        #expect(a.lines.count > 300 * 5)
    }

    @Test func fewerEpisodesGiveAPrefix() {
        let short = synthLines(50, seed: 11).lines, long = synthLines(120, seed: 11).lines
        #expect(short.count < long.count)
        #expect(Array(long.prefix(short.count)) == short)
    }

    @Test func lineBytesAndChunksAgreeWithStrings() {
        let g = SyntheticGenerator(episodes: 400, seed: 3, from: synthFrom, to: synthTo)
        var viaStrings = ""
        g.generate { viaStrings += $0; viaStrings += "\n" }
        var viaBytes: [UInt8] = []
        g.generateUTF8 { viaBytes += $0; viaBytes.append(10) }
        var viaChunks: [UInt8] = []
        var chunks = 0
        let s = g.generateChunks { viaChunks += $0; chunks += 1; #expect($0.last == 10) }
        #expect(Array(viaStrings.utf8) == viaBytes)
        #expect(viaBytes == viaChunks)
        #expect(chunks > 1) // more than 64 KiB
        #expect(s.lines == viaChunks.filter { $0 == 10 }.count)
    }

    @Test func everyLineIsValidInput() {
        // Also a short, recent window, where most episodes are still open.
        let recent = synthLines(500, seed: 99, from: CivilDate("2025-11-01")!, to: CivilDate("2025-12-31")!)
        for text in recent.lines {
            if case .failure(let why) = synthValidate(text, to: CivilDate("2025-12-31")!, from: CivilDate("2025-11-01")!) {
                Issue.record("\(why)")
                return
            }
        }
        #expect(parsedSynthSample.count == synthSample.lines.count)
        // Both spellings appear, and every code the pathway uses.
        #expect(synthSample.lines.contains { $0.contains("\"pathway\":\"D01\"") })
        let codes = Set(parsedSynthSample.compactMap(\.code))
        for c in [PathwayCode.A, .M, .D, .L, .E, .F, .C("U"), .C("T"), .C("K"), .U("B"), .U("U"), .U("F"),
                  .X("G"), .X("P"), .X("M"), .X("O"), .X("N"), .X("R"), .X("A"), .X("S"), .H("K")] {
            #expect(codes.contains(c), "\(c) never generated")
        }
        #expect(parsedSynthSample.contains { $0.fields["note"] != nil })
        #expect(parsedSynthSample.contains { $0.fields["emergencyAssessmentDate"] != nil })
    }

    @Test func idsAreUniqueAndTargetsComeFirst() {
        var seen: [String: SynthLine] = [:]
        var episodes: [String] = []
        for line in parsedSynthSample {
            #expect(seen[line.id] == nil, "duplicate id \(line.id)")
            if let target = line.fields["voids"] ?? line.fields["corrects"] {
                let t = seen[target]
                #expect(t != nil, "\(line.id) names \(target) before it exists")
                if let t, line.kind == .correction { #expect(t.episode == line.episode) }
                #expect(line.fields["voids"] == nil || t?.kind != .voiding)
            } else if episodes.last != line.episode {
                episodes.append(line.episode!)
            }
            seen[line.id] = line
        }
        // Episodes are written one after another, numbered from EP-000001.
        #expect(episodes.count == 2_000)
        #expect(Set(episodes).count == episodes.count)
        #expect(episodes.first == "EP-000001")
        #expect(episodes.last == "EP-002000")
    }

    @Test func episodesAreInPathwayOrder() {
        var byEpisode: [String: [SynthLine]] = [:]
        for l in parsedSynthSample where l.kind == .registration { byEpisode[l.episode!, default: []].append(l) }
        var patients: [String: String] = [:]
        for (ep, regs) in byEpisode {
            #expect(regs.first?.code == .A, "\(ep) does not start with A")
            let dates = regs.map { $0.date! }
            #expect(dates == dates.sorted(), "\(ep) out of date order")
            // One patient, institution per episode.
            #expect(Set(regs.map { $0.fields["patient"]! }).count == 1)
            #expect(Set(regs.map { $0.fields["institution"]! }).count == 1)
            patients[ep] = regs[0].fields["patient"]
            let codes = regs.map { $0.code! }
            if let d = codes.firstIndex(of: .D), let m = codes.firstIndex(of: .M) { #expect(d < m) }
            // H comes with XG and XN, before the X.
            if let x = codes.firstIndex(where: { $0.event == .end }), [UInt8(ascii: "G"), UInt8(ascii: "N")].contains(codes[x].outcomeByte) {
                #expect(codes[..<x].contains { $0.event == .helpNeeded }, "\(ep): X\(codes[x]) without H")
            }
        }
    }

    @Test func ruleBreaksAreTheInjectedOnes() {
        // A plain checker for the kinds of break the generator injects: it must find exactly as many.
        let found = synthSampleEpisodes.values.map(synthPlainBreaks).reduce(0, +)
        #expect(found == synthSample.summary.ruleBreaks)
        let share = Double(synthSample.summary.ruleBreaks) / Double(synthSample.summary.registrations)
        #expect(share > 0.002 && share < 0.01, "rule-break share \(share)")
    }

    @Test func pathwayRulesFindExactlyTheInjectedBreaks() {
        // The generator's ordinary output raises no finding at all, and each injected break raises one.
        let mismatches = synthFindingMismatches(parsedSynthSample, expected: synthSample.summary.ruleBreaks)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// Voidings and corrections break no rule, whatever the seed: neither may take away what a rule
    /// needs (as voiding an episode's last evaluation before its end did, raising an
    /// evaluation-at-end finding). Seed 4 voided both evaluations of EP-001748 before the fix (the
    /// only one of seeds 1-60 to do so in 3,000 episodes); the others are spot checks. The fold is
    /// the ledger's, without a store.
    @Test(arguments: [UInt64(4), 7, 2026, 0x5EED])
    func correctionsAndVoidingsRaiseNoFinding(seed: UInt64) throws {
        let run = synthLines(3_000, seed: seed)
        let parsed = try run.lines.map { try synthValidate($0).get() }
        #expect(run.summary.voidings > 0 && run.summary.corrections > 0)
        let mismatches = synthFindingMismatches(parsed, expected: run.summary.ruleBreaks)
        #expect(mismatches.isEmpty, "seed \(seed): \(mismatches.prefix(5))")
    }

    @Test func summaryMatchesOutput() {
        let s = synthSample.summary
        #expect(s.episodes == 2_000)
        #expect(s.lines == synthSample.lines.count)
        #expect(s.registrations == parsedSynthSample.filter { $0.kind == .registration }.count)
        #expect(s.corrections == parsedSynthSample.filter { $0.kind == .correction }.count)
        #expect(s.voidings == parsedSynthSample.filter { $0.kind == .voiding }.count)
        #expect(s.registrations + s.corrections + s.voidings == s.lines)
        #expect(s.patients == Set(parsedSynthSample.compactMap { $0.fields["patient"] }).count)
    }

    @Test func sharesAreRoughlyRealistic() {
        let regs = parsedSynthSample.filter { $0.kind == .registration }
        var byEpisode: [String: [SynthLine]] = [:]
        for l in regs { byEpisode[l.episode!, default: []].append(l) }
        let n = Double(byEpisode.count)
        func share(_ p: ([SynthLine]) -> Bool) -> Double { Double(byEpisode.values.filter(p).count) / n }

        var ends: [UInt8: Int] = [:]
        for r in regs where r.code!.event == .end { ends[r.code!.outcomeByte, default: 0] += 1 }
        let ended = Double(ends.values.reduce(0, +))
        func end(_ c: Character) -> Double { Double(ends[c.asciiValue!] ?? 0) / ended }
        #expect(end("G") > 0.40 && end("G") < 0.60, "XG \(end("G"))")
        #expect(end("P") + end("M") > 0.17 && end("P") + end("M") < 0.33, "drop-outs \(end("P") + end("M"))")
        for c: Character in ["O", "N", "R", "A", "S"] { #expect(end(c) > 0.005 && end(c) < 0.12, "X\(c) \(end(c))") }

        let open = share { !$0.contains { $0.code!.event == .end } }
        #expect(open > 0.05 && open < 0.30, "open \(open)")
        let detox = share { $0[0].fields["unit"]!.hasPrefix("TSB-AVR") }
        #expect(detox > 0.18 && detox < 0.32, "detox starts \(detox)")
        let decided = byEpisode.values.filter { $0.contains { $0.code!.event == .clinicalDecision } }
        let extended = Double(decided.filter { $0.contains { $0.code == .C("U") } }.count) / Double(decided.count)
        #expect(extended > 0.12 && extended < 0.30, "extended assessment \(extended)")
        let postponed = share { $0.contains { $0.code == .L } }
        #expect(postponed > 0.05 && postponed < 0.16, "L \(postponed)")
        let treated = byEpisode.values.filter { $0.contains { $0.code == .C("T") } }
        #expect(Double(treated.count) / n > 0.5, "treatment share")
        let emergency = share { $0[0].fields["emergencyAssessmentDate"] != nil }
        #expect(emergency > 0.01 && emergency < 0.1)

        let outpatient = Double(regs.filter { $0.fields["setting"] == "outpatient" }.count) / Double(regs.count)
        #expect(outpatient > 0.7 && outpatient < 0.9, "outpatient \(outpatient)")
        let late = Double(regs.filter { Instant(rfc3339: $0.fields["recordedAt"]!)!.osloDate > $0.date! }.count) / Double(regs.count)
        #expect(late > 0.03 && late < 0.07, "recorded late \(late)")
        let fixes = Double(synthSample.summary.corrections + synthSample.summary.voidings) / Double(regs.count)
        #expect(fixes > 0.005 && fixes < 0.02, "corrected or voided \(fixes)")
        #expect(synthSample.summary.voidings > 0 && synthSample.summary.corrections > 0)

        // Evaluation points every 4-9 weeks, mostly.
        var gaps: [Int] = []
        for r in byEpisode.values {
            let es = r.filter { $0.code == .E }.map { $0.date! }
            for (a, b) in zip(es, es.dropFirst()) { gaps.append(a.days(until: b)) }
        }
        let inRange = Double(gaps.filter { (21...70).contains($0) }.count) / Double(gaps.count)
        #expect(inRange > 0.8, "E intervals within 3-10 weeks: \(inRange)")
        #expect(gaps.contains { $0 > 56 }, "no late evaluation point at all")

        // Places and people.
        let institutions = Set(regs.map { $0.fields["institution"]! })
        let units = Set(regs.map { $0.fields["unit"]! })
        #expect(institutions.count == 20)
        #expect(units.count > 60 && units.count <= 80)
        var episodesPerPatient: [String: Set<String>] = [:]
        for r in regs { episodesPerPatient[r.fields["patient"]!, default: []].insert(r.episode!) }
        let returning = Double(episodesPerPatient.values.filter { $0.count > 1 }.count) / Double(episodesPerPatient.count)
        #expect(returning > 0.03 && returning < 0.3, "re-referred patients \(returning)")
    }

    @Test func correctionsOfCorrectionsOccur() {
        let ls: [SynthLine] = synthLines(5_000, seed: 17).lines.map { try! synthValidate($0).get() }
        let correctionIDs = Set(ls.filter { $0.kind == .correction }.map(\.id))
        #expect(ls.contains { $0.kind == .correction && correctionIDs.contains($0.fields["corrects"]!) })
    }

    @Test func csvCarriesTheSameRegistrations() {
        let json = synthSample
        let csv = synthLines(2_000, seed: 2026, format: .csv)
        #expect(csv.lines.first == SyntheticGenerator.csvHeader)
        #expect(csv.summary.registrations == json.summary.registrations)
        #expect(csv.lines.count == json.summary.registrations + 1)
        let jsonRegs = parsedSynthSample.filter { $0.kind == .registration }
        for (row, reg) in zip(csv.lines.dropFirst(), jsonRegs) {
            let f = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(f.count == 10)
            #expect(f[0] == reg.id && f[1] == reg.episode && f[2] == reg.fields["patient"])
            #expect(f[3] == reg.fields["institution"] && f[4] == reg.fields["unit"] && f[5] == reg.fields["setting"])
            #expect(PathwayCode(procedureCode: f[6]) == reg.code)
            #expect(f[7] == reg.fields["date"] && f[8] == reg.fields["author"] && f[9] == reg.fields["recordedAt"])
            if f.count != 10 || f[0] != reg.id { break }
        }
    }

    @Test func edgeCases() {
        #expect(synthLines(0, seed: 1).lines.isEmpty)
        #expect(synthLines(0, seed: 1, format: .csv).lines == [SyntheticGenerator.csvHeader])
        let day = CivilDate("2025-06-14")! // a Saturday
        let one = synthLines(50, seed: 4, from: day, to: day)
        for l in one.lines {
            guard case .success(let line) = synthValidate(l, to: day, from: day) else { Issue.record("invalid: \(l)"); return }
            if line.kind != SynthLine.Kind.voiding { #expect(line.date == day) }
        }
        #expect(one.summary.episodes == 50)
    }

    /// `--order recorded`: the same lines, episodes interleaved by recorded instant, each episode's
    /// lines in their generated order, the bytes independent of how many run files the sort used.
    @Test func recordedOrderInterleavesEpisodesAndKeepsEachEpisodesOrder() throws {
        let g = SyntheticGenerator(episodes: 600, seed: 5, from: CivilDate("2024-01-01")!, to: CivilDate("2025-06-30")!)
        var generated: [String] = []
        g.generate { generated.append($0) }
        var template = Array("/tmp/pathway-order-XXXXXX".utf8CString)
        let dir = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
        defer { rmdir(dir) }
        func recorded(runBytes: Int) throws -> [UInt8] {
            var out: [UInt8] = []
            let s = try g.generateInRecordedOrder(runBytes: runBytes, temporaryDirectory: dir) { out += $0 }
            #expect(s.lines == generated.count)
            return out
        }
        let inMemory = try recorded(runBytes: 1 << 30)
        let manyRuns = try recorded(runBytes: 16 << 10)   // dozens of run files
        #expect(inMemory == manyRuns, "the bytes depend on the run size")
        #expect(inMemory.last == 10)
        let lines = String(decoding: inMemory.dropLast(), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.sorted() == generated.sorted(), "not the same lines")
        #expect(lines != generated)
        // The run files are unlinked: nothing is left in the directory.
        #expect(rmdir(dir) == 0, "files left in \(dir)")
        mkdir(dir, 0o700)

        func field(_ name: String, _ line: String) -> String? {
            guard let r = line.range(of: "\"\(name)\":\"") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != "\"" })
        }
        // Each episode's lines in the same order as generated (a voiding belongs to its target's episode).
        func byEpisode(_ ls: [String]) -> [String: [String]] {
            var episodeOf: [String: String] = [:], out: [String: [String]] = [:]
            for l in ls {
                let id = field("id", l)!
                let ep = field("episode", l) ?? episodeOf[field("voids", l) ?? ""]
                #expect(ep != nil, "a voiding before its target: \(l)")
                episodeOf[id] = ep
                out[ep ?? "", default: []].append(l)
            }
            return out
        }
        #expect(byEpisode(lines) == byEpisode(generated))
        // Sorted on the recorded instant made non-decreasing within each episode.
        var latest: [String: String] = [:], episodeOf: [String: String] = [:]
        var previous = ""
        var switches = 0, lastEpisode = ""
        for l in lines {
            let ep = field("episode", l) ?? episodeOf[field("voids", l)!]!
            episodeOf[field("id", l)!] = ep
            let t = max(latest[ep] ?? "", field("recordedAt", l) ?? "")
            latest[ep] = t
            #expect(t >= previous, "out of order: \(l)")
            previous = t
            if ep != lastEpisode { switches += 1; lastEpisode = ep }
        }
        // Interleaved: far more changes of episode than episodes.
        #expect(switches > lines.count / 2, "\(switches) changes of episode in \(lines.count) lines")
    }

    @Test func recordedOrderNamesAnUnusableTemporaryDirectory() {
        let g = SyntheticGenerator(episodes: 50, seed: 5, from: CivilDate("2024-01-01")!, to: CivilDate("2025-06-30")!)
        do {
            try g.generateInRecordedOrder(runBytes: 4096, temporaryDirectory: "/nonexistent/pathway") { _ in }
            Issue.record("no error for a directory that does not exist")
        } catch {
            #expect(error.description.contains("/nonexistent/pathway"), "\(error)")
            #expect(error.description.contains("--temp-dir"), "\(error)")
        }
    }

    @Test func helpDocumentsTheDistributions() {
        let help = SyntheticGenerator.distributionsHelp
        for word in ["33,000", "HF-Vest-01", "TSB-POL", "detox", "XG", "recordedAt", "corrects", "voids", "0.5 %", "seed"] {
            #expect(help.contains(word), "help does not mention \(word)")
        }
        // Paragraphs of one line each, separated by blank lines, all but the first "Label: text":
        // the argument parser wraps each line to the terminal and keeps no indentation.
        let paragraphs = help.split(separator: "\n", omittingEmptySubsequences: false).split(separator: "")
        #expect(paragraphs.count == 19)
        for p in paragraphs.dropFirst() {
            #expect(p.count == 1, "a paragraph of more than one line: \(p)")
            let label = p.first?.split(separator: ":").first ?? ""
            #expect(label.count <= 12 && p.first?.contains(": ") == true, "not a labelled paragraph: \(p)")
        }
        #expect(SyntheticGenerator.nationalScaleEpisodes(from: CivilDate("2025-01-01")!, to: CivilDate("2025-12-31")!) == 36_000)
    }
}
#endif
