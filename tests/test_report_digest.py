"""`evidence new` (the refresh digest), `evidence init` and `evidence topics`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.store import runs as store_runs
from evidence_cli.store.db import open_store
from tests.test_report_cache import TOPIC, build_workspace


def run(root: Path, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(root), *args], env={"NO_COLOR": "1"})


def test_new_lists_the_latest_runs_changes_per_claim(tmp_path):
    ws = build_workspace(tmp_path / "ws")
    data = json.loads(run(ws, "new", "--format", "json").stdout)
    assert data["nothing_changed"] is False and data["run"]["kind"] == "incremental"
    assert data["summary"].endswith("2 added, 1 updated, 1 deleted")
    by_claim = {c["id"]: c for c in data["claims"]}
    assert [(s["pmid"], s["change"], s["stance"]) for s in by_claim["cognition"]["studies"]] == [
        ("110", "added", "supports"), ("111", "added", "supports")]
    assert [(s["pmid"], s["change"]) for s in by_claim["trd"]["studies"]] == [("103", "updated")]
    assert by_claim["trd"]["verdict"].startswith("Contested")
    assert "nmda" not in by_claim and data["deleted"] == ["555"]
    text = run(ws, "new").stdout
    assert "110 (added; case report, 2016) supports: Sentence 110 about cognition" in text
    assert "Deleted from PubMed: 555" in text
    markdown = run(ws, "new", "--format", "markdown", "--limit", "1").stdout
    assert "[110](https://pubmed.ncbi.nlm.nih.gov/110/)" in markdown and "[111]" not in markdown
    assert "… and 1 more" in markdown


def test_new_says_when_nothing_changed_and_when_never_refreshed(tmp_path):
    ws = build_workspace(tmp_path / "ws", with_run=False)
    result = run(ws, "new")
    assert result.exit_code == 0 and "no refresh or import recorded yet" in result.stdout
    store = open_store(ws / "cache" / "evidence.sqlite")
    run_id = store_runs.start_run(store, TOPIC, "incremental")
    store_runs.finish_run(store, run_id, "complete")
    store.close()
    out = run(ws, "new").stdout
    assert f"nothing new: the latest incremental run (#{run_id}" in out and "changed no record" in out
    assert json.loads(run(ws, "new", "--format", "json").stdout)["nothing_changed"] is True


def test_init_makes_a_workspace_and_never_overwrites(tmp_path):
    target = tmp_path / "new-ws"
    result = CliRunner().invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    topic = target / "queries" / "ketamine-depression.toml"
    assert topic.is_file() and (target / "cache").is_dir()
    assert "[claims.rapid_onset]" in topic.read_text(encoding="utf-8")
    topic.write_text(topic.read_text(encoding="utf-8") + "\n# my edits\n", encoding="utf-8")
    again = CliRunner().invoke(app, ["init", str(target)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert topic.read_text(encoding="utf-8").endswith("# my edits\n")
    listed = run(target, "topics", "--format", "json")
    assert json.loads(listed.stdout)["topics"] == [{
        "id": "ketamine-depression", "title": "Ketamine for depression", "claims": 8, "records": 0,
        "error": None, "last_run": None}]
    assert not (target / "cache" / "evidence.sqlite").exists()  # listing topics creates no cache


def test_topics_with_counts_runs_and_a_broken_file(tmp_path):
    ws = build_workspace(tmp_path / "ws")
    (ws / "queries" / "broken.toml").write_text("title = \n", encoding="utf-8")
    data = json.loads(run(ws, "topics", "--format", "json").stdout)["topics"]
    assert [t["id"] for t in data] == ["broken", "demo"]
    assert "invalid TOML" in data[0]["error"]
    assert (data[1]["records"], data[1]["claims"], data[1]["last_run"]["outcome"]) == (12, 4, "complete")
    table = run(ws, "topics").stdout
    assert "demo" in table and "(incremental, complete)" in table


def test_init_without_the_shipped_topic_writes_a_valid_fallback(tmp_path, monkeypatch):
    from evidence_cli import scaffold
    from evidence_cli.tagging import compile_rules
    from evidence_cli.workspace import find_workspace

    monkeypatch.setattr(scaffold, "SHIPPED", tmp_path / "missing.toml")  # as in an installed wheel
    scaffold.init_workspace(tmp_path / "ws")
    topic = find_workspace(tmp_path / "ws").resolve_topic(None)
    assert topic.claim_ids == ("rapid_onset", "trd")
    compile_rules(topic)  # the tagger accepts its rules
