"""The report as data: a JSON object (the shape INTERFACE.md fixes, plus extra keys) and CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from evidence_cli.evidence.summary import DESIGN_GROUPS
from evidence_cli.tagging.model import DESIGNS

if TYPE_CHECKING:
    from evidence_cli.evidence.summary import ClaimSummary, Report
    from evidence_cli.evidence.views import TopicRow
    from evidence_cli.store.reports import SearchHit


def claim_dict(claim: ClaimSummary, studies: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": claim.id, "label": claim.label, "studies": claim.studies, "supports": claim.supports,
        "contradicts": claim.contradicts, "neutral": claim.neutral, "by_design": dict(claim.by_design),
        "participants": claim.participants, "verdict": str(claim.verdict), "pmids": list(claim.pmids),
        # extra keys
        "verdict_level": claim.verdict.keyword, "verdict_reason": claim.verdict.reason,
        "by_group": dict(claim.by_group), "human_studies": claim.human_studies,
        "newest_year": claim.newest_year, "per_year": {str(y): n for y, n in claim.per_year},
        "retracted": list(claim.retracted),
    }
    if studies is not None:
        out["study_list"] = [
            {k: v for k, v in asdict(s).items() if k != "claim_id"} for s in studies
        ]
    return out


def report_dict(report: Report) -> dict[str, Any]:
    filters = report.filters
    return {
        "topic": report.topic, "records": report.records,
        "claims": [claim_dict(c, report.studies.get(c.id, ())) for c in report.claims],
        "title": report.title,
        "filters": {"since": filters.since, "designs": list(filters.designs),
                    "humans_only": filters.humans_only, "min_n": filters.min_n},
        "study_limit": report.study_limit,
    }


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# Design groups as "group:<key>" (some keys equal a design name), then each design.
CSV_COLUMNS = (
    "claim_id", "label", "studies", "supports", "contradicts", "neutral",
    *(f"group:{key}" for key, _, _ in DESIGN_GROUPS), *DESIGNS, "participants", "human_studies", "newest_year",
    "retracted", "verdict_level", "verdict",
)


def report_csv(report: Report) -> str:
    """One row per claim: counts, by design group and by design, participants, verdict."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in report.claims:
        writer.writerow([
            c.id, c.label, c.studies, c.supports, c.contradicts, c.neutral,
            *(c.by_group[key] for key, _, _ in DESIGN_GROUPS), *(c.by_design[d] for d in DESIGNS),
            c.participants, c.human_studies, c.newest_year if c.newest_year is not None else "",
            len(c.retracted), c.verdict.keyword, str(c.verdict),
        ])
    return buffer.getvalue()


def search_json(text: str, hits: list[SearchHit]) -> str:
    from evidence_cli.store.reports import MATCH_END, MATCH_START

    return to_json({"query": text, "hits": [
        {"rank": i, "pmid": h.pmid, "score": round(h.score, 4), "year": h.year, "journal": h.journal,
         "title": h.title, "design": h.design, "snippet": h.snippet.replace(MATCH_START, "**").replace(MATCH_END, "**")}
        for i, h in enumerate(hits, 1)
    ]})


def topics_json(rows: list[TopicRow]) -> str:
    return to_json({"topics": [{
        "id": r.id, "title": r.title, "claims": r.claims, "records": r.records, "error": r.error,
        "last_run": dict(zip(("started_at", "finished_at", "outcome", "kind"), r.last_run)) if r.last_run else None,
    } for r in rows]})
