"""Fault injection against the fake E-utilities: every refresh ends complete, or fails with a
non-zero exit that names what is missing; never a silent gap. Afterwards the cache passes
`evidence doctor --offline`, and a clean re-run completes the topic.
"""

from __future__ import annotations

import random

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.doctor import run_doctor
from evidence_cli.errors import ExitCode
from evidence_cli.store.articles import topic_pmids
from evidence_cli.store.db import open_store
from evidence_cli.store.runs import last_run
from evidence_cli.workspace import Workspace
from tests.cache_helpers import TOPIC, make_workspace, quiet
from tests.conftest import eutils_env

RECORDS = 1200  # three efetch batches of 500


def refresh(root, fake, *args, **env):
    result = CliRunner().invoke(app, ["--workspace", str(root), "--quiet", "refresh", *args],
                                env={"NCBI_API_KEY": "", **eutils_env(fake), **env})
    assert "Traceback" not in result.output
    return result


def cached(root) -> set[str]:
    with open_store(root / "cache" / "evidence.sqlite", create=False) as store:
        return topic_pmids(store, TOPIC)


def assert_doctor_passes(root):
    report = run_doctor(Workspace(root), offline=True, env={"NCBI_EMAIL": "x@example.org"})
    assert report.healthy, [c for c in report.checks if c.status == "fail"]


def assert_complete(root, fake, result):
    assert result.exit_code == 0, result.output
    assert cached(root) == set(fake.records)
    with open_store(root / "cache" / "evidence.sqlite", create=False) as store:
        run = last_run(store, TOPIC)
    assert run.outcome == "complete" and run.error is None
    assert_doctor_passes(root)
    return run


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def make_fake(make_fake):
    return lambda *args, **kwargs: quiet(make_fake(*args, **kwargs))


@pytest.mark.parametrize(
    ("kind", "times", "utility", "options"),
    [
        ("429", 5, None, {"retry_after": "0.05"}),
        ("500", 3, None, {}),
        ("502", 3, "efetch", {}),
        ("503", 3, "esearch", {}),
        ("reset", 4, None, {}),
        ("truncate", 3, "efetch", {}),
        ("truncate", 2, "esearch", {}),
        ("slow", 1, "efetch", {"seconds": 1.6}),  # read timeout is 1 s in the tests' environment
        ("error200", 3, None, {"message": "Search Backend failed: Database is not available"}),
        ("session_expired", 2, None, {}),
        ("fewer", 2, "efetch", {"drop": 7}),  # the missing ids are asked for again
    ],
)
def test_transient_faults_end_complete(ws, make_fake, kind, times, utility, options):
    fake = make_fake(RECORDS)
    fake.inject(kind, times, utility=utility, **options)
    result = refresh(ws, fake)
    run = assert_complete(ws, fake, result)
    assert any(r.fault == kind for r in fake.log), "the fault was never served"
    # The run log counts every request sent, the failed ones included.
    assert run.requests == len(fake.log)


def test_a_seeded_storm_of_mixed_faults(ws, make_fake):
    fake = make_fake(RECORDS)
    rng = random.Random(2024)
    kinds = ["429", "500", "502", "503", "reset", "truncate", "error200", "session_expired"]
    for _ in range(12):
        kind = rng.choice(kinds)
        fake.inject(kind, rng.randint(1, 2), utility=rng.choice([None, "esearch", "efetch"]),
                    after=rng.randint(0, 3), retry_after="0.05")
    assert_complete(ws, fake, refresh(ws, fake, EVIDENCE_RETRY_SECONDS="20"))


def test_records_efetch_never_returns_fail_the_run_and_are_named(ws, make_fake):
    fake = make_fake(RECORDS)
    fake.inject("fewer", None, utility="efetch", drop=3)  # every answer short by 3 records
    result = refresh(ws, fake)
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "did not return" in result.stderr and "PMIDs" in result.stderr
    have = cached(ws)
    missing = set(fake.records) - have
    assert missing and len(missing) <= 3 * 3  # three batches, three short each
    for pmid in sorted(missing)[:5]:
        assert pmid in result.stderr or "..." in result.stderr
    with open_store(ws / "cache" / "evidence.sqlite", create=False) as store:
        run = last_run(store, TOPIC)
    assert run.outcome == "incomplete" and "did not return" in run.error
    assert_doctor_passes(ws)
    fake.clear_faults()
    assert_complete(ws, fake, refresh(ws, fake))


def test_persistent_server_errors_exit_network_and_keep_stored_batches(ws, make_fake):
    fake = make_fake(RECORDS)
    fake.inject("503", None, utility="efetch", after=1)  # the first batch lands, then NCBI is down
    result = refresh(ws, fake, EVIDENCE_RETRY_SECONDS="1")
    assert result.exit_code == ExitCode.NETWORK
    assert "efetch" in result.stderr and "503" in result.stderr
    assert len(cached(ws)) == 500  # exactly the batch stored before the failure
    with open_store(ws / "cache" / "evidence.sqlite", create=False) as store:
        run = last_run(store, TOPIC)
    assert run.outcome == "failed" and run.added == 500
    assert_doctor_passes(ws)
    fake.clear_faults()
    fake.clear_log()
    assert_complete(ws, fake, refresh(ws, fake))
    fetched = [i for r in fake.requests("efetch") for i in r.ids]
    assert len(fetched) == RECORDS - 500 and len(set(fetched)) == len(fetched)  # no refetch of stored ones


def test_persistent_session_expiry_is_a_network_failure_not_a_gap(ws, make_fake):
    fake = make_fake(RECORDS)
    fake.inject("session_expired", None, utility="esearch")
    result = refresh(ws, fake, EVIDENCE_RETRY_SECONDS="0.5")
    assert result.exit_code == ExitCode.NETWORK
    assert "session has expired" in result.stderr
    assert not (ws / "cache" / "evidence.sqlite").exists() or not cached(ws)
    assert_doctor_passes(ws)


def test_truncated_efetch_for_ever_names_the_cut(ws, make_fake):
    fake = make_fake(RECORDS)
    fake.inject("truncate", None, utility="efetch")
    result = refresh(ws, fake, EVIDENCE_RETRY_SECONDS="0.5")
    assert result.exit_code == ExitCode.NETWORK
    assert "cut short" in result.stderr
    assert cached(ws) == set()
    assert_doctor_passes(ws)


def test_faults_in_an_incremental_run_leave_no_gap(ws, make_fake):
    fake = make_fake(RECORDS)
    assert_complete(ws, fake, refresh(ws, fake))
    new = fake.add_records(30)
    fake.modify(sorted(fake.records)[:10])
    fake.inject("fewer", None, utility="efetch", drop=2)
    result = refresh(ws, fake)
    assert result.exit_code == ExitCode.INCOMPLETE
    fake.clear_faults()
    # The next incremental run still covers the window of the failed one.
    assert_complete(ws, fake, refresh(ws, fake))
    assert set(new) <= cached(ws)
