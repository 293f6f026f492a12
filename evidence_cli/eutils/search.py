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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from evidence_cli.errors import EvidenceError, IncompleteError
from evidence_cli.eutils.client import ESEARCH_MAX, EutilsClient, SearchPage
from evidence_cli.pubmed.model import Article, Deletion

BATCH_SIZE = 500
EARLIEST = date(1800, 1, 1)  # older than any PubMed entry or publication date worth slicing
OPEN_MIN, OPEN_MAX = "1000/01/01", "3000/12/31"  # what an open end of a date range is sent as
MISSING_RETRIES = 2  # extra efetch rounds for ids an answer left out


def ncbi_date(day: date) -> str:
    return day.strftime("%Y/%m/%d")


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
) -> SearchResult:
    """All PMIDs matching `term` (with `datetype` on or after `since`, when given)."""
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
            raise IncompleteError(
                f"{known} records share the {datetype} {first}: more than the 9,999 PubMed hands out "
                "for one search; narrow the topic's query"
            )
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


def _check_complete(ids: Sequence[str], count: int, what: str) -> None:
    if len(set(ids)) < count:
        raise IncompleteError(f"{what} listed {len(set(ids))} of the {count} records it counted")


@dataclass
class FetchedBatch:
    """One efetch batch: the records received (in request order) and the ids still missing."""

    requested: list[str]
    articles: list[Article]
    deletions: list[Deletion] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def fetch_batch(client: EutilsClient, ids: Sequence[str]) -> FetchedBatch:
    """efetch `ids`; ids an answer leaves out are asked for again, then reported missing."""
    from evidence_cli.pubmed.xml import parse_records

    wanted = set(ids)
    found: dict[str, Article] = {}
    deletions: list[Deletion] = []
    ask = list(ids)
    for _round in range(1 + MISSING_RETRIES):
        body = client.efetch(ask)
        try:
            records = parse_records(body, name="efetch answer")
        except EvidenceError:
            records = []  # complete-looking but unparsable: ask again, then report missing
        for record in records:
            if isinstance(record, Deletion):
                deletions.append(record)
            elif record.pmid in wanted:
                found[record.pmid] = record
        ask = [pmid for pmid in ask if pmid not in found]
        if not ask:
            break
    articles = [found[pmid] for pmid in ids if pmid in found]
    return FetchedBatch(list(ids), articles, deletions, ask)


def fetch_all(client: EutilsClient, ids: Sequence[str], batch_size: int = BATCH_SIZE) -> Iterator[FetchedBatch]:
    for start in range(0, len(ids), batch_size):
        yield fetch_batch(client, ids[start:start + batch_size])
