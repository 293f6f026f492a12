"""Regression floor on the hand-labelled dev corpus (../shared/corpus/ketamine-dev.jsonl).

The floors sit a little under what the tagger measured (tagger 1.0 and 1.3 alike, whole set:
macro-F1 0.971, stance 0.966, design 1.00, sample size 1.00), so a change that loses accuracy
fails here; `python bench/tagging_accuracy.py --errors` shows which records moved.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from evidence_cli.tagging import compile_rules, tag_record
from evidence_cli.workspace import load_topic_file

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "ketamine-dev.jsonl"
_NO_CORPUS = pytest.mark.skipif(not CORPUS.is_file(), reason=f"dev corpus not found at {CORPUS} (../shared beside the repo)")


def bench():
    """bench/tagging_accuracy.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("tagging_accuracy", REPO / "bench" / "tagging_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(corpus: Path):
    """(records, tagger outputs, scores) of a labelled JSON Lines corpus under the shipped rules."""
    accuracy = bench()
    rules = compile_rules(load_topic_file(REPO / "queries" / "ketamine-depression.toml"))
    records = accuracy.load(corpus, "all")
    outputs = [tag_record(r, rules) for r in records]
    return records, outputs, accuracy.score(records, outputs, rules.claim_ids)


@pytest.fixture(scope="module")
def measured():
    return measure(CORPUS)


@_NO_CORPUS
def test_claim_detection_floor(measured):
    _, _, result = measured
    assert result["macro_f1"] >= 0.95
    for claim, counts in result["per_claim"].items():
        assert counts["f1"] >= 0.85, claim


@_NO_CORPUS
def test_stance_design_sample_size_floors(measured):
    _, _, result = measured
    assert result["stance_accuracy"] >= 0.90
    assert result["design_accuracy"] >= 0.95
    assert result["sample_size_exact"] >= 0.93


@_NO_CORPUS
def test_every_tag_carries_a_sentence_of_its_record(measured):
    records, outputs, result = measured
    assert result["tags"] and result["tags_with_sentence"] == result["tags"]
    for record, out in zip(records, outputs):
        text = record["title"] + "\n" + record["abstract"]
        for tag in out["claims"].values():
            assert tag["evidence"] in text


@_NO_CORPUS
def test_negative_records_get_no_claims(measured):
    records, outputs, _ = measured
    negatives = [out for record, out in zip(records, outputs) if not record["labels"]]
    assert negatives and sum(1 for out in negatives if not out["claims"]) >= len(negatives) - 1
