"""`evidence refresh` end to end against the fake E-utilities: completeness, increments, faults,
resume, the lock, exit codes and what the user sees."""

from __future__ import annotations

import math
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import evidence_cli.eutils.client as client_module
from evidence_cli.cli import app
from evidence_cli.errors import ExitCode
from evidence_cli.eutils.search import parse_bodies
from evidence_cli.pubmed.xml import cut_document
from evidence_cli.refresh import _day, refresh_lock, stale
from evidence_cli.store.articles import ARTICLE_COLUMNS, decompress_xml
from evidence_cli.workspace import find_workspace
from tests.conftest import needs_shared
from tests.fake_eutils import SYNTHETIC_TEMPLATE, efetch_answer, ncbi_date_param


def run(workspace: Path, *args: str):
    result = CliRunner().invoke(app, ["--workspace", str(workspace), "refresh", *args])
    return result


def cache(workspace: Path) -> sqlite3.Connection:
    return sqlite3.connect(workspace / "cache" / "evidence.sqlite")


def stored(workspace: Path, topic: str = "ketamine") -> set[str]:
    with cache(workspace) as db:
        return {r[0] for r in db.execute("SELECT pmid FROM topic_articles WHERE topic = ?", (topic,))}


def last_run(workspace: Path):
    with cache(workspace) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()


def date_of(text: str):
    return ncbi_date_param(text, end=False)


def efetched_ids(fake) -> list[str]:
    return [i for r in fake.requests("efetch") if r.status == 200 and not r.fault for i in r.ids]


def mdat_searches(fake) -> int:
    return sum(r.params.get("datetype") == "mdat" for r in fake.requests("esearch"))


@pytest.fixture
def ncbi_clock(monkeypatch):
    """ncbi_clock(fake): refresh takes the fake's clock for NCBI's day (tests move it with advance())."""
    import evidence_cli.eutils.search as search_module

    def follow(fake) -> None:
        monkeypatch.setattr(search_module, "ncbi_today", lambda now=None: fake.today)

    return follow


@pytest.fixture
def clocked_fake(make_fake, use_fake, ncbi_clock):
    """clocked_fake(records): a fake this process refreshes against, its clock taken for NCBI's day."""

    def make(records: int):
        fake = make_fake(records)
        use_fake(fake)
        ncbi_clock(fake)
        return fake

    return make


def test_first_refresh_stores_every_record_with_the_fewest_requests(make_fake, use_fake, workspace):
    fake = make_fake(1_234)
    use_fake(fake)
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    assert "ketamine: 1,234 new, 0 updated, 1,234 total" in result.stderr
    assert len(fake.requests("esearch")) == 1 and len(fake.requests("efetch")) == math.ceil(1_234 / 500)
    row = last_run(workspace)
    assert (row["outcome"], row["kind"], row["count"], row["added"], row["requests"]) == ("complete", "full", 1234, 1234, 4)
    assert row["query_translation"].startswith("ketamine AND depression")


def test_more_than_10000_records(make_fake, use_fake, workspace):
    fake = make_fake(12_000, rate_limit=None)
    use_fake(fake)
    result = run(workspace, "--quiet")
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    searches = len(fake.requests("esearch"))
    assert len(fake.requests("efetch")) == math.ceil(12_000 / 500) and searches <= 10
    assert result.stderr == ""


def test_immediate_second_refresh_makes_no_efetch(make_fake, use_fake, workspace):
    fake = make_fake(700)
    use_fake(fake)
    assert run(workspace).exit_code == 0
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert fake.requests("efetch") == []
    assert 1 <= len(fake.requests("esearch")) <= 3
    assert "0 new, 0 updated, 700 total (incremental)" in result.stderr


def test_incremental_refresh_fetches_only_added_and_modified(clocked_fake, workspace):
    fake = clocked_fake(800)
    assert run(workspace).exit_code == 0
    fake.advance()  # revised on a later day than the fetch (a revision on the same day waits: see below)
    new = fake.add_records(7)
    changed = list(fake.records)[:3]
    fake.modify(changed)
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert sorted(efetched_ids(fake)) == sorted(new + changed)
    assert len(fake.requests("efetch")) == 1
    assert "7 new, 3 updated, 807 total" in result.stderr
    windows = {r.params.get("datetype") for r in fake.requests("esearch")}
    assert windows == {None, "edat", "mdat"}
    row = last_run(workspace)
    assert (row["kind"], row["added"], row["updated"], row["count"]) == ("incremental", 7, 3, 807)
    with cache(workspace) as db:
        revised = db.execute("SELECT date_revised FROM articles WHERE pmid = ?", (changed[0],)).fetchone()[0]
    assert revised == fake.today.isoformat()


def test_records_entered_and_revised_today_and_yesterday_are_fetched_once(clocked_fake, workspace):
    fake = clocked_fake(600)
    yesterday = fake.today - timedelta(days=1)
    old = list(fake.records)
    fake.add_records(4, entered=yesterday)
    fake.add_records(4)
    fake.modify(old[:3], revised=yesterday)
    fake.modify(old[3:6])
    fake.modify(old[6:9], date_revised=False)  # mdat today, DateRevised older: NCBI does that
    assert run(workspace).exit_code == 0
    fake.clear_log()
    result = run(workspace)  # immediately after a full run
    assert result.exit_code == 0, result.output
    assert fake.requests("efetch") == [] and fake.requests("esearch")
    assert "0 new, 0 updated, 608 total (incremental)" in result.stderr
    new = fake.add_records(3, entered=yesterday) + fake.add_records(2)  # NCBI indexes late
    fake.clear_log()
    result = run(workspace)  # an incremental run fetches only those
    assert sorted(efetched_ids(fake)) == sorted(new)
    assert "5 new, 0 updated, 613 total (incremental)" in result.stderr
    fake.clear_log()
    result = run(workspace)  # immediately after an incremental run
    assert result.exit_code == 0, result.output
    assert fake.requests("efetch") == [] and fake.requests("esearch")
    assert "0 new, 0 updated, 613 total (incremental)" in result.stderr


def test_a_record_revised_on_a_later_day_is_fetched_again_and_updated(clocked_fake, workspace):
    fake = clocked_fake(600)
    old = list(fake.records)
    fake.modify(old[1:3])  # revised today, before the first run
    assert run(workspace).exit_code == 0
    fake.advance()
    fake.modify([old[0]], title="A revised title on esketamine.")
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    # old[1:3] were revised on the day they were fetched: once that day has ended they are
    # fetched once more (a revision later that day would not show in their mdat); unchanged.
    assert sorted(efetched_ids(fake)) == sorted(old[:3])
    assert "0 new, 1 updated, 600 total (incremental)" in result.stderr
    with cache(workspace) as db:
        assert db.execute("SELECT title FROM articles WHERE pmid = ?", (old[0],)).fetchone()[0] == "A revised title on esketamine."
        assert db.execute("SELECT pmid FROM run_changes WHERE run_id = (SELECT max(id) FROM runs)").fetchall() == [(old[0],)]
    fake.clear_log()
    assert run(workspace).exit_code == 0
    assert fake.requests("efetch") == []


def test_a_revision_made_after_the_fetch_on_the_same_day_is_fetched_the_next_day(clocked_fake, workspace):
    fake = clocked_fake(300)
    pmid = fake.add_records(1)[0]
    assert run(workspace).exit_code == 0
    fake.modify([pmid], title="Corrected later the same day.")  # mdat stays today: the day cannot tell
    fake.clear_log()
    assert run(workspace).exit_code == 0
    assert fake.requests("efetch") == []  # an immediate second run fetches nothing ...
    fake.advance()
    fake.clear_log()
    result = run(workspace)
    assert efetched_ids(fake) == [pmid]  # ... and the first run of the next day catches up
    assert "0 new, 1 updated, 301 total" in result.stderr
    with cache(workspace) as db:
        assert db.execute("SELECT title FROM articles WHERE pmid = ?", (pmid,)).fetchone()[0] == "Corrected later the same day."


def test_a_cached_record_entered_in_the_window_is_not_fetched_again(clocked_fake, workspace):
    fake = clocked_fake(300)
    entered = fake.add_records(5, entered=fake.today - timedelta(days=1))
    assert run(workspace).exit_code == 0
    fake.advance()
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    edat = [r for r in fake.requests("esearch") if r.params.get("datetype") == "edat"]
    assert edat and fake.matches("x", "edat", date_of(edat[0].params["mindate"]), None) == entered[::-1]
    assert fake.requests("efetch") == []
    assert "0 new, 0 updated, 305 total (incremental)" in result.stderr


def test_a_record_without_a_fetch_day_counts_as_fetched_on_its_date_revised(clocked_fake, workspace):
    fake = clocked_fake(300)
    old = list(fake.records)
    fake.modify(old[:2])  # DateRevised today
    fake.modify(old[2:4], date_revised=False)  # mdat today, DateRevised older
    assert run(workspace).exit_code == 0
    with cache(workspace) as db:
        db.execute("UPDATE articles SET fetched_day = NULL")  # as `evidence import` leaves records
    fake.clear_log()
    assert run(workspace).exit_code == 0
    assert sorted(efetched_ids(fake)) == sorted(old[2:4])  # revised after their DateRevised day
    fake.advance()
    fake.clear_log()
    assert run(workspace).exit_code == 0
    assert sorted(efetched_ids(fake)) == sorted(old[:4])  # revised on the day they count as fetched


def test_an_mdat_window_longer_than_a_month_is_searched_once(clocked_fake, workspace):
    fake = clocked_fake(300)
    old = list(fake.records)
    fake.modify(old[:2], revised=fake.today - timedelta(days=10))
    assert run(workspace).exit_code == 0
    with cache(workspace) as db:  # as if the last complete run were 40 days ago
        db.execute("UPDATE runs SET window_end = ?", ((fake.today - timedelta(days=40)).isoformat(),))
    fake.advance(20)
    fake.modify([old[2]])
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert mdat_searches(fake) == 1
    # old[:2] cannot be told from records revised after their fetch without a search per day
    assert sorted(efetched_ids(fake)) == sorted(old[:3])
    assert "0 new, 1 updated, 300 total" in result.stderr


def test_stale_refetches_only_what_was_revised_after_the_fetch():
    fetched, day = date(2026, 3, 10), timedelta(days=1)
    assert stale(None, fetched, fetched, fetched) is True  # nothing known: fetch
    assert stale(fetched, fetched - 3 * day, fetched - day, fetched) is False  # revised before the fetch day
    assert stale(fetched, fetched + day, fetched + 2 * day, fetched + 2 * day) is True  # after it
    assert stale(fetched, fetched, fetched, fetched) is False  # the same day, not over yet: wait
    assert stale(fetched, fetched, fetched, fetched + day) is True  # that day is over: fetch once more
    assert stale(fetched, fetched - day, fetched + day, fetched) is None  # depends on the day: narrow
    assert _day("2019-05") is None and _day("2019-05-03") == date(2019, 5, 3)  # a partial DateRevised: unknown


@pytest.mark.parametrize("args", [("--quiet", "refresh"), ("refresh", "--quiet")])
def test_quiet_prints_no_warning_and_one_warning_per_process_otherwise(make_fake, use_fake, workspace, monkeypatch, args):
    monkeypatch.setattr(client_module, "_email_warned", False)
    use_fake(make_fake(5))
    monkeypatch.delenv("NCBI_EMAIL")
    result = CliRunner().invoke(app, ["--workspace", str(workspace), *args])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert run(workspace).stderr.count("warning: NCBI_EMAIL is not set") == 1
    assert "NCBI_EMAIL" not in run(workspace).stderr


def test_a_changed_query_searches_everything_again_but_fetches_only_what_is_new(make_fake, use_fake, workspace):
    fake = make_fake(600)
    fake.matcher = lambda term, rec: "esketamine" in term or int(rec.pmid) % 2 == 0
    use_fake(fake)
    assert run(workspace).exit_code == 0
    assert len(stored(workspace)) == 300
    topic = workspace / "queries" / "ketamine.toml"
    topic.write_text(topic.read_text().replace('query = "ketamine AND depression"',
                                               'query = "(ketamine OR esketamine) AND depression"'))
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    assert len(efetched_ids(fake)) == 300  # the 300 the old query did not match, none of the cached
    assert last_run(workspace)["kind"] == "full"


def test_full_refetches_everything(make_fake, use_fake, workspace):
    fake = make_fake(600)
    use_fake(fake)
    assert run(workspace).exit_code == 0
    fake.clear_log()
    result = run(workspace, "--full")
    assert result.exit_code == 0
    assert sorted(efetched_ids(fake)) == sorted(fake.records)
    assert "0 new, 0 updated, 600 total" in result.stderr


def test_full_refresh_drops_records_the_query_no_longer_matches_but_keeps_imports(make_fake, use_fake, workspace,
                                                                                  tmp_path):
    from tests.test_import import xml_file, xml_record

    fake = make_fake(300)
    use_fake(fake)
    assert run(workspace).exit_code == 0
    export = tmp_path / "mine.xml"
    export.write_bytes(xml_file(xml_record("900001")))  # a user's own record, PubMed's search never returns it
    imported = CliRunner().invoke(app, ["--workspace", str(workspace), "import", "--topic", "ketamine", str(export)])
    assert imported.exit_code == 0, imported.output
    gone = sorted(fake.records)[:7]
    fake.remove(gone)
    incremental = run(workspace)  # an incremental window cannot see removals: nothing changes
    assert incremental.exit_code == 0 and len(stored(workspace)) == 301
    result = run(workspace, "--full")
    assert result.exit_code == 0, result.output
    assert "0 new, 0 updated, 7 no longer matched, 294 total" in result.stderr
    assert stored(workspace) == set(fake.records) | {"900001"}
    marks = ",".join("?" * 7)
    with cache(workspace) as conn:  # the topic's tags go with the link; the records stay cached
        assert conn.execute(f"SELECT count(*) FROM tags WHERE pmid IN ({marks})", gone).fetchone()[0] == 0
        assert conn.execute(f"SELECT count(*) FROM articles WHERE pmid IN ({marks})", gone).fetchone()[0] == 7
    assert last_run(workspace)["deleted"] == 7


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "reset", "truncate", "slow", "error200",
                                  "session_expired", "fewer"])
def test_refresh_survives_each_fault(make_fake, use_fake, workspace, kind):
    fake = make_fake(1_100)
    use_fake(fake)
    fake.inject(kind, times=2, utility="efetch", after=1, **({"seconds": 1.5} if kind == "slow" else {}))
    fake.inject("503", times=1, utility="esearch")
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    assert last_run(workspace)["outcome"] == "complete"


def test_records_efetch_never_returns_make_an_incomplete_exit(make_fake, use_fake, workspace):
    fake = make_fake(600)
    use_fake(fake)
    fake.inject("fewer", times=None, utility="efetch", drop=4)
    result = run(workspace)
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "did not return 8 of the 600 records" in result.stderr  # 4 of each of the two batches
    assert last_run(workspace)["outcome"] == "incomplete"
    assert len(stored(workspace)) == 592
    fake.clear_faults()
    fake.clear_log()
    assert run(workspace).exit_code == 0  # still a first run: only the 8 missing are fetched
    assert len(efetched_ids(fake)) == 8 and stored(workspace) == set(fake.records)


def cached_content(workspace: Path) -> tuple[list, list, list, list]:
    """Everything refresh stores about the records, without timestamps, raw XML decompressed."""
    with cache(workspace) as db:
        articles = [(*row[:-1], decompress_xml(row[-1]) if row[-1] else None) for row in db.execute(
            f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles ORDER BY pmid")]
        return (articles,
                db.execute("SELECT topic, pmid, via FROM topic_articles ORDER BY 1, 2").fetchall(),
                db.execute("SELECT * FROM tags ORDER BY topic, pmid").fetchall(),
                db.execute("SELECT * FROM claim_tags ORDER BY topic, pmid, claim_id").fetchall())


@needs_shared
def test_worker_processes_store_what_one_process_stores(make_fake, use_fake, workspace, tmp_path, monkeypatch):
    """Workers parse each answer in parts, tag and build the rows; the cache must not tell."""
    fake = make_fake(1_300, source="samples")
    use_fake(fake, EVIDENCE_TIMEOUT="10")  # 500 real records are ~10 MB: a busy machine takes a while
    alone = tmp_path / "alone"
    shutil.copytree(workspace, alone)
    monkeypatch.setenv("EVIDENCE_WORKERS", "0")
    assert run(alone).exit_code == 0
    monkeypatch.setenv("EVIDENCE_WORKERS", "2")
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert "1,300 new, 0 updated, 1,300 total" in result.stderr
    pooled = cached_content(workspace)
    assert len(pooled[0]) == 1_300 and pooled[3]  # real records: some claim tags to compare
    assert pooled == cached_content(alone)


# Records that hide a record start, an end tag and a record's PMID in a comment and a CDATA
# section (what a byte search for record starts would cut at), and a book.
LOOKALIKE_TEMPLATE = SYNTHETIC_TEMPLATE.replace(
    "<DateRevised>", "<!-- <PubmedArticle><MedlineCitation><PMID>1</PMID></MedlineCitation> --><DateRevised>", 1,
).replace("on ketamine", "on <![CDATA[</PubmedArticle>\n<PubmedArticle>]]> ketamine", 1)
BOOK_TEMPLATE = (
    '<PubmedBookArticle><BookDocument><PMID Version="1">@@PMID@@</PMID>'
    "<Book><Publisher><PublisherName>Invented Press</PublisherName></Publisher>"
    "<BookTitle>Invented Handbook of Ketamine</BookTitle><PubDate><Year>2023</Year></PubDate></Book>"
    "<ArticleTitle>Ketamine for depression: chapter @@PMID@@</ArticleTitle>"
    "<Abstract><AbstractText>Ketamine acts within hours in depression.</AbstractText></Abstract>"
    "<DateRevised>@@REVISED@@</DateRevised></BookDocument><PubmedBookData><History>"
    '<PubMedPubDate PubStatus="entrez">@@ENTREZ@@</PubMedPubDate></History><ArticleIdList>'
    '<ArticleId IdType="pubmed">@@PMID@@</ArticleId></ArticleIdList></PubmedBookData></PubmedBookArticle>'
)


def test_workers_store_what_one_process_stores_from_books_and_lookalike_markup(make_fake, use_fake, workspace,
                                                                               tmp_path, monkeypatch):
    fake = make_fake(1_100)
    fake.templates += [LOOKALIKE_TEMPLATE, BOOK_TEMPLATE]
    for i, record in enumerate(fake.records.values()):
        record.template = [0, len(fake.templates) - 2, len(fake.templates) - 1][i % 3]
    use_fake(fake)
    alone = tmp_path / "alone"
    shutil.copytree(workspace, alone)
    monkeypatch.setenv("EVIDENCE_WORKERS", "0")
    assert run(alone).exit_code == 0
    fake.clear_log()
    monkeypatch.setenv("EVIDENCE_WORKERS", "2")
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert "1,100 new, 0 updated, 1,100 total" in result.stderr
    assert len(fake.requests("efetch")) == 3
    pooled = cached_content(workspace)
    assert pooled == cached_content(alone)
    titles = {row[ARTICLE_COLUMNS.index("title")] for row in pooled[0]}
    assert "Synthetic record 60000001 on </PubmedArticle> <PubmedArticle> ketamine for depression." in titles
    assert sum(row[ARTICLE_COLUMNS.index("is_book")] for row in pooled[0]) == 366


@pytest.mark.parametrize("workers", ["2", "0"])
def test_an_answer_lxml_rejects_is_reported_missing_whole_with_or_without_workers(make_fake, use_fake, workspace,
                                                                                  monkeypatch, workers):
    """One record lxml rejects spoils its answer: none of the answer's records is stored and all
    its ids are reported missing, whether workers parse the answer in parts or one process parses
    it whole (never a silent gap: the ids the cut read are checked against the parsed records)."""
    fake = make_fake(1_100)
    use_fake(fake)
    monkeypatch.setenv("EVIDENCE_WORKERS", workers)
    real_efetch = client_module.EutilsClient.efetch
    answers = 0

    def efetch(self, ids):
        nonlocal answers
        body = real_efetch(self, ids)
        answers += 1
        if answers == 2:  # the second batch's last record: its title never closed
            at = body.rindex(b"</ArticleTitle>")
            body = body[:at] + b"</ArticleTitl>" + body[at + len(b"</ArticleTitle>"):]
        return body

    monkeypatch.setattr(client_module.EutilsClient, "efetch", efetch)
    result = run(workspace)
    assert result.exit_code == ExitCode.INCOMPLETE, result.output
    assert "did not return 500 of the 1100 records" in result.stderr
    second_batch = {i for r in fake.requests("efetch")[1:2] for i in r.ids}
    assert stored(workspace) == set(fake.records) - second_batch
    assert len(fake.requests("efetch")) == 3  # the cut read every id of the answer: nothing asked again


def test_an_efetch_answer_is_cut_into_whole_documents_between_records(make_fake):
    fake = make_fake(9)
    ids = sorted(fake.records)
    body = efetch_answer(fake, {"id": ",".join(ids)})[1]
    cut = cut_document(body)
    assert cut.pmids == ids
    for parts in (2, 3, 4):
        pieces = cut.split(parts)
        assert len(pieces) == parts
        prolog = body[:body.index(b"<PubmedArticleSet>") + len(b"<PubmedArticleSet>")]
        assert all(p.startswith(prolog) and p.endswith(b"</PubmedArticleSet>\n") for p in pieces)
        parsed = [parse_bodies([p], ids, set())[0] for p in pieces]
        assert all(parsed) and [a.pmid for part in parsed for a in part] == ids
    one = efetch_answer(fake, {"id": ids[0]})[1]
    assert cut_document(one).split(2) == [one]  # one record: nothing to cut
    assert cut.split(1) == [body]
    empty = b'<?xml version="1.0" ?>\n<PubmedArticleSet></PubmedArticleSet>\n'
    assert cut_document(empty).split(2) == [empty]
    error = b"<eFetchResult><ERROR>oops</ERROR></eFetchResult>"
    assert cut_document(error).split(2) == [error] and cut_document(error).pmids == []


def test_resume_after_an_aborted_run_fetches_only_what_is_missing(make_fake, use_fake, workspace):
    fake = make_fake(2_600)
    use_fake(fake)
    fake.inject("503", times=None, utility="efetch", after=3)
    result = run(workspace)
    assert result.exit_code == ExitCode.NETWORK, result.output
    assert "kept failing" in result.stderr
    first = stored(workspace)
    assert len(first) == 1_500  # three batches of 500, each in its own transaction
    assert last_run(workspace)["outcome"] == "failed"
    fake.clear_faults()
    fake.clear_log()
    result = run(workspace)
    assert result.exit_code == 0, result.output
    again = efetched_ids(fake)
    assert not set(again) & first and len(again) == 1_100
    assert stored(workspace) == set(fake.records)
    assert last_run(workspace)["kind"] == "full"


def test_unknown_phrase_exits_query_and_says_which(make_fake, use_fake, workspace):
    fake = make_fake(5)
    fake.unknown_phrases.add("depression")
    use_fake(fake)
    result = run(workspace)
    assert result.exit_code == ExitCode.QUERY
    assert "PhraseNotFound: depression" in result.stderr
    assert last_run(workspace)["outcome"] == "failed"


def test_rejected_api_key_exits_query_and_is_never_shown(make_fake, use_fake, workspace):
    fake = make_fake(5)
    fake.valid_api_keys = {"right"}
    use_fake(fake, NCBI_API_KEY="WRONG-KEY-4242")
    result = run(workspace)
    assert result.exit_code == ExitCode.QUERY
    assert "API key" in result.stderr and "WRONG-KEY" not in result.output
    with cache(workspace) as db:
        assert not any("WRONG-KEY" in str(v) for row in db.execute("SELECT * FROM runs") for v in row)


def test_network_failure_message_never_holds_the_key(make_fake, use_fake, workspace):
    fake = make_fake(5)
    fake.inject("500", times=None)
    use_fake(fake, NCBI_API_KEY="SECRET-KEY-77", EVIDENCE_RETRY_SECONDS="0.3")
    result = run(workspace)
    assert result.exit_code == ExitCode.NETWORK
    assert "SECRET" not in result.output
    assert "SECRET" not in (last_run(workspace)["error"] or "")


def test_a_second_refresh_of_the_workspace_exits_locked(make_fake, use_fake, workspace):
    fake = make_fake(5)
    use_fake(fake)
    with refresh_lock(find_workspace(workspace)):
        result = run(workspace)
    assert result.exit_code == ExitCode.LOCKED
    assert "another `evidence refresh`" in result.stderr and "--wait" in result.stderr
    assert fake.requests() == []


def test_unknown_topic_is_a_usage_error(workspace):
    result = run(workspace, "nope")
    assert result.exit_code == ExitCode.USAGE and "unknown topic 'nope'" in result.stderr


def test_every_topic_by_default_and_records_shared_between_topics(make_fake, use_fake, workspace):
    fake = make_fake(300)
    use_fake(fake)
    (workspace / "queries" / "other.toml").write_text('title = "Other"\nquery = "ketamine"\n', encoding="utf-8")
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert "ketamine: 300 new" in result.stderr and "other: 300 new" in result.stderr
    assert stored(workspace, "other") == set(fake.records)
    assert len(fake.requests("efetch")) == 1  # linked from the cache, not fetched again
    with cache(workspace) as db:
        assert db.execute("SELECT count(*) FROM tags WHERE topic = 'other'").fetchone()[0] == 300


@needs_shared
def test_refresh_of_the_real_samples_and_corpus(make_fake, use_fake, workspace):
    fake = make_fake(source="samples")
    use_fake(fake, EVIDENCE_TIMEOUT="10")  # 500 real records are ~10 MB: a busy machine takes a while
    result = run(workspace)
    assert result.exit_code == 0, result.output
    assert stored(workspace) == set(fake.records)
    with cache(workspace) as db:
        title = db.execute("SELECT title FROM articles WHERE pmid = '40326726'").fetchone()[0]
    assert title.startswith("PCA ketamine-morphine versus PCA morphine")
