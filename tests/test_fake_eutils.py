"""The fake E-utilities server behaves like NCBI where the client depends on it."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import date, timedelta

import pytest
import requests
from lxml import etree

from tests import fake_eutils
from tests.conftest import needs_shared
from tests.fake_eutils import CAP_ERROR, CORPUS, SAMPLES, max_in_window, ncbi_date_param


def get(fake, utility, **params):
    return requests.get(f"{fake.url}{utility}.fcgi", params=params, timeout=10)


def test_esearch_counts_pages_and_keeps_a_history(make_fake):
    fake = make_fake(30)
    root = etree.fromstring(get(fake, "esearch", db="pubmed", term="x", retmax=10, usehistory="y").content)
    assert root.findtext("Count") == "30"
    assert len(root.findall("IdList/Id")) == 10
    webenv, key = root.findtext("WebEnv"), root.findtext("QueryKey")
    assert webenv.startswith("MCID_") and key == "1"
    body = get(fake, "efetch", db="pubmed", WebEnv=webenv, query_key=key, retstart=25, retmax=10).content
    assert etree.fromstring(body).xpath("count(//PubmedArticle)") == 5


def test_esearch_refuses_to_page_past_9999_in_ncbis_words(make_fake):
    fake = make_fake(5)
    body = get(fake, "esearch", db="pubmed", term="x", retstart=9999).content
    assert CAP_ERROR.split("\n")[1][:40] in body.decode()
    assert b"<ERROR>" in body


def test_esearch_date_filters(make_fake):
    fake = make_fake(100)
    rec = fake.records[next(iter(fake.records))]
    day = rec.edat.strftime("%Y/%m/%d")
    root = etree.fromstring(get(fake, "esearch", db="pubmed", term="x", datetype="edat", mindate=day,
                                maxdate=day, retmax=100).content)
    assert rec.pmid in [i.text for i in root.findall("IdList/Id")]
    assert int(root.findtext("Count")) < 100
    assert ncbi_date_param("2020/02", end=True) == date(2020, 2, 29)
    assert ncbi_date_param("2020", end=False) == date(2020, 1, 1)


def test_unknown_phrase_gives_ncbis_error_list(make_fake):
    fake = make_fake(3)
    fake.unknown_phrases.add("flurble")
    root = etree.fromstring(get(fake, "esearch", db="pubmed", term="ketamine flurble").content)
    assert root.findtext("ErrorList/PhraseNotFound") == "flurble"
    assert root.findtext("Count") == "0"


def test_efetch_by_post_leaves_out_unknown_ids(make_fake):
    fake = make_fake(3)
    ids = list(fake.records) + ["1"]
    body = requests.post(f"{fake.url}efetch.fcgi", data={"db": "pubmed", "id": ",".join(ids)}, timeout=10).content
    pmids = etree.fromstring(body).xpath("//MedlineCitation/PMID/text()")
    assert sorted(pmids) == sorted(fake.records)


def test_expired_history_is_an_error_in_a_200(make_fake):
    fake = make_fake(3)
    resp = get(fake, "efetch", db="pubmed", WebEnv="MCID_gone", query_key="1")
    assert resp.status_code == 200 and b"Unable to obtain query #1" in resp.content


def test_rate_above_the_limit_gets_429_with_ncbis_json(make_fake):
    fake = make_fake(1, rate_limit=3)
    for _ in range(5):  # a burst whose first four requests arrive within one second (a busy machine may need more tries)
        fake.clear_log()
        replies = [get(fake, "esearch", db="pubmed", term="x") for _ in range(5)]
        arrived = [r.time for r in fake.requests()]
        if arrived[3] - arrived[0] < 1.0:
            break
        time.sleep(1.1)  # NCBI's window forgets this burst
    else:
        pytest.fail("no four requests within one second in five bursts")
    statuses = [r.status_code for r in replies]
    assert statuses[:4] == [200, 200, 200, 429]
    reply = replies[3]
    assert json.loads(reply.content)["error"] == "API rate limit exceeded"
    assert reply.headers["Retry-After"] == "1"


def test_hold_keeps_a_request_waiting_until_released(make_fake):
    fake = make_fake(3)
    fake.inject("hold", 1, utility="esearch")
    answers: list[requests.Response] = []
    client = threading.Thread(target=lambda: answers.append(get(fake, "esearch", db="pubmed", term="x")))
    client.start()
    deadline = time.monotonic() + 30
    while not fake.requests("esearch") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.fault for r in fake.requests("esearch")] == ["hold"]  # it arrived, and is logged...
    client.join(0.3)
    assert client.is_alive() and not answers  # ...but not answered
    fake.release()
    client.join(30)
    assert [a.status_code for a in answers] == [200]
    assert get(fake, "esearch", db="pubmed", term="x").status_code == 200  # the hold was used up


def test_arrival_is_when_a_request_reached_the_machine_not_when_the_server_read_it(make_fake, monkeypatch):
    """NCBI counts a request when it arrives; a busy machine's server threads read it later."""
    if fake_eutils.SO_TIMESTAMPNS is None:
        pytest.skip("kernel receive times are read on Linux x86-64 and arm64 only")
    fake = make_fake(1)
    busy = threading.Event()
    original = fake._server.process_request

    def late(request, client_address):
        busy.wait(30)  # this server gets round to the connection only when the test says so
        original(request, client_address)

    monkeypatch.setattr(fake._server, "process_request", late)
    with socket.create_connection(("127.0.0.1", fake.port)) as sock:
        sock.sendall(b"GET /entrez/eutils/esearch.fcgi?db=pubmed&term=x HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        released = time.time()
        busy.set()
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 200")
    (entry,) = fake.requests()
    assert entry.time < released


def test_a_post_body_that_arrives_in_pieces_is_read_whole(make_fake):
    fake = make_fake(30)
    ids = sorted(fake.records)[:20]
    body = f"db=pubmed&id={','.join(ids)}".encode()
    with socket.create_connection(("127.0.0.1", fake.port)) as sock:
        sock.sendall(b"POST /entrez/eutils/efetch.fcgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 50):
            sock.sendall(body[start:start + 50])
            time.sleep(0.01)  # separate segments, whatever the machine's speed
        answer = sock.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 200")
    assert sorted(re.findall(rb"<PMID Version=\"1\">(\d+)</PMID>", answer)) == [i.encode() for i in ids]


def test_log_records_every_request(make_fake):
    fake = make_fake(2)
    get(fake, "esearch", db="pubmed", term="x", api_key="k1")
    (entry,) = fake.requests("esearch")
    assert entry.params["term"] == "x" and entry.client == "k1" and entry.status == 200
    assert abs(entry.time - time.time()) < 60


def test_modify_and_add_change_dates(make_fake):
    fake = make_fake(2)
    pmid = next(iter(fake.records))
    fake.modify([pmid])
    body = get(fake, "efetch", db="pubmed", id=pmid).content
    revised = etree.fromstring(body).find(".//DateRevised")
    assert int(revised.findtext("Year")) == fake.today.year
    new = fake.add_records(2)
    assert all(fake.records[p].edat == fake.today for p in new)


def test_revisions_move_mdat_with_or_without_date_revised_and_can_change_the_title(make_fake):
    fake = make_fake(3)
    first, second, third = fake.records
    start = fake.today
    assert fake.advance(2) == start + timedelta(days=2)
    fake.modify([first], title="A new title & more")
    fake.modify([second], date_revised=False)
    fake.modify([third], revised=start)

    def revised(pmid):
        root = etree.fromstring(get(fake, "efetch", db="pubmed", id=pmid).content)
        return date(*(int(root.findtext(f".//DateRevised/{f}")) for f in ("Year", "Month", "Day"))), root

    day, root = revised(first)
    assert day == fake.today and root.findtext(".//ArticleTitle") == "A new title & more"
    assert revised(second)[0] < fake.today and fake.records[second].mdat == fake.today
    assert revised(third)[0] == start
    today = get(fake, "esearch", db="pubmed", term="x", datetype="mdat", mindate=fake.today.strftime("%Y/%m/%d"),
                maxdate=fake.today.strftime("%Y/%m/%d")).content
    assert sorted(etree.fromstring(today).xpath("//IdList/Id/text()")) == sorted([first, second])


def test_max_in_window():
    assert max_in_window([0, 0.34, 0.68, 1.02, 1.36]) == 3
    assert max_in_window([0, 0.3, 0.6, 0.9]) == 4
    assert max_in_window([]) == 0


@needs_shared
def test_replays_the_real_samples_and_the_corpus(make_fake):
    fake = make_fake(source="samples")
    real = {p.stem for p in (SAMPLES / "efetch-pubmed" / "metapub").glob("*.xml")} - {"37909814"}
    assert real <= set(fake.records)
    assert len(fake.records) >= len(real) + 40  # + the dev corpus
    # Each served record carries its source's own title.
    sample = etree.parse(str(SAMPLES / "efetch-pubmed" / "metapub" / "38028269.xml"))
    title = "".join(sample.find(".//ArticleTitle").itertext())
    body = get(fake, "efetch", db="pubmed", id="38028269").content
    assert title.encode() in body
    corpus = next(json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
                  if json.loads(line).get("pmid") == "40326726")
    corpus_body = get(fake, "efetch", db="pubmed", id="40326726").content
    served = etree.fromstring(corpus_body).find(".//ArticleTitle")
    assert "".join(served.itertext()) == corpus["title"]


@needs_shared
def test_clones_reach_the_size_asked_with_spread_dates(make_fake):
    fake = make_fake(12_000, source="samples", rate_limit=None)
    assert len(fake.records) == 12_000
    years = {r.edat.year for r in fake.records.values()}
    assert len(years) > 20


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_injected_error_pages(make_fake, kind):
    fake = make_fake(1)
    fake.inject(kind)
    assert get(fake, "esearch", db="pubmed", term="x").status_code == int(kind)
    assert get(fake, "esearch", db="pubmed", term="x").status_code == 200
