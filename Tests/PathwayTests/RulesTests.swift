import Testing
import Pathway

/// One pathway rule: a history that keeps it and one that breaks it, with the step that raises it.
struct RuleCase: Sendable, CustomTestStringConvertible {
    var rule: Finding.Rule
    var passes: String
    var fails: String
    var raisedAt: UInt64
    var testDescription: String { rule.id }
}

@Suite("Pathway rules")
struct RulesTests {
    static let cases: [RuleCase] = [
        RuleCase(rule: .startMissing, passes: "A 2026-01-05; M 2026-01-08", fails: "M 2026-01-08; CT 2026-01-20", raisedAt: 1),
        RuleCase(rule: .startFirst, passes: "A 2026-01-05; M 2026-01-05", fails: "A 2026-01-05; M 2026-01-04", raisedAt: 2),
        RuleCase(rule: .startOnce, passes: "A 2026-01-05; M 2026-01-08", fails: "A 2026-01-05; M 2026-01-08; A 2026-01-10", raisedAt: 3),
        RuleCase(rule: .emergencyAssessmentAfterStart, passes: "A 2026-01-05 e=2026-01-01; M 2026-01-05",
                 fails: "A 2026-01-05 e=2026-01-07; M 2026-01-05", raisedAt: 1),
        RuleCase(rule: .firstAttendanceOnce, passes: "A 2026-01-05; M 2026-01-08",
                 fails: "A 2026-01-05; M 2026-01-08; M 2026-01-09", raisedAt: 3),
        RuleCase(rule: .firstAttendanceWithEmergencyStart,
                 passes: "A 2026-01-05 e=2026-01-01 in; D 2026-01-09 in; M 2026-01-09",
                 fails: "A 2026-01-05 e=2026-01-01; M 2026-01-08", raisedAt: 2),
        RuleCase(rule: .detoxOnce, passes: "A 2026-01-05 in; D 2026-01-07 in; M 2026-01-07 in",
                 fails: "A 2026-01-05 in; D 2026-01-06 in; D 2026-01-07 in; M 2026-01-07 in", raisedAt: 3),
        RuleCase(rule: .detoxBeforeFirstAttendance, passes: "A 2026-01-05 in; D 2026-01-08 in; M 2026-01-08 in",
                 fails: "A 2026-01-05; M 2026-01-06; D 2026-01-08 in", raisedAt: 3),
        RuleCase(rule: .detoxAtStart, passes: "A 2026-01-05 in; D 2026-01-06 in; CT 2026-01-06 in",
                 fails: "A 2026-01-05; CT 2026-01-06; D 2026-01-08 in", raisedAt: 3),
        RuleCase(rule: .decisionsAtMostTwo, passes: "A 2026-01-05; M 2026-01-06; CU 2026-01-10; CT 2026-01-30",
                 fails: "A 2026-01-05; M 2026-01-06; CU 2026-01-10; CT 2026-01-30; CK 2026-02-10", raisedAt: 5),
        RuleCase(rule: .decisionAfterFinal, passes: "A 2026-01-05; M 2026-01-06; CT 2026-01-20; CK 2026-01-20",
                 fails: "A 2026-01-05; M 2026-01-06; CT 2026-01-20; CK 2026-01-25", raisedAt: 4),
        RuleCase(rule: .extendedAssessmentOnce, passes: "A 2026-01-05; M 2026-01-06; CU 2026-01-10; CP 2026-01-30",
                 fails: "A 2026-01-05; M 2026-01-06; CU 2026-01-10; CU 2026-01-30", raisedAt: 4),
        RuleCase(rule: .extendedAssessmentAlone, passes: "A 2026-01-05; M 2026-01-06; CU 2026-01-10; CT 2026-01-30",
                 fails: "A 2026-01-05; M 2026-01-06; CU 2026-01-10; CT 2026-01-10", raisedAt: 4),
        RuleCase(rule: .activityOnce, passes: "A 2026-01-05; M 2026-01-06; UB 2026-01-06; UU 2026-01-20; UF 2026-05-01",
                 fails: "A 2026-01-05; M 2026-01-06; UB 2026-01-06; UB 2026-01-09", raisedAt: 4),
        RuleCase(rule: .afterEnd, passes: "A 2026-01-05; M 2026-01-06; CK 2026-01-20; XG 2026-01-21; E 2026-01-21",
                 fails: "A 2026-01-05; M 2026-01-06; CK 2026-01-20; XG 2026-01-21; E 2026-01-25", raisedAt: 5),
        RuleCase(rule: .endOnce, passes: "A 2026-01-05; XR 2026-01-06",
                 fails: "A 2026-01-05; XR 2026-01-06; XA 2026-01-07", raisedAt: 3),
        RuleCase(rule: .helpNeedsWithoutEnd, passes: "A 2026-01-05; M 2026-01-06; XA 2026-01-06; HK 2026-01-06",
                 fails: "A 2026-01-05; M 2026-01-06; CT 2026-01-20; HK 2026-02-01", raisedAt: 4),
        RuleCase(rule: .helpNeedsWithEnd, passes: "A 2026-01-05; M 2026-01-06; XA 2026-01-06; HK 2026-01-06",
                 fails: "A 2026-01-05; XR 2026-01-06; HK 2026-01-06", raisedAt: 3),
        RuleCase(rule: .helpNeedsMissing,
                 passes: "A 2026-01-05; M 2026-01-08; CT 2026-01-20; E 2026-02-01; XN 2026-03-01; HT 2026-03-01",
                 fails: "A 2026-01-05; M 2026-01-08; CT 2026-01-20; E 2026-02-01; XN 2026-03-01", raisedAt: 5),
        RuleCase(rule: .evaluationAtEnd,
                 passes: "A 2026-01-05; M 2026-01-08; CT 2026-01-20; XG 2026-03-01; HK 2026-03-01; E 2026-03-01",
                 fails: "A 2026-01-05; M 2026-01-08; CT 2026-01-20; XG 2026-03-01; HK 2026-03-01", raisedAt: 4),
        RuleCase(rule: .codeNotYetValid, passes: "A 2022-10-05; M 2022-10-06; XS 2022-11-01",
                 fails: "A 2022-01-05; M 2022-01-06; XS 2022-06-01", raisedAt: 3),
    ]

    @Test("every rule has a case") func everyRuleCovered() {
        #expect(Set(Self.cases.map(\.rule)) == Set(Finding.Rule.allCases))
    }

    @Test("a history that keeps the rule raises no finding at all", arguments: cases)
    func passes(_ c: RuleCase) {
        let t = RulesTimeline(c.passes)
        #expect(t.findings == [], "\(t.findings.map(\.message))")
    }

    @Test("a history that breaks the rule raises it at the offending registration", arguments: cases)
    func fails(_ c: RuleCase) throws {
        let t = RulesTimeline(c.fails)
        let f = try #require(t.findings.first { $0.rule == c.rule }, "\(t.ruleIDs)")
        #expect(f.position == c.raisedAt)
        #expect(f.place == c.raisedAt)
        #expect(t.findings.filter { $0.rule == c.rule }.count == 1)
        #expect(f.message.hasPrefix(f.code.procedureCode + " on " + f.date.description + ": "))
    }

    @Test func ruleIDsAreStableAndUnique() {
        let ids = Finding.Rule.allCases.map(\.id)
        #expect(Set(ids).count == ids.count)
        for r in Finding.Rule.allCases { #expect(Finding.Rule(id: r.id) == r) }
        #expect(Finding.Rule.startFirst.id == "start-first")
        #expect(Finding.Rule.helpNeedsWithEnd.id == "help-needs-with-end")
        #expect(Finding.Rule.allCases.map(\.rawValue) == Array(1...UInt8(Finding.Rule.allCases.count)))
    }

    @Test("a complete pathway raises nothing") func happyPaths() {
        let scripts = [
            "A 2026-01-05; M 2026-01-08; UB 2026-01-08; CT 2026-01-25; UU 2026-01-25; F 2026-01-26; E 2026-02-05; "
                + "E 2026-03-20; UF 2026-04-30; E 2026-05-01; XG 2026-05-01; HK 2026-05-01",
            "A 2026-01-05 in; D 2026-01-10 in; M 2026-01-12; CU 2026-01-20; CT 2026-03-01; CK 2026-03-01; E 2026-03-10",
            "A 2026-01-05 e=2025-12-28 in; M 2026-01-05 in; CT 2026-01-09 in; E 2026-01-14 in; XN 2026-02-01 in; HT 2026-02-01 in",
            "A 2026-01-05; XR 2026-01-12",
            "A 2026-01-05; M 2026-01-06; XA 2026-01-06; HK 2026-01-06",
            "A 2026-01-05; M 2026-01-06; CI 2026-01-20; XG 2026-01-21",
            "A 2026-01-05; M 2026-01-06; CT 2026-01-20; L 2026-01-30; E 2026-02-20; XO 2026-03-01",
            "A 2026-01-05; CT 2026-01-05; E 2026-01-19",
        ]
        for s in scripts { #expect(RulesTimeline(s).findings == [], "\(s): \(RulesTimeline(s).ruleIDs)") }
    }

    @Test("tie-breaking: the earliest date is the milestone, the others are duplicates") func tieBreaking() {
        // The later registration has the earlier date, so the first one is the duplicate.
        let t = RulesTimeline("A 2026-01-10; A 2026-01-05; M 2026-01-12")
        #expect(t.findings.map(\.rule) == [.startOnce])
        #expect(t.findings[0].position == 1)
        #expect(t.state.milestones.start?.date == ymd("2026-01-05"))
        // Same date: the first registered (place order) is the milestone.
        let same = RulesTimeline("A 2026-01-05; M 2026-01-08; M 2026-01-08")
        #expect(same.findings.map(\.rule) == [.firstAttendanceOnce])
        #expect(same.findings[0].position == 3)
        #expect(same.state.milestones.firstAttendance?.place == 2)
    }

    @Test("a registration placed before A but dated before it breaks start-first") func registeredBeforeStart() {
        let t = RulesTimeline("M 2026-01-04; A 2026-01-05")
        #expect(t.findings.map(\.rule) == [.startFirst])
        #expect(t.findings[0].position == 1)
    }

    @Test("detox order is checked only from the 29 September 2020 revision") func detoxOrderRevision() {
        #expect(RulesTimeline("A 2020-03-01; M 2020-03-02; D 2020-03-04 in").findings == [])
        #expect(RulesTimeline("A 2020-10-01; M 2020-10-02; D 2020-10-04 in").ruleIDs == ["detox-before-first-attendance"])
    }

    @Test("the D/M order finding sits on whichever of the two was registered later") func detoxOrderPosition() {
        let t = RulesTimeline("A 2026-01-05 in; D 2026-01-08 in; M 2026-01-06")
        #expect(t.findings.map(\.rule) == [.detoxBeforeFirstAttendance])
        #expect(t.findings[0].position == 3)
    }

    @Test("help needs go only with XG, XN or XA on the same date") func helpNeedsDate() {
        #expect(RulesTimeline("A 2026-01-05; M 2026-01-06; XA 2026-02-01; HK 2026-02-02").ruleIDs == ["help-needs-with-end"])
        #expect(RulesTimeline("A 2026-01-05; M 2026-01-06; CK 2026-01-20; XG 2026-02-01").findings == [])
        // XG after treatment needs H, and an evaluation.
        #expect(RulesTimeline("A 2026-01-05; M 2026-01-06; CT 2026-01-20; E 2026-01-30; XG 2026-02-01").ruleIDs == ["help-needs-missing"])
    }

    @Test("nothing after X except X and H, which have their own rules") func afterEndOnlyOnce() {
        let t = RulesTimeline("A 2026-01-05; XR 2026-01-06; M 2026-01-07; XA 2026-01-08; HK 2026-01-08")
        #expect(t.ruleIDs == ["after-end", "end-once", "help-needs-with-end"])
    }

    @Test("several registrations of one date are one decision") func oneDecisionPerDate() {
        let t = RulesTimeline("A 2026-01-05; M 2026-01-06; CT 2026-01-20; CK 2026-01-20; CS 2026-01-20")
        #expect(t.findings == [])
        let d = t.state.milestones.decisions
        #expect(d.count == 1)
        #expect(d[0].outcomes.letterBytes == Array("TSK".utf8))
    }

    @Test("a correction that repairs the history removes the finding") func correctionRemovesFinding() {
        var t = RulesTimeline("A 2026-01-05; M 2026-01-06; D 2026-01-08 in")
        #expect(t.ruleIDs == ["detox-before-first-attendance"])
        let c = t.correct(2, "M 2026-01-09")
        #expect(t.findings == [])
        // Correcting the correction back brings it back, raised by the version in force.
        t.correct(c, "M 2026-01-07")
        #expect(t.ruleIDs == ["detox-before-first-attendance"])
        #expect(t.findings[0].place == 3)
    }

    @Test("voiding a duplicate removes the finding; voiding a correction restores the previous version") func voids() {
        var t = RulesTimeline("A 2026-01-05; M 2026-01-08; A 2026-01-10")
        #expect(t.ruleIDs == ["start-once"])
        t.void(3)
        #expect(t.findings == [])

        var u = RulesTimeline("A 2026-01-05; M 2026-01-08; CT 2026-01-20")
        let c = u.correct(3, "CT 2026-01-04")
        #expect(u.ruleIDs == ["start-first"])
        #expect(u.findings[0].position == c)
        #expect(u.findings[0].place == 3)
        u.void(c)
        #expect(u.findings == [])
    }

    @Test("--strict: the findings a new registration would add") func strictAdditions() {
        let t = RulesTimeline("A 2026-01-05; M 2026-01-08; CT 2026-01-20; E 2026-01-30")
        let second = RulesTimeline.mark("A 2026-01-10", position: 5)
        #expect(PathwayRules.findingsAdded(by: second, to: t.marks).map(\.rule) == [.startOnce])
        // A registration dated earlier than the existing A makes the old A the duplicate: still added.
        let earlier = RulesTimeline.mark("A 2026-01-02", position: 5)
        let added = PathwayRules.findingsAdded(by: earlier, to: t.marks)
        #expect(added.map(\.rule) == [.startOnce])
        #expect(added.first?.place == 1)
        // XG before its H: the missing H can still come, so strict mode lets it in.
        let end = RulesTimeline.mark("XG 2026-02-01", position: 5)
        #expect(PathwayRules.findingsAdded(by: end, to: t.marks) == [])
        #expect(PathwayRules.findingsAdded(by: end, to: t.marks, includingAwaiting: true).map(\.rule) == [.helpNeedsMissing])
        #expect(PathwayRules.findingsAdded(by: RulesTimeline.mark("UB 2026-01-08", position: 5), to: t.marks) == [])
    }

    @Test("--strict: a correction that leaves an existing finding in place adds nothing") func strictCorrection() {
        var t = RulesTimeline("A 2026-01-05; M 2026-01-08; M 2026-01-09")
        let before = t.marks
        t.correct(3, "M 2026-01-10 in")
        #expect(t.ruleIDs == ["first-attendance-once"])
        #expect(PathwayRules.findingsAdded(before: before, after: t.marks) == [])
        t.correct(2, "M 2026-01-04")
        #expect(PathwayRules.findingsAdded(before: before, after: t.marks).map(\.rule) == [.startFirst])
    }

    @Test("findings are a pure function of the corrected history") func pureFunction() {
        for seed in UInt64(1)...300 {
            let t = rulesRandomTimeline(seed: seed)
            let a = PathwayRules.findings(t.marks)
            #expect(a == PathwayRules.findings(t.marks))
            // Rebuilding the same corrected history from scratch gives the same findings.
            var fresh = EpisodeHistory()
            for m in t.marks { var c = m; c.position = m.place; fresh.register(c) }
            #expect(PathwayRules.findings(fresh.marks).map(\.rule) == a.map(\.rule))
            #expect(PathwayRules.findings(fresh.marks).map(\.place) == a.map(\.place))
            // Every finding names a registration in force.
            for f in a { #expect(t.marks.contains { $0.place == f.place && $0.position == f.position }) }
        }
    }
}
