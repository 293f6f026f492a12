"""Two processes on one workspace: a second refresh exits LOCKED (or waits with --wait), readers
and an import run alongside, nothing is corrupted, and together they keep NCBI's rate limit.
Two workspaces of one user refreshing at once keep it together too.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

import pytest

from evidence_cli.errors import ExitCode
from evidence_cli.store import integrity
from evidence_cli.store.db import open_store
from tests.cache_helpers import TOPIC, descendants, kill_left_behind, make_workspace, pubmed_xml, quiet
from tests.conftest import EVIDENCE, subprocess_env
from tests.fake_eutils import max_in_window

RECORDS = 1500  # one esearch and three efetch calls


def start(root, env, *args) -> subprocess.Popen:
    return subprocess.Popen([*EVIDENCE, "--workspace", str(root), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_lock_holder(root, proc, timeout=30.0) -> None:
    """Until `proc` holds the refresh lock (it writes its pid into the lock file once it does)."""
    lock = root / "cache" / "refresh.lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the first refresh never took the lock")


def wait_until_blocked_on_the_lock(proc, timeout=60.0) -> None:
    """Until `proc` waits for the refresh lock: the kernel lists its request as blocked (->)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/locks") as fh:
            if any(line.split()[1] == "->" and line.split()[5] == str(proc.pid) for line in fh):
                return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the second refresh never waited for the lock")


def hold_the_first_efetch(fake) -> None:
    """The first refresh waits for its first efetch answer until fake.release(): it surely still
    runs (and holds the lock) when the second one starts, however slow the machine."""
    fake.clear_faults()
    fake.inject("hold", 1, utility="efetch")


def assert_healthy(root) -> set[str]:
    with open_store(root / "cache" / "evidence.sqlite", create=False) as store:
        assert integrity.problems(integrity.check_store(store)) == []
        rows = [r[0] for r in store.conn.execute("SELECT pmid FROM topic_articles WHERE topic = ?", (TOPIC,))]
    assert len(rows) == len(set(rows))
    return set(rows)


def ncbi_rate_env(fake, **extra):
    """NCBI's own limit (3/s without a key), and a read timeout the slowed or held answers stay within."""
    return subprocess_env(fake, rate=None, **{"EVIDENCE_TIMEOUT": "10", **extra})


@pytest.fixture
def setup(tmp_path, make_fake):
    fake = quiet(make_fake(RECORDS, rate_limit=3.0))  # the fake answers 429 above 3 requests/s, as NCBI
    # Slow the first efetch answer: the first refresh is then surely mid-run when the second starts.
    fake.inject("slow", 1, utility="efetch", seconds=1.5)
    return fake, make_workspace(tmp_path / "ws")


def test_second_refresh_exits_locked_with_the_documented_message(setup):
    fake, root = setup
    hold_the_first_efetch(fake)
    env = ncbi_rate_env(fake, EVIDENCE_TIMEOUT="300")
    first = start(root, env, "refresh")
    wait_for_lock_holder(root, first)
    second = start(root, env, "refresh")
    out2, err2 = second.communicate(timeout=120)
    fake.release()
    _, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == ExitCode.LOCKED
    errors = [line for line in err2.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"another `evidence refresh` (pid {first.pid})" in errors[0] and "--wait" in errors[0]
    assert out2 == ""
    assert assert_healthy(root) == set(fake.records)
    assert not [r for r in fake.log if r.status == 429]
    assert max_in_window(r.time for r in fake.log) <= 3


def test_second_refresh_with_wait_runs_after_the_first(setup):
    fake, root = setup
    hold_the_first_efetch(fake)
    env = ncbi_rate_env(fake, EVIDENCE_TIMEOUT="300")
    first = start(root, env, "refresh")
    wait_for_lock_holder(root, first)
    second = start(root, env, "refresh", "--wait")
    wait_until_blocked_on_the_lock(second)
    fake.release()
    _, err1 = first.communicate(timeout=120)
    _, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "incremental" in err2  # it waited, then found the first run complete
    assert assert_healthy(root) == set(fake.records)
    efetched = [i for r in fake.requests("efetch") for i in r.ids]
    assert len(efetched) == len(set(efetched)) == RECORDS  # nothing fetched twice
    assert not [r for r in fake.log if r.status == 429]
    assert max_in_window(r.time for r in fake.log) <= 3


def test_refresh_with_readers_an_import_and_a_doctor_alongside(setup, tmp_path):
    fake, root = setup
    env = ncbi_rate_env(fake)
    extra = tmp_path / "extra.xml"
    extra.write_bytes(pubmed_xml([str(9_000 + i) for i in range(300)]))
    first = start(root, env, "refresh")
    wait_for_lock_holder(root, first)
    # While it runs: an import writing to the same cache, a doctor asking NCBI (same rate
    # limit: the limiter's state lives in the cache folder), and reports reading.
    importer = start(root, env, "import", str(extra))
    doctor = start(root, env, "doctor", "--format", "json")
    reports = []
    while first.poll() is None:
        proc = start(root, env, "report", "--format", "json")
        out, err = proc.communicate(timeout=60)
        reports.append((proc.returncode, out, err))
    _, err1 = first.communicate(timeout=120)
    _, err_import = importer.communicate(timeout=120)
    doctor_out, doctor_err = doctor.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert importer.returncode == 0, err_import
    assert doctor.returncode == 0, doctor_err
    assert json.loads(doctor_out)["healthy"] is True
    for code, out, err in reports:
        assert code == 0, err  # never "busy" or "locked" for a reader
        assert json.loads(out)["topic"] == TOPIC
    assert reports
    assert assert_healthy(root) == set(fake.records) | {str(9_000 + i) for i in range(300)}
    assert not [r for r in fake.log if r.status == 429]
    assert max_in_window(r.time for r in fake.log) <= 3


def test_the_lock_dies_with_its_process(setup):
    fake, root = setup
    env = ncbi_rate_env(fake)
    first = subprocess.Popen([*EVIDENCE, "--workspace", str(root), "refresh"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # no pipe a worker could hold
    wait_for_lock_holder(root, first)
    below = descendants(first.pid)
    first.kill()
    first.wait(timeout=30)
    kill_left_behind(below)
    fake.clear_faults()
    again = start(root, env, "refresh")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert assert_healthy(root) == set(fake.records)
    conn = sqlite3.connect(root / "cache" / "evidence.sqlite")
    outcomes = [r[0] for r in conn.execute("SELECT outcome FROM runs WHERE topic = ? ORDER BY id", (TOPIC,))]
    conn.close()
    assert outcomes[-1] == "complete" and "running" not in outcomes


def test_two_workspaces_refreshing_at_once_keep_the_rate_together(setup, tmp_path):
    """Two cron jobs of one user in two workspaces: the limiter's state is the user's, per server
    and key (not the workspace's), so together they stay within NCBI's 3 requests/s."""
    fake, root = setup
    other = make_workspace(tmp_path / "ws2")
    env = ncbi_rate_env(fake, XDG_CACHE_HOME=str(tmp_path / "user-cache"))
    first = start(root, env, "refresh")
    wait_for_lock_holder(root, first)
    second = start(other, env, "refresh")
    _, err1 = first.communicate(timeout=120)
    _, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert assert_healthy(root) == assert_healthy(other) == set(fake.records)
    assert not [r for r in fake.log if r.status == 429]
    assert len(fake.requests("efetch")) == 2 * 3  # both fetched everything, in overlapping runs
    assert max_in_window(r.time for r in fake.log) <= 3
    assert list((tmp_path / "user-cache" / "evidence").glob("eutils-rate-*.state"))
