"""`evidence show PMID`: one record in full, its tagged sentences highlighted.

On a colour terminal the sentences are highlighted; elsewhere (pipes, NO_COLOR) they are
wrapped in plain markers: `>>sentence<< [claim: stance]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evidence_cli.render.common import DESIGN_SHORT, doi_url, pmc_url, pubmed_url

if TYPE_CHECKING:
    from rich.console import Console

    from evidence_cli.evidence.views import ArticleView
    from evidence_cli.pubmed.model import Article

STANCE_STYLE = {"supports": "black on green3", "contradicts": "white on red3", "neutral": "black on grey70"}
_FLAG_REFTYPES = {"RetractionIn": "retracted", "ExpressionOfConcernIn": "expression of concern", "ErratumIn": "erratum"}


def integrity_flags(view: ArticleView) -> list[str]:
    """'retracted (RetractionIn PMID 999: J Demo. 2020;1:1)', ... from the record and from the tags."""
    flags: dict[str, list[str]] = {}
    for c in view.article.corrections:
        name = _FLAG_REFTYPES.get(c.ref_type)
        if name:
            where = ", ".join(x for x in (f"PMID {c.pmid}" if c.pmid else "", c.source or "") if x)
            flags.setdefault(name, []).append(f"{c.ref_type}{': ' + where if where else ''}")
    if "Retracted Publication" in view.article.publication_types:
        flags.setdefault("retracted", []).append("publication type Retracted Publication")
    for _, _, tagging in view.taggings:
        if tagging is None:
            continue
        for name, on in (("retracted", tagging.retracted), ("expression of concern", tagging.expression_of_concern),
                         ("erratum", tagging.erratum)):
            if on:
                flags.setdefault(name, [])
    return [f"{name} ({'; '.join(dict.fromkeys(why))})" if why else name for name, why in flags.items()]


def links(article: Article) -> list[str]:
    out = [pubmed_url(article.pmid)]
    if article.doi:
        out.append(doi_url(article.doi))
    if article.pmcid:
        out.append(pmc_url(article.pmcid))
    return out


def article_dict(view: ArticleView) -> dict[str, Any]:
    a = view.article
    return {
        "pmid": a.pmid, "title": a.title, "journal": a.journal, "year": a.year, "pub_date": a.pub_date,
        "authors": list(a.authors), "doi": a.doi, "pmcid": a.pmcid, "publication_types": list(a.publication_types),
        "abstract": [{"label": s.label, "text": s.text} for s in a.abstract],
        "integrity": integrity_flags(view), "links": links(a),
        "topics": [{
            "topic": topic_id, "design": t.design if t else None, "sample_size": t.sample_size if t else None,
            "sample_size_evidence": t.sample_size_evidence if t else None, "humans": t.humans if t else None,
            "claims": {c.claim_id: {"stance": c.stance, "evidence": c.evidence, "section": c.section}
                       for c in (t.claims if t else ())},
        } for _, topic_id, t in view.taggings],
    }


def print_article(console: Console, view: ArticleView) -> None:
    from rich.text import Text

    plain = console.no_color or not console.is_terminal
    a = view.article
    flags = integrity_flags(view)
    console.print(Text.assemble((f"PMID {a.pmid}", "bold"), ("  " + "  ".join(f.upper() if plain else f for f in flags),
                                                               "bold red") if flags else ""))
    console.print(Text(a.title, style="bold"))
    authors = ", ".join(a.authors[:6]) + (f" and {len(a.authors) - 6} more" if len(a.authors) > 6 else "")
    console.print(Text(" · ".join(x for x in (authors, a.journal or "", a.pub_date or str(a.year or "")) if x)))
    if a.publication_types:
        console.print(Text("Publication types: " + ", ".join(a.publication_types), style="dim"))
    if flags:
        console.print(Text("Integrity: " + "; ".join(flags), style="bold red"))
    console.print(Text("Links: " + "  ".join(links(a))))
    marks: list[tuple[str, str, str]] = []  # (sentence, label, stance or "n")
    for topic, topic_id, tagging in view.taggings:
        console.print()
        if tagging is None:
            console.print(Text(f"Topic {topic_id}: not tagged", style="dim"))
            continue
        n = f"N = {tagging.sample_size}" if tagging.sample_size is not None else "N not stated"
        humans = {True: "humans", False: "not in humans", None: "humans: cannot tell"}[tagging.humans]
        console.print(Text.assemble((f"Topic {topic_id}", "bold"),
                                    f": design {DESIGN_SHORT.get(tagging.design, tagging.design)}, {n}, {humans}"))
        if tagging.sample_size_evidence:
            console.print(Text(f"  N from: {tagging.sample_size_evidence}", style="dim"))
            marks.append((tagging.sample_size_evidence, "N", "n"))
        if not tagging.claims:
            console.print(Text("  makes none of the topic's claims", style="dim"))
        labels = {c.id: c.label for c in topic.claims} if topic else {}
        for c in tagging.claims:
            label = f"{labels[c.claim_id]} ({c.claim_id})" if c.claim_id in labels else c.claim_id
            console.print(Text.assemble("  ", (c.stance, "bold"), f"  {label}: ", (c.evidence, "italic")))
            marks.append((c.evidence, c.claim_id, c.stance))
    console.print()
    for section in a.abstract:
        console.print(highlighted(section.text, marks, plain, section.label))
    if not a.abstract:
        console.print(Text("(no abstract)", style="dim"))


def highlighted(text: str, marks: list[tuple[str, str, str]], plain: bool, label: str | None = None) -> Any:
    """The text with each marked sentence highlighted (or wrapped in >> << and tagged, when plain)."""
    from rich.text import Text

    out = Text()
    if label:
        out.append(f"{label}: ", style="bold")
    spans: list[tuple[int, int, list[str], str]] = []
    for sentence, name, stance in marks:
        start = text.find(sentence) if sentence else -1
        if start < 0:
            continue
        end = start + len(sentence)
        same = next((s for s in spans if s[0] == start and s[1] == end), None)
        tag = name if stance == "n" else f"{name}: {stance}"
        if same:
            same[2].append(tag)
        elif not any(s[0] < end and start < s[1] for s in spans):  # overlapping marks: keep the first
            spans.append((start, end, [tag], stance))
    pos = 0
    for start, end, tags, stance in sorted(spans):
        out.append(text[pos:start])
        if plain:
            out.append(f">>{text[start:end]}<< [{'; '.join(tags)}]")
        else:
            out.append(text[start:end], style=STANCE_STYLE.get(stance, "underline"))
            out.append(f" [{'; '.join(tags)}]", style="dim")
        pos = end
    out.append(text[pos:])
    return out
