"""Each sentence of a record with its role: title, background, aims, methods, results, conclusions.

Structured abstracts give the role by their labels (refined: a background paragraph's "we
performed this meta-analysis" is an aim, an objective paragraph's opening fact is background).
Unlabelled abstracts are read the way people read them: sentences before the study speaks of
itself ("Here we show", "This study", "We evaluated") are background; after that, conclusion,
result and method cues decide, and the rest is unassigned body text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

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


class SentenceText(Protocol):
    """A sentence as the claims' names are looked for in it, whatever its role: a `Sentence`, or
    one of a `Draft`'s texts, whose role may not be settled yet."""

    @property
    def norm(self) -> str: ...

    @property
    def present(self) -> Presence | None: ...


def record_sentences(title: str, sections: Iterable[AbstractSection],
                     scanner: LiteralScanner | None = None) -> list[Sentence]:
    return draft_sentences(title, sections, scanner).sentences()


class Draft:
    """A record's sentences, each role settled only as far as design and sample size need it.

    `roles[i]` None: one of the study's own roles (aims, methods, results, conclusions, body
    text), which only the claims read; `sentences()` settles them.
    """

    __slots__ = ("future", "inferred_last", "roles", "texts")

    def __init__(self, texts: list[_Text], roles: list[str | None], future: list[bool], inferred_last: bool) -> None:
        self.texts = texts
        self.roles = roles
        self.future = future
        self.inferred_last = inferred_last

    def sentences(self) -> list[Sentence]:
        roles = [_classify(t.norm, t.present) if role is None else role for t, role in zip(self.texts, self.roles, strict=True)]
        if roles and self.inferred_last and roles[-1] == BODY and RESULTS in roles:
            # An unlabelled abstract that reports results ends on its conclusion ("Ketamine may be an
            # option for ..."); an essay's last sentence is just more of the essay.
            roles[-1] = CONCLUSIONS
        return [Sentence(t.text, t.norm, role, future, t.present)
                for t, role, future in zip(self.texts, roles, self.future, strict=True)]


def draft_sentences(title: str, sections: Iterable[AbstractSection], scanner: LiteralScanner | None = None) -> Draft:
    texts: list[_Text] = []
    roles: list[str | None] = []
    if title.strip():
        texts.append(_Text(title.strip(), scanner))
        roles.append(TITLE)
    started = False
    inferred_last = False
    for section in sections:
        category = section.category if section.category not in (None, "UNASSIGNED") else category_of(section.label)
        inferred_last = category is None
        section_texts = [_Text(t, scanner) for t in split_sentences(section.text)]
        section_roles: Sequence[str | None]
        if category is None:
            section_roles, started = _infer_roles(section_texts, started)
        else:
            section_roles = _refine(category, section_texts)
            started = started or category != BACKGROUND
        texts += section_texts
        roles += section_roles
    if not started:
        _background_lead(texts, roles)
    future = [role != TITLE and is_future(t.norm, t.present) for t, role in zip(texts, roles, strict=True)]
    return Draft(texts, roles, future, inferred_last)


class _Text:
    """A sentence before its role is known: normalized once, its literals found once."""

    __slots__ = ("norm", "present", "text")

    def __init__(self, text: str, scanner: LiteralScanner | None) -> None:
        self.text = text
        self.norm = normalize(text)
        self.present = scanner.presence(self.norm) if scanner is not None else None

    def search(self, pattern: re.Pattern[str]) -> bool:
        return has(pattern, self.norm, self.present)


def is_future(norm: str, present: Presence | None = None) -> bool:
    """Every clause calls for future work ("larger trials are needed")."""
    if present is not None and not present.may_match(cues.FUTURE):
        return False
    clauses = [norm[a:b] for a, b in clause_spans(norm)]
    return bool(clauses) and all(has(cues.FUTURE, c, present) for c in clauses)


def _refine(category: str, texts: list[_Text]) -> list[str]:
    if category == BACKGROUND:
        return [OBJECTIVE if t.search(cues.OBJECTIVE) else BACKGROUND for t in texts]
    if category == OBJECTIVE:
        return [OBJECTIVE if t.search(cues.OBJECTIVE) or t.search(cues.STUDY_START)
                else BACKGROUND for t in texts]
    return [category] * len(texts)


def _infer_roles(texts: list[_Text], started: bool) -> tuple[list[str | None], bool]:
    roles: list[str | None] = []
    for text in texts:
        if not started and text.search(cues.STUDY_START):
            started = True
        roles.append(None if started else BACKGROUND)  # None: by its cues (`_classify`), when asked
    return roles, started


def _classify(norm: str, present: Presence | None = None) -> str:
    if has(cues.CONCLUSION, norm, present):
        return CONCLUSIONS
    result = has(cues.RESULT, norm, present)
    if not result and has(cues.OBJECTIVE, norm, present):
        return OBJECTIVE
    if result:
        return RESULTS
    if has(cues.CASE_INTRO, norm, present):
        return METHODS  # "We present a 34-year-old woman with ...": who the case is, not what happened
    if has(cues.NULL, norm, present):
        return RESULTS  # "the benefit was not sustained": a finding, even without numbers
    if has(cues.METHOD, norm, present):
        return METHODS
    return BODY


def _background_lead(texts: list[_Text], roles: list[str | None]) -> None:
    """No sentence says where the study starts: an opening sentence with no method or result
    cue is background, the rest is read by its cues (None: when asked, see `Draft`)."""
    first = True
    for i, text in enumerate(texts):
        if roles[i] == TITLE:
            continue
        roles[i] = None
        if first and len(texts) > 3 and not any(map(str.isdigit, text.norm)) and _classify(text.norm, text.present) == BODY:
            roles[i] = BACKGROUND
        first = False
