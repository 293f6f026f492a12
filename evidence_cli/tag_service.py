"""`evidence tag` (JSON Lines in, JSON Lines out, no cache) and `evidence retag` (the cache).

The tagger itself is pure (`evidence_cli.tagging`); this module holds the I/O around it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from evidence_cli.errors import InputError
from evidence_cli.inputs import open_input
from evidence_cli.workspace import Workspace

RETAG_BATCH = 1000  # records per transaction: one commit per batch keeps retag fast
POOL_FROM = 4 * RETAG_BATCH  # records of a topic from which worker processes tag (start-up ~0.3 s)


def tag_jsonl(workspace: Workspace, topic_id: str | None, source: str, emit: Callable[[str], None]) -> int:
    """Tag each JSON line of `source` (`-` is stdin) and `emit` one JSON line per record, in order.

    A malformed line stops the run with an InputError naming the line; lines before it are out.
    Blank lines are skipped. Returns the number of records tagged.
    """
    from evidence_cli.tagging import compile_rules

    rules = compile_rules(tag_topic(workspace, topic_id))
    label = "stdin" if source == "-" else source
    count = 0
    with open_input(source) as stream:
        for line in tag_lines(stream, rules, label):
            emit(line)
            count += 1
    return count


DEFAULT_TOPIC = Path(__file__).resolve().parents[1] / "queries" / "ketamine-depression.toml"


def tag_topic(workspace: Workspace, topic_id: str | None):
    """The workspace's topic; in a folder with no topics at all, the repository's default topic
    (`evidence tag` needs no workspace: INTERFACE.md names ketamine-depression the default)."""
    from evidence_cli.workspace import load_topic_file

    if not workspace.topic_ids() and topic_id in (None, DEFAULT_TOPIC.stem) and DEFAULT_TOPIC.is_file():
        return load_topic_file(DEFAULT_TOPIC)
    return workspace.resolve_topic(topic_id)


def tag_lines(stream: Iterable[bytes], rules, label: str = "input") -> Iterator[str]:
    """JSON Lines (bytes) -> tagged JSON lines; InputError on the first bad line."""
    from evidence_cli.tagging import tag_record

    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{label}: line {number}: not UTF-8 text (byte {exc.start + 1})") from None
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{label}: line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise InputError(f"{label}: line {number}: expected a JSON object, got {type(record).__name__}")
        try:
            tagged = tag_record(record, rules)
        except InputError as exc:
            raise InputError(f"{label}: line {number}: {exc.message}") from None
        yield json.dumps(tagged, ensure_ascii=False)


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class RetagResult:
    topic: str
    records: int
    seconds: float

    def summary(self) -> str:
        rate = f", {self.records / self.seconds:,.0f} records/s" if self.seconds > 0 and self.records else ""
        return f"retagged {self.records:,} records of topic {self.topic} ({self.seconds:.1f} s{rate})"


def retag(
    workspace: Workspace,
    topic_ids: Iterable[str] = (),
    *,
    batch_size: int = RETAG_BATCH,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> list[RetagResult]:
    """Recompute the tags of every cached record of the topics (all topics when none is named).

    `workers`: processes that tag in parallel, as `evidence import` does, for a topic of at least
    POOL_FROM records (default: one per CPU; 0 or 1 tags in this process)."""
    from evidence_cli.ingest import tag_batches
    from evidence_cli.store.articles import iter_topic_articles, topic_record_count
    from evidence_cli.store.db import open_store
    from evidence_cli.store.tags import save_tags
    from evidence_cli.tagging import compile_rules, tag_article, tags_version

    ids = list(topic_ids) or workspace.topic_ids()
    topics = [workspace.load_topic(t) for t in ids]  # every topic file checked before any write
    rules = {t.id: compile_rules(t) for t in topics}
    results = []
    store = open_store(workspace.db_path, create=False)
    try:
        for topic in topics:
            started = time.monotonic()
            total = 0
            version = tags_version(rules[topic.id])
            pool = workers if topic_record_count(store, topic.id) >= POOL_FROM else 0
            articles = _chunks(iter_topic_articles(store, topic.id, chunk=batch_size), batch_size)
            here = partial(tag_article, rules=rules[topic.id])
            for batch, taggings in tag_batches(articles, topic, pool, here):
                total += save_tags(store, topic.id, [(a.pmid, t) for a, t in zip(batch, taggings)], version)
                if progress is not None:
                    progress(len(batch))
            results.append(RetagResult(topic.id, total, time.monotonic() - started))
    finally:
        store.close()
    return results
