"""The E-utilities client and retrieval against the fake server: what is sent, retries, errors."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

import evidence_cli.eutils.client as client_module
from evidence_cli.errors import IncompleteError, NetworkError, QueryError, UsageError
from evidence_cli.eutils.client import ClientConfig, EutilsClient, check_article_set, parse_envelope
from evidence_cli.eutils.ratelimit import MARGIN_SECONDS, RateLimiter, next_send_time
from evidence_cli.eutils.search import MAX_DAY_SPLIT, fetch_batch, search_all, search_days
from evidence_cli.pubmed.xml import cut_document
from tests.conftest import FAST_RATE, needs_shared
from tests.fake_eutils import SAMPLES, max_in_window


def client_for(fake, **overrides) -> EutilsClient:
    settings = {"base_url": fake.url, "email": "tests@example.org", "rate": FAST_RATE, "retry_seconds": 3.0,
                "backoff_base": 0.01, "read_timeout": 1.0, "connect_timeout": 1.0}
    settings.update(overrides)
    return EutilsClient(ClientConfig(**settings))


def test_every_request_carries_tool_email_and_key(make_fake):
    fake = make_fake(300)
    with client_for(fake, api_key="SECRET-KEY-123") as client:
        ids = list(client.esearch("ketamine").ids)
        client.efetch(ids[:5])
        client.efetch(ids)  # 300 ids: POST
    sent = fake.requests()
    assert [r.method for r in sent] == ["GET", "GET", "POST"]
    for r in sent:
        assert (r.params["tool"], r.params["email"], r.params["api_key"]) == ("evidence", "tests@example.org", "SECRET-KEY-123")
    assert len(sent[2].ids) == 300
    assert "SECRET" not in repr(client) and "SECRET" not in repr(client.config)


def test_missing_email_warns_once(make_fake, capsys, monkeypatch):
    monkeypatch.setattr(client_module, "_email_warned", False)
    fake = make_fake(1)
    client_for(fake, email=None).close()
    client_for(fake, email=None).close()
    assert capsys.readouterr().err.count("NCBI_EMAIL is not set") == 1


def test_config_from_env(tmp_path):
    config = ClientConfig.from_env(tmp_path, {"NCBI_API_KEY": "k", "EVIDENCE_EUTILS_URL": "http://127.0.0.1:1/x"})
    assert config.rate == 10 and config.base_url == "http://127.0.0.1:1/x/"
    assert config.rate_state == tmp_path / "eutils-rate.state"  # no home folder: the workspace's cache
    assert ClientConfig.from_env(None, {}).rate == 3
    with pytest.raises(UsageError, match="EVIDENCE_RATE"):
        ClientConfig.from_env(None, {"EVIDENCE_RATE": "fast"})


@pytest.mark.parametrize("url", ["htp://x/", "http://[bad/", "eutils.ncbi.nlm.nih.gov", "http://x:99999/", "http:///e/"])
def test_a_base_url_that_is_not_http_is_a_usage_error(url):
    with pytest.raises(UsageError, match="EVIDENCE_EUTILS_URL=.* is not an http"):
        ClientConfig.from_env(None, {"EVIDENCE_EUTILS_URL": url})


def test_rate_state_is_shared_by_every_workspace_of_a_user_per_server_and_key(tmp_path):
    home = {"HOME": str(tmp_path / "home"), "EVIDENCE_EUTILS_URL": "http://127.0.0.1:8123/"}
    one, two = (ClientConfig.from_env(tmp_path / ws / "cache", home).rate_state for ws in ("a", "b"))
    assert one == two and one.parent == tmp_path / "home" / ".cache" / "evidence"
    xdg = ClientConfig.from_env(tmp_path / "a", {**home, "XDG_CACHE_HOME": str(tmp_path / "xdg")}).rate_state
    assert xdg.parent == tmp_path / "xdg" / "evidence" and xdg.name == one.name
    others = [ClientConfig.from_env(None, {**home, **extra}).rate_state for extra in (
        {"NCBI_API_KEY": "k1"}, {"NCBI_API_KEY": "k2"}, {"EVIDENCE_EUTILS_URL": "http://127.0.0.1:8124/"})]
    assert len({one, *others}) == 4  # another key or server: another budget
    assert all("k1" not in p.name and "k2" not in p.name for p in others)
    (tmp_path / "a-file").write_text("")  # a folder that cannot be made, even by root
    blocked = ClientConfig.from_env(tmp_path / "a" / "cache", {**home, "XDG_CACHE_HOME": str(tmp_path / "a-file" / "x")})
    assert blocked.rate_state == tmp_path / "a" / "cache" / "eutils-rate.state"  # the workspace's, then


def test_the_rate_never_exceeds_ncbis_limit_on_ncbis_server(tmp_path):
    assert ClientConfig.from_env(None, {"EVIDENCE_RATE": "50"}).rate == 3  # the default URL is NCBI's
    assert ClientConfig.from_env(None, {"EVIDENCE_RATE": "50", "NCBI_API_KEY": "k"}).rate == 10
    ncbi = {"EVIDENCE_EUTILS_URL": "https://EUTILS.ncbi.nlm.nih.gov/entrez/eutils", "EVIDENCE_RATE": "8"}
    assert ClientConfig.from_env(None, ncbi).rate == 3
    assert ClientConfig.from_env(None, {**ncbi, "EVIDENCE_RATE": "1.5"}).rate == 1.5  # slower is allowed
    assert ClientConfig(rate=100).rate == 3 and ClientConfig(rate=100, api_key="k").rate == 10
    fake = {"EVIDENCE_EUTILS_URL": "http://127.0.0.1:8765/entrez/eutils/", "EVIDENCE_RATE": "50"}
    assert ClientConfig.from_env(None, fake).rate == 50  # the fake: as fast as a test likes
    with EutilsClient(ClientConfig(email="e", rate=100)) as client:
        assert client.config.rate == 3


@pytest.mark.parametrize("kind,options", [
    ("429", {"retry_after": 0.2}), ("500", {}), ("502", {}), ("503", {}), ("reset", {}), ("truncate", {}),
    ("slow", {"seconds": 1.5}), ("error200", {}), ("session_expired", {}),
])
def test_each_fault_is_retried(make_fake, kind, options):
    fake = make_fake(600)
    with client_for(fake) as client:
        ids = list(client.esearch("ketamine").ids)
        fake.inject(kind, times=2, utility="efetch", **options)
        started = time.monotonic()
        body = client.efetch(ids[:500])
        waited = time.monotonic() - started
    assert body.count(b"<PubmedArticle>") == 500
    assert client.counts["efetch"] == 3  # two faults, then the answer
    assert [r.fault for r in fake.requests("efetch")] == [kind, kind, None]
    if kind == "429":
        assert waited >= 0.4  # Retry-After honoured twice


def test_esearch_faults_are_retried_too(make_fake):
    fake = make_fake(10)
    fake.inject("error200", utility="esearch", message="Search Backend failed: Unable to obtain query")
    fake.inject("truncate", utility="esearch")
    with client_for(fake) as client:
        assert client.esearch("ketamine").count == 10
        assert client.counts["esearch"] == 3


def test_retry_budget_ends_in_a_clear_network_error_without_the_key(make_fake):
    fake = make_fake(10)
    fake.inject("503", times=None)
    with client_for(fake, api_key="SECRET-KEY-123", retry_seconds=0.5) as client, \
            pytest.raises(NetworkError) as err:
        client.esearch("ketamine")
    assert "kept failing" in err.value.message and "HTTP 503" in err.value.message
    assert "SECRET" not in err.value.message and err.value.__cause__ is None


def test_unreachable_server_is_a_network_error(make_fake):
    config = ClientConfig(base_url="http://127.0.0.1:9/", email="e", rate=FAST_RATE, retry_seconds=0.3,
                          backoff_base=0.01)
    with EutilsClient(config) as client, pytest.raises(NetworkError, match="connection dropped"):
        client.esearch("x")


def test_phrase_not_found_is_a_query_error(make_fake):
    fake = make_fake(10)
    fake.unknown_phrases.add("ketamime")
    with client_for(fake) as client, pytest.raises(QueryError, match="PhraseNotFound: ketamime"):
        client.esearch("ketamime AND depression")


def test_invalid_api_key_is_a_query_error_that_hides_the_key(make_fake):
    fake = make_fake(10)
    fake.valid_api_keys = {"good"}
    with client_for(fake, api_key="BAD-KEY-999") as client, pytest.raises(QueryError) as err:
        client.esearch("ketamine")
    assert "API key" in err.value.message and "BAD-KEY" not in err.value.message


def test_empty_search_window_is_not_an_error(make_fake):
    fake = make_fake(10)
    with client_for(fake) as client:
        page = client.esearch("ketamine", datetype="edat", mindate="2999/01/01", maxdate="3000/12/31")
    assert page.count == 0 and page.ids == ()


def test_history_server_epost_esummary(make_fake):
    fake = make_fake(30)
    with client_for(fake) as client:
        page = client.esearch("ketamine")
        body = client.efetch_history(page.webenv, page.query_key, retstart=20, retmax=5)
        webenv, key = client.epost(list(page.ids[:3]))
        summaries = client.esummary(list(page.ids[:2]))
    assert body.count(b"<PubmedArticle>") == 5
    assert webenv.startswith("MCID_") and key == "1"
    assert [d["Id"] for d in summaries] == list(page.ids[:2])


def test_expired_history_session_is_retried_then_reported(make_fake):
    fake = make_fake(10)
    with client_for(fake, retry_seconds=0.3) as client:
        page = client.esearch("ketamine")
        fake.expire_sessions()
        with pytest.raises(NetworkError, match="Unable to obtain query #1"):
            client.efetch_history(page.webenv, page.query_key, retstart=0, retmax=5)


# -- search_all: the 9,999 cap -----------------------------------------------------------------


def test_more_than_9999_records_are_sliced_by_date_and_add_up(make_fake):
    fake = make_fake(12_000, rate_limit=None)
    with client_for(fake) as client:
        result = search_all(client, "ketamine")
    assert result.count == 12_000 and sorted(result.ids) == sorted(fake.records)
    assert result.slices >= 2
    searches = fake.requests("esearch")
    assert len(searches) == result.esearch_calls
    assert all(int(r.params.get("retstart", 0)) + int(r.params["retmax"]) <= 9999 for r in searches)
    assert all(r.status == 200 for r in searches)


def test_a_shortfall_between_slices_is_an_incomplete_error(make_fake):
    fake = make_fake(10_500, rate_limit=None)
    hidden = next(iter(fake.records))
    real_matches = fake.matches

    def lose_one_in_dated_searches(term, datetype, mindate, maxdate):
        ids = real_matches(term, datetype, mindate, maxdate)
        return [i for i in ids if i != hidden] if datetype else ids

    fake.matches = lose_one_in_dated_searches
    with client_for(fake) as client, pytest.raises(IncompleteError, match="found 10499 of the 10500"):
        search_all(client, "ketamine")


def test_too_many_records_on_one_day_is_an_incomplete_error(make_fake):
    fake = make_fake(10_001, rate_limit=None)
    for rec in fake.records.values():
        rec.edat = date(2020, 5, 5)
    fake._sorted = None
    with client_for(fake) as client, pytest.raises(IncompleteError, match="share the edat 2020-05-05"):
        search_all(client, "ketamine")


def test_an_incremental_window_past_9999_is_sliced_too(make_fake):
    fake = make_fake(100, rate_limit=None)
    new = fake.add_records(6_000, entered=fake.today - timedelta(days=1)) + fake.add_records(5_000)
    with client_for(fake) as client:
        result = search_all(client, "ketamine", datetype="edat", since=fake.today - timedelta(days=3))
    assert sorted(result.ids) == sorted(new) and result.slices >= 2


def test_incremental_window_searches_by_date(make_fake):
    fake = make_fake(50)
    new = fake.add_records(3)
    with client_for(fake) as client:
        result = search_all(client, "ketamine", datetype="edat", since=fake.today)
    assert sorted(result.ids) == sorted(new)
    (sent,) = fake.requests("esearch")
    assert sent.params["datetype"] == "edat" and sent.params["maxdate"] == "3000/12/31"


def revised_on(fake, days_ago: list[int]) -> dict[str, object]:
    """One new record revised on each of these days before the fake's today: {pmid: that day}."""
    out = {}
    for ago in days_ago:
        (pmid,) = fake.add_records(1, entered=fake.today - timedelta(days=30))
        fake.modify([pmid], revised=fake.today - timedelta(days=ago))
        out[pmid] = fake.today - timedelta(days=ago)
    return out


def test_search_days_dates_each_record_to_its_day_where_asked(make_fake):
    fake = make_fake(40)
    days = revised_on(fake, [5, 3, 3, 2, 0, 0, -1])  # -1: NCBI's day ahead of ours
    first = fake.today - timedelta(days=4)
    with client_for(fake) as client:
        found = search_days(client, "ketamine", datetype="mdat", first=first, last=fake.today,
                            narrow=lambda ids, lo, hi: True)
    later = fake.today + timedelta(days=1)  # after today: the open end
    assert found == {p: (min(d, later), min(d, later)) for p, d in days.items() if d >= first}
    searches = fake.requests("esearch")
    assert len(searches) <= (later - first).days + 1  # at most one search per day
    assert searches[0].params["maxdate"] == "3000/12/31" and all(s.params["datetype"] == "mdat" for s in searches)


def test_search_days_narrows_only_where_asked(make_fake):
    fake = make_fake(40)
    days = revised_on(fake, [3, 2, 1, 0])
    first = fake.today - timedelta(days=3)
    asked = []

    def narrow(ids, lo, hi):
        asked.append((lo, hi))
        return False

    with client_for(fake) as client:
        found = search_days(client, "ketamine", datetype="mdat", first=first, last=fake.today, narrow=narrow)
    assert set(found) == set(days) and set(found.values()) == {(first, fake.today + timedelta(days=1))}
    assert len(fake.requests("esearch")) == 1 and len(asked) == 1
    fake.clear_log()
    with client_for(fake) as client:  # one cached id, revised 2 days ago, needs its day
        target = next(p for p, d in days.items() if d == fake.today - timedelta(days=2))
        found = search_days(client, "ketamine", datetype="mdat", first=first, last=fake.today,
                            narrow=lambda ids, lo, hi: target in ids)
    assert found[target] == (days[target], days[target])
    assert len(fake.requests("esearch")) <= 4  # halving towards one day of five: 1 + 3 searches


def test_search_days_splits_past_9999_and_a_long_window_is_searched_once(make_fake):
    fake = make_fake(10, rate_limit=None)
    new = fake.add_records(6_000, entered=fake.today - timedelta(days=1)) + fake.add_records(5_000)
    with client_for(fake) as client:
        found = search_days(client, "ketamine", datetype="mdat", first=fake.today - timedelta(days=3),
                            last=fake.today, narrow=lambda ids, lo, hi: False)
    assert sorted(found) == sorted(new) and len(fake.requests("esearch")) >= 3
    fake = make_fake(30)
    fake.modify(list(fake.records)[:5])
    with client_for(fake) as client:
        found = search_days(client, "ketamine", datetype="mdat", last=fake.today,
                            first=fake.today - timedelta(days=MAX_DAY_SPLIT + 5), narrow=lambda ids, lo, hi: True)
    assert len(found) == 5 and len(fake.requests("esearch")) == 1


# -- efetch checks -------------------------------------------------------------------------


def test_fewer_records_than_asked_are_asked_for_again(make_fake):
    fake = make_fake(500)
    fake.inject("fewer", utility="efetch", drop=7)
    with client_for(fake) as client:
        batch = fetch_batch(client, list(fake.records))
    articles, unparsed = batch.parse()
    assert len(articles) == 500 and batch.missing == [] and unparsed == []
    assert [a.pmid for a in articles] == list(fake.records)
    second = fake.requests("efetch")[1]
    assert len(second.ids) == 7


def test_records_that_never_come_are_reported_missing(make_fake):
    fake = make_fake(20)
    ids = list(fake.records) + ["99999999"]
    with client_for(fake) as client:
        batch = fetch_batch(client, ids)
    assert batch.missing == ["99999999"] and len(batch.parse()[0]) == 20
    assert len(fake.requests("efetch")) == 3  # the answer, then two tries for the missing id


def test_a_record_the_scan_sees_but_the_parser_cannot_read_is_reported(make_fake):
    fake = make_fake(3)
    with client_for(fake) as client:
        batch = fetch_batch(client, list(fake.records))
    broken = batch.bodies[0].replace(b"</PubmedArticleSet>", b"<broken></PubmedArticleSet>")
    batch.answers = [cut_document(broken)]
    articles, unparsed = batch.parse()
    assert articles == [] and sorted(unparsed) == sorted(fake.records)


@needs_shared
def test_the_pmid_scan_agrees_with_the_parser_on_every_real_sample():
    from evidence_cli.pubmed.xml import RECORD_PMID, parse_records

    for path in sorted((SAMPLES / "efetch-pubmed").rglob("*.xml")):
        body = path.read_bytes()
        scanned = sorted(m.decode() for m in RECORD_PMID.findall(body))
        assert scanned == sorted(r.pmid for r in parse_records(body)), path.name


# -- envelopes: real NCBI answers ---------------------------------------------------------------


@needs_shared
def test_real_envelopes_parse_including_http_doctypes():
    record = parse_envelope((SAMPLES / "esearch" / "klortho-esearch.pubmed.xml").read_bytes())
    assert record["Count"] == "15169" and record["WebEnv"].startswith("NCID_")
    record = parse_envelope((SAMPLES / "epost" / "biopython-epost1.xml").read_bytes())
    assert record["QueryKey"] == "1"


@needs_shared
@pytest.mark.parametrize("name,expected", [
    ("klortho-esearch.baderror.xml", NetworkError),  # Invalid db name: permanent
    ("biopython-epost2.xml", NetworkError),
    ("biopython-esummary8.xml", NetworkError),
    ("biopython-einfo4.xml", client_module.Retry),  # cut-off XML: try again
    ("biopython-pubmed3.html", client_module.Retry),
])
def test_real_error_bodies_are_classified(name, expected):
    with pytest.raises(expected):
        parse_envelope((SAMPLES / "errors" / name).read_bytes())


@needs_shared
def test_real_efetch_answers_pass_the_completeness_check():
    for path in sorted((SAMPLES / "efetch-pubmed" / "metapub").glob("*.xml"))[:40]:
        body = path.read_bytes()
        assert check_article_set(body) is body
        with pytest.raises(client_module.Retry):
            check_article_set(body[: len(body) // 2])


# -- the rate limiter ------------------------------------------------------------------------


def test_next_send_time_keeps_three_per_window():
    assert next_send_time([], 3, 10.0) == 10.0
    assert next_send_time([10.0], 3, 10.0) == pytest.approx(10.0 + 1 / 3)
    # the third send back must be more than a window (plus the jitter margin) behind
    assert next_send_time([10.0, 10.34, 10.68], 3, 10.7) == pytest.approx(11.0 + MARGIN_SECONDS)
    assert 0.0 < MARGIN_SECONDS < 0.15  # above: refresh would fall behind NCBI's rate by more than 15%


def test_only_the_send_happens_after_the_rate_slot(make_fake):
    """Encoding the request and reading proxies and netrc from the environment happen before the
    limiter's slot (once, retries reuse them): NCBI counts arrival, and work between the slot and
    the send only delays an arrival the limiter has already counted from."""
    fake = make_fake(5)
    fake.inject("500", 1, utility="esearch")
    events: list[str] = []
    with client_for(fake) as client:
        session, limiter = client._session, client._limiter
        for obj, name in ((session, "prepare_request"), (session, "merge_environment_settings"),
                          (session, "send"), (limiter, "wait")):
            original = getattr(obj, name)
            setattr(obj, name, lambda *a, _f=original, _n=name, **k: events.append(_n) or _f(*a, **k))
        client.esearch("ketamine")
    assert events == ["prepare_request", "merge_environment_settings", "wait", "send", "wait", "send"]


def test_the_connection_is_opened_before_the_rate_slot_and_reused(make_fake, monkeypatch):
    """A handshake after the slot would delay an arrival the limiter already counted."""
    import urllib3.connection

    fake = make_fake(5)
    events: list[str] = []
    connect = urllib3.connection.HTTPConnection.connect
    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect",
                        lambda self: events.append("connect") or connect(self))
    with client_for(fake) as client:
        wait = client._limiter.wait
        client._limiter.wait = lambda: events.append("wait") or wait()
        client.esearch("ketamine")
        client.esearch("ketamine")
    assert events == ["connect", "wait", "wait"]


def test_an_unreachable_server_is_still_reported_by_the_send(refused_port):
    config = ClientConfig(base_url=f"http://127.0.0.1:{refused_port}/", email="t@example.org", rate=50,
                          retry_seconds=0.2, backoff_base=0.01, connect_timeout=1.0, read_timeout=1.0)
    with EutilsClient(config) as client, pytest.raises(NetworkError, match="connection dropped"):
        client.esearch("ketamine")
    assert client.counts["esearch"] >= 1


def test_limiters_sharing_a_state_file_share_the_limit(tmp_path):
    state = tmp_path / "rate.state"
    a, b = RateLimiter(20, state), RateLimiter(20, state)
    sent = [limiter.wait() for _ in range(15) for limiter in (a, b)]
    assert max_in_window(sent) <= 20
    assert sent[-1] - sent[0] >= 1.0  # 30 sends at 20/s cannot fit in one second


def test_an_unwritable_state_file_falls_back_to_this_process(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    limiter = RateLimiter(50, blocker / "cache" / "rate.state")  # its folder cannot be made
    sent = [limiter.wait() for _ in range(5)]
    assert sent == sorted(sent) and sent[-1] - sent[0] >= 4 / 50 - 1e-6
