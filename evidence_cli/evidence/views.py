"""The services behind report, show, search, export, new and topics: workspace in, data out.

Each opens the cache, resolves the topic and claim (one-line usage errors), asks
`store.reports` / `evidence.summary` / `evidence.digest`, and returns frozen data for `render`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evidence_cli.errors import EvidenceError, ExitCode, UsageError

if TYPE_CHECKING:
    from evidence_cli.evidence.digest import Digest
    from evidence_cli.evidence.summary import Report
    from evidence_cli.pubmed.model import Article
    from evidence_cli.store.db import Store
    from evidence_cli.store.reports import ExportRow, ReportFilters, SearchHit
    from evidence_cli.tagging.model import Tagging
    from evidence_cli.workspace import Topic, Workspace


class NotFound(EvidenceError):
    """A PMID that is not in the cache (exit 2, like any other bad argument)."""

    exit_code = ExitCode.USAGE


@contextmanager
def opened(workspace: Workspace) -> Iterator[Store]:
    from evidence_cli.store.db import open_store

    store = open_store(workspace.db_path, create=False)
    try:
        yield store
    finally:
        store.close()


def topic_report(workspace: Workspace, topic_id: str | None, *, claim_id: str | None = None,
                 filters: ReportFilters | None = None, study_limit: int | None = None,
                 with_studies: bool = True) -> Report:
    from evidence_cli.evidence.summary import build_report

    topic = workspace.resolve_topic(topic_id)
    if claim_id:
        topic.claim(claim_id)  # unknown claim: a usage error before the cache is opened
    with opened(workspace) as store:
        return build_report(store, topic, claim_id=claim_id, filters=filters, study_limit=study_limit,
                            with_studies=with_studies)


@dataclass(frozen=True)
class ArticleView:
    """One record as `show` prints it: the article and its tags for each topic that holds it."""

    article: Article
    taggings: tuple[tuple[Topic | None, str, Tagging | None], ...]  # (topic or None if no file, topic id, tags)


PMID = re.compile(r"^\d{1,9}$")


def article_view(workspace: Workspace, pmid: str, topic_id: str | None = None) -> ArticleView:
    from evidence_cli.store.articles import get_article
    from evidence_cli.store.tags import load_tagging, topics_of

    pmid = pmid.strip()
    if pmid.lower().startswith("pmid:"):
        pmid = pmid[5:].strip()
    if not PMID.match(pmid):
        raise UsageError(f"{pmid!r} is not a PMID (digits only, e.g. 31109201)")
    topic = workspace.load_topic(topic_id) if topic_id else None
    with opened(workspace) as store:
        article = get_article(store, pmid)
        if article is None:
            raise NotFound(f"PMID {pmid} is not in the cache ({workspace.db_path})")
        ids = [topic.id] if topic else topics_of(store, pmid)
        tags = [(t, load_tagging(store, t, pmid)) for t in ids]
    return ArticleView(article, tuple((topic or _topic_or_none(workspace, t), t, tagging) for t, tagging in tags))


def _topic_or_none(workspace: Workspace, topic_id: str) -> Topic | None:
    """The topic, for its claim labels; None when its file is gone or broken (ids are shown instead)."""
    try:
        return workspace.load_topic(topic_id)
    except EvidenceError:
        return None


def search_cache(workspace: Workspace, text: str, *, topic_id: str | None = None, claim_id: str | None = None,
                 design: str | None = None, limit: int = 20) -> list[SearchHit]:
    """bm25-ranked hits; a claim needs a topic (the only one, or --topic), the rest searches all."""
    from evidence_cli.store.reports import search

    if limit < 1:
        raise UsageError("--limit must be at least 1")
    topic = workspace.resolve_topic(topic_id) if (topic_id or claim_id) else None
    if topic and claim_id:
        topic.claim(claim_id)
    with opened(workspace) as store:
        return search(store, text, topic=topic.id if topic else None, claim_id=claim_id, design=design, limit=limit)


def export_records(workspace: Workspace, topic_id: str | None, *, claim_id: str | None = None,
                   stance: str | None = None) -> tuple[Topic, list[ExportRow]]:
    from evidence_cli.store.reports import export_rows

    topic = workspace.resolve_topic(topic_id)
    if claim_id:
        topic.claim(claim_id)
    with opened(workspace) as store:
        return topic, export_rows(store, topic.id, claim_id=claim_id, stance=stance)


def latest_digest(workspace: Workspace, topic_id: str | None) -> Digest:
    from evidence_cli.evidence.digest import build_digest

    topic = workspace.resolve_topic(topic_id)
    with opened(workspace) as store:
        return build_digest(store, topic)


@dataclass(frozen=True)
class TopicRow:
    id: str
    title: str
    claims: int
    records: int
    last_run: tuple[str, str | None, str, str] | None  # (started_at, finished_at, outcome, kind)
    error: str | None = None  # the topic file does not load


def topic_rows(workspace: Workspace) -> list[TopicRow]:
    """Every topic file of the workspace, with its cached record count and latest run."""
    from evidence_cli.store.reports import topic_overview
    from evidence_cli.workspace import load_topic_file

    loaded: list[tuple[str, Topic | None, str | None]] = []
    for path in workspace.topic_paths():
        try:
            loaded.append((path.stem, load_topic_file(path), None))
        except EvidenceError as exc:  # one broken file must not hide the others
            loaded.append((path.stem, None, exc.message))
    overview: dict = {}
    if workspace.db_path.exists():  # no cache yet: every topic has 0 records, never refreshed
        with opened(workspace) as store:
            overview = topic_overview(store, [t for t, _, _ in loaded])
    return [
        TopicRow(t, topic.title if topic else "", len(topic.claims) if topic else 0,
                 overview.get(t, (0, None))[0], overview.get(t, (0, None))[1], error)
        for t, topic, error in loaded
    ]
