"""`evidence check` output: terminal (rich; plain off a TTY), Markdown, and JSON (INTERFACE.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from evidence_cli.render.common import DESIGN_SHORT, pubmed_url

if TYPE_CHECKING:
    from rich.console import Console

    from evidence_cli.evidence.check import CacheState, CheckResult, Citation, ClaimCheck

VERDICT_STYLE = {
    "Strong": "bold green", "Moderate": "green", "Limited": "yellow", "Preliminary": "yellow",
    "Contested": "bold red", "Unsupported": "bold red", "No evidence": "red",
}


def cite(citation: Citation) -> str:
    """'Doe J 2021, J Affect Disord, RCT, N=40, PMID 123'."""
    parts = [f"{citation.first_author or '(no author)'} {citation.year or 'n.d.'}", citation.journal or "",
             DESIGN_SHORT.get(citation.design, citation.design),
             f"N={citation.sample_size}" if citation.sample_size else "", f"PMID {citation.pmid}"]
    return ", ".join(p for p in parts if p)


def _keyword(verdict: str) -> str:
    from evidence_cli.evidence.summary import verdict_keyword

    return verdict_keyword(verdict) or "No evidence"


# ---- JSON -------------------------------------------------------------------------------------

def citation_json(citation: Citation) -> dict[str, Any]:
    return {
        "pmid": citation.pmid, "first_author": citation.first_author, "year": citation.year,
        "journal": citation.journal, "design": citation.design, "sample_size": citation.sample_size,
        "title": citation.title,
    }


def claim_json(claim: ClaimCheck) -> dict[str, Any]:
    ev = claim.evidence
    return {
        "id": claim.claim_id,
        "verdict": ev.verdict,
        "citations": [c.pmid for c in ev.support],
        "label": claim.label,
        "verdict_keyword": _keyword(ev.verdict),
        "matched_by": list(claim.matched_by),
        "studies": ev.studies, "supports": ev.supports, "contradicts": ev.contradicts, "neutral": ev.neutral,
        "participants": ev.participants,
        "by_design": dict(ev.by_design),
        "unsupported_or_contested": ev.failing,
        "overstatement": claim.overstatement is not None,
        "overstatement_reason": claim.overstatement.reason if claim.overstatement else None,
        "citation_details": [citation_json(c) for c in ev.support],
        "contradicting": citation_json(ev.contradiction) if ev.contradiction else None,
    }


def cache_json(cache: CacheState | None) -> dict[str, Any] | None:
    if cache is None:
        return None
    return {
        "records": cache.records, "last_refresh": cache.last_refresh,
        "age_days": None if cache.age_days is None else round(cache.age_days, 1),
        "max_age_days": cache.max_age_days, "stale": cache.stale, "warning": cache.warning,
        "refresh_command": cache.refresh_command,
    }


def render_json(result: CheckResult) -> str:
    data = {
        "topic": result.topic,
        "sentences": [
            {"text": s.text, "heading": s.heading, "claims": [claim_json(c) for c in s.claims]}
            for s in result.sentences
        ],
        "cache": cache_json(result.cache),
        "overstatements": len(result.overstatements()),
        "failing_claims": [c.claim_id for c in result.failing_claims()],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


# ---- Markdown ---------------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: CheckResult) -> str:
    lines = [f"# Evidence check: {result.title} (`{result.topic}`)", ""]
    if result.cache is not None and result.cache.warning:
        lines += [f"> **Warning:** {result.cache.warning}", ""]
    lines += [_summary_line(result), ""]
    if not result.sentences:
        lines.append("No sentence of the draft makes one of this topic's claims.")
    first_seen: dict[str, int] = {}
    for number, sentence in enumerate(result.sentences, 1):
        where = f" *(under \u201c{sentence.heading}\u201d)*" if sentence.heading else ""
        lines += [f"## {number}. \u201c{_md_escape(sentence.text)}\u201d{where}", ""]
        for claim in sentence.claims:
            ev = claim.evidence
            seen = first_seen.setdefault(claim.claim_id, number)
            lines.append(f"- **{claim.label}** (`{claim.claim_id}`): **{ev.verdict}**. {_counts(claim)}")
            if claim.overstatement:
                lines.append(f"  - \u26a0 **Overstated:** {claim.overstatement.reason}.")
            if seen != number:
                lines.append(f"  - Citations: see sentence {seen}.")
                continue
            for citation in ev.support:
                lines.append(f"  - Cite: {cite(citation)} ({pubmed_url(citation.pmid)})")
            if not ev.support:
                lines.append("  - No supporting study to cite.")
            if ev.contradiction:
                lines.append(f"  - Against: {cite(ev.contradiction)} ({pubmed_url(ev.contradiction.pmid)})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _counts(claim: ClaimCheck) -> str:
    ev = claim.evidence
    if not ev.studies:
        return "No cached study."
    n = f"; {ev.participants} participants" if ev.participants else ""
    studies = "1 study" if ev.studies == 1 else f"{ev.studies} studies"
    return f"{studies}: {ev.supports} support, {ev.contradicts} contradict, {ev.neutral} neutral{n}."


def _summary_line(result: CheckResult) -> str:
    claims = {c.claim_id for s in result.sentences for c in s.claims}
    failing = [c.claim_id for c in result.failing_claims()]
    text = (f"{len(result.sentences)} sentence{'s' if len(result.sentences) != 1 else ''} make "
            f"{len(claims)} of the topic's claims; {len(result.overstatements())} overstated")
    if failing:
        text += f"; unsupported, contested or without evidence: {', '.join(failing)}"
    return text + "."


# ---- terminal ---------------------------------------------------------------------------------

def render_terminal(result: CheckResult, console: Console) -> None:
    """A readable report; colour only on a TTY (the console knows)."""
    from functools import partial

    from rich.markup import escape

    say = partial(console.print, soft_wrap=not console.is_terminal)  # off a TTY: one line per item
    say(f"[bold]Evidence check: {escape(result.title)}[/bold] ({escape(result.topic)})")
    say(escape(_summary_line(result)))
    if not result.sentences:
        say("No sentence of the draft makes one of this topic's claims.")
    first_seen: dict[str, int] = {}
    for number, sentence in enumerate(result.sentences, 1):
        say()
        where = f" [dim](under \u201c{escape(sentence.heading)}\u201d)[/dim]" if sentence.heading else ""
        say(f"[bold]{number}.[/bold] \u201c{escape(sentence.text)}\u201d{where}")
        for claim in sentence.claims:
            ev = claim.evidence
            style = VERDICT_STYLE.get(_keyword(ev.verdict), "none")
            seen = first_seen.setdefault(claim.claim_id, number)
            say(f"   \u2022 [bold]{escape(claim.label)}[/bold] ({claim.claim_id}): [{style}]{escape(ev.verdict)}[/{style}]")
            if claim.overstatement:
                say(f"     [bold yellow]OVERSTATED:[/bold yellow] {escape(claim.overstatement.reason)}")
            if seen != number:
                say(f"     citations: see sentence {seen}")
                continue
            say(f"     {escape(_counts(claim))}")
            for citation in ev.support:
                say(f"     cite: {escape(cite(citation))}")
            if ev.contradiction:
                say(f"     [red]against:[/red] {escape(cite(ev.contradiction))}")
