"""`evidence check`: which sentences of a draft make a topic's claims, and what the cache says.

The work is pure and in three steps, each testable alone:
1. `textclean.draft_sentences` turns the draft into prose sentences with their section headings;
2. `ClaimMatcher` finds the claims each sentence makes: the tagger's claim rules (the same
   ones that tag abstracts), a word overlap with each claim's `statement` and `label` (so a
   paraphrase still matches), and the section heading above the paragraph;
3. `check_sentences` joins each claim made with its evidence (verdict, counts, strongest
   citations) and flags overstatement: certainty in the sentence, weaker evidence in the cache.

`check_text` is the service the command calls: it reads the cache (never writes it) and adds
how fresh the cache is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from evidence_cli.evidence.summary import is_unsupported_or_contested, verdict_keyword
from evidence_cli.textclean import DraftSentence, draft_sentences

if TYPE_CHECKING:
    from evidence_cli.store.db import Store
    from evidence_cli.workspace import ClaimSpec, Topic, Workspace

DEFAULT_MAX_AGE_DAYS = 30
CITATIONS_PER_CLAIM = 3

# ---- claim matching ---------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Longest first; a suffix is cut only when at least 4 letters stay ("ideation" -> "ideat").
_SUFFIXES = (
    "ilities", "alities", "ations", "ivity", "ality", "ility", "ation", "ments", "ities", "ating", "ness",
    "ment", "ives", "ions", "ings", "ical", "ally", "ance", "ence", "ants", "ents", "ated", "ates",
    "ity", "ive", "ion", "ing", "ant", "ent", "ate", "ers", "ies", "al", "es", "ed", "ly", "er", "s",
)
STOPWORDS = frozenset(
    "a an the of or and to in on with within without about through its it is are was were be been being "
    "that this these those for by from as at into after before than then such their them they there "
    "which who whom whose what when where while how not no nor but also can may might could would should "
    "will has have had do does did more most less least very some any each both other others own same so "
    "just only over under again further once one two three up down out off per via vs versus "
    "act acts work works effect effects patient patients people individual individuals study studies "
    "treatment? therapy therapies drug drugs".replace("?", "").split()
)


def stem(word: str) -> str:
    """A light suffix cut so 'suicidal', 'suicidality' and 'suicide' meet ('suicid')."""
    word = word.lower().replace("’", "'")
    word = word.removesuffix("'s")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Content stems of a text: stop words dropped, hyphenated words split ('treatment-resistant')."""
    return [stem(t) for t in _TOKEN.findall(text) if t.lower() not in STOPWORDS and len(t) > 1]


@dataclass(frozen=True)
class ClaimVocabulary:
    """The words that say a claim, weighted by how few of the topic's claims share them."""

    claim_id: str
    weights: Mapping[str, float]  # stem -> 1 / number of claims using it
    label_terms: frozenset[str]  # every one present: the sentence names the claim ("rapid onset")
    decisive: frozenset[str]  # acronyms only this claim uses (NMDA, BDNF): present alone is enough


def build_vocabularies(claims: Sequence[ClaimSpec], topic_title: str = "") -> dict[str, ClaimVocabulary]:
    """Per claim, its label and statement words; words of the topic's title say nothing about a claim."""
    common = set(terms(topic_title))
    raw: dict[str, set[str]] = {}
    labels: dict[str, set[str]] = {}
    acronyms: dict[str, set[str]] = {}
    for claim in claims:
        text = f"{claim.label}. {claim.statement}"
        raw[claim.id] = set(terms(text)) - common
        labels[claim.id] = set(terms(claim.label)) - common
        acronyms[claim.id] = {stem(t) for t in _TOKEN.findall(text) if len(t) >= 3 and t.isupper()}
    df: dict[str, int] = {}
    for words in raw.values():
        for word in words:
            df[word] = df.get(word, 0) + 1
    return {
        claim_id: ClaimVocabulary(
            claim_id,
            {w: 1.0 / df[w] for w in words},
            frozenset(labels[claim_id]),
            frozenset(a for a in acronyms[claim_id] if df.get(a) == 1),
        )
        for claim_id, words in raw.items()
    }


STATEMENT_SCORE = 1.5  # e.g. two words no other claim uses, or one of those and two shared ones
HINT_SCORE = 0.75  # enough to take the section heading's claim


def statement_score(sentence_terms: set[str], vocab: ClaimVocabulary) -> float:
    """How strongly a sentence's words say a claim; math.inf when it names the claim outright."""
    if vocab.decisive & sentence_terms:
        return math.inf
    if vocab.label_terms and vocab.label_terms <= sentence_terms:
        return math.inf
    matched = [vocab.weights[t] for t in sentence_terms if t in vocab.weights]
    total = sum(matched)
    # Alone, a sentence needs two of the claim's words, one of them its own: one word, or only
    # words other claims share too, can lean towards a claim (see HINT_SCORE) but not make it.
    if len(matched) >= 2 and max(matched) >= 1.0:
        return total
    return min(total, STATEMENT_SCORE - 0.01)


RuleMatcher = Callable[[str], Iterable[str]]  # sentence -> claim ids (the tagger's claim rules)


@dataclass(frozen=True)
class ClaimMatch:
    claim_id: str
    matched_by: tuple[str, ...]  # "rules", "statement", "heading"


OnTopic = Callable[[str, str], bool]  # (text, claim id) -> the text is about what the claim concerns


def _no_rules(sentence: str) -> list[str]:
    return []


def _always_on_topic(text: str, claim_id: str) -> bool:
    return True


@dataclass
class ClaimMatcher:
    """Which of a topic's claims a sentence of a draft makes."""

    claim_ids: tuple[str, ...]
    vocabularies: Mapping[str, ClaimVocabulary]
    rules: RuleMatcher = _no_rules
    on_topic: OnTopic = _always_on_topic
    topic_title: str = ""

    @classmethod
    def for_topic(cls, topic: Topic, rules: RuleMatcher | None = None, on_topic: OnTopic | None = None) -> ClaimMatcher:
        return cls(topic.claim_ids, build_vocabularies(topic.claims, topic.title), rules or _no_rules,
                   on_topic or _always_on_topic, topic.title)

    def scores(self, text: str) -> dict[str, float]:
        found = set(terms(text))
        return {cid: statement_score(found, self.vocabularies[cid]) for cid in self.claim_ids if cid in self.vocabularies}

    def own_claims(self, text: str) -> dict[str, list[str]]:
        """Claims a piece of text makes on its own: claim id -> how it was matched."""
        made: dict[str, list[str]] = {}
        for claim_id in self.rules(text):
            if claim_id in self.claim_ids:
                made.setdefault(claim_id, []).append("rules")
        for claim_id, score in self.scores(text).items():
            if score >= STATEMENT_SCORE:
                made.setdefault(claim_id, []).append("statement")
        return made

    def heading_claims(self, heading: str | None) -> list[str]:
        """Claims a section heading announces ("Rapid Onset of Relief" -> rapid_onset)."""
        if not heading:
            return []
        # The whole draft is about the topic, so its title lends a heading the context that
        # the tagger's weak patterns ask for ("Extended Duration of Relief" -> durability).
        made = set(self.own_claims(f"{heading} ({self.topic_title})" if self.topic_title else heading))
        # A heading is short and on topic: one word that only this claim uses is enough.
        words = set(terms(heading))
        made.update(cid for cid, vocab in self.vocabularies.items()
                    if any(vocab.weights.get(w, 0.0) >= 1.0 for w in words))
        return [cid for cid in self.claim_ids if cid in made]

    def match(self, sentences: Sequence[DraftSentence]) -> list[tuple[DraftSentence, list[ClaimMatch]]]:
        """Each sentence with the claims it makes, in topic order; sentences making none are left out.

        A heading's claim goes to the sentences of the paragraph below it that lean that way
        (a weaker word overlap than a sentence needs alone), and to the paragraph's first
        sentence when no sentence of it says the claim in its own words.
        """
        by_paragraph: dict[int, list[int]] = {}
        for index, sentence in enumerate(sentences):
            by_paragraph.setdefault(sentence.paragraph, []).append(index)
        own = [self.own_claims(s.text) for s in sentences]
        # A match on the statement's words alone must sit in a paragraph about what the claim
        # concerns (the tagger's `context`): "rapid onset" of an anaesthetic is not rapid relief.
        for indexes in by_paragraph.values():
            paragraph = " ".join(sentences[i].text for i in indexes)
            for i in indexes:
                for claim_id, how in list(own[i].items()):
                    if how == ["statement"] and not self.on_topic(paragraph, claim_id):
                        del own[i][claim_id]
        hinted: list[set[str]] = [set() for _ in sentences]
        heading_cache: dict[str | None, list[str]] = {}
        for indexes in by_paragraph.values():
            first = sentences[indexes[0]]
            if first.heading not in heading_cache:
                heading_cache[first.heading] = self.heading_claims(first.heading)
            for claim_id in heading_cache[first.heading]:
                leaning = [i for i in indexes if self.scores(sentences[i].text).get(claim_id, 0.0) >= HINT_SCORE]
                for i in leaning:
                    hinted[i].add(claim_id)
                said = any(claim_id in own[i] for i in indexes)
                if first.lead and not said and not leaning and first.position == 0:
                    hinted[indexes[0]].add(claim_id)
        out = []
        for sentence, made, hints in zip(sentences, own, hinted):
            matches = []
            for claim_id in self.claim_ids:
                how = list(made.get(claim_id, ()))
                if claim_id in hints:
                    how.append("heading")
                if how:
                    matches.append(ClaimMatch(claim_id, tuple(how)))
            if matches:
                out.append((sentence, matches))
        return out


# ---- overstatement ----------------------------------------------------------------------------

CERTAINTY = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bremarkable (success|results?|efficacy|effects?)\b", r"\bproven\b", r"\bproves?\b",
        r"\b(has|have) been (demonstrated|shown|established|proven)\b", r"\bdemonstrated\b",
        r"\b(studies|research|trials|science|evidence) (has |have )?(shows?|shown|proves?|confirms?|confirmed)\b",
        r"\bguarantee[ds]?\b", r"\bcures?\b", r"\bcured\b", r"\bdefinitely\b", r"\bundeniabl[ey]\b",
        r"\bwithout (a )?doubt\b", r"\bno doubt\b", r"\bmiracle\b", r"\bbreakthrough\b", r"\b100 ?%",
        r"\balways works\b", r"\bclearly (works|shows|effective)\b", r"\b(is|are) (highly )?effective\b",
        r"\bwell[- ]established\b", r"\bconclusively\b", r"\beliminates?\b",
    )
)
HEDGES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bmay\b", r"\bmight\b", r"\bcould\b", r"\bpossibly\b", r"\bperhaps\b", r"\bpotential(ly)?\b",
        r"\bsome (individuals|people|patients|studies|evidence|research)\b", r"\bsuggests?\b",
        r"\bpreliminary\b", r"\bearly (evidence|research|studies|results)\b", r"\bappears? to\b",
        r"\bseems? to\b", r"\bbelieved\b", r"\bthought to\b", r"\blikely\b", r"\bunclear\b",
        r"\bmore research\b", r"\bin some cases\b",
    )
)


def certainty_phrases(sentence: str) -> list[str]:
    return [m.group(0) for p in CERTAINTY for m in p.finditer(sentence)]


def hedge_phrases(sentence: str) -> list[str]:
    return [m.group(0) for p in HEDGES for m in p.finditer(sentence)]


@dataclass(frozen=True)
class Overstatement:
    phrases: tuple[str, ...]
    reason: str


def overstatement(sentence: str, verdict: str) -> Overstatement | None:
    """Certainty in an unhedged sentence while the evidence is weaker than strong."""
    phrases = certainty_phrases(sentence)
    if not phrases or hedge_phrases(sentence):
        return None
    keyword = verdict_keyword(verdict) or "No evidence"
    if keyword == "Strong":  # only strong evidence backs a statement of certainty
        return None
    phrases = list(dict.fromkeys(phrases))
    quoted = ", ".join(f'"{p}"' for p in phrases)
    backing = "no cached study backs it" if keyword == "No evidence" else f"the evidence is {keyword.lower()}"
    return Overstatement(tuple(phrases), f"states certainty ({quoted}) but {backing}")


# ---- evidence per claim -----------------------------------------------------------------------

@dataclass(frozen=True)
class Citation:
    pmid: str
    first_author: str | None
    year: int | None
    journal: str | None
    design: str
    sample_size: int | None
    title: str = ""
    evidence: str = ""  # the abstract's sentence that carries the claim


@dataclass(frozen=True)
class ClaimEvidence:
    """What the cache says about one claim."""

    claim_id: str
    label: str
    verdict: str
    studies: int = 0
    supports: int = 0
    contradicts: int = 0
    neutral: int = 0
    participants: int = 0
    by_design: Mapping[str, int] = field(default_factory=dict)
    failing: bool = True  # unsupported or contested (or no evidence): what --strict stops on
    support: tuple[Citation, ...] = ()  # strongest first, never retracted
    contradiction: Citation | None = None  # the strongest contradicting study, never retracted


def no_evidence(claim_id: str, label: str) -> ClaimEvidence:
    return ClaimEvidence(claim_id, label, "No evidence: no cached study is tagged with this claim")


@dataclass(frozen=True)
class ClaimCheck:
    claim_id: str
    label: str
    matched_by: tuple[str, ...]
    evidence: ClaimEvidence
    overstatement: Overstatement | None


@dataclass(frozen=True)
class SentenceCheck:
    text: str
    heading: str | None
    claims: tuple[ClaimCheck, ...]


@dataclass(frozen=True)
class CacheState:
    records: int
    last_refresh: str | None  # finished_at of the last complete refresh (UTC ISO)
    age_days: float | None
    max_age_days: float
    refresh_command: str

    @property
    def empty(self) -> bool:
        return self.records == 0

    @property
    def stale(self) -> bool:
        return self.empty or self.age_days is None or self.age_days > self.max_age_days

    @property
    def warning(self) -> str | None:
        if self.empty:
            return f"the cache holds no records for this topic; run `{self.refresh_command}` first"
        if self.last_refresh is None:
            return (f"the topic's records were never refreshed from PubMed (imported only); "
                    f"run `{self.refresh_command}` for current evidence")
        if self.age_days is not None and self.age_days > self.max_age_days:
            return (f"the last complete refresh was {self.age_days:.0f} days ago ({self.last_refresh}), "
                    f"older than --max-age {self.max_age_days:g}; run `{self.refresh_command}`")
        return None


@dataclass(frozen=True)
class CheckResult:
    topic: str
    title: str
    sentences: tuple[SentenceCheck, ...]
    cache: CacheState | None = None

    def failing_claims(self) -> list[ClaimCheck]:
        """Claims made in the draft whose evidence is unsupported, contested or missing."""
        seen: dict[str, ClaimCheck] = {}
        for sentence in self.sentences:
            for claim in sentence.claims:
                if claim.evidence.failing:
                    seen.setdefault(claim.claim_id, claim)
        return list(seen.values())

    def overstatements(self) -> list[tuple[SentenceCheck, ClaimCheck]]:
        return [(s, c) for s in self.sentences for c in s.claims if c.overstatement]


def check_sentences(
    matched: Sequence[tuple[DraftSentence, Sequence[ClaimMatch]]],
    evidence: Mapping[str, ClaimEvidence],
    labels: Mapping[str, str],
) -> tuple[SentenceCheck, ...]:
    """Join each claim a sentence makes with its evidence, and flag overstatement."""
    out = []
    for sentence, matches in matched:
        claims = []
        for match in matches:
            label = labels.get(match.claim_id, match.claim_id)
            found = evidence.get(match.claim_id) or no_evidence(match.claim_id, label)
            claims.append(ClaimCheck(match.claim_id, label, match.matched_by, found,
                                     overstatement(sentence.text, found.verdict)))
        out.append(SentenceCheck(sentence.text, sentence.heading, tuple(claims)))
    return tuple(out)


# ---- the service ------------------------------------------------------------------------------

Splitter = Callable[[str], list[str]]


@dataclass(frozen=True)
class TaggerHooks:
    """The tagger's sentence splitter and claim rules for one topic (passed in, so tests can stand in)."""

    split: Splitter
    rules: RuleMatcher
    on_topic: OnTopic = _always_on_topic


def tagger_hooks(topic: Topic) -> TaggerHooks:
    """The real tagger's splitter and compiled claim rules for `topic`."""
    from evidence_cli.tagging import claims_in_sentence, compile_rules, split_sentences

    compiled = compile_rules(topic)

    def on_topic(text: str, claim_id: str) -> bool:
        claim = compiled.claim(claim_id)
        return claim is None or claim.context is None or bool(claim.context.search(text))

    return TaggerHooks(split_sentences, lambda sentence: claims_in_sentence(sentence, compiled), on_topic)


def match_draft(text: str, topic: Topic, hooks: TaggerHooks) -> list[tuple[DraftSentence, list[ClaimMatch]]]:
    """The draft's sentences that make one of the topic's claims, with the claims they make."""
    matcher = ClaimMatcher.for_topic(topic, hooks.rules, hooks.on_topic)
    return matcher.match(draft_sentences(text, hooks.split))


def read_draft(source: str, stdin: IO[bytes] | None = None) -> str:
    """The draft's text from a file or (`-`) stdin; binary or non-UTF-8 input is an InputError."""
    from evidence_cli.errors import InputError
    from evidence_cli.inputs import input_label, open_input

    label = input_label(source)
    with open_input(source, stdin) as fh:
        try:
            data = fh.read()
        except OSError as exc:
            raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if b"\x00" in data[:65536]:
        raise InputError(f"{label}: binary data, not text: give a plain-text, Markdown or HTML draft")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: not UTF-8 text (byte {exc.start}): save the draft as UTF-8") from None


EvidenceLoader = Callable[["Store", "Topic", Sequence[str]], Mapping[str, ClaimEvidence]]


def check_text(
    workspace: Workspace,
    topic: Topic,
    text: str,
    *,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    hooks: TaggerHooks | None = None,
    load_evidence: EvidenceLoader | None = None,
    now: datetime | None = None,
) -> CheckResult:
    """Check a draft against the topic's cache. Reads the cache; never creates or writes it."""
    matched = match_draft(text, topic, hooks or tagger_hooks(topic))
    wanted = list(dict.fromkeys(m.claim_id for _, matches in matched for m in matches))
    labels = {c.id: c.label for c in topic.claims}
    refresh = f"evidence refresh {topic.id}"
    if not workspace.db_path.exists():
        cache = CacheState(0, None, None, max_age_days, refresh)
        return CheckResult(topic.id, topic.title, check_sentences(matched, {}, labels), cache)
    from evidence_cli.store.db import open_store

    store = open_store(workspace.db_path, create=False)
    try:
        cache = cache_state(store, topic.id, max_age_days, refresh, now=now)
        loader = load_evidence or load_claim_evidence
        evidence = loader(store, topic, wanted) if wanted else {}
    finally:
        store.close()
    return CheckResult(topic.id, topic.title, check_sentences(matched, evidence, labels), cache)


def check_draft_file(workspace: Workspace, topic_id: str | None, source: str, *,
                     max_age_days: float = DEFAULT_MAX_AGE_DAYS) -> CheckResult:
    """`evidence check`: read the draft (file or `-`), resolve the topic, check it."""
    if max_age_days < 0:
        from evidence_cli.errors import UsageError

        raise UsageError(f"--max-age must be 0 or more days, not {max_age_days:g}")
    topic = workspace.resolve_topic(topic_id)
    return check_text(workspace, topic, read_draft(source), max_age_days=max_age_days)


def cache_state(store: Store, topic: str, max_age_days: float, refresh_command: str,
                *, now: datetime | None = None) -> CacheState:
    from evidence_cli.store.articles import topic_record_count
    from evidence_cli.store.runs import last_run

    records = topic_record_count(store, topic)
    run = last_run(store, topic, outcome="complete", kinds=("full", "incremental"))
    finished = run.finished_at if run else None
    age = None
    if finished:
        when = datetime.strptime(finished, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        age = ((now or datetime.now(UTC)) - when).total_seconds() / 86400
    return CacheState(records, finished, age, max_age_days, refresh_command)


def load_claim_evidence(store: Store, topic: Topic, claim_ids: Sequence[str]) -> dict[str, ClaimEvidence]:
    """Verdicts and counts from the reports' summaries; citations from their study lists."""
    from evidence_cli.evidence.summary import claim_summaries
    from evidence_cli.store.reports import study_rows

    summaries = claim_summaries(store, topic, list(claim_ids), with_pmids=False)
    support: dict[str, list[Citation]] = {}
    against: dict[str, Citation] = {}

    def cited(row) -> Citation:
        return Citation(row.pmid, row.first_author, row.year, row.journal, row.design, row.sample_size,
                        row.title, row.evidence)

    # Strongest design first, then newest, then largest: the reports' own order, capped in SQL so a
    # 50,000-study cache costs no more than a small one.
    for row in study_rows(store, topic.id, claim_ids=list(claim_ids), include_retracted=False,
                          stance="supports", per_claim=CITATIONS_PER_CLAIM):
        support.setdefault(row.claim_id, []).append(cited(row))
    for row in study_rows(store, topic.id, claim_ids=list(claim_ids), include_retracted=False,
                          stance="contradicts", per_claim=1):
        against.setdefault(row.claim_id, cited(row))
    return {
        claim_id: ClaimEvidence(
            claim_id, s.label, str(s.verdict), s.studies, s.supports, s.contradicts, s.neutral, s.participants,
            {d: n for d, n in s.by_design.items() if n}, is_unsupported_or_contested(s.verdict),
            tuple(support.get(claim_id, ())), against.get(claim_id),
        )
        for claim_id, s in summaries.items()
    }
