"""kill -9 at random moments of `evidence refresh`, twenty times over: the cache always opens,
passes SQLite's integrity check and the project's consistency checks, and a final refresh
completes with no duplicate and no lost record.

The moments are seeded random delays scaled to how long one refresh takes on this machine
(measured first), so kills land in start-up, searching, fetching, tagging and storing alike.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest

from evidence_cli.store import integrity
from evidence_cli.store.db import open_store
from tests.cache_helpers import TOPIC, alive, descendants, kill_left_behind, make_workspace, pubmed_xml, quiet
from tests.conftest import EVIDENCE, REPO, subprocess_env

RECORDS = 1200  # three efetch batches: kills land between and inside them
ROUNDS = 20
SEED = 9


def run_refresh(root, env, *args) -> subprocess.Popen:
    return run_evidence(root, env, "refresh", *args)


def run_evidence(root, env, *args) -> subprocess.Popen:
    # Output to a file, not a pipe: a pipe would also wait for any worker process left behind.
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the test's temp files
    proc = subprocess.Popen([*EVIDENCE, "--workspace", str(root), "--quiet", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    proc.err_file = err  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for the process; its stderr."""
    proc.wait(timeout=timeout)
    proc.err_file.seek(0)  # type: ignore[attr-defined]
    return proc.err_file.read().decode("utf-8", "replace")  # type: ignore[attr-defined]


def check_cache(db) -> None:
    """What must hold after every kill."""
    with open_store(db, create=False) as store:  # opens (and finishes any interrupted migration)
        assert store.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        failed = integrity.problems(integrity.check_store(store))
        assert failed == [], failed
        rows = store.conn.execute("SELECT count(*), count(DISTINCT pmid) FROM topic_articles WHERE topic = ?",
                                  (TOPIC,)).fetchone()
        assert rows[0] == rows[1]


def test_kill9_twenty_times_then_complete(tmp_path, make_fake):
    fake = quiet(make_fake(RECORDS, rate_limit=None))
    env = subprocess_env(fake)
    rng = random.Random(SEED)

    # How long one whole refresh takes here (a scratch workspace): the kill window.
    scratch = make_workspace(tmp_path / "scratch")
    started = time.monotonic()
    proc = run_refresh(scratch, env)
    err = finish(proc)
    assert proc.returncode == 0, err
    window = time.monotonic() - started

    root = make_workspace(tmp_path / "ws")
    db = root / "cache" / "evidence.sqlite"
    killed = 0
    for round_ in range(ROUNDS):
        if round_ % 5 == 4:  # NCBI moves on between cron runs: new and revised records
            fake.advance()  # a day later (refresh leaves revisions dated its own day for the next day)
            fake.add_records(40)
            fake.modify(rng.sample(sorted(fake.records), 25))
        # Mostly --full (a whole run's work to interrupt); every third an ordinary run, which
        # resumes an interrupted first run or fetches the changes since the last complete one.
        args = () if round_ % 3 == 0 else ("--full",)
        proc = run_refresh(root, env, *args)
        time.sleep(rng.uniform(0.0, window))
        below = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        err = finish(proc, 60)
        kill_left_behind(below)  # test_kill9_leaves_no_process_behind asserts they go by themselves
        if proc.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert proc.returncode == 0, err
        if db.exists():
            check_cache(db)
    print(f"window {window:.2f} s, killed {killed} of {ROUNDS}")
    assert killed >= ROUNDS // 4, f"only {killed} of {ROUNDS} refreshes were still running when killed"

    proc = run_refresh(root, env)
    err = finish(proc)
    assert proc.returncode == 0, err
    check_cache(db)
    conn = sqlite3.connect(db)
    cached = [r[0] for r in conn.execute("SELECT pmid FROM topic_articles WHERE topic = ?", (TOPIC,))]
    assert len(cached) == len(set(cached))  # no duplicate
    assert set(cached) == set(fake.records)  # no lost record, nothing extra
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(fake.records)
    # Every record's tags are there (a kill never leaves a record stored but untagged).
    assert conn.execute("SELECT count(*) FROM tags WHERE topic = ?", (TOPIC,)).fetchone()[0] == len(fake.records)
    # The killed runs are in the run log as interrupted; none is left 'running'.
    outcomes = dict(conn.execute("SELECT outcome, count(*) FROM runs WHERE topic = ? GROUP BY outcome", (TOPIC,)))
    assert "running" not in outcomes
    assert outcomes.get("interrupted", 0) >= 1 and outcomes["complete"] >= 1
    # Revised records were picked up: the cache holds each record's latest revision.
    revised = {p: r.mdat.isoformat() for p, r in fake.records.items()}
    stored = dict(conn.execute("SELECT pmid, date_revised FROM articles"))
    stale = [p for p, day in revised.items() if stored.get(p) != day]
    assert stale == []
    conn.close()


def test_kill_between_creating_the_migration_table_and_the_first_migration(tmp_path):
    """The narrowest window of a first run: `_migrations` exists, nothing else, file not yet marked."""
    db = tmp_path / "cache" / "evidence.sqlite"
    db.parent.mkdir()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.close()
    with open_store(db, create=False) as store:  # opens as ours, and migrates
        check_cache(db)
        assert store.conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] >= 1


@pytest.mark.parametrize("command", ["refresh", "import"])
def test_kill9_leaves_no_process_behind(tmp_path, make_fake, command):
    """Big refreshes and imports tag in worker processes: killed with their parent, at any moment
    of their start-up, they must end too (a cron job killed every night must not pile them up)."""
    fake = quiet(make_fake(RECORDS, rate_limit=None))
    env = subprocess_env(fake, EVIDENCE_WORKERS="2")
    source = tmp_path / "records.xml"
    source.write_bytes(pubmed_xml([str(7000 + i) for i in range(RECORDS)]))
    left: list[int] = []
    for attempt in range(3):
        root = make_workspace(tmp_path / f"ws{attempt}")
        args = ["--full"] if command == "refresh" else [str(source)]
        proc = run_refresh(root, env, *args) if command == "refresh" else run_evidence(root, env, "import", *args)
        deadline = time.monotonic() + 60
        below: list[int] = []
        while proc.poll() is None and time.monotonic() < deadline:  # until its workers are starting
            below = descendants(proc.pid)
            if len(below) >= 2:
                break
            time.sleep(0.02)
        time.sleep(0.05 * attempt)  # early and later in their start-up
        below = descendants(proc.pid) or below
        proc.send_signal(signal.SIGKILL)
        finish(proc, 60)
        give_up = time.monotonic() + 15
        while alive(below) and time.monotonic() < give_up:
            time.sleep(0.1)
        left += alive(below)
        kill_left_behind(below)
    assert left == [], f"processes outlived the killed {command} by 15 s: {left}"


def test_kill9_during_import_then_import_again(tmp_path):
    """The same promise for `import`: whole batches or nothing, and a re-import completes."""
    source = tmp_path / "records.xml"
    pmids = [str(7000 + i) for i in range(RECORDS)]
    source.write_bytes(pubmed_xml(pmids))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = random.Random(SEED)
    scratch = make_workspace(tmp_path / "scratch")
    started = time.monotonic()
    proc = run_evidence(scratch, env, "import", str(source))
    assert proc.wait(timeout=300) == 0, finish(proc)
    window = time.monotonic() - started
    root = make_workspace(tmp_path / "ws")
    db = root / "cache" / "evidence.sqlite"
    for _ in range(5):
        proc = run_evidence(root, env, "import", str(source))
        time.sleep(rng.uniform(0.0, window))
        below = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        finish(proc, 60)
        kill_left_behind(below)
        if db.exists():
            check_cache(db)
            conn = sqlite3.connect(db)
            stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            tagged = conn.execute("SELECT count(*) FROM tags").fetchone()[0]
            conn.close()
            assert stored == tagged  # a record is never stored untagged
    proc = run_evidence(root, env, "import", str(source))
    err = finish(proc)
    assert proc.returncode == 0, err
    check_cache(db)
    conn = sqlite3.connect(db)
    assert sorted(r[0] for r in conn.execute("SELECT pmid FROM topic_articles")) == sorted(pmids)
    conn.close()
