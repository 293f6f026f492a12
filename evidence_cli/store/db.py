"""Open the cache (SQLite, WAL) and bring its schema up to date.

Migrations are ordered functions `m001_...`, `m002_...`; each runs once, inside its own
transaction, and is recorded in `_migrations`. Every open applies the missing ones, so an old
cache is upgraded in place and a newer one (from a later version of the tool) is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from evidence_cli.errors import CacheError

APPLICATION_ID = 0x45564944  # "EVID": marks the file as ours (PRAGMA application_id)


class Store:
    """A connection to one cache file. Writes go through `transaction()`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: all of it lands, or none of it (also on kill -9)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from None
        try:
            yield self.conn
        except BaseException as exc:
            self._rollback()
            # Disk full, I/O errors, a corrupt page: the user's to fix, so one clear CacheError.
            # (IntegrityError stays as it is: a constraint broken is a bug of ours.)
            if isinstance(exc, sqlite3.OperationalError):
                raise translate_sqlite_error(exc, self.path) from None
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise translate_sqlite_error(exc, self.path) from None

    def _rollback(self) -> None:
        # SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR): a second
        # ROLLBACK would then fail and hide the real error.
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def translate_sqlite_error(exc: sqlite3.Error, path: Path) -> CacheError:
    text = str(exc)
    if "disk is full" in text or "database or disk is full" in text:
        return CacheError(f"{path}: disk full: the last batch was rolled back; free space and run again")
    if "not a database" in text or "malformed" in text:
        return CacheError(f"{path}: the cache file is corrupt ({text}); move it aside and refresh again")
    if "locked" in text or "busy" in text:
        return CacheError(f"{path}: the cache is busy (another evidence process is writing); try again")
    if "readonly" in text or "unable to open" in text:
        return CacheError(f"{path}: cannot write the cache ({text})")
    return CacheError(f"{path}: cache error: {text}")


def open_store(path: Path, *, create: bool = True) -> Store:
    """Open (and, with `create`, make) the cache at `path`, migrated to the current schema."""
    if not path.exists() and not create:
        raise CacheError(f"no cache at {path}: run `evidence refresh` or `evidence import` first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise CacheError(f"{path}: cannot open the cache: {exc}") from None
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        # A lone `_migrations` is our own first step (migrate() creates it before the first
        # migration marks the file): a kill between the two must not brick a new cache.
        if app_id != APPLICATION_ID and (tables - {"_migrations"} or app_id):
            raise CacheError(f"{path}: this SQLite file is not an evidence cache; move it aside or pick another workspace")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":  # e.g. a read-only folder: fall back rather than fail reads
            conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable to the last commit on crash
        store = Store(conn, path)
        migrate(store)
        return store
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise translate_sqlite_error(exc, path) from None
    except BaseException:
        conn.close()
        raise


def migrate(store: Store) -> list[str]:
    conn = store.conn
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    known = {m.__name__ for m in MIGRATIONS}
    newer = done - known
    if newer:
        raise CacheError(
            f"{store.path}: made by a newer version of evidence (migrations {', '.join(sorted(newer))}); upgrade evidence"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.__name__ in done:
            continue
        with store.transaction():
            migration(conn)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (migration.__name__,))
        applied.append(migration.__name__)
    return applied


def m001_initial(conn: sqlite3.Connection) -> None:
    run_script(conn, M001)


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statement by statement: executescript() would COMMIT the migration's transaction."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        conn.execute(buffer)


M001 = """
CREATE TABLE articles (
    pmid TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    title TEXT NOT NULL,
    abstract_json TEXT NOT NULL,
    abstract_text TEXT NOT NULL,
    journal TEXT,
    journal_title TEXT,
    year INTEGER,
    pub_date TEXT,
    authors_json TEXT NOT NULL,
    doi TEXT,
    pmcid TEXT,
    publication_types_json TEXT NOT NULL,
    mesh_json TEXT NOT NULL,
    keywords_json TEXT NOT NULL,
    languages_json TEXT NOT NULL,
    corrections_json TEXT NOT NULL,
    date_revised TEXT,
    status TEXT,
    is_book INTEGER NOT NULL DEFAULT 0,
    raw BLOB,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE topic_articles (
    topic TEXT NOT NULL,
    pmid TEXT NOT NULL REFERENCES articles(pmid) ON DELETE CASCADE,
    added_at TEXT NOT NULL,
    PRIMARY KEY (topic, pmid)
) WITHOUT ROWID;
CREATE INDEX topic_articles_pmid ON topic_articles(pmid);
CREATE TABLE tags (
    topic TEXT NOT NULL,
    pmid TEXT NOT NULL,
    design TEXT NOT NULL,
    sample_size INTEGER,
    sample_size_evidence TEXT,
    humans INTEGER,
    animals INTEGER NOT NULL DEFAULT 0,
    retracted INTEGER NOT NULL DEFAULT 0,
    expression_of_concern INTEGER NOT NULL DEFAULT 0,
    erratum INTEGER NOT NULL DEFAULT 0,
    tagger_version TEXT NOT NULL,
    PRIMARY KEY (topic, pmid),
    FOREIGN KEY (topic, pmid) REFERENCES topic_articles(topic, pmid) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE claim_tags (
    topic TEXT NOT NULL,
    pmid TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    stance TEXT NOT NULL CHECK (stance IN ('supports', 'contradicts', 'neutral')),
    evidence TEXT NOT NULL,
    section TEXT,
    PRIMARY KEY (topic, claim_id, pmid),
    FOREIGN KEY (topic, pmid) REFERENCES tags(topic, pmid) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX claim_tags_pmid ON claim_tags(topic, pmid);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    query TEXT,
    query_translation TEXT,
    count INTEGER,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    duration_s REAL,
    outcome TEXT NOT NULL DEFAULT 'running',
    error TEXT,
    window_start TEXT,
    window_end TEXT
);
CREATE INDEX runs_topic ON runs(topic, id);
CREATE TABLE run_changes (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    pmid TEXT NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('added', 'updated', 'deleted')),
    PRIMARY KEY (run_id, pmid)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE article_fts USING fts5(
    title, abstract_text, content='articles', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
    INSERT INTO article_fts(rowid, title, abstract_text) VALUES (new.rowid, new.title, new.abstract_text);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
    INSERT INTO article_fts(article_fts, rowid, title, abstract_text)
    VALUES ('delete', old.rowid, old.title, old.abstract_text);
END;
CREATE TRIGGER articles_au AFTER UPDATE OF title, abstract_text ON articles BEGIN
    INSERT INTO article_fts(article_fts, rowid, title, abstract_text)
    VALUES ('delete', old.rowid, old.title, old.abstract_text);
    INSERT INTO article_fts(rowid, title, abstract_text) VALUES (new.rowid, new.title, new.abstract_text);
END;
"""

def m002_report_index(conn: sqlite3.Connection) -> None:
    # Reports join every tagged study to its year: a covering index answers that without
    # reading the (large) article rows; it roughly halves a 50,000-record report.
    conn.execute("CREATE INDEX IF NOT EXISTS articles_pmid_year ON articles(pmid, year)")


def m003_fetched_day(conn: sqlite3.Connection) -> None:
    # NCBI's (US Eastern) day on which refresh fetched the stored record: an incremental refresh
    # refetches a cached record only when PubMed's modification day (mdat) says it changed since.
    conn.execute("ALTER TABLE articles ADD COLUMN fetched_day TEXT")


def m004_link_source(conn: sqlite3.Connection) -> None:
    # How a record joined a topic: 'refresh' (the topic's query found it) or 'import' (a user put it
    # there). A complete whole search drops the refresh links it no longer returns, never imports.
    conn.execute("ALTER TABLE topic_articles ADD COLUMN via TEXT NOT NULL DEFAULT 'refresh'")
    conn.execute(
        "UPDATE topic_articles SET via = 'import' WHERE EXISTS (SELECT 1 FROM run_changes c "
        "JOIN runs r ON r.id = c.run_id WHERE r.kind = 'import' AND r.topic = topic_articles.topic "
        "AND c.pmid = topic_articles.pmid)"
    )


def m005_bulk_fts_insert(conn: sqlite3.Connection) -> None:
    # New records enter the full-text index in one INSERT ... SELECT per batch (`save_rows`), not
    # through a per-row trigger: measured on the 30,000-record baseline, 0.5 s of CPU against 1.4 s.
    conn.execute("DROP TRIGGER IF EXISTS articles_ai")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_initial, m002_report_index, m003_fetched_day, m004_link_source, m005_bulk_fts_insert,
]
