"""`evidence check`: matching a draft's sentences to claims, evidence per claim, overstatement, output."""

from __future__ import annotations

import io
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence_cli.errors import InputError
from evidence_cli.evidence import check as chk
from evidence_cli.pubmed.model import AbstractSection, Article
from evidence_cli.store import articles as store_articles
from evidence_cli.store import runs as store_runs
from evidence_cli.store.db import open_store
from evidence_cli.tagging.model import ClaimTag, Tagging
from evidence_cli.workspace import find_workspace, load_topic_file

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BLOG = SHARED / "examples" / "ketamine-therapy-blog-post.txt"
TOPIC_ID = "ketamine-depression"
TOPIC = load_topic_file(REPO / "queries" / f"{TOPIC_ID}.toml")


# ---- stand-ins for the tagger (its own tests cover it; these keep ours about our logic) ---------

def naive_split(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", text) if s.strip()]


STAND_IN_RULES = {
    "durability": re.compile(r"\bsustained\b|\blong[- ]lasting\b|\bmaintenance\b", re.IGNORECASE),
    "rapid_onset": re.compile(r"\bwithin (hours|\d+ hours|days|a day)\b", re.IGNORECASE),
}


def stand_in_rules(sentence: str) -> list[str]:
    return [claim_id for claim_id, pattern in STAND_IN_RULES.items() if pattern.search(sentence)]


HOOKS = chk.TaggerHooks(naive_split, stand_in_rules)
NO_RULES = chk.TaggerHooks(naive_split, lambda s: [])


def claims_of(text: str, hooks: chk.TaggerHooks = HOOKS) -> dict[str, list[str]]:
    return {s.text: [m.claim_id for m in ms] for s, ms in chk.match_draft(text, TOPIC, hooks)}


# ---- the cache built from invented records ----------------------------------------------------

def study(pmid: str, claim: str, stance: str, design: str, n: int | None, year: int, author: str,
          *, retracted: bool = False, humans: bool = True) -> tuple[Article, Tagging]:
    sentence = f"Invented finding {pmid} on {claim}."
    article = Article(pmid=pmid, title=f"An invented {design} about {claim}", journal="J Invented",
                      abstract=(AbstractSection(sentence, "RESULTS", "RESULTS"),), year=year,
                      authors=(author, "Roe R"), date_revised="2024-01-01")
    tagging = Tagging(design=design, sample_size=n, humans=humans, animals=not humans, retracted=retracted,
                      claims=(ClaimTag(claim, stance, sentence, "RESULTS"),))
    return article, tagging


FIXTURE_STUDIES = [
    # rapid_onset: strong (a meta-analysis and three RCTs support)
    study("9001", "rapid_onset", "supports", "meta-analysis", 900, 2021, "Alpha A"),
    study("9002", "rapid_onset", "supports", "rct", 60, 2019, "Beta B"),
    study("9003", "rapid_onset", "supports", "rct", 120, 2020, "Gamma G"),
    study("9004", "rapid_onset", "supports", "rct", 40, 2018, "Delta D"),
    study("9005", "rapid_onset", "supports", "case-report", 1, 2022, "Eps E"),
    # trd: limited (one observational study and a case report), and a retracted "RCT"
    study("9101", "trd", "supports", "observational", 80, 2020, "Zeta Z"),
    study("9102", "trd", "supports", "case-report", 1, 2021, "Eta E"),
    study("9103", "trd", "supports", "rct", 500, 2023, "Fraud F", retracted=True),
    # suicidality: moderate (one RCT), one observational study against
    study("9201", "suicidality", "supports", "rct", 80, 2018, "Theta T"),
    study("9202", "suicidality", "supports", "rct", 50, 2022, "Iota I"),
    study("9203", "suicidality", "contradicts", "observational", 30, 2020, "Kappa K"),
    # nmda and neuroplasticity: preliminary (animal work only)
    study("9301", "nmda", "supports", "preclinical", None, 2015, "Lambda L", humans=False),
    study("9401", "neuroplasticity", "supports", "preclinical", None, 2016, "Mu M", humans=False),
    # cognition: contested (an observational study for, an RCT against)
    study("9501", "cognition", "supports", "observational", 40, 2019, "Nu N"),
    study("9502", "cognition", "contradicts", "rct", 60, 2021, "Xi X"),
    # durability: unsupported (an RCT against; the only support is retracted)
    study("9601", "durability", "contradicts", "rct", 70, 2020, "Omicron O"),
    study("9602", "durability", "supports", "rct", 300, 2022, "Retract R", retracted=True),
    # bipolar: no study at all
]


def make_workspace(root: Path) -> Path:
    (root / "queries").mkdir(parents=True)
    shutil.copy(REPO / "queries" / f"{TOPIC_ID}.toml", root / "queries")
    return root


def build_cache(root: Path, *, refreshed_days_ago: float | None = 1) -> Path:
    make_workspace(root)
    with open_store(root / "cache" / "evidence.sqlite") as store:
        store_articles.save_batch(store, FIXTURE_STUDIES, topic=TOPIC_ID, tagger_version="test")
        if refreshed_days_ago is not None:
            run_id = store_runs.start_run(store, TOPIC_ID, "full", query="q")
            store_runs.finish_run(store, run_id, "complete")
            when = datetime.now(UTC) - timedelta(days=refreshed_days_ago)
            store_runs.update_run(store, run_id, finished_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return root


@pytest.fixture
def cached(tmp_path: Path):
    return find_workspace(build_cache(tmp_path / "ws"))


def check(ws, text: str, **kwargs) -> chk.CheckResult:
    return chk.check_text(ws, TOPIC, text, hooks=HOOKS, **kwargs)


def by_claim(result: chk.CheckResult) -> dict[str, chk.ClaimCheck]:
    return {c.claim_id: c for s in result.sentences for c in s.claims}


# ---- matching ---------------------------------------------------------------------------------

def test_paraphrase_matches_by_statement_and_unrelated_sentences_are_left_out():
    found = claims_of(
        "Ketamine lowers suicidal thoughts in people at risk. The clinic opens at nine. "
        "Cognitive function got better after the infusions."
    )
    assert found == {
        "Ketamine lowers suicidal thoughts in people at risk.": ["suicidality"],
        "Cognitive function got better after the infusions.": ["cognition"],
    }


def test_one_sentence_can_make_several_claims():
    found = claims_of("It brings rapid onset of relief and works in treatment-resistant depression.")
    assert list(found.values()) == [["rapid_onset", "trd"]]


def test_an_acronym_only_one_claim_uses_is_enough():
    assert list(claims_of("Blocking NMDA channels is how it acts.").values()) == [["nmda"]]
    assert list(claims_of("BDNF release rises after a dose.").values()) == [["neuroplasticity"]]


def test_words_several_claims_share_do_not_make_a_claim_alone():
    # "antidepressant" and "effect" belong to several statements; "weeks" to two.
    assert claims_of("Traditional antidepressants may take weeks to show an effect.") == {}


def test_heading_gives_its_claim_to_the_paragraph_below():
    text = "Reduction of Suicidal Ideation:\n\nThis is a lifeline for people in crisis. Many say so.\n"
    found = claims_of(text, NO_RULES)
    assert found == {"This is a lifeline for people in crisis.": ["suicidality"]}


def test_heading_claim_stays_with_its_paragraph_not_the_next_one():
    text = "Bipolar Depression:\n\nThis is a lifeline for many.\n\nThe weather was fine all week long today.\n"
    assert claims_of(text, NO_RULES) == {"This is a lifeline for many.": ["bipolar"]}


def test_rules_from_the_tagger_are_used():
    found = claims_of("Some individuals experience sustained relief.", HOOKS)
    assert found == {"Some individuals experience sustained relief.": ["durability"]}
    assert claims_of("Some individuals experience sustained relief.", NO_RULES) == {}


def context_rules(sentence: str) -> list[str]:
    """Like the tagger's weak patterns: 'duration' names durability only next to a depression word."""
    return ["durability"] if re.search(r"duration", sentence, re.IGNORECASE) and re.search(r"depress", sentence, re.IGNORECASE) else []


def rapid_onset_context(text: str, claim_id: str) -> bool:
    return claim_id != "rapid_onset" or bool(re.search(r"depress|mood|suicid", text, re.IGNORECASE))


def test_statement_match_needs_the_claims_context_in_the_paragraph():
    draft = "Anesthetic Origins:\n\nIts properties include rapid onset and short duration in surgery.\n"
    assert list(claims_of(draft, NO_RULES).values()) == [["rapid_onset"]]
    on_topic = chk.TaggerHooks(naive_split, lambda s: [], rapid_onset_context)
    assert claims_of(draft, on_topic) == {}
    draft = "Its rapid onset is welcome. Depressed patients notice it.\n"
    assert claims_of(draft, on_topic) == {"Its rapid onset is welcome.": ["rapid_onset"]}


def test_heading_borrows_the_topic_title_as_context_for_the_rules():
    draft = "Extended Duration of Relief:\n\nSome people feel better well beyond the first session.\n"
    hooks = chk.TaggerHooks(naive_split, context_rules)
    assert claims_of(draft, hooks) == {"Some people feel better well beyond the first session.": ["durability"]}
    assert claims_of(draft, NO_RULES) == {}


def test_matcher_records_how_each_claim_was_found():
    text = "Rapid Onset of Relief:\n\nKetamine can bring relief within hours or days.\n"
    ((_, matches),) = chk.match_draft(text, TOPIC, HOOKS)
    assert [(m.claim_id, m.matched_by) for m in matches] == [("rapid_onset", ("rules", "heading"))]


# ---- overstatement ----------------------------------------------------------------------------

@pytest.mark.parametrize("sentence, verdict, flagged", [
    ("Ketamine therapy has demonstrated remarkable success.", "Limited: 1 observational study supports", True),
    ("It is proven to work.", "Moderate: 1 RCT supports", True),
    ("Studies have shown it cures depression.", "Contested: 1 RCT supports, 1 RCT contradicts", True),
    ("It is proven to work.", "Strong: 3 RCTs support", False),
    ("It may help some individuals.", "Preliminary: case reports and preclinical only", False),
    ("Studies have demonstrated that ketamine may reduce suicidal ideation.", "Limited: x", False),
    ("Ketamine helps some patients.", "Limited: x", False),
    ("Ketamine is guaranteed to work.", "No evidence: no cached study addresses the claim", True),
])
def test_overstatement(sentence, verdict, flagged):
    found = chk.overstatement(sentence, verdict)
    assert (found is not None) == flagged
    if found:
        keyword = verdict.split(":")[0].lower()
        assert (keyword in found.reason) if keyword != "no evidence" else ("no cached study" in found.reason)
        assert all(p.lower() in sentence.lower() for p in found.phrases)


# ---- evidence from the cache ------------------------------------------------------------------

def test_citations_strongest_first_never_retracted_and_contradiction(cached):
    result = check(cached, "Rapid onset of relief is the rule. It works in treatment-resistant depression. "
                           "The relief from ketamine is sustained. Suicidal ideation falls after ketamine.")
    claims = by_claim(result)
    assert [c.pmid for c in claims["rapid_onset"].evidence.support] == ["9001", "9003", "9002"]
    assert claims["rapid_onset"].evidence.verdict.startswith("Strong")
    trd = claims["trd"].evidence
    assert trd.verdict.startswith("Limited") and "9103" not in [c.pmid for c in trd.support]
    assert [c.pmid for c in trd.support] == ["9101", "9102"]
    durability = claims["durability"].evidence
    assert durability.support == () and durability.contradiction.pmid == "9601"
    assert durability.verdict.startswith("Unsupported") and durability.failing
    suicidality = claims["suicidality"].evidence
    assert suicidality.contradiction.pmid == "9203" and (suicidality.supports, suicidality.contradicts) == (2, 1)
    first = claims["rapid_onset"].evidence.support[0]
    assert (first.first_author, first.year, first.journal, first.design, first.sample_size) == (
        "Alpha A", 2021, "J Invented", "meta-analysis", 900)


def test_claim_without_studies_has_no_evidence_verdict(cached):
    claims = by_claim(check(cached, "Ketamine works in bipolar depression."))
    assert claims["bipolar"].evidence.verdict.startswith("No evidence")
    assert claims["bipolar"].evidence.failing


def test_cache_fresh_stale_empty_and_never_refreshed(tmp_path):
    fresh = find_workspace(build_cache(tmp_path / "fresh", refreshed_days_ago=2))
    assert check(fresh, "x").cache.warning is None
    old = check(fresh, "x", max_age_days=1).cache
    assert old.stale and "evidence refresh ketamine-depression" in old.warning and "--max-age 1" in old.warning
    imported = check(find_workspace(build_cache(tmp_path / "imported", refreshed_days_ago=None)), "x").cache
    assert imported.stale and "never refreshed" in imported.warning
    empty_ws = find_workspace(make_workspace(tmp_path / "empty"))
    empty = chk.check_text(empty_ws, TOPIC, "Suicidal ideation falls after ketamine.", hooks=HOOKS)
    assert empty.cache.empty and "evidence refresh ketamine-depression" in empty.cache.warning
    assert not (tmp_path / "empty" / "cache").exists()  # check never creates a cache
    assert by_claim(empty)["suicidality"].evidence.verdict.startswith("No evidence")


# ---- reading the draft ------------------------------------------------------------------------

def test_read_draft_refuses_binary_and_non_utf8(tmp_path):
    (tmp_path / "bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "latin1").write_bytes("Caf\xe9 ketamine".encode("latin-1"))
    (tmp_path / "bom").write_bytes("\ufeffKetamine works.".encode("utf-8"))
    with pytest.raises(InputError, match="binary"):
        chk.read_draft(str(tmp_path / "bin"))
    with pytest.raises(InputError, match="not UTF-8 text"):
        chk.read_draft(str(tmp_path / "latin1"))
    with pytest.raises(InputError, match="no such file"):
        chk.read_draft(str(tmp_path / "missing"))
    assert chk.read_draft(str(tmp_path / "bom")) == "Ketamine works."
    assert chk.read_draft("-", io.BytesIO(b"From stdin.")) == "From stdin."


# ---- the blog post, end to end over the fixture cache -----------------------------------------

BLOG_SECTIONS = {
    "NMDA Receptor Modulation": "nmda",
    "Rapid Onset of Relief": "rapid_onset",
    "Treatment-Resistant Depression": "trd",
    "Reduction of Suicidal Ideation": "suicidality",
    "Enhanced Neuroplasticity": "neuroplasticity",
    "Improved Mood and Cognitive Function": "cognition",
    "Extended Duration of Relief": "durability",
    "Enhanced Response in Bipolar Depression": "bipolar",
}
CHROME = ("Connect with us", "Avatar photo", "Health & Fitness", "Click to comment", "Continue Reading",
          "Leave a Reply", "You must be logged in")


def blog_text() -> str:
    if not BLOG.is_file():
        pytest.skip(f"the example blog post is not at {BLOG} (it lives in ../shared beside the repo)")
    return BLOG.read_text(encoding="utf-8")


def assert_blog_checked(result: chk.CheckResult) -> None:
    by_section: dict[str, set[str]] = {}
    for sentence in result.sentences:
        by_section.setdefault(sentence.heading, set()).update(c.claim_id for c in sentence.claims)
        assert not any(chrome.lower() in sentence.text.lower() for chrome in CHROME), sentence.text
    for heading, claim_id in BLOG_SECTIONS.items():
        assert claim_id in by_section.get(heading, set()), (heading, by_section.get(heading))
    flagged = [(s.text, c.claim_id) for s, c in result.overstatements()]
    assert any("remarkable success" in text and claim == "trd" for text, claim in flagged), flagged
    # Hedged: "Studies have demonstrated that ketamine therapy may lead to ..." is not flagged.
    assert not any("may lead to a significant reduction" in text for text, _ in flagged)
    # Backed by strong evidence: certainty about rapid onset would not be flagged either.
    assert by_claim(result)["rapid_onset"].evidence.verdict.startswith("Strong")


def test_blog_post_sections_match_their_claims_with_stand_in_tagger(cached):
    assert_blog_checked(check(cached, blog_text()))
