"""A small hand-made cache for the report, show, search, export and digest tests, and the store SQL tests.

Texts are invented. The expected numbers in every report test come from the table below:

| pmid | design | human | N | year | claims (stance) | notes |
| --- | --- | --- | --- | --- | --- | --- |
| 101 | meta-analysis | yes | 1000 | 2023 | rapid_onset + | N pooled: not counted as participants |
| 102 | meta-analysis | yes | 900 | 2021 | rapid_onset + | |
| 103 | rct | yes | 40 | 2019 | rapid_onset +, trd + | |
| 104 | rct | yes | 60 | 2020 | rapid_onset + | title and evidence full of markup specials |
| 105 | rct | yes | 80 | 2015 | rapid_onset + | expression of concern: counted, flagged |
| 106 | rct | yes | 30 | 2018 | rapid_onset - | |
| 107 | observational | yes | 200 | 2022 | rapid_onset · | |
| 108 | rct | yes | 500 | 2017 | rapid_onset + | RETRACTED: listed, never counted |
| 109 | rct | yes | 120 | 2024 | trd - | |
| 110 | case-report | yes | 1 | 2016 | cognition + | |
| 111 | preclinical | no | None | 2012 | cognition + | rats |
| 112 | other | - | None | 2010 | none | untagged for claims |
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from evidence_cli.errors import UsageError
from evidence_cli.pubmed.model import AbstractSection, Article, Correction
from evidence_cli.store import articles as store_articles
from evidence_cli.store import runs as store_runs
from evidence_cli.store.db import Store, open_store
from evidence_cli.store.reports import NO_FILTERS, ReportFilters, claim_cells, fts_query, search, study_rows
from evidence_cli.tagging.model import ClaimTag, Tagging

TOPIC = "demo"
TOPIC_TOML = """title = "Demo drug for low mood"
query = "demo[tiab]"

[claims.rapid_onset]
label = "Rapid onset"

[claims.trd]
label = "Treatment-resistant depression"

[claims.cognition]
label = "Cognition"

[claims.nmda]
label = "NMDA mechanism"
"""

NASTY_TITLE = 'Demo <b>vs</b> placebo & "midazolam": a {randomized} trial | 50% _response_ #1'
NASTY_EVIDENCE = "Response at 24 h was 50% vs 20% (p<0.01) | <script>alert('x')</script> & more."

# pmid: (design, humans, n, year, claims, retracted, extras)
STUDIES: dict[str, tuple] = {
    "101": ("meta-analysis", True, 1000, 2023, {"rapid_onset": "supports"}, False),
    "102": ("meta-analysis", True, 900, 2021, {"rapid_onset": "supports"}, False),
    "103": ("rct", True, 40, 2019, {"rapid_onset": "supports", "trd": "supports"}, False),
    "104": ("rct", True, 60, 2020, {"rapid_onset": "supports"}, False),
    "105": ("rct", True, 80, 2015, {"rapid_onset": "supports"}, False),
    "106": ("rct", True, 30, 2018, {"rapid_onset": "contradicts"}, False),
    "107": ("observational", True, 200, 2022, {"rapid_onset": "neutral"}, False),
    "108": ("rct", True, 500, 2017, {"rapid_onset": "supports"}, True),
    "109": ("rct", True, 120, 2024, {"trd": "contradicts"}, False),
    "110": ("case-report", True, 1, 2016, {"cognition": "supports"}, False),
    "111": ("preclinical", False, None, 2012, {"cognition": "supports"}, False),
    "112": ("other", None, None, 2010, {}, False),
}


def evidence_sentence(pmid: str, claim_id: str) -> str:
    return NASTY_EVIDENCE if pmid == "104" else f"Sentence {pmid} about {claim_id.replace('_', ' ')} in demo patients."


def make_article(pmid: str) -> Article:
    design, _, n, year, claims, retracted = STUDIES[pmid]
    sentences = [evidence_sentence(pmid, c) for c in claims]
    abstract = (
        AbstractSection(f"We studied demo drug in {n or 'some'} subjects with zorblax syndrome.", "METHODS", "METHODS"),
        AbstractSection(" ".join(sentences) or "Nothing about the claims.", "RESULTS", "RESULTS"),
    )
    corrections = (Correction("RetractionIn", "999", "J Demo. 2020;1:1"),) if retracted else ()
    return Article(
        pmid=pmid, title=NASTY_TITLE if pmid == "104" else f"Demo drug study {pmid} ({design})",
        abstract=abstract, journal="J Demo" if pmid != "110" else "Case Rep Demo", year=year,
        authors=("Doe J", "Roe R") if pmid != "102" else ("Demo Study Group",),
        doi=f"10.1000/demo.{pmid}" if pmid != "105" else None, pmcid="PMC9" + pmid if pmid in ("101", "104") else None,
        publication_types=("Journal Article", "Retracted Publication") if retracted else ("Journal Article",),
        corrections=corrections, date_revised="2024-01-01",
    )


def make_tagging(pmid: str) -> Tagging:
    design, humans, n, _, claims, retracted = STUDIES[pmid]
    return Tagging(
        design=design, sample_size=n, sample_size_evidence=f"We studied demo drug in {n} subjects." if n else None,
        humans=humans, animals=humans is False, retracted=retracted, expression_of_concern=pmid == "105",
        claims=tuple(ClaimTag(c, stance, evidence_sentence(pmid, c), "RESULTS") for c, stance in claims.items()),
    )


def build_workspace(root: Path, *, with_run: bool = True) -> Path:
    """A workspace at `root` with queries/demo.toml and a cache holding STUDIES (and a refresh run)."""
    (root / "queries").mkdir(parents=True, exist_ok=True)
    (root / "queries" / f"{TOPIC}.toml").write_text(TOPIC_TOML, encoding="utf-8")
    store = open_store(root / "cache" / "evidence.sqlite")
    try:
        first = [p for p in STUDIES if p not in ("110", "111")]
        store_articles.save_batch(store, [(make_article(p), make_tagging(p)) for p in first], topic=TOPIC)
        if with_run:
            # The latest refresh: adds 110 and 111, updates 103, deletes a record 555.
            store_articles.save_batch(store, [(Article("555", title="Demo record withdrawn later"), None)], topic=TOPIC)
            run_id = store_runs.start_run(store, TOPIC, "incremental", query="demo[tiab]")
            changed_103 = replace(make_article("103"), date_revised="2025-05-05")
            store_articles.save_batch(
                store, [(make_article("110"), make_tagging("110")), (make_article("111"), make_tagging("111")),
                        (changed_103, make_tagging("103"))], topic=TOPIC, run_id=run_id)
            store_articles.delete_articles(store, ["555"], run_id=run_id)
            store_runs.finish_run(store, run_id, "complete", added=2, updated=1, deleted=1)
        else:
            store_articles.save_batch(store, [(make_article(p), make_tagging(p)) for p in ("110", "111")], topic=TOPIC)
    finally:
        store.close()
    return root


def open_demo(tmp_path: Path) -> Store:
    build_workspace(tmp_path)
    return open_store(tmp_path / "cache" / "evidence.sqlite", create=False)


# ---- the store SQL ----------------------------------------------------------------------------

def test_cells_set_retracted_apart_and_count_primary_participants(tmp_path):
    store = open_demo(tmp_path)
    all_cells = [c for c in claim_cells(store, TOPIC) if c.claim_id == "rapid_onset"]
    assert [c.pmids for c in all_cells if c.retracted] == [("108",)]
    cells = [c for c in all_cells if not c.retracted]
    assert sum(c.studies for c in cells) == 7  # 101-107
    # 40 + 60 + 80 + 30 + 200: the meta-analyses' pooled 1000 and 900 are not participants
    assert sum(c.participants for c in cells) == 410


def test_filters_in_sql(tmp_path):
    store = open_demo(tmp_path)

    def count(filters: ReportFilters, claim: str = "rapid_onset") -> int:
        return sum(c.studies for c in claim_cells(store, TOPIC, filters, [claim]) if not c.retracted)

    assert count(ReportFilters(since=2020)) == 4  # 101, 102, 104, 107
    assert count(ReportFilters(designs=("rct",))) == 4  # 103-106
    assert count(ReportFilters(min_n=100)) == 3  # 101, 102, 107
    assert count(ReportFilters(humans_only=True), "cognition") == 1  # the rat study drops out


def test_study_rows_strongest_first_with_retracted_flagged_and_capped(tmp_path):
    store = open_demo(tmp_path)
    rows = study_rows(store, TOPIC, NO_FILTERS, ["rapid_onset"])
    assert [r.pmid for r in rows] == ["101", "102", "104", "103", "106", "108", "105", "107"]
    assert [r.pmid for r in rows if r.retracted] == ["108"]
    assert rows[1].first_author == "Demo Study Group"
    capped = study_rows(store, TOPIC, NO_FILTERS, ["rapid_onset", "trd"], per_claim=2)
    assert [(r.claim_id, r.pmid) for r in capped] == [
        ("rapid_onset", "101"), ("rapid_onset", "102"), ("trd", "109"), ("trd", "103")]
    picked = study_rows(store, TOPIC, only=[("rapid_onset", "105"), ("trd", "103"), ("rapid_onset", "101")])
    assert [(r.claim_id, r.pmid) for r in picked] == [("rapid_onset", "101"), ("rapid_onset", "105"), ("trd", "103")]


def test_fts_query_neutralises_syntax():
    assert fts_query('ketamine AND "suicid') == '"ketamine" "AND" """suicid"'
    assert fts_query("anti-depressant keta*") == '"anti-depressant" "keta"*'


def test_search_survives_hostile_text(tmp_path):
    store = open_demo(tmp_path)
    for text in ['"', "NOT", "a OR", "(zorblax", "zorblax)", "NEAR(", "-zorblax", "zorblax:", "^", "col:val", "'; DROP"]:
        try:
            search(store, text, topic=TOPIC)
        except UsageError:  # "nothing to search for": the one acceptable failure; anything else fails the test
            pass
    assert len(search(store, "zorblax", topic=TOPIC)) == 12
