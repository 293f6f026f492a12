"""The tagger's entry points: an Article (or a JSON record) -> its Tagging."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evidence_cli.errors import InputError
from evidence_cli.pubmed.model import Article, MeshHeading
from evidence_cli.tagging import cues
from evidence_cli.tagging import design as design_module
from evidence_cli.tagging import sample_size as sample_size_module
from evidence_cli.tagging.claims import find_claims, names_any_claim
from evidence_cli.tagging.design import classify_record
from evidence_cli.tagging.model import Tagging
from evidence_cli.tagging.prefilter import LiteralScanner, union
from evidence_cli.tagging.roles import BACKGROUND, TITLE, draft_sentences
from evidence_cli.tagging.rules import TopicRules
from evidence_cli.tagging.sample_size import sample_size
from evidence_cli.tagging.text import sections_from_text

RETRACTED_TYPES = {"retracted publication"}  # "Retraction of Publication" is the notice, not the study
RETRACTED_REFS = {"RetractionIn", "RetractedandRepublishedIn"}
CONCERN_REFS = {"ExpressionOfConcernIn"}
ERRATUM_REFS = {"ErratumIn", "CorrectedandRepublishedIn"}


def tag_article(article: Article, rules: TopicRules) -> Tagging:
    """Design, sample size, subjects, integrity flags and claim tags of one record. Pure."""
    scanner = scanner_for(rules)
    draft = draft_sentences(article.title, article.abstract, scanner)
    mesh = article.mesh_descriptors
    texts = draft.texts
    # The study's own sentences, every sentence but calls for future work, and the title.
    own, every, titles = [], [], []
    for t, role, future in zip(texts, draft.roles, draft.future, strict=True):
        if role == TITLE:
            titles.append(t)
        if not future:
            every.append(t)
            if role not in (TITLE, BACKGROUND):
                own.append(t)
    # The raw title's literals are among the title sentence's (normalizing and stripping keep them).
    in_title, in_own, in_every = (union([t.present for t in group], scanner)  # type: ignore[misc]
                                  for group in (titles, titles + own, every))
    design, humans, animals = classify_record(
        article.title, [t.norm for t in own], [t.norm for t in every],
        article.publication_types, mesh, present=(in_title, in_own, in_every),
    )
    n, n_sentence = sample_size(design, [(t.text, t.norm) for t in own], [t.present for t in own])
    # Only a record that names a claim needs its sentences' exact roles.
    claims = (find_claims(draft.sentences(), rules, design=design, mesh=mesh)
              if names_any_claim(texts, rules) and names_subject(article, rules) else ())
    types = {t.strip().lower() for t in article.publication_types}
    refs = {c.ref_type for c in article.corrections}
    return Tagging(
        design=design,
        sample_size=n,
        sample_size_evidence=n_sentence,
        humans=humans,
        animals=animals,
        retracted=bool(types & RETRACTED_TYPES or refs & RETRACTED_REFS),
        expression_of_concern=bool(refs & CONCERN_REFS),
        erratum=bool(refs & ERRATUM_REFS),
        claims=claims,
    )


def names_subject(article: Article, rules: TopicRules) -> bool:
    """Does the record name the topic's subject (title, abstract, MeSH or keywords)? True when the
    topic sets none. A study of cognition that never names ketamine is no evidence about ketamine."""
    if rules.subject is None:
        return True
    fields = (article.title, *(s.text for s in article.abstract), *article.mesh_descriptors, *article.keywords)
    return any(rules.subject.search(text) for text in fields if text)


def scanner_for(rules: TopicRules) -> LiteralScanner:
    """One literal scanner per topic: every pattern the tagger runs, generic cues and claim rules."""
    key = id(rules)
    cached = _SCANNERS.get(key)
    if cached is None or cached[0] is not rules:
        if len(_SCANNERS) >= 8:
            _SCANNERS.clear()
        generic = [v for m in (cues, design_module, sample_size_module) for v in vars(m).values()
                   if isinstance(v, re.Pattern)]
        claim_patterns = [getattr(c, key) for c in rules.claims for key in _CLAIM_REGEXES]
        cached = _SCANNERS[key] = (rules, LiteralScanner([*generic, *claim_patterns]))
    return cached[1]


_SCANNERS: dict[int, tuple[TopicRules, LiteralScanner]] = {}
_CLAIM_REGEXES = ("patterns", "weak_patterns", "context", "exclude", "supports", "contradicts", "neutral")


def article_from_record(record: Mapping[str, Any]) -> Article:
    """A JSON Lines record (`title`, `abstract`, optional `pmid`, `publication_types`, `mesh`) -> Article."""
    if not isinstance(record, Mapping):
        raise InputError("a line must hold a JSON object")
    title = _text(record, "title")
    abstract = _text(record, "abstract")
    pmid = record.get("pmid")
    publication_types = _names(record, "publication_types")
    mesh = _names(record, "mesh")
    return Article(
        pmid="" if pmid is None else str(pmid),
        title=title,
        abstract=sections_from_text(abstract),
        publication_types=publication_types,
        mesh=tuple(MeshHeading(d) for d in mesh),
    )


def tag_record(record: Mapping[str, Any], rules: TopicRules) -> dict[str, Any]:
    """One `evidence tag` output object for one input record (see INTERFACE.md)."""
    tagging = tag_article(article_from_record(record), rules)
    return {
        "id": record.get("id"),
        "pmid": record.get("pmid"),
        "design": tagging.design,
        "sample_size": tagging.sample_size,
        "claims": {c.claim_id: {"stance": c.stance, "evidence": c.evidence, "section": c.section}
                   for c in tagging.claims},
        "sample_size_evidence": tagging.sample_size_evidence,
        "humans": tagging.humans,
        "animals": tagging.animals,
        "retracted": tagging.retracted,
    }


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"`{key}` must be a string, not {type(value).__name__}")
    return value


def _names(record: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = record.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"`{key}` must be a list of strings")
    return tuple(value)
