"""Small pieces every report format shares: links, design names, filter and source wording."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidence_cli.store.reports import ReportFilters, StudyRow

# Short names for study lists.
DESIGN_SHORT = {
    "meta-analysis": "meta-analysis", "systematic-review": "syst. review", "rct": "RCT",
    "non-randomized-trial": "non-rand. trial", "observational": "observational", "case-report": "case report",
    "narrative-review": "narr. review", "preclinical": "preclinical", "protocol": "protocol", "other": "other",
}
STANCE_MARK = {"supports": "+", "contradicts": "−", "neutral": "·"}


def pubmed_url(pmid: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


def pmc_url(pmcid: str) -> str:
    return f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}/"


def source(study: StudyRow) -> str:
    """'Doe J et al., J Test'."""
    author = study.first_author or "(no author)"
    return f"{author}, {study.journal}" if study.journal else author


def notices(study: StudyRow) -> str:
    """'expression of concern, erratum' for a listed study ('' when none): counted, but worth a look."""
    return ", ".join(name for name, on in (("expression of concern", study.expression_of_concern),
                                           ("erratum", study.erratum)) if on)


def describe_filters(filters: ReportFilters) -> str:
    """'since 2015, designs rct, humans only, N >= 50' ('' when unfiltered)."""
    parts = []
    if filters.since is not None:
        parts.append(f"since {filters.since}")
    if filters.designs:
        parts.append("designs " + ", ".join(filters.designs))
    if filters.humans_only:
        parts.append("humans only")
    if filters.min_n is not None:
        parts.append(f"N >= {filters.min_n}")
    return "; ".join(parts)


def more_line(shown: int, total: int, claim_id: str) -> str:
    return (f"… {total - shown} more: `evidence report --claim {claim_id} --limit 0` lists all {total}"
            if total > shown else "")
