import Pathway

extension Deadlines {
    /// The timers of one episode, as of `asOf`: only registrations dated on or before it are seen
    /// (corrections and voidings are already applied in `marks`, so the filter reads the corrected
    /// dates). `marks` is the corrected history in place order (`EpisodeHistory.marks`).
    public static func timers(for marks: [Mark], rules: RuleBook, asOf: CivilDate? = nil,
                              dueSoonDays: Int = defaultDueSoonDays) -> [Timer] {
        timers(for: Milestones(marks, validAt: asOf), rules: rules, asOf: asOf, dueSoonDays: dueSoonDays)
    }

    /// The timers derived from milestones; with `asOf`, each timer is read as of that date (the same
    /// result as filtering the history first: see ``Timer/evaluated(asOf:dueSoonDays:)``).
    ///
    /// How each timer is started and met (the code's part; the days are the rule set's):
    /// - **detox-to-first-attendance**: D → M. Measured in the setting of M, the receiving treatment
    ///   (seed L971–972: 3 days when the patient goes on to outpatient care); in D's setting while M
    ///   is not registered.
    /// - **basic-assessment**: M → the first clinical decision, in M's setting.
    /// - **extended-assessment**: the first decision, when it is CU → the next decision, in the CU's
    ///   setting; with carry-over, plus the basic days unused at CU: basic − days(M → CU), never below 0
    ///   (never above the basic days; none without M). Overrun basic days are not taken off.
    /// - **total-assessment**: M → the decision after CU, in M's setting, only when the first decision
    ///   is CU; it becomes known on the CU's date.
    /// - **first-evaluation**: the decision that finished the assessment (the first non-CU decision),
    ///   when it includes T → the first E dated on or after it, in the decision's setting.
    /// - **next-evaluation**: each E (on or after that decision; E registrations of one date are one
    ///   evaluation point) → the next E, in the E's setting; the second-year interval applies when the
    ///   E is `afterDays` (365) or more days after the decision. No evaluation timers without a final
    ///   decision including T.
    /// - **emergency-start**: the emergency assessment date on A → A, in A's setting; known from A.
    ///
    /// The rules version is the one in effect on the episode's start (``Milestones/measuringStart``).
    /// A timer whose start is after the episode's end is not created; a registration dated after the
    /// end does not meet a timer. Nor is a timer created whose meeting registration is dated before its
    /// start: the codes came in an order the pathway time cannot measure (M before D, as in pathways
    /// before the 2020 revision; a decision granting treatment without assessment before M).
    ///
    /// A patient-postponed registration (L) marks a timer when it is dated on or after the start and
    /// on or before the completion (met, else end, else the as-of date), for the timers the rule set
    /// makes postponable. Timers come sorted by start, kind, place.
    public static func timers(for m: Milestones, rules: RuleBook, asOf: CivilDate? = nil,
                              dueSoonDays: Int = defaultDueSoonDays) -> [Timer] {
        var out: [Timer] = []
        timers(for: m, rules: rules, asOf: asOf, dueSoonDays: dueSoonDays, into: &out)
        return out
    }

    /// The same, replacing the contents of `out` — a fold reusing one array saves an allocation per episode.
    public static func timers(for m: Milestones, rules: RuleBook, asOf: CivilDate? = nil,
                              dueSoonDays: Int = defaultDueSoonDays, into out: inout [Timer]) {
        out.removeAll(keepingCapacity: true)
        guard let measuringStart = m.measuringStart else { return }
        let rs = rules.version(forStart: measuringStart)
        out.reserveCapacity(6 + m.evaluations.count)
        let end = m.end?.date
        let version = rs.versionName

        func add(_ kind: Timer.Kind, place: UInt64, startedBy: Timer.Point, setting: CareSetting, days: Int,
                 openSetting: CareSetting, openDays: Int, met: Timer.Point?, visibleFrom: CivilDate) {
            let start = startedBy.date
            if let e = end, start > e { return }
            if let mt = met, mt.date < start { return }
            var met = met
            if let mt = met, let e = end, mt.date > e { met = nil }
            var firstL: CivilDate? = nil
            if rs.rule(kind)?.patientPostponable == true {
                for l in m.postponements where l.date >= start { firstL = l.date; break }
            }
            var t = Timer(kind: kind, place: place, startedBy: startedBy, due: start.adding(days: days), met: met,
                          setting: setting, openSetting: openSetting, openDue: start.adding(days: openDays),
                          episodeEnd: end, firstPostponement: firstL, visibleFrom: visibleFrom, versionName: version)
            if t.evaluate(asOf: asOf, dueSoonDays: dueSoonDays) { out.append(t) }
        }

        // Detox finished → first attendance.
        if let d = m.detoxFinished {
            let fa = m.firstAttendance
            let openDays = rs.days(.detoxToFirstAttendance, d.setting)
            var terms: (CareSetting, Int)? = openDays.map { (d.setting, $0) }
            if let fa, let days = rs.days(.detoxToFirstAttendance, fa.setting) { terms = (fa.setting, days) }
            if let (setting, days) = terms {
                add(.detoxToFirstAttendance, place: d.place, startedBy: Timer.Point(code: .D, date: d.date),
                    setting: setting, days: days, openSetting: openDays != nil ? d.setting : setting,
                    openDays: openDays ?? days, met: fa.map { Timer.Point(code: .M, date: $0.date) }, visibleFrom: d.date)
            }
        }

        let decisions = m.decisions
        func decisionPoint(_ i: Int) -> Timer.Point? {
            i < decisions.count ? Timer.Point(code: decisions[i].firstCode, date: decisions[i].date) : nil
        }

        // Basic assessment: M → first decision.
        if let fa = m.firstAttendance, let days = rs.days(.basicAssessment, fa.setting) {
            add(.basicAssessment, place: fa.place, startedBy: Timer.Point(code: .M, date: fa.date), setting: fa.setting,
                days: days, openSetting: fa.setting, openDays: days, met: decisionPoint(0), visibleFrom: fa.date)
        }

        // Extended and total assessment, when the first decision is CU.
        if let cu = decisions.first, cu.isExtendedAssessment {
            let s = cu.first.setting
            if let days = rs.days(.extendedAssessment, s) {
                var carry = 0
                if rs.rule(.extendedAssessment)?.carryOverUnusedBasicDays == true, let fa = m.firstAttendance,
                   let basic = rs.days(.basicAssessment, s) {
                    carry = max(0, basic - max(0, fa.date.days(until: cu.date)))
                }
                add(.extendedAssessment, place: cu.first.place, startedBy: Timer.Point(code: cu.firstCode, date: cu.date),
                    setting: s, days: days + carry, openSetting: s, openDays: days + carry, met: decisionPoint(1),
                    visibleFrom: cu.date)
            }
            if let fa = m.firstAttendance, let days = rs.days(.totalAssessment, fa.setting) {
                add(.totalAssessment, place: fa.place, startedBy: Timer.Point(code: .M, date: fa.date), setting: fa.setting,
                    days: days, openSetting: fa.setting, openDays: days, met: decisionPoint(1),
                    visibleFrom: max(fa.date, cu.date))
            }
        }

        // Evaluations, from the decision that finished the assessment when it includes T.
        if let fi = m.finalDecisionIndex, decisions[fi].includesTreatment {
            let f = decisions[fi]
            let evaluations = m.evaluations
            var k = 0
            while k < evaluations.count && evaluations[k].date < f.date { k += 1 }
            if let days = rs.days(.firstEvaluation, f.first.setting) {
                add(.firstEvaluation, place: f.first.place, startedBy: Timer.Point(code: f.firstCode, date: f.date),
                    setting: f.first.setting, days: days, openSetting: f.first.setting, openDays: days,
                    met: k < evaluations.count ? Timer.Point(code: .E, date: evaluations[k].date) : nil, visibleFrom: f.date)
            }
            let rule = rs.rule(.nextEvaluation)
            while k < evaluations.count {
                let e = evaluations[k]
                var next = k + 1
                while next < evaluations.count && evaluations[next].date == e.date { next += 1 }
                var days = rule?.days(e.setting)
                if let y = rule?.fromSecondYear, f.date.days(until: e.date) >= y.afterDays {
                    days = e.setting == .outpatient ? y.outpatient : y.inpatient
                }
                if let days {
                    add(.nextEvaluation, place: e.place, startedBy: Timer.Point(code: .E, date: e.date), setting: e.setting,
                        days: days, openSetting: e.setting, openDays: days,
                        met: next < evaluations.count ? Timer.Point(code: .E, date: evaluations[next].date) : nil,
                        visibleFrom: e.date)
                }
                k = next
            }
        }

        // Emergency assessment → start.
        if let a = m.start, let ea = m.emergencyAssessment, let days = rs.days(.emergencyStart, a.setting) {
            add(.emergencyStart, place: a.place, startedBy: Timer.Point(code: nil, date: ea), setting: a.setting, days: days,
                openSetting: a.setting, openDays: days, met: Timer.Point(code: .A, date: a.date), visibleFrom: a.date)
        }

        // Insertion sort by start, kind, place: the timers are built nearly in order.
        if out.count > 1 {
            for k in 1..<out.count {
                let t = out[k]
                var i = k
                while i > 0 && Self.precedes(t, out[i - 1]) { out[i] = out[i - 1]; i -= 1 }
                out[i] = t
            }
        }
    }

    @inline(__always) static func precedes(_ x: Timer, _ y: Timer) -> Bool {
        if x.start != y.start { return x.start < y.start }
        if x.kind != y.kind { return x.kind < y.kind }
        return x.place < y.place
    }
}
