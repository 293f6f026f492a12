"""Each sentence of a record with its role: title, background, aims, methods, results, conclusions.

Structured abstracts give the role by their labels (refined: a background paragraph's "we
performed this meta-analysis" is an aim, an objective paragraph's opening fact is background).
Unlabelled abstracts are read the way people read them: sentences before the study speaks of
itself ("Here we show", "This study", "We evaluated") are background; after that, conclusion,
result and method cues decide, and the rest is unassigned body text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from evidence_cli.pubmed.model import AbstractSection
from evidence_cli.tagging import cues
from evidence_cli.tagging.prefilter import LiteralScanner, Presence, has
from evidence_cli.tagging.text import category_of, clause_spans, normalize, split_sentences

TITLE, BACKGROUND, OBJECTIVE, METHODS = "TITLE", "BACKGROUND", "OBJECTIVE", "METHODS"
RESULTS, CONCLUSIONS, LIMITATIONS, BODY = "RESULTS", "CONCLUSIONS", "LIMITATIONS", "UNASSIGNED"
FINDING_ROLES = frozenset({RESULTS, CONCLUSIONS, BODY})


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str  # as printed
    norm: str  # normalized for matching, same length as `text`
    role: str
    future: bool = False  # a call for future research: never a finding
    # The regex literals the sentence holds (see `prefilter`); None: run every regex.
    present: Presence | None = field(default=None, compare=False, repr=False)


def record_sentences(title: str, sections: Iterable[AbstractSection],
                     scanner: LiteralScanner | None = None) -> list[Sentence]:
    out: list[Sentence] = []
    if title.strip():
        out.append(_sentence(_Text(title.strip(), scanner), TITLE))
    started = False
    inferred_last = False
    for section in sections:
        category = section.category if section.category not in (None, "UNASSIGNED") else category_of(section.label)
        inferred_last = category is None
        texts = [_Text(t, scanner) for t in split_sentences(section.text)]
        if category is None:
            roles, started = _infer_roles(texts, started)
        else:
            roles = _refine(category, texts)
            started = started or category != BACKGROUND
        out.extend(_sentence(text, role) for text, role in zip(texts, roles, strict=True))
    if not started:
        _background_lead(out)
    if out and inferred_last and out[-1].role == BODY and any(s.role == RESULTS for s in out):
        # An unlabelled abstract that reports results ends on its conclusion ("Ketamine may be an
        # option for ..."); an essay's last sentence is just more of the essay.
        out[-1] = Sentence(out[-1].text, out[-1].norm, CONCLUSIONS, out[-1].future, out[-1].present)
    return out


class _Text:
    """A sentence before its role is known: normalized once, its literals found once."""

    __slots__ = ("norm", "present", "text")

    def __init__(self, text: str, scanner: LiteralScanner | None) -> None:
        self.text = text
        self.norm = normalize(text)
        self.present = scanner.presence(self.norm) if scanner is not None else None

    def search(self, pattern: re.Pattern[str]) -> bool:
        return has(pattern, self.norm, self.present)


def _sentence(text: _Text, role: str) -> Sentence:
    future = role != TITLE and is_future(text.norm, text.present)
    return Sentence(text.text, text.norm, role, future=future, present=text.present)


def is_future(norm: str, present: Presence | None = None) -> bool:
    """Every clause calls for future work ("larger trials are needed")."""
    if present is not None and not present.may_match(cues.FUTURE):
        return False
    clauses = [norm[a:b] for a, b in clause_spans(norm)]
    return bool(clauses) and all(cues.FUTURE.search(c) for c in clauses)


def _refine(category: str, texts: list[_Text]) -> list[str]:
    if category == BACKGROUND:
        return [OBJECTIVE if t.search(cues.OBJECTIVE) else BACKGROUND for t in texts]
    if category == OBJECTIVE:
        return [OBJECTIVE if t.search(cues.OBJECTIVE) or t.search(cues.STUDY_START)
                else BACKGROUND for t in texts]
    return [category] * len(texts)


def _infer_roles(texts: list[_Text], started: bool) -> tuple[list[str], bool]:
    roles = []
    for text in texts:
        if not started and text.search(cues.STUDY_START):
            started = True
        roles.append(_classify(text.norm, text.present) if started else BACKGROUND)
    return roles, started


def _classify(norm: str, present: Presence | None = None) -> str:
    if has(cues.CONCLUSION, norm, present):
        return CONCLUSIONS
    if has(cues.OBJECTIVE, norm, present) and not has(cues.RESULT, norm, present):
        return OBJECTIVE
    if has(cues.RESULT, norm, present):
        return RESULTS
    if has(cues.CASE_INTRO, norm, present):
        return METHODS  # "We present a 34-year-old woman with ...": who the case is, not what happened
    if has(cues.NULL, norm, present):
        return RESULTS  # "the benefit was not sustained": a finding, even without numbers
    if has(cues.METHOD, norm, present):
        return METHODS
    return BODY


def _background_lead(sentences: list[Sentence]) -> None:
    """No sentence says where the study starts: an opening sentence with no method or result
    cue is background, the rest is read by its cues."""
    first = True
    for i, s in enumerate(sentences):
        if s.role == TITLE:
            continue
        role = _classify(s.norm, s.present)
        if first and role == BODY and len(sentences) > 3 and not any(map(str.isdigit, s.norm)):
            role = BACKGROUND
        sentences[i] = Sentence(s.text, s.norm, role, s.future, s.present)
        first = False
