import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `pathway append` / `pathway import` end to end: the reject file, identity numbers in it, and the
/// errors a batch meets only when it reaches the stored log — the real binary on real stores.
@Suite struct IngestCLITests {
    let l = Lines()
    /// A fødselsnummer with a plausible birth date and valid check digits (synthetic).
    static let fnr = "15038512363"



    /// A store holding EP-1's opening (r-1 A, r-2 M) and EP-2's start (r-3 A).
    func seededStore(_ dir: String, _ name: String) throws -> String {
        let store = dir + "/" + name, input = dir + "/" + name + "-seed.ndjson"
        try write(l.openingOfEP1() + [l.reg("r-3", "EP-2", "D01A", "2026-01-06")], to: input)
        let r = try pathway(["append", input, "--store", store])
        try #require(r.status == 0, "\(r.stderr)")
        return store
    }

    /// Appends `lines` as one batch.
    func append(_ lines: [String], _ store: String, _ dir: String, extra: [String] = []) throws -> CommandResult {
        let input = dir + "/batch-\(UUID().uuidString).ndjson"
        try write(lines, to: input)
        return try pathway(["append", input, "--store", store] + extra)
    }

    /// Appending `lines` is refused as a whole (exit 2, nothing appended) with the one rejection
    /// naming `line`, `field` and a message containing `message`.
    func expectRefused(_ lines: [String], _ store: String, _ dir: String, line: Int, field: String, message: String,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try events(store)
        let r = try append(lines, store, dir, extra: ["--json"])
        #expect(r.status == 2, "\(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.json?["appended"] as? Int == 0, "\(r.stdout)", sourceLocation: sourceLocation)
        let rejected = r.json?["rejected"] as? [[String: Any]] ?? []
        #expect(rejected.count == 1, "\(r.stdout)", sourceLocation: sourceLocation)
        #expect(rejected.first?["line"] as? Int == line, "\(r.stdout)", sourceLocation: sourceLocation)
        #expect(rejected.first?["field"] as? String == field, "\(r.stdout)", sourceLocation: sourceLocation)
        let text = rejected.first?["message"] as? String ?? ""
        #expect(text.contains(message), "expected “\(message)” in: \(text)", sourceLocation: sourceLocation)
        #expect(try events(store) == before, "nothing appended", sourceLocation: sourceLocation)
        // The text form names the line and the field too.
        let t = try append(lines, store, dir)
        #expect(t.status == 2, sourceLocation: sourceLocation)
        #expect(t.stderr.contains("nothing was appended"), "\(t.stderr)", sourceLocation: sourceLocation)
        #expect(t.stderr.contains("line \(line): field '\(field)': "), "\(t.stderr)", sourceLocation: sourceLocation)
    }

    /// The episode as `pathway episode EP --json` shows it.
    func episode(_ ep: String, _ store: String) throws -> [String: Any] {
        let r = try pathway(["episode", ep, "--store", store, "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        return try #require(r.json, "\(r.stdout)")
    }

    var withBadLine: [String] {
        [l.reg("r-1", "EP-1", "D01A", "2026-01-05"),
         l.reg("r-2", "EP-1", "D01M", "2026-02-30"),
         l.reg("r-3", "EP-1", "D01CT", "2026-01-20")]
    }

    // MARK: - The reject file

    /// A reject file that cannot be written used to be found out only after the good lines were
    /// committed (exit 64, no summary, the rejected lines reported nowhere). It is opened first:
    /// a store error naming the path and the system's reason, and nothing appended.
    @Test(arguments: ["append", "import"])
    func aRejectFileThatCannotBeWrittenStopsTheCommandBeforeAnythingIsAppended(command: String) throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store"), input = dir + "/in.ndjson"
            try write(withBadLine.map { $0.replacingOccurrences(of: "\"r-", with: "\"n-") }, to: input)
            for rejects in [dir + "/no-such-dir/rej.ndjson", "/proc/rej.ndjson"] {
                let r = try pathway([command, input, "--store", store, "--skip-invalid", rejects])
                #expect(r.status == 3, "\(rejects): \(r.stdout) \(r.stderr)")
                #expect(r.stderr.contains(rejects), "names the path: \(r.stderr)")
                #expect(r.stderr.contains("No such file or directory") || r.stderr.contains("Permission denied")
                        || r.stderr.contains("Read-only file system"), "the system's reason: \(r.stderr)")
                #expect(r.stderr.contains("nothing was appended"), "\(r.stderr)")
                #expect(!r.stdout.contains("appended 2"), "\(r.stdout)")
                #expect(try events(store) == 3, "\(rejects): nothing appended")
            }
        }
    }

    /// A reject file that opens but fails while being written (here /dev/full: no space left) is
    /// found out after the good lines were committed: the summary still lists the rejected lines,
    /// and the exit code says the write failed.
    @Test func aRejectFileThatFailsAfterTheCommitStillGetsTheSummaryPrinted() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store"), input = dir + "/in.ndjson"
            try write(withBadLine.map { $0.replacingOccurrences(of: "\"r-", with: "\"n-") }, to: input)
            let r = try pathway(["append", input, "--store", store, "--skip-invalid", "/dev/full"])
            #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("appended 2, duplicates 0, rejected 1"), "\(r.stdout)")
            #expect(r.stderr.contains("rejected line 2: field 'date'"), "\(r.stderr)")
            #expect(r.stderr.contains("writing the rejected lines to /dev/full failed: No space left on device"), "\(r.stderr)")
            #expect(try events(store) == 5)
        }
    }

    /// `--skip-invalid` naming the input (the same path, or a link to the same file) would
    /// overwrite the input with the rejects: a usage error, the input untouched, nothing appended.
    @Test func aRejectFileThatIsTheInputIsRefused() throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store"), input = dir + "/in.ndjson"
            let lines = withBadLine.map { $0.replacingOccurrences(of: "\"r-", with: "\"n-") }
            try write(lines, to: input)
            let original = try Data(contentsOf: URL(fileURLWithPath: input))
            let hard = dir + "/hard.ndjson", soft = dir + "/soft.ndjson"
            #expect(link(input, hard) == 0)
            try FileManager.default.createSymbolicLink(atPath: soft, withDestinationPath: input)
            for rejects in [input, dir + "/./in.ndjson", hard, soft] {
                for command in ["append", "import"] {
                    let r = try pathway([command, input, "--store", store, "--skip-invalid", rejects])
                    #expect(r.status == 64, "\(command) \(rejects): \(r.stdout) \(r.stderr)")
                    #expect(r.stderr.contains("is the input file itself"), "\(r.stderr)")
                    #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == original, "the input is untouched")
                    #expect(try events(store) == 3)
                }
            }
            // Nor one of the store's own files.
            let r = try pathway(["append", input, "--store", store, "--skip-invalid", store + "/data.mdb"])
            #expect(r.status == 64, "\(r.stderr)")
            #expect(try events(store) == 3)
            #expect(try pathway(["verify", "--store", store]).status == 0)
        }
    }

    /// The reject file copies rejected lines, but never an identity number: every identity-shaped
    /// digit run is masked; lines without one are copied byte for byte. A store-stage rejection
    /// (an unknown target) is copied as well.
    @Test func theRejectFileMasksIdentityNumbersAndCopiesOtherLinesExactly() throws {
        try withTemporaryDirectory { dir in
            let store = dir + "/store", input = dir + "/in.ndjson", rejects = dir + "/rej.ndjson"
            var noted = l.reg("r-4", "EP-1", "D01CT", "2026-01-20")
            noted.removeLast()
            noted += ",\"note\":\"ring pnr \(Self.fnr.prefix(6)) \(Self.fnr.suffix(5)) i dag\"}"
            var ordered = l.reg("r-5", "EP-1", "D01CT", "2026-02-30")
            ordered.removeLast()
            ordered += ",\"note\":\"ordre 12345678901234, tlf 4790012345\"}"
            let lines = [l.reg("r-1", "EP-1", "D01A", "2026-01-05"),
                         l.reg("r-2", "EP-1", "D01M", "2026-01-08", patient: Self.fnr),
                         l.reg("r-3", "EP-1", "D01M", "2026-02-30"),
                         noted,
                         ordered,
                         l.void("v-1", "no-such-id", reason: "feil"),
                         l.reg("r-6", "EP-1", "D01M", "2026-01-09"),
                         // The same number spelled with JSON escapes: refused on its decoded value,
                         // so the copy must not spell it out either.
                         l.reg("r-7", "EP-1", "D01M", "2026-01-10", patient: "\\u0031\\u0035" + Self.fnr.dropFirst(2))]
            try write(lines, to: input)
            let r = try pathway(["append", input, "--store", store, "--skip-invalid", rejects])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stdout.contains("appended 2, duplicates 0, rejected 6"), "\(r.stdout)")
            let text = try String(contentsOfFile: rejects, encoding: .utf8)
            #expect(!text.contains(Self.fnr) && !text.contains(String(Self.fnr.suffix(5))), "\(text)")
            #expect(!text.contains("12345678901234"), "\(text)")
            var inputs: [Int: String] = [:]
            for line in text.split(separator: "\n") {
                let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                inputs[try #require(o["line"] as? Int)] = o["input"] as? String
            }
            #expect(inputs.keys.sorted() == [2, 3, 4, 5, 6, 8])
            #expect(inputs[2] == lines[1].replacingOccurrences(of: Self.fnr, with: "***********"))
            #expect(inputs[3] == lines[2], "no identity number: byte for byte")
            #expect(inputs[4] == lines[3].replacingOccurrences(of: "\(Self.fnr.prefix(6)) \(Self.fnr.suffix(5))", with: "****** *****"))
            // An 11+ digit run is masked whatever its check digits; a 10-digit one is kept.
            #expect(inputs[5] == lines[4].replacingOccurrences(of: "12345678901234", with: "**************"), "\(inputs[5] ?? "")")
            #expect(inputs[5]?.contains("4790012345") == true)
            #expect(inputs[6] == lines[5], "a store-stage rejection, byte for byte")
            #expect(inputs[8] == lines[7].replacingOccurrences(of: "\\u0031\\u0035" + Self.fnr.dropFirst(2), with: "***********"),
                    "\(inputs[8] ?? "")")
        }
    }

    // MARK: - Errors found where the batch meets the stored log

    /// The same id twice in one input with different content: the message names the earlier line
    /// of the input, not a log position (nothing of the input is stored).
    @Test func anIdRepeatedWithinOneInputNamesTheEarlierLine() throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store")
            let batch = [l.reg("n-1", "EP-3", "D01A", "2026-01-05"), l.reg("n-2", "EP-3", "D01M", "2026-01-08"),
                         l.reg("n-1", "EP-3", "D01A", "2026-01-06")]
            try expectRefused(batch, store, dir, line: 3, field: "id",
                              message: "id 'n-1' appears earlier in this input (line 1) with different content")
            let r = try append(batch, store, dir)
            #expect(!r.stderr.contains("already stored"), "\(r.stderr)")
            #expect(!r.stderr.contains("position"), "\(r.stderr)")

            // With --skip-invalid line 1 is appended and line 3 is rejected, with the same words.
            let skipped = try append(batch, store, dir, extra: ["--skip-invalid", dir + "/rej.ndjson", "--json"])
            #expect(skipped.status == 2)
            #expect(skipped.json?["appended"] as? Int == 2)
            let message = (skipped.json?["rejected"] as? [[String: Any]])?.first?["message"] as? String
            #expect(message?.contains("appears earlier in this input (line 1)") == true, "\(skipped.stdout)")
            // The reject file holds the refused line's own text — a refusal made by the store, not
            // the parser, so only that line's text was kept.
            let rejected = try String(contentsOfFile: dir + "/rej.ndjson", encoding: .utf8).split(separator: "\n")
            #expect(rejected.count == 1, "\(rejected)")
            let entry = try JSONSerialization.jsonObject(with: Data((rejected.first ?? "").utf8)) as? [String: Any]
            #expect(entry?["line"] as? Int == 3)
            #expect(entry?["input"] as? String == batch[2], "\(String(describing: entry))")
            // Against the stored log, it is the stored position that is named.
            try expectRefused([l.reg("n-1", "EP-3", "D01A", "2026-01-07")], store, dir, line: 1, field: "id",
                              message: "id 'n-1' is already stored at position 4 with different content")
        }
    }

    @Test func voidingOrCorrectingAnUnknownIdIsRefused() throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store")
            try expectRefused([l.void("v-1", "r-404", reason: "wrong patient")], store, dir, line: 1, field: "voids",
                              message: "no registration with id 'r-404' is stored")
            try expectRefused([l.reg("n-1", "EP-1", "D01CT", "2026-01-20"),
                               l.correct("c-1", "r-404", reason: "wrong date", "EP-1", "D01M", "2026-01-09")],
                              store, dir, line: 2, field: "corrects", message: "no registration with id 'r-404' is stored")
        }
    }

    @Test func correctingOrVoidingSomethingAlreadyVoidedIsRefused() throws {
        try withTemporaryDirectory { dir in
            // In the same batch.
            let store = try seededStore(dir, "same")
            try expectRefused([l.void("v-1", "r-2", reason: "wrong patient"),
                               l.correct("c-1", "r-2", reason: "wrong date", "EP-1", "D01M", "2026-01-09")],
                              store, dir, line: 2, field: "corrects", message: "'r-2' is already voided")
            try expectRefused([l.void("v-1", "r-2", reason: "wrong patient"), l.void("v-2", "r-2", reason: "again")],
                              store, dir, line: 2, field: "voids", message: "'r-2' is already voided")

            // Across batches.
            let across = try seededStore(dir, "across")
            #expect(try append([l.void("v-1", "r-2", reason: "wrong patient")], across, dir).status == 0)
            try expectRefused([l.correct("c-1", "r-2", reason: "wrong date", "EP-1", "D01M", "2026-01-09")],
                              across, dir, line: 1, field: "corrects", message: "'r-2' is already voided")
            try expectRefused([l.void("v-2", "r-2", reason: "again")], across, dir, line: 1, field: "voids",
                              message: "'r-2' is already voided")

            // A correction that was voided, or whose registration was, can no longer be named.
            #expect(try append([l.correct("c-3", "r-1", reason: "wrong date", "EP-1", "D01A", "2026-01-04"),
                                l.void("v-3", "c-3", reason: "the date was right")], across, dir).status == 0)
            try expectRefused([l.correct("c-4", "c-3", reason: "wrong date", "EP-1", "D01A", "2026-01-03")],
                              across, dir, line: 1, field: "corrects",
                              message: "'c-3' is no longer in force: it was voided, or the registration it corrected was")
        }
    }

    @Test func aVoidingCannotBeVoidedOrCorrected() throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store")
            #expect(try append([l.void("v-1", "r-2", reason: "wrong patient")], store, dir).status == 0)
            try expectRefused([l.void("v-2", "v-1", reason: "undo")], store, dir, line: 1, field: "voids",
                              message: "'v-1' is a voiding; a voiding cannot be voided or corrected")
            try expectRefused([l.correct("c-1", "v-1", reason: "undo", "EP-1", "D01M", "2026-01-08")], store, dir,
                              line: 1, field: "corrects", message: "'v-1' is a voiding")
            // In the same batch as the voiding, too.
            try expectRefused([l.void("v-5", "r-3", reason: "wrong patient"), l.void("v-6", "v-5", reason: "undo")],
                              store, dir, line: 2, field: "voids", message: "'v-5' is a voiding")
        }
    }

    @Test func aCorrectionCannotMoveARegistrationToAnotherEpisode() throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store")
            try expectRefused([l.correct("c-1", "r-2", reason: "wrong episode", "EP-2", "D01M", "2026-01-08")],
                              store, dir, line: 1, field: "episode",
                              message: "a correction cannot move a registration from episode 'EP-1' to 'EP-2'")
        }
    }

    /// An id reused with other content in a later batch is refused, naming the line and the field,
    /// and nothing of that batch is appended. The same registration sent again for another
    /// episode is other content too (it was once taken for a duplicate: the episode is not in the
    /// event body, and the stored episode was used for the comparison).
    @Test func anIdReusedWithOtherContentInALaterBatchIsRefused() throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store")
            try expectRefused([l.reg("n-1", "EP-1", "D01CT", "2026-01-20"), l.reg("r-2", "EP-1", "D01M", "2026-01-09")],
                              store, dir, line: 2, field: "id", message: "id 'r-2' is already stored at position 2 with different content")
            try expectRefused([l.reg("r-3", "EP-9", "D01A", "2026-01-06")], store, dir, line: 1, field: "id",
                              message: "id 'r-3' is already stored at position 3 with different content")
            try expectRefused([l.void("r-1", "r-3", reason: "wrong patient")], store, dir, line: 1, field: "id",
                              message: "id 'r-1' is already stored at position 1 with different content")
            // The very same line is a duplicate, as before.
            let again = try append([l.reg("r-3", "EP-2", "D01A", "2026-01-06")], store, dir, extra: ["--json"])
            #expect(again.status == 0 && again.json?["duplicates"] as? Int == 1, "\(again.stdout) \(again.stderr)")
            #expect(try events(store) == 3)
        }
    }

    /// A correction of a correction replaces the first correction at the original's place: the
    /// episode shows the second correction's date (one first attendance, no finding); voiding the
    /// second correction brings the first one's date back.
    @Test(arguments: [true, false])
    func correctingACorrectionReplacesItAtTheOriginalsPlace(oneBatch: Bool) throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store")
            #expect(try episode("EP-1", store)["firstAttendance"] as? String == "2026-01-08")
            let first = l.correct("c-1", "r-2", reason: "wrong date", "EP-1", "D01M", "2026-01-09")
            let second = l.correct("c-2", "c-1", reason: "still wrong", "EP-1", "D01M", "2026-01-10")
            if oneBatch {
                #expect(try append([first, second], store, dir).status == 0)
            } else {
                #expect(try append([first], store, dir).status == 0)
                #expect(try episode("EP-1", store)["firstAttendance"] as? String == "2026-01-09")
                #expect(try append([second], store, dir).status == 0)
            }
            let ep = try episode("EP-1", store)
            #expect(ep["firstAttendance"] as? String == "2026-01-10", "\(ep)")
            #expect(ep["start"] as? String == "2026-01-05", "\(ep)")
            #expect((ep["findings"] as? [Any])?.isEmpty == true, "\(ep)")
            #expect(try events(store) == 5)

            #expect(try append([l.void("v-1", "c-2", reason: "c-1 was right")], store, dir).status == 0)
            #expect(try episode("EP-1", store)["firstAttendance"] as? String == "2026-01-09")
        }
    }

    // MARK: - Control characters and --help

    /// A NUL (or any other control character but tab) in an identifier is refused, naming the field;
    /// free text keeps its line breaks but not a NUL.
    @Test func controlCharactersInFieldsAreRefused() throws {
        try withTemporaryDirectory { dir in
            let store = try seededStore(dir, "store")
            let nul = l.reg("n-1", "EP-1", "D01CT", "2026-01-20", author: #"u\u0000v"#)
            try expectRefused([nul], store, dir, line: 1, field: "author", message: "control character U+0000")
            try expectRefused([l.reg("n-1", #"EP-1\u001b[2J"#, "D01A", "2026-01-20")], store, dir, line: 1, field: "episode",
                              message: "control character U+001B")
            try expectRefused([l.void("v-1", "r-2", reason: #"wrong\u0000patient"#)], store, dir, line: 1, field: "reason",
                              message: "control character U+0000")
            var multiLine = l.reg("n-2", "EP-1", "D01CT", "2026-01-20")
            multiLine.removeLast()
            multiLine += #","note":"first line\nsecond\tline"}"#
            let ok = try append([multiLine], store, dir)
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(try events(store) == 4)
        }
    }

    @Test(arguments: ["append", "import"])
    func helpListsEveryExitCodeAndTheMasking(command: String) throws {
        let r = try pathway([command, "--help"])
        #expect(r.status == 0, "\(r.stderr)")
        let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for code in ["0 all appended", "2 input rejected", "3 store error", "64 usage error"] {
            #expect(text.contains(code), "\(code): \(r.stdout)")
        }
        #expect(text.contains("masked with *"), "\(r.stdout)")
    }
}
