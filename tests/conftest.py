"""Shared fixtures: the fake E-utilities server, a scratch workspace, and the environment that
points `evidence` at them (fast rate and retry settings unless a test asks for NCBI's own)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fake_eutils import SAMPLES, FakeEutils, shared_available

REPO = Path(__file__).resolve().parents[1]

needs_shared = pytest.mark.skipif(
    not shared_available(), reason=f"real NCBI samples not found at {SAMPLES} (../shared beside the repository)"
)

TOPIC_TOML = '''title = "Ketamine for depression (test)"
query = "ketamine AND depression"

[claims.rapid_onset]
label = "Rapid onset"
patterns = ['\\brapid(?:ly)? (?:anti-?depress\\w*|relief)']
'''

# Fast settings for tests that do not measure NCBI's limit: the fake is told the same rate.
FAST_RATE = 200.0

# Property tests must not fail on a busy CI machine: no per-example deadline, and no health
# check that times the example generator (a test's own @settings still add to these).
settings.register_profile("evidence", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("evidence")


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound by the test (so nothing else can take
    it while the test runs) and never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def _user_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The per-user folder where NCBI's rate-limit state is shared (see `shared_rate_state`): a
    scratch one, so tests never write to the real ~/.cache (subprocesses inherit it)."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def make_fake() -> Iterator[Callable[..., FakeEutils]]:
    """make_fake(records, source="synthetic"|"samples", rate_limit=...) -> a started FakeEutils."""
    started: list[FakeEutils] = []

    def make(records: int | None = None, *, source: str = "synthetic", rate_limit: float | None = FAST_RATE,
             **kwargs) -> FakeEutils:
        fake = FakeEutils(records, source=source, rate_limit=rate_limit, **kwargs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace with one small topic file (`ketamine`)."""
    root = tmp_path / "ws"
    (root / "queries").mkdir(parents=True)
    (root / "queries" / "ketamine.toml").write_text(TOPIC_TOML, encoding="utf-8")
    return root


def shipped_topic_workspace(tmp_path: Path, topic: str = "ketamine-depression") -> Path:
    """A workspace holding a copy of one of the repository's own topic files."""
    root = tmp_path / "ws"
    (root / "queries").mkdir(parents=True)
    (root / "queries" / f"{topic}.toml").write_bytes((REPO / "queries" / f"{topic}.toml").read_bytes())
    return root


def eutils_env(fake: FakeEutils, *, rate: float | None = FAST_RATE, **extra: str) -> dict[str, str]:
    """Environment variables that point evidence at `fake` (None rate: NCBI's own 3/s)."""
    env = {
        "EVIDENCE_EUTILS_URL": fake.url,
        "NCBI_EMAIL": "tests@example.org",
        "EVIDENCE_RETRY_SECONDS": "4",
        "EVIDENCE_BACKOFF": "0.01",
        "EVIDENCE_TIMEOUT": "1",
    }
    if rate is not None:
        env["EVIDENCE_RATE"] = str(rate)
    env.update(extra)
    return env


@pytest.fixture
def use_fake(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """use_fake(fake, rate=..., NCBI_API_KEY=...): point this process's evidence at the fake."""

    def apply(fake: FakeEutils, *, rate: float | None = FAST_RATE, **extra: str) -> None:
        for name in ("NCBI_API_KEY", "EVIDENCE_RATE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in eutils_env(fake, rate=rate, **extra).items():
            monkeypatch.setenv(name, value)

    return apply


def subprocess_env(fake: FakeEutils, **kwargs) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NCBI_API_KEY", "EVIDENCE_RATE")}
    env.update(eutils_env(fake, **kwargs))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


EVIDENCE = [sys.executable, "-m", "evidence_cli"]  # `evidence`, in a subprocess
