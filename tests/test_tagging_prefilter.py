"""The literal prefilter never changes an answer: a skipped regex is one that could not match."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.tagging import compile_rules, cues, design, prefilter, sample_size
from evidence_cli.tagging.claims import claim_spans, find_claims, may_name, names_any_claim
from evidence_cli.tagging.prefilter import (
    STOPS,
    LiteralScanner,
    _alternatives,
    _foldable,
    _source_anchor,
    finditer,
    fold,
    has,
    has_span,
    required_literals,
    search,
)
from evidence_cli.tagging.roles import draft_sentences
from evidence_cli.tagging.tagger import article_from_record, scanner_for
from evidence_cli.tagging.text import normalize
from evidence_cli.workspace import load_topic_file

REPO = Path(__file__).resolve().parents[1]
RULES = compile_rules(load_topic_file(REPO / "queries" / "ketamine-depression.toml"))
GENERIC = [v for m in (cues, design, sample_size) for v in vars(m).values() if isinstance(v, re.Pattern)]
CLAIM_REGEXES = [getattr(c, k) for c in RULES.claims
                 for k in ("patterns", "weak_patterns", "context", "exclude", "supports", "contradicts", "neutral")
                 if getattr(c, k) is not None]
SCANNER = LiteralScanner(GENERIC + CLAIM_REGEXES)
LITERALS = [(p, required_literals(p)) for p in GENERIC + CLAIM_REGEXES]

# Words the patterns look for, their pieces, and the characters that trip boundaries and case.
_WORDS = sorted({lit for _, lits in LITERALS for lit in (lits or ())})
_TRICKY = ["", " ", "-", ".", ",", ";", "(", ")", "%", "=", "<", "\u2264", "\u2013", "\u0130", "\u017f", "\u212a",
           "K", "NMDA", "BD-I", "p < .05", "n = 12", "24 h", "day 3", "week 6", "42", "forty-two", "not", "no",
           "patients", "rats", "were randomized", "did not differ", "ketamine", "depression", "suicidal"]
_TOKENS = st.sampled_from(_WORDS + _TRICKY).map(lambda w: w.upper() if w[:1] == "q" else w)
TEXTS = st.lists(st.one_of(_TOKENS, st.text(max_size=4)), max_size=25).map(" ".join)
# With the punctuation and line breaks where a regex's lead-in may stop (see `prefilter.STOPS`).
_STOPPY = st.sampled_from([".", ",", ";", ":", "(", ")", "%", "=", "/", "\n", "!", "?", "[", "]"])
STOPPY_TEXTS = st.lists(st.one_of(_TOKENS, _STOPPY, st.text(max_size=4)), max_size=25).map(" ".join)


def test_fold_maps_every_case_insensitive_twin_of_ascii_to_it() -> None:
    """Every character `re.IGNORECASE` matches to an ASCII letter or digit folds to exactly that
    character (brute force over every code point), so a folded literal is found wherever the
    regex could match it."""
    rx = re.compile("[a-z0-9]", re.IGNORECASE)
    twins = [chr(cp) for cp in range(128, sys.maxunicode + 1) if rx.fullmatch(chr(cp))]
    assert twins  # the brute force did look
    for ch in twins:
        ascii_twin = next(a for a in "abcdefghijklmnopqrstuvwxyz0123456789" if re.fullmatch(a, ch, re.IGNORECASE))
        assert fold(ch) == ascii_twin, hex(ord(ch))


def test_caseless_symbols_in_literals_have_no_case_twins() -> None:
    """A literal may hold a non-ASCII symbol with no case ("\u2264"): no other character may be
    its case twin, else `re.IGNORECASE` could match where the folded literal is not."""
    for cp in range(128, sys.maxunicode + 1):
        ch = chr(cp)
        for twin in {ch.lower(), ch.upper(), ch.casefold()} - {ch}:
            assert not (len(twin) == 1 and not twin.isascii() and _foldable(twin)), (hex(cp), twin)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_a_match_always_holds_a_required_literal(text: str) -> None:
    norm = normalize(text)
    folded = fold(norm)
    for pattern, literals in LITERALS:
        if literals is not None and pattern.search(norm):
            assert any(lit in folded for lit in literals), (pattern.pattern[:80], norm)


@settings(max_examples=400, deadline=None)
@given(STOPPY_TEXTS, st.integers(0, 30), st.integers(0, 80))
def test_gated_search_equals_plain_search_on_any_part(text: str, start: int, length: int) -> None:
    """Searching a part of the text with the whole text's literals gives the plain answer."""
    norm = normalize(text)
    present = SCANNER.presence(norm)
    part = norm[start:start + length]
    for pattern in GENERIC + CLAIM_REGEXES:
        plain, gated = pattern.search(part), search(pattern, part, present)
        assert (plain and plain.span()) == (gated and gated.span()), pattern.pattern[:80]
        assert has(pattern, part, present) == (plain is not None), pattern.pattern[:80]
        assert [m.span() for m in finditer(pattern, part, present)] == [m.span() for m in pattern.finditer(part)]


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_presence_holds_exactly_the_literals_in_the_folded_text(text: str) -> None:
    """Words are looked up by their runs of literal characters ("(depression," as "depression"):
    the set found is still every literal of the scanner that the text holds, and nothing else."""
    folded = fold(normalize(text))
    expected = {lit for lit in SCANNER.bits if lit in folded}
    assert SCANNER.presence(normalize(text)).found == expected
    assert SCANNER.presence(normalize(text)).found == expected  # again, from the word caches


def test_word_caches_that_overflow_start_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(prefilter, "_MAX_CACHED_RUNS", 2)
    scanner = LiteralScanner(GENERIC)
    texts = ["Patients were randomized (n = 12).", "No significant difference; p \u2264 .05", "Patients again."]
    for text in texts * 2:
        assert scanner.presence(text).found == {lit for lit in scanner.bits if lit in fold(text)}
        assert len(scanner._by_run) <= 2 and len(scanner._by_word) <= 2


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_may_name_is_false_only_when_no_claim_span(text: str) -> None:
    norm = normalize(text)
    present = SCANNER.presence(norm)
    for claim in RULES.claims:
        if claim_spans(norm, claim):
            assert may_name(present, claim), (claim.id, norm)


def _anchored(patterns: list[re.Pattern[str]]) -> list[tuple[re.Pattern[str], frozenset[str], int | None, str]]:
    """Each pattern and each of its alternatives, with its literals, lead and stop characters."""
    out = []
    for pattern in patterns:
        for source in [pattern.pattern, *(_alternatives(pattern) or [])]:
            anchor = _source_anchor(source, pattern.flags)
            stops = "".join(sorted(STOPS - anchor.eaten))
            if anchor.literals and (anchor.lead is not None or stops):
                out.append((re.compile(source, pattern.flags), anchor.literals, anchor.lead, stops))
    return out


ANCHORED = _anchored(GENERIC + CLAIM_REGEXES)


@settings(max_examples=300, deadline=None)
@given(STOPPY_TEXTS)
def test_every_match_holds_a_literal_within_its_lead_and_stops(text: str) -> None:
    """What lets a search start just before a literal: each match holds one of the literals,
    beginning at most `lead` characters after the match does, with no stop character it cannot
    match between its start and the literal."""
    norm = normalize(text)
    folded = fold(norm)
    for pattern, literals, lead, stops in ANCHORED:
        for match in pattern.finditer(norm):
            s = match.start()
            last = s + lead if lead is not None else match.end()
            places = [q for lit in literals for q in range(s, last + 1) if folded.startswith(lit, q)]
            assert any(not set(norm[s:q]) & set(stops) for q in places), (pattern.pattern[:80], norm)


_SENTENCES = st.lists(STOPPY_TEXTS.map(lambda t: t.strip().capitalize() + "."), min_size=1, max_size=6).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(STOPPY_TEXTS, _SENTENCES, st.sampled_from(["", "Review", "Randomized Controlled Trial"]))
def test_a_record_that_names_no_claim_gets_no_claim_tags(title: str, abstract: str, kind: str) -> None:
    """The check that spares a record its study roles: when it says no sentence names a claim,
    the full claim finder finds none either (and when it finds some, the check said so)."""
    article = article_from_record({"title": title, "abstract": abstract, "publication_types": [kind] if kind else []})
    draft = draft_sentences(article.title, article.abstract, scanner_for(RULES))
    found = find_claims(draft.sentences(), RULES, design="other")
    if not names_any_claim(draft.texts, RULES):  # type: ignore[arg-type]
        assert found == ()
    for design_name in ("narrative-review", "protocol"):
        if find_claims(draft.sentences(), RULES, design=design_name):
            assert names_any_claim(draft.texts, RULES)  # type: ignore[arg-type]


def test_leads_of_simple_patterns() -> None:
    def anchor(source: str) -> tuple[set[str] | None, int | None, str]:
        found = _source_anchor(source, re.IGNORECASE)
        return (None if found.literals is None else set(found.literals)), found.lead, "".join(sorted(found.eaten))

    assert anchor(r"\bsuicid\w*") == ({"suicid"}, 0, "")
    assert anchor(r"(?<![\w-])(?:the|a) case\b") == ({"case"}, 4, "")  # after "the " at most; lookbehinds take no room
    assert anchor(r"\bx?y?(?:patients?|cases)") == ({"patient", "cases"}, 2, "")
    assert anchor(r"\d+ patients") == ({"patients"}, None, "")  # how far in: no bound; only digits and a space before
    assert anchor(r"\d+[.,]?\d*\s+patients") == ({"patients"}, None, "\n,.")
    assert anchor(r"[^;]+ patients") == ({"patients"}, None, "".join(sorted(STOPS - {";"})))
    assert anchor(r"(?:ab|cd)+ ?") == ({"ab", "cd"}, 0, "")  # the first repetition holds it


def test_literals_of_simple_patterns() -> None:
    def lits(source: str) -> set[str] | None:
        found = required_literals(re.compile(source, re.IGNORECASE))
        return None if found is None else set(found)

    assert lits(r"\bsuicid\w*") == {"suicid"}
    assert lits(r"\b(?:bipolar|manic[- ]depress\w*)\b") == {"bipolar", "depress"}  # the longer literal of each
    assert lits(r"\bdepressed (?:patients?|mood)") == {"depressed"}  # whitespace ends a literal
    assert lits(r"\w+ly") == {"ly"}
    assert lits(r"\d+\s*%?") is None  # nothing required: the regex always runs
    assert lits(r"(?:foo)?bar|baz") == {"bar", "baz"}
    assert lits(r"a|\w+") is None  # one alternative without a literal: the whole is unknown
    assert lits(r"\bNMDA\b") == {"nmda"}  # folded


def test_alternatives_split_only_at_top_level() -> None:
    scanner = LiteralScanner([re.compile(r"[|(]foo|\|bar|(?:baz|qux)", re.IGNORECASE)])
    for text in ("(foo", "|foo", "|bar", "xbaz", "qux", "foo", "bar", "nothing"):
        pattern = next(iter(scanner.gates.values())).pattern
        plain, gated = pattern.search(text), search(pattern, text, scanner.presence(text))
        assert (plain and plain.span()) == (gated and gated.span()), text


def test_groups_of_alternatives_are_opened_in_order() -> None:
    def parts(source: str) -> list[str] | None:
        return _alternatives(re.compile(source, re.IGNORECASE))

    assert parts(r"(?:(?:ab)|(?:cd))|(?:ef)") == ["(?:ab)", "(?:cd)", "(?:ef)"]
    assert parts(r"(?:a|b)*|c") == ["(?:a|b)*", "c"]  # a repeated group stays whole
    assert parts(r"(?:a)(?:b|c)|d") == ["(?:a)(?:b|c)", "d"]  # so does a group that is not the whole
    assert parts(r"(?i:a|b)|c") == ["(?i:a|b)", "c"]  # flags are not opened
    assert parts(r"\(a|b\)") == ["\\(a", "b\\)"]


def test_has_span_is_whether_finditer_gives_a_non_empty_match() -> None:
    patterns = [re.compile(p, re.IGNORECASE) for p in (r"x*|abc", r"abc|x*", r"\babc\b", r"(?=abc)")]
    scanner = LiteralScanner(patterns)
    for pattern in patterns:
        for text in ("abc", "xx abc", "", "ab c"):
            plain = any(m.end() > m.start() for m in pattern.finditer(text))
            assert has_span(pattern, text, scanner.presence(text)) == plain, (pattern.pattern, text)


def test_unregistered_patterns_always_run() -> None:
    other = re.compile(r"\bzebra\b", re.IGNORECASE)
    assert search(other, "a zebra", SCANNER.presence("nothing here")) is not None


# Regexes a topic author might write: inline flags, lookarounds, groups, classes with "|",
# caseless symbols, optional pieces, a backreference.
_AWKWARD = [re.compile(p, re.IGNORECASE) for p in (
    r"(?-i:BD)-?I{1,2}\b", r"(?<![\w-])foo(?=bar)|baz(?!qux)", r"(ab|cd)+ ?\1", r"[|(]x|\|y|(?:z|w)q",
    r"\u2265\s*\d+|[<=>\u2264]\s*0?\.05", r"(?:re)?lapse?d?|remitt?\w*", r"\bK\w+|\u212aelvin", r"[^a-z]{2}end",
    r"(?i:MiXeD)|(?-i:Exact)", r"\bi\.v\.|i\.p\.", r"x*|y",
    # lead-ins that do or do not cross stop characters
    r"[^.]{0,20}foo", r"(?<=\.)\s*bar", r"\d+[,.]?\d*\s+items?\b", r"(?:\w+ ){0,3}?zap", r"\(\w+\) zip|.;zip",
)]
_AWKWARD_SCANNER = LiteralScanner(_AWKWARD)
_AWKWARD_TEXTS = st.lists(st.sampled_from(
    ["BD", "bd", "BDII", "BD-I", "foo", "foobar", "-foo", "baz", "bazqux", "abab", "cd", "|x", "(x", "|y", "zq", "wq",
     "\u2265 5", "<.05", "\u2264 0.05", "relapsed", "lapse", "remitting", "K1", "\u212aelvin", "kelvin", "!!end", "end",
     "mixed", "MIXED", "Exact", "exact", "i.v.", "I.P.", "x", "y", " ", "\u0130", "\u017f", ".", ",", ";", "(a)",
     "\n", "12", "1.5", "3,000", "items", "item", "zap", "zip", "a;zip", "bar", ".bar", "foo."]), max_size=12).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_AWKWARD_TEXTS, st.integers(0, 20), st.integers(0, 40))
def test_awkward_patterns_gated_search_equals_plain(text: str, start: int, length: int) -> None:
    present = _AWKWARD_SCANNER.presence(text)
    part = text[start:start + length]
    for pattern in _AWKWARD:
        plain, gated = pattern.search(part), search(pattern, part, present)
        assert (plain and plain.span()) == (gated and gated.span()), pattern.pattern
        assert has(pattern, part, present) == (plain is not None), pattern.pattern
        assert [m.span() for m in finditer(pattern, part, present)] == [m.span() for m in pattern.finditer(part)]


def test_alternatives_run_alone_give_the_alternations_match() -> None:
    """Alternatives matching at one place: the earlier one wins (and its span), as in the
    alternation; one matching further left wins over an earlier one matching further right;
    each next match is searched from the end of the last, by every alternative."""
    patterns = [re.compile(p, re.IGNORECASE) for p in (
        r"\babc|\bab\w*|\bxyz", r"\bab\w*|\babc|\bxyz", r"b\w*c|\babc\w*|c d", r"(?:\bab\w*|(?:b\w*c))|\babc",
        r"(?<=a)bc|x?y?|abc",  # an alternative matching the empty string: compiled together instead
    )]
    scanner = LiteralScanner(patterns)
    for pattern in patterns:
        for text in ("abcd", "xyz abcd", "abcd xyz", "zz abc", "abc d abcbc c d", "abcabc abc"):
            present = scanner.presence(text)
            found, plain = search(pattern, text, present), pattern.search(text)
            assert (found and found.span()) == (plain and plain.span()), (pattern.pattern, text)
            assert [m.span() for m in finditer(pattern, text, present)] == [m.span() for m in pattern.finditer(text)]


def test_a_search_starts_near_the_first_literal_yet_finds_the_same_match() -> None:
    """A regex whose literal begins a bounded way into its matches is run from just before the
    literal's first place; lookbehinds and word boundaries still see the text before it."""
    patterns = [re.compile(p, re.IGNORECASE) for p in (
        r"(?<!no )\bsignifican\w*", r"\b(?:a|an|the) case of\b", r"^\W*thus\b", r"(?<=[.;] )however\b",
    )]
    scanner = LiteralScanner(patterns)
    texts = ["It was no significant change, a significant one.", "The case of a case of x.", "x thus", "Thus, yes",
             "Yes. However, no; however", "the case of", "ne case of", "\u0130stanbul: a case of İ"]
    for pattern in patterns:
        for text in texts:
            found = search(pattern, text, scanner.presence(text))
            plain = pattern.search(text)
            assert (found and found.span()) == (plain and plain.span()), (pattern.pattern, text)
