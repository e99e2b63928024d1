import Foundation
import Testing

/// `pathway quality`, `deadlines` and `report` end to end: the real binary on a generated store
/// (300 episodes, 2025-01-01 … 2026-01-31, some registrations recorded days late), the clock fixed
/// at 2026-03-01. What `--explain` lists, and the exit code of every option it refuses.
@Suite struct QualityDeadlinesCLITests {
    /// A generated store in `dir`; returns its path.
    func makeStore(_ dir: String) throws -> String {
        let data = dir + "/data.ndjson", store = dir + "/store"
        let g = try pathway(["generate", "--episodes", "300", "--seed", "11", "--from", "2025-01-01", "--to", "2026-01-31", "--out", data])
        try #require(g.status == 0, "\(g.stderr)")
        let i = try pathway(["import", data, "--format", "ndjson", "--store", store])
        try #require(i.status == 0, "\(i.stderr)")
        return store
    }

    func objects(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The table's rows (`--json`) for one indicator and period.
    func table(_ store: String, _ indicator: String, _ period: String, by: String, knownAt: String? = nil,
               minCell: Int? = nil) throws -> [[String: Any]] {
        var args = ["quality", "--store", store, "--indicator", indicator, "--period", period, "--by", by, "--json"]
        if let k = knownAt { args += ["--known-at", k] }
        if let m = minCell { args += ["--min-cell", String(m)] }
        let r = try pathway(args)
        try #require(r.status == 0, "\(r.stderr)")
        return objects(r.stdout)
    }

    /// `--explain … --json`, requiring exit 0.
    func explain(_ store: String, _ indicator: String, _ period: String, group: String, _ extra: [String] = []) throws -> [String: Any] {
        let r = try pathway(["quality", "--store", store, "--explain", indicator, "--period", period, "--group", group, "--json"] + extra)
        try #require(r.status == 0, "\(extra): \(r.stderr)")
        return try #require(r.json, "\(r.stdout)")
    }

    /// A usage error (exit 64) whose one-line message contains every one of `needles`.
    func expectUsage(_ args: [String], _ needles: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try pathway(args)
        #expect(r.status == 64, "\(args): \(r.status) \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(args): one line: \(r.stderr)", sourceLocation: sourceLocation)
        for n in needles { #expect(r.stderr.contains(n), "\(args): '\(n)' missing in \(r.stderr)", sourceLocation: sourceLocation) }
    }

    let indicator = "basic-assessment-on-time", period = "2025-T3", cutoff = "2025-09-15T00:00:00Z"

    @Test func explainCountsAreTheTablesWithAndWithoutKnownAt() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let now = try table(store, indicator, period, by: "institution").filter { $0["variant"] as? String == "all" }
            let then = try table(store, indicator, period, by: "institution", knownAt: cutoff).filter { $0["variant"] as? String == "all" }
            func counts(_ rows: [[String: Any]], _ g: String) -> [Int] {
                guard let r = rows.first(where: { $0["group"] as? String == g }) else { return [0, 0] }
                return [r["numerator"] as? Int ?? -1, r["denominator"] as? Int ?? -1]
            }
            let groups = now.compactMap { $0["group"] as? String }
            try #require(groups.count >= 5)
            // Registrations recorded after the cutoff change some cells: the instant matters.
            let changed = groups.filter { counts(now, $0) != counts(then, $0) }
            try #require(!changed.isEmpty, "no cell of \(period) changed after \(cutoff)")
            for g in Array(groups.prefix(4)) + changed.prefix(2) {
                let e = try explain(store, indicator, period, group: g)
                #expect([e["numerator"] as? Int ?? -1, e["denominator"] as? Int ?? -1] == counts(now, g), "\(g) now")
                #expect((e["denominatorEpisodes"] as? [String])?.count == e["denominator"] as? Int)
                let k = try explain(store, indicator, period, group: g, ["--known-at", cutoff])
                #expect([k["numerator"] as? Int ?? -1, k["denominator"] as? Int ?? -1] == counts(then, g), "\(g) known at \(cutoff)")
                #expect(k["knownAt"] as? String == cutoff)
            }
            // The text form says the same.
            let g = changed[0]
            let t = try pathway(["quality", "--store", store, "--explain", indicator, "--period", period, "--group", g, "--known-at", cutoff])
            #expect(t.status == 0, "\(t.stderr)")
            let c = counts(then, g)
            #expect(t.stdout.hasPrefix("\(indicator) \(period) \(g) (all) as known at \(cutoff): \(c[0]) of \(c[1])\n"), "\(t.stdout)")
            #expect(t.stdout.split(separator: "\n").count == 1 + c[1])

            // A unit row, pinned to its institution, and the service-caused variant.
            let unitRow = try #require(try table(store, indicator, period, by: "unit", knownAt: cutoff)
                .first { $0["variant"] as? String == "service-caused" && ($0["denominator"] as? Int ?? 0) > 0 })
            let u = try explain(store, indicator, period, group: unitRow["group"] as! String,
                                ["--by", "unit", "--institution", unitRow["institution"] as! String, "--variant", "service-caused", "--known-at", cutoff])
            #expect(u["numerator"] as? Int == unitRow["numerator"] as? Int && u["denominator"] as? Int == unitRow["denominator"] as? Int, "\(unitRow)")
        }
    }

    @Test func explainListsNoEpisodesOfASuppressedCell() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let row = try #require(try table(store, indicator, period, by: "institution")
                .first { $0["variant"] as? String == "all" && ($0["denominator"] as? Int ?? 0) >= 2 })
            let g = row["group"] as! String, d = row["denominator"] as! Int
            // The table blanks the cell under --min-cell d + 1 …
            let blanked = try table(store, indicator, period, by: "institution", minCell: d + 1).first { $0["group"] as? String == g && $0["variant"] as? String == "all" }
            #expect(blanked?["suppressed"] as? Bool == true)
            // … and --explain names none of its episodes.
            let args = ["quality", "--store", store, "--explain", indicator, "--period", period, "--group", g, "--min-cell", String(d + 1)]
            let t = try pathway(args)
            #expect(t.status == 0, "\(t.stderr)")
            #expect(t.stdout == "\(indicator) \(period) \(g) (all): suppressed (fewer than --min-cell \(d + 1) in the denominator); its episodes are not listed\n", "\(t.stdout)")
            let j = try explain(store, indicator, period, group: g, ["--min-cell", String(d + 1)])
            #expect(j["suppressed"] as? Bool == true)
            #expect(j["denominator"] is NSNull && j["numerator"] is NSNull)
            #expect((j["denominatorEpisodes"] as? [String]) == [] && (j["numeratorEpisodes"] as? [String]) == [])
            // At --min-cell d the cell is published, and so are its episodes.
            let shown = try explain(store, indicator, period, group: g, ["--min-cell", String(d)])
            #expect(shown["suppressed"] as? Bool == false)
            #expect((shown["denominatorEpisodes"] as? [String])?.count == d)
            // The national cell holds the group's episodes, but is large enough to publish.
            let national = try explain(store, indicator, period, group: "national", ["--min-cell", String(d + 1)])
            #expect(national["suppressed"] as? Bool == false)
        }
    }

    @Test func explainRefusesAVariantOrGroupThatMatchesNothing() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let base = ["quality", "--store", store, "--explain", indicator, "--period", period]
            try expectUsage(base + ["--group", "HF-Vest-01", "--variant", "services"], ["'services'", "all, service-caused"])
            try expectUsage(["quality", "--store", store, "--explain", "dropout", "--period", period, "--group", "HF-Vest-01",
                             "--variant", "service-caused"], ["time indicators"])
            // The README's old example: institutions are HF-Vest-01 …, not HF-Vest.
            try expectUsage(base + ["--group", "HF-Vest"], ["'HF-Vest'", "matched no institution or unit", "HF-", "TSB-", "--by unit"])
            try expectUsage(base + ["--group", "HF-Vest-01", "--by", "unit"], ["matched no unit"])
            try expectUsage(base + ["--group", "TSB-POL-01", "--by", "institution"], ["matched no institution"])
            try expectUsage(base + ["--group", "TSB-POL-01", "--institution", "HF-Vest-01"], ["in institution HF-Vest-01"])
            try expectUsage(base + ["--group", "TSB-POL-01", "--institution", "HF-Nowhere"], ["'HF-Nowhere'", "HF-"])
            try expectUsage(base + ["--group", "HF-Vest-01", "--by", "national"], ["national"])
            try expectUsage(base + ["--group", "HF-Vest-01", "--csv"], ["CSV"])
            try expectUsage(base + ["--group", "HF-Vest-01", "--distributions"], ["--distributions"])
            try expectUsage(base + ["--group", "HF-Vest-01", "--indicator", "dropout"], ["--indicator"])
            try expectUsage(base + ["--group", "HF-Vest-01", "--known-at", "yesterday"], ["--known-at"])
            try expectUsage(base + ["--variant", "all"], ["--period P and --group G"])
            // Groups that exist are fine, at every level.
            for extra in [["--group", "national"], ["--group", "HF-Vest-01"], ["--group", "TSB-POL-01"],
                          ["--group", "TSB-POL-01", "--by", "unit", "--institution", "HF-SorOst-01"],
                          ["--group", "national", "--by", "national"]] {
                let r = try pathway(base + extra)
                #expect(r.status == 0, "\(extra): \(r.stderr)")
            }
        }
    }

    @Test func qualityAndReportExitCodes() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let q = ["quality", "--store", store, "--period", period]
            try expectUsage(q + ["--json", "--csv"], ["--json and --csv"])
            try expectUsage(q + ["--distributions", "--json", "--csv"], ["--json and --csv"])
            try expectUsage(q + ["--min-cell=-1"], ["--min-cell"])
            try expectUsage(q + ["--group", "HF-Vest-01"], ["--group", "--explain"])
            try expectUsage(q + ["--variant", "all"], ["--variant", "--explain"])
            try expectUsage(q + ["--institution", "HF-Vest-01"], ["--institution", "--explain"])
            try expectUsage(["quality", "--store", store, "--period", "2025-T4"], ["--period"])
            try expectUsage(q + ["--indicator", "on-time"], ["unknown indicator"])
            for extra in [[String](), ["--json"], ["--csv"], ["--by", "unit", "--min-cell", "5"], ["--distributions", "--csv"]] {
                let r = try pathway(q + extra)
                #expect(r.status == 0, "\(extra): \(r.stderr)")
            }

            // report: a file it cannot write is a store-side failure (3) naming the path and the reason.
            let unwritable = dir + "/no-such-dir/report.html"
            let r = try pathway(["report", "--store", store, "--period", period, "--out", unwritable])
            #expect(r.status == 3, "\(r.stderr)")
            #expect(r.stderr == "pathway: cannot write \(unwritable): No such file or directory\n", "\(r.stderr)")
            try expectUsage(["report", "--store", store, "--period", "T3", "--out", dir + "/r.html"], ["--period"])
            try expectUsage(["report", "--store", store, "--period", period, "--out", dir + "/r.html", "--min-cell=-2"], ["--min-cell"])
            try expectUsage(["report", "--store", store, "--period", period, "--out", dir + "/r.html", "--known-at", "soon"], ["--known-at"])
            #expect(!FileManager.default.fileExists(atPath: dir + "/r.html"))
            let ok = try pathway(["report", "--store", store, "--period", period, "--out", dir + "/r.html", "--min-cell", "5"])
            #expect(ok.status == 0, "\(ok.stderr)")
            let html = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
            #expect(html.contains("<!DOCTYPE html>"), "\(html.prefix(40))")

            // A missing store is a store error for all three.
            let missing = dir + "/no-store"
            for command in [["quality", "--period", period], ["deadlines"], ["report", "--period", period, "--out", dir + "/m.html"]] {
                let m = try pathway(command + ["--store", missing])
                #expect(m.status == 3, "\(command): \(m.stderr)")
                #expect(m.stderr.contains(missing), "\(command): \(m.stderr)")
            }
        }
    }

    @Test func deadlinesRefusesWhatItWouldIgnoreAndHonoursStatusAndCSVInTransitions() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            let d = ["deadlines", "--store", store]
            try expectUsage(d + ["--json", "--csv"], ["--json and --csv"])
            try expectUsage(d + ["--due-soon-days=-5"], ["--due-soon-days"])
            try expectUsage(d + ["--transitions", "--from", "2026-01-01", "--to", "2026-03-01", "--due-soon-days", "100000000000"], ["--due-soon-days"])
            try expectUsage(d + ["--from", "2025-06-01"], ["--from and --to only apply with --transitions"])
            try expectUsage(d + ["--to", "2025-06-30", "--status", "overdue"], ["--transitions"])
            try expectUsage(d + ["--status", "late"], ["--status must be one of"])
            try expectUsage(d + ["--as-of", "2025-13-01"], ["--as-of"])
            let window = ["--transitions", "--from", "2025-06-01", "--to", "2025-06-30"]
            try expectUsage(d + window + ["--as-of", "2025-06-15"], ["--as-of does not apply to --transitions"])
            try expectUsage(d + window + ["--status", "running"], ["running", "due-soon, overdue, met, met-late"])
            try expectUsage(d + window + ["--json", "--csv"], ["--json and --csv"])
            try expectUsage(d + ["--transitions", "--from", "2025-06-30", "--to", "2025-06-01"], ["from ≤ to"])

            let all = try pathway(d + window)
            #expect(all.status == 0, "\(all.stderr)")
            let lines = objects(all.stdout)
            let kinds = Set(lines.compactMap { $0["transition"] as? String })
            #expect(kinds == ["became-due-soon", "became-overdue", "met", "met-late"], "\(kinds)")
            // --json is the default form; it may be given.
            #expect(try pathway(d + window + ["--json"]).stdout == all.stdout)
            // --status keeps the transitions into that status, nothing else.
            for (status, kind) in [("due-soon", "became-due-soon"), ("overdue", "became-overdue"), ("met", "met"), ("met-late", "met-late")] {
                let r = try pathway(d + window + ["--status", status])
                #expect(r.status == 0, "\(r.stderr)")
                let want = all.stdout.split(separator: "\n").filter { $0.contains("\"transition\":\"\(kind)\"") }
                #expect(r.stdout.split(separator: "\n") == want, "--status \(status)")
                #expect(!want.isEmpty)
            }
            // --csv: a header, then one row per NDJSON line, the same transitions in the same order.
            let csv = try pathway(d + window + ["--csv"])
            #expect(csv.status == 0, "\(csv.stderr)")
            let rows = csv.stdout.split(separator: "\n").map(String.init)
            #expect(rows.first == "date,transition,episode,institution,unit,timer,start,due,met,status,setting,patientPostponed,rulesVersion,id,startedBy,metBy,allowedDays")
            #expect(rows.count == lines.count + 1)
            for (row, o) in zip(rows.dropFirst(), lines) {
                let f = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                #expect(f.count == 17, "\(row)")
                #expect(f[0] == o["date"] as? String && f[1] == o["transition"] as? String && f[2] == o["episode"] as? String
                        && f[5] == o["timer"] as? String && f[9] == o["status"] as? String, "\(row) vs \(o)")
            }
            // A due-soon window of 0 days is allowed.
            #expect(try pathway(d + ["--due-soon-days", "0", "--as-of", "2025-06-15"]).status == 0)
        }
    }
}
