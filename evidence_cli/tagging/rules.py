"""Claim rules: the `[claims.<id>]` tables of a topic file, compiled for the tagger.

A claim's rules are data, so a user adds a claim or a topic by editing TOML, never code. The
generic machinery (sections, sentences, negation and null-result cues, hedges, design, sample
size) lives in code and is the same for every claim. Keys of a `[claims.<id>]` table:

    label       (required) short name shown in reports
    statement   the claim as one sentence (the article checker compares sentences with it)
    patterns    regexes: a sentence matching any of them names the claim (default, when neither
                `patterns` nor `weak_patterns` is given: the label as a phrase)
    weak_patterns
                regexes that name the claim only when the same sentence also matches `context`
                ("within 24 hours" is rapid onset only next to a depression outcome)
    context     regexes saying a sentence is about the outcome the claim concerns (depression
                scores, remission, ...). Needed by `weak_patterns`; also picks the sentences
                whose result is taken as the claim's stance under `inherit`
    exclude     regexes for look-alikes, blanked out before any matching
                ("respiratory depression", "refractory status epilepticus")
    mesh        MeSH descriptors (exact names) that mark the claim as a topic of the paper:
                with one of them on the record, background sentences of a primary study
                count too (they never count otherwise)
    supports, contradicts, neutral
                claim-specific stance cues for a clause that names the claim. `neutral` is
                checked first, then the generic null-result cues ("no significant", "did not
                differ", "failed to"), then whichever of `supports` / `contradicts` matches
                first in the clause, then the generic cues. E.g. cognition: "not impaired" is
                neutral, "impaired" contradicts; durability: "most ... relapsed" contradicts;
                neuroplasticity: "reversed the loss of spines" supports
    inherit     true (default) or false. When the claim is named only in the aims or methods
                (a population such as treatment-resistant depression, an outcome such as
                suicidal ideation), take the study's own finding on `context` sentences as
                its stance; false gives neutral instead (mechanism claims)
    background  "ignore" (default) or "neutral". A primary study's background never gives a
                stance; with "neutral" a mention there still marks the claim as a topic, with
                neutral stance, when the record matches `context` somewhere (a mechanism named
                in passing: "the NMDA receptor antagonist ketamine")

A short form the record defines for a claim term ("bipolar disorder (BD)") counts as the term.
A protocol's claims are always neutral (no results yet).

Regexes are Python `re` syntax, matched case-insensitively. TOML literal strings ('...')
keep backslashes as written. Three placeholders expand to generic patterns:
`{early}` a time point within about a week of a dose ("24 h", "day 3", "240 min"),
`{late}` one beyond about a week ("week 4", "28 days", "12 months"), `{number}` a number
in digits or words ("42", "1,234", "forty-two").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evidence_cli.errors import TopicError
from evidence_cli.workspace import Topic

RULE_KEYS = frozenset({
    "patterns", "weak_patterns", "context", "exclude", "mesh", "supports", "contradicts", "neutral", "inherit",
    "background",
})
_REGEX_KEYS = ("patterns", "weak_patterns", "context", "exclude", "supports", "contradicts", "neutral")

_NUMBER_WORD = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|"
    r"seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen)"
)
_B = r"(?<![\w.,-])"  # a number starts here, not inside another number or word
_NUM = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?|{_NUMBER_WORD})"
_RANGE = r"(?:\s*(?:-|to|and|or)\s*\d+(?:\.\d+)?)?"
_LOW_DAY = r"(?:[1-7]|one|two|three|four|five|six|seven)"
_HIGH_DAY = (r"(?:1\d|[2-9]\d|\d{3,}|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|"
             r"nineteen|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ]\w+)?)")
_MANY_WEEKS = (r"(?:[2-9]|[1-9]\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|"
               r"(?:twenty|thirty|forty|fifty)(?:[- ]\w+)?|several|many)")
PLACEHOLDERS = {
    # Within about a week: minutes and hours, days 1-7, the first week.
    "early": (
        rf"(?:{_B}{_NUM}{_RANGE}[- ]?(?:min(?:ute)?s?|h|hrs?|hours?)\b|\bday[- ]?[0-7]\b"
        rf"|{_B}{_LOW_DAY}{_RANGE}[- ]?(?:days?|d)\b|\b(?:first|1st|same|next|following) (?:post-?\w+ )?(?:day|week|hours?)\b"
        rf"|\b(?:one|a|single)[- ]week\b|{_B}1[- ]week\b|\bweek[- ]?(?:1|one)\b|\bovernight\b)"
    ),
    # Beyond about a week: day 10 and later, two weeks and more, months, years of follow-up.
    "late": (
        rf"(?:\bday[- ]?(?:1\d|[2-9]\d|\d{{3,}})\b|{_B}{_HIGH_DAY}{_RANGE}[- ]?(?:days?|d)\b"
        rf"|{_B}{_MANY_WEEKS}{_RANGE}[- ]?(?:weeks?|wks?)\b|\bweeks?[- ]?(?:[2-9]|\d\d)\b"
        rf"|{_B}(?:{_NUM}|a|several|many|few){_RANGE}[- ]?months?\b|\bmonth[- ]?\d+\b"
        rf"|\b(?:for|over|after|within|up to|through|during|at|by) (?:\w+ )?(?:{_NUM}|a|several){_RANGE}[- ]?years?\b)"
    ),
    "number": rf"{_B}{_NUM}",
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class ClaimRules:
    id: str
    label: str
    statement: str
    patterns: re.Pattern[str] | None
    weak_patterns: re.Pattern[str] | None = None
    context: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    mesh: frozenset[str] = frozenset()  # lower-cased descriptor names
    supports: re.Pattern[str] | None = None
    contradicts: re.Pattern[str] | None = None
    neutral: re.Pattern[str] | None = None
    inherit: bool = True
    background: str = "ignore"  # "ignore" or "neutral"


@dataclass(frozen=True)
class TopicRules:
    topic_id: str
    claims: tuple[ClaimRules, ...]
    fingerprint: str = ""  # changes whenever the topic's claim rules change (see `rules_fingerprint`)
    # The topic's `subject` (ketamine, ...): a record that names it nowhere (title, abstract,
    # MeSH, keywords) bears on none of the claims, whatever else it says. None: no such gate.
    subject: re.Pattern[str] | None = None

    @property
    def claim_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.claims)

    def claim(self, claim_id: str) -> ClaimRules | None:
        return next((c for c in self.claims if c.id == claim_id), None)


def compile_rules(topic: Topic) -> TopicRules:
    """The topic's claim rules, compiled; `TopicError` naming the file and claim when one is broken."""
    return TopicRules(topic.id, tuple(
        compile_claim(c.id, c.label, c.statement, c.rules, where=f"{topic.path}: claims.{c.id}")
        for c in topic.claims
    ), rules_fingerprint(topic), _compile_list(topic.settings.get("subject"), f"{topic.path}: subject"))


def rules_fingerprint(topic: Topic) -> str:
    """A short hash of the topic's claim rules: with TAGGER_VERSION it says whether stored tags
    were made by the current tagger and rules (an edited topic file changes it)."""
    # A claim without patterns is found by its label: then (only then) the label is a rule too.
    claims = [[c.id, dict(c.rules), None if ("patterns" in c.rules or "weak_patterns" in c.rules) else c.label]
              for c in topic.claims]
    subject = topic.settings.get("subject")  # joins only when set: topics without one keep their tags
    raw = json.dumps(claims if subject is None else {"claims": claims, "subject": subject}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]


def compile_claim(claim_id: str, label: str, statement: str, rules: Mapping[str, Any], *, where: str) -> ClaimRules:
    unknown = sorted(set(rules) - RULE_KEYS)
    if unknown:
        known = ", ".join(sorted(RULE_KEYS | {"label", "statement"}))
        raise TopicError(f"{where}: unknown key {unknown[0]!r} (known keys: {known})")
    compiled = {key: _compile_list(rules.get(key), f"{where}.{key}") for key in _REGEX_KEYS}
    if compiled["patterns"] is None and compiled["weak_patterns"] is None:
        # A claim with a label only (all INTERFACE.md requires) is named by its label as a phrase.
        compiled["patterns"] = _compile_list([label_pattern(label)], f"{where}.label")
    if compiled["weak_patterns"] is not None and compiled["context"] is None:
        raise TopicError(f"{where}: `weak_patterns` need `context` patterns to go with them")
    mesh = rules.get("mesh", [])
    if not isinstance(mesh, list) or not all(isinstance(m, str) for m in mesh):
        raise TopicError(f"{where}.mesh: must be a list of MeSH descriptor names")
    inherit = rules.get("inherit", True)
    if not isinstance(inherit, bool):
        raise TopicError(f"{where}.inherit: must be true or false")
    background = rules.get("background", "ignore")
    if background not in ("ignore", "neutral"):
        raise TopicError(f"{where}.background: must be \"ignore\" or \"neutral\"")
    return ClaimRules(
        id=claim_id, label=label, statement=statement, mesh=frozenset(m.strip().lower() for m in mesh),
        inherit=inherit, background=background, **compiled,
    )


def label_pattern(label: str) -> str:
    """The label as a phrase: its words in order, any spacing or hyphens between them."""
    words = re.findall(r"\w+", label)
    if not words:
        raise TopicError(f"label {label!r} has no words to look for: give the claim `patterns`")
    return r"\b" + r"[\s-]+".join(re.escape(w) for w in words) + r"\b"


def _compile_list(value: Any, where: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TopicError(f"{where}: must be a list of regex strings")
    parts = []
    for i, pattern in enumerate(value, 1):
        expanded = expand_placeholders(pattern, f"{where}[{i}]")
        try:
            re.compile(expanded, re.IGNORECASE)
        except re.error as exc:
            raise TopicError(f"{where}[{i}]: bad regex {pattern!r}: {exc}") from None
        if re.match(r"\(\?[aiLmsux]+\)", expanded):
            raise TopicError(f"{where}[{i}]: put flags inline as (?i:...), not at the start: {pattern!r}")
        parts.append(f"(?:{expanded})")
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


def expand_placeholders(pattern: str, where: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise TopicError(f"{where}: unknown placeholder {{{name}}} (known: "
                             + ", ".join(f"{{{n}}}" for n in PLACEHOLDERS) + ")")
        return PLACEHOLDERS[name]

    return _PLACEHOLDER.sub(substitute, pattern)
