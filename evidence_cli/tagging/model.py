"""What the tagger says about one abstract. Pure data, stored by `store`, read by reports."""

from __future__ import annotations

from dataclasses import dataclass

STANCES = ("supports", "contradicts", "neutral")
DESIGNS = (
    "meta-analysis", "systematic-review", "rct", "non-randomized-trial", "observational",
    "case-report", "narrative-review", "preclinical", "protocol", "other",
)


@dataclass(frozen=True, slots=True)
class ClaimTag:
    claim_id: str
    stance: str  # one of STANCES
    evidence: str  # the sentence of the title or abstract that carries the claim
    section: str | None = None  # the abstract section the sentence came from ("RESULTS", "TITLE")


@dataclass(frozen=True, slots=True)
class Tagging:
    design: str  # one of DESIGNS
    sample_size: int | None = None
    sample_size_evidence: str | None = None  # the sentence the number came from
    humans: bool | None = None  # None: cannot tell
    animals: bool = False
    retracted: bool = False
    expression_of_concern: bool = False
    erratum: bool = False
    claims: tuple[ClaimTag, ...] = ()

    def claim(self, claim_id: str) -> ClaimTag | None:
        return next((c for c in self.claims if c.claim_id == claim_id), None)
