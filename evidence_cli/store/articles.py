"""SQL for cached PubMed records and their links to topics."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from evidence_cli.pubmed.model import AbstractSection, Article, Correction, MeshHeading
from evidence_cli.store.db import Store
from evidence_cli.store.tags import write_tags
from evidence_cli.tagging.model import Tagging

ARTICLE_COLUMNS = (
    "pmid", "version", "title", "abstract_json", "abstract_text", "journal", "journal_title", "year",
    "pub_date", "authors_json", "doi", "pmcid", "publication_types_json", "mesh_json", "keywords_json",
    "languages_json", "corrections_json", "date_revised", "status", "is_book", "raw",
)


@dataclass(frozen=True)
class BatchResult:
    added: int = 0  # new to the cache
    updated: int = 0  # already cached, and the record changed
    unchanged: int = 0  # already cached, same record (linked and retagged only)
    deleted: int = 0


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def article_row(article: Article) -> tuple:
    raw = zlib.compress(article.raw, 1) if article.raw is not None else None
    return (
        article.pmid, article.version, article.title,
        _dumps([[s.label, s.category, s.text] for s in article.abstract]), article.abstract_text,
        article.journal, article.journal_title, article.year, article.pub_date,
        _dumps(list(article.authors)), article.doi, article.pmcid,
        _dumps(list(article.publication_types)),
        _dumps([[m.descriptor, m.major, list(m.qualifiers), m.ui] for m in article.mesh]),
        _dumps(list(article.keywords)), _dumps(list(article.languages)),
        _dumps([[c.ref_type, c.pmid, c.source] for c in article.corrections]),
        article.date_revised, article.status, int(article.is_book), raw,
    )


def row_article(row: Sequence, *, with_raw: bool = False) -> Article:
    """Inverse of `article_row`, for a row selected with ARTICLE_COLUMNS in order."""
    (pmid, version, title, abstract_json, _abstract_text, journal, journal_title, year, pub_date,
     authors_json, doi, pmcid, pt_json, mesh_json, kw_json, lang_json, corr_json, date_revised,
     status, is_book, raw) = row
    return Article(
        pmid=pmid, version=version, title=title,
        abstract=tuple(AbstractSection(text=t, label=label, category=cat) for label, cat, t in json.loads(abstract_json)),
        journal=journal, journal_title=journal_title, year=year, pub_date=pub_date,
        authors=tuple(json.loads(authors_json)), doi=doi, pmcid=pmcid,
        publication_types=tuple(json.loads(pt_json)),
        mesh=tuple(MeshHeading(d, bool(major), tuple(q), ui) for d, major, q, ui in json.loads(mesh_json)),
        keywords=tuple(json.loads(kw_json)), languages=tuple(json.loads(lang_json)),
        corrections=tuple(Correction(t, p, s) for t, p, s in json.loads(corr_json)),
        date_revised=date_revised, status=status, is_book=bool(is_book),
        raw=zlib.decompress(raw) if (with_raw and raw is not None) else None,
    )


def save_batch(
    store: Store,
    items: Iterable[tuple[Article, Tagging | None]],
    *,
    topic: str | None = None,
    run_id: int | None = None,
    tagger_version: str = "",
    fetched_day: str | None = None,
) -> BatchResult:
    """Store one batch of records (with their tags for `topic`) in ONE transaction.

    A record already cached is rewritten only when it changed (new version, revision or
    content), so re-importing a file is cheap and counts as `unchanged`. `fetched_day`: NCBI's
    day on which refresh fetched the batch, kept with each record (see `fetched_days`).
    """
    added = updated = unchanged = 0
    stamp = now_iso()
    with store.transaction() as conn:
        for article, tagging in items:
            row = article_row(article)
            old = conn.execute(
                "SELECT version, date_revised, title, abstract_text, raw FROM articles WHERE pmid = ?",
                (article.pmid,),
            ).fetchone()
            if old is None:
                conn.execute(
                    f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}, first_seen, updated_at) "
                    f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}, ?, ?)",
                    (*row, stamp, stamp),
                )
                added += 1
                change = "added"
            elif (old[0], old[1], old[2], old[3]) != (row[1], row[17], row[2], row[4]) or (
                old[4] is None and row[-1] is not None
            ):
                assignments = ", ".join(f"{c} = ?" for c in ARTICLE_COLUMNS[1:])
                conn.execute(
                    f"UPDATE articles SET {assignments}, updated_at = ? WHERE pmid = ?",
                    (*row[1:], stamp, article.pmid),
                )
                updated += 1
                change = "updated"
            else:
                unchanged += 1
                change = None
            if topic is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO topic_articles (topic, pmid, added_at) VALUES (?, ?, ?)",
                    (topic, article.pmid, stamp),
                )
                if tagging is not None:
                    write_tags(conn, topic, article.pmid, tagging, tagger_version)
            if run_id is not None and change is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO run_changes (run_id, pmid, change) VALUES (?, ?, ?)",
                    (run_id, article.pmid, change),
                )
            if fetched_day is not None:
                conn.execute("UPDATE articles SET fetched_day = ? WHERE pmid = ?", (fetched_day, article.pmid))
    return BatchResult(added, updated, unchanged)


def delete_articles(store: Store, pmids: Iterable[str], *, run_id: int | None = None) -> int:
    """Remove records (a DeleteCitation): with their topic links and tags, in one transaction."""
    deleted = 0
    with store.transaction() as conn:
        for pmid in pmids:
            # Tags hang on topic links, links on the article: delete in that order.
            conn.execute("DELETE FROM claim_tags WHERE pmid = ?", (pmid,))
            conn.execute("DELETE FROM tags WHERE pmid = ?", (pmid,))
            conn.execute("DELETE FROM topic_articles WHERE pmid = ?", (pmid,))
            deleted += conn.execute("DELETE FROM articles WHERE pmid = ?", (pmid,)).rowcount
            if run_id is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO run_changes (run_id, pmid, change) VALUES (?, ?, 'deleted')",
                    (run_id, pmid),
                )
    return deleted


def get_article(store: Store, pmid: str, *, with_raw: bool = False) -> Article | None:
    row = store.conn.execute(
        f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles WHERE pmid = ?", (pmid,)
    ).fetchone()
    return row_article(row, with_raw=with_raw) if row else None


def iter_topic_articles(store: Store, topic: str, *, chunk: int = 1000) -> Iterator[Article]:
    """Every cached record linked to `topic`, in PMID order, without holding them all in memory."""
    last = ""
    columns = ", ".join(f"a.{c}" for c in ARTICLE_COLUMNS[:-1])
    while True:
        rows = store.conn.execute(
            f"SELECT {columns}, NULL FROM topic_articles t JOIN articles a ON a.pmid = t.pmid "
            "WHERE t.topic = ? AND t.pmid > ? ORDER BY t.pmid LIMIT ?",
            (topic, last, chunk),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            yield row_article(row)
        last = rows[-1][0]


def cached_pmids(store: Store, pmids: Iterable[str] | None = None) -> set[str]:
    """Which of `pmids` are cached (all cached PMIDs when None)."""
    if pmids is None:
        return {r[0] for r in store.conn.execute("SELECT pmid FROM articles")}
    found: set[str] = set()
    wanted = list(pmids)
    for start in range(0, len(wanted), 900):  # stay under SQLite's bound-parameter limit
        part = wanted[start:start + 900]
        found.update(
            r[0] for r in store.conn.execute(
                f"SELECT pmid FROM articles WHERE pmid IN ({', '.join('?' * len(part))})", part
            )
        )
    return found


def fetched_days(store: Store, pmids: Iterable[str]) -> dict[str, str | None]:
    """For the cached ones of `pmids`: the day (ISO) before which every revision of the record is
    in the cache. The day refresh fetched it; for an imported record its DateRevised (it was
    exported on that day or later); None when neither is known."""
    found: dict[str, str | None] = {}
    wanted = list(pmids)
    for start in range(0, len(wanted), 900):  # stay under SQLite's bound-parameter limit
        part = wanted[start:start + 900]
        found.update(store.conn.execute(
            f"SELECT pmid, coalesce(fetched_day, date_revised) FROM articles WHERE pmid IN ({', '.join('?' * len(part))})",
            part,
        ).fetchall())
    return found


def link_topic(store: Store, topic: str, pmids: Iterable[str]) -> int:
    """Link already-cached records to a topic (a record can belong to several topics)."""
    stamp = now_iso()
    with store.transaction() as conn:
        return sum(
            conn.execute(
                "INSERT OR IGNORE INTO topic_articles (topic, pmid, added_at) "
                "SELECT ?, pmid, ? FROM articles WHERE pmid = ?",
                (topic, stamp, pmid),
            ).rowcount
            for pmid in pmids
        )


def topic_record_count(store: Store, topic: str) -> int:
    return store.conn.execute("SELECT count(*) FROM topic_articles WHERE topic = ?", (topic,)).fetchone()[0]


def topic_pmids(store: Store, topic: str) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT pmid FROM topic_articles WHERE topic = ?", (topic,))}


def already_tagged(store: Store, topic: str, articles: Sequence[Article], tagger_version: str) -> set[str]:
    """PMIDs of `articles` cached unchanged and tagged for `topic` by this tagger version: an
    import can skip tagging them again (save_batch with no Tagging keeps their tags)."""
    found: set[str] = set()
    for start in range(0, len(articles), 900):  # stay under SQLite's bound-parameter limit
        part = {a.pmid: a for a in articles[start:start + 900]}
        rows = store.conn.execute(
            "SELECT a.pmid, a.version, a.date_revised, a.title, a.abstract_text FROM articles a "
            "JOIN tags t ON t.pmid = a.pmid AND t.topic = ? AND t.tagger_version = ? "
            f"WHERE a.pmid IN ({', '.join('?' * len(part))})",
            (topic, tagger_version, *part),
        )
        for pmid, version, revised, title, abstract_text in rows:
            a = part[pmid]
            if (version, revised, title, abstract_text) == (a.version, a.date_revised, a.title, a.abstract_text):
                found.add(pmid)
    return found
