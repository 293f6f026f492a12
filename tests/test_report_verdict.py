"""The verdict rule (evidence/summary.py): each row of its table, the wording, and the keywords."""

from __future__ import annotations

import pytest

from evidence_cli.evidence.summary import (
    VERDICT_KEYWORDS,
    Verdict,
    evidence_class,
    is_unsupported_or_contested,
    summarize_claim,
    verdict_for,
    verdict_keyword,
)
from evidence_cli.store.reports import Cell


@pytest.mark.parametrize(("supports", "contradicts", "studies", "expected"), [
    ({}, {}, 0, "No evidence: no cached study addresses the claim"),
    ({}, {}, 3, "No evidence: 3 studies mention the claim, none reports a direction"),
    ({"meta-analysis": 2, "rct": 5}, {"rct": 1}, 8, "Strong: 2 meta-analyses and 5 RCTs support, 1 RCT contradicts"),
    ({"systematic-review": 1, "rct": 2}, {}, 3, "Strong: 1 systematic review and 2 RCTs support"),
    ({"rct": 1, "observational": 4}, {}, 5, "Moderate: 1 RCT and 4 observational studies support"),
    ({"observational": 3}, {"case-report": 1}, 4, "Moderate: 3 observational studies support, 1 case report contradicts"),
    ({"non-randomized-trial": 1, "case-report": 2}, {}, 3, "Limited: 1 non-randomized trial and 2 case reports support"),
    ({"case-report": 2, "preclinical": 3}, {}, 5,
     "Preliminary: case reports and preclinical only (2 case reports and 3 preclinical studies support)"),
    ({"preclinical": 4}, {}, 4, "Preliminary: case reports and preclinical only (4 preclinical studies support)"),
    ({"rct": 1}, {"rct": 1}, 2, "Contested: 1 RCT supports, 1 RCT contradicts"),
    ({"rct": 2}, {"meta-analysis": 1}, 3, "Contested: 2 RCTs support, 1 meta-analysis contradicts"),
    ({"observational": 1}, {"rct": 2}, 3, "Unsupported: 1 observational study supports, 2 RCTs contradict"),
    ({"preclinical": 1}, {"preclinical": 4}, 5, "Unsupported: 1 preclinical study supports, 4 preclinical studies contradict"),
])
def test_rule_table(supports, contradicts, studies, expected):
    assert str(verdict_for(supports, contradicts, studies)) == expected


def test_human_evidence_outweighs_preclinical():
    # 20 animal studies against one RCT in favour: humans decide, preclinical is not even mentioned.
    assert str(verdict_for({"rct": 1}, {"preclinical": 20}, 21)) == "Moderate: 1 RCT supports"


def test_balance_thresholds():
    # weights: RCT 3, observational 2. 3 / (3 + 2 + 2) = 0.43 -> contested; 6 / (6 + 2) = 0.75 -> supported
    assert verdict_for({"rct": 1}, {"observational": 2}).keyword == "Contested"
    assert verdict_for({"rct": 2}, {"observational": 1}).keyword == "Moderate"
    assert verdict_for({"observational": 1}, {"rct": 1}).keyword == "Contested"  # 2/5 = 0.4
    assert verdict_for({"case-report": 1}, {"rct": 1}).keyword == "Unsupported"  # 1/4


def test_non_human_trials_count_as_preclinical_and_reviews_never_count():
    assert evidence_class("rct", human=False) == "preclinical"
    assert evidence_class("narrative-review", human=True) is None
    cells = [Cell("c", "rct", "supports", 2020, False, False, 3, 0, ("1", "2", "3")),
             Cell("c", "narrative-review", "contradicts", 2021, True, False, 5, 0, ("4", "5", "6", "7", "8"))]
    summary = summarize_claim("c", "C", cells)
    assert str(summary.verdict) == "Preliminary: case reports and preclinical only (3 preclinical studies support)"
    assert (summary.studies, summary.contradicts, summary.human_studies) == (8, 5, 5)


def test_summary_orders_pmids_strongest_first_and_sets_retracted_apart():
    cells = [
        Cell("c", "observational", "supports", 2024, True, False, 1, 100, ("9",)),
        Cell("c", "rct", "supports", 2019, True, False, 2, 80, ("5", "4")),
        Cell("c", "rct", "supports", 2021, True, False, 1, 20, ("6",)),
        Cell("c", "rct", "contradicts", 2022, True, True, 1, 999, ("7",)),
        Cell("other", "rct", "supports", 2022, True, False, 1, 10, ("8",)),
    ]
    s = summarize_claim("c", "C", cells)
    assert s.pmids == ("6", "5", "4", "9")
    assert s.retracted == ("7",)
    assert (s.studies, s.supports, s.contradicts, s.participants, s.newest_year) == (4, 4, 0, 200, 2024)
    assert s.per_year == ((2019, 2), (2021, 1), (2024, 1))
    assert s.by_group["rct"] == 3 and s.by_design["observational"] == 1 and len(s.by_design) == 10


def test_keywords_are_stable_prefixes():
    for keyword in VERDICT_KEYWORDS:
        assert verdict_keyword(f"{keyword}: because") == keyword
        assert verdict_keyword(Verdict(keyword, "x")) == keyword
    assert verdict_keyword("Strongish: no") is None
    assert [k for k in VERDICT_KEYWORDS if is_unsupported_or_contested(f"{k}: x")] == [
        "Contested", "Unsupported", "No evidence"]
    assert not is_unsupported_or_contested("Preliminary: case reports and preclinical only (1 case report supports)")
