"""The report as Markdown (GitHub-flavoured tables), ready to paste into an article or an email."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from evidence_cli.evidence.summary import DESIGN_GROUPS
from evidence_cli.render.chart import sparkline, year_span
from evidence_cli.render.common import DESIGN_SHORT, describe_filters, more_line, notices, pubmed_url, source

if TYPE_CHECKING:
    from evidence_cli.evidence.summary import Report

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#~])")


def md(text: object) -> str:
    """Text safe inside a Markdown table cell: specials escaped, newlines folded."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """Rows must already be escaped. `align`: one letter per column, l or r."""
    marks = ["---:" if (align[i:i + 1] == "r") else "---" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |",
            *("| " + " | ".join(r) + " |" for r in rows)]


def report_markdown(report: Report) -> str:
    span = year_span(c.per_year for c in report.claims)
    lines = [f"# Evidence report: {md(report.title)}", ""]
    filters = describe_filters(report.filters)
    lines.append(f"Topic `{report.topic}`: {report.records} cached records"
                 + (f"; counting {md(filters)}" if filters else "") + ". Retracted studies are listed, never counted.")
    lines.append("")
    header = ["Claim", "Studies", "Supports", "Contradicts", "Neutral",
              *(name for _, name, _ in DESIGN_GROUPS), "Participants", "Newest",
              f"Per year {span[0]}–{span[1]}" if span else "Per year", "Verdict"]
    rows = [[
        f"{md(c.label)} (`{c.id}`)", str(c.studies), str(c.supports), str(c.contradicts), str(c.neutral),
        *(str(c.by_group[key]) for key, _, _ in DESIGN_GROUPS), str(c.participants),
        str(c.newest_year or "–"), f"`{sparkline(c.per_year, span)}`" if span else "–", f"**{md(c.verdict.keyword)}**: {md(c.verdict.reason)}",
    ] for c in report.claims]
    lines += table(header, rows, "l" + "r" * (len(header) - 3) + "ll")
    for c in report.claims:
        studies = report.studies.get(c.id, ())
        lines += ["", f"## {md(c.label)} (`{c.id}`)", "", f"**{md(c.verdict.keyword)}**: {md(c.verdict.reason)}", ""]
        if not studies:
            lines.append("No tagged studies.")
            continue
        rows = [[
            f"[{s.pmid}]({pubmed_url(s.pmid)})" + (" **RETRACTED**" if s.retracted else ""),
            str(s.year or "–"), md(DESIGN_SHORT.get(s.design, s.design)),
            str(s.sample_size) if s.sample_size is not None else "–",
            "retracted, not counted" if s.retracted else s.stance + (f" ({notices(s)})" if notices(s) else ""),
            md(source(s)), md(s.evidence),
        ] for s in studies]
        lines += table(["PMID", "Year", "Design", "N", "Stance", "First author, journal", "Evidence"], rows, "lrlr")
        more = more_line(len(studies), c.studies + len(c.retracted), c.id)
        if more:
            lines += ["", more]  # claim ids are [a-z0-9_] inside a code span: nothing to escape
    return "\n".join(lines) + "\n"
