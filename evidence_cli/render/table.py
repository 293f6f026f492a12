"""Rich tables for the terminal: the report, search hits, the refresh digest, the topic list.

Off a TTY the console is plain and 200 columns wide (console.make_console), so the same
tables print whole into pipes and cron mail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from evidence_cli.evidence.summary import DESIGN_GROUPS
from evidence_cli.render.chart import sparkline, year_span
from evidence_cli.render.common import DESIGN_SHORT, STANCE_MARK, describe_filters, more_line, notices, source

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from evidence_cli.evidence.summary import Report
    from evidence_cli.evidence.views import TopicRow
    from evidence_cli.store.reports import SearchHit

    Columns: TypeAlias = tuple[tuple[str, JustifyMethod], ...]  # (heading, justify) of each column

VERDICT_STYLE = {
    "Strong": "bold green", "Moderate": "green", "Limited": "yellow", "Preliminary": "yellow",
    "Contested": "bold magenta", "Unsupported": "bold red", "No evidence": "dim",
}
STANCE_STYLE = {"supports": "green", "contradicts": "red", "neutral": "dim"}
WIDE = 150  # console columns from which the summary table shows every column
GROUP_SHORT = {"synthesis": "MA/SR", "rct": "RCT", "trial": "Trial", "observational": "Obs",
               "case": "Case", "preclinical": "Pre", "other": "Rev/oth"}


def _verdict_text(verdict: Any) -> Any:
    from rich.text import Text

    text = Text(verdict.keyword, style=VERDICT_STYLE.get(verdict.keyword, ""))
    text.append(f": {verdict.reason}")
    return text


def print_report(console: Console, report: Report) -> None:
    from rich.table import Table
    from rich.text import Text

    span = year_span(c.per_year for c in report.claims)
    filters = describe_filters(report.filters)
    console.print(Text.assemble((f"{report.title}", "bold"), f"  topic {report.topic}: {report.records} cached records"
                                + (f"; counting {filters}" if filters else "")))
    # A full row needs ~160 columns; narrower terminals get the counts and verdict in the table
    # and each claim's design breakdown and year chart above its study list.
    wide = console.width >= WIDE
    summary = Table(show_lines=False, header_style="bold", expand=False)
    summary.add_column("Claim", no_wrap=wide)
    for heading in ("Studies", "+", "−", "·"):
        summary.add_column(heading, justify="right")
    if wide:
        for key, _, _ in DESIGN_GROUPS:
            summary.add_column(GROUP_SHORT[key], justify="right")
    summary.add_column("N (humans)" if wide else "N", justify="right")
    if wide:
        summary.add_column("Newest", justify="right")
        summary.add_column(f"Per year {span[0]}–{span[1]}" if span else "Per year", no_wrap=True)
    summary.add_column("Verdict", ratio=1, min_width=30 if wide else 16)
    for c in report.claims:
        summary.add_row(
            Text.assemble(c.label, (f" {c.id}", "dim")),
            str(c.studies), str(c.supports), str(c.contradicts), str(c.neutral),
            *((str(c.by_group[key]) for key, _, _ in DESIGN_GROUPS) if wide else ()),
            f"{c.participants:,}",
            *((str(c.newest_year or "–"), sparkline(c.per_year, span) or "–") if wide else ()),
            _verdict_text(c.verdict),
        )
    console.print(summary)
    console.print("+ supports  − contradicts  · neutral; MA/SR meta-analyses and systematic reviews; "
                  "retracted studies listed, never counted", style="dim")
    for c in report.claims:
        studies = report.studies.get(c.id, ())
        console.print()
        console.print(Text.assemble((c.label, "bold"), (f" ({c.id}) ", "dim"), _verdict_text(c.verdict)))
        if not wide and c.studies:
            groups = "  ".join(f"{GROUP_SHORT[k]} {c.by_group[k]}" for k, _, _ in DESIGN_GROUPS if c.by_group[k])
            chart = f"  per year {span[0]}–{span[1]} {sparkline(c.per_year, span)}" if span else ""
            console.print(Text(f"  {groups};  newest {c.newest_year or '–'}{chart}", style="dim"))
        if not studies:
            console.print("  no tagged studies", style="dim")
            continue
        table = Table(header_style="bold", expand=False)
        columns: Columns = (("PMID", "left"), ("Year", "right"), ("Design", "left"), ("N", "right"),
                            ("Stance", "left"), ("First author, journal", "left"), ("Evidence", "left"))
        for heading, justify in columns:
            table.add_column(heading, justify=justify, no_wrap=heading in ("PMID", "Design"),
                             ratio=1 if heading == "Evidence" else None,
                             max_width=28 if heading == "First author, journal" else None)
        for s in studies:
            stance = Text("RETRACTED", style="bold red") if s.retracted else Text(
                f"{STANCE_MARK[s.stance]} {s.stance}", style=STANCE_STYLE.get(s.stance, ""))
            if notices(s):
                stance.append(f" ({notices(s)})", style="yellow")
            table.add_row(s.pmid, str(s.year or "–"), DESIGN_SHORT.get(s.design, s.design),
                          str(s.sample_size) if s.sample_size is not None else "–", stance, Text(source(s)),
                          Text(s.evidence),
                          style="strike dim" if s.retracted else None)
        console.print(table)
        more = more_line(len(studies), c.studies + len(c.retracted), c.id)
        if more:
            console.print(more.replace("`", ""), style="dim")


def marked(snippet: str) -> Any:
    """A search snippet with its matched words (between MATCH_START and MATCH_END) in bold."""
    from rich.text import Text

    from evidence_cli.store.reports import MATCH_END, MATCH_START

    text = Text()
    for i, part in enumerate(snippet.replace(MATCH_END, MATCH_START).split(MATCH_START)):
        text.append(part, style="bold" if i % 2 else "")
    return text


def print_search(console: Console, hits: list[SearchHit], text: str) -> None:
    from rich.table import Table
    from rich.text import Text

    if not hits:
        console.print(f"no cached record matches {text!r}")
        return
    table = Table(header_style="bold")
    columns: Columns = (("#", "right"), ("PMID", "left"), ("Year", "right"), ("Design", "left"),
                        ("Title", "left"), ("Match", "left"))
    for heading, justify in columns:
        table.add_column(heading, justify=justify, no_wrap=heading in ("PMID", "Design"),
                         ratio=1 if heading in ("Title", "Match") else None)
    for rank, hit in enumerate(hits, 1):
        table.add_row(str(rank), hit.pmid, str(hit.year or "–"), DESIGN_SHORT.get(hit.design or "", hit.design or "–"),
                      Text(hit.title), marked(hit.snippet))
    console.print(table)


def print_topics(console: Console, rows: list[TopicRow]) -> None:
    from rich.table import Table
    from rich.text import Text

    if not rows:
        console.print("no topics here: add a queries/<topic>.toml, or run `evidence init`", markup=False)
        return
    table = Table(header_style="bold")
    columns: Columns = (("Topic", "left"), ("Title", "left"), ("Claims", "right"), ("Records", "right"),
                        ("Last refresh", "left"))
    for heading, justify in columns:
        table.add_column(heading, justify=justify)
    for r in rows:
        if r.last_run:
            started, finished, outcome, kind = r.last_run
            last = f"{finished or started} ({kind}, {outcome})"
        else:
            last = "never"
        table.add_row(r.id, Text(r.error or r.title, style="red" if r.error else ""), str(r.claims),
                      f"{r.records:,}", last)
    console.print(table)
