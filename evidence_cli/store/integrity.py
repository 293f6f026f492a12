"""The cache's health in SQL: SQLite's own checks plus the project's consistency rules.

SQLite's `integrity_check` proves the file is sound; it cannot know our rules (every tag hangs on
a topic link, every link on a record, the search index mirrors the records). Those are checked
here, by counting the rows that break each rule, so `evidence doctor` and the kill -9 tests ask
the same questions.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from evidence_cli.store.db import APPLICATION_ID, MIGRATIONS, Store

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Finding:
    check: str  # a stable name: scripts and tests key on it
    status: str  # OK, WARN or FAIL
    detail: str = ""


# Each rule: (name, SQL counting the rows that break it, what such a row means).
# A broken rule is a FAIL: reports would count wrong. Foreign keys make most of these
# impossible while they are on; the checks catch files written with them off or by hand.
CONSISTENCY_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "links-without-record",
        "SELECT count(*) FROM topic_articles t WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.pmid = t.pmid)",
        "topic links point at records that are not cached",
    ),
    (
        "tags-without-link",
        ("SELECT count(*) FROM tags g WHERE NOT EXISTS "
         "(SELECT 1 FROM topic_articles t WHERE t.topic = g.topic AND t.pmid = g.pmid)"),
        "tag rows for records not linked to their topic",
    ),
    (
        "claim-tags-without-tags",
        ("SELECT count(*) FROM claim_tags c WHERE NOT EXISTS "
         "(SELECT 1 FROM tags g WHERE g.topic = c.topic AND g.pmid = c.pmid)"),
        "claim tags without the record's tag row",
    ),
    (
        "run-changes-without-run",
        "SELECT count(*) FROM run_changes c WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = c.run_id)",
        "run-log changes for runs that are not in the run log",
    ),
    (
        "duplicate-pmids",
        "SELECT count(*) FROM (SELECT pmid FROM articles GROUP BY pmid HAVING count(*) > 1)",
        "PMIDs stored more than once",
    ),
)


def sqlite_integrity(conn: sqlite3.Connection, *, quick: bool = False) -> Finding:
    """PRAGMA integrity_check (or the faster quick_check, which skips index-content checks)."""
    pragma = "quick_check" if quick else "integrity_check"
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}(20)")]
    except sqlite3.DatabaseError as exc:
        return Finding(pragma, FAIL, str(exc))
    if rows == ["ok"]:
        return Finding(pragma, OK)
    return Finding(pragma, FAIL, "; ".join(rows[:5]) + (" ..." if len(rows) > 5 else ""))


def foreign_keys(conn: sqlite3.Connection) -> Finding:
    try:
        rows = conn.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return Finding("foreign-keys", FAIL, str(exc))
    if not rows:
        return Finding("foreign-keys", OK)
    tables = sorted({r[0] for r in rows})
    return Finding("foreign-keys", FAIL, f"{len(rows)} rows break a foreign key (in {', '.join(tables)})")


def schema_version(conn: sqlite3.Connection) -> Finding:
    """Our file, with exactly the migrations this version knows (open_store applies missing ones)."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        done = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    except sqlite3.DatabaseError as exc:
        return Finding("schema", FAIL, str(exc))
    if app_id != APPLICATION_ID:
        return Finding("schema", FAIL, "not an evidence cache (wrong application_id)")
    known = [m.__name__ for m in MIGRATIONS]
    if done - set(known):
        return Finding("schema", FAIL, f"made by a newer evidence ({', '.join(sorted(done - set(known)))})")
    missing = [m for m in known if m not in done]
    if missing:
        return Finding("schema", FAIL, f"migrations not applied: {', '.join(missing)}")
    return Finding("schema", OK, f"{known[-1]} ({len(known)} migrations)")


def search_index(conn: sqlite3.Connection) -> Finding:
    """The full-text index matches the records (the `rank` argument 1 compares it with `articles`)."""
    try:
        conn.execute("INSERT INTO article_fts(article_fts, rank) VALUES('integrity-check', 1)")
    except sqlite3.DatabaseError as exc:
        if "readonly" in str(exc):  # the check is an INSERT command: not possible on a read-only file
            return Finding("search-index", WARN, "not checked: the cache is read-only")
        if "malformed" in str(exc) or "corrupt" in str(exc):
            return Finding("search-index", FAIL, "the full-text index does not match the records (run `evidence retag` or rebuild)")
        return Finding("search-index", FAIL, str(exc))
    return Finding("search-index", OK)


def consistency(conn: sqlite3.Connection) -> list[Finding]:
    findings = []
    for name, sql, meaning in CONSISTENCY_RULES:
        try:
            broken = conn.execute(sql).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            findings.append(Finding(name, FAIL, str(exc)))
            continue
        findings.append(Finding(name, FAIL, f"{broken} {meaning}") if broken else Finding(name, OK))
    return findings


def unfinished_runs(conn: sqlite3.Connection) -> Finding:
    """Runs still marked 'running': a refresh in progress, or one killed (the next refresh marks it)."""
    try:
        rows = conn.execute("SELECT topic, count(*) FROM runs WHERE outcome = 'running' GROUP BY topic").fetchall()
    except sqlite3.DatabaseError as exc:
        return Finding("unfinished-runs", FAIL, str(exc))
    if not rows:
        return Finding("unfinished-runs", OK)
    topics = ", ".join(f"{topic} ({n})" for topic, n in rows)
    # Not a failure: every stored batch is complete, the next refresh of the topic resumes and
    # records these as interrupted.
    return Finding("unfinished-runs", WARN, f"runs still marked running: {topics} (in progress, or killed)")


def check_store(store: Store, *, quick: bool = False) -> list[Finding]:
    """Every check, in order: file, schema, foreign keys, our rules, search index, run log."""
    conn = store.conn
    findings = [sqlite_integrity(conn, quick=quick), schema_version(conn), foreign_keys(conn)]
    findings += consistency(conn)
    findings += [search_index(conn), unfinished_runs(conn)]
    return findings


def problems(findings: list[Finding]) -> list[Finding]:
    """The failing findings (warnings are not problems)."""
    return [f for f in findings if f.status == FAIL]
