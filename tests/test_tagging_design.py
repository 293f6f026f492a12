"""Study design from the title and abstract alone (no publication types, no MeSH), one cue family
at a time. Every abstract here is invented for these tests; each case failed before its cue."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_cli.tagging import compile_rules, tag_record
from evidence_cli.workspace import load_topic_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rules():
    return compile_rules(load_topic_file(REPO / "queries" / "ketamine-depression.toml"))


def design(rules, title: str, abstract: str) -> str:
    return tag_record({"title": title, "abstract": abstract}, rules)["design"]


# Laboratory and veterinary species beyond rodents and primates name an animal study.
@pytest.mark.parametrize("title, abstract", [
    ("Ketamine and cardiac output in anaesthetised dogs",
     "Cardiac output was recorded in 12 beagles given ketamine. Output rose by a third within ten minutes."),
    ("Spinal dorsal horn responses after ketamine",
     "Dorsal horn units were recorded in 20 decerebrate cats. Ketamine halved the wind-up of their discharges."),
    ("Ketamine sedation for wool shearing",
     "Eight ewes and six lambs were sedated with ketamine before shearing. Recovery took forty minutes."),
    ("Locomotion after ethanol exposure",
     "Drosophila larvae were exposed to ethanol vapour and their crawling speed was tracked for an hour."),
    ("Spontaneous beating of embryonic heart tissue",
     "Ventricles of 9-day chick embryos were kept in tissue culture. Their beating rate fell with ketamine."),
])
def test_species_and_cultures_name_a_preclinical_study(rules, title, abstract):
    assert design(rules, title, abstract) == "preclinical"


# Acronyms in capitals are not animals: a CAT scan, FISH hybridization; nor is fish oil.
@pytest.mark.parametrize("title, abstract", [
    ("Fish oil and mood in older adults",
     "Older adults took fish oil capsules for twelve weeks. Mood scores improved by 20% (p = 0.01)."),
    ("Chromosome findings in a boy with seizures",
     "A 7-year-old boy presented with seizures. FISH analysis showed a deletion on chromosome 15."),
])
def test_capitalised_acronyms_and_fish_oil_are_not_animals(rules, title, abstract):
    assert design(rules, title, abstract) != "preclinical"


# A review announcing what it will cover is not a protocol; a protocol's plans still are.
def test_a_review_saying_what_it_will_discuss_is_not_a_protocol(rules):
    abstract = ("Glutamate signalling has become a target for fast-acting antidepressants. In this review, "
                "we will discuss how ketamine acts on NMDA receptors. We will also summarize open questions.")
    assert design(rules, "Ketamine and the glutamate hypothesis", abstract) == "narrative-review"


def test_a_protocol_saying_what_it_will_do_stays_a_protocol(rules):
    abstract = ("Ketamine may relieve depression within hours. We will recruit 80 adults with depression and "
                "we will compare ketamine with midazolam on the depression score at 24 hours.")
    assert design(rules, "Ketamine versus midazolam for depression", abstract) == "protocol"


# "Crossover" is a trial design only as a design: not meiotic crossovers, not a case-crossover study.
def test_genetic_crossovers_are_not_a_crossover_trial(rules):
    abstract = ("Meiosis needs at least one crossover per chromosome pair. Yeast cells lacking the protein "
                "formed fewer crossovers and more non-crossover products (p < 0.01).")
    assert design(rules, "How a chromosome axis protein spaces crossovers", abstract) != "rct"


def test_a_case_crossover_study_is_observational(rules):
    abstract = ("We used a case-crossover study of 310 adults who presented with a fall, comparing their "
                "ketamine exposure in the day before the fall with exposure in earlier control days.")
    assert design(rules, "Recreational ketamine use and falls", abstract) == "observational"


@pytest.mark.parametrize("phrase", ["in a crossover design", "in a two-period crossover study",
                                    "in a crossover fashion"])
def test_a_crossover_design_is_still_a_randomized_trial(rules, phrase):
    abstract = (f"Twenty adults with depression received ketamine and midazolam one week apart {phrase}. "
                "Depression scores fell more after ketamine (p = 0.02).")
    assert design(rules, "Ketamine and midazolam in depression", abstract) == "rct"


# A case report that also reviews the literature is a case report; so are older phrasings.
@pytest.mark.parametrize("title, abstract", [
    ("Ketamine-induced cystitis: a case report and review of the literature",
     ("Ketamine misuse can damage the bladder. We present a 28-year-old man with painful frequent voiding after "
     "daily ketamine use. We also review the literature on ketamine uropathy.")),
    ("Delirium after ketamine sedation",
     ("A case is presented of a woman who became delirious after ketamine sedation for a fracture. "
     "She recovered within a day.")),
    ("Ketamine and recurrent catatonia",
     ("The present report describes a thirty-two-year-old man with recurrent catatonia who improved after "
     "ketamine. Lorazepam had failed twice.")),
    ("Prolonged emergence after ketamine",
     "A girl with a seizure disorder was admitted after a ketamine overdose. She woke after two days."),
    ("Ketamine for refractory status epilepticus in pregnancy",
     ("Status epilepticus in pregnancy is rare. To our knowledge, this is the first reported case of ketamine "
     "ending refractory seizures in the third trimester.")),
])
def test_case_report_phrasings(rules, title, abstract):
    assert design(rules, title, abstract) == "case-report"


def test_in_the_case_of_is_not_a_case_report(rules):
    abstract = ("Twelve adults with depression received six open-label ketamine infusions. "
                "In the case of esketamine, clearance was faster. Depression scores fell by 40%.")
    assert design(rules, "Clearance of repeated ketamine infusions", abstract) != "case-report"


# "Previous studies suggest" is a review's voice only in its own sentences, not in a study's background.
def test_a_primary_study_citing_previous_studies_is_not_a_review(rules):
    abstract = ("Previous studies have shown that ketamine shortens immobility in stressed animals. "
                "We treated 20 rats with ketamine or saline and measured their immobility in the forced swim test. "
                "Immobility fell by half after ketamine.")
    assert design(rules, "Ketamine and immobility after stress", abstract) == "preclinical"


def test_a_review_voicing_what_recent_studies_show_is_still_a_review(rules):
    abstract = ("Ketamine relieves depression within hours. Recent clinical studies suggest that repeated infusions "
                "sustain the response, and emerging evidence shows that esketamine spray does the same.")
    assert design(rules, "Ketamine beyond the first infusion", abstract) == "narrative-review"


# An animal study may name patients in its own sentences; with no human design named, the animals
# are what it studied. A review that names animals and people, with no finding of its own, stays a review.
@pytest.mark.parametrize("abstract", [
    ("Ketamine was given to 24 mice after weeks of isolation and their grooming was scored. Grooming recovered "
     "by 40% (p < 0.01), much as mood lifts in patients."),
    ("We measured spine density in 16 rats given ketamine, the drug that relieves depression in patients within "
     "hours. Spines on pyramidal cells multiplied within a day."),
])
def test_an_animal_study_that_names_patients_is_preclinical(rules, abstract):
    assert design(rules, "Ketamine after isolation", abstract) == "preclinical"


def test_a_review_naming_rodents_and_humans_stays_a_review(rules):
    abstract = ("Arketamine is being developed for depression. Data in humans and rodents suggest it sedates less "
                "than esketamine. Its mechanism may lie beyond the NMDA receptor.")
    assert design(rules, "Arketamine: an update", abstract) == "narrative-review"


# "We describe" and "we examine" are a review's voice only about the literature; a study describes its
# own outcomes and examines its own question.
@pytest.mark.parametrize("abstract, expected", [
    (("Chronic stress removes dendritic spines. Here we examine whether ketamine restores spines in stressed mice. "
     "Ketamine increased spine density by 30% (p < 0.01)."), "preclinical"),
    (("BACKGROUND: Ketamine is used for depression.\nMETHODS: We describe the outcomes of 40 consecutive older "
     "adults treated with ketamine in our clinic.\nRESULTS: Response was 45%."), "observational"),
    (("Here we describe the results of a randomized trial of ketamine in 60 adults. Response was 45% versus 20% "
     "(p = 0.01)."), "rct"),
    (("Ketamine has antidepressant effects within hours. Here we describe the current evidence on how it acts "
     "and where it fails."), "narrative-review"),
])
def test_describe_and_examine_name_a_review_only_about_the_literature(rules, abstract, expected):
    assert design(rules, "Ketamine for depression", abstract) == expected


# Modern phrasings of familiar designs.
@pytest.mark.parametrize("title, abstract, expected", [
    ("Esketamine spray in adolescents with suicidal ideation",
     ("In this phase 2 study, 60 adolescents were assigned 1:1 to esketamine or placebo spray. "
      "Depression scores fell more with esketamine (p = 0.02)."), "rct"),
    ("Ketamine and later psychosis",
     ("Using data from a network of health systems, we identified 10,412 adults with depression who received "
      "ketamine and matched controls. Psychosis was not more frequent after ketamine (HR 0.9)."), "observational"),
    ("Ketamine use and depression: a Mendelian randomization study",
     ("Using summary statistics of genome-wide association studies, we ran a two-sample Mendelian randomization "
      "analysis. Genetic liability to ketamine use was not associated with depression."), "observational"),
    ("Patients' experiences of ketamine therapy",
     ("We conducted semi-structured interviews with 18 patients who had received ketamine for depression. "
      "Thematic analysis identified three themes."), "observational"),
    ("Ketamine infusions for chronic pain at one centre",
     ("We reviewed all 85 patients who received ketamine infusions for chronic pain at our centre from 2015 to "
      "2020. Pain scores fell in 60%."), "observational"),
    ("Intravenous ketamine for depression",
     ("We pooled data from 12 trials (n = 812) of intravenous ketamine. Ketamine lowered depression scores at "
      "24 hours (SMD -0.9)."), "meta-analysis"),
])
def test_modern_phrasings(rules, title, abstract, expected):
    assert design(rules, title, abstract) == expected


# A primary study's own words that read like a review's or a systematic search's.
@pytest.mark.parametrize("title, abstract, expected", [
    ("Ketamine versus midazolam for depression",
     ("METHODS: Sixty adults with TRD were randomized to ketamine or midazolam.\nRESULTS: Response was higher "
      "with ketamine (p = 0.01).\nCONCLUSIONS: Ketamine was superior. We discuss the clinical implications."), "rct"),
    ("Ketamine and emergence agitation in children",
     ("The hospital database was queried for all children who received ketamine sedation between 2015 and 2020. "
      "Of 1,204 children, 3% had emergence agitation."), "observational"),
    ("Ketamine for agitation in the emergency department",
     ("Medical records were retrieved for 300 patients given ketamine for agitation. Intubation was needed "
      "in 2%."), "observational"),
    ("Ketamine sedation: lessons from 1,000 cases",
     ("We analysed 1,000 consecutive procedural sedations with ketamine in our emergency department. "
      "Laryngospasm occurred in 0.4%."), "observational"),
    ("Ketamine and working memory",
     ("Forty healthy volunteers received ketamine and placebo in random order, one week apart. Working memory "
      "fell after ketamine (p < 0.01)."), "rct"),
])
def test_primary_study_phrases_that_read_like_reviews(rules, title, abstract, expected):
    assert design(rules, title, abstract) == expected


def test_a_literature_search_is_still_a_systematic_review(rules):
    abstract = ("MEDLINE and Embase were searched for trials of ketamine in depression. Twenty-one studies were "
                "included. Most reported a rapid response.")
    assert design(rules, "Ketamine in depression", abstract) == "systematic-review"


# Laboratory science with neither people nor a named species is still a study of its own.
def test_a_laboratory_study_without_people_or_species_is_preclinical(rules):
    abstract = ("Here we show that (R)-ketamine binds the GluN2B subunit less tightly than (S)-ketamine, using "
                "radioligand binding to recombinant receptors. The difference was threefold.")
    assert design(rules, "Binding of ketamine enantiomers to NMDA receptor subunits", abstract) == "preclinical"


# An unstructured abstract that opens on its own case is not opening on background.
@pytest.mark.parametrize("abstract, expected", [
    (("The case is reported of a woman who became delirious after ketamine sedation for a wrist fracture. "
     "Haloperidol was given. She recovered within a day. Delirium after ketamine is rare in older adults."),
     "case-report"),
    (("A patient is reported with catatonia that resolved after ketamine. Lorazepam had failed twice. "
     "Speech returned within an hour. The mechanism is discussed."), "case-report"),
    (("The authors describe three patients with bipolar depression whose mania began after ketamine. "
     "All had stopped mood stabilisers. Mania settled within a week. Screening for bipolar disorder is discussed."),
     "observational"),
])
def test_an_opening_case_statement_is_the_records_own(rules, abstract, expected):
    assert design(rules, "Ketamine in the clinic", abstract) == expected


# An aims sentence that names its design before the noun is the study's own, not background.
def test_an_aims_sentence_naming_its_design_is_the_studys_own(rules):
    abstract = ("AIMS: This cross-sectional observational study measured ketamine use at music festivals.\n"
                "METHODS: Participants who had received ketamine in the past year completed a questionnaire.\n"
                "RESULTS: One in eight reported use in the past month.")
    assert design(rules, "Ketamine at music festivals", abstract) == "observational"


# Reviews, pooled analyses and protocols that a trial cites or follows are not the trial's design.
@pytest.mark.parametrize("abstract", [
    ("BACKGROUND: A pooled analysis of earlier trials suggested benefit.\nMETHODS: We randomized 120 adults to "
     "ketamine or placebo.\nRESULTS: Ketamine was superior (p < 0.001)."),
    ("BACKGROUND: A systematic review found few trials in adolescents.\nMETHODS: We randomized 50 adolescents to "
     "ketamine or midazolam.\nRESULTS: Ketamine was superior (p = 0.02)."),
    ("METHODS: According to the study protocol, 60 adults with depression were randomized to ketamine or "
     "midazolam.\nRESULTS: Response was higher with ketamine (p = 0.01)."),
])
def test_what_a_trial_cites_or_follows_is_not_its_design(rules, abstract):
    assert design(rules, "Ketamine for depression", abstract) == "rct"


def test_a_case_series_that_reviews_the_literature_is_observational(rules):
    abstract = ("We describe five patients with ketamine uropathy and review the literature. All had used ketamine "
                "daily for over a year.")
    assert design(rules, "Ketamine uropathy: five cases and a review of the literature", abstract) == "observational"


# Infants and neonates are people in a clinical study; "macaque infants" are young animals.
@pytest.mark.parametrize("abstract, expected", [
    (("BACKGROUND: Ketamine protected the developing brain in animal studies.\nMETHODS: We did a randomised trial "
      "in 90 preterm neonates needing intubation, given ketamine or fentanyl.\nRESULTS: Hypotension was rarer "
      "with ketamine (12% vs 30%)."), "rct"),
    ("Macaque infants born to mothers given ketamine during pregnancy reached their motor milestones late.", "preclinical"),
])
def test_infants_are_people_unless_a_species_is_named(rules, abstract, expected):
    assert design(rules, "Ketamine early in life", abstract) == expected


@pytest.mark.parametrize("abstract", [
    ("This report describes a frail 92-year-old woman with depression who was given ketamine. Her mood lifted "
     "within a day. We review ketamine's use in late life."),
    ("Ketamine is rarely used in the cardiac laboratory. In this case, we highlight ketamine sedation in a patient "
     "with severe contrast allergy. Angiography was completed without distress."),
])
def test_more_case_report_openings(rules, abstract):
    assert design(rules, "Ketamine in an older patient", abstract) == "case-report"
