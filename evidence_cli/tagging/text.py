"""Text plumbing for the tagger: sections of a plain-text abstract, sentences, clauses.

Pure functions. Matching runs on `normalize(text)`, which keeps every character's position
(one character in, one character out), so a match found there can be cut from the original.
"""

from __future__ import annotations

import re

from evidence_cli.pubmed.model import AbstractSection

# Dashes, minus signs and curly quotes read as their ASCII forms; same length, so offsets hold.
_NORMALIZE = str.maketrans({
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ", "\u2009": " ",
    "\u202f": " ",
})


def normalize(text: str) -> str:
    return text if text.isascii() else text.translate(_NORMALIZE)  # every character it maps is non-ASCII


# --- sections -----------------------------------------------------------------------------------

# Heading words as abstracts print them -> NLM's category. Keys are lower case.
HEADING_CATEGORY = {
    "background": "BACKGROUND", "introduction": "BACKGROUND", "context": "BACKGROUND",
    "rationale": "BACKGROUND", "importance": "BACKGROUND", "background and aims": "BACKGROUND",
    "background and objectives": "BACKGROUND", "background and purpose": "BACKGROUND",
    "objective": "OBJECTIVE", "objectives": "OBJECTIVE", "aim": "OBJECTIVE", "aims": "OBJECTIVE",
    "purpose": "OBJECTIVE", "goal": "OBJECTIVE", "goals": "OBJECTIVE", "study objective": "OBJECTIVE",
    "aims and objectives": "OBJECTIVE", "hypothesis": "OBJECTIVE",
    "method": "METHODS", "methods": "METHODS", "design": "METHODS", "setting": "METHODS",
    "settings": "METHODS", "patients": "METHODS", "participants": "METHODS", "subjects": "METHODS",
    "interventions": "METHODS", "intervention": "METHODS", "measurements": "METHODS",
    "main outcome measures": "METHODS", "main outcomes and measures": "METHODS",
    "outcome measures": "METHODS", "materials and methods": "METHODS", "methods and materials": "METHODS",
    "study design": "METHODS", "design, setting, and participants": "METHODS",
    "design, setting and participants": "METHODS", "data sources": "METHODS",
    "study selection": "METHODS", "data extraction": "METHODS", "eligibility criteria": "METHODS",
    "search methods": "METHODS", "selection criteria": "METHODS", "data collection and analysis": "METHODS",
    "experimental design": "METHODS", "procedures": "METHODS", "trial registration": "METHODS",
    "registration": "METHODS", "methods and findings": "RESULTS",
    "results": "RESULTS", "result": "RESULTS", "findings": "RESULTS", "main results": "RESULTS",
    "key findings": "RESULTS", "case presentation": "RESULTS", "case report": "RESULTS",
    "case description": "RESULTS", "case": "RESULTS", "observations": "RESULTS",
    "conclusion": "CONCLUSIONS", "conclusions": "CONCLUSIONS", "interpretation": "CONCLUSIONS",
    "discussion": "CONCLUSIONS", "implications": "CONCLUSIONS", "summary": "CONCLUSIONS",
    "conclusions and relevance": "CONCLUSIONS", "authors' conclusions": "CONCLUSIONS",
    "clinical implications": "CONCLUSIONS", "significance": "CONCLUSIONS",
    "conclusion and relevance": "CONCLUSIONS", "discussion and conclusions": "CONCLUSIONS",
    "limitations": "LIMITATIONS", "limitation": "LIMITATIONS",
    "purpose of review": "OBJECTIVE", "recent findings": "RESULTS", "areas covered": "OBJECTIVE",
    "expert opinion": "CONCLUSIONS", "evidence acquisition": "METHODS", "evidence synthesis": "RESULTS",
    "methods and results": "RESULTS", "results and conclusions": "RESULTS", "results and discussion": "RESULTS",
    "case summary": "RESULTS", "main outcome measure": "METHODS", "data synthesis": "RESULTS",
    "study design and methods": "METHODS", "patients and methods": "METHODS", "subjects and methods": "METHODS",
    "participants and methods": "METHODS", "material and methods": "METHODS", "outcomes": "RESULTS",
}
# Headings common enough to be trusted without a colon when the next word is capitalised
# ("Methods Following a systematic review ..."), as some pages print them.
_BARE_HEADINGS = ("background", "introduction", "objective", "objectives", "aims", "methods", "method",
                  "results", "conclusion", "conclusions", "purpose")

_HEADING_ALT = "|".join(sorted((re.escape(h) for h in HEADING_CATEGORY), key=len, reverse=True))
# A heading with a colon, at a line start or after a sentence end ("... study. Methods: Seven ...").
_COLON_HEADING = re.compile(rf"(?:^|(?<=\n)|(?<=[.?!)]\s))[ \t]*({_HEADING_ALT})[ \t]*:[ \t]*\n?", re.IGNORECASE | re.MULTILINE)
# A heading alone on its line ("Background\nKetamine ...").
_LINE_HEADING = re.compile(rf"^[ \t]*({_HEADING_ALT})[ \t]*:?[ \t]*$\n?", re.IGNORECASE | re.MULTILINE)
_BARE_ALT = "|".join(_BARE_HEADINGS)
_BARE_HEADING = re.compile(rf"(?:^|(?<=[.?!)]\s))((?i:{_BARE_ALT})) (?=[A-Z(])")


def category_of(label: str | None) -> str | None:
    """NLM-style category for a printed section label, or None when it is not a known heading."""
    if not label:
        return None
    return HEADING_CATEGORY.get(label.strip().rstrip(":").strip().lower())


def sections_from_text(abstract: str) -> tuple[AbstractSection, ...]:
    """A plain-text abstract, labels at line starts or inline ("RESULTS: ...") -> its sections.

    So JSON records and MEDLINE text go through the same tagger as PubMed XML. Text before the
    first label becomes an unlabelled section; an abstract with no labels is one section.
    """
    text = abstract.strip()
    if not text:
        return ()
    marks = [(m.start(), m.end(), m.group(1)) for m in _LINE_HEADING.finditer(text)]
    marks += [(m.start(), m.end(), m.group(1)) for m in _COLON_HEADING.finditer(text)]
    bare = [(m.start(), m.end(), m.group(1)) for m in _BARE_HEADING.finditer(text)]
    if marks or len(bare) >= 2:  # one bare word is likely prose ("Results were ..."), two a layout
        marks += bare
    marks = _disjoint(sorted(marks))
    if not marks:
        return (AbstractSection(text=_squash(text)),)
    sections = []
    if marks[0][0] > 0 and text[: marks[0][0]].strip():
        sections.append(AbstractSection(text=_squash(text[: marks[0][0]])))
    for i, (_, end, label) in enumerate(marks):
        stop = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        body = _squash(text[end:stop])
        if body:
            label = label.strip()
            sections.append(AbstractSection(text=body, label=label, category=category_of(label)))
    return tuple(sections)


def _disjoint(marks: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for mark in marks:
        if kept and mark[0] < kept[-1][1]:
            if mark[1] - mark[0] > kept[-1][1] - kept[-1][0]:
                kept[-1] = mark
            continue
        kept.append(mark)
    return kept


def _squash(text: str) -> str:
    """Paragraph breaks inside a section become sentence-safe single spaces."""
    return re.sub(r"\s*\n\s*", "\n", text.strip())


# --- sentences ----------------------------------------------------------------------------------

# Tokens ending in a period that do not end a sentence. Lower-cased, without the final period.
ABBREVIATIONS = frozenset({
    "e.g", "i.e", "vs", "v", "etc", "al", "cf", "ca", "approx", "dr", "mr", "mrs", "ms", "prof",
    "jr", "inc", "ltd", "fig", "figs", "no", "nos", "vol", "pp", "resp", "i.v", "i.p", "i.m", "s.c", "p.o",
    "b.i.d", "t.i.d", "q.d", "n.s", "u.s", "u.k", "e.u", "ref", "refs", "incl", "dept", "univ", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "esp", "viz", "spp",
})
_CANDIDATE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9\u0391-\u03a9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, robust to abbreviations (e.g., vs., i.v., Dr.) and decimals (0.5, p < .05).

    Line breaks always end a sentence (abstract paragraphs and headings).
    """
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if paragraph:
            sentences.extend(_split_paragraph(paragraph))
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _CANDIDATE_END.finditer(paragraph):
        end = match.end()
        if match.group().startswith(".") and _is_abbreviation(paragraph, match.start()):
            continue
        piece = paragraph[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        if out and len(rest) < 3:
            out[-1] += " " + rest
        else:
            out.append(rest)
    return out


def _is_abbreviation(text: str, dot: int) -> bool:
    # Look back a bounded stretch only: a search from 0 made long paragraphs quadratic. The
    # token is the last whitespace-free run of it (what `(\S+)$` finds there; no newlines here).
    before = text[max(0, dot - 80):dot]
    if not before or before[-1].isspace():
        return False
    token = before.rsplit(None, 1)[-1].lstrip("([\"'").lower()
    if token in ABBREVIATIONS:
        return True
    # A dotted run ("U.S", "i.c.v") is an abbreviation.
    return _DOTTED.fullmatch(token) is not None


_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")


# --- clauses ------------------------------------------------------------------------------------

# Where a sentence turns ("..., but not at day 42"; "...; however, ..."): each side keeps its
# own stance, so "effective at 4 days but not at 42 days" gives two findings.
_CLAUSE_BREAK = re.compile(
    r";\s+|,?\s+but\s+|,\s+(?:whereas|while|although|though|yet|except)\s+|\s+whereas\s+|"
    r"[.,;]?\s+however,?\s+|,\s+and\s+(?=(?:this|these|the|its|their)\s)|,\s+(?=with no\b|without\b)",
    re.IGNORECASE,
)


_CONCESSIVE = re.compile(r"^\W*(?:despite|although|though|while|whereas|even though|in spite of)\b[^,;]*,", re.IGNORECASE)


def clause_spans(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the clauses of a sentence; breaks inside parentheses are ignored.

    A leading concession ("Despite robust antidepressant effects, ...") is a clause of its own.
    """
    # Most sentences have no brackets: every depth is 0, no need to count.
    depth_at = _paren_depths(sentence) if "(" in sentence or "[" in sentence else _NO_DEPTH
    spans, start = [], 0
    lead = _CONCESSIVE.match(sentence)
    if lead:
        spans.append((0, lead.end() - 1))
        start = lead.end()
    for match in _CLAUSE_BREAK.finditer(sentence, start):
        if depth_at[match.start()]:
            continue
        spans.append((start, match.start()))
        # The connective ("but not ...") belongs to the clause it opens.
        start = match.start() + (1 if sentence[match.start()] in ",;." else 0)
    spans.append((start, len(sentence)))
    return [(a, b) for a, b in spans if sentence[a:b].strip()]


class _NoDepth:
    def __getitem__(self, index: int) -> int:
        return 0


_NO_DEPTH = _NoDepth()


def _paren_depths(text: str) -> list[int]:
    depths, depth = [], 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        depths.append(depth)
    return depths
