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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from evidence_cli.errors import EvidenceError, IncompleteError
from evidence_cli.eutils.client import ESEARCH_MAX, EutilsClient, SearchPage
from evidence_cli.pubmed.model import Article

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


# The record's own PMID is the first child of MedlineCitation (or BookDocument); the PMIDs of
# CommentsCorrections and references sit deeper and are not matched.
RECORD_PMID = re.compile(rb"<(?:MedlineCitation|BookDocument)\b[^>]*>\s*<PMID\b[^>]*>\s*(\d+)\s*</PMID>")


@dataclass
class FetchedBatch:
    """One efetch batch, not yet parsed: the answers' bodies, and which asked-for ids they hold.

    The ids are read with a cheap scan so the fetching thread stays light; `parse()` (run where
    the CPU is) checks the parsed records against the scan, so a disagreement is never a gap.
    """

    requested: list[str]
    bodies: list[bytes]
    found: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)

    def parse(self) -> tuple[list[Article], list[str]]:
        return parse_bodies(self.bodies, self.requested, self.found)


def parse_bodies(bodies: Sequence[bytes], requested: Sequence[str], found: set[str]) -> tuple[list[Article], list[str]]:
    """(articles in request order, ids the scan saw but no parsed record holds)."""
    from evidence_cli.pubmed.xml import parse_records

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
    bodies: list[bytes] = []
    ask = list(ids)
    for _round in range(1 + MISSING_RETRIES):
        body = client.efetch(ask)
        got = {m.decode() for m in RECORD_PMID.findall(body)} & wanted
        if got - found:
            bodies.append(body)
            found |= got
        ask = [pmid for pmid in ask if pmid not in found]
        if not ask:
            break
    return FetchedBatch(list(ids), bodies, found, ask)
