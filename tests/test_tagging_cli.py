"""`evidence tag` (JSON Lines in and out) and `evidence retag` (the cache), end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.errors import ExitCode
from evidence_cli.store.db import open_store
from evidence_cli.store.tags import load_tagging
from evidence_cli.tagging import TAGGER_VERSION
from tests.conftest import shipped_topic_workspace

REPO = Path(__file__).resolve().parents[1]
TOPIC = "ketamine-depression"
RECORDS = [
    {"id": "a", "pmid": "1", "title": "Ketamine for treatment-resistant depression: a randomized trial",
     "abstract": "METHODS: Sixty adults were randomized to ketamine or midazolam.\n"
                 "RESULTS: Ketamine reduced depression scores within 24 hours."},
    {"id": "b", "title": "Ketamine for emergence agitation", "abstract": "Children received ketamine after surgery."},
    {"id": "c", "title": "Oral ketamine", "abstract": "Ketamine produced a rapid antidepressant response.",
     "publication_types": ["Case Reports"], "mesh": ["Humans"]},
]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace holding the shipped ketamine topic only."""
    return shipped_topic_workspace(tmp_path, TOPIC)


def run(ws: Path, *args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(app, ["--workspace", str(ws), *args], input=stdin, catch_exceptions=False)


def jsonl(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_tag_writes_one_line_per_record_in_order(ws, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(RECORDS), encoding="utf-8")
    result = run(ws, "tag", str(source))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    first = lines[0]
    assert first["pmid"] == "1" and first["design"] == "rct" and first["sample_size"] == 60
    assert first["claims"]["rapid_onset"] == {
        "stance": "supports", "evidence": "Ketamine reduced depression scores within 24 hours.", "section": "RESULTS"}
    assert first["claims"]["trd"]["stance"] == "supports"
    assert lines[1]["claims"] == {} and lines[1]["pmid"] is None
    assert lines[2]["design"] == "case-report" and lines[2]["sample_size"] == 1


def test_tag_reads_stdin_with_the_topic_named(ws):
    result = run(ws, "tag", "--topic", TOPIC, "-", stdin=jsonl(RECORDS[:1]))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["id"] == "a"


def test_tag_malformed_line_names_the_line(ws):
    result = run(ws, "tag", "-", stdin=jsonl(RECORDS[:1]) + "{not json\n")
    assert result.exit_code == ExitCode.INPUT
    assert "line 2" in result.stderr and "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_tag_rejects_non_utf8_and_wrong_types(ws):
    bad_bytes = run(ws, "tag", "-", stdin=b'{"title": "caf\xe9", "abstract": ""}\n')
    assert bad_bytes.exit_code == ExitCode.INPUT and "line 1: not UTF-8" in bad_bytes.stderr
    not_object = run(ws, "tag", "-", stdin="[1, 2]\n")
    assert not_object.exit_code == ExitCode.INPUT and "expected a JSON object" in not_object.stderr
    bad_field = run(ws, "tag", "-", stdin='{"title": "t", "abstract": 5}\n')
    assert bad_field.exit_code == ExitCode.INPUT and "`abstract` must be a string" in bad_field.stderr


def test_tag_missing_file_and_unknown_topic(ws, tmp_path):
    missing = run(ws, "tag", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == ExitCode.INPUT
    unknown = run(ws, "tag", "--topic", "nope", "-", stdin="")
    assert unknown.exit_code == ExitCode.USAGE


def test_tag_broken_rule_is_a_usage_error(ws):
    path = ws / "queries" / f"{TOPIC}.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[claims.extra]\nlabel = 'X'\npatterns = ['(']\n", encoding="utf-8")
    result = run(ws, "tag", "-", stdin=jsonl(RECORDS[:1]))
    assert result.exit_code == ExitCode.USAGE
    assert "claims.extra.patterns[1]" in result.stderr


XML = ("<PubmedArticleSet>" + "".join(
    f'<PubmedArticle><MedlineCitation Status="MEDLINE"><PMID Version="1">{pmid}</PMID>'
    f"<Article><Journal><JournalIssue><PubDate><Year>2024</Year></PubDate></JournalIssue>"
    f"<Title>Invented Journal</Title></Journal><ArticleTitle>Invented ketamine study {pmid}</ArticleTitle>"
    f'<Abstract><AbstractText Label="RESULTS" NlmCategory="RESULTS">Ketamine reduced suicidal ideation '
    f"within 24 hours in {pmid} adults.</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>"
    for pmid in ("101", "102", "103")) + "</PubmedArticleSet>")


def test_retag_recomputes_every_cached_record(ws, tmp_path):
    source = tmp_path / "records.xml"
    source.write_text(XML, encoding="utf-8")
    assert run(ws, "import", str(source)).exit_code == 0
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:  # stale tags, as an older tagger would have left them
        with store.transaction() as conn:
            conn.execute("DELETE FROM claim_tags")
            conn.execute("UPDATE tags SET design = 'other', tagger_version = 'old'")
    finally:
        store.close()
    result = run(ws, "retag")
    assert result.exit_code == 0, result.output
    assert "retagged 3 records" in result.stderr
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        tagging = load_tagging(store, TOPIC, "102")
        versions = {r[0] for r in store.conn.execute("SELECT tagger_version FROM tags")}
    finally:
        store.close()
    assert tagging is not None and tagging.claim("suicidality").stance == "supports"
    assert tagging.sample_size == 102
    assert len(versions) == 1 and versions.pop().startswith(TAGGER_VERSION + "+")  # tagger and rules


def test_retag_without_cache_says_so(ws):
    result = run(ws, "retag")
    assert result.exit_code == ExitCode.CACHE
    assert "no cache" in result.stderr


def test_tag_outside_a_workspace_uses_the_default_topic(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(empty, "tag", "-", stdin=jsonl(RECORDS[:1]))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["claims"]["rapid_onset"]["stance"] == "supports"
