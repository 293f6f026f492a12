"""`evidence import`: a PubMed export file -> parsed -> tagged with a topic's rules -> the cache.

Streams: this process only cuts PubMed XML into each record's bytes and runs SQL; worker
processes parse, tag and build the rows (see "in parallel" below), and records are stored here
in file order, `BATCH_SIZE` per transaction, so a 30,000-record baseline file imports in flat
memory. A file of one batch or less is parsed and tagged in this process, and so is MEDLINE
text (its records are parsed here in any case). On a bad file (not UTF-8, not PubMed,
truncated) the batches read before the error are stored, nothing of the batch in progress is
written, and re-running the import on a fixed file is cheap: records cached unchanged and
already tagged by this tagger version are neither retagged nor rewritten.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias, cast

from evidence_cli.errors import InputError
from evidence_cli.pubmed.model import Article, Deletion
from evidence_cli.tagging.model import Tagging
from evidence_cli.workspace import Topic, Workspace

if TYPE_CHECKING:
    from evidence_cli.pubmed.xml import RecordBytes

BATCH_SIZE = 500
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class ImportResult:
    topic: str
    source: str
    format: str  # "xml" or "medline"
    records: int = 0  # records read from the file
    added: int = 0
    updated: int = 0
    skipped: int = 0  # already cached and unchanged: linked and retagged, not rewritten
    retagged: int = 0  # of the skipped: given new tags (the topic's rules or the tagger changed)
    linked: int = 0  # of the skipped: cached for another topic, now in this one and tagged for it
    deleted: int = 0  # cached records removed by DeleteCitation
    deletions: int = 0  # PMIDs the file's DeleteCitation blocks list (cached or not)
    seconds: float = 0.0

    def summary(self) -> str:
        """The one line `evidence import` prints on stderr."""
        rate = f", {self.records / self.seconds:,.0f} records/s" if self.seconds > 0 and self.records else ""
        deleted = f"; {self.deleted:,} deleted of {self.deletions:,} listed for deletion" if self.deletions else ""
        of_them = "".join(f"; {n:,} of them {what}" for n, what in (
            (self.retagged, "retagged under the current rules"),
            (self.linked, "cached for another topic, now tagged for this one"),
        ) if n)
        return (
            f"imported {self.records:,} records from {self.source} into topic {self.topic}: "
            f"{self.added:,} new, {self.updated:,} updated, {self.skipped:,} skipped (unchanged{of_them})"
            f"{deleted} ({self.seconds:.1f} s{rate})"
        )


Tagger = Callable[[Article], Tagging]
Progress = Callable[[int], None]


def import_file(
    workspace: Workspace,
    source: str | Path,
    topic_id: str | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Import a PubMed XML or MEDLINE file (plain or gzip; `-` is stdin) into the workspace's cache.

    `workers`: processes that tag in parallel once the file proves long (default: one per CPU;
    0 or 1 tags in this process).
    """
    from evidence_cli.store.db import open_store
    from evidence_cli.store.runs import finish_run, start_run

    topic = workspace.resolve_topic(topic_id)
    tagger, version = tagger_and_version(topic)  # compiled first: a bad rule fails before anything is read
    label = "stdin" if str(source) == "-" else str(source)
    started = time.monotonic()
    with _open_source(source, label) as stream:
        fmt, records = _sniff(stream, label)
        store = open_store(workspace.db_path)
        try:
            run_id = start_run(store, topic.id, "import", query=f"import {label}")
            totals = Totals()
            try:
                job = _Job(store, topic, version, tagger, label)
                work = _batches(records, batch_size, totals)
                tagged = _tag_in_pool(work, job, _worker_count(workers))
                _write(store, topic.id, job.version, tagged, totals, run_id=run_id, progress=progress)
            except BaseException as exc:
                outcome = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                finish_run(store, run_id, outcome, error=str(exc) or type(exc).__name__,
                           added=totals.added, updated=totals.updated, deleted=totals.deleted)
                raise
            finish_run(store, run_id, "complete", added=totals.added, updated=totals.updated,
                       deleted=totals.deleted, count=totals.records,
                       duration_s=round(time.monotonic() - started, 3))
        finally:
            store.close()
    return ImportResult(
        topic=topic.id, source=label, format=fmt, records=totals.records, added=totals.added,
        updated=totals.updated, skipped=totals.unchanged, retagged=totals.retagged, linked=totals.linked,
        deleted=totals.deleted,
        deletions=totals.deletions, seconds=time.monotonic() - started,
    )


def topic_tagger(topic: Topic) -> Tagger:
    """tag_article bound to the topic's compiled claim rules."""
    return tagger_and_version(topic)[0]


def tagger_and_version(topic: Topic) -> tuple[Tagger, str]:
    """`topic_tagger`, and the tagger's version with the topic's rules fingerprint, from one
    compilation of the rules (~70 ms). The version is stored with each tag, so that a re-import or
    refresh after the claim rules changed retags instead of trusting the old tags."""
    from evidence_cli.tagging import compile_rules, tag_article, tags_version

    rules = compile_rules(topic)
    return (lambda article: tag_article(article, rules)), tags_version(rules)


@dataclass
class Totals:
    records: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retagged: int = 0
    linked: int = 0
    deleted: int = 0
    deletions: int = 0


# Read from the file: ("records", [RecordBytes | Article, ...]) or ("delete", [pmid, ...]).
# Ready to store: ("save", [(Article, Tagging | None), ...]) or ("rows", [(article row,
# Tagging | None), ...]) once the workers built the rows. Tagging None: cached unchanged and
# already tagged by this tagger and rules, so neither retagged nor rewritten (store keeps its tags).
Work = tuple[str, list]
# RecordBytes: PubMed XML, parsed where it is tagged; Article: MEDLINE text, XML the cut leaves to lxml.
Record: TypeAlias = "RecordBytes | Article"


@dataclass
class _Job:
    store: Any
    topic: Topic
    version: str  # tagger_and_version(topic)[1]
    tagger: Tagger
    label: str  # the file's name in messages


def _batches(records: Iterable[Record | Deletion], batch_size: int, totals: Totals) -> Iterator[Work]:
    batch: list[Record] = []
    for record in records:
        if isinstance(record, Deletion):
            if batch:  # a record deleted later in the file must be stored first, then removed
                yield "records", batch
                batch = []
            yield "delete", list(record.pmids)
            continue
        totals.records += 1
        batch.append(record)
        if len(batch) >= batch_size:
            yield "records", batch
            batch = []
    if batch:
        yield "records", batch


def _tag_here(item: Work, job: _Job) -> Work:
    """Parse and tag a batch in this process, skipping records the cache holds unchanged and tagged."""
    from evidence_cli.store.articles import already_tagged

    kind, payload = item
    if kind != "records":
        return item
    articles = [_parsed(r, job.label) for r in payload]
    known = already_tagged(job.store, job.topic.id, articles, job.version)
    return "save", [(a, None if a.pmid in known else job.tagger(a)) for a in articles]


def _parsed(record: Record, label: str) -> Article:
    from evidence_cli.pubmed.xml import RecordBytes, parse_record

    if isinstance(record, RecordBytes):
        # A PubmedArticle or PubmedBookArticle, never a Deletion: `split_records` parses DeleteCitations itself.
        return cast(Article, parse_record(record.data, record.line, name=label))
    return record


def _write(store, topic_id: str, version: str, work: Iterable[Work], totals: Totals, *, run_id: int | None,
           progress: Progress | None) -> None:
    from evidence_cli.store.articles import delete_articles, save_batch, save_rows

    for kind, payload in work:
        if kind == "delete":
            totals.deletions += len(payload)
            totals.deleted += delete_articles(store, payload, run_id=run_id)
            continue
        save = save_rows if kind == "rows" else save_batch
        result = save(store, payload, topic=topic_id, run_id=run_id, tagger_version=version, via="import")
        totals.added += result.added
        totals.updated += result.updated
        totals.unchanged += result.unchanged
        totals.retagged += result.retagged
        totals.linked += result.linked
        if progress is not None:
            progress(len(payload))


# --- parsing and tagging in parallel ------------------------------------------------------------
# On 2 CPUs an import is bound by its total CPU time, and parsing, tagging and building rows (JSON
# columns, compressed raw XML) cost far more than cutting records out of the stream and running
# SQL. So worker processes get each batch as the records' bytes, parse, skip what the cache holds
# unchanged and tagged (they read the cache themselves: the PMIDs are in the bytes), tag, and build
# the rows, while this process cuts ahead and stores, in file order. A record whose PMID came
# earlier in the file (or in a DeleteCitation) is checked again here when its batch is stored: the
# worker may have read the cache before that earlier copy was written. Articles (MEDLINE, odd
# XML) cross as plain tuples (pickling the dataclasses costs more than it saves).


def _worker_count(workers: int | None) -> int:
    return max(0, workers if workers is not None else (os.cpu_count() or 1))


def _tag_in_pool(work: Iterator[Work], job: _Job, workers: int) -> Iterator[Work]:
    from collections import deque

    first = next(work, None)
    try:
        second = next(work, None) if first is not None else None
    except Exception:  # a bad file after one whole batch: that batch is stored, then the error
        yield _tag_here(first, job)  # type: ignore[arg-type]
        raise
    if workers < 2 or second is None:  # one batch or less: a pool would cost more than it saves
        for item in _chain(first, second, work):
            yield _tag_here(item, job)
        return

    pool = _tag_pool(job.topic, workers, _init_import_worker,
                     (str(job.store.path), job.topic.id, job.version, job.label))
    pending: deque = deque()
    source = _chain(first, second, work)
    seen: set[str] = set()  # PMIDs of the batches stored so far and of DeleteCitations
    error: Exception | None = None
    try:
        while True:
            try:
                kind, payload = next(source)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - a bad file: store the batches read before it, then raise
                error = exc
                break
            if kind == "delete":
                while pending:
                    yield _collect(pending.popleft(), job, seen)
                seen.update(payload)
                yield kind, payload
                continue
            packed = [r if type(r) is not Article else _pack(r) for r in payload]
            pending.append(pool.submit(_import_packed, packed))
            while len(pending) > 2 * workers:  # bounded read-ahead: memory stays flat
                yield _collect(pending.popleft(), job, seen)
        while pending:
            yield _collect(pending.popleft(), job, seen)
    finally:
        pool.shutdown(wait=error is None and not pending, cancel_futures=True)
    if error is not None:
        raise error


def _collect(future, job: _Job, seen: set[str]) -> Work:
    """A batch's rows from its worker, once the batches before it are stored: a record whose
    PMID came before is checked against the cache as it is now, and tagged here if need be."""
    from evidence_cli.store.articles import already_tagged, row_article

    rows: list[tuple[tuple, Tagging | None]] = future.result()
    again = [i for i, (row, _) in enumerate(rows) if row[0] in seen]
    if again:
        articles = {i: row_article(rows[i][0]) for i in again}
        known = already_tagged(job.store, job.topic.id, list(articles.values()), job.version)
        for i, article in articles.items():
            row, tagging = rows[i]
            if article.pmid in known:
                rows[i] = (row, None)
            elif tagging is None:  # the worker skipped it, but an earlier copy changed the cache since
                rows[i] = (row, job.tagger(article))
    seen.update(row[0] for row, _ in rows)
    return "rows", rows


def tag_batches(batches: Iterable[list[Article]], topic: Topic, workers: int | None = None,
                tagger: Tagger | None = None) -> Iterator[tuple[list[Article], list[Tagging]]]:
    """Each batch with its records' taggings, in order, tagged by `workers` processes (default:
    one per CPU; 0 or 1 tags in this process, with `tagger` if given). Read-ahead is bounded:
    memory stays flat. Articles cross without their raw XML. `evidence retag` uses it."""
    from collections import deque

    count = _worker_count(workers)
    if count < 2:
        tagger = tagger or topic_tagger(topic)
        for batch in batches:
            yield batch, [tagger(a) for a in batch]
        return
    pool = _tag_pool(topic, count)
    pending: deque = deque()
    try:
        for batch in batches:
            pending.append((batch, pool.submit(_tag_packed, [_pack(a, with_raw=False) for a in batch])))
            while len(pending) > 2 * count:
                batch, future = pending.popleft()
                yield batch, future.result()
        while pending:
            batch, future = pending.popleft()
            yield batch, future.result()
    finally:
        pool.shutdown(wait=not pending, cancel_futures=True)


def _tag_pool(topic: Topic, workers: int, initializer: Callable[..., None] | None = None, more_args: tuple = ()):
    """`workers` spawned processes set up by `init_tag_worker` (or `initializer`, which takes the
    same arguments and `more_args`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # no fork of a process holding SQLite and threads
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer or init_tag_worker,
                               initargs=(str(topic.path), os.getpid(), *more_args))


def _chain(*heads_and_rest):  # (first, second, rest) -> first, second (unless None), then rest
    *heads, rest = heads_and_rest
    yield from (h for h in heads if h is not None)
    yield from rest


_worker_tagger: Tagger | None = None


def init_tag_worker(topic_path: str, parent_pid: int) -> None:
    """Set up a tagging worker process: the topic's rules compiled once, Ctrl-C left to the
    parent, and an exit as soon as the parent is gone (after a kill -9 its pipes stay open)."""
    import signal

    from evidence_cli.refresh import exit_with_parent  # refresh's workers need the same care
    from evidence_cli.workspace import load_topic_file

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent_pid)
    global _worker_tagger
    _worker_tagger = topic_tagger(load_topic_file(Path(topic_path)))


_worker_import: tuple[str, str, str, str] | None = None  # (cache path, topic, tagger version, file label)
_worker_store: Any = None


def _init_import_worker(topic_path: str, parent_pid: int, db_path: str, topic_id: str, version: str,
                        label: str) -> None:
    """`init_tag_worker`, and what an import's worker needs to parse and skip records."""
    init_tag_worker(topic_path, parent_pid)
    global _worker_import
    _worker_import = (db_path, topic_id, version, label)


def _import_packed(packed: list) -> list[tuple[tuple, Tagging | None]]:
    """(article row, Tagging) of each record (RecordBytes or packed Article), in order; Tagging
    None for one the cache holds unchanged and tagged by this version, whose raw XML is left
    uncompressed (`save_rows` compresses it only if it writes the row, which it seldom does)."""
    from evidence_cli.store.articles import already_tagged, article_row
    from evidence_cli.store.db import open_store

    global _worker_store
    assert _worker_tagger is not None and _worker_import is not None, "_init_import_worker() runs first"
    db_path, topic_id, version, label = _worker_import
    articles = [_unpack(p) if type(p) is tuple else _parsed(p, label) for p in packed]
    if _worker_store is None:
        _worker_store = open_store(Path(db_path), create=False)
    known = already_tagged(_worker_store, topic_id, articles, version)
    return [(article_row(a, compress_raw=False), None) if a.pmid in known else (article_row(a), _worker_tagger(a))
            for a in articles]


def _tag_packed(packed: list[tuple]) -> list[Tagging]:
    assert _worker_tagger is not None, "init_tag_worker() runs first"
    return [_worker_tagger(_unpack(p)) for p in packed]


def _tag_and_row_packed(packed: list[tuple]) -> list[tuple[tuple, Tagging]]:
    """(article row, Tagging) of each record: tagged and made ready for `save_rows`."""
    from evidence_cli.store.articles import article_row

    assert _worker_tagger is not None, "init_tag_worker() runs first"
    out = []
    for p in packed:
        article = _unpack(p)
        out.append((article_row(article), _worker_tagger(article)))
    return out


def _pack(a: Article, *, with_raw: bool = True) -> tuple:
    return (
        a.pmid, a.title, tuple((s.text, s.label, s.category) for s in a.abstract), a.journal, a.journal_title,
        a.year, a.pub_date, a.authors, a.doi, a.pmcid, a.publication_types,
        tuple((m.descriptor, m.major, m.qualifiers, m.ui) for m in a.mesh), a.keywords, a.languages,
        tuple((c.ref_type, c.pmid, c.source) for c in a.corrections), a.date_revised, a.status, a.version,
        a.is_book, a.raw if with_raw else None,
    )


def _unpack(p: tuple) -> Article:
    from evidence_cli.pubmed.model import AbstractSection, Correction, MeshHeading

    (pmid, title, abstract, journal, journal_title, year, pub_date, authors, doi, pmcid, types, mesh,
     keywords, languages, corrections, date_revised, status, version, is_book, raw) = p
    return Article(
        pmid=pmid, title=title, abstract=tuple(AbstractSection(*s) for s in abstract), journal=journal,
        journal_title=journal_title, year=year, pub_date=pub_date, authors=authors, doi=doi, pmcid=pmcid,
        publication_types=types, mesh=tuple(MeshHeading(*m) for m in mesh), keywords=keywords,
        languages=languages, corrections=tuple(Correction(*c) for c in corrections),
        date_revised=date_revised, status=status, version=version, is_book=is_book, raw=raw,
    )


# --- reading the file ---------------------------------------------------------------------------


@contextmanager
def _open_source(source: str | Path, label: str) -> Iterator[IO[bytes]]:
    """The file (or stdin) as a binary stream, gunzipped when it is gzip."""
    from evidence_cli.inputs import open_input
    from evidence_cli.pubmed.xml import gunzip_if_gzip

    with open_input(source) as raw:
        yield gunzip_if_gzip(raw, label)


def sniff_records(stream: IO[bytes], label: str) -> tuple[str, Iterator[Article | Deletion]]:
    """("xml" | "medline", the record stream) from the content itself, never the file name."""
    fmt, records = _sniff(stream, label)
    return fmt, (r if isinstance(r, Deletion) else _parsed(r, label) for r in records)


def _sniff(stream: IO[bytes], label: str) -> tuple[str, Iterator[Record | Deletion]]:
    """`sniff_records`, PubMed XML records left as their bytes (`split_records`)."""
    from evidence_cli.pubmed.xml import PrefixedStream, split_records

    try:
        head = stream.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    rest = io.BufferedReader(PrefixedStream(head, stream))
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise InputError(f"{label}: the file is empty")
    if text.startswith(b"<"):
        return "xml", split_records(rest, name=label)
    if text[:4].rstrip() == b"PMID" and text[4:6] == b"- ":
        from evidence_cli.pubmed.medline import iter_medline

        return "medline", iter_medline(rest, name=label)
    raise InputError(f"{label}: neither PubMed XML nor MEDLINE text (it starts with {_preview(text)})")


def _preview(data: bytes) -> str:
    snippet = data[:24]
    if any(b < 0x09 or 0x0E <= b < 0x20 for b in snippet):
        return "binary data"
    try:
        return repr(snippet.decode("utf-8"))
    except UnicodeDecodeError:
        return "binary data"
