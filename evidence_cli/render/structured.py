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


CSV_COLUMNS = (
    "claim_id", "label", "studies", "supports", "contradicts", "neutral",
    *(key for key, _, _ in DESIGN_GROUPS), *DESIGNS, "participants", "human_studies", "newest_year",
    "retracted", "verdict",
)


def report_csv(report: Report) -> str:
    """One row per claim: counts, by design group and by design, participants, verdict."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f"group:{c}" if c in {k for k, _, _ in DESIGN_GROUPS} else c for c in CSV_COLUMNS])
    for c in report.claims:
        writer.writerow([
            c.id, c.label, c.studies, c.supports, c.contradicts, c.neutral,
            *(c.by_group[key] for key, _, _ in DESIGN_GROUPS), *(c.by_design[d] for d in DESIGNS),
            c.participants, c.human_studies, c.newest_year if c.newest_year is not None else "",
            len(c.retracted), str(c.verdict),
        ])
    return buffer.getvalue()
