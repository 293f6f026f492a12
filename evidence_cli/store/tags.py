"""SQL for the tagger's output: one `tags` row per (topic, record), one `claim_tags` row per claim."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from evidence_cli.store.db import Store
from evidence_cli.tagging.model import ClaimTag, Tagging


def write_tags(conn: sqlite3.Connection, topic: str, pmid: str, tagging: Tagging, tagger_version: str) -> None:
    """Replace a record's tags for a topic. Call inside a transaction."""
    conn.execute("DELETE FROM claim_tags WHERE topic = ? AND pmid = ?", (topic, pmid))
    conn.execute(
        "INSERT OR REPLACE INTO tags (topic, pmid, design, sample_size, sample_size_evidence, humans, "
        "animals, retracted, expression_of_concern, erratum, tagger_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            topic, pmid, tagging.design, tagging.sample_size, tagging.sample_size_evidence,
            None if tagging.humans is None else int(tagging.humans), int(tagging.animals),
            int(tagging.retracted), int(tagging.expression_of_concern), int(tagging.erratum), tagger_version,
        ),
    )
    conn.executemany(
        "INSERT INTO claim_tags (topic, pmid, claim_id, stance, evidence, section) VALUES (?,?,?,?,?,?)",
        [(topic, pmid, c.claim_id, c.stance, c.evidence, c.section) for c in tagging.claims],
    )


def save_tags(store: Store, topic: str, taggings: Iterable[tuple[str, Tagging]], tagger_version: str) -> int:
    """Store a batch of (pmid, Tagging) for records already linked to `topic`, in one transaction."""
    count = 0
    with store.transaction() as conn:
        for pmid, tagging in taggings:
            write_tags(conn, topic, pmid, tagging, tagger_version)
            count += 1
    return count


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
