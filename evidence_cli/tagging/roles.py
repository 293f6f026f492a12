"""Each sentence of a record with its role: title, background, aims, methods, results, conclusions.

Structured abstracts give the role by their labels (refined: a background paragraph's "we
performed this meta-analysis" is an aim, an objective paragraph's opening fact is background).
Unlabelled abstracts are read the way people read them: sentences before the study speaks of
itself ("Here we show", "This study", "We evaluated") are background; after that, conclusion,
result and method cues decide, and the rest is unassigned body text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evidence_cli.pubmed.model import AbstractSection
from evidence_cli.tagging import cues
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


def record_sentences(title: str, sections: Iterable[AbstractSection]) -> list[Sentence]:
    out: list[Sentence] = []
    if title.strip():
        out.append(_sentence(title.strip(), TITLE))
    started = False
    for section in sections:
        category = section.category if section.category not in (None, "UNASSIGNED") else category_of(section.label)
        texts = split_sentences(section.text)
        if category is None:
            roles, started = _infer_roles(texts, started)
        else:
            roles = _refine(category, texts)
            started = started or category != BACKGROUND
        out.extend(_sentence(text, role) for text, role in zip(texts, roles, strict=True))
    if not started:
        _background_lead(out)
    return out


def _sentence(text: str, role: str) -> Sentence:
    norm = normalize(text)
    return Sentence(text, norm, role, future=role != TITLE and is_future(norm))


def is_future(norm: str) -> bool:
    """Every clause calls for future work ("larger trials are needed")."""
    clauses = [norm[a:b] for a, b in clause_spans(norm)]
    return bool(clauses) and all(cues.FUTURE.search(c) for c in clauses)


def _refine(category: str, texts: list[str]) -> list[str]:
    if category == BACKGROUND:
        return [OBJECTIVE if cues.OBJECTIVE.search(normalize(t)) else BACKGROUND for t in texts]
    if category == OBJECTIVE:
        return [OBJECTIVE if cues.OBJECTIVE.search(normalize(t)) or cues.STUDY_START.search(normalize(t))
                else BACKGROUND for t in texts]
    return [category] * len(texts)


def _infer_roles(texts: list[str], started: bool) -> tuple[list[str], bool]:
    roles = []
    for text in texts:
        norm = normalize(text)
        if not started and cues.STUDY_START.search(norm):
            started = True
        roles.append(_classify(norm) if started else BACKGROUND)
    return roles, started


def _classify(norm: str) -> str:
    if cues.CONCLUSION.search(norm):
        return CONCLUSIONS
    if cues.OBJECTIVE.search(norm) and not cues.RESULT.search(norm):
        return OBJECTIVE
    if cues.RESULT.search(norm):
        return RESULTS
    if cues.METHOD.search(norm):
        return METHODS
    return BODY


def _background_lead(sentences: list[Sentence]) -> None:
    """No sentence says where the study starts: an opening sentence with no method or result
    cue is background, the rest is read by its cues."""
    first = True
    for i, s in enumerate(sentences):
        if s.role == TITLE:
            continue
        role = _classify(s.norm)
        if first and role == BODY and len(sentences) > 3 and not any(ch.isdigit() for ch in s.norm):
            role = BACKGROUND
        sentences[i] = Sentence(s.text, s.norm, role, s.future)
        first = False
