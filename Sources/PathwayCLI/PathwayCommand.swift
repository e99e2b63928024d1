import ArgumentParser

@main
struct PathwayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathway",
        abstract: "PathwayLedger: an append-only, hash-chained ledger of TSB patient-pathway registrations.",
        discussion: """
        Every registration of a pathway code is an immutable event in an LMDB log; corrections are new \
        events. Projections (episode state, deadline timers, quality indicators) are folds of the log, \
        kept current as events are appended and rebuildable at any time.

        The store is --store DIR, else $PATHWAY_STORE, else ./pathway-store. The ledger's clock (the \
        append instant, and "today" for the future-date check) can be fixed with --now or $PATHWAY_NOW.

        Exit codes: 0 success; 1 verification found a problem; 2 input rejected (nothing appended \
        unless --skip-invalid); 3 store error; 64 usage error.
        """,
        subcommands: [
            DemoCommand.self, InitCommand.self, StatsCommand.self, AppendCommand.self, ImportCommand.self,
            EpisodeCommand.self, EpisodesCommand.self, DeadlinesCommand.self, RulesCommand.self,
            QualityCommand.self, ReportCommand.self, ReplayCommand.self, HistoryCommand.self,
            RebuildCommand.self, VerifyCommand.self, HeadCommand.self, ExportCommand.self,
            VerifyBundleCommand.self, GenerateCommand.self, CodesCommand.self, DebugAppendLoopCommand.self,
        ]
    )
}
