"""SQL for the run log: one row per refresh or import, and the records each one changed."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from evidence_cli.store.articles import now_iso
from evidence_cli.store.db import Store

RUN_OUTCOMES = ("running", "complete", "incomplete", "failed", "interrupted")


@dataclass(frozen=True)
class Run:
    id: int
    topic: str
    kind: str  # "full", "incremental", "import"
    started_at: str
    finished_at: str | None
    query: str | None
    query_translation: str | None
    count: int | None
    added: int
    updated: int
    deleted: int
    requests: int
    duration_s: float | None
    outcome: str
    error: str | None
    window_start: str | None
    window_end: str | None


RUN_COLUMNS = ", ".join(f.name for f in fields(Run))


def start_run(store: Store, topic: str, kind: str, *, query: str | None = None,
              window_start: str | None = None, window_end: str | None = None) -> int:
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO runs (topic, kind, started_at, query, window_start, window_end) VALUES (?,?,?,?,?,?)",
            (topic, kind, now_iso(), query, window_start, window_end),
        )
        return int(cursor.lastrowid or 0)


def update_run(store: Store, run_id: int, **values: Any) -> None:
    """Set run columns (added, updated, requests, count, query_translation, ...)."""
    allowed = {f.name for f in fields(Run)} - {"id", "topic", "kind", "started_at"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown run columns: {sorted(unknown)}")
    if not values:
        return
    with store.transaction() as conn:
        conn.execute(
            f"UPDATE runs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
            (*values.values(), run_id),
        )


def finish_run(store: Store, run_id: int, outcome: str, *, error: str | None = None, **values: Any) -> None:
    if outcome not in RUN_OUTCOMES:
        raise ValueError(outcome)
    update_run(store, run_id, outcome=outcome, error=error, finished_at=now_iso(), **values)


def get_run(store: Store, run_id: int) -> Run | None:
    row = store.conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    return Run(*row) if row else None


def last_run(store: Store, topic: str, *, outcome: str | None = None, kinds: tuple[str, ...] | None = None) -> Run | None:
    sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE topic = ?"
    params: list[Any] = [topic]
    if outcome:
        sql += " AND outcome = ?"
        params.append(outcome)
    if kinds:
        sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params.extend(kinds)
    row = store.conn.execute(sql + " ORDER BY id DESC LIMIT 1", params).fetchone()
    return Run(*row) if row else None


def run_changes(store: Store, run_id: int) -> list[tuple[str, str]]:
    """(pmid, change) for every record a run added, updated or deleted."""
    return [tuple(r) for r in store.conn.execute(
        "SELECT pmid, change FROM run_changes WHERE run_id = ? ORDER BY change, pmid", (run_id,))]


def mark_abandoned_runs(store: Store, topic: str) -> int:
    """Runs still 'running' were killed (kill -9, power loss): record them as interrupted."""
    with store.transaction() as conn:
        return conn.execute(
            "UPDATE runs SET outcome = 'interrupted', error = coalesce(error, 'process ended before the run finished') "
            "WHERE topic = ? AND outcome = 'running'",
            (topic,),
        ).rowcount


def chain_start(store: Store, topic: str, after_run_id: int) -> str | None:
    """When the first refresh of `topic` after run `after_run_id` started (None: there is none)."""
    row = store.conn.execute(
        "SELECT min(started_at) FROM runs WHERE topic = ? AND id > ? AND kind IN ('full', 'incremental')",
        (topic, after_run_id),
    ).fetchone()
    return row[0]
