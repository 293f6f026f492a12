"""SQL for the tagger's output: one `tags` row per (topic, record), one `claim_tags` row per claim."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable

from evidence_cli.store.db import Store
from evidence_cli.tagging.model import ClaimTag, Tagging


def write_tags(conn: sqlite3.Connection, topic: str, pmid: str, tagging: Tagging, tagger_version: str) -> None:
    """Replace a record's tags for a topic. Call inside a transaction."""
    write_tags_many(conn, topic, [(pmid, tagging)], tagger_version)


_INSERT_TAGS = (
    "INSERT OR REPLACE INTO tags (topic, pmid, design, sample_size, sample_size_evidence, humans, "
    "animals, retracted, expression_of_concern, erratum, tagger_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_CLAIM_TAGS = "INSERT INTO claim_tags (topic, pmid, claim_id, stance, evidence, section) VALUES (?,?,?,?,?,?)"


def write_tags_many(
    conn: sqlite3.Connection,
    topic: str,
    taggings: Iterable[tuple[str, Tagging]],
    tagger_version: str,
    *,
    untagged: Collection[str] = (),
) -> None:
    """Replace the tags of many records for a topic, three statements in all (executemany). Call
    inside a transaction, with each PMID once. `untagged`: PMIDs known to hold no claim tags yet
    (new to the cache), whose DELETE is skipped."""
    taggings = list(taggings)
    conn.executemany(
        "DELETE FROM claim_tags WHERE topic = ? AND pmid = ?",
        [(topic, pmid) for pmid, _ in taggings if pmid not in untagged],
    )
    conn.executemany(_INSERT_TAGS, [
        (
            topic, pmid, t.design, t.sample_size, t.sample_size_evidence,
            None if t.humans is None else int(t.humans), int(t.animals),
            int(t.retracted), int(t.expression_of_concern), int(t.erratum), tagger_version,
        )
        for pmid, t in taggings
    ])
    conn.executemany(_INSERT_CLAIM_TAGS, [
        (topic, pmid, c.claim_id, c.stance, c.evidence, c.section) for pmid, t in taggings for c in t.claims
    ])


def save_tags(store: Store, topic: str, taggings: Iterable[tuple[str, Tagging]], tagger_version: str) -> int:
    """Store a batch of (pmid, Tagging) for records already linked to `topic`, in one transaction."""
    items = list(taggings)
    with store.transaction() as conn:  # a PMID listed twice: its last tagging stands, as one by one
        write_tags_many(conn, topic, dict(items).items(), tagger_version)
    return len(items)


def load_tagging(store: Store, topic: str, pmid: str) -> Tagging | None:
    row = store.conn.execute(
        "SELECT design, sample_size, sample_size_evidence, humans, animals, retracted, "
        "expression_of_concern, erratum FROM tags WHERE topic = ? AND pmid = ?",
        (topic, pmid),
    ).fetchone()
    if row is None:
        return None
    claims = tuple(
        ClaimTag(claim_id, stance, evidence, section)
        for claim_id, stance, evidence, section in store.conn.execute(
            "SELECT claim_id, stance, evidence, section FROM claim_tags WHERE topic = ? AND pmid = ? "
            "ORDER BY claim_id",
            (topic, pmid),
        )
    )
    design, n, n_evidence, humans, animals, retracted, eoc, erratum = row
    return Tagging(
        design=design, sample_size=n, sample_size_evidence=n_evidence,
        humans=None if humans is None else bool(humans), animals=bool(animals),
        retracted=bool(retracted), expression_of_concern=bool(eoc), erratum=bool(erratum), claims=claims,
    )


def topics_of(store: Store, pmid: str) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT topic FROM topic_articles WHERE pmid = ? ORDER BY topic", (pmid,))]
