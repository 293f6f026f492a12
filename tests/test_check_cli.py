"""`evidence check` on the command line: JSON per INTERFACE.md, Markdown, --strict, stdin, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.errors import ExitCode
from evidence_cli.evidence import check as chk
from tests.test_check import BLOG_SECTIONS, HOOKS, blog_text, build_cache, make_workspace

DRAFT = """Connect with us

Rapid Onset of Relief:

Ketamine has proven remarkable success within hours for everyone.

Cognition:

It may improve cognitive function in some patients.

The clinic is open on Sundays.
"""


@pytest.fixture
def stand_in_tagger(monkeypatch):
    """These tests are about the command; test_check.py and the tagger's own tests cover matching."""
    monkeypatch.setattr(chk, "tagger_hooks", lambda topic: HOOKS)


def run(root: Path, *args: str, stdin: bytes | str | None = None):
    return CliRunner().invoke(app, ["--workspace", str(root), "check", *args], input=stdin, env={"NO_COLOR": "1"})


def write(root: Path, text: str | bytes, name: str = "draft.md") -> str:
    path = root / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def test_json_has_the_interface_shape(tmp_path, stand_in_tagger):
    root = build_cache(tmp_path / "ws")
    result = run(root, write(tmp_path, DRAFT), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["topic"] == "ketamine-depression"
    assert [s["text"] for s in data["sentences"]] == [
        "Ketamine has proven remarkable success within hours for everyone.",
        "It may improve cognitive function in some patients.",
    ]
    for sentence in data["sentences"]:
        assert isinstance(sentence["text"], str)
        for claim in sentence["claims"]:
            assert isinstance(claim["id"], str) and isinstance(claim["verdict"], str)
            assert all(isinstance(p, str) for p in claim["citations"])
    first, second = data["sentences"]
    assert [c["id"] for c in first["claims"]] == ["rapid_onset"]
    rapid = first["claims"][0]
    assert rapid["citations"] == ["9001", "9003", "9002"] and rapid["verdict"].startswith("Strong")
    assert rapid["overstatement"] is False  # certainty, but backed by strong evidence
    cognition = second["claims"][0]
    assert cognition["id"] == "cognition" and cognition["verdict"].startswith("Contested")
    assert cognition["contradicting"]["pmid"] == "9502" and cognition["overstatement"] is False  # hedged
    assert data["cache"]["stale"] is False and data["failing_claims"] == ["cognition"]


def test_strict_fails_on_contested_and_passes_otherwise(tmp_path, stand_in_tagger):
    root = build_cache(tmp_path / "ws")
    failing = run(root, write(tmp_path, DRAFT), "--strict")
    assert failing.exit_code == ExitCode.CHECK_FAILED
    assert "cognition" in failing.stderr and failing.stderr.count("\n") == 1
    assert "Cognition (cognition)" in failing.stdout  # the report is still printed
    passing = run(root, write(tmp_path, "Rapid onset of relief is well documented.\n", "ok.txt"), "--strict")
    assert passing.exit_code == 0, passing.output


def test_markdown_and_terminal_reports(tmp_path, stand_in_tagger):
    root = build_cache(tmp_path / "ws")
    draft = write(tmp_path, "In treatment-resistant depression it has demonstrated remarkable success.\n")
    markdown = run(root, draft, "--format", "markdown")
    assert markdown.exit_code == 0
    assert "**Overstated:**" in markdown.stdout and "PMID 9101" in markdown.stdout
    assert "https://pubmed.ncbi.nlm.nih.gov/9101/" in markdown.stdout and "9103" not in markdown.stdout
    text = run(root, draft)
    assert text.exit_code == 0 and "OVERSTATED" in text.stdout and "\x1b[" not in text.stdout
    assert "cite: Zeta Z 2020, J Invented, observational, N=80, PMID 9101" in text.stdout


def test_stdin_and_bad_input(tmp_path, stand_in_tagger):
    root = build_cache(tmp_path / "ws")
    piped = run(root, "-", "--format", "json", stdin="Suicidal ideation falls after ketamine.\n")
    assert piped.exit_code == 0 and json.loads(piped.stdout)["sentences"][0]["claims"][0]["id"] == "suicidality"
    for data in (b"\x00\x01binary\xff", "caf\xe9".encode("latin-1")):
        bad = run(root, write(tmp_path, data, "bad.bin"))
        assert bad.exit_code == ExitCode.INPUT and bad.stdout == ""
        assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    missing = run(root, str(tmp_path / "nope.txt"))
    assert missing.exit_code == ExitCode.INPUT and "no such file" in missing.stderr
    assert run(root, "-", "--format", "yaml", stdin="x").exit_code == ExitCode.USAGE


def test_stale_and_empty_cache_warn_with_the_refresh_command(tmp_path, stand_in_tagger):
    stale = build_cache(tmp_path / "stale", refreshed_days_ago=45)
    result = run(stale, write(tmp_path, DRAFT), "--format", "json")
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "evidence refresh ketamine-depression" in result.stderr
    assert json.loads(result.stdout)["cache"]["stale"] is True
    assert run(stale, write(tmp_path, DRAFT), "--max-age", "60").stderr == ""
    empty = make_workspace(tmp_path / "empty")
    result = run(empty, write(tmp_path, DRAFT), "--format", "json", "--strict")
    assert result.exit_code == ExitCode.CHECK_FAILED
    assert "evidence refresh ketamine-depression" in result.stderr
    data = json.loads(result.stdout)
    assert data["cache"]["records"] == 0 and data["cache"]["refresh_command"] == "evidence refresh ketamine-depression"
    assert not (empty / "cache").exists()


def test_blog_post_end_to_end_with_the_real_tagger(tmp_path):
    root = build_cache(tmp_path / "ws")
    result = run(root, write(tmp_path, blog_text(), "blog.txt"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_heading: dict[str, set[str]] = {}
    for sentence in data["sentences"]:
        by_heading.setdefault(sentence["heading"], set()).update(c["id"] for c in sentence["claims"])
        assert not any(chrome in sentence["text"] for chrome in ("Connect with us", "Avatar photo", "Health & Fitness"))
    for heading, claim_id in BLOG_SECTIONS.items():
        assert claim_id in by_heading.get(heading, set()), (heading, by_heading.get(heading))
    flagged = [(s["text"], c["id"]) for s in data["sentences"] for c in s["claims"] if c["overstatement"]]
    assert any("remarkable success" in text and claim == "trd" for text, claim in flagged), flagged
    assert not any("may lead to a significant reduction" in text for text, _ in flagged)  # hedged
    # "rapid onset and short duration" of the anaesthetic: no depression context, no claim.
    assert "Anesthetic Origins" not in by_heading
