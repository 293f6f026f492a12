"""Per-claim summaries and the verdict rule.

`summarize_claim` and `verdict_for` are pure: grouped counts in, frozen dataclasses out.
`build_report` and `claim_summaries` are the thin services that read those counts from the
store (`store.reports`) and hand them to the pure functions.

The verdict is a GRADE-style *starting level* from the designs that support and contradict a
claim, not a GRADE rating (no risk-of-bias, imprecision or indirectness judgement). Every
verdict string starts with one of the stable keywords in VERDICT_KEYWORDS, then ": ", then the
reason in words. The rule, first match wins (paste-ready for the README):

| verdict | when |
| --- | --- |
| `No evidence` | no counted study reports a direction (none tagged, or only neutral mentions, narrative reviews, protocols, other) |
| `Unsupported` | the weighted balance leans against: supporting weight < 1/3 of supporting + contradicting weight |
| `Contested` | the weighted balance is split: supporting weight from 1/3 up to (not including) 2/3 |
| `Strong` | supported (weight >= 2/3) by at least 3 meta-analyses, systematic reviews or RCTs |
| `Moderate` | supported by 1-2 meta-analyses, systematic reviews or RCTs, or by at least 3 non-randomized trials or observational studies |
| `Limited` | supported by 1-2 non-randomized trials or observational studies (plus any case reports) |
| `Preliminary` | supported only by case reports and/or preclinical studies |

Weights of a human study in the balance: meta-analysis or systematic review 4, RCT 3,
non-randomized trial or observational study 2, case report 1. Narrative reviews, protocols and
"other" never count. Preclinical work (design `preclinical`, or any study the tagger marked
as non-human) weighs 1, and only when no human study reports a direction: human evidence,
where it exists, decides alone. Retracted studies are never counted. Neutral studies count in
`studies` and `neutral` but never tip a verdict.

`check --strict` fails on `Unsupported`, `Contested` and `No evidence`:
see `is_unsupported_or_contested`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evidence_cli.tagging.model import DESIGNS

if TYPE_CHECKING:
    from evidence_cli.store.db import Store
    from evidence_cli.store.reports import Cell, ReportFilters, StudyRow
    from evidence_cli.workspace import Topic

VERDICT_KEYWORDS = ("Strong", "Moderate", "Limited", "Preliminary", "Contested", "Unsupported", "No evidence")
FAILING_KEYWORDS = ("Contested", "Unsupported", "No evidence")

# The report's design columns: (key, heading, designs), strongest first.
DESIGN_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("synthesis", "Meta-analyses & SRs", ("meta-analysis", "systematic-review")),
    ("rct", "RCTs", ("rct",)),
    ("trial", "Other trials", ("non-randomized-trial",)),
    ("observational", "Observational", ("observational",)),
    ("case", "Case reports", ("case-report",)),
    ("preclinical", "Preclinical", ("preclinical",)),
    ("other", "Reviews & other", ("narrative-review", "protocol", "other")),
)
GROUP_OF = {design: key for key, _, designs in DESIGN_GROUPS for design in designs}

# Evidence classes in the verdict, strongest first: (class, weight, singular, plural).
_CLASSES = (
    ("meta-analysis", 4, "meta-analysis", "meta-analyses"),
    ("systematic-review", 4, "systematic review", "systematic reviews"),
    ("rct", 3, "RCT", "RCTs"),
    ("non-randomized-trial", 2, "non-randomized trial", "non-randomized trials"),
    ("observational", 2, "observational study", "observational studies"),
    ("case-report", 1, "case report", "case reports"),
    ("preclinical", 1, "preclinical study", "preclinical studies"),
)
_WEIGHT = {c: w for c, w, _, _ in _CLASSES}
_HIGH = ("meta-analysis", "systematic-review", "rct")
_MIDDLE = ("non-randomized-trial", "observational")
_HUMAN = tuple(c for c, *_ in _CLASSES if c != "preclinical")


@dataclass(frozen=True)
class Verdict:
    keyword: str  # one of VERDICT_KEYWORDS
    reason: str

    def __str__(self) -> str:
        return f"{self.keyword}: {self.reason}"


def verdict_keyword(verdict: str | Verdict) -> str | None:
    """The stable keyword a verdict string starts with (None if it is not one of ours)."""
    text = str(verdict)
    return next((k for k in VERDICT_KEYWORDS if text == k or text.startswith(k + ":")), None)


def is_unsupported_or_contested(verdict: str | Verdict) -> bool:
    """True for the verdicts `check --strict` fails on: Unsupported, Contested, No evidence."""
    return verdict_keyword(verdict) in FAILING_KEYWORDS


def evidence_class(design: str, human: bool) -> str | None:
    """The class a study weighs in as in the verdict; None for designs that never count."""
    if design in ("narrative-review", "protocol", "other"):
        return None
    return design if human and design != "preclinical" else "preclinical"


def verdict_for(supports: Mapping[str, int], contradicts: Mapping[str, int], studies: int = 0) -> Verdict:
    """The verdict from counts per evidence class (see `evidence_class`) of each stance.

    `studies` (all counted studies, neutral included) only words the "No evidence" reason.
    """
    s = {c: supports.get(c, 0) for c, *_ in _CLASSES}
    x = {c: contradicts.get(c, 0) for c, *_ in _CLASSES}
    if not any(s.values()) and not any(x.values()):
        if studies:
            noun = "study mentions" if studies == 1 else "studies mention"
            return Verdict("No evidence", f"{studies} {noun} the claim, none reports a direction")
        return Verdict("No evidence", "no cached study addresses the claim")
    human = any(s[c] or x[c] for c in _HUMAN)
    used = _HUMAN if human else ("preclinical",)
    w_s = sum(_WEIGHT[c] * s[c] for c in used)
    w_x = sum(_WEIGHT[c] * x[c] for c in used)
    share = w_s / (w_s + w_x)
    counts = _balance_words(s, x, used)
    if share < 1 / 3:
        return Verdict("Unsupported", counts)
    if share < 2 / 3:
        return Verdict("Contested", counts)
    high = sum(s[c] for c in _HIGH)
    middle = sum(s[c] for c in _MIDDLE)
    if high >= 3:
        return Verdict("Strong", counts)
    if high >= 1 or middle >= 3:
        return Verdict("Moderate", counts)
    if middle >= 1:
        return Verdict("Limited", counts)
    words = _balance_words(s, x, ("case-report", "preclinical"))
    return Verdict("Preliminary", f"case reports and preclinical only ({words})")


def _balance_words(s: Mapping[str, int], x: Mapping[str, int], used: Sequence[str]) -> str:
    """'2 meta-analyses and 5 RCTs support, 1 RCT contradicts'."""
    parts = []
    for counts, verb in ((s, "supports"), (x, "contradicts")):
        items = [(counts[c], singular, plural) for c, _, singular, plural in _CLASSES if c in used and counts[c]]
        if not items:
            continue
        words = [f"{n} {singular if n == 1 else plural}" for n, singular, plural in items]
        phrase = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        plural_subject = len(items) > 1 or items[0][0] > 1
        parts.append(f"{phrase} {verb[:-1] if plural_subject else verb}")
    return ", ".join(parts)


@dataclass(frozen=True)
class ClaimSummary:
    """One claim's row of the report. Retracted studies are in `retracted`, never in counts."""

    id: str
    label: str
    studies: int
    supports: int
    contradicts: int
    neutral: int
    by_design: Mapping[str, int]  # every design in DESIGNS, zeros included
    by_group: Mapping[str, int]  # DESIGN_GROUPS keys
    participants: int  # summed N of primary human studies (reviews would double-count)
    human_studies: int
    newest_year: int | None
    per_year: tuple[tuple[int, int], ...]  # (year, studies), ascending; undated studies left out
    verdict: Verdict
    pmids: tuple[str, ...] = ()  # counted studies, strongest design first
    retracted: tuple[str, ...] = ()

    def stance_count(self, stance: str) -> int:
        return {"supports": self.supports, "contradicts": self.contradicts, "neutral": self.neutral}[stance]


def summarize_claim(claim_id: str, label: str, cells: Iterable[Cell], *, with_pmids: bool = True) -> ClaimSummary:
    """Fold one claim's grouped studies (`store.reports.Cell`) into its summary and verdict.

    Retracted cells give the `retracted` list and nothing else.
    """
    stance: Counter[str] = Counter()
    by_design: Counter[str] = Counter()
    per_year: Counter[int] = Counter()
    directional: dict[str, Counter[str]] = {"supports": Counter(), "contradicts": Counter()}
    participants = human_studies = 0
    newest: int | None = None
    mine = sorted((c for c in cells if c.claim_id == claim_id), key=lambda c: c.rank)
    for cell in mine:
        if cell.retracted:
            continue
        stance[cell.stance] += cell.studies
        by_design[cell.design] += cell.studies
        participants += cell.participants
        human_studies += cell.studies if cell.human else 0
        if cell.year is not None:
            per_year[cell.year] += cell.studies
            newest = cell.year if newest is None else max(newest, cell.year)
        klass = evidence_class(cell.design, cell.human)
        if klass is not None and cell.stance in directional:
            directional[cell.stance][klass] += cell.studies
    total = sum(stance.values())
    return ClaimSummary(
        id=claim_id, label=label, studies=total,
        supports=stance["supports"], contradicts=stance["contradicts"], neutral=stance["neutral"],
        by_design={d: by_design[d] for d in DESIGNS},
        by_group={key: sum(by_design[d] for d in designs) for key, _, designs in DESIGN_GROUPS},
        participants=participants, human_studies=human_studies, newest_year=newest,
        per_year=tuple(sorted(per_year.items())),
        verdict=verdict_for(directional["supports"], directional["contradicts"], total),
        pmids=tuple(p for c in mine if not c.retracted for p in c.pmids) if with_pmids else (),
        retracted=tuple(sorted({p for c in mine if c.retracted for p in c.pmids})),
    )


def first_studies(cells: Iterable[Cell], limit: int) -> list[tuple[str, str]]:
    """(claim_id, pmid) of enough studies per claim to hold its first `limit` in study-list order.

    Cells come in design-then-year order; the cell where the limit falls is taken whole, since
    its studies are ordered by sample size only once their rows are read.
    """
    by_claim: dict[str, list[Cell]] = {}
    for cell in cells:
        by_claim.setdefault(cell.claim_id, []).append(cell)
    pairs = []
    for claim_id, mine in by_claim.items():
        taken = 0
        for cell in sorted(mine, key=lambda c: c.rank):
            if taken >= limit:
                break
            pairs += [(claim_id, p) for p in cell.pmids]
            taken += len(cell.pmids)
    return pairs


@dataclass(frozen=True)
class Report:
    topic: str
    title: str
    records: int  # every cached record of the topic, tagged or not, filters or not
    filters: ReportFilters
    claims: tuple[ClaimSummary, ...]
    studies: Mapping[str, tuple[StudyRow, ...]] = field(default_factory=dict)  # per claim, maybe capped
    study_limit: int | None = None  # the cap on each study list (None: complete)


def claim_summaries(store: Store, topic: Topic, claim_ids: Sequence[str] | None = None,
                    filters: ReportFilters | None = None, *, with_pmids: bool = True) -> dict[str, ClaimSummary]:
    """Summaries of a topic's claims (all, or `claim_ids`), in topic order; for reports and `check`."""
    return _summaries(store, topic, claim_ids, filters, with_pmids=with_pmids)[0]


def _summaries(store: Store, topic: Topic, claim_ids: Sequence[str] | None, filters: ReportFilters | None,
               *, with_pmids: bool = True) -> tuple[dict[str, ClaimSummary], list[Cell]]:
    from evidence_cli.store import reports as sql

    specs = [topic.claim(c) for c in claim_ids] if claim_ids is not None else list(topic.claims)
    cells = sql.claim_cells(store, topic.id, filters or sql.NO_FILTERS, [c.id for c in specs])
    by_claim: dict[str, list[Cell]] = {}
    for cell in cells:
        by_claim.setdefault(cell.claim_id, []).append(cell)
    summaries = {c.id: summarize_claim(c.id, c.label, by_claim.get(c.id, ()), with_pmids=with_pmids) for c in specs}
    return summaries, cells


def build_report(store: Store, topic: Topic, *, claim_id: str | None = None,
                 filters: ReportFilters | None = None, study_limit: int | None = None,
                 with_studies: bool = True, with_pmids: bool = True) -> Report:
    """The whole report of a topic: per-claim summaries and study lists (each capped at `study_limit`).

    One grouped pass over the cache gives every count, PMID list and which studies lead each
    list; only the listed studies' details are then read.
    """
    from evidence_cli.store import reports as sql

    filters = filters or sql.NO_FILTERS
    claim_ids = [topic.claim(claim_id).id] if claim_id else None
    summaries, cells = _summaries(store, topic, claim_ids, filters, with_pmids=with_pmids)
    studies: dict[str, list[StudyRow]] = {}
    if with_studies:
        if study_limit is None:
            rows = sql.study_rows(store, topic.id, filters, list(summaries))
        else:
            rows = sql.study_rows(store, topic.id, only=first_studies(cells, study_limit))
        for row in rows:
            listed = studies.setdefault(row.claim_id, [])
            if study_limit is None or len(listed) < study_limit:
                listed.append(row)
    return Report(topic.id, topic.title, sql.topic_records(store, topic.id), filters,
                  tuple(summaries.values()), {k: tuple(v) for k, v in studies.items()}, study_limit)
