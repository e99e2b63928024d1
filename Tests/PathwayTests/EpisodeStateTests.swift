import Testing
import Pathway

@Suite("Episode state")
struct EpisodeStateTests {
    /// Each prefix of a path through the pathway, with the phase after it.
    static let paths: [[(String, EpisodeState.Phase)]] = [
        // Referral, basic assessment, treatment, evaluations, completed.
        [("A 2026-01-05", .started), ("UB 2026-01-06", .started), ("M 2026-01-08", .assessment), ("CT 2026-01-25", .treatment),
         ("E 2026-02-05", .treatment), ("XG 2026-05-01", .ended), ("HK 2026-05-01", .ended)],
        // Detox at the start, then extended assessment, then treatment.
        [("A 2026-01-05 in", .started), ("D 2026-01-09 in", .started), ("M 2026-01-09", .assessment),
         ("CU 2026-01-20", .extendedAssessment), ("L 2026-02-01", .extendedAssessment), ("CT 2026-03-01", .treatment),
         ("XP 2026-04-01", .ended)],
        // Extended assessment ending without treatment in TSB.
        [("A 2026-01-05", .started), ("M 2026-01-06", .assessment), ("CU 2026-01-10", .extendedAssessment),
         ("CP 2026-02-10", .decided), ("CK 2026-02-10", .decided), ("XG 2026-02-11", .ended)],
        // Basic assessment ending without treatment in TSB.
        [("A 2026-01-05", .started), ("M 2026-01-06", .assessment), ("CI 2026-01-20", .decided), ("XG 2026-01-21", .ended)],
        // Right to care not granted, directly after A.
        [("A 2026-01-05", .started), ("XR 2026-01-12", .ended)],
        // Emergency start: M together with A.
        [("A 2026-01-05 e=2025-12-30 in", .started), ("M 2026-01-05 in", .assessment), ("CT 2026-01-10 in", .treatment)],
        // Treatment granted without assessment: only C (with its service need).
        [("A 2026-01-05", .started), ("CT 2026-01-05", .treatment), ("E 2026-01-19", .treatment)],
        // Ended after the first conversation.
        [("A 2026-01-05", .started), ("M 2026-01-06", .assessment), ("XA 2026-01-06", .ended), ("HK 2026-01-06", .ended)],
        // Transferred to another trust mid-treatment.
        [("A 2026-01-05", .started), ("M 2026-01-06", .assessment), ("CT 2026-01-20", .treatment), ("XO 2026-02-01", .ended)],
        // Transferred to another pathway.
        [("A 2026-01-05", .started), ("M 2026-01-06", .assessment), ("CS 2026-01-20", .decided), ("XN 2026-01-22", .ended),
         ("HS 2026-01-22", .ended)],
        // Dropped out during extended assessment.
        [("A 2026-01-05", .started), ("M 2026-01-06", .assessment), ("CU 2026-01-10", .extendedAssessment), ("XM 2026-02-01", .ended)],
    ]

    @Test("the phase machine along every path", arguments: 0..<paths.count)
    func phaseAlongPath(_ i: Int) {
        var t = RulesTimeline()
        for (step, phase) in Self.paths[i] {
            t.add(step)
            #expect(t.state.phase == phase, "after \(step)")
        }
    }

    @Test func emptyHistory() {
        let s = EpisodeState(marks: [])
        #expect(s.phase == .started)
        #expect(s.findings == [])
        #expect(s.setting == nil)
        #expect(EpisodeState(decoding: s.encode()) == s)
    }

    /// An episode whose registrations are all voided has nothing in force: it is `voided`, not
    /// `started` (no start is in force), in the full view and as valid at any date; a registration
    /// arriving afterwards moves it on like any other.
    @Test("every registration voided: phase voided") func allVoided() {
        var t = RulesTimeline("A 2026-01-05; M 2026-01-08")
        t.void(2)
        #expect(t.state.phase == .started)
        t.void(1)
        #expect(t.history.isAllVoided)
        #expect(t.state.phase == .voided)
        #expect(t.state.milestones.start == nil)
        #expect(EpisodeState(decoding: t.state.encode()) == t.state)
        let valid = t.history.validAt(ymd("2026-01-06"))
        #expect(EpisodeState(marks: valid.marks, allVoided: valid.isAllVoided).phase == .voided)
        // Nothing registered yet is not "voided".
        #expect(!EpisodeHistory().isAllVoided)
        #expect(EpisodeState(marks: [], allVoided: EpisodeHistory().isAllVoided).phase == .started)
        t.add("A 2026-01-09")
        #expect(!t.history.isAllVoided)
        #expect(t.state.phase == .started)
    }

    @Test("corrections and voidings change the state") func corrections() {
        var t = RulesTimeline("A 2026-01-05; M 2026-01-08; CT 2026-01-25; XG 2026-05-01")
        #expect(t.state.phase == .ended)
        t.void(4)
        #expect(t.state.phase == .treatment)
        let c = t.correct(3, "CK 2026-01-25")
        #expect(t.state.phase == .decided)
        t.correct(c, "CU 2026-01-25")
        #expect(t.state.phase == .extendedAssessment)
        t.void(2)
        #expect(t.state.phase == .extendedAssessment)
        #expect(t.state.milestones.firstAttendance == nil)
        t.correct(1, "A 2026-01-03")
        #expect(t.state.milestones.start?.date == ymd("2026-01-03"))
        #expect(t.state.milestones.start?.place == 1)
    }

    @Test("institution and unit from A, else the first registration; setting the latest registered") func identity() {
        var t = RulesTimeline()
        t.institution = 7; t.unit = 8
        t.add("M 2026-01-08 in")
        #expect(t.state.institution == 7)
        #expect(t.state.setting == .inpatient)
        t.institution = 9; t.unit = 10
        t.add("A 2026-01-05")
        #expect(t.state.institution == 9)
        #expect(t.state.unit == 10)
        #expect(t.state.patient == 1)
        #expect(t.state.setting == .outpatient)
        // A correction keeps its place: the setting of the last place wins, whatever was registered later.
        t.correct(1, "M 2026-01-08 in")
        #expect(t.state.setting == .outpatient)
    }

    @Test("milestones: dates, decisions, repeats, end and help needs") func milestones() {
        let t = RulesTimeline("A 2026-01-05 e=2026-01-01; D 2026-01-06 in; M 2026-01-08; UB 2026-01-08; CU 2026-01-12; "
            + "CT 2026-02-20; CK 2026-02-20; UU 2026-02-21; F 2026-02-22; E 2026-03-01; L 2026-03-10; E 2026-04-20; "
            + "F 2026-04-21; E 2026-04-01; UF 2026-05-30; XG 2026-06-01; HK 2026-06-01; HA 2026-06-01")
        let m = t.state.milestones
        #expect(m.start?.date == ymd("2026-01-05"))
        #expect(m.emergencyAssessment == ymd("2026-01-01"))
        #expect(m.detoxFinished?.date == ymd("2026-01-06"))
        #expect(m.detoxFinished?.setting == .inpatient)
        #expect(m.firstAttendance?.date == ymd("2026-01-08"))
        #expect(m.decisions.map(\.date) == [ymd("2026-01-12"), ymd("2026-02-20")])
        #expect(m.firstDecisionIsExtended)
        #expect(m.finalDecision?.outcomes == [.treatment, OutcomeSet(letter: UInt8(ascii: "K"))])
        #expect(m.finalDecision?.firstCode == .C("T"))
        #expect(m.informed?.date == ymd("2026-01-08"))
        #expect(m.involved?.date == ymd("2026-02-21"))
        #expect(m.feedbackTool?.date == ymd("2026-05-30"))
        #expect(m.feedback.map(\.date) == [ymd("2026-02-22"), ymd("2026-04-21")])
        #expect(m.evaluations.map(\.date) == [ymd("2026-03-01"), ymd("2026-04-01"), ymd("2026-04-20")])
        #expect(m.postponements.map(\.date) == [ymd("2026-03-10")])
        #expect(m.end?.date == ymd("2026-06-01"))
        #expect(m.end?.outcome == UInt8(ascii: "G"))
        #expect(m.helpNeeds.map(\.outcome) == [UInt8(ascii: "K"), UInt8(ascii: "A")])
        #expect(m.count == 18)
        #expect(t.state.findings == [])
        #expect(t.state.phase == .ended)
    }

    @Test("as valid at a date: only registrations dated on or before it") func validAt() {
        let t = RulesTimeline("A 2026-01-05; M 2026-01-08; CT 2026-01-25; E 2026-02-05; XG 2026-05-01")
        #expect(EpisodeState(marks: t.marks, validAt: ymd("2026-01-07")).phase == .started)
        #expect(EpisodeState(marks: t.marks, validAt: ymd("2026-01-08")).phase == .assessment)
        #expect(EpisodeState(marks: t.marks, validAt: ymd("2026-04-30")).phase == .treatment)
        // The XG's missing H only appears once the end is valid.
        #expect(EpisodeState(marks: t.marks, validAt: ymd("2026-04-30")).findings == [])
        #expect(EpisodeState(marks: t.marks, validAt: ymd("2026-05-01")).findings.map(\.rule) == [.helpNeedsMissing])
        #expect(EpisodeState(marks: t.marks, validAt: ymd("2026-01-04")).milestones.count == 0)
    }

    @Test("binary encoding round-trips and is deterministic") func encodingRoundTrip() {
        for seed in UInt64(1)...400 {
            let t = rulesRandomTimeline(seed: seed)
            let s = t.state
            let bytes = s.encode()
            let back = EpisodeState(decoding: bytes)
            #expect(back == s, "seed \(seed)")
            #expect(back?.encode() == bytes)
            #expect(EpisodeState(marks: t.marks).encode() == bytes)
        }
    }

    @Test("the encoding is compact") func encodingSize() {
        let t = RulesTimeline("A 2026-01-05; M 2026-01-08; UB 2026-01-08; CT 2026-01-25; UU 2026-01-25; F 2026-01-26; "
            + "E 2026-02-05; E 2026-03-20; UF 2026-04-30; E 2026-05-01; XG 2026-05-01; HK 2026-05-01")
        #expect(t.state.encode().count <= 64)
    }

    @Test("damaged bytes decode to nil, never a trap") func damagedBytes() {
        let t = RulesTimeline("A 2026-01-05; M 2026-01-04; M 2026-01-08; CU 2026-01-20; CT 2026-01-20; E 2026-02-05; XG 2026-05-01")
        let bytes = t.state.encode()
        for n in 0..<bytes.count { #expect(EpisodeState(decoding: Array(bytes[0..<n])) == nil) }
        #expect(EpisodeState(decoding: bytes + [0]) == nil)
        var r = RulesSplitMix(seed: 9)
        for _ in 0..<2000 {
            var b = bytes
            b[r.int(0...b.count - 1)] = UInt8(truncatingIfNeeded: r.next())
            _ = EpisodeState(decoding: b)
        }
    }

    @Test("JSON has the stable field names in a fixed order") func json() {
        let symbols = SymbolTable()
        let p = symbols.intern("P-7f3a"), i = symbols.intern("HF-Vest"), u = symbols.intern("TSB-\"POL\"")
        var t = RulesTimeline()
        t.institution = i; t.unit = u
        t.add("A 2026-01-05 e=2026-01-01")
        t.add("M 2026-01-05")
        t.add("CT 2026-01-25")
        t.add("CK 2026-01-25")
        t.add("E 2026-02-05")
        t.add("M 2026-02-06")
        t.add("XG 2026-05-01")
        var s = t.state
        s.milestones.patient = p
        let json = s.json(episode: "EP-1", symbols: symbols, version: 7, lastPosition: 42)
        let expected = #"{"episode":"EP-1","patient":"P-7f3a","institution":"HF-Vest","unit":"TSB-\"POL\"","setting":"outpatient","#
            + #""phase":"ended","version":7,"lastPosition":42,"findings":[{"rule":"first-attendance-once","#
            + #""message":"D01M on 2026-02-06: the pathway already has a first attendance (M); M is registered at most once","position":6},"#
            + #"{"rule":"help-needs-missing","message":"D01XG on 2026-05-01: no help needed at end (H) on the date of this end; "#
            + #"H is registered with XN, and with XG when treatment was completed","position":7}],"#
            + #""start":"2026-01-05","emergencyAssessmentDate":"2026-01-01","detoxFinished":null,"firstAttendance":"2026-01-05","#
            + #""decisions":[{"date":"2026-01-25","outcomes":["T","K"]}],"informed":null,"involved":null,"feedbackTool":null,"#
            + #""feedback":[],"evaluations":["2026-02-05"],"postponed":[],"end":{"date":"2026-05-01","outcome":"G"},"helpNeeds":[]}"#
        #expect(json == expected)
    }

    @Test("stored codes are read back only when the code model accepts them") func storedCodes() {
        for event in PathwayEvent.allCases {
            for o in 0...255 {
                let bytes: [UInt8] = [event.rawValue, UInt8(o)]
                let read = bytes.withUnsafeBytes { raw -> PathwayCode? in
                    var r = ByteReader(raw)
                    return r.code()
                }
                #expect(read == PathwayCode(event: event, outcome: o == 0 ? nil : UInt8(o)), "\(event) \(o)")
            }
        }
    }

    @Test("milestone lists are zero-based collections that compare by content") func lists() {
        let t = RulesTimeline("A 2026-01-05; M 2026-01-08; CT 2026-01-25; E 2026-02-05; E 2026-03-05; F 2026-01-26; HK 2026-03-05")
        let m = t.state.milestones
        #expect(m.evaluations.startIndex == 0)
        #expect(m.evaluations[1].date == ymd("2026-03-05"))
        #expect(m.evaluations == Milestones.PointList(Array(m.evaluations)))
        #expect(m.decisions == Milestones.DecisionList(Array(m.decisions)))
        #expect(m.feedback != m.evaluations)
        #expect(Milestones.PointList() == Milestones.PointList([]))
    }

    @Test("phase names are stable") func phaseNames() {
        #expect(EpisodeState.Phase.allCases.map(\.name) == ["started", "assessment", "extended-assessment", "treatment", "decided", "ended", "voided"])
        for p in EpisodeState.Phase.allCases { #expect(EpisodeState.Phase(name: p.name) == p) }
    }
}
