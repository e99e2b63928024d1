import Foundation
import Testing
@testable import Ledger

/// A fold compares each event's episode and patient with names held on the episode's card
/// (`ShortName`: up to 16 bytes in two words) and falls back to the symbol table for longer names.
@Suite struct FoldNamesTests {
    func short(_ bytes: [UInt8]) -> ShortName { bytes.withUnsafeBytes { ShortName($0) } }

    @Test func shortNamesTellEveryTwoNamesApartAndHoldAtMost16Bytes() {
        for n in 0...16 {
            let base = (0..<n).map { UInt8(0x41 + $0) }
            #expect(short(base).isHeld, "length \(n)")
            #expect(short(base) == short(Array(base)), "length \(n): the same bytes pack the same")
            // One byte changed at each place: the packing covers every byte.
            for i in 0..<n {
                var other = base
                other[i] ^= 0x20
                #expect(short(other) != short(base), "length \(n), byte \(i)")
            }
            // A name and the same name one byte longer (a zero byte, or a repeat) differ.
            #expect(short(base + [0]) != short(base), "length \(n) + a zero byte")
            if n > 0 { #expect(short(base + [base[n - 1]]) != short(base), "length \(n) + a repeated byte") }
        }
        for n in [17, 40] { #expect(!short([UInt8](repeating: 0x45, count: n)).isHeld, "length \(n) is not held") }
    }

    /// Episode ids and pseudonyms around the packing's boundaries (3, 4, 7, 8, 15, 16, 17 and 40
    /// bytes), two that share their first and last eight bytes, events interleaved and one patient
    /// changed within an episode: appended in small batches (episodes found by name) and rebuilt
    /// (episodes found through the stream index and confirmed on their cards), the projections are
    /// the same bytes.
    @Test func namesOfEveryLengthFoldTheSameIncrementallyAndRebuilt() throws {
        let episodes = ["E-1", "EP-2", "EP-0003", "EP-00004", "EP-000000000005", "EP-0000000000006",
                        "EP-00000000000007", "EP-" + String(repeating: "8", count: 37),
                        "EP-0000000000009", "EP-00001900000009"]
        let patients = ["P-1", "P-22", "P-00003", "P-000004", "P-0000000000005", "P-00000000000006",
                        "P-000000000000007", "P-" + String(repeating: "8", count: 38),
                        "P-00000000000009", "P-0001900000009"]
        let codes = [("D01A", "2026-01-05"), ("D01M", "2026-01-08"), ("D01CT", "2026-01-20"), ("D01E", "2026-02-20")]
        var lines: [String] = []
        for (k, (code, date)) in codes.enumerated() {
            for (i, episode) in episodes.enumerated() {
                var l = Lines()
                // The patients of the fourth and eighth episodes change at their third
                // registration, to a name of the same length (held on the card, and too long to be).
                l.patient = (i == 3 || i == 7) && k >= 2 ? String(patients[i].dropLast()) + "X" : patients[i]
                l.unit = "TSB-\(i % 3)"
                lines.append(l.reg("r-\(k)-\(i)", episode, code, date))
            }
        }
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir)
            var i = 0
            while i < lines.count {
                try ledger.append(lines: Array(lines[i..<min(i + 7, lines.count)]))
                i += 7
            }
            let incremental = try ledger.dumpProjections()
            let report = try ledger.engine.rebuild()
            #expect(report.episodes == episodes.count && report.events == lines.count)
            #expect(try ledger.dumpProjections() == incremental, "rebuilt projections differ from the incremental ones")
            for episode in episodes {
                #expect(try ledger.storedEpisode(episode)?.version == UInt64(codes.count), "\(episode)")
            }
            // The episode keeps the patient of its start; the history keeps each registration's.
            #expect(try ledger.storedEpisode(episodes[3])?.patient == patients[3])
            #expect(try ledger.events(of: episodes[3]).count == codes.count)
        }
    }
}
