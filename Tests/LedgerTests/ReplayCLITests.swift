import Foundation
import Testing
import Pathway

/// The auditor-facing commands end to end (replay, history, export, verify-bundle): the real
/// binary, a real store, the clock fixed by PATHWAY_NOW.
@Suite struct ReplayCLITests {
    let l = Lines()


    /// A registration line with more fields.
    func with(_ line: String, _ extra: String) -> String { String(line.dropLast()) + "," + extra + "}" }

    /// EP-1: A with a note (1), M dated before A (2, start-first), CT (3), then M corrected to
    /// 8 January (4) and the CT voided (5), each recorded on its own day. EP-2: an A with an
    /// emergency assessment date (6).
    var lines: [String] {
        [with(l.reg("r-1", "EP-1", "D01A", "2026-01-05", recordedAt: "2026-01-05T09:00:00Z"), "\"note\":\"referred by GP\""),
         l.reg("r-2", "EP-1", "D01M", "2026-01-03", recordedAt: "2026-01-08T10:00:00Z"),
         l.reg("r-3", "EP-1", "D01CT", "2026-01-20", recordedAt: "2026-01-20T11:00:00Z"),
         l.correct("c-1", "r-2", reason: "wrong date", "EP-1", "D01M", "2026-01-08", recordedAt: "2026-01-21T09:00:00Z", author: "u-9"),
         l.void("v-1", "r-3", reason: "registered on the wrong patient", recordedAt: "2026-01-22T09:00:00Z"),
         with(l.reg("e-1", "EP-2", "D01A", "2026-02-10", recordedAt: "2026-02-10T09:00:00Z"), "\"emergencyAssessmentDate\":\"2026-02-09\"")]
    }

    /// A store in `dir` holding `lines`; returns its path.
    func makeStore(_ dir: String) throws -> String {
        let input = dir + "/in.ndjson", store = dir + "/store"
        try write(lines, to: input)
        let r = try pathway(["append", input, "--store", store])
        try #require(r.status == 0, "\(r.stderr)")
        return store
    }

    /// A replay row: label and value in the one column every row shares.
    func row(_ label: String, _ value: String) -> String {
        "    " + label.padding(toLength: 15, withPad: " ", startingAt: 0) + "  " + value
    }

    let textM = "D01M (pathway D01, event M) — \(PathwayCode.M.norwegian)"
    let textCT = "D01CT (pathway D01, event C, outcome T) — \(PathwayCode.C("T").norwegian)"

    func objects(_ any: Any?) -> [[String: Any]] { any as? [[String: Any]] ?? [] }
    func timer(_ state: [String: Any]?, _ kind: String) -> [String: Any]? {
        objects(state?["timers"]).first { $0["timer"] as? String == kind }
    }

    @Test func replayTextShowsCodeTextsWhatWasReplacedAndOneValueColumn() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let r = try pathway(["replay", "EP-1", "--store", store])
            #expect(r.status == 0, "\(r.stderr)")
            let out = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            func has(_ line: String) { #expect(out.contains(line), "missing \"\(line)\" in:\n\(r.stdout)") }

            // The registration, with the Norwegian code text and every field that was registered.
            has(row("registered", "D01A (pathway D01, event A) — \(PathwayCode.A.norwegian)"))
            has(row("dated", "2026-01-05"))
            has(row("patient", l.patient))
            has(row("where", "\(l.institution) / \(l.unit), outpatient"))
            has(row("note", "referred by GP"))
            has(row("by", "u-9"))
            // The correction: what it names, why, what it now reads and what it replaced.
            has(row("corrects", "r-2 (position 2)"))
            has(row("reason", "wrong date"))
            has(row("now reads", textM + ", dated 2026-01-08"))
            has(row("was", textM + ", dated 2026-01-03"))
            // The voiding: what it voided.
            has(row("voids", "r-3 (position 3)"))
            has(row("reason", "registered on the wrong patient"))
            has(row("which was", textCT + ", dated 2026-01-20, patient \(l.patient), at \(l.institution) / \(l.unit), outpatient"))
            // Findings, state and timers in the same column.
            #expect(out.contains { $0.hasPrefix(row("finding raised", "[start-first] ")) }, "\(r.stdout)")
            #expect(out.contains { $0.hasPrefix(row("finding cleared", "[start-first] ")) }, "\(r.stdout)")
            has(row("state after", "phase started"))
            // After the A alone no timer is known: said, not left out.
            has(row("timers after", "none"))
            has(row("timers after", "as of 2026-01-22"))

            // Every labelled row (four spaces in) has its value in one column.
            let labelled = out.filter { $0.hasPrefix("    ") && !$0.hasPrefix("     ") }
            #expect(labelled.count >= 40, "\(r.stdout)")
            for line in labelled {
                let c = Array(line)
                var i = 4
                while i + 1 < c.count && !(c[i] == " " && c[i + 1] == " ") { i += 1 }
                while i < c.count && c[i] == " " { i += 1 }
                #expect(i == 21, "value at column \(i), not 21: \"\(line)\"")
            }
        }
    }

    @Test func replayJSONReadsTimersAsOfValidAtAndSaysSo() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            // The basic assessment (M 8 January → a decision, 21 days) is open again after the
            // voiding, due 29 January: overdue on 30 January, running on the 22nd.
            let r = try pathway(["replay", "EP-1", "--store", store, "--json", "--valid-at", "2026-01-30"])
            #expect(r.status == 0, "\(r.stderr)")
            let json = try #require(r.json, "\(r.stdout)")
            #expect(json["validAt"] as? String == "2026-01-30")
            let steps = objects(json["steps"])
            try #require(steps.count == 5, "\(r.stdout)")
            for s in steps { #expect((s["state"] as? [String: Any])?["timersAsOf"] as? String == "2026-01-30", "\(s)") }
            let last = steps[4]["state"] as? [String: Any]
            #expect(timer(last, "basic-assessment")?["status"] as? String == "overdue", "\(r.stdout)")
            // The text says the same.
            let text = try pathway(["replay", "EP-1", "--store", store, "--valid-at", "2026-01-30"])
            #expect(text.status == 0, "\(text.stderr)")
            let tail = text.stdout.components(separatedBy: "Position 5 ").last ?? ""
            #expect(tail.contains(row("timers after", "as of 2026-01-30")), "\(text.stdout)")
            #expect(tail.split(separator: "\n").contains { $0.contains("basic-assessment") && $0.contains("overdue") }, "\(text.stdout)")

            // Without --valid-at: as of each event's recorded date, named.
            let plain = try #require(try pathway(["replay", "EP-1", "--store", store, "--json"]).json)
            #expect(plain["validAt"] is NSNull)
            let p = objects(plain["steps"])
            try #require(p.count == 5)
            #expect(p.map { ($0["state"] as? [String: Any])?["timersAsOf"] as? String }
                    == ["2026-01-05", "2026-01-08", "2026-01-20", "2026-01-21", "2026-01-22"])
            #expect(timer(p[4]["state"] as? [String: Any], "basic-assessment")?["status"] as? String == "running", "\(p[4])")

            // Every registration field, and what a correction replaced; the old names are kept.
            let first = try #require(p[0]["event"] as? [String: Any])
            #expect(first["patient"] as? String == l.patient)
            #expect(first["note"] as? String == "referred by GP")
            #expect(first["emergencyAssessmentDate"] is NSNull)
            #expect(first["text"] as? String == PathwayCode.A.norwegian)
            for key in ["position", "version", "appendedAt", "recordedAt", "kind", "id", "author", "code", "pathway", "event",
                        "outcome", "english", "date", "setting", "institution", "unit", "targetPosition", "hash"] {
                #expect(first.keys.contains(key), "\(key) missing from \(first)")
            }
            let correction = try #require(p[3]["event"] as? [String: Any])
            #expect(correction["corrects"] as? String == "r-2")
            #expect(correction["targetPosition"] as? Int == 2)
            let replaced = try #require(correction["targetEvent"] as? [String: Any], "\(correction)")
            #expect(replaced["id"] as? String == "r-2")
            #expect(replaced["date"] as? String == "2026-01-03")
            #expect((p[4]["event"] as? [String: Any])?["targetEvent"].flatMap { $0 as? [String: Any] }?["code"] as? String == "D01CT")

            // An emergency assessment date, in JSON and text.
            let ep2 = try #require(try pathway(["replay", "EP-2", "--store", store, "--json"]).json)
            #expect((objects(ep2["steps"]).first?["event"] as? [String: Any])?["emergencyAssessmentDate"] as? String == "2026-02-09")
            let ep2Text = try pathway(["replay", "EP-2", "--store", store])
            #expect(ep2Text.stdout.contains(row("emergency", "assessed 2026-02-09 (øyeblikkelig hjelp)")), "\(ep2Text.stdout)")
        }
    }

    @Test func replayAtPositionFromTheCommandLine() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let r = try pathway(["replay", "EP-1", "--store", store, "--at-position", "3"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix("Replay of episode EP-1, up to position 3\n"), "\(r.stdout)")
            let headings = r.stdout.split(separator: "\n").filter { $0.hasPrefix("Position ") }
            #expect(headings.map { String($0.prefix(11)) } == ["Position 1 ", "Position 2 ", "Position 3 "], "\(r.stdout)")
            #expect(!r.stdout.contains("correction c-1"))

            let j = try #require(try pathway(["replay", "EP-1", "--store", store, "--json", "--at-position", "4"]).json)
            #expect(j["atPosition"] as? Int == 4)
            let kinds = objects(j["steps"]).map { ($0["event"] as? [String: Any])?["kind"] as? String }
            #expect(kinds == ["registration", "registration", "registration", "correction"])

            let none = try pathway(["replay", "EP-1", "--store", store, "--at-position", "0"])
            #expect(none.status == 0 && none.stdout.contains("(no events in this view)"), "\(none.stdout)")
            #expect(try pathway(["replay", "EP-1", "--store", store, "--at-position", "x"]).status == 64)
        }
    }

    @Test func historyBetweenShowsWhatACorrectionOrVoidingReplaced() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            // The window that learned the correction.
            let a = "2026-01-20T12:00:00Z", b = "2026-01-21T12:00:00Z"
            let t = try pathway(["history", "EP-1", "--store", store, "--between", a, b])
            #expect(t.status == 0, "\(t.stderr)")
            #expect(t.stdout.contains("Position 4 · version 4 · correction c-1"), "\(t.stdout)")
            #expect(t.stdout.contains(row("corrects", "r-2 (position 2)")), "\(t.stdout)")
            #expect(t.stdout.contains(row("was", textM + ", dated 2026-01-03")), "\(t.stdout)")
            let j = try #require(try pathway(["history", "EP-1", "--store", store, "--between", a, b, "--json"]).json)
            let learned = objects(j["learned"])
            try #require(learned.count == 1, "\(j)")
            #expect(learned[0]["corrects"] as? String == "r-2")
            let replaced = learned[0]["targetEvent"] as? [String: Any]
            #expect(replaced?["position"] as? Int == 2)
            #expect(replaced?["date"] as? String == "2026-01-03")

            // The window that learned the voiding: timers as they stood on each instant's date, not today's.
            let c = "2026-01-22T12:00:00Z"
            let v = try pathway(["history", "EP-1", "--store", store, "--between", b, c])
            #expect(v.status == 0, "\(v.stderr)")
            #expect(v.stdout.contains(row("which was", textCT + ", dated 2026-01-20, patient \(l.patient), at \(l.institution) / \(l.unit), outpatient")), "\(v.stdout)")
            #expect(v.stdout.contains("Timers as known at \(b), status as of 2026-01-21\n"), "\(v.stdout)")
            #expect(v.stdout.contains("Timers as known at \(c), status as of 2026-01-22\n"), "\(v.stdout)")
            let after = v.stdout.components(separatedBy: "Timers as known at \(c)").last ?? ""
            #expect(after.split(separator: "\n").contains { $0.contains("basic-assessment") && $0.contains("running") }, "\(v.stdout)")
            #expect(!v.stdout.contains("overdue"), "as of today (1 March) it would be overdue: \(v.stdout)")
            let vj = try #require(try pathway(["history", "EP-1", "--store", store, "--between", b, c, "--json"]).json)
            #expect((objects(vj["learned"]).first?["targetEvent"] as? [String: Any])?["id"] as? String == "r-3")
            let before = vj["before"] as? [String: Any], afterJSON = vj["after"] as? [String: Any]
            #expect(before?["timersAsOf"] as? String == "2026-01-21")
            #expect(afterJSON?["timersAsOf"] as? String == "2026-01-22")
            #expect(timer(afterJSON, "basic-assessment")?["status"] as? String == "running", "\(vj)")
        }
    }

    @Test func aFailedExportLeavesNoFileAndABadAnchorAtIsAUsageError() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let bundle = dir + "/ep-1.bundle"
            func entries() throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: dir)) }
            let clean = try entries()

            // EP-1's last event is at position 5, the head at 6.
            for at in ["4", "7"] {
                let r = try pathway(["export", "EP-1", "--store", store, "--out", bundle, "--anchor-at", at])
                #expect(r.status == 64, "--anchor-at \(at): \(r.status) \(r.stderr)")
                #expect(r.stderr.contains("--anchor-at") && r.stderr.contains("anchor position \(at)"), "\(r.stderr)")
                #expect(try entries() == clean, "a failed export leaves nothing behind")
            }
            let unknown = try pathway(["export", "EP-9", "--store", store, "--out", bundle])
            #expect(unknown.status == 64, "\(unknown.stderr)")
            #expect(unknown.stderr.contains("no episode 'EP-9'"), "\(unknown.stderr)")
            #expect(try entries() == clean)

            // A failure does not touch an earlier bundle at that path.
            let ok = try pathway(["export", "EP-1", "--store", store, "--out", bundle, "--anchor-at", "5"])
            #expect(ok.status == 0, "\(ok.stderr)")
            let written = try Data(contentsOf: URL(fileURLWithPath: bundle))
            #expect(!written.isEmpty)
            #expect(try entries() == clean.union(["ep-1.bundle"]))
            #expect(try pathway(["export", "EP-1", "--store", store, "--out", bundle, "--anchor-at", "99"]).status == 64)
            #expect(try Data(contentsOf: URL(fileURLWithPath: bundle)) == written)
            #expect(try entries() == clean.union(["ep-1.bundle"]))
            #expect(try pathway(["verify-bundle", bundle]).status == 0)
        }
    }

    @Test func verifyBundleWithoutAnAnchorSaysWhatItChecked() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let bundle = dir + "/ep-1.bundle"
            #expect(try pathway(["export", "EP-1", "--store", store, "--out", bundle]).status == 0)
            let anchor = try pathway(["head", "--store", store]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            let own = try pathway(["verify-bundle", bundle])
            #expect(own.status == 0, "\(own.stderr)")
            #expect(own.stdout.contains("only consistent with its own anchor \(anchor); pass --anchor with an anchor you trust to prove it is unaltered"),
                    "\(own.stdout)")

            let trusted = try pathway(["verify-bundle", bundle, "--anchor", anchor])
            #expect(trusted.status == 0, "\(trusted.stderr)")
            #expect(!trusted.stdout.contains("only consistent"), "\(trusted.stdout)")
            #expect(trusted.stdout.contains("the anchor is the one you trust"), "\(trusted.stdout)")
        }
    }
}
