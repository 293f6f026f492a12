"""`evidence import`: a PubMed export file -> parsed -> tagged with a topic's rules -> the cache.

Streams: records are parsed, tagged and stored in batches of `BATCH_SIZE`, each batch in one
transaction, so a 30,000-record baseline file imports in flat memory. On a bad file (not
UTF-8, not PubMed, truncated) the batches stored before the error stay, nothing of the batch
in progress is written, and re-running the import on a fixed file is cheap (unchanged records
are skipped).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from evidence_cli.errors import InputError
from evidence_cli.pubmed.model import Article, Deletion
from evidence_cli.tagging.model import Tagging
from evidence_cli.workspace import Topic, Workspace

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
    deleted: int = 0  # cached records removed by DeleteCitation
    deletions: int = 0  # PMIDs the file's DeleteCitation blocks list (cached or not)
    seconds: float = 0.0

    def summary(self) -> str:
        """The one line `evidence import` prints on stderr."""
        rate = f", {self.records / self.seconds:,.0f} records/s" if self.seconds > 0 and self.records else ""
        deleted = f"; {self.deleted:,} deleted of {self.deletions:,} listed for deletion" if self.deletions else ""
        return (
            f"imported {self.records:,} records from {self.source} into topic {self.topic}: "
            f"{self.added:,} new, {self.updated:,} updated, {self.skipped:,} skipped (unchanged)"
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
) -> ImportResult:
    """Import a PubMed XML or MEDLINE file (plain or gzip; `-` is stdin) into the workspace's cache."""
    from evidence_cli.store.db import open_store
    from evidence_cli.store.runs import finish_run, start_run

    topic = workspace.resolve_topic(topic_id)
    tagger = topic_tagger(topic)
    label = "stdin" if str(source) == "-" else str(source)
    started = time.monotonic()
    with _open_source(source, label) as stream:
        fmt, records = sniff_records(stream, label)
        store = open_store(workspace.db_path)
        try:
            run_id = start_run(store, topic.id, "import", query=f"import {label}")
            try:
                totals = store_records(store, topic.id, tagger, records, batch_size=batch_size,
                                       run_id=run_id, progress=progress)
            except BaseException as exc:
                outcome = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                finish_run(store, run_id, outcome, error=str(exc) or type(exc).__name__)
                raise
            finish_run(store, run_id, "complete", added=totals.added, updated=totals.updated,
                       deleted=totals.deleted, count=totals.records,
                       duration_s=round(time.monotonic() - started, 3))
        finally:
            store.close()
    return ImportResult(
        topic=topic.id, source=label, format=fmt, records=totals.records, added=totals.added,
        updated=totals.updated, skipped=totals.unchanged, deleted=totals.deleted,
        deletions=totals.deletions, seconds=time.monotonic() - started,
    )


def topic_tagger(topic: Topic) -> Tagger:
    """tag_article bound to the topic's compiled claim rules."""
    from evidence_cli.tagging.rules import compile_rules
    from evidence_cli.tagging.tagger import tag_article

    rules = compile_rules(topic)
    return lambda article: tag_article(article, rules)


def tagger_version() -> str:
    from evidence_cli import tagging

    return str(getattr(tagging, "TAGGER_VERSION", ""))


@dataclass
class Totals:
    records: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    deletions: int = 0


def store_records(
    store,  # evidence_cli.store.db.Store
    topic_id: str,
    tagger: Tagger,
    records: Iterable[Article | Deletion],
    *,
    batch_size: int = BATCH_SIZE,
    run_id: int | None = None,
    progress: Progress | None = None,
) -> Totals:
    """Tag and store a stream of records, `batch_size` per transaction, deletions in file order."""
    from evidence_cli.store.articles import delete_articles, save_batch

    version = tagger_version()
    totals = Totals()
    batch: list[tuple[Article, Tagging]] = []

    def flush() -> None:
        if not batch:
            return
        result = save_batch(store, batch, topic=topic_id, run_id=run_id, tagger_version=version)
        totals.added += result.added
        totals.updated += result.updated
        totals.unchanged += result.unchanged
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for record in records:
        if isinstance(record, Deletion):
            flush()  # a record deleted later in the file must be stored first, then removed
            totals.deletions += len(record.pmids)
            totals.deleted += delete_articles(store, record.pmids, run_id=run_id)
            continue
        totals.records += 1
        batch.append((record, tagger(record)))
        if len(batch) >= batch_size:
            flush()
    flush()
    return totals


# --- reading the file ---------------------------------------------------------------------------


class _open_source:
    """The file (or stdin) as a binary stream, gunzipped when it is gzip."""

    def __init__(self, source: str | Path, label: str) -> None:
        self.source, self.label = source, label
        self.fh: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        from evidence_cli.pubmed.xml import gunzip_if_gzip

        if str(self.source) == "-":
            return gunzip_if_gzip(sys.stdin.buffer)
        path = Path(self.source)
        if path.is_dir():
            raise InputError(f"{self.label}: is a folder, not a file")
        try:
            self.fh = open(path, "rb")  # noqa: SIM115 - closed in __exit__
        except OSError as exc:
            raise InputError(f"{self.label}: cannot read: {exc.strerror or exc}") from None
        return gunzip_if_gzip(self.fh)

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


def sniff_records(stream: IO[bytes], label: str) -> tuple[str, Iterator[Article | Deletion]]:
    """("xml" | "medline", the record stream) from the content itself, never the file name."""
    from evidence_cli.pubmed.xml import PrefixedStream, iter_records

    try:
        head = stream.read(SNIFF_BYTES)
    except (EOFError, OSError) as exc:
        raise InputError(f"{label}: truncated or corrupt gzip data ({exc})") from None
    rest = io.BufferedReader(PrefixedStream(head, stream))
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise InputError(f"{label}: the file is empty")
    if text.startswith(b"<"):
        return "xml", iter_records(rest, name=label)
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
