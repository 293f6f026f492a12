"""The E-utilities client: the only module of the project that speaks HTTP.

One `requests.Session` (keep-alive), `tool`/`email`/`api_key` on every request, connect and read
timeouts, POST past 200 ids, NCBI's rate limit shared by the user's processes (ratelimit.py),
and retries with exponential backoff and jitter on everything NCBI does when it is busy: 429,
5xx pages, dropped connections, read timeouts, truncated bodies, and an `<ERROR>` in a 200 body
that means "try again". Retries stop after a bounded total time with a `NetworkError`.

Envelopes (esearch, epost, esummary, error bodies) are read with Bio.Entrez; article XML is only
checked for completeness here and parsed by `evidence_cli.pubmed.xml`.

The API key is secret: `mask()` scrubs it from every message this module builds, and it is
left out of reprs. Errors are raised `from None` so no traceback carries a URL holding it.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

from evidence_cli.errors import IncompleteError, NetworkError, QueryError, UsageError
from evidence_cli.eutils.ratelimit import RateLimiter

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
NCBI_HOST = "eutils.ncbi.nlm.nih.gov"
NCBI_RATE, NCBI_RATE_WITH_KEY = 3.0, 10.0  # requests per second NCBI allows
TOOL = "evidence"
POST_THRESHOLD = 200  # NCBI: "use HTTP POST for more than about 200 UIDs"
RATE_STATE_FILE = "eutils-rate.state"
ESEARCH_MAX = 9999  # PubMed hands out at most this many ids of one search
READ_CHUNK = 1 << 20

# <ERROR> texts that will not change on a retry. Everything else NCBI puts in <ERROR> on a 200
# ("Search Backend failed", "Unable to obtain query #1", "Your session has expired", ...) is a
# busy or restarting backend, and the same request later succeeds.
PERMANENT_ERRORS = re.compile(
    r"cannot be larger than|out of acceptable range|invalid|empty id list|"
    r"neither query_key nor id|api key",
    re.IGNORECASE,
)
RETSTART_CAP = re.compile(r"cannot be larger than|out of acceptable range", re.IGNORECASE)
# Warnings that mean the query is not what the user wrote (OutputMessage "No items found." is not one).
QUERY_WARNINGS = ("QuotedPhraseNotFound", "PhraseIgnored", "FieldNotFound")

_email_warned = False


class Retry(Exception):
    """A response that is worth sending again (internal: never leaves this module)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class ClientConfig:
    base_url: str = DEFAULT_BASE_URL
    email: str | None = None
    api_key: str | None = field(default=None, repr=False)
    rate: float = 3.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry_seconds: float = 600.0  # total time budget for retries of one request
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    rate_state: Path | None = None  # shared limiter state; None: this process only

    def __post_init__(self) -> None:
        # EVIDENCE_RATE is a knob for tests against the fake: NCBI's own server never gets more
        # than NCBI allows, whatever it says.
        cap = ncbi_rate_cap(self.base_url, self.api_key)
        if cap is not None and self.rate > cap:
            object.__setattr__(self, "rate", cap)

    @classmethod
    def from_env(cls, cache_dir: Path | None = None, env: Mapping[str, str] | None = None) -> ClientConfig:
        """NCBI_EMAIL, NCBI_API_KEY, EVIDENCE_EUTILS_URL; the EVIDENCE_RATE / _TIMEOUT /
        _RETRY_SECONDS / _BACKOFF tuning knobs exist for tests and benches."""
        env = os.environ if env is None else env
        api_key = env.get("NCBI_API_KEY") or None
        rate = _env_float(env, "EVIDENCE_RATE", NCBI_RATE_WITH_KEY if api_key else NCBI_RATE)
        base = _env_url(env, "EVIDENCE_EUTILS_URL", DEFAULT_BASE_URL)
        return cls(
            base_url=base,
            email=env.get("NCBI_EMAIL") or None,
            api_key=api_key,
            rate=rate,
            read_timeout=_env_float(env, "EVIDENCE_TIMEOUT", cls.read_timeout),
            connect_timeout=min(_env_float(env, "EVIDENCE_TIMEOUT", cls.connect_timeout), cls.connect_timeout),
            retry_seconds=_env_float(env, "EVIDENCE_RETRY_SECONDS", cls.retry_seconds),
            backoff_base=_env_float(env, "EVIDENCE_BACKOFF", cls.backoff_base),
            rate_state=shared_rate_state(base, api_key, env) or (cache_dir / RATE_STATE_FILE if cache_dir else None),
        )


def _env_url(env: Mapping[str, str], name: str, default: str) -> str:
    """An http(s) base URL from the environment, ending in "/"; a clear error for anything else."""
    raw = env.get(name) or default
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(f"{name}={raw!r} is not an http(s) URL (NCBI's is {DEFAULT_BASE_URL})")
    return raw if raw.endswith("/") else raw + "/"


def shared_rate_state(base_url: str, api_key: str | None, env: Mapping[str, str]) -> Path | None:
    """The limiter's state file shared by every workspace of this user that talks to the same
    server with the same key (NCBI counts requests per key, or per IP address without one), so
    two cron jobs in two workspaces stay within the limit together. It lives in the user's cache
    folder ($XDG_CACHE_HOME, else ~/.cache); None when there is none we can write to."""
    import hashlib
    root = env.get("XDG_CACHE_HOME") or (str(Path(env["HOME"]) / ".cache") if env.get("HOME") else None)
    if not root or not Path(root).is_absolute():
        return None
    parts = urlsplit(base_url)
    key = hashlib.sha256(api_key.encode()).hexdigest() if api_key else "no-key"
    digest = hashlib.sha256(f"{parts.netloc.lower()}\n{key}".encode()).hexdigest()[:16]
    folder = Path(root) / "evidence"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / f"eutils-rate-{digest}.state" if os.access(folder, os.W_OK) else None


def ncbi_rate_cap(base_url: str, api_key: str | None) -> float | None:
    """NCBI's rate limit when `base_url` is NCBI's E-utilities server (None: another server)."""
    host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    if host != NCBI_HOST:
        return None
    return NCBI_RATE_WITH_KEY if api_key else NCBI_RATE


def print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise UsageError(f"{name} must be positive, not {raw}")
    return value


@dataclass(frozen=True)
class SearchPage:
    """One esearch answer."""

    count: int
    ids: tuple[str, ...]
    translation: str
    webenv: str | None = None
    query_key: str | None = None


T = TypeVar("T")


class EutilsClient:
    def __init__(self, config: ClientConfig, *, sleep: Callable[[float], None] = time.sleep,
                 warn: Callable[[str], None] | None = print_warning) -> None:
        """`warn`: where warnings for people go, once per process (None: nowhere, as with --quiet)."""
        import requests  # here, not at module import: keeps `evidence --help` fast

        self.config = config
        self._requests = requests
        self._session = requests.Session()
        self._session.headers["User-Agent"] = f"{TOOL} (+https://www.ncbi.nlm.nih.gov/books/NBK25497/)"
        self._limiter = RateLimiter(config.rate, config.rate_state)
        self._sleep = sleep
        self.counts: Counter[str] = Counter()  # HTTP requests sent, per utility (retries included)
        global _email_warned
        if not config.email and not _email_warned and warn is not None:
            _email_warned = True
            warn("NCBI_EMAIL is not set; NCBI asks every E-utilities user for a contact address")

    def __repr__(self) -> str:
        return f"EutilsClient(base_url={self.config.base_url!r}, rate={self.config.rate}, api_key={'***' if self.config.api_key else None})"

    @property
    def requests_made(self) -> int:
        return sum(self.counts.values())

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mask(self, text: str) -> str:
        key = self.config.api_key
        return text.replace(key, "***") if key else text

    # -- the utilities -------------------------------------------------------------------

    def esearch(
        self,
        term: str,
        *,
        datetype: str | None = None,
        mindate: str | None = None,
        maxdate: str | None = None,
        retmax: int = ESEARCH_MAX,
        retstart: int = 0,
        usehistory: bool = True,
    ) -> SearchPage:
        """One esearch of PubMed; NCBI's ErrorList (and query warnings) raise QueryError."""
        params: dict[str, Any] = {"db": "pubmed", "term": term, "retmax": retmax, "retstart": retstart}
        if usehistory:
            params["usehistory"] = "y"
        if datetype:
            params.update(datetype=datetype, mindate=mindate or "1000/01/01", maxdate=maxdate or "3000/12/31")
        record = self._call("esearch", params, parse_envelope)
        _raise_query_problems(record, term)
        return SearchPage(
            count=int(record["Count"]),
            ids=tuple(str(i) for i in record.get("IdList", [])),
            translation=str(record.get("QueryTranslation", "")),
            webenv=str(record["WebEnv"]) if "WebEnv" in record else None,
            query_key=str(record["QueryKey"]) if "QueryKey" in record else None,
        )

    def efetch(self, ids: Sequence[str]) -> bytes:
        """PubmedArticleSet XML for these PMIDs, checked complete (absent ids are the caller's to find)."""
        params = {"db": "pubmed", "id": ",".join(ids), "retmode": "xml"}
        return self._call("efetch", params, check_article_set, post=len(ids) > POST_THRESHOLD)

    def efetch_history(self, webenv: str, query_key: str, retstart: int, retmax: int) -> bytes:
        """PubmedArticleSet XML for a slice of a history-server result."""
        params = {"db": "pubmed", "WebEnv": webenv, "query_key": query_key,
                  "retstart": retstart, "retmax": retmax, "retmode": "xml"}
        return self._call("efetch", params, check_article_set)

    def epost(self, ids: Sequence[str]) -> tuple[str, str]:
        """Put ids on the history server; return (WebEnv, query_key)."""
        params = {"db": "pubmed", "id": ",".join(ids)}
        record = self._call("epost", params, parse_envelope, post=len(ids) > POST_THRESHOLD)
        return str(record["WebEnv"]), str(record["QueryKey"])

    def esummary(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        params = {"db": "pubmed", "id": ",".join(ids)}
        record = self._call("esummary", params, parse_envelope, post=len(ids) > POST_THRESHOLD)
        return [dict(doc) for doc in record]

    # -- transport -----------------------------------------------------------------------

    def _call(self, utility: str, params: Mapping[str, Any], read: Callable[[bytes], T], *, post: bool = False) -> T:
        cfg = self.config
        url = f"{cfg.base_url}{utility}.fcgi"
        payload = {**params, "tool": TOOL}
        if cfg.email:
            payload["email"] = cfg.email
        if cfg.api_key:
            payload["api_key"] = cfg.api_key
        request, settings = self._prepare(url, payload, post)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self._connect_ahead(request, settings)
            self._limiter.wait()
            self.counts[utility] += 1
            try:
                body = self._send(request, settings)
                return read(body)
            except Retry as retry:
                reason, retry_after = self.mask(retry.reason), retry.retry_after
            delay = min(cfg.backoff_base * 2 ** (attempt - 1), cfg.backoff_max)
            delay = random.uniform(delay / 2, delay)  # jitter: two cron jobs do not retry in step
            if retry_after is not None:
                delay = max(delay, retry_after)
            elapsed = time.monotonic() - started
            if elapsed + delay > cfg.retry_seconds:
                raise NetworkError(
                    f"{utility}: NCBI E-utilities kept failing ({attempt} attempts in {elapsed:.0f} s, "
                    f"retry budget {cfg.retry_seconds:.0f} s); last error: {reason}"
                ) from None
            self._sleep(delay)

    def _prepare(self, url: str, payload: Mapping[str, Any], post: bool) -> tuple[Any, dict[str, Any]]:
        """The request, encoded, and its send settings (proxies, netrc, certificates from the
        environment): built before the rate limiter's slot, so that once the slot is taken only the
        bytes go out. Send time is what the limiter records; NCBI counts arrival time."""
        rq = self._requests
        if post:
            request = rq.Request("POST", url, data=payload)
        else:
            request = rq.Request("GET", url, params=payload)
        try:
            prepared = self._session.prepare_request(request)
        except rq.exceptions.RequestException as exc:  # a malformed EVIDENCE_EUTILS_URL
            raise self._unreachable(url, exc) from None
        settings = self._session.merge_environment_settings(prepared.url or url, {}, True, None, None)
        settings["timeout"] = (self.config.connect_timeout, self.config.read_timeout)
        return prepared, settings

    def _connect_ahead(self, request: Any, settings: dict[str, Any]) -> None:
        """Open the keep-alive connection the send will use, if none is open, before the rate
        limiter's slot: a TCP (and, at NCBI, TLS) handshake after the slot delays the arrival the
        limiter already counted, by 40 ms on a busy machine here and far more across the ocean.
        Best effort: if it fails, the send opens the connection itself and reports the error."""
        if settings.get("proxies"):
            return  # the proxy's pool: leave it to requests
        try:
            adapter = self._session.get_adapter(request.url)
            if not isinstance(adapter, self._requests.adapters.HTTPAdapter):
                return
            verify, cert = settings.get("verify", True), settings.get("cert")
            # The pool send() will use (requests >= 2.32.2), its TLS settings applied as send() does.
            pool = adapter.get_connection_with_tls_context(request, verify, cert=cert)
            adapter.cert_verify(pool, request.url, verify, cert)
            conn = pool._get_conn()  # urllib3 has no public "connect ahead"; these two are stable
            try:
                if not conn.is_connected:  # never opened, or closed by the server since
                    conn.close()
                    conn.timeout = self.config.connect_timeout
                    conn.connect()
            finally:
                pool._put_conn(conn)
        except Exception:  # noqa: BLE001 - an optimisation only: the send will meet the same error
            return

    def _unreachable(self, url: str, exc: Exception) -> NetworkError:
        return NetworkError(self.mask(f"cannot reach {url}: {_first_line(str(exc))}"))

    def _send(self, request: Any, settings: dict[str, Any]) -> bytes:
        rq = self._requests
        url = (request.url or "").partition("?")[0]
        try:
            resp = self._session.send(request, **settings)
            # Big chunks: each chunk needs the GIL back, and the thread that stores records holds
            # it; requests' default of 10 kB turned a 10 MB answer into a thousand waits.
            body = b"".join(resp.iter_content(chunk_size=READ_CHUNK))
        except rq.exceptions.Timeout:
            raise Retry(f"no answer within the timeout ({self.config.read_timeout:g} s)") from None
        except (rq.exceptions.ConnectionError, rq.exceptions.ChunkedEncodingError,
                rq.exceptions.ContentDecodingError) as exc:
            raise Retry(f"connection dropped ({type(exc).__name__}: {_first_line(str(exc))})") from None
        except rq.exceptions.RequestException as exc:
            raise self._unreachable(url, exc) from None
        status = resp.status_code
        if status == 429:
            raise Retry("HTTP 429 Too Many Requests", _retry_after(resp.headers.get("Retry-After")))
        if status >= 500:
            raise Retry(f"HTTP {status} {resp.reason or ''}".strip(), _retry_after(resp.headers.get("Retry-After")))
        head = body[:2000]
        if b"API key invalid" in head or (status in (400, 401, 403) and b"api_key" in head):
            raise QueryError("NCBI rejected the API key (NCBI_API_KEY): check it at https://account.ncbi.nlm.nih.gov/settings/")
        if status >= 400:
            raise NetworkError(self.mask(f"{url} answered HTTP {status}: {_first_line(_text(body))}"))
        return body


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP-date: rare enough that the backoff will do


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:limit]


def _text(body: bytes) -> str:
    return re.sub(r"<[^>]+>", " ", body[:2000].decode("utf-8", "replace"))


# -- envelope parsing (pure functions: the tests feed them recorded bodies) ----------------------

_HTTP_DOCTYPE = re.compile(rb'(<!DOCTYPE[^>]*?")http://')
_ERROR_ELEMENT = re.compile(rb"<ERROR>(.*?)</ERROR>", re.DOTALL | re.IGNORECASE)


def classify_error(message: str) -> Exception:
    """What an <ERROR> text from NCBI means: a Retry, or a permanent error to raise."""
    message = " ".join(message.split())
    if RETSTART_CAP.search(message):
        return IncompleteError(f"NCBI refused to page past its 9,999-record cap: {message[:200]}")
    if PERMANENT_ERRORS.search(message):
        return NetworkError(f"NCBI rejected the request: {message[:200]}")
    return Retry(f"NCBI answered with an error: {message[:200]}")


def parse_envelope(body: bytes) -> Any:
    """Read an esearch/epost/esummary body with Bio.Entrez; unreadable or <ERROR> bodies raise."""
    from Bio import Entrez
    from Bio.Entrez.Parser import CorruptedXMLError, NotXMLError

    # Biopython >= 1.87 refuses http:// DOCTYPEs (older NCBI answers carry them); the DTD it then
    # looks up is its bundled copy either way, so pointing the address at https is harmless.
    body = _HTTP_DOCTYPE.sub(rb"\1https://", body, count=1)
    try:
        return Entrez.read(BytesIO(body))
    except RuntimeError as exc:  # Bio raises the text of an <ERROR> element
        raise classify_error(str(exc)) from None
    except (CorruptedXMLError, NotXMLError):
        raise Retry("the answer was cut short or is not XML") from None
    except Exception as exc:  # noqa: BLE001 - expat errors and friends: a damaged body
        raise Retry(f"unreadable answer ({type(exc).__name__})") from None


def check_article_set(body: bytes) -> bytes:
    """An efetch body must be a whole PubmedArticleSet; an <ERROR> in it or a cut-off end raise."""
    head = body[:1000]
    match = _ERROR_ELEMENT.search(head) or (_ERROR_ELEMENT.search(body) if b"<PubmedArticle" not in head else None)
    if match:
        raise classify_error(match.group(1).decode("utf-8", "replace"))
    if head.lstrip().startswith(b"{") and b'"error"' in head:  # NCBI's JSON error bodies
        raise classify_error(head.decode("utf-8", "replace"))
    tail = body[-200:].rstrip()
    if not tail.endswith((b"</PubmedArticleSet>", b"<PubmedArticleSet/>")):
        raise Retry("the answer was cut short (no closing </PubmedArticleSet>)")
    return body


def _raise_query_problems(record: Mapping[str, Any], term: str) -> None:
    problems = []
    for kind, values in dict(record.get("ErrorList", {})).items():
        problems += [f"{kind}: {v}" for v in values]
    for kind, values in dict(record.get("WarningList", {})).items():
        if kind in QUERY_WARNINGS:
            problems += [f"{kind}: {v}" for v in values]
    if problems:
        shown = term if len(term) <= 120 else term[:117] + "..."
        raise QueryError(f"PubMed rejected the query {shown!r}: " + "; ".join(problems))
