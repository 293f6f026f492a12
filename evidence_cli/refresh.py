"""`evidence refresh`: a topic's saved query -> the E-utilities -> parsed -> tagged -> the cache.

A first run fetches every record of the query; a later run searches the records entered (edat)
or modified (mdat) since the last COMPLETE run, with OVERLAP_DAYS of overlap, and fetches those
not cached and those PubMed revised after they were fetched (see `stale`), so a run with nothing
new makes its esearch calls and no efetch. `--full` refetches everything.

Each efetch batch is tagged and stored in one transaction, so Ctrl-C or kill -9 at any moment
leaves the cache consistent. A first run that was interrupted resumes: records it already
stored for the topic are not fetched again. Fetching runs in a thread ahead of tagging and
storing, so the work overlaps the waits NCBI's rate limit imposes. In a big run, worker processes
(started while the searches run) parse each answer, cut in one part per worker, tag the records
and build their rows; this process runs the SQL, so the fetching thread rarely waits for it.

One refresh per workspace at a time: an exclusive lock file in cache/ (`LockedError`, or wait).
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from evidence_cli.errors import EvidenceError, IncompleteError, LockedError, TopicError
from evidence_cli.workspace import Topic, Workspace

OVERLAP_DAYS = 3  # NCBI dates records in US Eastern time and indexes late: look back a little
LOCK_FILE = "refresh.lock"
PREFETCH_BATCHES = 4  # fetched batches waiting for tag+store, at most


class Progress(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def update(self, *, total: int | None = None, description: str | None = None) -> None: ...


@dataclass(frozen=True)
class TopicRefresh:
    """What one topic's refresh did (the summary line and the run log hold the same facts)."""

    topic: str
    kind: str  # "full" (first run or --full) or "incremental"
    count: int  # records PubMed counts for the query
    translation: str
    matched: int  # ids the searches returned (the window's, for an incremental run)
    fetched: int  # records received by efetch
    added: int
    updated: int
    total: int  # records of the topic in the cache afterwards
    requests: int
    esearch: int
    efetch: int
    seconds: float
    outcome: str = "complete"
    removed: int = 0  # records refresh had linked that a whole search no longer returns

    def summary(self) -> str:
        """The one line `evidence refresh` prints per topic on stderr."""
        window = "" if self.kind == "full" else " (incremental)"
        removed = f", {self.removed:,} no longer matched" if self.removed else ""
        return (
            f"{self.topic}: {self.added:,} new, {self.updated:,} updated{removed}, {self.total:,} total{window}; "
            f"PubMed count {self.count:,}; {self.requests} requests in {self.seconds:.1f} s"
        )


# --- the workspace lock -------------------------------------------------------------------------


@contextmanager
def refresh_lock(workspace: Workspace, *, wait: bool = False) -> Iterator[None]:
    """Exclusive for one refresh of this workspace; the OS drops it when the process dies."""
    workspace.cache_dir.mkdir(parents=True, exist_ok=True)
    path = workspace.cache_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise LockedError(
                f"another `evidence refresh` (pid {holder}) is updating {workspace.cache_dir}; "
                "try again when it ends, or pass --wait"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


# --- the service --------------------------------------------------------------------------------


def refresh_workspace(
    workspace: Workspace,
    topic_ids: Sequence[str] = (),
    *,
    full: bool = False,
    wait: bool = False,
    progress: Progress | None = None,
    on_result: Callable[[TopicRefresh], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[TopicRefresh]:
    """Refresh the named topics (all of the workspace's when none). Every topic is tried; the
    first error is raised after the others ran, so one bad query does not stall a cron job.
    `warn` receives the warnings for people (None: nowhere, as with --quiet)."""
    from evidence_cli.eutils.client import ClientConfig, EutilsClient
    from evidence_cli.store.db import open_store

    topics = [workspace.load_topic(t) for t in dict.fromkeys(topic_ids)] or workspace.topics()
    if not topics:
        raise TopicError(f"no topics in {workspace.queries_dir}: add a queries/<topic>.toml")
    config = ClientConfig.from_env(workspace.cache_dir)
    results: list[TopicRefresh] = []
    first_error: EvidenceError | None = None
    with refresh_lock(workspace, wait=wait):
        store = open_store(workspace.db_path)
        try:
            with EutilsClient(config, warn=warn) as client:
                for topic in topics:
                    try:
                        result = refresh_topic(store, client, topic, full=full, progress=progress)
                    except EvidenceError as exc:
                        exc.args = (client.mask(f"{topic.id}: {exc.message}"),)
                        first_error = first_error or exc
                        continue
                    results.append(result)
                    if on_result is not None:
                        on_result(result)
        finally:
            store.close()
    if first_error is not None:
        raise first_error
    return results


def refresh_topic(store: Any, client: Any, topic: Topic, *, full: bool = False,
                  progress: Progress | None = None, today: date | None = None) -> TopicRefresh:
    """One topic: search, fetch what is missing or changed, tag and store it batch by batch."""
    from evidence_cli.eutils.search import ncbi_today
    from evidence_cli.store.articles import now_iso, topic_record_count, unlink_unmatched
    from evidence_cli.store.runs import chain_start, finish_run, last_run, mark_abandoned_runs, start_run, update_run

    today = today or ncbi_today()  # NCBI's day as the run starts: what its fetches are dated
    started = time.monotonic()
    counts_before = dict(client.counts)
    linked_before = topic_record_count(store, topic.id)
    mark_abandoned_runs(store, topic.id)
    last_ok = last_run(store, topic.id, outcome="complete", kinds=("full", "incremental"))
    since = None
    # A changed query needs a whole search: records it newly matches may be old and unmodified.
    if last_ok is not None and not full and last_ok.query == topic.query:
        fresh_as_of = last_ok.window_end or last_ok.started_at
        since = date.fromisoformat(fresh_as_of[:10]) - timedelta(days=OVERLAP_DAYS)
    kind = "incremental" if since else "full"
    run_id = start_run(store, topic.id, kind, query=topic.query, window_start=since.isoformat() if since else None)
    # Everything is fresh as of the start of the first run after the last complete one: records
    # an interrupted run stored are skipped now, and must fall in the next run's window.
    fresh_as_of = chain_start(store, topic.id, last_ok.id if last_ok else 0) or now_iso()

    def requests_so_far() -> dict[str, int]:
        return {u: client.counts[u] - counts_before.get(u, 0) for u in ("esearch", "efetch", "epost", "esummary")}

    totals = _Totals()
    processor = _Processor(topic)

    def counted(count: int) -> None:  # a whole search's Count: start the workers if they will pay
        processor.start_workers(worker_count(count if full else count - linked_before))

    try:
        plan = _plan(store, client, topic, since=since, full=full, today=today, on_count=counted)
        update_run(store, run_id, count=plan.count, query_translation=plan.translation)
        if progress is not None:
            progress.update(total=len(plan.to_fetch), description=f"{topic.id}: fetching")
        if plan.relink:
            _link_cached(store, topic, processor.version(), plan.relink, run_id, totals)
        missing = _fetch_and_store(store, client, topic, plan.to_fetch, run_id, totals, progress, today, processor)
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise IncompleteError(
                f"efetch did not return {len(missing)} of the {len(plan.to_fetch)} records asked for "
                f"(PMIDs {shown}); the others are stored: run refresh again"
            )
        # A complete whole search is the topic's membership: what it no longer returns (the query
        # changed, PubMed withdrew it) leaves the topic, so the counts stay true. Imports stay.
        removed = unlink_unmatched(store, topic.id, plan.all_ids, run_id=run_id) if plan.all_ids is not None else 0
    except BaseException as exc:
        processor.close(cancel=True)
        outcome = ("interrupted" if isinstance(exc, KeyboardInterrupt)
                   else "incomplete" if isinstance(exc, IncompleteError) else "failed")
        message = exc.message if isinstance(exc, EvidenceError) else (str(exc) or type(exc).__name__)
        finish_run(store, run_id, outcome, error=client.mask(message),
                   added=topic_record_count(store, topic.id) - linked_before,
                   updated=totals.updated, requests=sum(requests_so_far().values()),
                   duration_s=round(time.monotonic() - started, 3))
        raise
    processor.close()
    seconds = time.monotonic() - started
    made = requests_so_far()
    total = topic_record_count(store, topic.id)
    added = total + removed - linked_before  # new to the topic (cached for another topic or not)
    finish_run(store, run_id, "complete", added=added, updated=totals.updated, deleted=removed,
               requests=sum(made.values()), duration_s=round(seconds, 3), window_end=fresh_as_of)
    return TopicRefresh(
        topic=topic.id, kind=kind, count=plan.count, translation=plan.translation, matched=plan.matched,
        fetched=totals.fetched, added=added, updated=totals.updated, total=total,
        requests=sum(made.values()), esearch=made["esearch"], efetch=made["efetch"], seconds=seconds,
        removed=removed,
    )


@dataclass
class _Plan:
    count: int
    translation: str
    matched: int
    to_fetch: list[str]
    relink: list[str]  # PMIDs cached (for another topic) that only need linking and tagging
    all_ids: frozenset[str] | None = None  # a whole search's complete result (None: incremental)


# Which cached records an incremental run fetches again. PubMed dates a modification (mdat) by
# DAY, in US Eastern time, and efetch returns a record as it is at that moment. So a record
# fetched on day F holds every revision dated before F, and maybe not those dated F itself (made
# later that day). `fetched_day` keeps F with each record (refresh dates its fetches with
# `ncbi_today()`, which never runs ahead of NCBI's day; an imported record has its DateRevised).
# A cached record is fetched again when PubMed's mdat day for it is later than F, or is F and
# that day has ended. An immediate second run thus fetches nothing, records revised on the day
# of a fetch are fetched once more by the first run of a later day, and no revision is missed.
# Entry (edat) does not change a record: an entered record that is cached is not fetched again.


def stale(fetched_day: date | None, first: date, last: date, today: date) -> bool | None:
    """Must a cached record fetched on `fetched_day`, whose mdat lies in [first, last], be
    fetched again? None: it depends on the exact day (the mdat search is then narrowed)."""
    if fetched_day is None:
        return True

    def revised_since(mdat: date) -> bool:
        return mdat > fetched_day or (mdat == fetched_day and fetched_day < today)

    oldest, newest = revised_since(first), revised_since(last)  # monotone in mdat
    return oldest if oldest == newest else None


def _day(text: str | None) -> date | None:
    """An ISO day; None for a partial date ("2019-05", an old DateRevised), which counts as unknown."""
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _plan(store: Any, client: Any, topic: Topic, *, since: date | None, full: bool, today: date,
          on_count: Callable[[int], None] | None = None) -> _Plan:
    """What to fetch and what to link. `on_count` hears a whole search's Count as soon as the
    first esearch answers (the searches that follow take seconds at NCBI's rate)."""
    from evidence_cli.eutils.search import search_all, search_days
    from evidence_cli.store.articles import cached_pmids, fetched_days, topic_pmids

    if since is not None:
        whole = client.esearch(topic.query, retmax=0, usehistory=False)  # Count and translation for the log
        entered = search_all(client, topic.query, datetype="edat", since=since, today=today)
        cached: dict[str, date | None] = {}  # fetched day of the cached records among the ids looked up
        looked_up: set[str] = set()

        def fetched(ids: Sequence[str]) -> dict[str, date | None]:
            new = [i for i in ids if i not in looked_up]
            looked_up.update(new)
            cached.update((p, _day(d)) for p, d in fetched_days(store, new).items())
            return cached

        def narrow(ids: Sequence[str], first: date, last: date) -> bool:
            days = fetched(ids)
            return any(stale(days[i], first, last, today) is None for i in ids if i in days)

        modified = search_days(client, topic.query, datetype="mdat", first=since, last=today, narrow=narrow)
        ids = list(dict.fromkeys([*entered.ids, *modified]))
        fetched(ids)
        linked = topic_pmids(store, topic.id)
        to_fetch: list[str] = []
        relink: list[str] = []
        for pmid in ids:
            if pmid not in cached or (pmid in modified and stale(cached[pmid], *modified[pmid], today) is not False):
                to_fetch.append(pmid)
            elif pmid not in linked:
                relink.append(pmid)  # cached for another topic, and current
        return _Plan(whole.count, whole.translation, len(ids), to_fetch, relink)
    found = search_all(client, topic.query, today=today, on_count=on_count)
    ids = found.ids
    relink = []
    if not full:
        have = topic_pmids(store, topic.id)  # stored by an interrupted earlier attempt
        ids = [i for i in ids if i not in have]
        elsewhere = cached_pmids(store, ids)  # cached for another topic: link, do not refetch
        relink = [i for i in ids if i in elsewhere]
        ids = [i for i in ids if i not in elsewhere]
    return _Plan(found.count, found.translation, len(found.ids), ids, relink, frozenset(found.ids))


@dataclass
class _Totals:
    fetched: int = 0
    updated: int = 0


def _save(store: Any, topic: Topic, version: str, rows: list[tuple[tuple, Any]], run_id: int, totals: _Totals,
          fetched_day: date | None = None) -> None:
    """One batch of (article row, Tagging), one transaction; `version`: `ingest.tagger_and_version(topic)[1]`."""
    from evidence_cli.store.articles import save_rows

    done = save_rows(store, rows, topic=topic.id, run_id=run_id, tagger_version=version,
                     fetched_day=fetched_day.isoformat() if fetched_day else None)
    totals.updated += done.updated


def _link_cached(store: Any, topic: Topic, version: str, pmids: list[str], run_id: int, totals: _Totals) -> None:
    """Records another topic already cached: tag them for this topic and link them, batch by batch."""
    from evidence_cli.eutils.search import BATCH_SIZE
    from evidence_cli.ingest import topic_tagger
    from evidence_cli.store.articles import article_row, get_article

    tagger = topic_tagger(topic)
    for start in range(0, len(pmids), BATCH_SIZE):
        articles = [a for a in (get_article(store, p, with_raw=True) for p in pmids[start:start + BATCH_SIZE]) if a]
        _save(store, topic, version, [(article_row(a, compress_raw=False), tagger(a)) for a in articles], run_id, totals)


# --- parsing, tagging and building rows, in this process or in worker processes ---------------

_worker_tagger: Callable | None = None
_worker_version: str | EvidenceError = ""


def _init_worker(topic_path: str, parent_pid: int) -> None:
    """A worker process: Ctrl-C is the parent's to handle; compile the topic's rules once."""
    import signal

    from evidence_cli.ingest import tagger_and_version
    from evidence_cli.workspace import load_topic_file

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent_pid)
    global _worker_tagger, _worker_version
    try:
        topic = load_topic_file(Path(topic_path))
        _worker_tagger, _worker_version = tagger_and_version(topic)
    except EvidenceError as exc:  # a bad rule: `_warm_up` hands it over (a failed initializer breaks the pool)
        _worker_version = exc


def exit_with_parent(parent_pid: int) -> None:
    """kill -9 of the refresh must not leave its workers behind (a cron job killed every night)."""
    import signal

    try:  # Linux: the kernel kills us when the parent dies
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # it died while we were starting
        os._exit(0)

    def watch() -> None:  # elsewhere, and in case the forking thread was not the parent's main one
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _warm_up() -> str:
    """The worker's tagger version (the topic's rules compiled, in a worker: the storing process
    need not compile them too). Submitting one per worker makes the pool start them all now."""
    if isinstance(_worker_version, EvidenceError):
        raise _worker_version
    return _worker_version


def parse_tag_rows(bodies: list[bytes], requested: list[str], found: set[str], tagger: Callable | None = None,
                   *, compress_raw: bool = True) -> tuple[list[tuple[tuple, Any]], list[str]]:
    """efetch bodies -> [(article row, Tagging)] in request order, ready for `save_rows`, and the
    ids that did not parse. Workers compress the raw XML (less to send back); in this process
    `save_rows` compresses it only for the rows it writes."""
    from evidence_cli.eutils.search import parse_bodies
    from evidence_cli.store.articles import article_row

    tagger = tagger or _worker_tagger
    assert tagger is not None
    articles, unparsed = parse_bodies(bodies, requested, found)
    return [(article_row(a, compress_raw=compress_raw), tagger(a)) for a in articles], unparsed


def worker_count(n_ids: int) -> int:
    """Worker processes for parsing and tagging: none for small runs (starting them costs more)."""
    from evidence_cli.eutils.search import BATCH_SIZE

    configured = os.environ.get("EVIDENCE_WORKERS")
    if configured is not None and configured.strip().isdigit():
        return int(configured)
    if n_ids <= 2 * BATCH_SIZE:
        return 0
    return min(os.cpu_count() or 1, 4) if (os.cpu_count() or 1) > 1 else 0


class _Processor:
    """Parses, tags and builds the rows of fetched batches: here, or in worker processes once
    `start_workers` ran (as soon as the search's count says they will pay: they start while the
    remaining searches wait for the rate limit, not when the first batch arrives)."""

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        self.pool: Any = None
        self.workers = 0
        self.tagger: Callable | None = None
        self._version: str | None = None
        self._versions: list[Any] = []  # one future per worker

    def start_workers(self, workers: int) -> None:
        if self.pool is not None or not workers:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker, initargs=(str(self.topic.path), os.getpid()))
        self.workers = workers
        self._versions = [self.pool.submit(_warm_up) for _ in range(workers)]  # a process per task while none is idle

    def version(self) -> str:
        """The tagger version stored with the tags (`ingest.tagger_and_version`); a bad rule raises here."""
        if self._version is None:
            if self._versions:
                self._version = self._versions[0].result()
            else:
                self.prepare()
        return self._version  # type: ignore[return-value]  # set by one of the two

    @property
    def depth(self) -> int:
        return 2 * self.workers  # batches in flight: workers never idle while this process stores

    def prepare(self) -> None:
        """Without workers, compile the rules here before any efetch: a bad rule costs no request.
        (Workers compile them as they start, and report a bad rule at the first batch's storing.)"""
        if self.pool is None and self.tagger is None:
            from evidence_cli.ingest import tagger_and_version

            self.tagger, self._version = tagger_and_version(self.topic)

    def submit(self, batch: Any) -> Callable[[], tuple[list[tuple[tuple, Any]], list[str]]]:
        """Start parsing and tagging `batch`; the function returned waits for (rows, unparsed ids).
        With workers, an answer is cut in one part per worker: a batch takes half the time (the
        last one is all that is left to do after the last request), not half the workers."""
        if self.pool is None:
            self.prepare()
            done = parse_tag_rows(batch.bodies, batch.requested, batch.found, self.tagger, compress_raw=False)
            return lambda: done
        parts = batch.answers[0].split(self.workers) if len(batch.answers) == 1 else batch.bodies
        if len(parts) < 2:
            whole = self.pool.submit(parse_tag_rows, batch.bodies, batch.requested, batch.found)
            return whole.result
        pending = [self.pool.submit(parse_tag_rows, [part], batch.requested, set()) for part in parts]

        def merged() -> tuple[list[tuple[tuple, Any]], list[str]]:
            rows: dict[str, tuple[tuple, Any]] = {}
            for future in pending:  # a PMID twice: the later copy holds, as in one parse
                rows.update((row[0], (row, tagging)) for row, tagging in future.result()[0])
            if not batch.found <= rows.keys():
                # The cut is exact, so a record the answer holds is missing only when lxml rejected
                # the part that holds it: a malformed answer, which lxml rejects whole too. Parsed
                # whole, it comes out as it does without workers: nothing of it stored, and all its
                # ids reported missing (the ids of that part alone would be dropped silently here).
                return self.pool.submit(parse_tag_rows, batch.bodies, batch.requested, batch.found).result()
            return [rows[pmid] for pmid in batch.requested if pmid in rows], []

        return merged

    def close(self, *, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self.pool = None


def _fetch_and_store(store: Any, client: Any, topic: Topic, ids: list[str], run_id: int, totals: _Totals,
                     progress: Progress | None, fetched_day: date, processor: _Processor) -> list[str]:
    """Fetch in a thread (it mostly waits for the rate limit), parse, tag and build rows in worker
    processes when the run is big, store here, one transaction per batch. Returns the ids never
    received. The caller closes `processor`."""
    from evidence_cli.eutils.search import BATCH_SIZE, fetch_batch

    if not ids:
        return []
    batches: queue.Queue[Any] = queue.Queue(maxsize=PREFETCH_BATCHES)
    stop = threading.Event()
    done = object()

    def fetcher() -> None:
        try:
            for start in range(0, len(ids), BATCH_SIZE):
                if stop.is_set():
                    return
                batches.put(fetch_batch(client, ids[start:start + BATCH_SIZE]))
            batches.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the storing thread, which raises it
            batches.put(exc)

    processor.start_workers(worker_count(len(ids)))
    processor.prepare()
    thread = threading.Thread(target=fetcher, name="efetch", daemon=True)
    thread.start()
    missing: list[str] = []
    in_flight: deque[tuple[Any, Any]] = deque()

    def store_oldest() -> None:
        version = processor.version()  # first: a bad rule is the error to report, not its effects
        batch, result = in_flight.popleft()
        items, unparsed = result()
        if items:
            _save(store, topic, version, items, run_id, totals, fetched_day)
        totals.fetched += len(items)
        missing.extend(batch.missing + unparsed)
        if progress is not None:
            progress.advance(len(batch.requested))

    try:
        while True:
            item = batches.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                while in_flight:  # what arrived before the failure is stored, not refetched later
                    store_oldest()
                raise item
            in_flight.append((item, processor.submit(item)))
            while len(in_flight) > processor.depth:
                store_oldest()
        while in_flight:
            store_oldest()
    finally:
        # On an error or Ctrl-C, do not wait for a request in flight (it may be retrying for
        # minutes): free a queue slot so a blocked put() returns, and the fetcher sees `stop`.
        stop.set()
        try:
            batches.get_nowait()
        except queue.Empty:
            pass
    return missing
