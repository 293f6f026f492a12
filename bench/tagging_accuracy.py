"""Accuracy of the claim tagger on the hand-labelled ketamine corpus.

    python bench/tagging_accuracy.py [CORPUS.jsonl] [--half all|a|b] [--errors]

CORPUS defaults to <repo>/../shared/corpus/ketamine-dev.jsonl; tests/data/tagging_challenge.jsonl
is the invented challenge set (wording unlike the dev corpus, to check that rules generalise). `--half a` / `--half b` score
the even / odd lines only (one half to tune on, the other to check that tuning generalises).
Prints per-claim precision, recall and F1, macro-F1, stance accuracy on correctly found
claims, design accuracy, sample-size exact-match rate, and how many tags carry a sentence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evidence_cli.tagging import compile_rules, tag_record
from evidence_cli.workspace import load_topic_file

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "ketamine-dev.jsonl"


def load(path: Path, half: str) -> list[dict]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if half == "a":
        return records[0::2]
    if half == "b":
        return records[1::2]
    return records


def score(records: list[dict], outputs: list[dict], claim_ids: tuple[str, ...]) -> dict:
    per_claim = {c: {"tp": 0, "fp": 0, "fn": 0} for c in claim_ids}
    stance_right = stance_total = 0
    with_sentence = tags = 0
    for record, out in zip(records, outputs, strict=True):
        gold, found = record["labels"], out["claims"]
        for claim in claim_ids:
            if claim in gold and claim in found:
                per_claim[claim]["tp"] += 1
                stance_total += 1
                stance_right += gold[claim]["stance"] == found[claim]["stance"]
            elif claim in found:
                per_claim[claim]["fp"] += 1
            elif claim in gold:
                per_claim[claim]["fn"] += 1
        for tag in found.values():
            tags += 1
            with_sentence += bool(tag.get("evidence"))
    f1s = {}
    for claim, c in per_claim.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        c.update(precision=p, recall=r, f1=2 * p * r / (p + r) if p + r else 0.0)
        f1s[claim] = c["f1"]
    n = len(records)
    return {
        "per_claim": per_claim,
        "macro_f1": sum(f1s.values()) / len(f1s),
        "stance_accuracy": stance_right / stance_total if stance_total else 0.0,
        "stance_n": stance_total,
        "design_accuracy": sum(r["design"] == o["design"] for r, o in zip(records, outputs)) / n,
        "sample_size_exact": sum(r["sample_size"] == o["sample_size"] for r, o in zip(records, outputs)) / n,
        "tags": tags,
        "tags_with_sentence": with_sentence,
        "records": n,
    }


def print_errors(records: list[dict], outputs: list[dict], claim_ids: tuple[str, ...]) -> None:
    for record, out in zip(records, outputs):
        problems = []
        for claim in claim_ids:
            gold = record["labels"].get(claim, {}).get("stance")
            got = out["claims"].get(claim, {}).get("stance")
            if gold != got:
                evidence = out["claims"].get(claim, {}).get("evidence", "")
                problems.append(f"  {claim}: gold={gold} got={got}  | {evidence[:150]}")
        if record["design"] != out["design"]:
            problems.append(f"  design: gold={record['design']} got={out['design']}")
        if record["sample_size"] != out["sample_size"]:
            problems.append(f"  sample_size: gold={record['sample_size']} got={out['sample_size']}"
                            f"  | {(out.get('sample_size_evidence') or '')[:120]}")
        if problems:
            print(f"{record['id'][:60]}  [{record['title'][:70]}]")
            print("\n".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--half", choices=("all", "a", "b"), default="all")
    parser.add_argument("--topic", type=Path, default=REPO / "queries" / "ketamine-depression.toml")
    parser.add_argument("--errors", action="store_true", help="list every disagreement with the labels")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    rules = compile_rules(load_topic_file(args.topic))
    records = load(args.corpus, args.half)
    outputs = [tag_record(r, rules) for r in records]
    result = score(records, outputs, rules.claim_ids)
    if args.errors:
        print_errors(records, outputs, rules.claim_ids)
        print()
    print(f"corpus: {args.corpus} ({result['records']} records, half={args.half})")
    print(f"{'claim':<16}{'P':>7}{'R':>7}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}")
    for claim, c in result["per_claim"].items():
        print(f"{claim:<16}{c['precision']:>7.2f}{c['recall']:>7.2f}{c['f1']:>7.2f}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}")
    print(f"macro-F1            {result['macro_f1']:.3f}")
    print(f"stance accuracy     {result['stance_accuracy']:.3f}  (on {result['stance_n']} correctly found claims)")
    print(f"design accuracy     {result['design_accuracy']:.3f}")
    print(f"sample size exact   {result['sample_size_exact']:.3f}")
    print(f"tags with sentence  {result['tags_with_sentence']}/{result['tags']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
