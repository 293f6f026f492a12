"""Citations for reference managers: RIS, BibTeX, CSL-JSON and MEDLINE (.nbib).

Every record carries its PMID and DOI (and PMCID when known); a retracted record says so in
each format's own way (RIS N1/KW, BibTeX note/keywords, CSL note, MEDLINE PT/RIN), so the
warning travels into the reference manager. Written here rather than with a library: each
format is a few lines of well-specified text, and the tests read the output back with
parsers (Bio.Medline through our own importer for .nbib, json for CSL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evidence_cli.render.common import pubmed_url

if TYPE_CHECKING:
    from evidence_cli.pubmed.model import Article
    from evidence_cli.store.reports import ExportRow

FORMATS = ("ris", "bibtex", "csl-json", "nbib")
RETRACTED = "RETRACTED"

# "Zarate CA", "van der Berg J": family name, then 1-4 capital initials. Anything else is a
# collective name ("Ketamine Study Group") and is kept whole.
_PERSON = re.compile(r"^(?P<family>.+?) (?P<initials>[A-Z]{1,4})$")


def split_author(name: str) -> tuple[str, str] | None:
    """('Zarate', 'CA') for a person; None for a collective name."""
    m = _PERSON.match(name.strip())
    return (m["family"], m["initials"]) if m else None


def dotted(initials: str) -> str:
    return " ".join(f"{c}." for c in initials)


def is_retracted(row: ExportRow) -> bool:
    a = row.article
    return row.retracted or "Retracted Publication" in a.publication_types or any(
        c.ref_type == "RetractionIn" for c in a.corrections)


def retraction_note(article: Article) -> str:
    notices = [c for c in article.corrections if c.ref_type == "RetractionIn"]
    where = "; ".join(x for c in notices for x in (c.source or "", f"PMID {c.pmid}" if c.pmid else "") if x)
    return f"{RETRACTED}: this article has been retracted" + (f" (retraction notice: {where})" if where else "")


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def render(rows: Sequence[ExportRow], fmt: str) -> str:
    if fmt == "ris":
        return "".join(ris(r) for r in rows)
    if fmt == "bibtex":
        return "\n".join(bibtex(r) for r in rows)
    if fmt == "csl-json":
        return json.dumps([csl(r) for r in rows], ensure_ascii=False, indent=2) + "\n"
    if fmt == "nbib":
        return "\n".join(nbib(r) for r in rows)
    raise ValueError(fmt)


# ---- RIS --------------------------------------------------------------------------------------

def ris(row: ExportRow) -> str:
    a = row.article
    lines: list[tuple[str, str | None]] = [("TY", "JOUR")]  # (tag, value): a tag without a value is left out
    for name in a.authors:
        person = split_author(name)
        lines.append(("AU", f"{person[0]}, {dotted(person[1])}" if person else name))
    lines += [("TI", a.title), ("T2", a.journal_title or a.journal), ("JO", a.journal)]
    if a.year:
        lines.append(("PY", str(a.year)))
    if a.pub_date:
        lines.append(("DA", a.pub_date.replace("-", "/")))
    lines += [("DO", a.doi), ("AN", a.pmid), ("C2", a.pmcid), ("UR", pubmed_url(a.pmid)),
              ("AB", a.abstract_text)]
    lines += [("KW", k) for k in a.keywords]
    if is_retracted(row):
        lines += [("N1", retraction_note(a)), ("KW", RETRACTED)]
    body = "".join(f"{tag}  - {one_line(value)}\n" for tag, value in lines if value)
    return body + "ER  - \n\n"  # the spec's end tag keeps its trailing space


# ---- BibTeX -----------------------------------------------------------------------------------

_LATEX = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))


def tex(text: str | None) -> str:
    """Plain text safe inside a BibTeX {...} field: LaTeX specials escaped, braces balanced."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group()], one_line(text))


def bibtex(row: ExportRow) -> str:
    a = row.article
    authors = []
    for name in a.authors:
        person = split_author(name)
        authors.append(f"{tex(person[0])}, {dotted(person[1])}" if person else "{" + tex(name) + "}")
    fields: list[tuple[str, str]] = [
        ("author", " and ".join(authors)), ("title", "{" + tex(a.title) + "}"),
        ("journal", tex(a.journal_title or a.journal)), ("year", str(a.year or "")),
        ("doi", tex(a.doi)), ("pmid", a.pmid), ("pmcid", a.pmcid or ""), ("url", pubmed_url(a.pmid)),
    ]
    if is_retracted(row):
        fields += [("note", tex(retraction_note(a))), ("keywords", RETRACTED)]
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields if value)
    return f"@article{{pmid{a.pmid},\n{body}\n}}\n"


# ---- CSL-JSON ---------------------------------------------------------------------------------

def csl(row: ExportRow) -> dict[str, Any]:
    a = row.article
    item: dict[str, Any] = {"id": f"pmid:{a.pmid}", "type": "article-journal", "title": a.title}
    authors = []
    for name in a.authors:
        person = split_author(name)
        authors.append({"family": person[0], "given": dotted(person[1])} if person else {"literal": name})
    if authors:
        item["author"] = authors
    if a.journal_title or a.journal:
        item["container-title"] = a.journal_title or a.journal
    if a.journal:
        item["container-title-short"] = a.journal
    parts = [int(p) for p in (a.pub_date or "").split("-") if p.isdigit()] or ([a.year] if a.year else [])
    if parts:
        item["issued"] = {"date-parts": [parts]}
    item["PMID"] = a.pmid
    for key, value in (("DOI", a.doi), ("PMCID", a.pmcid)):
        if value:
            item[key] = value
    item["URL"] = pubmed_url(a.pmid)
    if a.abstract:
        item["abstract"] = a.abstract_text
    if is_retracted(row):
        item["note"] = retraction_note(a)
        item["keyword"] = RETRACTED
    return item


# ---- MEDLINE (.nbib) --------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _medline_field(tag: str, value: str, width: int = 88) -> list[str]:
    """'TAG - value' wrapped at `width` with 6-space continuation lines, as PubMed writes them."""
    words = one_line(value).split(" ")
    lines, line = [], f"{tag:<4}- "
    for word in words:
        if len(line) + len(word) > width and line.strip() and not line.endswith("- "):
            lines.append(line.rstrip())
            line = " " * 6
        line += word + " "
    lines.append(line.rstrip())
    return lines


def nbib(row: ExportRow) -> str:
    a = row.article
    fields: list[tuple[str, str | None]] = [("PMID", a.pmid)]
    if a.pub_date or a.year:
        parts = (a.pub_date or str(a.year)).split("-")
        fields.append(("DP", " ".join([parts[0], *([_MONTHS[int(parts[1]) - 1]] if len(parts) > 1 else []),
                                       *([str(int(parts[2]))] if len(parts) > 2 else [])])))
    fields += [("TI", a.title), ("AB", " ".join(f"{s.label}: {s.text}" if s.label else s.text for s in a.abstract))]
    fields += [("AU" if split_author(name) else "CN", name) for name in a.authors]
    fields += [("LA", lang) for lang in a.languages]
    types = list(a.publication_types)
    retracted = is_retracted(row)
    if retracted and "Retracted Publication" not in types:
        types.append("Retracted Publication")
    fields += [("PT", t) for t in types]
    fields += [("OT", k) for k in a.keywords]
    fields += [("TA", a.journal), ("JT", a.journal_title), ("PMC", a.pmcid)]
    if a.doi:
        fields.append(("AID", f"{a.doi} [doi]"))
    for c in a.corrections:
        if c.ref_type == "RetractionIn":
            fields.append(("RIN", " ".join(x for x in (c.source or "", f"PMID: {c.pmid}" if c.pmid else "") if x)))
    if retracted:
        fields.append(("GN", retraction_note(a)))
    fields.append(("SO", " ".join(x for x in (a.journal or "", str(a.year or "")) if x) + "."))
    return "\n".join(line for tag, value in fields if value for line in _medline_field(tag, value)) + "\n"
