"""The tagger, rule family by rule family, on short texts written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.pubmed.model import AbstractSection, Article, Correction, MeshHeading
from evidence_cli.tagging import (
    claims_in_sentence,
    compile_rules,
    sections_from_text,
    split_sentences,
    tag_article,
    tag_record,
)
from evidence_cli.workspace import load_topic_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rules():
    return compile_rules(load_topic_file(REPO / "queries" / "ketamine-depression.toml"))


def tag(rules, title: str, abstract: str, **record):
    return tag_record({"title": title, "abstract": abstract, **record}, rules)


def stance(out: dict, claim: str) -> str | None:
    return out["claims"].get(claim, {}).get("stance")


# --- sentences and sections -----------------------------------------------------------------------

def test_split_sentences_keeps_abbreviations_and_decimals_together():
    text = ("Patients received 0.5 mg/kg i.v. ketamine vs. saline, e.g. in the clinic (p < .05). "
            "Dr. Lee et al. confirmed it. Scores fell by 3.5 points at 24 h. Nothing else changed.")
    assert split_sentences(text) == [
        "Patients received 0.5 mg/kg i.v. ketamine vs. saline, e.g. in the clinic (p < .05).",
        "Dr. Lee et al. confirmed it.",
        "Scores fell by 3.5 points at 24 h.",
        "Nothing else changed.",
    ]


def test_split_sentences_breaks_at_line_ends():
    assert split_sentences("First line without stop\nSecond line.") == ["First line without stop", "Second line."]


@pytest.mark.parametrize("abstract, labels", [
    ("BACKGROUND: Why. METHODS: How. RESULTS: What. CONCLUSIONS: So.", ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]),
    ("Background\nWhy it matters.\nMethods\nWe did it.\nResults\nIt worked.", ["Background", "Methods", "Results"]),
    ("Objective The aim. Methods Twelve people. Results Scores fell. Conclusions Good.",
     ["Objective", "Methods", "Results", "Conclusions"]),
])
def test_sections_from_text_finds_labels(abstract, labels):
    sections = sections_from_text(abstract)
    assert [s.label for s in sections] == labels
    assert sections[0].category in ("BACKGROUND", "OBJECTIVE")


def test_sections_from_text_leaves_prose_alone():
    sections = sections_from_text("Results were mixed. Methods matter. We conclude nothing.")
    assert len(sections) == 1 and sections[0].label is None


# --- finding claims -------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence, expected", [
    ("Ketamine had a rapid antidepressant effect.", {"rapid_onset"}),
    ("Depression scores fell within 24 hours of the infusion.", {"rapid_onset"}),
    ("Pain scores fell within 24 hours of surgery.", set()),
    ("Suicidal ideation decreased after one dose.", {"suicidality"}),
    ("Patients with bipolar depression improved.", {"bipolar"}),
    ("Bipolar electrocautery was used for haemostasis.", set()),
    ("Remission of depression was sustained for 12 weeks.", {"durability"}),
    ("Anesthesia was maintained with sevoflurane for 3 months of follow-up.", set()),
    ("Adults with treatment-resistant depression were enrolled.", {"trd"}),
    ("Patients had failed at least two antidepressant trials in the current depressive episode.", {"trd"}),
    ("Refractory status epilepticus was treated with ketamine.", set()),
    ("Ketamine increased BDNF and synaptogenesis in the cortex.", {"neuroplasticity"}),
    ("Working memory was tested with the N-back task.", {"cognition"}),
    ("The drug has received growing attention from clinicians.", set()),
    ("Ketamine is an NMDA receptor antagonist.", {"nmda"}),
    ("Respiratory depression occurred within 10 minutes.", set()),
    ("Antidepressant effects appeared within hours.", {"rapid_onset"}),
    ("A sustained response was seen in a third of the sample.", {"durability"}),
    ("Mood effects persisted for up to 72 hours.", {"rapid_onset"}),
    ("Adults with difficult-to-treat depression took part.", {"trd"}),
])
def test_claims_in_sentence(rules, sentence, expected):
    assert set(claims_in_sentence(sentence, rules)) == expected


def test_a_short_form_the_record_defines_counts_as_the_claim(rules):
    out = tag(rules, "Ketamine in mood disorders",
              "METHODS: We enrolled 30 adults with major depressive disorder or bipolar disorder (BD). "
              "RESULTS: Depression scores improved most in BD.")
    assert "bipolar" in out["claims"]


# --- which sentences count ------------------------------------------------------------------------

def test_background_of_a_primary_study_does_not_make_a_claim(rules):
    out = tag(rules, "Ketamine and sleep in volunteers",
              "BACKGROUND: Ketamine has rapid antidepressant effects in treatment-resistant depression. "
              "METHODS: Forty volunteers received ketamine or saline in a randomized order. "
              "RESULTS: Sleep latency did not differ between conditions.")
    assert "rapid_onset" not in out["claims"] and "trd" not in out["claims"]


def test_a_narrative_review_speaks_for_itself(rules):
    out = tag(rules, "Ketamine in psychiatry: a narrative review",
              "Ketamine produces rapid and sustained antidepressant effects. We review its clinical use.")
    assert stance(out, "rapid_onset") == "supports"
    assert stance(out, "durability") == "supports"


def test_calls_for_future_research_never_make_a_claim(rules):
    out = tag(rules, "A small trial",
              "METHODS: Twenty adults with depression were randomized to ketamine or midazolam. "
              "RESULTS: Ketamine reduced depression scores more than midazolam. "
              "CONCLUSIONS: Larger trials are needed to test the long-term antidepressant efficacy of ketamine.")
    assert "durability" not in out["claims"]


# --- stance ---------------------------------------------------------------------------------------

def test_null_result_contradicts(rules):
    out = tag(rules, "Ketamine for suicidal ideation",
              "METHODS: We randomized 50 adults with suicidal ideation to ketamine or midazolam. "
              "RESULTS: Suicidal ideation scores did not differ between groups at 24 hours. "
              "CONCLUSIONS: Ketamine failed to reduce suicidal ideation compared with midazolam.")
    assert stance(out, "suicidality") == "contradicts"
    assert stance(out, "rapid_onset") == "contradicts"


def test_each_clause_keeps_its_own_stance(rules):
    out = tag(rules, "Esketamine after delivery",
              "RESULTS: Depression was less frequent with esketamine at day 3 but not at 6 weeks after delivery.")
    assert stance(out, "rapid_onset") == "supports"
    assert stance(out, "durability") == "contradicts"


def test_positive_finding_supports_and_carries_its_sentence(rules):
    sentence = "Ketamine produced a rapid antidepressant response within 4 hours that lasted for 2 weeks."
    out = tag(rules, "An open trial", f"RESULTS: {sentence}")
    assert stance(out, "rapid_onset") == "supports"
    assert stance(out, "durability") == "supports"
    assert out["claims"]["rapid_onset"]["evidence"] == sentence
    assert out["claims"]["rapid_onset"]["section"] == "RESULTS"


def test_plain_mechanism_mention_is_neutral_and_a_finding_supports(rules):
    plain = tag(rules, "A review", "Ketamine, an NMDA receptor antagonist, is used in depression. We review its uses.")
    assert stance(plain, "nmda") == "neutral"
    finding = tag(rules, "Habenula bursts in mice",
                  "Here we show in mice that ketamine relieves depressive-like behaviour by blocking NMDA receptors "
                  "in the lateral habenula.")
    assert stance(finding, "nmda") == "supports"


def test_hedged_review_statement_is_neutral(rules):
    out = tag(rules, "Mechanisms of ketamine: a review",
              "We review the evidence. Ketamine may act through synaptogenesis and BDNF release.")
    assert stance(out, "neuroplasticity") == "neutral"


@pytest.mark.parametrize("finding, expected", [
    ("Ketamine improved working memory compared with placebo.", "supports"),
    ("Ketamine impaired verbal memory at 2 hours.", "contradicts"),
    ("Cognitive performance was not impaired after six infusions.", "neutral"),
    ("Ketamine had no effect on attention or processing speed.", "contradicts"),
])
def test_cognition_direction(rules, finding, expected):
    out = tag(rules, "Cognition after ketamine", f"METHODS: We studied 30 patients with depression. RESULTS: {finding}")
    assert stance(out, "cognition") == expected


def test_high_relapse_contradicts_durability(rules):
    out = tag(rules, "Relapse after ketamine",
              "RESULTS: Most responders relapsed within 4 weeks after the last infusion for depression.")
    assert stance(out, "durability") == "contradicts"


def test_population_claim_takes_the_study_result(rules):
    positive = tag(rules, "Ketamine in treatment-resistant depression",
                   "METHODS: Thirty adults with treatment-resistant depression received ketamine. "
                   "RESULTS: Depression scores improved significantly.")
    negative = tag(rules, "Ketamine in treatment-resistant depression",
                   "METHODS: Thirty adults with treatment-resistant depression received ketamine. "
                   "RESULTS: Depression scores did not improve.")
    assert stance(positive, "trd") == "supports"
    assert stance(negative, "trd") == "contradicts"


def test_anaesthesia_abstract_makes_no_claim(rules):
    out = tag(rules, "Ketamine for emergence agitation in children",
              "BACKGROUND: Ketamine is an NMDA receptor antagonist. METHODS: Eighty children were randomly "
              "assigned to ketamine or saline at the end of surgery. RESULTS: Agitation was less frequent with "
              "ketamine within 30 minutes, without respiratory depression. CONCLUSIONS: Ketamine is effective.")
    assert out["claims"] == {}
    assert out["design"] == "rct" and out["sample_size"] == 80


# --- design -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("title, abstract, types, mesh, expected", [
    ("Ketamine for depression: a meta-analysis", "We pooled 8 trials.", [], [], "meta-analysis"),
    ("Ketamine and mood", "We searched PubMed and Embase and included 12 studies.", [], [], "systematic-review"),
    ("Ketamine and mood", "A narrative text.", ["Review"], [], "narrative-review"),
    ("Ketamine in depressed rats", "Here we show that ketamine reduced immobility in rats.", [], [], "preclinical"),
    ("Ketamine and mood", "Ketamine changed behaviour.", [], ["Animals", "Rats"], "preclinical"),
    ("A case of ketamine use", "We report a 34-year-old woman with depression who received ketamine.", [], [], "case-report"),
    ("Ketamine versus midazolam", "Sixty adults were randomly assigned to ketamine or midazolam.", [], [], "rct"),
    ("Oral ketamine", "In this open-label study, 20 patients received oral ketamine for 6 weeks.", [], [], "non-randomized-trial"),
    ("Ketamine clinic outcomes", "This retrospective chart review included 200 patients.", [], [], "observational"),
    ("Ketamine trial", "Patients will be randomized to ketamine or placebo.", [], [], "protocol"),
    ("Anything", "Any text.", ["Randomized Controlled Trial"], [], "rct"),
    ("Anything", "Any text.", ["Case Reports"], [], "case-report"),
])
def test_design(rules, title, abstract, types, mesh, expected):
    out = tag(rules, title, abstract, publication_types=types, mesh=mesh)
    assert out["design"] == expected


def test_calls_for_randomized_trials_do_not_make_an_rct(rules):
    out = tag(rules, "Esketamine in bipolar depression",
              "METHODS: This retrospective study included 15 inpatients. RESULTS: Scores improved. "
              "CONCLUSIONS: Randomized controlled trials are needed.")
    assert out["design"] == "observational"


# --- sample size --------------------------------------------------------------------------------------

@pytest.mark.parametrize("abstract, expected", [
    ("METHODS: Forty-two adults with depression were randomized to ketamine or placebo (n = 21 each).", 42),
    ("METHODS: A total of 1,234 participants were included.", 1234),
    ("METHODS: Patients (N = 73) received ketamine; 58% (N = 42) were women.", 73),
    ("METHODS: Of 120 patients screened, 60 were randomized to ketamine or placebo.", 60),
    ("METHODS: We studied 30 patients with depression and 25 healthy controls.", 55),
    ("METHODS: Patients aged 18-65 years received ketamine for depression.", None),
    ("METHODS: In this phase 3 trial, 227 adults with depression were randomized.", 227),
    ("METHODS: Chronic users (n = 40) and 40 drug-free controls completed memory tests.", 80),
])
def test_sample_size_primary(rules, abstract, expected):
    out = tag(rules, "Invented study of ketamine", abstract)
    assert out["sample_size"] == expected
    if expected is not None:
        assert out["sample_size_evidence"]


def test_sample_size_meta_analysis_pools_participants(rules):
    out = tag(rules, "Ketamine for depression: a meta-analysis",
              "RESULTS: Eleven trials including 812 patients were pooled.")
    assert out["sample_size"] == 812


def test_sample_size_null_for_animals_and_one_for_a_case(rules):
    animals = tag(rules, "Ketamine in mice", "Thirty male mice received ketamine and showed less immobility.")
    case = tag(rules, "Ketamine for a depressed patient: a case report",
               "We report a 45-year-old man with depression who improved after ketamine.")
    assert animals["design"] == "preclinical" and animals["sample_size"] is None
    assert case["sample_size"] == 1


# --- integrity and subjects ---------------------------------------------------------------------------

def test_integrity_flags(rules):
    article = Article(
        pmid="1", title="A retracted trial", abstract=(AbstractSection("Ketamine helped.", "RESULTS", "RESULTS"),),
        publication_types=("Journal Article", "Retracted Publication"),
        corrections=(Correction("ExpressionOfConcernIn", "2"), Correction("ErratumIn", "3")),
        mesh=(MeshHeading("Humans"),),
    )
    tagging = tag_article(article, rules)
    assert tagging.retracted and tagging.expression_of_concern and tagging.erratum
    assert tagging.humans is True and tagging.animals is False


def test_retraction_notice_is_not_a_retracted_study(rules):
    article = Article(pmid="1", title="Retraction: ketamine trial", publication_types=("Retraction of Publication",))
    assert not tag_article(article, rules).retracted


def test_retraction_in_link_marks_retracted(rules):
    article = Article(pmid="1", title="A trial", corrections=(Correction("RetractionIn", "9"),))
    assert tag_article(article, rules).retracted


def test_tag_record_shape(rules):
    out = tag_record({"id": "x1", "pmid": "123", "title": "T", "abstract": "RESULTS: Ketamine had rapid antidepressant effects."}, rules)
    assert out["id"] == "x1" and out["pmid"] == "123"
    assert set(out) >= {"id", "pmid", "design", "sample_size", "claims"}
    assert set(out["claims"]["rapid_onset"]) >= {"stance", "evidence"}


# --- cue order and scope ------------------------------------------------------------------------------

def test_the_first_claim_cue_in_a_clause_governs(rules):
    reversal = tag(rules, "Spines in stressed mice",
                   "Here we show in mice that ketamine reversed the stress-induced loss of dendritic spines.")
    independent = tag(rules, "A ketamine metabolite in mice",
                      "Here we show in mice that the antidepressant-like effect was independent of NMDA receptor "
                      "inhibition.")
    assert stance(reversal, "neuroplasticity") == "supports"
    assert stance(independent, "nmda") == "contradicts"


def test_a_null_result_in_the_control_arm_is_not_a_finding(rules):
    out = tag(rules, "BDNF and ketamine response in depression",
              "RESULTS: Ketamine increased plasma BDNF in responders. "
              "No change in BDNF was found in patients receiving placebo.")
    assert stance(out, "neuroplasticity") == "supports"


def test_fewer_relapses_support_durability(rules):
    out = tag(rules, "Maintenance esketamine for depression",
              "RESULTS: Fewer patients relapsed with esketamine than with placebo over 48 weeks of depression "
              "follow-up, and esketamine delayed time to relapse.")
    assert stance(out, "durability") == "supports"


def test_side_effect_clause_does_not_negate_the_finding(rules):
    out = tag(rules, "Ketamine versus midazolam",
              "RESULTS: Ketamine reduced depression scores at 24 hours more than midazolam, with no significant "
              "difference in dissociation.")
    assert stance(out, "rapid_onset") == "supports"


def test_addiction_relapse_is_not_durability(rules):
    out = tag(rules, "Ketamine users",
              "RESULTS: Among users with depression, relapse to ketamine use was common.")
    assert "durability" not in out["claims"]


# --- robustness -----------------------------------------------------------------------------------------


_WORDS = st.sampled_from([
    "ketamine", "depression", "rapid", "within", "24", "h", "not", "no significant", "BDNF", "NMDA", "RESULTS:",
    "METHODS:", "Background", "\n", ".", ",", "(", ")", ";", "but", "patients", "Forty-two", "n =", "12", "weeks",
    "suicidal", "bipolar", "memory", "impaired", "e.g.", "vs.", "p < .05", "sustained", "relapsed", "%", "mice",
])


@settings(max_examples=150, deadline=None)
@given(title=st.lists(_WORDS, max_size=8).map(" ".join), abstract=st.lists(_WORDS, max_size=60).map(" ".join))
def test_any_text_tags_without_error_and_evidence_is_quoted(rules, title, abstract):
    out = tag_record({"title": title, "abstract": abstract}, rules)
    assert out["design"] in ("meta-analysis", "systematic-review", "rct", "non-randomized-trial", "observational",
                             "case-report", "narrative-review", "preclinical", "protocol", "other")
    for claim in out["claims"].values():
        assert claim["stance"] in ("supports", "contradicts", "neutral")
        assert claim["evidence"] and " ".join(claim["evidence"].split()) in " ".join((title + " " + abstract).split())


def test_a_protocol_reports_no_direction(rules):
    out = tag(rules, "Ketamine for suicidal ideation: study protocol for a randomized trial",
              "METHODS: Adults with suicidal ideation will be randomized to ketamine or midazolam. The primary "
              "outcome is suicidal ideation at 24 hours.")
    assert out["design"] == "protocol"
    assert stance(out, "suicidality") == "neutral" and stance(out, "rapid_onset") == "neutral"


@pytest.mark.parametrize("finding", [
    "Ketamine rapidly reduced depression scores with no adverse effects.",
    "Ketamine was non-inferior to ECT and reduced depression within 24 hours.",
    "Not only did depression improve within 24 hours, it stayed improved.",
    "Within 24 hours, most patients no longer met criteria for major depression.",
])
def test_positive_findings_are_not_read_as_null(rules, finding):
    out = tag(rules, "Invented ketamine trial", f"RESULTS: {finding}")
    assert stance(out, "rapid_onset") == "supports"


def test_failing_antidepressants_defines_resistance_not_a_null_result(rules):
    out = tag(rules, "Ketamine: a narrative review",
              "Ketamine is effective in patients who failed to respond to two or more antidepressants.")
    assert stance(out, "trd") == "supports"


def test_the_first_directional_clause_decides_a_mixed_sentence(rules):
    out = tag(rules, "Esketamine for suicidal depression",
              "RESULTS: Depression scores were lower with esketamine at 4 hours, but the groups did not differ at "
              "24 hours.")
    assert stance(out, "rapid_onset") == "supports"


# --- generalisation: phenomena found with the invented challenge set -----------------------------------

@pytest.mark.parametrize("abstract, expected", [
    ("METHODS: Patients were randomized to ketamine or saline (n=31 per arm, total 62).", 62),
    ("METHODS: Adults with depression were randomized to ketamine or placebo (148 randomized).", 148),
    ("METHODS: In all, 95 stable responders were randomized to continue or stop ketamine.", 95),
    ("METHODS: Adults who had failed at least two antidepressants were randomized to ketamine or placebo (N = 57).", 57),
])
def test_sample_size_phrasings(rules, abstract, expected):
    assert tag(rules, "Invented trial of ketamine", abstract)["sample_size"] == expected


def test_pooled_participants_in_brackets(rules):
    out = tag(rules, "Ketamine for depression: a meta-analysis",
              "We pooled seven randomized trials (318 participants). Ketamine reduced depression scores.")
    assert out["sample_size"] == 318


@pytest.mark.parametrize("title, abstract, expected", [
    ("Ketamine-induced cystitis in a patient treated for depression",
     "A man in his fifties taking oral ketamine for depression developed haematuria.", "case-report"),
    ("Ketamine and neurite growth", ("Human induced pluripotent stem cell-derived neurons were exposed to ketamine; "
     "neurite length increased."), "preclinical"),
    ("Esketamine in psychotic depression", ("We describe four inpatients who received esketamine nasal spray. "
     "Three improved by 50% on the MADRS."), "observational"),
])
def test_design_phrasings(rules, title, abstract, expected):
    assert tag(rules, title, abstract)["design"] == expected


@pytest.mark.parametrize("abstract", [
    "RESULTS: Patients with recurrent major depression improved 24 hours after ketamine (p<0.01).",
    ("METHODS: Patients with depression maintained on lithium received ketamine and saline two weeks apart. "
    "RESULTS: Depression scores improved at 24 h (p<0.01)."),
    ("METHODS: Patients with depression received three ketamine infusions over one week. "
    "RESULTS: Depression improved by day 7 (p<0.01)."),
])
def test_diagnoses_drugs_short_courses_and_crossover_spacing_are_not_durability(rules, abstract):
    assert stance(tag(rules, "Ketamine in depression", abstract), "durability") is None


@pytest.mark.parametrize("title, abstract, claim, expected", [
    # cognitive-behavioural therapy is a treatment, not a cognitive outcome
    ("Cognitive behavioural therapy after ketamine for depression",
     "RESULTS: Fewer patients relapsed with CBT after ketamine (p=0.02).", "cognition", None),
    # a sentence that refers back keeps the outcome of the one before
    ("Ketamine in depression", ("RESULTS: MADRS scores fell at 24 hours after ketamine (p<0.01). "
     "By day 28 the difference was no longer significant."), "durability", "contradicts"),
    # the claim's own cue ("most relapsed") outweighs a generic reading ("were effective")
    ("Repeated ketamine in depression", ("METHODS: Forty adults with depression received six ketamine infusions "
     "over two weeks. RESULTS: Response after the last infusion was 60% (p<0.01). CONCLUSIONS: Repeated infusions "
     "were effective, but most responders relapsed within a month."), "durability", "contradicts"),
    # no difference in cognition is no direction (labelling convention)
    ("Ketamine anaesthesia for ECT in depression",
     "RESULTS: Cognitive performance did not differ between ketamine and propofol groups.", "cognition", "neutral"),
    # an effect shown without NMDA receptor blockade
    ("A ketamine metabolite in cultured neurons",
     "RESULTS: The metabolite increased BDNF in cultured neurons without NMDA receptor blockade.", "nmda", "contradicts"),
])
def test_generalised_stance_rules(rules, title, abstract, claim, expected):
    assert stance(tag(rules, title, abstract), claim) == expected


@pytest.mark.parametrize(("sentences", "expected"), [
    # a total later in the text beats counts before it; the first total wins
    (["We studied 40 patients with migraine.", "A total of 52 adults were included.", "In total, 60 took part."], 52),
    # an enrolment count beats a plain count in an earlier sentence, a total beats both
    (["Some 30 patients were screened.", "Eighty patients were randomized.", "We followed them for a year."], 80),
    # two counts in one sentence: the first in the text wins, whichever pattern found it
    (["Of these, 25 adults and a group (n = 12) were seen."], 25),
    (["A group (n = 12) and 25 adults were seen."], 12),
])
def test_sample_size_takes_the_best_count_whatever_is_skipped(sentences, expected):
    """Patterns that cannot beat the best count so far are not run; the answer is the same."""
    from evidence_cli.tagging.prefilter import LiteralScanner
    from evidence_cli.tagging.sample_size import COUNT, ENROLLED, EQUALS, HEALTHY, TOTAL, sample_size
    from evidence_cli.tagging.text import normalize

    scanner = LiteralScanner([TOTAL, ENROLLED, EQUALS, COUNT, HEALTHY])
    pairs = [(s, normalize(s)) for s in sentences]
    gated = sample_size("rct", pairs, [scanner.presence(norm) for _, norm in pairs])
    assert gated == sample_size("rct", pairs)  # the same without the literal gates
    assert gated[0] == expected
