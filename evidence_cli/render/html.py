"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no scripts, no fetches."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from evidence_cli.evidence.summary import DESIGN_GROUPS
from evidence_cli.render.chart import svg_bars, year_span
from evidence_cli.render.common import DESIGN_SHORT, describe_filters, more_line, notices, pubmed_url, source

if TYPE_CHECKING:
    from evidence_cli.evidence.summary import Report

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232a;max-width:78rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin:2rem 0 .3rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #d8dde3;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.v{font-weight:600}.Strong{color:#11643a}.Moderate{color:#2f6f3e}.Limited{color:#7a6a12}
.Preliminary{color:#8a5a00}.Contested{color:#a33c00}.Unsupported{color:#a3001b}.No-evidence{color:#59636e}
.supports{color:#11643a}.contradicts{color:#a3001b}.neutral{color:#59636e}
tr.retracted td{text-decoration:line-through;color:#8a8f96}tr.retracted td.flag{text-decoration:none;color:#a3001b;font-weight:600}
svg.chart rect{fill:#3b6ea8}svg.chart .axis{stroke:#aab2bb}svg.chart text{font-size:10px;fill:#59636e}
.muted{color:#59636e}a{color:#1f5fa8}span.flag{color:#a35c00;font-weight:600}
"""


def _verdict(c) -> str:
    return (f'<span class="v {escape(c.verdict.keyword.replace(" ", "-"))}">{escape(c.verdict.keyword)}</span>: '
            f"{escape(c.verdict.reason)}")


def report_html(report: Report) -> str:
    span = year_span(c.per_year for c in report.claims)
    filters = describe_filters(report.filters)
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Evidence report: {escape(report.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>Evidence report: {escape(report.title)}</h1>",
        f'<p class="muted">Topic <code>{escape(report.topic)}</code>: {report.records} cached records'
        + (f"; counting {escape(filters)}" if filters else "")
        + ". Retracted studies are listed, never counted. Verdicts are GRADE-style starting levels "
        "from study designs, not GRADE ratings.</p>",
        "<table><thead><tr><th>Claim</th><th>Studies</th><th>Supports</th><th>Contradicts</th><th>Neutral</th>"
        + "".join(f"<th>{escape(name)}</th>" for _, name, _ in DESIGN_GROUPS)
        + "<th>Participants</th><th>Newest</th><th>Verdict</th></tr></thead><tbody>",
    ]
    for c in report.claims:
        cells = [c.studies, c.supports, c.contradicts, c.neutral, *(c.by_group[k] for k, _, _ in DESIGN_GROUPS),
                 c.participants, c.newest_year or "–"]
        out.append(
            f'<tr><td><a href="#claim-{escape(c.id)}">{escape(c.label)}</a></td>'
            + "".join(f'<td class="n">{v}</td>' for v in cells)
            + f"<td>{_verdict(c)}</td></tr>"
        )
    out.append("</tbody></table>")
    for c in report.claims:
        out.append(f'<h2 id="claim-{escape(c.id)}">{escape(c.label)} <span class="muted">({escape(c.id)})</span></h2>')
        out.append(f"<p>{_verdict(c)}</p>")
        chart = svg_bars(c.per_year, span, label=c.label)
        if chart and c.per_year:
            out.append(f"<figure>{chart}</figure>")
        studies = report.studies.get(c.id, ())
        if not studies:
            out.append('<p class="muted">No tagged studies.</p>')
            continue
        out.append("<table><thead><tr><th>PMID</th><th>Year</th><th>Design</th><th>N</th><th>Stance</th>"
                   "<th>First author, journal</th><th>Title</th><th>Evidence</th></tr></thead><tbody>")
        for s in studies:
            note = f' <span class="flag">({escape(notices(s))})</span>' if notices(s) else ""
            stance = ('<td class="flag">RETRACTED, not counted</td>' if s.retracted
                      else f'<td class="{escape(s.stance)}">{escape(s.stance)}{note}</td>')
            row_class = ' class="retracted"' if s.retracted else ""
            out.append(
                f'<tr{row_class}>'
                f'<td><a href="{escape(pubmed_url(s.pmid))}">{escape(s.pmid)}</a></td>'
                f'<td class="n">{s.year or "–"}</td><td>{escape(DESIGN_SHORT.get(s.design, s.design))}</td>'
                f'<td class="n">{s.sample_size if s.sample_size is not None else "–"}</td>{stance}'
                f"<td>{escape(source(s))}</td><td>{escape(s.title)}</td><td>{escape(s.evidence)}</td></tr>"
            )
        out.append("</tbody></table>")
        more = more_line(len(studies), c.studies + len(c.retracted), c.id)
        if more:
            out.append(f'<p class="muted">{escape(more.replace("`", ""))}</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
