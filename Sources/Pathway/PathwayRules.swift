/// The pathway rules a ledger can check: the "When each code is registered" list of PATHWAY.md,
/// read against the seed (Helsedirektoratet's code chapter), which wins where the two differ.
///
/// Findings are a pure function of the corrected history (`EpisodeHistory.marks`): re-evaluating
/// after a correction or voiding drops the findings that no longer apply. Each finding is raised by
/// the registration that breaks the rule — for a duplicate of a once-only code, every registration
/// but the milestone (earliest date, then earliest place; see ``Milestones``); for an ordering rule
/// between two registrations, the later-placed of the two. Findings come in place order, and for
/// one registration in the order of ``Finding/Rule``.
///
/// A clinical decision without an outcome is not a finding: the code model rejects a bare C as
/// structurally invalid (the seed's "kode for tjenestebehov skal registreres" wins over PATHWAY.md).
///
/// Deliberately not checked: "normally" and "should" guidance (UU after UB, UF near the end, L
/// longer than 7 working days, F only for a new plan), and the preconditions the codes cannot show
/// (epikrise sent before X, the XM contact attempts, the clinical stability before an emergency A).
public enum PathwayRules {
    /// From the 29 September 2020 revision the order at a detox start is D, then M (seed changelog);
    /// earlier pathways may have M before D, so the order is checked only for pathways starting on
    /// or after this date.
    public static let detoxOrderFrom = CivilDate(year: 2020, month: 9, day: 29)!
    /// `XS` (transferred to a contract specialist) is new on 30 September 2022 (seed changelog).
    public static let transferToSpecialistFrom = CivilDate(year: 2022, month: 9, day: 30)!

    /// Every finding of the history `marks` (place order).
    public static func findings(_ marks: [Mark]) -> [Finding] {
        findings(marks, milestones: Milestones(marks), validAt: nil)
    }

    /// The findings, reusing milestones already derived from the same `marks` and `validAt`.
    public static func findings(_ marks: [Mark], milestones m: Milestones, validAt: CivilDate? = nil) -> [Finding] {
        var out: [Finding] = []
        guard m.count > 0 else { return out }

        // Context decided once per episode.
        var startMissingPlace: UInt64? = nil
        if m.start == nil {
            var best: Milestones.Point? = nil
            for k in marks where validAt == nil || k.date <= validAt! {
                let p = Milestones.Point(date: k.date, setting: k.setting, place: k.place)
                if best == nil || p.precedes(best!) { best = p }
            }
            startMissingPlace = best?.place
        }
        var detoxOrderPlace: UInt64? = nil
        if let d = m.detoxFinished, let fa = m.firstAttendance, d.date > fa.date,
           let s = m.measuringStart, s >= detoxOrderFrom {
            detoxOrderPlace = max(d.place, fa.place)
        }
        var detoxLate = false
        if let d = m.detoxFinished, let c = m.firstDecision, d.date > c.date { detoxLate = true }
        var emergencyAttendance = false
        if let s = m.start, m.emergencyAssessment != nil, m.detoxFinished == nil,
           let fa = m.firstAttendance, fa.date != s.date { emergencyAttendance = true }

        var helpMissing = false, evaluationMissing = false, codeTooEarly = false
        if let e = m.end {
            let final = m.finalDecision
            let treated = final?.includesTreatment ?? false
            let o = e.outcome
            if o == UInt8(ascii: "N") || (o == UInt8(ascii: "G") && treated) {
                helpMissing = !m.helpNeeds.contains { $0.date == e.date }
            }
            if treated, o != UInt8(ascii: "R"), o != UInt8(ascii: "O"), o != UInt8(ascii: "S"), let f = final {
                evaluationMissing = !m.evaluations.contains { $0.date >= f.date && $0.date <= e.date }
            }
            codeTooEarly = o == UInt8(ascii: "S") && e.date < transferToSpecialistFrom
        }

        for k in marks {
            if let v = validAt, k.date > v { continue }
            if let p = startMissingPlace, k.place == p { out.append(Finding(.startMissing, k)) }
            if let s = m.start, k.date < s.date { out.append(Finding(.startFirst, k)) }
            switch k.code.event {
            case .start:
                if k.place != m.start!.place {
                    out.append(Finding(.startOnce, k))
                } else if let ed = k.emergencyDate, ed > k.date {
                    out.append(Finding(.emergencyAssessmentAfterStart, k))
                }
            case .firstAttendance:
                if k.place != m.firstAttendance!.place {
                    out.append(Finding(.firstAttendanceOnce, k))
                } else {
                    if emergencyAttendance { out.append(Finding(.firstAttendanceWithEmergencyStart, k)) }
                    if detoxOrderPlace == k.place { out.append(Finding(.detoxBeforeFirstAttendance, k)) }
                }
            case .detoxFinished:
                if k.place != m.detoxFinished!.place {
                    out.append(Finding(.detoxOnce, k))
                } else {
                    if detoxOrderPlace == k.place { out.append(Finding(.detoxBeforeFirstAttendance, k)) }
                    if detoxLate { out.append(Finding(.detoxAtStart, k)) }
                }
            case .clinicalDecision:
                guard let j = m.decisions.firstIndex(where: { $0.date == k.date }) else { break }
                let d = m.decisions[j]
                if j >= 2 {
                    out.append(Finding(.decisionsAtMostTwo, k))
                } else if j == 1 {
                    if !m.decisions[0].isExtendedAssessment {
                        out.append(Finding(.decisionAfterFinal, k))
                    } else if d.isExtendedAssessment {
                        out.append(Finding(.extendedAssessmentOnce, k))
                    }
                }
                if d.isExtendedAssessment, !d.outcomes.isDisjoint(with: .serviceNeeds),
                   k.place == conflictPlace(marks, date: k.date, validAt: validAt) {
                    out.append(Finding(.extendedAssessmentAlone, k))
                }
            case .activity:
                let milestone: Milestones.Point?
                switch k.code.outcomeByte {
                case UInt8(ascii: "B"): milestone = m.informed
                case UInt8(ascii: "U"): milestone = m.involved
                default: milestone = m.feedbackTool
                }
                if k.place != milestone!.place { out.append(Finding(.activityOnce, k)) }
            case .end:
                if k.place != m.end!.place {
                    out.append(Finding(.endOnce, k))
                } else {
                    if helpMissing { out.append(Finding(.helpNeedsMissing, k)) }
                    if evaluationMissing { out.append(Finding(.evaluationAtEnd, k)) }
                    if codeTooEarly { out.append(Finding(.codeNotYetValid, k)) }
                }
            case .helpNeeded:
                if let e = m.end {
                    let o = e.outcome
                    if k.date != e.date || (o != UInt8(ascii: "G") && o != UInt8(ascii: "N") && o != UInt8(ascii: "A")) {
                        out.append(Finding(.helpNeedsWithEnd, k))
                    }
                } else {
                    out.append(Finding(.helpNeedsWithoutEnd, k))
                }
            case .patientPostponed, .feedback, .evaluation:
                break
            }
            // X has its own rule (end-once) and H its own (help-needs-with-end).
            if let e = m.end, k.date > e.date, k.code.event != .end, k.code.event != .helpNeeded {
                out.append(Finding(.afterEnd, k))
            }
        }
        return out
    }

    /// The registration that made a CU decision carry another outcome: the later-placed of the first
    /// `CU` and the first service-need registration of that date.
    static func conflictPlace(_ marks: [Mark], date: CivilDate, validAt: CivilDate?) -> UInt64 {
        var u = UInt64.max, need = UInt64.max
        for k in marks where k.code.event == .clinicalDecision && k.date == date {
            if k.code.outcomeByte == UInt8(ascii: "U") { u = min(u, k.place) } else if k.code.outcomeByte != 0 { need = min(need, k.place) }
        }
        return max(u, need)
    }

    /// The findings present in `after` but not in `before`, matched by rule and place (so correcting a
    /// registration without repairing it adds nothing). Unless `includingAwaiting`, rules a later
    /// registration can still satisfy (``Finding/Rule/awaitsRegistration``) are left out: this is
    /// what `--strict` rejects.
    public static func findingsAdded(before: [Mark], after: [Mark], includingAwaiting: Bool = false) -> [Finding] {
        let old = findings(before)
        return findings(after).filter { f in
            (includingAwaiting || !f.rule.awaitsRegistration) && !old.contains { $0.rule == f.rule && $0.place == f.place }
        }
    }

    /// The findings registering `mark` after `marks` would add. The mark's place is its position,
    /// as ``EpisodeHistory/register(_:)`` sets it.
    public static func findingsAdded(by mark: Mark, to marks: [Mark], includingAwaiting: Bool = false) -> [Finding] {
        var m = mark
        m.place = mark.position
        var after = marks
        after.append(m)
        return findingsAdded(before: marks, after: after, includingAwaiting: includingAwaiting)
    }
}
