"""Study design from the title and abstract alone (no publication types, no MeSH), one cue family
at a time. Every abstract here is invented for these tests. Each case failed before its cue was
added, except those whose id starts "guard": they hold an answer that a wider cue could break."""

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


IS = [
    # Laboratory and veterinary species beyond rodents and primates name an animal study.
    pytest.param("Ketamine and cardiac output in anaesthetised dogs",
                 "Cardiac output was recorded in 12 beagles given ketamine. Output rose by a third within ten minutes.",
                 "preclinical", id="dogs"),
    pytest.param("Spinal dorsal horn responses after ketamine",
                 ("Dorsal horn units were recorded in 20 decerebrate cats. Ketamine halved the wind-up of their "
                  "discharges."), "preclinical", id="cats"),
    pytest.param("Ketamine sedation for wool shearing",
                 "Eight ewes and six lambs were sedated with ketamine before shearing. Recovery took forty minutes.",
                 "preclinical", id="sheep"),
    pytest.param("Locomotion after ethanol exposure",
                 "Drosophila larvae were exposed to ethanol vapour and their crawling speed was tracked for an hour.",
                 "preclinical", id="drosophila"),
    pytest.param("Spontaneous beating of embryonic heart tissue",
                 ("Ventricles of 9-day chick embryos were kept in tissue culture. Their beating rate fell with "
                  "ketamine."), "preclinical", id="chick-tissue-culture"),

    # A review announcing what it will cover is not a protocol; a protocol's plans still are.
    pytest.param("Ketamine and the glutamate hypothesis",
                 ("Glutamate signalling has become a target for fast-acting antidepressants. In this review, we will "
                  "discuss how ketamine acts on NMDA receptors. We will also summarize open questions."),
                 "narrative-review", id="review-we-will-discuss"),
    pytest.param("Ketamine versus midazolam for depression",
                 ("Ketamine may relieve depression within hours. We will recruit 80 adults with depression and we "
                  "will compare ketamine with midazolam on the depression score at 24 hours."),
                 "protocol", id="guard-protocol-we-will-recruit"),

    # "Crossover" is a trial design only as a design; a case-crossover study is observational.
    pytest.param("Recreational ketamine use and falls",
                 ("We used a case-crossover study of 310 adults who presented with a fall, comparing their ketamine "
                  "exposure in the day before the fall with exposure in earlier control days."),
                 "observational", id="case-crossover"),
    *(pytest.param("Ketamine and midazolam in depression",
                   (f"Twenty adults with depression received ketamine and midazolam one week apart {phrase}. "
                    "Depression scores fell more after ketamine (p = 0.02)."), "rct", id=f"guard-{phrase}")
      for phrase in ("in a crossover design", "in a two-period crossover study", "in a crossover fashion")),

    # A case report that also reviews the literature is a case report; so are older phrasings.
    pytest.param("Ketamine-induced cystitis: a case report and review of the literature",
                 ("Ketamine misuse can damage the bladder. We present a 28-year-old man with painful frequent "
                  "voiding after daily ketamine use. We also review the literature on ketamine uropathy."),
                 "case-report", id="case-report-and-review"),
    pytest.param("Delirium after ketamine sedation",
                 ("A case is presented of a woman who became delirious after ketamine sedation for a fracture. "
                  "She recovered within a day."), "case-report", id="a-case-is-presented"),
    pytest.param("Ketamine and recurrent catatonia",
                 ("The present report describes a thirty-two-year-old man with recurrent catatonia who improved "
                  "after ketamine. Lorazepam had failed twice."), "case-report", id="spelled-out-age"),
    pytest.param("Prolonged emergence after ketamine",
                 "A girl with a seizure disorder was admitted after a ketamine overdose. She woke after two days.",
                 "case-report", id="a-girl-with"),
    pytest.param("Ketamine for refractory status epilepticus in pregnancy",
                 ("Status epilepticus in pregnancy is rare. To our knowledge, this is the first reported case of "
                  "ketamine ending refractory seizures in the third trimester."), "case-report", id="first-case"),
    pytest.param("Ketamine in an older patient",
                 ("This report concerns a frail 88-year-old man with depression who was given ketamine. His mood "
                  "lifted within a day. We review ketamine's use in late life."), "case-report",
                 id="a-frail-92-year-old"),
    pytest.param("Ketamine in an older patient",
                 ("Ketamine is rarely used in the cardiac laboratory. In this case, we highlight ketamine sedation in "
                  "a patient with severe contrast allergy. Angiography was completed without distress."),
                 "case-report", id="in-this-case-we"),
    pytest.param("Ketamine uropathy: five cases and a review of the literature",
                 ("We describe five patients with ketamine uropathy and review the literature. All had used ketamine "
                  "daily for over a year."), "observational", id="case-series-and-review"),

    # An unstructured abstract that opens on its own case is not opening on background.
    pytest.param("Ketamine in the clinic",
                 ("The case is reported of a woman who became delirious after ketamine sedation for a wrist "
                  "fracture. Haloperidol was given. She recovered within a day. Delirium after ketamine is rare in "
                  "older adults."), "case-report", id="opens-the-case-is-reported"),
    pytest.param("Ketamine in the clinic",
                 ("A patient is reported with catatonia that resolved after ketamine. Lorazepam had failed twice. "
                  "Speech returned within an hour. The mechanism is discussed."), "case-report",
                 id="opens-a-patient-is-reported"),
    pytest.param("Ketamine in the clinic",
                 ("The authors describe three patients with bipolar depression whose mania began after ketamine. "
                  "All had stopped mood stabilisers. Mania settled within a week. Screening for bipolar disorder is "
                  "discussed."), "observational", id="opens-the-authors-describe-three"),

    pytest.param("Ketamine in the clinic",
                 ("A man with long-standing depression who had stopped eating was admitted to our unit. Ketamine "
                  "was infused twice. He ate again within a week. Catatonic features had been missed before."),
                 "case-report", id="opens-a-man-with-was-admitted"),

    # "Previous studies suggest" is a review's voice only in its own sentences, not in a study's background.
    pytest.param("Ketamine and immobility after stress",
                 ("Previous studies have shown that ketamine shortens immobility in stressed animals. We treated 20 "
                  "rats with ketamine or saline and measured their immobility in the forced swim test. Immobility "
                  "fell by half after ketamine."), "preclinical", id="background-previous-studies"),
    pytest.param("Ketamine beyond the first infusion",
                 ("Ketamine relieves depression within hours. Recent clinical studies suggest that repeated "
                  "infusions sustain the response, and emerging evidence shows that esketamine spray does the same."),
                 "narrative-review", id="guard-review-recent-studies"),

    # An animal study may name patients; with no human design named, the animals are what it studied.
    # A review naming animals and people, with no finding of its own, stays a review.
    pytest.param("Ketamine after isolation",
                 ("Ketamine was given to 24 mice after weeks of isolation and their grooming was scored. Grooming "
                  "recovered by 40% (p < 0.01), much as mood lifts in patients."), "preclinical",
                 id="mice-and-patients-result"),
    pytest.param("Ketamine after isolation",
                 ("We measured spine density in 16 rats given ketamine, the drug that relieves depression in patients "
                  "within hours. Spines on pyramidal cells multiplied within a day."), "preclinical",
                 id="rats-and-patients-we-measured"),
    pytest.param("Arketamine: an update",
                 ("Arketamine is being developed for depression. Data in humans and rodents suggest it sedates less "
                  "than esketamine. Its mechanism may lie beyond the NMDA receptor."), "narrative-review",
                 id="guard-review-humans-and-rodents"),

    # Infants and neonates are people in a clinical study; "macaque infants" are young animals.
    pytest.param("Ketamine early in life",
                 ("BACKGROUND: Ketamine protected the developing brain in animal studies.\nMETHODS: We did a "
                  "randomised trial in 90 preterm neonates needing intubation, given ketamine or fentanyl.\nRESULTS: "
                  "Hypotension was rarer with ketamine (12% vs 30%)."), "rct", id="neonates-are-people"),
    pytest.param("Ketamine early in life",
                 "Macaque infants born to mothers given ketamine during pregnancy reached their motor milestones late.",
                 "preclinical", id="guard-macaque-infants"),

    # Laboratory science with neither people nor a named species is still a study of its own.
    pytest.param("Binding of ketamine enantiomers to NMDA receptor subunits",
                 ("Here we show that (R)-ketamine binds the GluN2B subunit less tightly than (S)-ketamine, using "
                  "radioligand binding to recombinant receptors. The difference was threefold."), "preclinical",
                 id="laboratory-we-show"),

    # Numbers and "significant" without any study of its own: an essay, not an unnamed design ("other").
    pytest.param("Ketamine metabolites: a family of active molecules",
                 ("Ketamine is metabolised to norketamine and hydroxynorketamine. Hydroxynorketamine contributes "
                  "significantly to the antidepressant effect, and up to 80% of a dose leaves as metabolites."),
                 "narrative-review", id="essay-with-numbers"),

    # "We describe" and "we examine" are a review's voice only about the literature.
    pytest.param("Ketamine for depression",
                 ("Chronic stress removes dendritic spines. Here we examine whether ketamine restores spines in "
                  "stressed mice. Ketamine increased spine density by 30% (p < 0.01)."), "preclinical",
                 id="here-we-examine-whether"),
    pytest.param("Ketamine for depression",
                 ("BACKGROUND: Ketamine is used for depression.\nMETHODS: We describe the outcomes of 40 consecutive "
                  "older adults treated with ketamine in our clinic.\nRESULTS: Response was 45%."), "observational",
                 id="we-describe-the-outcomes"),
    pytest.param("Ketamine for depression",
                 ("Here we describe the results of a randomized trial of ketamine in 60 adults. Response was 45% "
                  "versus 20% (p = 0.01)."), "rct", id="we-describe-the-results"),
    pytest.param("Ketamine for depression",
                 ("Ketamine has antidepressant effects within hours. Here we describe the current evidence on how it "
                  "acts and where it fails."), "narrative-review", id="guard-we-describe-the-evidence"),

    # A primary study's own words that read like a review's or a systematic search's.
    pytest.param("Ketamine versus midazolam for depression",
                 ("METHODS: Sixty adults with TRD were randomized to ketamine or midazolam.\nRESULTS: Response was "
                  "higher with ketamine (p = 0.01).\nCONCLUSIONS: Ketamine was superior. We discuss the clinical "
                  "implications."), "rct", id="we-discuss-the-implications"),
    pytest.param("Ketamine and emergence agitation in children",
                 ("The hospital database was queried for all children who received ketamine sedation between 2015 "
                  "and 2020. Of 1,204 children, 3% had emergence agitation."), "observational",
                 id="database-queried-for-children"),
    pytest.param("Ketamine for agitation in the emergency department",
                 ("Medical records were retrieved for 300 patients given ketamine for agitation. Intubation was "
                  "needed in 2%."), "observational", id="medical-records-retrieved"),
    pytest.param("Ketamine sedation: lessons from 1,000 cases",
                 ("We analysed 1,000 consecutive procedural sedations with ketamine in our emergency department. "
                  "Laryngospasm occurred in 0.4%."), "observational", id="lessons-from-cases"),
    pytest.param("Ketamine in depression",
                 ("MEDLINE and Embase were searched for trials of ketamine in depression. Twenty-one studies were "
                  "included. Most reported a rapid response."), "systematic-review", id="guard-literature-search"),

    # Reviews, pooled analyses and protocols that a trial cites or follows are not the trial's design.
    pytest.param("Ketamine for depression",
                 ("BACKGROUND: A pooled analysis of earlier trials suggested benefit.\nMETHODS: We randomized 120 "
                  "adults to ketamine or placebo.\nRESULTS: Ketamine was superior (p < 0.001)."), "rct",
                 id="background-pooled-analysis"),
    pytest.param("Ketamine for depression",
                 ("BACKGROUND: A systematic review found few trials in adolescents.\nMETHODS: We randomized 50 "
                  "adolescents to ketamine or midazolam.\nRESULTS: Ketamine was superior (p = 0.02)."), "rct",
                 id="background-systematic-review"),
    pytest.param("Ketamine for depression",
                 ("METHODS: According to the study protocol, 60 adults with depression were randomized to ketamine "
                  "or midazolam.\nRESULTS: Response was higher with ketamine (p = 0.01)."), "rct",
                 id="according-to-the-study-protocol"),

    # An aims sentence that names its design before the noun is the study's own, not background.
    pytest.param("Ketamine at music festivals",
                 ("AIMS: This cross-sectional observational study measured ketamine use at music festivals.\n"
                  "METHODS: Participants who had received ketamine in the past year completed a questionnaire.\n"
                  "RESULTS: One in eight reported use in the past month."), "observational",
                 id="aims-this-cross-sectional-study"),

    # Modern phrasings of familiar designs.
    pytest.param("Esketamine spray in adolescents with suicidal ideation",
                 ("In this phase 2 study, 60 adolescents were assigned 1:1 to esketamine or placebo spray. "
                  "Depression scores fell more with esketamine (p = 0.02)."), "rct", id="assigned-1-to-1"),
    pytest.param("Ketamine and working memory",
                 ("Forty healthy volunteers received ketamine and placebo in random order, one week apart. Working "
                  "memory fell after ketamine (p < 0.01)."), "rct", id="in-random-order"),
    pytest.param("Ketamine and later psychosis",
                 ("Using data from a network of health systems, we identified 10,412 adults with depression who "
                  "received ketamine and matched controls. Psychosis was not more frequent after ketamine (HR 0.9)."),
                 "observational", id="using-data-from-matched-controls"),
    pytest.param("Ketamine use and depression: a Mendelian randomization study",
                 ("Using summary statistics of genome-wide association studies, we ran a two-sample Mendelian "
                  "randomization analysis. Genetic liability to ketamine use was not associated with depression."),
                 "observational", id="mendelian-randomization"),
    pytest.param("Patients' experiences of ketamine therapy",
                 ("We conducted semi-structured interviews with 18 patients who had received ketamine for "
                  "depression. Thematic analysis identified three themes."), "observational", id="interviews"),
    pytest.param("Ketamine infusions for chronic pain at one centre",
                 ("We reviewed all 85 patients who received ketamine infusions for chronic pain at our centre from "
                  "2015 to 2020. Pain scores fell in 60%."), "observational", id="we-reviewed-all-patients"),
    pytest.param("Intravenous ketamine for depression",
                 ("We pooled data from 12 trials (n = 812) of intravenous ketamine. Ketamine lowered depression "
                  "scores at 24 hours (SMD -0.9)."), "meta-analysis", id="we-pooled"),
]

IS_NOT = [
    # Acronyms in capitals are not animals: a CAT scan, FISH hybridization; nor is fish oil.
    pytest.param("Fish oil and mood in older adults",
                 "Older adults took fish oil capsules for twelve weeks. Mood scores improved by 20% (p = 0.01).",
                 "preclinical", id="guard-fish-oil"),
    pytest.param("Chromosome findings in a boy with seizures",
                 "A 7-year-old boy presented with seizures. FISH analysis showed a deletion on chromosome 15.",
                 "preclinical", id="guard-FISH"),
    # Meiotic crossovers are not a crossover trial.
    pytest.param("How a chromosome axis protein spaces crossovers",
                 ("Meiosis needs at least one crossover per chromosome pair. Yeast cells lacking the protein formed "
                  "fewer crossovers and more non-crossover products (p < 0.01)."), "rct", id="meiotic-crossovers"),
    # "In the case of" (as for) is not a case report.
    pytest.param("Clearance of repeated ketamine infusions",
                 ("Twelve adults with depression received six open-label ketamine infusions. In the case of "
                  "esketamine, clearance was faster. Depression scores fell by 40%."), "case-report",
                 id="in-the-case-of"),
]


@pytest.mark.parametrize("title, abstract, expected", IS)
def test_design_from_title_and_abstract(rules, title, abstract, expected):
    assert design(rules, title, abstract) == expected


@pytest.mark.parametrize("title, abstract, wrong", IS_NOT)
def test_design_is_not(rules, title, abstract, wrong):
    assert design(rules, title, abstract) != wrong
