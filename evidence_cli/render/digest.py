"""`evidence new` as text for the terminal or cron mail, Markdown, or JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from evidence_cli.render.common import DESIGN_SHORT, pubmed_url
from evidence_cli.render.markdown import md

if TYPE_CHECKING:
    from rich.console import Console

    from evidence_cli.evidence.digest import Digest
    from evidence_cli.store.reports import ChangedStudy


def _study_words(s: ChangedStudy) -> str:
    design = DESIGN_SHORT.get(s.design or "", s.design or "untagged")
    return f"{s.pmid} ({s.change}; {design}, {s.year or 'n.d.'}){' RETRACTED' if s.retracted else ''}"


def digest_dict(d: Digest) -> dict[str, Any]:
    return {
        "topic": d.topic, "title": d.title, "nothing_changed": d.nothing_changed, "summary": d.headline(),
        "run": asdict(d.run) if d.run else None,
        "claims": [{
            "id": c.id, "label": c.label, "verdict": str(c.verdict),
            "studies": [{"pmid": s.pmid, "change": s.change, "title": s.title, "year": s.year, "design": s.design,
                         "retracted": s.retracted, "stance": stance, "evidence": evidence}
                        for s, stance, evidence in c.studies],
        } for c in d.claims],
        "untagged": [{"pmid": s.pmid, "change": s.change, "title": s.title, "year": s.year} for s in d.untagged],
        "deleted": list(d.deleted),
    }


def _more(total: int, limit: int | None) -> str:
    return f"… and {total - limit} more (`evidence new --limit 0` lists all)" if limit and total > limit else ""


def digest_markdown(d: Digest, limit: int | None = 20) -> str:
    lines = [f"# What is new: {md(d.title)}", "", md(d.headline()), ""]
    for c in d.claims:
        lines += [f"## {md(c.label)} (`{c.id}`)", "", f"Now **{md(c.verdict.keyword)}**: {md(c.verdict.reason)}", ""]
        lines += [f"- [{s.pmid}]({pubmed_url(s.pmid)}) {md(_study_words(s).split(' ', 1)[1])}, **{stance}**: "
                  f"{md(evidence)}" for s, stance, evidence in c.studies[:limit]]
        lines += [f"- {_more(len(c.studies), limit)}"] if _more(len(c.studies), limit) else []
        lines.append("")
    if d.untagged:
        lines += [f"## {len(d.untagged)} records that make none of the claims", ""]
        lines += [f"- [{s.pmid}]({pubmed_url(s.pmid)}) {md(s.title or '')} ({s.change})" for s in d.untagged[:limit]]
        lines += [f"- {_more(len(d.untagged), limit)}"] if _more(len(d.untagged), limit) else []
        lines.append("")
    if d.deleted:
        lines += ["## Deleted from PubMed", "", ", ".join(d.deleted), ""]
    return "\n".join(lines)


def print_digest(console: Console, d: Digest, limit: int | None = 20) -> None:
    from rich.text import Text

    console.print(Text(d.headline(), style="bold"))
    for c in d.claims:
        console.print()
        console.print(Text.assemble((c.label, "bold"), (f" ({c.id}, {len(c.studies)} new or changed) ", "dim"),
                                    f"now {c.verdict}"))
        for s, stance, evidence in c.studies[:limit]:
            console.print(Text.assemble(f"  {_study_words(s)} ", (stance, "bold"), f": {evidence}"))
        if _more(len(c.studies), limit):
            console.print(Text("  " + _more(len(c.studies), limit).replace("`", ""), style="dim"))
    if d.untagged:
        console.print()
        console.print(Text(f"{len(d.untagged)} records that make none of the claims", style="bold"))
        for s in d.untagged[:limit]:
            console.print(Text(f"  {s.pmid} ({s.change}): {s.title or ''}"))
        if _more(len(d.untagged), limit):
            console.print(Text("  " + _more(len(d.untagged), limit).replace("`", ""), style="dim"))
    if d.deleted:
        console.print()
        console.print(f"Deleted from PubMed: {', '.join(d.deleted)}")
