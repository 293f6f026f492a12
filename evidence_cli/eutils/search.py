"""Retrieval on top of the client: every PMID of a search, and the records of a PMID list.

PubMed hands out at most 9,999 ids of one search (and refuses to page past them). When Count
is larger, the search is split by date range (entry date by default: every record has one),
bisecting slices that are still too large, and the slices must add up to Count: a shortfall is
an IncompleteError, never a silent gap.

efetch goes by POSTed id lists of `batch_size` (500), not by history-server pages: batches can
then span date slices (so a run costs esearch calls + ceil(N / 500) efetch calls), records the
cache already holds can be left out, and each answer can be checked id by id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from evidence_cli.errors import EvidenceError, IncompleteError
from evidence_cli.eutils.client import ESEARCH_MAX, EutilsClient, SearchPage
from evidence_cli.pubmed.model import Article
from evidence_cli.pubmed.xml import (
    DocumentCut,
    cut_document,
    parse_records,
)

BATCH_SIZE = 500
EARLIEST = date(1800, 1, 1)  # older than any PubMed entry or publication date worth slicing
OPEN_MIN, OPEN_MAX = "1000/01/01", "3000/12/31"  # what an open end of a date range is sent as
MISSING_RETRIES = 2  # extra efetch rounds for ids an answer left out


NCBI_TIME_ZONE = "America/New_York"  # PubMed's entry and modification days are US Eastern days
NCBI_DAY_MARGIN = timedelta(hours=1)  # clock skew: our idea of NCBI's day must never run ahead of NCBI's
MAX_DAY_SPLIT = 31  # a longer mdat window is searched once, not resolved day by day


def ncbi_date(day: date) -> str:
    return day.strftime("%Y/%m/%d")


def ncbi_today(now: datetime | None = None) -> date:
    """The day PubMed dates a modification made now, never later than NCBI's own day.

    US Eastern time, an hour early: at worst a record looks fetched a day earlier than it was
    (one spare refetch), never later (a missed revision). Eastern is also never later than UTC.
    """
    from zoneinfo import ZoneInfo

    moment = (now or datetime.now(UTC)) - NCBI_DAY_MARGIN
    return moment.astimezone(ZoneInfo(NCBI_TIME_ZONE)).date()


@dataclass
class SearchResult:
    """Every PMID a search matched, in NCBI's order, with NCBI's own description of the search."""

    count: int
    ids: list[str]
    translation: str
    slices: int = 1  # how many searches the 9,999 cap split it into
    esearch_calls: int = 0


def search_all(
    client: EutilsClient,
    term: str,
    *,
    datetype: str = "edat",
    since: date | None = None,
    today: date | None = None,
    on_count: Callable[[int], None] | None = None,
) -> SearchResult:
    """All PMIDs matching `term` (with `datetype` on or after `since`, when given). `on_count`
    hears the Count as soon as the first search answers, before any slice is searched."""
    today = today or date.today()
    lo = since or EARLIEST
    hi = today + timedelta(days=2)  # NCBI's "today" runs ahead of some time zones
    calls = 0
    ids: dict[str, None] = {}  # an ordered set
    leaves = 0

    def search(first: date, last: date) -> SearchPage:
        nonlocal calls
        calls += 1
        if since is None and (first, last) == (lo, hi):
            return client.esearch(term)  # the whole query: Count includes records without a date
        return client.esearch(
            term,
            datetype=datetype,
            mindate=OPEN_MIN if since is None and first == lo else ncbi_date(first),
            maxdate=OPEN_MAX if last == hi else ncbi_date(last),  # open: nothing dated later is lost
        )

    def collect(first: date, last: date, known: int | None = None) -> int:
        """Add the ids of [first, last] to `ids`; return its count. `known`: the count, already > 9,999."""
        nonlocal leaves
        if known is None:
            page = search(first, last)
            if page.count <= ESEARCH_MAX:
                _check_complete(page.ids, page.count, f"esearch {datetype} {first}..{last}")
                ids.update(dict.fromkeys(page.ids))
                leaves += 1
                return page.count
            known = page.count
        if first >= last:
            raise too_many_on_one_day(known, datetype, first)
        mid = first + (last - first) // 2
        left = collect(first, mid)
        right = known - left
        # The halves partition the parent, so the right half's count is known: a half still too
        # big is split without asking, and an empty one is not asked about at all.
        if right > ESEARCH_MAX:
            collect(mid + timedelta(days=1), last, right)
        elif right > 0:
            collect(mid + timedelta(days=1), last)
        return known

    top = search(lo, hi)
    if on_count is not None:
        on_count(top.count)
    if top.count <= ESEARCH_MAX:
        _check_complete(top.ids, top.count, "esearch")
        return SearchResult(top.count, list(top.ids), top.translation, 1, calls)
    collect(lo, hi, top.count)
    if len(ids) < top.count:
        raise IncompleteError(
            f"date slices by {datetype} found {len(ids)} of the {top.count} records PubMed counts "
            f"for the query ({top.count - len(ids)} missing)"
        )
    return SearchResult(top.count, list(ids), top.translation, leaves, calls)


def search_days(
    client: EutilsClient,
    term: str,
    *,
    datetype: str,
    first: date,
    last: date,
    narrow: Callable[[Sequence[str], date, date], bool],
) -> dict[str, tuple[date, date]]:
    """Every PMID of `term` with `datetype` on or after `first`, each with the days its date lies
    between (both the same: that day exactly). `last` is NCBI's today as we reckon it; the newest
    slice is open ended, and a record NCBI dates later (its clock ahead of ours) is dated
    `last` + 1 day, "later than today".

    A slice is halved while `narrow(ids, lo, hi)` says some of its ids need a closer date, and
    while it holds more than 9,999 ids. Halving costs one search: the older half is searched and
    the newer half is what the slice held besides. A window longer than MAX_DAY_SPLIT days is
    halved only for the cap: day by day would cost a search per day.
    """
    last = max(first, last) + timedelta(days=1)  # the open end
    found: dict[str, tuple[date, date]] = {}
    day_by_day = (last - first).days <= MAX_DAY_SPLIT + 1
    counted: list[int] = []  # what each search counted; the first is the whole window's

    def walk(lo: date, hi: date, ids: list[str] | None = None, count: int | None = None) -> list[str]:
        """Date the ids of [lo, hi] (searched here unless given); return them."""
        if ids is None:
            if count is not None and count <= 0:
                return []
            page = client.esearch(term, datetype=datetype, mindate=ncbi_date(lo),
                                  maxdate=OPEN_MAX if hi == last else ncbi_date(hi), usehistory=False)
            count = page.count
            counted.append(count)
            if count <= ESEARCH_MAX:
                _check_complete(page.ids, count, f"esearch {datetype} {lo}..{hi}")
                ids = list(dict.fromkeys(page.ids))
        if ids is not None and (not ids or lo == hi or not day_by_day or not narrow(ids, lo, hi)):
            for pmid in ids:  # seen twice (revised between two searches): the newer range holds
                found[pmid] = max(found.get(pmid, (lo, hi)), (lo, hi))
            return ids
        if lo >= hi:
            raise too_many_on_one_day(count, datetype, lo)
        mid = lo + (hi - lo) // 2
        older = walk(lo, mid)
        if ids is not None:
            seen = set(older)
            return older + walk(mid + timedelta(days=1), hi, [i for i in ids if i not in seen])
        assert count is not None  # the newer half holds the rest of the count
        return older + walk(mid + timedelta(days=1), hi, None, count - len(older))

    walk(first, last)
    if len(found) < counted[0]:
        raise IncompleteError(
            f"date slices by {datetype} found {len(found)} of the {counted[0]} records PubMed counts "
            f"since {first} ({counted[0] - len(found)} missing)"
        )
    return found


def too_many_on_one_day(count: int | None, datetype: str, day: date) -> IncompleteError:
    return IncompleteError(
        f"{count} records share the {datetype} {day}: more than the 9,999 PubMed hands out "
        "for one search; narrow the topic's query"
    )


def _check_complete(ids: Sequence[str], count: int, what: str) -> None:
    if len(set(ids)) < count:
        raise IncompleteError(f"{what} listed {len(set(ids))} of the {count} records it counted")


@dataclass
class FetchedBatch:
    """One efetch batch, not yet parsed: its answers, each cut between records by `cut_document`
    (which reads each record's own PMID on the way), and which asked-for ids they hold.

    `parse()` (run where the CPU is) checks the parsed records against those ids, so a record that
    does not parse is reported, never a gap.
    """

    requested: list[str]
    answers: list[DocumentCut]
    found: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)

    @property
    def bodies(self) -> list[bytes]:
        return [answer.data for answer in self.answers]

    def parse(self) -> tuple[list[Article], list[str]]:
        return parse_bodies(self.bodies, self.requested, self.found)


def parse_bodies(bodies: Sequence[bytes], requested: Sequence[str], found: set[str]) -> tuple[list[Article], list[str]]:
    """(articles in request order, ids the cut saw but no parsed record holds)."""
    wanted = set(requested)
    parsed: dict[str, Article] = {}
    for body in bodies:
        try:
            records = parse_records(body, name="efetch answer")
        except EvidenceError:
            continue  # complete-looking but unparsable: its ids are reported below
        for record in records:
            if isinstance(record, Article) and record.pmid in wanted:
                parsed[record.pmid] = record
    articles = [parsed[pmid] for pmid in requested if pmid in parsed]
    return articles, sorted(found - parsed.keys())


def fetch_batch(client: EutilsClient, ids: Sequence[str]) -> FetchedBatch:
    """efetch `ids`; ids an answer leaves out are asked for again, then reported missing."""
    wanted = set(ids)
    found: set[str] = set()
    answers: list[DocumentCut] = []
    ask = list(ids)
    for _round in range(1 + MISSING_RETRIES):
        answer = cut_document(client.efetch(ask))
        got = set(answer.pmids) & wanted
        if got - found:
            answers.append(answer)
            found |= got
        ask = [pmid for pmid in ask if pmid not in found]
        if not ask:
            break
    return FetchedBatch(list(ids), answers, found, ask)
