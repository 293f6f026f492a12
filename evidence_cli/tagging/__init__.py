"""Claim tagging: for each abstract, its claims with stance and sentence, design, sample size.

Public API: `compile_rules(topic)`, `tag_article(article, rules)`, `tag_record(record, rules)`,
`split_sentences(text)`, `claims_in_sentence(sentence, rules)`, `sections_from_text(abstract)`
and `TAGGER_VERSION`. Everything here is pure: no I/O, no network, no cache. (For speed,
`prefilter` skips regexes that provably cannot match and remembers, in memory, which words
hold which literals; it never changes a result.)

What the tagger can and cannot see. It reads the title and the abstract only: never the full
text, never figures or tables, and it does not use keywords; MeSH and publication types are
used for design and subjects, and MeSH can widen which sentences count for a claim, but the
words of the abstract are what a tag rests on. It works sentence by sentence and clause by
clause with rules written as regular expressions: it knows where a sentence sits (background,
aims, methods, results, conclusions), negation and null-result phrasing ("no significant",
"did not differ", "failed to", "was not sustained"), hedges, and a handful of claim-specific
cues, but it does not parse grammar or read numbers as effect sizes, so it cannot tell a
clinically trivial "significant" result from a large one, judge a study's quality, follow a
comparison across several sentences, or know what an abbreviation stands for unless the rules
name it. When an abstract mixes findings, the conclusions weigh most. Every claim tag carries
the sentence it rests on: read it before trusting a stance.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evidence_cli.tagging.claims import claims_in_sentence
    from evidence_cli.tagging.model import ClaimTag, Tagging
    from evidence_cli.tagging.rules import TopicRules, compile_rules
    from evidence_cli.tagging.tagger import article_from_record, tag_article, tag_record
    from evidence_cli.tagging.text import sections_from_text, split_sentences

# Bump when a change to the code or the shipped rules changes tags: the store records it and
# `evidence retag` brings older tags up to date.
TAGGER_VERSION = "1.4"

# Loaded on first use (PEP 562): the store and the reports import `tagging.model`, and must not
# pay for compiling the tagger's regexes on every `evidence report`.
_LAZY = {
    "claims_in_sentence": "claims", "ClaimTag": "model", "Tagging": "model", "TopicRules": "rules",
    "compile_rules": "rules", "article_from_record": "tagger", "tag_article": "tagger", "tag_record": "tagger",
    "sections_from_text": "text", "split_sentences": "text",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"evidence_cli.tagging.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def tags_version(rules: TopicRules) -> str:
    """What the store records with each tag: the tagger's version and the topic's rules.

    Editing a topic's claim rules changes it, so `import` and `refresh` retag those records
    instead of trusting tags made under the old rules.
    """
    return f"{TAGGER_VERSION}+{rules.fingerprint}" if rules.fingerprint else TAGGER_VERSION


__all__ = [
    "TAGGER_VERSION", "ClaimTag", "Tagging", "TopicRules", "article_from_record", "claims_in_sentence",
    "compile_rules", "sections_from_text", "split_sentences", "tag_article", "tag_record", "tags_version",
]
