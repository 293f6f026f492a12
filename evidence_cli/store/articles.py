"""SQL for cached PubMed records and their links to topics."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from evidence_cli.pubmed.model import AbstractSection, Article, Correction, MeshHeading
from evidence_cli.store.db import Store
from evidence_cli.store.tags import write_tags_many
from evidence_cli.tagging.model import Tagging

T = TypeVar("T")

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
    retagged: int = 0  # of the unchanged: given new tags (the topic's rules or the tagger changed)
    linked: int = 0  # of the unchanged: cached for another topic, now linked to this one and tagged


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# One encoder for every row: json.dumps with options builds a new encoder per call, which cost
# more than the encoding itself (9 JSON columns a record).
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_quote = json.encoder.encode_basestring  # the C function _dumps itself uses for each string


def _dumps_strings(items: Sequence[str]) -> str:
    """`_dumps(list(items))` for a list of strings, without the encoder's per-call overhead
    (four of the nine JSON columns; half the cost of building a row)."""
    return "[" + ",".join(map(_quote, items)) + "]"


class RawXml(bytes):
    """A record's raw XML not compressed yet: `save_rows` compresses it only if it writes the row
    (a re-import leaves most records unchanged, and compressing them all cost more than parsing)."""


def article_row(article: Article, *, compress_raw: bool = True) -> tuple:
    """The `articles` row of a record, ARTICLE_COLUMNS in order. `compress_raw=False` leaves the
    raw XML as RawXml for `save_rows` to compress when needed."""
    if article.raw is None:
        raw = None
    else:
        raw = compress_xml(article.raw) if compress_raw else RawXml(article.raw)
    return (
        article.pmid, article.version, article.title,
        _dumps([[s.label, s.category, s.text] for s in article.abstract]), article.abstract_text,
        article.journal, article.journal_title, article.year, article.pub_date,
        _dumps_strings(article.authors), article.doi, article.pmcid,
        _dumps_strings(article.publication_types),
        _dumps([[m.descriptor, m.major, list(m.qualifiers), m.ui] for m in article.mesh]),
        _dumps_strings(article.keywords), _dumps_strings(article.languages),
        _dumps([[c.ref_type, c.pmid, c.source] for c in article.corrections]),
        article.date_revised, article.status, int(article.is_book), raw,
    )


def _ready(row: tuple) -> tuple:
    raw = row[-1]
    return (*row[:-1], compress_xml(raw)) if type(raw) is RawXml else row


# Raw XML is stored zstd-compressed (level 1): on the 30,000-record baseline 0.40 s of CPU for
# 47 MB against zlib level 1's 1.13 s for 48 MB. Caches written before hold zlib; both are read.
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_codecs = threading.local()  # a zstd (de)compressor is not to be shared between threads


def compress_xml(xml: bytes) -> bytes:
    compressor = getattr(_codecs, "compressor", None)
    if compressor is None:
        import zstandard

        compressor = _codecs.compressor = zstandard.ZstdCompressor(level=1)
    return compressor.compress(xml)


def decompress_xml(blob: bytes) -> bytes:
    if not blob.startswith(ZSTD_MAGIC):
        return zlib.decompress(blob)
    decompressor = getattr(_codecs, "decompressor", None)
    if decompressor is None:
        import zstandard

        decompressor = _codecs.decompressor = zstandard.ZstdDecompressor()
    return decompressor.decompress(blob)


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
        raw=decompress_xml(raw) if (with_raw and raw is not None) else None,
    )


def save_batch(
    store: Store,
    items: Iterable[tuple[Article, Tagging | None]],
    *,
    topic: str | None = None,
    run_id: int | None = None,
    tagger_version: str = "",
    fetched_day: str | None = None,
    via: str = "refresh",
) -> BatchResult:
    """Store one batch of records (with their tags for `topic`) in ONE transaction.

    A record already cached is rewritten only when it changed (new version, revision or
    content), so re-importing a file is cheap and counts as `unchanged`. `fetched_day`: NCBI's
    day on which refresh fetched the batch, kept with each record (see `fetched_days`).
    """
    return save_rows(
        store, [(article_row(a, compress_raw=False), t) for a, t in items],
        topic=topic, run_id=run_id, tagger_version=tagger_version, fetched_day=fetched_day, via=via,
    )


# Columns of a row that, with the presence of raw XML, decide whether a cached record changed.
_PMID, _VERSION, _TITLE, _ABSTRACT_TEXT, _DATE_REVISED = (
    ARTICLE_COLUMNS.index(c) for c in ("pmid", "version", "title", "abstract_text", "date_revised")
)
_INSERT_ARTICLE = (
    f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}, first_seen, updated_at) "
    f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}, ?, ?)"
)
_UPDATE_ARTICLE = (
    f"UPDATE articles SET {', '.join(f'{c} = ?' for c in ARTICLE_COLUMNS[1:])}, updated_at = ? WHERE pmid = ?"
)


def save_rows(
    store: Store,
    items: Iterable[tuple[tuple, Tagging | None]],
    *,
    topic: str | None = None,
    run_id: int | None = None,
    tagger_version: str = "",
    fetched_day: str | None = None,
    via: str = "refresh",
) -> BatchResult:
    """`save_batch` for rows built beforehand by `article_row` (import builds them in its tagging
    workers). Same result, one transaction, and a few statements per batch, not per record."""
    items = list(items)
    stamp = now_iso()
    with store.transaction() as conn:
        cached = _cached_state(conn, [row[_PMID] for row, _ in items])
        new_to_cache = {row[_PMID] for row, _ in items} - cached.keys()
        inserts: list[tuple] = []
        updates: list[tuple] = []
        changes: list[tuple] = []
        taggings: dict[str, Tagging] = {}
        added = updated = unchanged = 0
        tagged_again: list[str] = []  # unchanged records given tags: retagged, or new to the topic
        for row, tagging in items:
            pmid = row[_PMID]
            state = (row[_VERSION], row[_DATE_REVISED], row[_TITLE], row[_ABSTRACT_TEXT])
            old = cached.get(pmid)
            if old is None:
                inserts.append((*_ready(row), stamp, stamp))
                added += 1
                change = "added"
            elif old[:4] != state or (not old[4] and row[-1] is not None):
                updates.append((*_ready(row)[1:], stamp, pmid))
                updated += 1
                change = "updated"
            else:
                unchanged += 1
                if tagging is not None:
                    tagged_again.append(pmid)
                change = None
            if change is not None:  # a PMID twice in one batch meets its first copy as cached
                cached[pmid] = (*state, row[-1] is not None)
                if run_id is not None:
                    changes.append((run_id, pmid, change))
            if tagging is not None:
                taggings[pmid] = tagging
        retagged = len(_linked_to(conn, topic, tagged_again)) if topic is not None else len(tagged_again)
        # Inserts before updates: a PMID twice in the batch is inserted, then updated, as in file order.
        conn.executemany(_INSERT_ARTICLE, inserts)
        _index_new(conn, [row[0] for row in inserts])
        conn.executemany(_UPDATE_ARTICLE, updates)
        if topic is not None:
            conn.executemany(
                "INSERT OR IGNORE INTO topic_articles (topic, pmid, added_at, via) VALUES (?, ?, ?, ?)",
                [(topic, row[_PMID], stamp, via) for row, _ in items],
            )
            write_tags_many(conn, topic, taggings.items(), tagger_version, untagged=new_to_cache)
        conn.executemany("INSERT OR REPLACE INTO run_changes (run_id, pmid, change) VALUES (?, ?, ?)", changes)
        if fetched_day is not None:
            conn.executemany("UPDATE articles SET fetched_day = ? WHERE pmid = ?",
                             [(fetched_day, row[_PMID]) for row, _ in items])
    return BatchResult(added, updated, unchanged, retagged=retagged, linked=len(tagged_again) - retagged)


def _index_new(conn, pmids: list[str]) -> None:
    """Full-text index the records just inserted (updates and deletions keep theirs by trigger)."""
    for part in _chunks(list(dict.fromkeys(pmids))):
        conn.execute(
            "INSERT INTO article_fts(rowid, title, abstract_text) SELECT rowid, title, abstract_text "
            f"FROM articles WHERE pmid IN ({', '.join('?' * len(part))})",
            part,
        )


def _chunks(items: Sequence[T], size: int = 900) -> Iterator[Sequence[T]]:
    """`items` in slices that stay under SQLite's bound-parameter limit."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _in_chunks(conn, sql: str, pmids: Iterable[str], *params: object) -> Iterator[tuple]:
    """The rows of `sql`, whose `IN ({})` takes the distinct `pmids` (after `params`), run in
    slices that stay under SQLite's bound-parameter limit."""
    for part in _chunks(list(dict.fromkeys(pmids))):
        yield from conn.execute(sql.format(", ".join("?" * len(part))), (*params, *part))


def _linked_to(conn, topic: str, pmids: list[str]) -> set[str]:
    """Those of `pmids` already in `topic`."""
    return {r[0] for r in _in_chunks(conn, "SELECT pmid FROM topic_articles WHERE topic = ? AND pmid IN ({})",
                                     pmids, topic)}


def _cached_state(conn, pmids: list[str]) -> dict[str, tuple]:
    """pmid -> (version, date_revised, title, abstract_text, has raw XML) of the cached ones."""
    found: dict[str, tuple] = {}
    for pmid, *state in _in_chunks(conn, "SELECT pmid, version, date_revised, title, abstract_text, "
                                         "raw IS NOT NULL FROM articles WHERE pmid IN ({})", pmids):
        found[pmid] = (*state[:4], bool(state[4]))
    return found


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
    return {r[0] for r in _in_chunks(store.conn, "SELECT pmid FROM articles WHERE pmid IN ({})", pmids)}


def fetched_days(store: Store, pmids: Iterable[str]) -> dict[str, str | None]:
    """For the cached ones of `pmids`: the day (ISO) before which every revision of the record is
    in the cache. The day refresh fetched it; for an imported record its DateRevised (it was
    exported on that day or later); None when neither is known."""
    return dict(_in_chunks(store.conn, "SELECT pmid, coalesce(fetched_day, date_revised) FROM articles "
                                       "WHERE pmid IN ({})", pmids))


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
    for chunk in _chunks(articles):
        part = {a.pmid: a for a in chunk}
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


def unlink_unmatched(store: Store, topic: str, matched: frozenset[str] | set[str], *,
                     run_id: int | None = None) -> int:
    """Take out of `topic` the records refresh linked that a complete whole search no longer
    returns (`matched`), with the topic's tags, in one transaction. Records a user imported into
    the topic stay; the records themselves stay cached (another topic may hold them)."""
    linked = [r[0] for r in store.conn.execute(
        "SELECT pmid FROM topic_articles WHERE topic = ? AND via = 'refresh'", (topic,))]
    gone = [(topic, pmid) for pmid in linked if pmid not in matched]
    if not gone:
        return 0
    with store.transaction() as conn:
        conn.executemany("DELETE FROM claim_tags WHERE topic = ? AND pmid = ?", gone)
        conn.executemany("DELETE FROM tags WHERE topic = ? AND pmid = ?", gone)
        conn.executemany("DELETE FROM topic_articles WHERE topic = ? AND pmid = ?", gone)
        if run_id is not None:
            conn.executemany("INSERT OR REPLACE INTO run_changes (run_id, pmid, change) VALUES (?, ?, 'deleted')",
                             [(run_id, pmid) for _, pmid in gone])
    return len(gone)
