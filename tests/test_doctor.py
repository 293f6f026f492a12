"""`evidence doctor`: healthy, corrupt, foreign, newer and inconsistent caches; exit codes; no key shown."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.doctor import FAIL, OK, WARN, run_doctor
from evidence_cli.errors import ExitCode
from evidence_cli.store import integrity
from evidence_cli.store.db import open_store
from evidence_cli.workspace import Workspace
from tests.cache_helpers import TOPIC, make_workspace, populated_cache, raw_connect
from tests.conftest import EVIDENCE, REPO, eutils_env

ENV = {"NCBI_EMAIL": "doctor-test@example.org"}


def doctor(root, env=ENV):
    return run_doctor(Workspace(root), offline=True, env=env)


def by_name(report):
    return {c.name: c for c in report.checks}


def cli(root, *args, env=None):
    runner = CliRunner()
    full_env = {"NCBI_EMAIL": "doctor-test@example.org", "NCBI_API_KEY": "", "EVIDENCE_EUTILS_URL": "", **(env or {})}
    return runner.invoke(app, ["--workspace", str(root), "doctor", *args], env=full_env)


def test_healthy_cache_passes_every_check(tmp_path):
    populated_cache(tmp_path)
    report = doctor(tmp_path)
    assert report.healthy and report.exit_code == ExitCode.OK
    checks = by_name(report)
    for name in ("integrity_check", "schema", "foreign-keys", "links-without-record", "tags-without-link",
                 "claim-tags-without-tags", "search-index", "unfinished-runs"):
        assert checks[name].status == OK, checks[name]
    run = checks[TOPIC]
    assert run.section == "runs" and run.status == OK
    assert "complete" in run.detail and "+30 new" in run.detail and "30 records cached" in run.detail


def test_fresh_workspace_is_healthy_with_warnings(tmp_path):
    make_workspace(tmp_path)
    report = doctor(tmp_path, env={})
    assert report.healthy
    checks = by_name(report)
    assert checks["file"].status == WARN and "no cache yet" in checks["file"].detail
    assert checks["NCBI_EMAIL"].status == WARN
    assert not (tmp_path / "cache" / "evidence.sqlite").exists()  # doctor does not create a cache


def test_api_key_is_reported_but_never_shown(tmp_path):
    populated_cache(tmp_path)
    key = "DOCTORKEY0123456789abcdef"
    result = cli(tmp_path, "--offline", "--format", "json", env={"NCBI_API_KEY": key})
    assert result.exit_code == 0, result.output
    assert key not in result.output and key[-4:] not in result.output
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["NCBI_API_KEY"]["detail"].startswith("set")
    facts = checks[TOPIC]["facts"]  # the last run, for scripts
    assert facts["outcome"] == "complete" and facts["records"] == 30 and facts["added"] == 30
    assert facts["last_complete_at"] == facts["finished_at"]


def test_garbage_cache_file_exits_cache(tmp_path):
    db = populated_cache(tmp_path)
    db.write_bytes(b"this is not a database at all\n" * 200)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    result = cli(tmp_path, "--offline")
    assert result.exit_code == ExitCode.CACHE
    assert "corrupt" in result.stderr and "Traceback" not in result.output
    assert db.read_bytes().startswith(b"this is not")  # doctor repairs nothing, deletes nothing


def test_damaged_pages_fail_integrity(tmp_path):
    db = populated_cache(tmp_path, n=400)
    size = db.stat().st_size
    page = 4096
    assert size > 20 * page
    with open(db, "r+b") as fh:  # scribble over a few pages in the middle, as a bad disk would
        for number in range(size // page // 2, size // page // 2 + 3):
            fh.seek(number * page)
            fh.write(b"\xde\xad\xbe\xef" * (page // 4))
    report = doctor(tmp_path)
    assert not report.healthy and report.exit_code == ExitCode.CACHE
    failed = [c for c in report.checks if c.status == FAIL]
    assert failed and all(c.exit_code == ExitCode.CACHE for c in failed)
    assert {c.section for c in failed} <= {"cache", "runs"}
    assert any(c.section == "cache" for c in failed)


def test_foreign_sqlite_file(tmp_path):
    make_workspace(tmp_path)
    db = tmp_path / "cache" / "evidence.sqlite"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    conn.commit()
    conn.close()
    result = cli(tmp_path, "--offline")
    assert result.exit_code == ExitCode.CACHE
    assert "not an evidence cache" in result.stderr
    assert [r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")] == ["photos"]


def test_cache_from_a_newer_version(tmp_path):
    db = populated_cache(tmp_path)
    conn = raw_connect(db)
    conn.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', datetime('now'))")
    conn.close()
    report = doctor(tmp_path)
    assert report.exit_code == ExitCode.CACHE
    assert "newer version" in by_name(report)["file"].detail


@pytest.mark.parametrize(
    ("damage", "check"),
    [
        ("DELETE FROM articles WHERE pmid = '1003'", "links-without-record"),
        ("DELETE FROM topic_articles WHERE pmid = '1004'", "tags-without-link"),
        ("DELETE FROM tags WHERE pmid = '1005'", "claim-tags-without-tags"),
        ("DELETE FROM runs", "run-changes-without-run"),
        # Remove a record's words from the search index behind the triggers' back.
        (("INSERT INTO article_fts(article_fts, rowid, title, abstract_text) "
          "SELECT 'delete', rowid, title, abstract_text FROM articles WHERE pmid = '1006'"), "search-index"),
    ],
)
def test_inconsistent_cache_names_the_broken_rule(tmp_path, damage, check):
    db = populated_cache(tmp_path)
    conn = raw_connect(db)
    conn.execute(damage)
    conn.close()
    report = doctor(tmp_path)
    assert report.exit_code == ExitCode.CACHE
    assert by_name(report)[check].status == FAIL, report.checks
    result = cli(tmp_path, "--offline", "--format", "json")
    assert result.exit_code == ExitCode.CACHE
    assert json.loads(result.stdout)["healthy"] is False


def test_killed_run_is_a_warning_not_a_failure(tmp_path):
    populated_cache(tmp_path, outcome="complete")
    with open_store(tmp_path / "cache" / "evidence.sqlite") as store:
        from evidence_cli.store.runs import start_run

        start_run(store, TOPIC, "incremental", query="q")  # never finished: as after kill -9
    report = doctor(tmp_path)
    assert report.healthy
    checks = by_name(report)
    assert checks["unfinished-runs"].status == WARN
    assert checks[TOPIC].status == WARN and "running" in checks[TOPIC].detail


def test_malformed_topic_is_a_usage_failure(tmp_path):
    populated_cache(tmp_path)
    (tmp_path / "queries" / "broken.toml").write_text('title = "x"\nquery = \n')
    report = doctor(tmp_path)
    assert report.exit_code == ExitCode.USAGE
    assert "line 2" in by_name(report)["topic broken"].detail
    # The cache is fine and still checked.
    assert by_name(report)["integrity_check"].status == OK


def test_integrity_module_on_a_healthy_store(tmp_path):
    db = populated_cache(tmp_path)
    with open_store(db) as store:
        findings = integrity.check_store(store, quick=True)
    assert integrity.problems(findings) == []
    assert {f.check for f in findings} >= {"quick_check", "search-index", "duplicate-pmids"}


# ---- online: the E-utilities probe against the fake server ------------------------------------

def online(root, fake, **extra):
    env = {**eutils_env(fake), **extra}
    return run_doctor(Workspace(root), offline=False, env=env)


def test_online_probe_counts_each_topic(tmp_path, make_fake):
    fake = make_fake(40)
    populated_cache(tmp_path)
    report = online(tmp_path, fake)
    assert report.healthy, report.checks
    probe = by_name(report)[f"query {TOPIC}"]
    assert probe.section == "network" and probe.status == OK and "40 records match" in probe.detail
    searches = fake.requests("esearch")
    assert len(searches) == 1 and searches[0].params["retmax"] == "0"
    assert not fake.requests("efetch")


def test_online_rejected_query_exits_query(tmp_path, make_fake):
    fake = make_fake(10)
    fake.unknown_phrases.add("ketamine")
    make_workspace(tmp_path)
    report = online(tmp_path, fake)
    assert report.exit_code == ExitCode.QUERY
    assert "PhraseNotFound" in by_name(report)[f"query {TOPIC}"].detail


def test_online_unreachable_exits_network(tmp_path, make_fake, refused_port):
    fake = make_fake(1)
    dead = refused_port  # a port nobody listens on
    make_workspace(tmp_path)
    report = online(tmp_path, fake, EVIDENCE_EUTILS_URL=f"http://127.0.0.1:{dead}/entrez/eutils/",
                    EVIDENCE_RETRY_SECONDS="0.5")
    assert report.exit_code == ExitCode.NETWORK
    assert by_name(report)[f"query {TOPIC}"].status == FAIL


def test_online_rejected_api_key_is_named_not_shown(tmp_path, make_fake):
    fake = make_fake(5)
    fake.valid_api_keys = {"the-only-good-key"}
    populated_cache(tmp_path)
    key = "REJECTEDKEY-doctor-5f3a9c"
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "doctor"],
                                env={**eutils_env(fake), "NCBI_API_KEY": key})
    assert result.exit_code == ExitCode.QUERY
    assert "API key" in result.stderr
    assert key not in result.output


def test_reports_a_refresh_in_progress(tmp_path):
    from evidence_cli.refresh import refresh_lock

    populated_cache(tmp_path)
    with refresh_lock(Workspace(tmp_path)):  # as a running refresh in another process holds it
        out = subprocess.run(
            [*EVIDENCE, "--workspace", str(tmp_path), "doctor", "--offline", "--format", "json"],
            capture_output=True, text=True, env={**os.environ, **ENV, "PYTHONPATH": str(REPO)}, check=False,
        )
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert "running now" in checks["refresh lock"]["detail"]
    assert out.returncode == 0
