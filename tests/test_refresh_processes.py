"""Refresh as cron runs it: separate processes sharing NCBI's real 3 requests/s, the workspace
lock between processes, and kill -9 in the middle of a run followed by a resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from evidence_cli.errors import ExitCode
from tests.conftest import EVIDENCE, REPO, subprocess_env
from tests.fake_eutils import max_in_window

CLIENT_SCRIPT = """
import sys
from pathlib import Path
from evidence_cli.eutils.client import ClientConfig, EutilsClient
config = ClientConfig.from_env(Path(sys.argv[1]))
with EutilsClient(config) as client:
    for _ in range(int(sys.argv[2])):
        client.esearch("ketamine", retmax=0, usehistory=False)
"""


def evidence(workspace: Path, fake, *args: str, rate: float | None = None, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*EVIDENCE, "--workspace", str(workspace), "refresh", *args],
        env=subprocess_env(fake, rate=rate, **env), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_processes_share_the_real_rate_limit_through_the_cache(make_fake, tmp_path):
    fake = make_fake(1, rate_limit=3)  # NCBI's limit: a 4th request inside a second gets a 429
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, str(cache), "6"], cwd=REPO,
                         env=subprocess_env(fake, rate=None), stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    log = fake.requests()
    assert len(log) == 12 and all(r.status == 200 for r in log)
    assert max_in_window(r.time for r in log) <= 3


def test_two_refreshes_of_one_workspace_wait_and_stay_within_the_rate(make_fake, workspace):
    fake = make_fake(1_200, rate_limit=3)
    first = evidence(workspace, fake, "--wait")
    second = evidence(workspace, fake, "--wait")
    for proc in (first, second):
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    log = fake.requests()
    assert all(r.status == 200 for r in log)
    assert max_in_window(r.time for r in log) <= 3
    assert len(fake.requests("efetch")) == 3  # the later of the two found nothing new to fetch


def test_second_refresh_without_wait_exits_locked(make_fake, workspace):
    fake = make_fake(2_000)
    fake.inject("hold", utility="efetch")  # the first refresh runs until the second has exited
    first = evidence(workspace, fake, rate=200, EVIDENCE_TIMEOUT="300")
    deadline = time.monotonic() + 60
    while not fake.requests("efetch") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.requests("efetch"), "the first refresh never asked for records"
    second = evidence(workspace, fake, rate=200)
    _out, err = second.communicate(timeout=120)
    fake.release()
    assert second.returncode == ExitCode.LOCKED, err
    assert "another `evidence refresh`" in err
    _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the refresh's parse-and-tag workers), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def count_stored(workspace: Path) -> int:
    try:
        with sqlite3.connect(f"file:{workspace / 'cache' / 'evidence.sqlite'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM topic_articles").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def stored(workspace: Path) -> set[str]:
    with sqlite3.connect(workspace / "cache" / "evidence.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {r[0] for r in db.execute("SELECT pmid FROM topic_articles")}


def test_kill_9_mid_refresh_then_resume_without_refetching(make_fake, workspace):
    fake = make_fake(3_000)
    fake.inject("slow", times=None, utility="efetch", seconds=0.2)  # time to kill between batches
    for _ in range(2):
        # Killed once it has stored a batch of its own (however many the last one left): it has
        # then surely started its run, and the resume below has two interrupted runs to find.
        at_least = count_stored(workspace) + 1
        proc = evidence(workspace, fake, rate=200)
        deadline = time.monotonic() + 120
        while count_stored(workspace) < at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the refresh ended before it could be killed"
        assert count_stored(workspace) >= at_least, "the refresh stored nothing in 120 s"
        children = children_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "worker processes outlived kill -9"
    before = stored(workspace)
    assert 0 < len(before) < 3_000
    fake.clear_log()
    proc = evidence(workspace, fake, rate=200)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    fetched = [i for r in fake.requests("efetch") for i in r.ids]
    assert not set(fetched) & before
    assert stored(workspace) == set(fake.records)
    with sqlite3.connect(workspace / "cache" / "evidence.sqlite") as db:
        outcomes = [r[0] for r in db.execute("SELECT outcome FROM runs ORDER BY id")]
    assert outcomes == ["interrupted", "interrupted", "complete"]


def test_a_bad_claim_rule_is_one_line_with_workers_and_without(make_fake, workspace):
    """Workers compile the rules as they start: a rule that does not compile must still end the
    run as the one-line topic error, not a broken pool (and without workers, before any efetch)."""
    topic = workspace / "queries" / "ketamine.toml"
    topic.write_text(topic.read_text(encoding="utf-8") + "\n[claims.broken]\nlabel = \"Broken\"\npatterns = ['(unclosed']\n",
                     encoding="utf-8")
    fake = make_fake(1_600)
    for workers in ("2", "0"):
        fake.clear_log()
        proc = evidence(workspace, fake, EVIDENCE_WORKERS=workers)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == ExitCode.USAGE, err
        message = (f"error: ketamine: {topic}: claims.broken.patterns[1]: bad regex '(unclosed': "
                   "missing ), unterminated subpattern at position 0")
        assert err.strip().splitlines() == [message]
        assert count_stored(workspace) == 0
    assert [r.utility for r in fake.requests()] == ["esearch"]  # without workers: no efetch
