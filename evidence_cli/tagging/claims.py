"""Which claims a record makes, with what stance, and the sentence that carries each.

A claim is found in a sentence by its topic rules (see `rules`). Which sentences count is
generic: the title and the study's own aims, methods, results and conclusions always; the
background of a primary study or of a systematic review never (it reports others' work),
unless the record's MeSH marks the claim; every sentence of a narrative review, whose
statements are its own summary; never a call for future research.

Stance, per clause (so "effective at day 4 but not at day 42" gives both answers): the claim's
own cues and the generic null-result cues decide first; a hedge or description outside the
results makes the mention neutral; a result or conclusion otherwise supports. Within a
sentence the first clause with a direction decides. Sentences vote by role (conclusions 3,
results 2, body 1.5, background and title 1): supports needs more weight than contradicts
and doubt together, contradicts more than supports and explicit neutral mentions together,
else neutral. A claim named only in the aims or methods (a population, an outcome) takes the
study's own finding on its `context`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from evidence_cli.tagging import cues
from evidence_cli.tagging.model import ClaimTag
from evidence_cli.tagging.prefilter import LiteralScanner, Presence, finditer, has, has_span, search, union
from evidence_cli.tagging.roles import (
    BACKGROUND,
    BODY,
    CONCLUSIONS,
    LIMITATIONS,
    METHODS,
    OBJECTIVE,
    RESULTS,
    TITLE,
    Sentence,
    SentenceText,
)
from evidence_cli.tagging.rules import ClaimRules, TopicRules
from evidence_cli.tagging.text import clause_spans, normalize

WEIGHTS = {CONCLUSIONS: 3.0, RESULTS: 2.0, BODY: 1.5, BACKGROUND: 1.0, TITLE: 1.0}
OWN_CUE_WEIGHT = 1.5
TOPIC_ONLY_ROLES = frozenset({OBJECTIVE, METHODS})
UNCERTAIN = "uncertain"  # a vote of doubt, never a final stance


@dataclass(frozen=True, slots=True)
class Vote:
    sentence: Sentence
    order: int
    stance: str | None  # None: the claim is named, no finding (aims, methods, a bare title)
    weight: float


def masked(text: str, rules: ClaimRules, present: Presence | None = None) -> str:
    """The text with the claim's look-alikes (`exclude`) blanked out, same length."""
    if rules.exclude is None or not has(rules.exclude, text, present):
        return text
    return rules.exclude.sub(lambda m: " " * len(m.group()), text)


def claim_spans(norm: str, rules: ClaimRules, present: Presence | None = None, *,
                context_before: bool = False) -> list[tuple[int, int]]:
    """Where in a normalized sentence the claim is named (empty: it is not).

    `present`: the literals of a text holding `norm` (see `prefilter`), to skip what cannot match.
    `context_before`: the sentence before matched the claim's `context`, so weak patterns count
    here too ("MADRS fell at 24 h. By day 14, the difference was no longer significant.").
    """
    text = masked(norm, rules, present)
    spans = [m.span() for m in finditer(rules.patterns, text, present)] if rules.patterns else []
    if rules.weak_patterns is not None and rules.context is not None and (
            context_before or has(rules.context, text, present)):
        spans += [m.span() for m in finditer(rules.weak_patterns, text, present)]
    return sorted(s for s in spans if s[1] > s[0])


def _names(norm: str, rules: ClaimRules, present: Presence | None, context_before: bool) -> bool:
    """`bool(claim_spans(norm, rules, present, context_before=context_before))`, found sooner."""
    text = masked(norm, rules, present)
    if rules.patterns is not None and has_span(rules.patterns, text, present):
        return True
    return bool(rules.weak_patterns is not None and rules.context is not None
                and (context_before or has(rules.context, text, present))
                and has_span(rules.weak_patterns, text, present))


def may_name(present: Presence | None, rules: ClaimRules, context_before: bool = False) -> bool:
    """False when the text whose literals `present` holds cannot name the claim (see `prefilter`):
    most sentences of most records, spared the claim's regexes. None: cannot tell.
    `context_before`: the sentence before supplied the claim's context (see `claim_spans`)."""
    if present is None:
        return True
    return present.may_match(rules.patterns) or (
        present.may_match(rules.weak_patterns) and (context_before or present.may_match(rules.context)))


def claims_in_sentence(sentence: str, rules: TopicRules) -> list[str]:
    """Ids of the claims a sentence names, in topic order."""
    norm = normalize(sentence)
    return [c.id for c in rules.claims if claim_spans(norm, c)]


def clause_stance(clause: str, role: str, rules: ClaimRules | None = None,
                  present: Presence | None = None) -> str | None:
    """supports / contradicts / neutral / uncertain for one clause naming a claim; None: no finding.

    `present`: the literals of the sentence holding the clause, to skip cues it cannot match.
    """
    return _clause_reading(clause, role, rules, present)[0]


def _clause_reading(clause: str, role: str, rules: ClaimRules | None = None,
                    present: Presence | None = None) -> tuple[str | None, bool]:
    """(stance, whether the claim's own cues gave it) for one clause; see `clause_stance`."""
    if rules is not None and rules.neutral is not None and has(rules.neutral, clause, present):
        return "neutral", True
    if has(cues.NULL, clause, present):
        if has(cues.COMPARATOR_ONLY, clause, present) and not _names_treatment_contrast(clause):
            return None, False  # a null result in the control arm says nothing of the claim
        # "was not sustained" is a generic null and durability's own cue: the claim's cue agreeing counts as its own
        return "contradicts", bool(rules is not None and rules.contradicts is not None
                                   and has(rules.contradicts, clause, present))
    if (role in (BODY, BACKGROUND) and not has(cues.FINDING, clause, present)
            and has(cues.HEDGE, clause, present)):
        return "neutral", False  # outside results: a hypothesis or a description, not a finding
    if has(cues.DESCRIPTIVE, clause, present) and not has(cues.FINDING, clause, present):
        return "neutral", False
    if rules is not None:
        cue = _first_cue(clause, rules, present)
        if cue is not None:
            return cue, True
    if role == TITLE:
        return None, False
    if role in (BODY, BACKGROUND) and not any(has(cue, clause, present) for cue in (cues.EFFECT, cues.RESULT, cues.FINDING)):
        return "neutral", False  # a review's statement about the field, not a finding
    if has(cues.ASSOCIATION, clause, present):
        return "neutral", False
    if has(cues.UNCERTAIN, clause, present):
        return UNCERTAIN, False
    return "supports", False


def _first_cue(clause: str, rules: ClaimRules, present: Presence | None = None) -> str | None:
    """The claim's own supports/contradicts cue that comes first in the clause: in "reversed the
    loss of spines" the reversal governs, in "independent of NMDA receptor blockade" the independence."""
    found = []
    for stance, pattern in (("supports", rules.supports), ("contradicts", rules.contradicts)):
        match = search(pattern, clause, present) if pattern is not None else None
        if match:
            found.append((match.start(), stance != "supports", stance))
    return min(found)[2] if found else None


def _names_treatment_contrast(clause: str) -> bool:
    return bool(re.search(r"\b(?:between|versus|vs\.?|compared (?:with|to)|than|over)\b", clause, re.IGNORECASE))


def sentence_stance(sentence: Sentence, spans: Sequence[tuple[int, int]], rules: ClaimRules | None) -> str | None:
    """The stance of the clauses holding the claim.

    The first clause with a direction decides: in "better at 2 hours, but not different at 24 hours"
    the early effect is the finding for rapid onset (the fading is durability's business). A clause
    the claim's own cues decide comes before one read by the generic cues: in "high response
    rates, but most responders relapsed" the relapse is durability's finding.
    """
    return _sentence_reading(sentence, spans, rules)[0]


def _sentence_reading(sentence: Sentence, spans: Sequence[tuple[int, int]],
                      rules: ClaimRules | None) -> tuple[str | None, bool]:
    if sentence.role in TOPIC_ONLY_ROLES:
        return None, False
    norm, present = sentence.norm, sentence.present
    if sentence.role != CONCLUSIONS and has(cues.METHOD, norm, present) and not has(cues.RESULT, norm, present):
        return None, False  # "patients with suicidal ideation were included": who was studied, not what was found
    found: list[tuple[str | None, bool]] = []
    for start, end in clause_spans(sentence.norm):
        if any(start <= s < end for s, _ in spans):
            found.append(_clause_reading(sentence.norm[start:end], sentence.role, rules, present))
    if not found:
        found.append(_clause_reading(sentence.norm, sentence.role, rules, present))
    for preferred, own in ((("supports", "contradicts"), True), (("supports", "contradicts"), False),
                           ((UNCERTAIN,), False), (("neutral",), True), (("neutral",), False)):
        for stance, specific in found:
            if stance in preferred and specific == own:
                return stance, specific
    return None, False


def find_claims(
    sentences: Sequence[Sentence], rules: TopicRules, *, design: str, mesh: Sequence[str] = (),
) -> tuple[ClaimTag, ...]:
    narrative = design == "narrative-review"
    mesh_lower = {m.lower() for m in mesh}
    whole = _whole_record(sentences)
    # Which sentences refer back to the one before (see `_context_before`), each found when first
    # asked, once per record; and the short forms the record defines, found once for all claims.
    refers_back: list[bool | None] = [None] * len(sentences)
    definitions: list[tuple[Sentence, str, int, int]] | None = None
    tags = []
    for claim in rules.claims:
        if not may_name(whole, claim):
            continue  # named nowhere in the record: no votes, no tag
        background = _background_use(claim, sentences, narrative, bool(claim.mesh & mesh_lower))
        if definitions is None:
            definitions = short_form_definitions(sentences)
        short_forms = abbreviations(sentences, claim, definitions)
        naming = None if short_forms is not None or whole is None else _naming_literals(whole.scanner, claim)
        votes = []
        for order, sentence in enumerate(sentences):
            if naming is not None and not sentence.present.mask & naming:  # type: ignore[union-attr]
                continue  # no spans, whatever the sentence before is about
            if sentence.future or sentence.role == LIMITATIONS:
                continue
            if sentence.role == BACKGROUND and background is None:
                continue
            # Only weak patterns need the sentence before.
            context_before = ((sentence.present is None or sentence.present.may_match(claim.weak_patterns))
                              and _context_before(sentences, order, claim, refers_back))
            if short_forms is None and not may_name(sentence.present, claim, context_before):
                continue  # no spans
            spans = claim_spans(sentence.norm, claim, sentence.present, context_before=context_before)
            if short_forms is not None:
                spans += [m.span() for m in short_forms.finditer(sentence.norm)]
            spans = [span for span in spans if not _in_future_clause(sentence.norm, span, sentence.present)]
            if not spans:
                continue
            if sentence.role == BACKGROUND and background == "neutral":
                votes.append(Vote(sentence, order, "neutral", 0.5))
            else:
                stance, own_cue = _sentence_reading(sentence, spans, claim)
                # The claim's own cue ("most relapsed", "not impaired") speaks to it more directly
                # than a generic reading of the same sentence's result.
                votes.append(Vote(sentence, order, stance,
                                  WEIGHTS.get(sentence.role, 0.0) * (OWN_CUE_WEIGHT if own_cue else 1.0)))
        if votes:
            tag = _decide(claim, votes, sentences)
            if design == "protocol":  # a planned study names its questions; it has no answers yet
                tag = ClaimTag(tag.claim_id, "neutral", tag.evidence, tag.section)
            tags.append(tag)
    return tuple(tags)


def names_any_claim(sentences: Sequence[SentenceText], rules: TopicRules) -> bool:
    """Whether some sentence names some claim, whatever its role and the sentence before: False
    means `find_claims` finds nothing (it reads those spans of fewer sentences), and the record's
    study roles need not be settled."""
    whole = _whole_record(sentences)
    definitions = None
    refers_back: list[bool | None] = [None] * len(sentences)
    for claim in rules.claims:
        if not may_name(whole, claim):
            continue
        if definitions is None:
            definitions = short_form_definitions(sentences)
        short_forms = abbreviations(sentences, claim, definitions)
        naming = None if short_forms is not None or whole is None else _naming_literals(whole.scanner, claim)
        for order, sentence in enumerate(sentences):
            if naming is not None and not sentence.present.mask & naming:  # type: ignore[union-attr]
                continue
            context_before = ((sentence.present is None or sentence.present.may_match(claim.weak_patterns))
                              and _refers_back_to_context(sentences, order, claim, refers_back))
            if _names(sentence.norm, claim, sentence.present, context_before):
                return True
            if short_forms is not None and short_forms.search(sentence.norm):
                return True
    return False


def _naming_literals(scanner: LiteralScanner, claim: ClaimRules) -> int | None:
    """The literals (bits) one of which a sentence must hold to name the claim, with context from
    the sentence before (`may_name(..., context_before=True)`); None: any sentence may."""
    bits = 0
    for pattern in (claim.patterns, claim.weak_patterns):
        if pattern is not None:
            required = scanner.required(pattern)
            if required is None:
                return None
            bits |= required
    return bits


def _context_before(sentences: Sequence[Sentence], order: int, claim: ClaimRules,
                    refers_back: list[bool | None]) -> bool:
    """The sentence refers back to the one before (`cues.ANAPHORA`), which is about the claim's
    outcome: "MADRS fell by 24 h. The improvement persisted for 5 weeks." Neither is the title
    or background. `refers_back`: each sentence's answer to the first question once found (None:
    not yet)."""
    if order < 2 or sentences[order].role in (TITLE, BACKGROUND) or sentences[order - 1].role in (TITLE, BACKGROUND):
        return False
    return _refers_back_to_context(sentences, order, claim, refers_back)


def _refers_back_to_context(sentences: Sequence[SentenceText], order: int, claim: ClaimRules,
                            refers_back: list[bool | None]) -> bool:
    """`_context_before` whatever the two sentences' roles (so True more often)."""
    if claim.context is None or order < 2:
        return False
    before = sentences[order - 1]
    if before.present is not None and not before.present.may_match(claim.context):
        return False
    if refers_back[order] is None:
        refers_back[order] = has(cues.ANAPHORA, sentences[order].norm, sentences[order].present)
    return bool(refers_back[order]) and has(claim.context, masked(before.norm, claim, before.present), before.present)


def _whole_record(sentences: Sequence[SentenceText]) -> Presence | None:
    presences = [s.present for s in sentences]
    if not presences or any(p is None for p in presences):
        return None
    return union(presences, presences[0].scanner)  # type: ignore[arg-type, union-attr]


def _in_future_clause(norm: str, span: tuple[int, int], present: Presence | None = None) -> bool:
    if present is not None and not present.may_match(cues.FUTURE):
        return False
    for start, end in clause_spans(norm):
        if start <= span[0] < end:
            return has(cues.FUTURE, norm[start:end], present)
    return False


def _background_use(claim: ClaimRules, sentences: Sequence[Sentence], narrative: bool, mesh_hit: bool) -> str | None:
    """How background sentences count for this claim: "vote", "neutral" (topic only), or None (not at all)."""
    if narrative or mesh_hit:
        return "vote"  # a narrative review's statements are its own summary; MeSH says it is a topic
    if claim.background != "neutral":
        return None
    about_context = claim.context is None or any(
        has(claim.context, masked(s.norm, claim, s.present), s.present) for s in sentences)
    return "neutral" if about_context else None


_SHORT_FORM = re.compile(r"\(([A-Z][A-Za-z0-9-]{0,8}[A-Z0-9])s?\)")
_WORD = re.compile(r"[A-Za-z]+")
_STOP = frozenset({"with", "of", "and", "the", "in", "to", "for", "or", "a", "an", "on"})


def abbreviations(sentences: Sequence[SentenceText], claim: ClaimRules,
                  definitions: Sequence[tuple[SentenceText, str, int, int]] | None = None) -> re.Pattern[str] | None:
    """Short forms the record defines for the claim ("bipolar disorder (BD)"), as one pattern.

    `definitions`: the record's `short_form_definitions`, when already found.
    """
    if definitions is None:
        definitions = short_form_definitions(sentences)
    found = {short for sentence, short, start, end in definitions
             if may_name(sentence.present, claim) and claim_spans(sentence.norm[start:end], claim, sentence.present)}
    if not found:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(sorted(map(re.escape, found))) + r")(?![\w-])")


_S = TypeVar("_S", bound=SentenceText)


def short_form_definitions(sentences: Sequence[_S]) -> list[tuple[_S, str, int, int]]:
    """(sentence, short form, start, end of the long form) for each "long form (SF)" whose words'
    initials spell the short form: what any claim's short forms are chosen from."""
    found = []
    for sentence in sentences:
        if "(" not in sentence.norm:
            continue  # no short form without its parenthesis
        for match in _SHORT_FORM.finditer(sentence.norm):
            short = match.group(1)
            letters = [c for c in short.lower() if c.isalpha()]
            words = [w for w in _WORD.finditer(sentence.norm, max(0, match.start() - 100), match.start())
                     if w.group().lower() not in _STOP]
            if not letters or len(words) < len(letters):
                continue
            long_words = words[-len(letters):]
            if all(w.group()[0].lower() == c for w, c in zip(long_words, letters, strict=True)):
                found.append((sentence, short, long_words[0].start(), match.start()))
    return found


def _decide(claim: ClaimRules, votes: list[Vote], sentences: Sequence[Sentence]) -> ClaimTag:
    stance = _tally(votes)
    if stance is None:
        stance = study_finding(sentences, claim.context) if claim.inherit else "neutral"
    evidence = _evidence(votes, stance)
    return ClaimTag(claim.id, stance, evidence.sentence.text, evidence.sentence.role)


def _tally(votes: Sequence[Vote]) -> str | None:
    score = {"supports": 0.0, "contradicts": 0.0, "neutral": 0.0, UNCERTAIN: 0.0}
    for vote in votes:
        if vote.stance is not None:
            score[vote.stance] += vote.weight
    s, c, u, n = score["supports"], score["contradicts"], score[UNCERTAIN], score["neutral"]
    if s == c == u == n == 0:
        return None
    if s > c + u:
        return "supports"
    if c > s + n:  # a harm or a null result outweighs explicit "not impaired" / "no direction" only if larger
        return "contradicts"
    return "neutral"


def study_finding(sentences: Sequence[Sentence], context: re.Pattern[str] | None) -> str:
    """The study's own result, clause by clause, on clauses matching `context` (all when None)."""
    votes = []
    for order, sentence in enumerate(sentences):
        if sentence.role not in (RESULTS, CONCLUSIONS, BODY) or sentence.future:
            continue
        present = sentence.present
        for start, end in clause_spans(sentence.norm):
            clause = sentence.norm[start:end]
            if has(cues.FUTURE, clause, present):
                continue
            if context is None or has(context, clause, present):
                votes.append(Vote(sentence, order, clause_stance(clause, sentence.role, present=present),
                                  WEIGHTS[sentence.role]))
    return _tally(votes) or "neutral"


def _evidence(votes: Sequence[Vote], stance: str) -> Vote:
    def rank(vote: Vote) -> tuple[bool, float, int]:
        return (vote.stance == stance, vote.weight, -vote.order)

    return max(votes, key=rank)
