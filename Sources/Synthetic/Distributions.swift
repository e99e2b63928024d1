extension SyntheticGenerator {
    /// What the generator draws from, for `pathway generate --help`. Keep in step with
    /// `SyntheticGenerator.swift`: every figure here is a constant there.
    ///
    /// Paragraphs ("Label: text") are separated by blank lines, each one line (the `\` joins the
    /// source lines): the argument parser wraps every line to the terminal's width and keeps no
    /// indentation, so a hand-made table or hanging indent does not survive it.
    public static let distributionsHelp = """
    Synthetic data: deterministic for a seed (own xoshiro256** PRNG), streamed episode by episode in \
    constant memory; N episodes give a prefix of the output for more. Percentages are per episode unless \
    said otherwise; "late" marks draws that breach a pathway time (forløpstid).

    Volume: Each new patient's first episode starts uniformly between --from and --to. National scale is \
    about 33,000 patients a year, i.e. about 36,000 episodes a year.

    Places: 20 institutions in four regions, weighted by size (2-9 % each): HF-SorOst-01..10, \
    HF-Vest-01..04, HF-Midt-01..03, HF-Nord-01..03. 80 units: each institution has two outpatient \
    clinics TSB-POL-nn, an inpatient ward TSB-DOGN-nn, a detox unit TSB-AVR-nn.

    Setting: 80 % outpatient treatment, 20 % inpatient (a 3-16 week stay; 60 % of longer courses go on \
    as outpatients), so about 80 % of registrations are outpatient. Outpatient dates fall on weekdays. \
    Authors u-<institution><nn>, 30 per institution.

    Start (A): The referral's receiving date. 5 % after an emergency assessment: emergencyAssessmentDate \
    0-14 days before A (10 % of those 15-21, late); M with A unless the start is a detox.

    Not granted: 5 % of other non-detox starts end XR 3-10 days after A.

    Detox (D): 27 % of new referrals (5 % of transfers) start with inpatient detox: D 2-12 days after A \
    (6 % leave early: XP/XM, no D), then M on the D date for inpatient treatment (10 % 1-3 days later, \
    late) or within 0-3 days for outpatient (15 % 4-10 days, late).

    First (M): Outpatient 5-40 days after A (skewed short), inpatient 7-42. 3 % end there with XA (60 % \
    of them with one H: K, I or A).

    Assessment: M to the decision 5-21 days outpatient / 2-7 inpatient, 12 % late (22-35 / 8-14). 8 % \
    patient-postponed: L, and the decision 7-28 days later. 6 % drop out (XP 55 % / XM 45 %). UB for 85 \
    %, during the assessment.

    Extended: 22 % of outpatient (5 % of inpatient) basic decisions are CU; the final decision follows \
    14-42 days later (12 % 43-60, late); 5 % drop out during it.

    Decision: Outcomes T 78 %, P 6 %, S 4 %, K 6 %, A 3 %, I 3 %; with T a second outcome on the same \
    date in 20 % (K 12, P 5, A 3). Any other need ends the pathway within 14 days: P -> XN with HP (and \
    HT 30 %), otherwise XG with H of the same need; F on the decision date for 80 %.

    Treatment: First E 3-14 days after the decision outpatient, 1-7 inpatient (12 % late: 15-28 / 8-14), \
    with UU (85 %) and F (90 %). Then E every 4-8 weeks outpatient, 3-6 inpatient, 8 % of intervals late \
    (8-10 / 6-8 weeks); from the second year every 6-12 weeks (5 % 12-14). F again with 8 % of later \
    E's. 6 % have an L before one of the first E's. UF near the end for 70 % of completed and 30 % of \
    other treatments. Length: completed 3-24 months, drop-outs 2 weeks-10 months, others 1-18 months \
    (all skewed short).

    End (X): Treatment ends G 58, P 12, M 11, O 10, A 4, S 4, N 1 (weights); over all ended episodes \
    about G 50 %, P 13 %, M 12 %, O 6 %, N 6 %, A 6 %, R 4 %, S 3 %. XS only from 2022-09-30 (earlier: \
    XO). A final E on the end date for G, O, N, S. H with every XG (one outcome, a second for 25 %; \
    weights K 45, A 20, I 15, T 10, P 7, S 3), with XN (P 70 % / T 30 %), with 30 % of XA. Nothing dated \
    after --to is written, so some episodes are still open (about 15 % over 4 years).

    Re-referral: The same patient again: after XO 90 % continue at another institution 0-3 days later (a \
    new episode and A); after XN 25 % return in 2-13 months, after XR 15 % in 1-12 months, after other \
    ends 12 % in 1-24 months (20 % of them elsewhere).

    Recording: Every registration has recordedAt, 07-15 UTC on its date; 5 % are recorded days later \
    (1-7 days, 30 % of them 8-30), never after --to. 2 % carry a note. 10 % of NDJSON registrations use \
    the pathway-module spelling (pathway/event/outcome), the rest the procedure code (D01CT).

    Corrections: 1 % of registrations are later corrected (NDJSON `corrects`: a D/L/U/F/E date moved \
    within its neighbours, the other outpatient clinic, another help outcome, or a note added; 10 % of \
    corrections are corrected again) or voided (`voids`, 35 % of those on F, L, UU, UF, or an E when \
    another stays between the final decision and the end). None of them breaks a rule (or mends one). They follow the episode's registrations. CSV carries \
    registrations only.

    Rule breaks: About 0.5 % of registrations break a pathway rule so that findings appear: a second M, \
    a third decision, UB twice, CU and CT on one date, a second A, or an E after X.

    Order: By default episode after episode, each episode's lines together (streamed). With --order \
    recorded all episodes are interleaved by the instant each line is recorded, as a national log \
    receives them: within an episode the lines keep their order (a line recorded earlier than one \
    before it waits for it; a voiding, which carries no recordedAt, goes with its episode's latest \
    line), so every episode's history and findings are the same in both orders. The lines are sorted \
    through run files in --temp-dir; memory stays bounded.

    Ids: Episodes EP-000001..., registrations r-1..., in generated order; patients P- and six hex digits \
    (ten beyond 16.7 million patients): a keyed permutation of the patient number, so unique, and never \
    shaped like a fødselsnummer. Ids restart at 1 for every run, so two different runs do not belong in \
    one store.
    """
}
