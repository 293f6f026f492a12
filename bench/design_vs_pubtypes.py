"""Study design from the text alone, checked against PubMed's own publication types.

    python bench/design_vs_pubtypes.py [--samples DIR] [--group NAME] [--show-disagreements N]

Reads the real PubMed XML in <repo>/../shared/ncbi-samples (efetch samples, the 2021 update
excerpt and the 30,000-record 1979-80 baseline) with the project's parser. A record whose
publication types (and MeSH, for animal studies) name one design without doubt gets that design
as its reference label; ambiguous records and records without an abstract are skipped. The
tagger then sees the title and abstract only, as a JSON Lines record with no publication types
and no MeSH (what the hidden evaluation gives), and its design is scored against the reference.

Groups: `ketamine` (every sample record naming ketamine), `modern` (efetch samples and the 2021
update excerpt), `baseline` (pubmed20n0014, 1979-80 citations). PubMed's types are themselves
imperfect (a secondary analysis of a trial is typed as the trial; old "Clinical Trial" records
are often randomised), so a disagreement is not always the tagger's error: read some with
`--show-disagreements`. Prints figures only.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evidence_cli.pubmed.model import Article
from evidence_cli.pubmed.xml import iter_records
from evidence_cli.tagging import compile_rules, tag_record
from evidence_cli.tagging.model import DESIGNS
from evidence_cli.tagging.rules import TopicRules
from evidence_cli.workspace import load_topic_file

DEFAULT_SAMPLES = REPO.parent / "shared" / "ncbi-samples"
BASELINE = Path("large") / "pubmed20n0014.xml.gz"
UPDATE = Path("large") / "pubmed21n1298-excerpt.xml.gz"
KETAMINE = re.compile(r"ketamin|esketamin|spravato|ketalar", re.IGNORECASE)

_TRIAL = re.compile(r"^(?:clinical trial|controlled clinical trial|clinical trial, phase (?:i|ii|iii|iv))$")


def reference_design(types: Iterable[str], mesh: Iterable[str]) -> str | None:
    """The design PubMed's types name without doubt, or None (ambiguous, or nothing said)."""
    t = {x.strip().lower() for x in types}
    m = {x.strip().lower() for x in mesh}
    if t & {"meta-analysis", "network meta-analysis"}:
        return "meta-analysis"
    if t & {"systematic review", "scoping review"}:
        return "systematic-review"
    if "clinical trial protocol" in t:
        return "protocol"
    kinds = set()
    if t & {"randomized controlled trial", "equivalence trial", "pragmatic clinical trial"}:
        kinds.add("rct")
    elif any(_TRIAL.match(x) for x in t):
        kinds.add("non-randomized-trial")
    if "case reports" in t:
        kinds.add("case-report")
    if "observational study" in t:
        kinds.add("observational")
    if "review" in t:
        kinds.add("narrative-review")
    if len(kinds) == 1:
        return kinds.pop()
    if kinds:
        return None  # "Case Reports" and "Review", "Clinical Trial" and "Observational Study": no single answer
    if "animals" in m and "humans" not in m:
        return "preclinical"
    return None


def sample_files(root: Path, group: str) -> list[Path]:
    efetch = sorted((root / "efetch-pubmed").rglob("*.xml"))
    if group == "baseline":
        return [root / BASELINE]
    if group == "modern":
        return [*efetch, root / UPDATE]
    return [*efetch, root / UPDATE, root / BASELINE]


def articles(files: list[Path]) -> Iterator[Article]:
    seen: set[str] = set()
    for path in files:
        for record in iter_records(path):
            if isinstance(record, Article) and record.pmid not in seen:
                seen.add(record.pmid)
                yield record


def names_ketamine(article: Article) -> bool:
    return bool(KETAMINE.search(article.title) or any(KETAMINE.search(s.text) for s in article.abstract)
                or any(KETAMINE.search(d) for d in article.mesh_descriptors))


def corpus_record(article: Article) -> dict[str, str]:
    """What the hidden evaluation gives: title and abstract text, labelled paragraphs, nothing else."""
    abstract = "\n\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in article.abstract)
    return {"id": article.pmid, "title": article.title, "abstract": abstract}


def evaluate(group: str, root: Path, rules: TopicRules) -> tuple[list[tuple[Article, str, str]], Counter[str]]:
    rows: list[tuple[Article, str, str]] = []
    skipped: Counter[str] = Counter()
    for article in articles(sample_files(root, group)):
        if group == "ketamine" and not names_ketamine(article):
            continue
        if not any(s.text.strip() for s in article.abstract):
            skipped["no abstract"] += 1
            continue
        reference = reference_design(article.publication_types, article.mesh_descriptors)
        if reference is None:
            skipped["no single design in PubMed's types"] += 1
            continue
        rows.append((article, reference, tag_record(corpus_record(article), rules)["design"]))
    return rows, skipped


def report(group: str, rows: list[tuple[Article, str, str]], skipped: Counter[str]) -> None:
    print(f"== {group}: {len(rows)} records scored; skipped: "
          + ", ".join(f"{n} {why}" for why, n in skipped.items()))
    if not rows:
        return
    right = sum(ref == got for _, ref, got in rows)
    print(f"accuracy {right / len(rows):.3f} ({right}/{len(rows)})")
    print(f"{'design':<22}{'P':>7}{'R':>7}{'F1':>7}{'ref':>6}{'tagged':>8}")
    for design in DESIGNS:
        tp = sum(ref == got == design for _, ref, got in rows)
        n_ref = sum(ref == design for _, ref, _ in rows)
        n_got = sum(got == design for _, _, got in rows)
        if not n_ref and not n_got:
            continue
        p = tp / n_got if n_got else 0.0
        r = tp / n_ref if n_ref else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{design:<22}{p:>7.2f}{r:>7.2f}{f1:>7.2f}{n_ref:>6}{n_got:>8}")
    used = [d for d in DESIGNS if any(d in (ref, got) for _, ref, got in rows)]
    short = {d: d[:6] for d in used}
    print("confusion (rows: PubMed's type, columns: tagger)")
    print(" " * 22 + "".join(f"{short[d]:>7}" for d in used))
    pairs = Counter((ref, got) for _, ref, got in rows)
    for ref in used:
        if any(pairs[(ref, got)] for got in used):
            print(f"{ref:<22}" + "".join(f"{pairs[(ref, got)] or '.':>7}" for got in used))


def show_disagreements(rows: list[tuple[Article, str, str]], n: int, seed: int, full: bool) -> None:
    wrong = [row for row in rows if row[1] != row[2]]
    random.Random(seed).shuffle(wrong)
    for article, ref, got in wrong[:n]:
        print(f"\n--- PMID {article.pmid}  PubMed: {ref}  tagger: {got}  types: "
              f"{'; '.join(article.publication_types)}")
        print(article.title)
        text = corpus_record(article)["abstract"]
        print(text if full else text[:600])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--group", choices=("ketamine", "modern", "baseline", "all"), action="append",
                        help="repeatable; default ketamine, modern and baseline")
    parser.add_argument("--topic", type=Path, default=REPO / "queries" / "ketamine-depression.toml")
    parser.add_argument("--show-disagreements", type=int, default=0, metavar="N",
                        help="print N randomly chosen disagreements per group (title and abstract), to read")
    parser.add_argument("--full", action="store_true", help="whole abstracts with --show-disagreements")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not (args.samples / BASELINE).is_file():
        print(f"no NCBI samples at {args.samples} (expected {BASELINE} there): nothing to measure",
              file=sys.stderr)
        return 2
    rules = compile_rules(load_topic_file(args.topic))
    for group in args.group or ("ketamine", "modern", "baseline"):
        rows, skipped = evaluate(group, args.samples, rules)
        report(group, rows, skipped)
        if args.show_disagreements:
            show_disagreements(rows, args.show_disagreements, args.seed, args.full)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
