"""Helpers for tests that need a workspace with a cache in a known state (invented records only)."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import sys
from pathlib import Path

from evidence_cli.pubmed.model import AbstractSection, Article
from evidence_cli.store import articles as store_articles
from evidence_cli.store import runs as store_runs
from evidence_cli.store.db import open_store
from evidence_cli.tagging.model import ClaimTag, Tagging

TOPIC = "ketamine"
# A small topic of our own (the shipped one's rules change as the tagger improves).
TOPIC_TOML = """title = "Ketamine (reliability tests)"
query = "ketamine AND depression"

[claims.rapid_onset]
label = "Rapid onset"
statement = "Ketamine works within hours."
patterns = ['within (?:24|48) hours', 'rapid(?:ly)? antidepressant']

[claims.nmda]
label = "NMDA mechanism"
patterns = ['NMDA']
"""


def make_workspace(root: Path) -> Path:
    """A workspace holding one small topic (`ketamine`) and no cache."""
    (root / "queries").mkdir(parents=True, exist_ok=True)
    (root / "queries" / f"{TOPIC}.toml").write_text(TOPIC_TOML, encoding="utf-8")
    return root


def invented_article(pmid: str) -> Article:
    return Article(
        pmid=pmid,
        title=f"Invented trial number {pmid} of a rapid antidepressant",
        abstract=(AbstractSection(f"Forty invented patients were randomised in study {pmid}.", "METHODS", "METHODS"),
                  AbstractSection("Symptoms improved within 24 hours.", "RESULTS", "RESULTS")),
        journal="J Invented", year=2024, publication_types=("Randomized Controlled Trial",),
        date_revised="2024-01-01", raw=f"<PubmedArticle><PMID>{pmid}</PMID></PubmedArticle>".encode(),
    )


TAGGING = Tagging(design="rct", sample_size=40, humans=True,
                  claims=(ClaimTag("rapid_onset", "supports", "Symptoms improved within 24 hours.", "RESULTS"),))


def populated_cache(root: Path, n: int = 30, *, outcome: str = "complete") -> Path:
    """A workspace whose cache holds `n` invented records of the topic and one finished run."""
    make_workspace(root)
    with open_store(root / "cache" / "evidence.sqlite") as store:
        run_id = store_runs.start_run(store, TOPIC, "full", query="q")
        store_articles.save_batch(store, [(invented_article(str(1000 + i)), TAGGING) for i in range(n)],
                                  topic=TOPIC, run_id=run_id, tagger_version="test")
        store_runs.finish_run(store, run_id, outcome, count=n, added=n, requests=2)
    return root / "cache" / "evidence.sqlite"


def raw_connect(db: Path) -> sqlite3.Connection:
    """A plain connection with foreign keys OFF: how a damaged or hand-edited cache comes about."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    return conn


RECORD_TABLES = ("articles", "topic_articles", "tags", "claim_tags")


def snapshot(db: Path, tables: tuple[str, ...] | None = None) -> str:
    """A digest of the cache's rows (every table, or `tables`): for 'nothing lost' checks."""
    digest = hashlib.sha256()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = tables or tuple(r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'article_fts%' ORDER BY name"))
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(repr((table, row)).encode())
    finally:
        conn.close()
    return digest.hexdigest()


def quiet(fake):
    """A started fake, minus its stderr noise when a client hangs up on it (timeouts, kill -9)."""
    server = fake._server
    original = server.handle_error

    def handle_error(request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            original(request, client_address)

    server.handle_error = handle_error
    return fake


def pubmed_xml(pmids, *, cut: int | None = None) -> bytes:
    """A PubmedArticleSet of invented records (the fake's own template); `cut` truncates it."""
    from datetime import date

    from tests.fake_eutils import SYNTHETIC_TEMPLATE, FakeRecord, render

    day = date(2024, 1, 2)
    body = "".join(render(SYNTHETIC_TEMPLATE, FakeRecord(p, day, day, day, 0)) for p in pmids)
    data = f"<PubmedArticleSet>{body}</PubmedArticleSet>".encode()
    return data[:cut] if cut else data


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (worker processes, multiprocessing's resource tracker)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(pid)
        except OSError:
            pass
    return out


def kill_left_behind(pids: list[int]) -> None:
    """Clean up after the code under test: the processes our refresh started and left."""
    for pid in alive(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
