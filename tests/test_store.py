"""The cache: migrations, atomic batches, deletions, foreign files."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.errors import CacheError
from evidence_cli.pubmed.model import AbstractSection, Article, Correction, MeshHeading
from evidence_cli.store import articles as store_articles
from evidence_cli.store import runs as store_runs
from evidence_cli.store.db import MIGRATIONS, open_store
from evidence_cli.store.tags import load_tagging
from evidence_cli.tagging.model import ClaimTag, Tagging


def make_article(pmid: str, title: str = "A trial of something", revised: str = "2024-01-01") -> Article:
    return Article(
        pmid=pmid, title=title,
        abstract=(AbstractSection("We did a thing.", "METHODS", "METHODS"), AbstractSection("It worked.", "RESULTS", "RESULTS")),
        journal="J Test", year=2024, authors=("Doe J", "Roe R"), doi="10.1/x", pmcid="PMC1",
        publication_types=("Journal Article",), mesh=(MeshHeading("Ketamine", True, ("therapeutic use",), "D007649"),),
        corrections=(Correction("ErratumIn", "123", "J Test. 2024"),), date_revised=revised, raw=b"<PubmedArticle/>",
    )


TAGGING = Tagging(design="rct", sample_size=40, sample_size_evidence="Forty patients.", humans=True,
                  claims=(ClaimTag("rapid_onset", "supports", "It worked.", "RESULTS"),))


def test_migrations_recorded_and_schema_has_tables(tmp_path):
    store = open_store(tmp_path / "c.sqlite")
    names = [r[0] for r in store.conn.execute("SELECT name FROM _migrations")]
    assert names == [m.__name__ for m in MIGRATIONS]
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "topic_articles", "tags", "claim_tags", "runs", "run_changes", "article_fts"} <= tables
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_round_trip_and_change_detection(tmp_path):
    store = open_store(tmp_path / "c.sqlite")
    first = store_articles.save_batch(store, [(make_article("1"), TAGGING)], topic="t", tagger_version="v")
    assert (first.added, first.updated, first.unchanged) == (1, 0, 0)
    again = store_articles.save_batch(store, [(make_article("1"), TAGGING)], topic="t", tagger_version="v")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    revised = store_articles.save_batch(store, [(make_article("1", revised="2025-02-02"), TAGGING)], topic="t")
    assert revised.updated == 1
    back = store_articles.get_article(store, "1", with_raw=True)
    assert back == make_article("1", revised="2025-02-02")
    assert back.raw == b"<PubmedArticle/>"
    assert load_tagging(store, "t", "1") == TAGGING
    assert [a.pmid for a in store_articles.iter_topic_articles(store, "t")] == ["1"]


def test_failed_batch_leaves_nothing(tmp_path):
    store = open_store(tmp_path / "c.sqlite")
    bad = Tagging(design="rct", claims=(ClaimTag("x", "maybe", "s"),))  # violates the stance CHECK
    with pytest.raises(sqlite3.IntegrityError):
        store_articles.save_batch(store, [(make_article("1"), TAGGING), (make_article("2"), bad)], topic="t")
    assert store.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM tags").fetchone()[0] == 0


def test_delete_removes_links_tags_and_search_rows(tmp_path):
    store = open_store(tmp_path / "c.sqlite")
    store_articles.save_batch(store, [(make_article("1", title="ketamine infusion"), TAGGING)], topic="t")
    assert store.conn.execute("SELECT count(*) FROM article_fts WHERE article_fts MATCH 'ketamine'").fetchone()[0] == 1
    assert store_articles.delete_articles(store, ["1", "999"]) == 1
    for table in ("articles", "topic_articles", "tags", "claim_tags"):
        assert store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM article_fts WHERE article_fts MATCH 'ketamine'").fetchone()[0] == 0


def test_run_log(tmp_path):
    store = open_store(tmp_path / "c.sqlite")
    run_id = store_runs.start_run(store, "t", "full", query="q")
    store_articles.save_batch(store, [(make_article("1"), None)], topic="t", run_id=run_id)
    store_runs.finish_run(store, run_id, "complete", added=1, requests=3)
    run = store_runs.last_run(store, "t", outcome="complete")
    assert run is not None and (run.added, run.requests, run.outcome) == (1, 3, "complete")
    assert store_runs.run_changes(store, run_id) == [("1", "added")]


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(CacheError, match="not an evidence cache"):
        open_store(foreign)
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(CacheError, match="corrupt"):
        open_store(corrupt)


def test_newer_schema_is_refused(tmp_path):
    store = open_store(tmp_path / "c.sqlite")
    store.conn.execute("INSERT INTO _migrations VALUES ('m999_future', datetime('now'))")
    store.close()
    with pytest.raises(CacheError, match="newer version"):
        open_store(tmp_path / "c.sqlite")


def test_a_pmid_twice_in_one_batch_is_stored_as_written_one_by_one(tmp_path):
    """save_batch looks records up once per batch: a PMID met again in the same batch (an update
    file can list a record twice) must still count as added, then updated, with its last copy,
    last tags and last change stored."""
    store = open_store(tmp_path / "c.sqlite")
    other = Tagging(design="cohort", claims=(ClaimTag("safety", "neutral", "We did a thing.", "METHODS"),))
    first = store_articles.save_batch(
        store, [(make_article("1"), TAGGING), (make_article("1", title="Revised", revised="2025-01-01"), other),
                (make_article("1", title="Revised", revised="2025-01-01"), None)],
        topic="t", run_id=store_runs.start_run(store, "t", "import"),
    )
    assert (first.added, first.updated, first.unchanged) == (1, 1, 1)
    assert store_articles.get_article(store, "1", with_raw=True).title == "Revised"
    assert load_tagging(store, "t", "1") == other
    assert store.conn.execute("SELECT change FROM run_changes").fetchall() == [("updated",)]
    # Retagging a cached record replaces its claim tags (the DELETE is skipped only for new records).
    again = store_articles.save_batch(store, [(make_article("1", title="Revised", revised="2025-01-01"), TAGGING)],
                                      topic="t")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    assert load_tagging(store, "t", "1") == TAGGING
    store.close()


def test_save_rows_takes_rows_built_elsewhere(tmp_path):
    """Rows built by article_row (compressed raw XML, as the import's workers send them) or left
    uncompressed (compress_raw=False) store the same record."""
    store = open_store(tmp_path / "c.sqlite")
    rows = [(store_articles.article_row(make_article("1")), TAGGING),
            (store_articles.article_row(make_article("2"), compress_raw=False), None)]
    result = store_articles.save_rows(store, rows, topic="t")
    assert (result.added, result.updated, result.unchanged) == (2, 0, 0)
    for pmid in ("1", "2"):
        article = store_articles.get_article(store, pmid, with_raw=True)
        assert article == make_article(pmid) and article.raw == b"<PubmedArticle/>"
    assert load_tagging(store, "t", "1") == TAGGING and load_tagging(store, "t", "2") is None
    store.close()


def test_link_source_migration_marks_links_that_imports_made(tmp_path):
    """m004 on a cache made before it: links an import run added are 'import', the rest 'refresh'."""
    path = tmp_path / "c.sqlite"
    store = open_store(path)
    imported = store_runs.start_run(store, "t", "import")
    store_articles.save_batch(store, [(make_article("1"), None)], topic="t", run_id=imported)
    fetched = store_runs.start_run(store, "t", "full")
    store_articles.save_batch(store, [(make_article("2"), None)], topic="t", run_id=fetched)
    with store.transaction() as conn:  # back to the schema before m004
        conn.execute("ALTER TABLE topic_articles DROP COLUMN via")
        conn.execute("DELETE FROM _migrations WHERE name = 'm004_link_source'")
    store.close()
    store = open_store(path)
    assert dict(store.conn.execute("SELECT pmid, via FROM topic_articles ORDER BY pmid")) == {"1": "import", "2": "refresh"}
    assert store_articles.unlink_unmatched(store, "t", frozenset()) == 1  # only the refresh link goes
    assert store_articles.topic_pmids(store, "t") == {"1"}


def _fts_matches(store, word: str) -> list[str]:
    return [r[0] for r in store.conn.execute(
        "SELECT a.pmid FROM article_fts f JOIN articles a ON a.rowid = f.rowid WHERE article_fts MATCH ? ORDER BY a.pmid",
        (word,))]


def _fts_consistent(store) -> None:
    """FTS5's own check of the index against the articles table (raises when they disagree)."""
    store.conn.execute("INSERT INTO article_fts(article_fts, rank) VALUES('integrity-check', 1)")


def test_batch_inserts_enter_the_search_index_once(tmp_path):
    """New records are indexed per batch, not per row: each exactly once, updates re-indexed, a PMID
    twice in a batch (inserted, then updated) indexed as its last copy."""
    store = open_store(tmp_path / "c.sqlite")
    batch = [(make_article(str(n), title=f"ketamine trial {n}"), None) for n in range(1, 4)]
    batch.append((make_article("3", title="esketamine trial 3", revised="2025-01-01"), None))
    store_articles.save_batch(store, batch, topic="t")
    _fts_consistent(store)
    assert _fts_matches(store, "ketamine") == ["1", "2"]
    assert _fts_matches(store, "esketamine") == ["3"]
    store_articles.save_batch(store, [(make_article("2", title="arketamine", revised="2026-01-01"), None),
                                      (make_article("4", title="ketamine again"), None)], topic="t")
    _fts_consistent(store)
    assert _fts_matches(store, "ketamine") == ["1", "4"]
    assert _fts_matches(store, "arketamine") == ["2"]


def test_bulk_fts_migration_drops_the_insert_trigger_without_reindexing(tmp_path):
    """m005 on a cache made before it: the per-row insert trigger goes, what it indexed stays, once."""
    path = tmp_path / "c.sqlite"
    store = open_store(path)
    store_articles.save_batch(store, [(make_article("1", title="ketamine infusion"), None)], topic="t")
    with store.transaction() as conn:  # back to the schema before m005
        conn.execute("CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN INSERT INTO "
                     "article_fts(rowid, title, abstract_text) VALUES (new.rowid, new.title, new.abstract_text); END")
        conn.execute("DELETE FROM _migrations WHERE name = 'm005_bulk_fts_insert'")
    store.close()
    store = open_store(path)
    triggers = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert "articles_ai" not in triggers and {"articles_ad", "articles_au"} <= triggers
    store_articles.save_batch(store, [(make_article("2", title="ketamine nasal spray"), None)], topic="t")
    _fts_consistent(store)
    assert _fts_matches(store, "ketamine") == ["1", "2"]


def test_raw_xml_is_stored_compressed_and_old_zlib_rows_still_read(tmp_path):
    """New rows hold zstd frames; a cache written before (zlib) reads back the same XML."""
    import dataclasses
    import zlib

    store = open_store(tmp_path / "c.sqlite")
    raw = b"<PubmedArticle><MedlineCitation><PMID>1</PMID></MedlineCitation></PubmedArticle>" * 20
    article = make_article("1")
    store_articles.save_batch(store, [(dataclasses.replace(article, raw=raw), None)], topic="t")
    blob = store.conn.execute("SELECT raw FROM articles WHERE pmid = '1'").fetchone()[0]
    assert blob.startswith(store_articles.ZSTD_MAGIC) and len(blob) < len(raw) / 4
    assert store_articles.get_article(store, "1", with_raw=True).raw == raw
    with store.transaction() as conn:
        conn.execute("UPDATE articles SET raw = ? WHERE pmid = '1'", (zlib.compress(raw, 1),))
    assert store_articles.get_article(store, "1", with_raw=True).raw == raw


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text()))
def test_string_list_columns_are_the_json_the_encoder_writes(items):
    import json

    expected = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    assert store_articles._dumps_strings(tuple(items)) == expected
    assert json.loads(store_articles._dumps_strings(items)) == items
