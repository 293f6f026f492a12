"""SQL for reports, study lists, search, exports, digests and the topic list.

Everything is aggregated in SQLite (GROUP BY, window functions, json_extract), so a report over
50,000 records moves a few thousand grouped rows into Python, not 50,000 objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evidence_cli.errors import UsageError
from evidence_cli.pubmed.model import Article
from evidence_cli.store.articles import ARTICLE_COLUMNS, row_article
from evidence_cli.store.db import Store
from evidence_cli.tagging.model import DESIGNS, STANCES

# Strongest design first: the order of every study list.
DESIGN_RANK = {design: rank for rank, design in enumerate((
    "meta-analysis", "systematic-review", "rct", "non-randomized-trial", "observational",
    "case-report", "preclinical", "narrative-review", "protocol", "other",
))}
_RANK_SQL = "CASE t.design " + " ".join(f"WHEN '{d}' THEN {r}" for d, r in DESIGN_RANK.items()) + " ELSE 99 END"

# A human study: not preclinical, and not flagged as animal work when the tagger could not tell.
HUMAN_SQL = "(t.design <> 'preclinical' AND coalesce(t.humans, t.animals = 0) = 1)"
# Participants come from primary human studies only: reviews pool other studies' participants
# (counting them again would double-count), protocols report planned numbers.
PRIMARY_SQL = f"({HUMAN_SQL} AND t.design NOT IN ('meta-analysis', 'systematic-review', 'narrative-review', 'protocol'))"


@dataclass(frozen=True)
class ReportFilters:
    """Which tagged studies a report counts. Retracted studies are never counted."""

    since: int | None = None  # publication year >= since
    designs: tuple[str, ...] = ()  # empty: every design
    humans_only: bool = False
    min_n: int | None = None  # sample size >= min_n (studies without a stated N drop out)

    def __post_init__(self) -> None:
        unknown = [d for d in self.designs if d not in DESIGNS]
        if unknown:
            raise UsageError(f"unknown design {unknown[0]!r} (designs: {', '.join(DESIGNS)})")

    def where(self, claim_ids: Sequence[str] | None = None) -> tuple[str, list[Any]]:
        """SQL conditions on aliases c (claim_tags), t (tags), a (articles), and their parameters."""
        sql = ""
        params: list[Any] = []
        if claim_ids is not None:
            sql += f" AND c.claim_id IN ({', '.join('?' * len(claim_ids))})"
            params.extend(claim_ids)
        if self.since is not None:
            sql += " AND a.year >= ?"
            params.append(self.since)
        if self.designs:
            sql += f" AND t.design IN ({', '.join('?' * len(self.designs))})"
            params.extend(self.designs)
        if self.humans_only:
            sql += f" AND {HUMAN_SQL}"
        if self.min_n is not None:
            sql += " AND t.sample_size >= ?"
            params.append(self.min_n)
        return sql, params


NO_FILTERS = ReportFilters()

_TAGGED = (
    "FROM claim_tags c JOIN tags t ON t.topic = c.topic AND t.pmid = c.pmid "
    "JOIN articles a ON a.pmid = c.pmid WHERE c.topic = ?"
)


@dataclass(frozen=True)
class Cell:
    """One group of a claim's tagged studies: same design, stance, year, humans and retraction."""

    claim_id: str
    design: str
    stance: str
    year: int | None
    human: bool
    retracted: bool  # retracted cells are listed, never counted
    studies: int
    participants: int
    pmids: tuple[str, ...] = ()  # newest PMID first

    @property
    def rank(self) -> tuple[int, int]:
        """Study-list order: strongest design first, then newest year (undated last)."""
        return DESIGN_RANK.get(self.design, 99), -(self.year if self.year is not None else -1)


def claim_cells(store: Store, topic: str, filters: ReportFilters = NO_FILTERS,
                claim_ids: Sequence[str] | None = None) -> list[Cell]:
    """Every tagged study of the claims, grouped (one pass over the cache: the whole report's counts).

    Each group carries its PMIDs (group_concat), so PMID lists and the first studies of each
    claim come from this one query too.
    """
    where, params = filters.where(claim_ids)
    # The covering index (migration m002) gives each study's year without reading its article row;
    # without statistics the planner would pick the unique pmid index and read every row.
    tagged = _TAGGED.replace("JOIN articles a ", "JOIN articles a INDEXED BY articles_pmid_year ")
    rows = store.conn.execute(
        f"SELECT c.claim_id, t.design, c.stance, a.year, {HUMAN_SQL}, t.retracted, count(*), "
        f"sum(CASE WHEN {PRIMARY_SQL} THEN coalesce(t.sample_size, 0) ELSE 0 END), group_concat(c.pmid) "
        f"{tagged}{where} GROUP BY 1, 2, 3, 4, 5, 6",
        [topic, *params],
    ).fetchall()
    return [
        Cell(cl, d, s, y, bool(h), bool(r), n, p or 0, tuple(reversed(pmids.split(","))))
        for cl, d, s, y, h, r, n, p, pmids in rows
    ]


@dataclass(frozen=True)
class StudyRow:
    """One tagged study of a claim, as a study list shows it."""

    claim_id: str
    pmid: str
    year: int | None
    design: str
    sample_size: int | None
    stance: str
    evidence: str
    first_author: str | None
    journal: str | None
    title: str
    doi: str | None
    human: bool
    retracted: bool
    expression_of_concern: bool = False  # counted, but flagged wherever the study is listed
    erratum: bool = False


def study_rows(store: Store, topic: str, filters: ReportFilters = NO_FILTERS,
               claim_ids: Sequence[str] | None = None, *, per_claim: int | None = None,
               include_retracted: bool = True, only: Sequence[tuple[str, str]] | None = None,
               stance: str | None = None) -> list[StudyRow]:
    """Tagged studies, per claim strongest design first, then newest, then largest; `per_claim` caps each list.

    `only`: just these (claim_id, pmid) pairs (a report's first studies, picked from its cells).
    `stance`: just the studies with this stance (the article check's citations).
    """
    where, params = filters.where(claim_ids)
    if not include_retracted:
        where += " AND t.retracted = 0"
    if stance is not None:
        where += " AND c.stance = ?"
        params = [*params, stance]
    select = (
        f"SELECT c.claim_id, c.pmid, a.year, t.design, t.sample_size, c.stance, c.evidence, "
        f"json_extract(a.authors_json, '$[0]'), a.journal, a.title, a.doi, {HUMAN_SQL}, t.retracted, "
        f"t.expression_of_concern, t.erratum"
    )
    order = f"{_RANK_SQL}, a.year DESC, coalesce(t.sample_size, -1) DESC, c.pmid DESC"
    if only is not None:
        # One query per claim and chunk: `claim_id = ? AND pmid IN (...)` is a primary-key lookup.
        wanted: dict[str, list[str]] = {}
        for claim_id, pmid in only:
            wanted.setdefault(claim_id, []).append(pmid)
        queries = [
            ((f"{select} {_TAGGED}{where} AND c.claim_id = ? AND c.pmid IN ({', '.join('?' * len(part))}) "
              f"ORDER BY {order}"), [topic, *params, claim_id, *part])
            for claim_id, pmids in sorted(wanted.items())
            for part in (pmids[i:i + 500] for i in range(0, len(pmids), 500))
        ]
    elif per_claim is None:
        queries = [(f"{select} {_TAGGED}{where} ORDER BY c.claim_id, {order}", [topic, *params])]
    else:
        queries = [(
            (f"SELECT * FROM ({select}, row_number() OVER (PARTITION BY c.claim_id ORDER BY {order}) AS rn "
             f"{_TAGGED}{where}) WHERE rn <= ? ORDER BY claim_id, rn"), [topic, *params, per_claim])]
    rows = [
        StudyRow(*r[:11], *map(bool, r[11:15]))  # human, retracted, expression_of_concern, erratum: 0/1
        for sql, args in queries for r in store.conn.execute(sql, args)
    ]
    if only is not None and any(len(p) > 500 for p in wanted.values()):  # chunks are each in order: merge
        rows.sort(key=lambda r: r.pmid, reverse=True)
        rows.sort(key=lambda r: (r.claim_id, DESIGN_RANK.get(r.design, 99), -(r.year or -1),
                                 -(r.sample_size if r.sample_size is not None else -1)))
    return rows


def topic_records(store: Store, topic: str) -> int:
    return store.conn.execute("SELECT count(*) FROM topic_articles WHERE topic = ?", (topic,)).fetchone()[0]


# ---- search -----------------------------------------------------------------------------------

# Around matched words in a snippet: control characters no title or abstract holds.
MATCH_START, MATCH_END = "\x02", "\x03"
_WORD = re.compile(r"\w", re.UNICODE)


def fts_query(text: str) -> str:
    """User text -> a safe FTS5 query: every word a quoted phrase, ANDed; `word*` stays a prefix.

    Quotes, operators (AND/OR/NOT/NEAR), parentheses, colons and hyphens in the text are
    matched as plain words, never parsed as FTS5 syntax.
    """
    parts = []
    for piece in text.split():
        prefix = piece.endswith("*")
        core = piece.rstrip("*")
        if not _WORD.search(core):
            continue
        phrase = '"' + core.replace('"', '""') + '"'
        parts.append(phrase + ("*" if prefix else ""))
    if not parts:
        raise UsageError(f"nothing to search for in {text!r}: give at least one word")
    return " ".join(parts)


@dataclass(frozen=True)
class SearchHit:
    pmid: str
    score: float  # bm25: lower is a better match
    year: int | None
    journal: str | None
    title: str
    snippet: str  # matched words between MATCH_START and MATCH_END
    design: str | None  # for the topic searched (None: the record is untagged)


def search(store: Store, text: str, *, topic: str | None = None, claim_id: str | None = None,
           design: str | None = None, limit: int = 20) -> list[SearchHit]:
    """Records matching `text`, best first (bm25; title hits weigh 3x the abstract).

    Ranks on the full-text index alone, then reads articles and snippets for the hits only: a
    common word matches most of the cache, and reading every matching article would dominate.
    """
    if design is not None and design not in DESIGNS:
        raise UsageError(f"unknown design {design!r} (designs: {', '.join(DESIGNS)})")
    query = fts_query(text)
    # The records allowed, as one set of PMIDs; their rowids come through the pmid index.
    sets, params = [], []
    if topic is not None:
        sets.append("SELECT pmid FROM topic_articles WHERE topic = ?")
        params.append(topic)
    for table, column, value in (("claim_tags", "claim_id", claim_id), ("tags", "design", design)):
        if value is not None:
            sets.append(f"SELECT pmid FROM {table} WHERE {column} = ?" + (" AND topic = ?" if topic is not None else ""))
            params.extend([value, topic] if topic is not None else [value])
    if sets:
        # Materialized once, then probed for each match: SQLite would otherwise re-run the
        # subquery for every matching row (minutes on a large cache).
        ranked = store.conn.execute(
            f"WITH allowed AS MATERIALIZED (SELECT a.rowid AS rid FROM articles a WHERE a.pmid IN "
            f"({' INTERSECT '.join(sets)})) SELECT f.rowid, bm25(article_fts, 3.0, 1.0) AS score "
            f"FROM article_fts f JOIN allowed ON allowed.rid = f.rowid WHERE article_fts MATCH ? ORDER BY score LIMIT ?",
            [*params, query, limit],
        ).fetchall()
    else:
        ranked = store.conn.execute(
            "SELECT rowid, bm25(article_fts, 3.0, 1.0) AS score FROM article_fts WHERE article_fts MATCH ? "
            "ORDER BY score LIMIT ?", [query, limit],
        ).fetchall()
    if not ranked:
        return []
    rowids = [r for r, _ in ranked]
    marks = ", ".join("?" * len(rowids))
    snippets = dict(store.conn.execute(
        f"SELECT rowid, snippet(article_fts, -1, char(2), char(3), '…', 16) FROM article_fts "
        f"WHERE article_fts MATCH ? AND rowid IN ({marks})", [query, *rowids]))
    design_sql = "(SELECT design FROM tags WHERE pmid = a.pmid" + (" AND topic = ?" if topic else "") + " LIMIT 1)"
    details = {row[0]: row[1:] for row in store.conn.execute(
        f"SELECT a.rowid, a.pmid, a.year, a.journal, a.title, {design_sql} FROM articles a WHERE a.rowid IN ({marks})",
        [*([topic] if topic else []), *rowids])}
    return [
        SearchHit(pmid, score, year, journal, title, snippets.get(rowid, ""), design)
        for rowid, score in ranked
        for pmid, year, journal, title, design in [details[rowid]]
    ]


# ---- export -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportRow:
    article: Article
    retracted: bool  # tagged retracted for the topic (the record's own corrections also say so)
    design: str | None


def export_rows(store: Store, topic: str, *, claim_id: str | None = None,
                stance: str | None = None) -> list[ExportRow]:
    """Full records of a topic (or of one claim, one stance), strongest design first."""
    if stance is not None and stance not in STANCES:
        raise UsageError(f"unknown stance {stance!r} (stances: {', '.join(STANCES)})")
    columns = ", ".join(f"a.{c}" for c in ARTICLE_COLUMNS[:-1])
    conditions, params = "", [topic, topic]
    if claim_id is not None or stance is not None:
        conditions = " AND a.pmid IN (SELECT pmid FROM claim_tags c WHERE c.topic = ?"
        params.append(topic)
        if claim_id is not None:
            conditions += " AND c.claim_id = ?"
            params.append(claim_id)
        if stance is not None:
            conditions += " AND c.stance = ?"
            params.append(stance)
        conditions += ")"
    rows = store.conn.execute(
        f"SELECT {columns}, NULL, coalesce(t.retracted, 0), t.design FROM topic_articles ta "
        f"JOIN articles a ON a.pmid = ta.pmid LEFT JOIN tags t ON t.topic = ? AND t.pmid = a.pmid "
        f"WHERE ta.topic = ?{conditions} ORDER BY {_RANK_SQL}, a.year DESC, a.pmid DESC",
        params,
    ).fetchall()
    n = len(ARTICLE_COLUMNS)
    return [ExportRow(row_article(r[:n]), bool(r[n]), r[n + 1]) for r in rows]


# ---- digest (`evidence new`) ------------------------------------------------------------------

@dataclass(frozen=True)
class ChangedStudy:
    pmid: str
    change: str  # added, updated, deleted
    title: str | None  # None once deleted
    year: int | None
    design: str | None
    retracted: bool
    claims: tuple[tuple[str, str, str], ...]  # (claim_id, stance, evidence)


def run_changed_studies(store: Store, topic: str, run_id: int) -> list[ChangedStudy]:
    """What one run added, updated or deleted, with the topic's current tags of each record."""
    rows = store.conn.execute(
        "SELECT rc.pmid, rc.change, a.title, a.year, t.design, coalesce(t.retracted, 0), "
        "c.claim_id, c.stance, c.evidence "
        "FROM run_changes rc LEFT JOIN articles a ON a.pmid = rc.pmid "
        "LEFT JOIN tags t ON t.topic = ? AND t.pmid = rc.pmid "
        "LEFT JOIN claim_tags c ON c.topic = ? AND c.pmid = rc.pmid "
        "WHERE rc.run_id = ? ORDER BY rc.change, rc.pmid, c.claim_id",
        (topic, topic, run_id),
    ).fetchall()
    studies: dict[str, ChangedStudy] = {}
    for pmid, change, title, year, design, retracted, claim_id, stance, evidence in rows:
        old = studies.get(pmid)
        claims = old.claims if old else ()
        if claim_id is not None:
            claims = (*claims, (claim_id, stance, evidence))
        studies[pmid] = ChangedStudy(pmid, change, title, year, design, bool(retracted), claims)
    return list(studies.values())


# ---- topics -----------------------------------------------------------------------------------

def topic_overview(store: Store, topics: Iterable[str]) -> dict[str, tuple[int, Any]]:
    """topic -> (record count, latest run row as (started_at, finished_at, outcome, kind) or None)."""
    out: dict[str, tuple[int, Any]] = {}
    for topic in topics:
        count = topic_records(store, topic)
        run = store.conn.execute(
            "SELECT started_at, finished_at, outcome, kind FROM runs WHERE topic = ? ORDER BY id DESC LIMIT 1",
            (topic,),
        ).fetchone()
        out[topic] = (count, tuple(run) if run else None)
    return out
