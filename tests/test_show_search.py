"""`evidence show PMID` and `evidence search TEXT` on the hand-made cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evidence_cli.cli import app
from tests.test_report_cache import NASTY_EVIDENCE, NASTY_TITLE, build_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("show"))


def run(root: Path, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(root), *args], env={"NO_COLOR": "1"})


def test_show_plain_marks_tagged_sentences_and_lists_links(ws):
    result = run(ws, "show", "104")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "PMID 104" in out and NASTY_TITLE in out  # markup in the title printed as is
    assert f">>{NASTY_EVIDENCE}<< [rapid_onset: supports]" in out
    assert "design RCT, N = 60, humans" in out
    assert "Rapid onset (rapid_onset)" in out
    for link in ("https://pubmed.ncbi.nlm.nih.gov/104/", "https://doi.org/10.1000/demo.104",
                 "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC9104/"):
        assert link in out
    assert "RETRACTED" not in out


def test_show_highlights_with_styles_on_a_terminal():
    from evidence_cli.render.article import highlighted

    text = highlighted("One. Two is it. Three.", [("Two is it.", "trd", "supports")], plain=False, label="RESULTS")
    assert text.plain == "RESULTS: One. Two is it. [trd: supports] Three."
    styled = [text.plain[s.start:s.end] for s in text.spans if s.style == "black on green3"]
    assert styled == ["Two is it."]


def test_show_flags_a_retraction(ws):
    out = run(ws, "show", "108").stdout
    assert "Integrity: retracted (RetractionIn: PMID 999, J Demo. 2020;1:1; publication type Retracted Publication)" in out
    assert "RETRACTED" in out.splitlines()[0]


def test_show_several_claims_on_one_sentence_and_json(ws):
    out = run(ws, "show", "103").stdout
    assert ">>Sentence 103 about rapid onset in demo patients.<< [rapid_onset: supports]" in out
    assert ">>Sentence 103 about trd in demo patients.<< [trd: supports]" in out
    data = json.loads(run(ws, "show", "103", "--format", "json").stdout)
    assert data["pmid"] == "103" and data["topics"][0]["topic"] == "demo"
    assert data["topics"][0]["claims"]["trd"]["stance"] == "supports"
    assert data["links"][0] == "https://pubmed.ncbi.nlm.nih.gov/103/"


def test_show_unknown_and_malformed_pmids(ws):
    result = run(ws, "show", "424242")
    assert result.exit_code == 2 and "PMID 424242 is not in the cache" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = run(ws, "show", "12ab")
    assert result.exit_code == 2 and "not a PMID" in result.output
    assert run(ws, "show", "PMID:101").exit_code == 0


def test_search_ranks_title_hits_first(ws):
    data = json.loads(run(ws, "search", "randomized", "--format", "json").stdout)
    assert [h["pmid"] for h in data["hits"]][:1] == ["104"]  # "randomized" is only in 104's title
    data = json.loads(run(ws, "search", "trd", "--format", "json").stdout)
    assert sorted(h["pmid"] for h in data["hits"]) == ["103", "109"]
    assert "**trd**" in data["hits"][0]["snippet"]


def test_search_filters(ws):
    def pmids(*args: str) -> list[str]:
        result = run(ws, "search", "zorblax", "--format", "json", "--limit", "50", *args)
        assert result.exit_code == 0, result.output
        return sorted(h["pmid"] for h in json.loads(result.stdout)["hits"])

    assert len(pmids()) == 12
    assert pmids("--claim", "cognition") == ["110", "111"]
    assert pmids("--design", "meta-analysis") == ["101", "102"]
    assert pmids("--claim", "rapid_onset", "--design", "observational") == ["107"]
    assert len(pmids("--limit", "3")) == 3


@pytest.mark.parametrize("text", ['"', 'zorblax"', "NOT zorblax", "zorblax OR", "(zorblax", "NEAR(zorblax",
                                  "-zorblax", "title:zorblax", "zorb*", "a-b-c", "'; DROP TABLE articles; --"])
def test_search_never_crashes_on_fts_syntax(ws, text):
    result = run(ws, "search", text)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_search_prefix_and_empty(ws):
    assert len(json.loads(run(ws, "search", "zorb*", "--format", "json").stdout)["hits"]) == 12
    result = run(ws, "search", "--", "-- ?")
    assert result.exit_code == 2 and "nothing to search for" in result.output
    assert "no cached record matches" in run(ws, "search", "quuxfrobnicate").stdout


def test_search_bad_options(ws):
    assert run(ws, "search", "x", "--design", "anecdote").exit_code == 2
    assert run(ws, "search", "x", "--claim", "nope").exit_code == 2
    assert run(ws, "search", "x", "--limit", "0").exit_code == 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*'ab -"*()^:+{}[],.\'\\é', "OR", "AND", "NOT", "NEAR", " "]), max_size=20).map("".join))
def test_any_text_is_a_valid_fts5_query_or_a_usage_error(text):
    import sqlite3

    from evidence_cli.errors import UsageError
    from evidence_cli.store.reports import fts_query

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(t, tokenize='porter unicode61')")
    conn.execute("INSERT INTO f VALUES ('a b ab NOT AND OR')")
    try:
        query = fts_query(text)
    except UsageError:
        return
    conn.execute("SELECT rowid FROM f WHERE f MATCH ?", (query,)).fetchall()  # must not raise
