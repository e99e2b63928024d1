import Deadlines
import Foundation
import Ledger
import Pathway
import Synthetic
import Testing

/// The work-list path (`deadlines --status overdue|due-soon|running`) reads only the episodes the
/// closing-date index names. It must list exactly what a walk over every episode lists, for any
/// as-of date — including dates in the past, when timers met later were still open.
@Suite struct DeadlinesIndexTests {
    @Test func theClosingIndexFindsExactlyTheOpenTimersOfAFullScan() throws {
        try withTemporaryDirectory { dir in
            let ledger = try openLedger(dir, now: "2026-01-01T12:00:00Z")
            var lines: [String] = []
            _ = SyntheticGenerator(episodes: 400, seed: 42, from: CivilDate("2025-01-01")!, to: CivilDate("2025-12-31")!)
                .generate { lines.append($0) }
            try ledger.append(lines: lines)

            func open(_ asOf: CivilDate, viaIndex: Bool) throws -> [String] {
                var out: [String] = []
                let collect: (String, String, String, [Deadlines.Timer]) throws -> Void = { ep, _, _, timers in
                    for t in timers {
                        guard let e = t.evaluated(asOf: asOf), e.status.isOpen else { continue }
                        out.append("\(ep) \(e.id) \(e.status.name) \(e.due)")
                    }
                }
                if viaIndex { try ledger.storedTimers(of: ledger.episodesWithOpenTimers(asOf: asOf), collect) } else { try ledger.storedTimers(collect) }
                return out.sorted()
            }
            var checked = 0
            var day = CivilDate("2025-01-15")!
            while day <= CivilDate("2026-01-31")! {
                let full = try open(day, viaIndex: false)
                #expect(try open(day, viaIndex: true) == full, "as of \(day)")
                checked += full.count
                day = day.adding(days: 23)
            }
            #expect(checked > 100, "the generated history should have open timers to compare")
        }
    }
}
