"""Floors on the challenge set: 83 short abstracts invented for this test (tests/data/tagging_challenge.jsonl).

They were written, and labelled by the conventions of ../shared/corpus/README.md, without
looking at how the tagger reads them: RCTs, crossovers, open-label and single-arm trials, chart
reviews, cohorts, case reports and series, systematic reviews, meta-analyses, narrative reviews,
animal and slice work, protocols, pharmacovigilance, an economic model, and off-topic ketamine
(anaesthesia, analgesia, sedation, status epilepticus, misuse) that must get no claim. Their
wording is deliberately not the dev corpus's, so these floors say whether the rules generalise;
fix a miss by the phenomenon behind it, never by matching a sentence of this file. Records
c01-c48 were measured before any rule was changed for them; h01-h20 were written later, after the
first round of fixes, and measured untouched (an estimate of unseen accuracy) before the second;
g01-g15, longer and messier, likewise after the second round, before the third.
`python bench/tagging_accuracy.py tests/data/tagging_challenge.jsonl --errors` lists the misses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_tagging_corpus import measure

REPO = Path(__file__).resolve().parents[1]
CHALLENGE = REPO / "tests" / "data" / "tagging_challenge.jsonl"
DESIGNS = {"meta-analysis", "systematic-review", "rct", "non-randomized-trial", "observational", "case-report",
           "narrative-review", "preclinical", "protocol", "other"}


@pytest.fixture(scope="module")
def measured():
    return measure(CHALLENGE)


def test_challenge_records_are_well_formed():
    records = [json.loads(line) for line in CHALLENGE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(records) >= 40
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        assert r["design"] in DESIGNS, r["id"]
        assert r["sample_size"] is None or r["sample_size"] >= 1, r["id"]
        for claim, label in r["labels"].items():
            assert label["stance"] in ("supports", "contradicts", "neutral"), (r["id"], claim)
    assert sum(1 for r in records if not r["labels"]) >= 5  # off-topic negatives


def test_challenge_claim_detection_floor(measured):
    _, _, result = measured
    assert result["macro_f1"] >= MACRO_F1
    for claim, counts in result["per_claim"].items():
        assert counts["f1"] >= CLAIM_F1, claim


def test_challenge_stance_design_sample_size_floors(measured):
    _, _, result = measured
    assert result["stance_accuracy"] >= STANCE
    assert result["design_accuracy"] >= DESIGN
    assert result["sample_size_exact"] >= SAMPLE_SIZE


def test_challenge_negatives_get_no_claims(measured):
    records, outputs, _ = measured
    for record, out in zip(records, outputs):
        if not record["labels"]:
            assert out["claims"] == {}, record["id"]


def test_challenge_every_tag_quotes_its_record(measured):
    records, outputs, result = measured
    assert result["tags_with_sentence"] == result["tags"]
    for record, out in zip(records, outputs):
        for tag in out["claims"].values():
            assert tag["evidence"] in record["title"] + "\n" + record["abstract"]


# Measured when these floors were set (tagger 1.3, 83 records): macro-F1 0.982 (lowest claim,
# durability, 0.91), stance 0.970, design 1.00, sample size 1.00. The floors sit under that, at the targets or a
# little above, so a change that loses ground on unseen wording fails here.
MACRO_F1, CLAIM_F1, STANCE, DESIGN, SAMPLE_SIZE = 0.95, 0.85, 0.93, 0.95, 0.95
