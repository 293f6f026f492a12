"""`evidence refresh` end to end against the fake E-utilities: completeness, increments, faults,
resume, the lock, exit codes and what the user sees."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.errors import ExitCode
from evidence_cli.refresh import refresh_lock
from evidence_cli.workspace import find_workspace
from tests.conftest import needs_shared


def run(workspace: Path, *args: str):
    result = CliRunner().invoke(app, ["--workspace", str(workspace), "refresh", *args])
    return result


def cache(workspace: Path) -> sqlite3.Connection:
    return sqlite3.connect(workspace / "cache" / "evidence.sqlite")


def stored(workspace: Path, topic: str = "ketamine") -> set[str]:
    with cache(workspace) as db:
        return {r[0] for r in db.execute("SELECT pmid FROM topic_articles WHERE topic = ?", (topic,))}


def last_run(workspace: Path):
    with cache(workspace) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()


def efetched_ids(fake) -> list[str]:
    return [i for r in fake.requests("efetch") if r.status == 200 and not r.fault for i in r.ids]


def test_first_refresh_stores_every_record_with_the_fewest_requests(make_fake, use_fake, workspace):
    fake = make_fake(1_234)
    use_fake(fake)
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    assert "ketamine: 1,234 new, 0 updated, 1,234 total" in result.stderr
    assert len(fake.requests("esearch")) == 1 and len(fake.requests("efetch")) == math.ceil(1_234 / 500)
    row = last_run(workspace)
    assert (row["outcome"], row["kind"], row["count"], row["added"], row["requests"]) == ("complete", "full", 1234, 1234, 4)
    assert row["query_translation"].startswith("ketamine AND depression")


def test_more_than_10000_records(make_fake, use_fake, workspace):
    fake = make_fake(12_000, rate_limit=None)
    use_fake(fake)
    result = run(workspace, "--quiet")
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    searches = len(fake.requests("esearch"))
    assert len(fake.requests("efetch")) == math.ceil(12_000 / 500) and searches <= 10
    assert result.stderr == ""


def test_immediate_second_refresh_makes_no_efetch(make_fake, use_fake, workspace):
    fake = make_fake(700)
    use_fake(fake)
    assert run(workspace).exit_code == 0
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert fake.requests("efetch") == []
    assert 1 <= len(fake.requests("esearch")) <= 3
    assert "0 new, 0 updated, 700 total (incremental)" in result.stderr


def test_incremental_refresh_fetches_only_added_and_modified(make_fake, use_fake, workspace):
    fake = make_fake(800)
    use_fake(fake)
    assert run(workspace).exit_code == 0
    new = fake.add_records(7)
    changed = list(fake.records)[:3]
    fake.modify(changed)
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert sorted(efetched_ids(fake)) == sorted(new + changed)
    assert len(fake.requests("efetch")) == 1
    assert "7 new, 3 updated, 807 total" in result.stderr
    windows = {r.params.get("datetype") for r in fake.requests("esearch")}
    assert windows == {None, "edat", "mdat"}
    row = last_run(workspace)
    assert (row["kind"], row["added"], row["updated"], row["count"]) == ("incremental", 7, 3, 807)
    with cache(workspace) as db:
        revised = db.execute("SELECT date_revised FROM articles WHERE pmid = ?", (changed[0],)).fetchone()[0]
    assert revised == fake.today.isoformat()


def test_a_changed_query_searches_everything_again_but_fetches_only_what_is_new(make_fake, use_fake, workspace):
    fake = make_fake(600)
    fake.matcher = lambda term, rec: "esketamine" in term or int(rec.pmid) % 2 == 0
    use_fake(fake)
    assert run(workspace).exit_code == 0
    assert len(stored(workspace)) == 300
    topic = workspace / "queries" / "ketamine.toml"
    topic.write_text(topic.read_text().replace('query = "ketamine AND depression"',
                                               'query = "(ketamine OR esketamine) AND depression"'))
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    assert len(efetched_ids(fake)) == 300  # the 300 the old query did not match, none of the cached
    assert last_run(workspace)["kind"] == "full"


def test_full_refetches_everything(make_fake, use_fake, workspace):
    fake = make_fake(600)
    use_fake(fake)
    assert run(workspace).exit_code == 0
    fake.clear_log()
    result = run(workspace, "--full")
    assert result.exit_code == 0
    assert sorted(efetched_ids(fake)) == sorted(fake.records)
    assert "0 new, 0 updated, 600 total" in result.stderr


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "reset", "truncate", "slow", "error200",
                                  "session_expired", "fewer"])
def test_refresh_survives_each_fault(make_fake, use_fake, workspace, kind):
    fake = make_fake(1_100)
    use_fake(fake)
    fake.inject(kind, times=2, utility="efetch", after=1, **({"seconds": 1.5} if kind == "slow" else {}))
    fake.inject("503", times=1, utility="esearch")
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    assert last_run(workspace)["outcome"] == "complete"


def test_records_efetch_never_returns_make_an_incomplete_exit(make_fake, use_fake, workspace):
    fake = make_fake(600)
    use_fake(fake)
    fake.inject("fewer", times=None, utility="efetch", drop=4)
    result = run(workspace)
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "did not return 8 of the 600 records" in result.stderr  # 4 of each of the two batches
    assert last_run(workspace)["outcome"] == "incomplete"
    assert len(stored(workspace)) == 592
    fake.clear_faults()
    fake.clear_log()
    assert run(workspace).exit_code == 0  # still a first run: only the 8 missing are fetched
    assert len(efetched_ids(fake)) == 8 and stored(workspace) == set(fake.records)


def test_resume_after_an_aborted_run_fetches_only_what_is_missing(make_fake, use_fake, workspace):
    fake = make_fake(2_600)
    use_fake(fake)
    fake.inject("503", times=None, utility="efetch", after=3)
    result = run(workspace)
    assert result.exit_code == ExitCode.NETWORK, result.output
    assert "kept failing" in result.stderr
    first = stored(workspace)
    assert len(first) == 1_500  # three batches of 500, each in its own transaction
    assert last_run(workspace)["outcome"] == "failed"
    fake.clear_faults()
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    again = efetched_ids(fake)
    assert not set(again) & first and len(again) == 1_100
    assert stored(workspace) == set(fake.records)
    assert last_run(workspace)["kind"] == "full"


def test_unknown_phrase_exits_query_and_says_which(make_fake, use_fake, workspace):
    fake = make_fake(5)
    fake.unknown_phrases.add("depression")
    use_fake(fake)
    result = run(workspace)
    assert result.exit_code == ExitCode.QUERY
    assert "PhraseNotFound: depression" in result.stderr
    assert last_run(workspace)["outcome"] == "failed"


def test_rejected_api_key_exits_query_and_is_never_shown(make_fake, use_fake, workspace):
    fake = make_fake(5)
    fake.valid_api_keys = {"right"}
    use_fake(fake, NCBI_API_KEY="WRONG-KEY-4242")
    result = run(workspace)
    assert result.exit_code == ExitCode.QUERY
    assert "API key" in result.stderr and "WRONG-KEY" not in result.output
    with cache(workspace) as db:
        assert not any("WRONG-KEY" in str(v) for row in db.execute("SELECT * FROM runs") for v in row)


def test_network_failure_message_never_holds_the_key(make_fake, use_fake, workspace):
    fake = make_fake(5)
    fake.inject("500", times=None)
    use_fake(fake, NCBI_API_KEY="SECRET-KEY-77", EVIDENCE_RETRY_SECONDS="0.3")
    result = run(workspace)
    assert result.exit_code == ExitCode.NETWORK
    assert "SECRET" not in result.output
    assert "SECRET" not in (last_run(workspace)["error"] or "")


def test_a_second_refresh_of_the_workspace_exits_locked(make_fake, use_fake, workspace):
    fake = make_fake(5)
    use_fake(fake)
    with refresh_lock(find_workspace(workspace)):
        result = run(workspace)
    assert result.exit_code == ExitCode.LOCKED
    assert "another `evidence refresh`" in result.stderr and "--wait" in result.stderr
    assert fake.requests() == []


def test_unknown_topic_is_a_usage_error(workspace):
    result = run(workspace, "nope")
    assert result.exit_code == ExitCode.USAGE and "unknown topic 'nope'" in result.stderr


def test_every_topic_by_default_and_records_shared_between_topics(make_fake, use_fake, workspace):
    fake = make_fake(300)
    use_fake(fake)
    (workspace / "queries" / "other.toml").write_text('title = "Other"\nquery = "ketamine"\n', encoding="utf-8")
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert "ketamine: 300 new" in result.stderr and "other: 300 new" in result.stderr
    assert stored(workspace, "other") == set(fake.records)
    assert len(fake.requests("efetch")) == 1  # linked from the cache, not fetched again
    with cache(workspace) as db:
        assert db.execute("SELECT count(*) FROM tags WHERE topic = 'other'").fetchone()[0] == 300


@needs_shared
def test_refresh_of_the_real_samples_and_corpus(make_fake, use_fake, workspace):
    fake = make_fake(source="samples")
    use_fake(fake)
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    with cache(workspace) as db:
        title = db.execute("SELECT title FROM articles WHERE pmid = '40326726'").fetchone()[0]
    assert title.startswith("PCA ketamine-morphine versus PCA morphine")
