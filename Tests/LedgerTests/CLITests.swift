import Foundation
import Testing
import Audit
import EventLog
import Ledger
import Pathway

/// The `pathway` command end to end: the real binary, real stores, exit codes and messages.
@Suite struct CLITests {
    let l = Lines()



    /// Three registrations whose second line has an impossible date.
    var withBadLine: [String] {
        [l.reg("r-1", "EP-1", "D01A", "2026-01-05"),
         l.reg("r-2", "EP-1", "D01M", "2026-02-30"),
         l.reg("r-3", "EP-1", "D01CT", "2026-01-20")]
    }

    @Test func aBadLineRejectsTheWholeFile() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store"
            try write(withBadLine, to: input)
            let r = try pathway(["append", input, "--store", store])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains("nothing was appended"), "\(r.stderr)")
            #expect(r.stderr.contains("line 2: field 'date'"), "\(r.stderr)")
            #expect(!r.stderr.contains("line 1") && !r.stderr.contains("line 3"), "\(r.stderr)")
            #expect(try events(store) == 0)

            // The same through standard input, with the JSON summary.
            let j = try pathway(["append", "-", "--store", store, "--json"], stdin: withBadLine.joined(separator: "\n"))
            #expect(j.status == 2)
            #expect(j.json?["appended"] as? Int == 0)
            #expect(j.json?["rejectedCount"] as? Int == 1)
            let rejected = (j.json?["rejected"] as? [[String: Any]])?.first
            #expect(rejected?["line"] as? Int == 2)
            #expect(rejected?["field"] as? String == "date")
            #expect(try events(store) == 0)
        }
    }

    @Test func skipInvalidAppendsTheGoodLinesAndWritesTheRejects() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store", rejects = dir + "/rejects.ndjson"
            try write(withBadLine, to: input)
            let r = try pathway(["append", input, "--store", store, "--skip-invalid", rejects])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stdout.contains("appended 2"), "\(r.stdout)")
            #expect(try events(store) == 2)
            let text = try String(contentsOfFile: rejects, encoding: .utf8)
            let rejectLines = text.split(separator: "\n")
            try #require(rejectLines.count == 1, "\(text)")
            let o = try #require(try JSONSerialization.jsonObject(with: Data(rejectLines[0].utf8)) as? [String: Any])
            #expect(o["line"] as? Int == 2)
            #expect((o["reason"] as? String)?.contains("field 'date'") == true, "\(o)")
            #expect(o["input"] as? String == withBadLine[1])
        }
    }

    @Test func strictRejectsARuleBreakTheDefaultStoresItWithAFinding() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson"
            try write([l.reg("r-1", "EP-1", "D01A", "2026-01-05"), l.reg("r-2", "EP-1", "D01A", "2026-01-06")], to: input)

            let strictStore = dir + "/strict"
            let s = try pathway(["append", input, "--store", strictStore, "--strict"])
            #expect(s.status == 2, "\(s.stderr)")
            #expect(s.stderr.contains("line 2"), "\(s.stderr)")
            #expect(s.stderr.contains("start-once"), "\(s.stderr)")
            #expect(try events(strictStore) == 0)

            let store = dir + "/default"
            let d = try pathway(["append", input, "--store", store, "--json"])
            #expect(d.status == 0, "\(d.stderr)")
            let json = try #require(d.json, "\(d.stdout)")
            #expect(json["appended"] as? Int == 2)
            #expect(json["findingsCount"] as? Int == 1)
            let finding = (json["findings"] as? [[String: Any]])?.first
            #expect(finding?["rule"] as? String == "start-once")
            #expect(finding?["line"] as? Int == 2)
            #expect(finding?["position"] as? Int == 2)
            #expect(try events(store) == 2)

            // The finding is kept with the episode.
            let ep = try pathway(["episode", "EP-1", "--store", store, "--json"])
            #expect(ep.status == 0, "\(ep.stderr)")
            let rules = (ep.json?["findings"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
            #expect(rules == ["start-once"], "\(ep.stdout)")
        }
    }

    /// A finding a later registration could still clear (here: no A yet) is stored like any
    /// other, so the summary reports it — in both modes; `--strict` lets it through, or a client
    /// sending an episode's lines out of order could never send them all.
    @Test func findingsALaterRegistrationCanClearAreReportedNotRejected() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson"
            try write([l.reg("r-1", "EP-9", "D01M", "2026-01-08")], to: input)
            for strict in [false, true] {
                let store = dir + (strict ? "/strict" : "/default")
                let r = try pathway(["append", input, "--store", store, "--json"] + (strict ? ["--strict"] : []))
                #expect(r.status == 0, "strict \(strict): \(r.stderr)")
                #expect(r.json?["appended"] as? Int == 1)
                #expect(r.json?["findingsCount"] as? Int == 1, "strict \(strict): \(r.stdout)")
                let rule = ((r.json?["findings"] as? [[String: Any]])?.first)?["rule"] as? String
                #expect(rule == "start-missing", "strict \(strict): \(r.stdout)")
                let ep = try pathway(["episode", "EP-9", "--store", store, "--json"])
                let stored = (ep.json?["findings"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
                #expect(stored == ["start-missing"], "the summary says what the store holds: \(ep.stdout)")
            }
        }
    }

    @Test func reappendingTheSameFileAppendsNothing() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store"
            try write([l.reg("r-1", "EP-1", "D01A", "2026-01-05"), l.reg("r-2", "EP-1", "D01M", "2026-01-08"),
                       l.correct("c-1", "r-2", reason: "wrong date", "EP-1", "D01M", "2026-01-09")], to: input)
            let first = try pathway(["append", input, "--store", store, "--json"])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.json?["appended"] as? Int == 3)
            let head = first.json?["head"] as? String

            let again = try pathway(["append", input, "--store", store, "--json"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.json?["appended"] as? Int == 0)
            #expect(again.json?["duplicates"] as? Int == 3)
            #expect(again.json?["rejectedCount"] as? Int == 0)
            #expect(again.json?["head"] as? String == head)
            #expect(try events(store) == 3)

            let text = try pathway(["import", input, "--store", store, "--format", "ndjson"])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("appended 0, duplicates 3"), "\(text.stdout)")
            #expect(try events(store) == 3)
        }
    }

    /// The time-axis views render names from the view's own symbol table: an earlier version copied
    /// it name by name into another table, where the empty name took a second number and every
    /// later name came out one field off (the patient empty, the patient shown as institution).
    @Test func episodeOnEitherTimeAxisNamesItsPatientInstitutionAndUnit() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store"
            try write(l.openingOfEP1() + [l.reg("r-3", "EP-1", "D01CT", "2026-01-20", recordedAt: "2026-01-20T11:00:00Z")],
                      to: input)
            let appended = try pathway(["append", input, "--store", store])
            #expect(appended.status == 0, "\(appended.stderr)")
            for axis in [["--valid-at", "2026-01-10"], ["--known-at", "2026-01-10T12:00:00Z"], []] {
                let r = try pathway(["episode", "EP-1", "--store", store, "--json"] + axis)
                #expect(r.status == 0, "\(axis): \(r.stderr)")
                #expect(r.json?["patient"] as? String == l.patient, "\(axis): \(r.stdout)")
                #expect(r.json?["institution"] as? String == l.institution, "\(axis): \(r.stdout)")
                #expect(r.json?["unit"] as? String == l.unit, "\(axis): \(r.stdout)")
                #expect(r.json?["phase"] as? String == (axis.isEmpty ? "treatment" : "assessment"), "\(axis): \(r.stdout)")
                let text = try pathway(["episode", "EP-1", "--store", store] + axis)
                #expect(text.status == 0, "\(axis): \(text.stderr)")
                #expect(text.stdout.contains(l.patient), "\(axis): \(text.stdout)")
                #expect(text.stdout.contains("\(l.institution) / \(l.unit)"), "\(axis): \(text.stdout)")
            }
            // Before its first registration was recorded the ledger knew nothing of the episode:
            // that is said, not shown as an empty episode in phase `started`.
            let before = try pathway(["episode", "EP-1", "--store", store, "--known-at", "2026-01-05T08:59:59Z"])
            #expect(before.status == 64, "\(before.stdout)")
            #expect(before.stderr.contains("nothing about episode 'EP-1' had been recorded by 2026-01-05T08:59:59Z"), "\(before.stderr)")
            #expect(before.stderr.contains("2026-01-05T09:00:00Z"), "names when it first was: \(before.stderr)")
            // The same on the other axis: before the date of its first registration the pathway had
            // not begun, and the view says so instead of showing phase `started`.
            let early = try pathway(["episode", "EP-1", "--store", store, "--valid-at", "2026-01-04", "--json"])
            #expect(early.status == 64, "\(early.stdout)")
            #expect(early.stderr.contains("episode 'EP-1' has no registration dated on or before 2026-01-04"), "\(early.stderr)")
            #expect(early.stderr.contains("dated 2026-01-05"), "names the earliest date: \(early.stderr)")
            #expect(try pathway(["episode", "EP-1", "--store", store, "--valid-at", "2026-01-05"]).status == 0, "its first date is in")
        }
    }

    /// The projection commands from the command line: rebuild one, a misspelt name as a usage
    /// error, `verify --projections`, and the episode list's filters.
    @Test func rebuildVerifyAndListFromTheCommandLine() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store"
            try write(l.openingOfEP1() + [l.reg("r-3", "EP-1", "D01CT", "2026-01-20"), l.reg("r-4", "EP-2", "D01A", "2026-01-21")],
                      to: input)
            #expect(try pathway(["append", input, "--store", store]).status == 0)
            let rebuilt = try pathway(["rebuild", "--store", store, "--projection", "episodes"])
            #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
            #expect(rebuilt.stdout.contains("rebuilt episodes from 4 events"), "\(rebuilt.stdout)")
            #expect(rebuilt.stdout.contains("events/s"))
            let bogus = try pathway(["rebuild", "--store", store, "--projection", "episode"])
            #expect(bogus.status == 64, "\(bogus.stderr)")
            #expect(bogus.stderr.contains("there is no projection named 'episode'"), "\(bogus.stderr)")
            #expect(bogus.stderr.contains("episodes"), "names the ones there are: \(bogus.stderr)")
            let verified = try pathway(["verify", "--store", store, "--projections"])
            #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
            #expect(verified.stdout.contains("ok"), "\(verified.stdout)")
            let treatment = try pathway(["episodes", "--store", store, "--phase", "treatment", "--json"])
            #expect(treatment.status == 0)
            #expect(treatment.stdout.split(separator: "\n").count == 1 && treatment.stdout.contains("\"episode\":\"EP-1\""), "\(treatment.stdout)")
            let started = try pathway(["episodes", "--store", store, "--phase", "started", "--json"])
            #expect(started.stdout.contains("\"episode\":\"EP-2\"") && !started.stdout.contains("EP-1"), "\(started.stdout)")
            let phase = try pathway(["episodes", "--store", store, "--phase", "begun"])
            #expect(phase.status == 64, "\(phase.stderr)")
            #expect(phase.stderr.contains("assessment"), "lists the phases: \(phase.stderr)")
        }
    }

    @Test func verifyHeadAndAnchorsAndATamperedCopy() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store"
            try write(auditLines(), to: input)
            #expect(try pathway(["append", input, "--store", store]).status == 0)

            let ok = try pathway(["verify", "--store", store])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout.hasPrefix("ok: 12 events in 3 episodes"), "\(ok.stdout)")

            let head = try pathway(["head", "--store", store])
            #expect(head.status == 0)
            let anchor = head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let parts = anchor.split(separator: ":")
            #expect(parts.count == 2 && parts[0] == "12" && parts[1].count == 64
                    && parts[1].allSatisfy { "0123456789abcdef".contains($0) }, "\(anchor)")

            let anchored = try pathway(["verify", "--store", store, "--anchor", anchor])
            #expect(anchored.status == 0, "\(anchored.stderr)")
            #expect(anchored.stdout.contains("prefix anchored at \(anchor)"), "\(anchored.stdout)")
            let wrong = "12:" + String(repeating: "0", count: 64)
            let bad = try pathway(["verify", "--store", store, "--anchor", wrong])
            #expect(bad.status == 1, "\(bad.stderr)")
            #expect(bad.stderr.contains("position 12"), "\(bad.stderr)")
            let beyond = try pathway(["verify", "--store", store, "--anchor", "13:" + parts[1]])
            #expect(beyond.status == 1, "\(beyond.stderr)")

            let copy = try copyStore(store)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try #require(try flipBytes(of: flipAuthor, inStore: copy) >= 1)
            let tampered = try pathway(["verify", "--store", copy])
            #expect(tampered.status == 1, "\(tampered.stdout) \(tampered.stderr)")
            #expect(tampered.stderr.contains("position 5"), "\(tampered.stderr)")
            #expect(!tampered.stderr.contains("Fatal error"), "\(tampered.stderr)")
        }
    }

    @Test func eventsCutOffTheEndOfTheStoreAreFoundAndTheStoreCanBeRebuilt() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store"
            try write(auditLines(), to: input)
            #expect(try pathway(["append", input, "--store", store]).status == 0)
            let anchor = try pathway(["head", "--store", store]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let copy = try copyStore(store)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try truncateLog(copy, keeping: 9)

            // The published anchor catches it: a verification failure (1), naming where the log now ends.
            let anchored = try pathway(["verify", "--store", copy, "--anchor", anchor])
            #expect(anchored.status == 1, "\(anchored.stderr)")
            #expect(anchored.stderr.contains("position 12"), "\(anchored.stderr)")
            #expect(anchored.stderr.contains("ends at 9"), "\(anchored.stderr)")
            // Without the anchor the projections, still at 12, give it away.
            let plain = try pathway(["verify", "--store", copy])
            #expect(plain.status == 1, "\(plain.stderr)")
            #expect(plain.stderr.contains("checkpoint is 12"), "\(plain.stderr)")
            // The advice works: a rebuild folds what is left, after which the shorter log is
            // consistent — and still not the one the anchor was published for.
            let rebuilt = try pathway(["rebuild", "--store", copy])
            #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
            #expect(try pathway(["verify", "--store", copy]).status == 0)
            #expect(try pathway(["verify", "--store", copy, "--anchor", anchor]).status == 1)
            #expect(try events(copy) == 9)
        }
    }

    @Test func exportAndVerifyBundleRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/in.ndjson", store = dir + "/store", bundle = dir + "/ep-a.bundle"
            try write(auditLines(), to: input)
            #expect(try pathway(["append", input, "--store", store]).status == 0)
            let anchor = try pathway(["head", "--store", store]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            let e = try pathway(["export", "EP-A", "--store", store, "--out", bundle])
            #expect(e.status == 0, "\(e.stderr)")
            #expect(e.stdout.contains("6 events of EP-A, 6 chain links, anchor \(anchor)"), "\(e.stdout)")

            let v = try pathway(["verify-bundle", bundle])
            #expect(v.status == 0, "\(v.stderr)")
            #expect(v.stdout.hasPrefix("ok: 6 events of episode EP-A"), "\(v.stdout)")
            #expect(try pathway(["verify-bundle", bundle, "--anchor", anchor]).status == 0)
            // No store needed: the bundle is checked offline even once the store is gone.
            try FileManager.default.removeItem(atPath: store)
            #expect(try pathway(["verify-bundle", bundle]).status == 0)

            let wrongAnchor = try pathway(["verify-bundle", bundle, "--anchor", "11:" + String(anchor.split(separator: ":")[1])])
            #expect(wrongAnchor.status == 1, "\(wrongAnchor.stderr)")

            let text = try String(contentsOfFile: bundle, encoding: .utf8)
            let forged = text.replacingOccurrences(of: "\"author\":\"\(flipAuthor)\"", with: "\"author\":\"someone-else\"")
            #expect(forged != text)
            try Data(forged.utf8).write(to: URL(fileURLWithPath: bundle))
            let t = try pathway(["verify-bundle", bundle])
            #expect(t.status == 1, "\(t.stderr)")
            #expect(t.stderr.contains("position 5"), "\(t.stderr)")
        }
    }

    @Test func aMissingStoreIsAStoreErrorNamingThePath() throws {
        try withTemporaryDirectory { dir in
            let missing = dir + "/no-such-store"
            for command in [["stats"], ["verify"], ["head"], ["episode", "EP-1"]] {
                let r = try pathway(command + ["--store", missing])
                #expect(r.status == 3, "\(command): \(r.stderr)")
                #expect(r.stderr.contains(missing), "\(command): \(r.stderr)")
                #expect(r.stderr.split(separator: "\n").count == 1, "\(command): one line, no stack trace: \(r.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: missing), "reading commands do not create a store")
        }
    }

    // MARK: - generate

    /// The rule breaks `generate` reports, from its summary line ("…; N rule breaks").
    func ruleBreaks(_ summary: String) -> Int? {
        guard let r = summary.range(of: " rule breaks") else { return nil }
        return Int(summary[..<r.lowerBound].split(separator: " ").last ?? "")
    }

    /// Every finding a store holds, summed over `episodes --json`.
    func storedFindings(_ store: String) throws -> Int {
        let r = try pathway(["episodes", "--store", store, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stdout.split(separator: "\n").reduce(0) { n, line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return n + ((o?["findings"] as? [Any])?.count ?? 0)
        }
    }

    /// Imported, generated data holds exactly the findings of the generator's deliberate rule
    /// breaks. Seed 4's EP-001748 once had both its evaluations before the end voided, which raised
    /// an evaluation-at-end finding besides its injected E after X (95 stored, 94 reported). In CSV
    /// (registrations only) the summary names no corrections or voidings, and the findings agree.
    @Test func generatedDataImportsWithExactlyItsRuleBreaksAsFindings() throws {
        try withTemporaryDirectory { dir in
            var expected: [Int] = []
            for format in ["ndjson", "csv"] {
                let file = dir + "/g." + format, store = dir + "/store-" + format
                let g = try pathway(["generate", "--episodes", "1748", "--seed", "4", "--from", "2022-01-01", "--to", "2025-12-31",
                                     "--format", format, "--out", file])
                #expect(g.status == 0 && g.stderr.isEmpty, "\(g.stderr)")
                let breaks = try #require(ruleBreaks(g.stdout), "\(g.stdout)")
                expected.append(breaks)
                if format == "csv" {
                    #expect(g.stdout.contains("no corrections or voidings"), "\(g.stdout)")
                    #expect(!g.stdout.contains(" corrections,") && !g.stdout.contains(" voidings;"), "\(g.stdout)")
                } else {
                    #expect(g.stdout.contains(" corrections, ") && g.stdout.contains(" voidings;"), "\(g.stdout)")
                }
                let r = try pathway(["import", file, "--store", store, "--format", format, "--json"])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(r.stderr.isEmpty, "no progress bar off a terminal: \(r.stderr)")
                #expect(try storedFindings(store) == breaks, "\(format)")
            }
            #expect(expected.count == 2 && expected[0] == expected[1] && expected[0] > 0, "\(expected)")
        }
    }

    /// `--to` after today: the output stays the same, with a warning that import needs a later
    /// `--now`, which is then true both ways.
    @Test func generateWarnsWhenToIsAfterToday() throws {
        try withTemporaryDirectory { dir in
            // fixedNow is 2026-03-01: import takes dates up to 2026-03-02.
            let future = ["generate", "--episodes", "5", "--from", "2026-03-03", "--to", "2026-03-20"]
            let warned = try pathway(future + ["--out", dir + "/future.ndjson"])
            #expect(warned.status == 0, "\(warned.stderr)")
            let lines = warned.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("warning") && lines[0].contains("2026-03-20")
                    && lines[0].contains("--now") && lines[0].contains("PATHWAY_NOW"), "\(warned.stderr)")
            let rejected = try pathway(["import", dir + "/future.ndjson", "--store", dir + "/s1"])
            #expect(rejected.status == 2 && rejected.stderr.contains("more than one day after today"), "\(rejected.stderr)")
            let accepted = try pathway(["import", dir + "/future.ndjson", "--store", dir + "/s2", "--now", "2026-03-20T12:00:00Z"])
            #expect(accepted.status == 0, "\(accepted.stderr)")

            // Same bytes whatever today is; no warning once today has caught up, or up to tomorrow.
            let later = try pathway(future + ["--out", "-"], now: "2026-03-20T12:00:00Z")
            #expect(later.status == 0 && later.stderr.isEmpty, "\(later.stderr)")
            #expect(try String(contentsOfFile: dir + "/future.ndjson", encoding: .utf8) == later.stdout)
            let tomorrow = try pathway(["generate", "--episodes", "5", "--from", "2026-01-01", "--to", "2026-03-02", "--out", "-"])
            #expect(tomorrow.status == 0 && tomorrow.stderr.isEmpty, "\(tomorrow.stderr)")
        }
    }

    /// `generate --order recorded` from the command line: the same lines as the default order,
    /// interleaved, importable with nothing rejected into a store that verifies; a misspelt order
    /// is a usage error. The run files go to `--temp-dir`, which is empty afterwards.
    @Test func generateInRecordedOrderFromTheCommandLine() throws {
        try withTemporaryDirectory { dir in
            let base = ["generate", "--episodes", "400", "--seed", "9", "--from", "2025-01-01", "--to", "2026-02-28", "--out", "-"]
            let generated = try pathway(base)
            let recorded = try pathway(base + ["--order", "recorded", "--temp-dir", dir])
            #expect(generated.status == 0 && recorded.status == 0, "\(recorded.stderr)")
            let g = generated.stdout.split(separator: "\n"), r = recorded.stdout.split(separator: "\n")
            #expect(g.count > 400 * 5 && g.sorted() == r.sorted() && g != r)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
            try recorded.stdout.write(toFile: dir + "/recorded.ndjson", atomically: true, encoding: .utf8)
            let imported = try pathway(["import", dir + "/recorded.ndjson", "--store", dir + "/store"])
            #expect(imported.status == 0 && imported.stdout.contains("rejected 0"), "\(imported.stdout) \(imported.stderr)")
            let verified = try pathway(["verify", "--store", dir + "/store"])
            #expect(verified.status == 0, "\(verified.stdout)")
            let bogus = try pathway(base + ["--order", "by-date"])
            #expect(bogus.status == 64 && bogus.stderr.contains("--order must be generated or recorded"), "\(bogus.stderr)")
        }
    }

    /// `generate --help` at 80 columns: each "Label: text" paragraph starts a line after a blank
    /// line (the argument parser once ran "Rule breaks" into the Corrections paragraph), and no
    /// line of it is wider than the terminal.
    @Test func generateHelpKeepsItsParagraphs() throws {
        let r = try pathway(["generate", "--help"], environment: ["COLUMNS": "80"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // The overview; the argument parser does not wrap its own USAGE line.
        for line in lines.prefix { !$0.hasPrefix("USAGE:") } { #expect(line.count <= 80, "too wide: \(line)") }
        for label in ["Volume", "Places", "Start (A)", "Not granted", "Detox (D)", "Treatment", "End (X)", "Re-referral",
                      "Corrections", "Rule breaks", "Order", "Ids"] {
            let i = lines.firstIndex { $0.hasPrefix(label + ": ") }
            #expect(i != nil && i! > 0 && lines[i! - 1].isEmpty, "\(label) does not start a paragraph:\n\(r.stdout)")
        }
        #expect(!r.stdout.contains("only. Rule breaks"), "\(r.stdout)")
    }
}
