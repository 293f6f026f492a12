"""How fast `evidence report` and `evidence search` are over a 50,000-record cache.

Builds a throwaway workspace (the shipped ketamine topic, 50,000 synthetic records with
synthetic tags: 1-3 claims each, every design, ~1% retracted), then times, best of --repeat:

- a plain SQLite read of the same rows the report aggregates (the floor),
- `report --format json` and `--format table` in-process (service + render, output discarded),
- the same as subprocesses (`python -m evidence_cli ...`: interpreter start-up included),
- `search` for a common and a rare word, in-process and as a subprocess.

Prints figures; asserts nothing (speed is measured here, not in the tests).

    python bench/report_speed.py [--records 50000] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evidence_cli.pubmed.model import AbstractSection, Article
from evidence_cli.store.articles import article_row, save_rows
from evidence_cli.store.db import open_store
from evidence_cli.tagging.model import ClaimTag, Tagging

TOPIC = "ketamine-depression"
CLAIMS = ("rapid_onset", "suicidality", "bipolar", "durability", "trd", "neuroplasticity", "cognition", "nmda")
DESIGNS = (("rct", 18), ("observational", 22), ("meta-analysis", 6), ("systematic-review", 5),
           ("non-randomized-trial", 6), ("case-report", 8), ("narrative-review", 12), ("preclinical", 18),
           ("protocol", 2), ("other", 3))
WORDS = (
    "ketamine", "esketamine", "depression", "suicidal", "ideation", "infusion", "placebo", "midazolam",
    "response", "remission", "week", "hours", "randomized", "patients", "trial", "dose", "intranasal", "bipolar",
    "treatment", "resistant", "cognitive", "glutamate", "synaptic", "plasticity", "bdnf", "mtor", "receptor",
    "nmda", "antagonist", "rating", "scale", "montgomery", "hamilton", "relapse", "maintenance", "sustained",
    "effect", "adverse", "dissociation", "blood", "pressure", "cohort", "registry", "rats", "mice", "prefrontal",
    "cortex", "connectivity", "imaging", "inflammation", "sleep", "anxiety", "adolescents", "elderly",
    "outpatients",
)


def synthetic(n: int, seed: int = 7):
    rng = random.Random(seed)
    designs = [d for d, w in DESIGNS for _ in range(w)]
    for i in range(n):
        pmid = str(30_000_000 + i)
        design = rng.choice(designs)
        year = rng.randint(1995, 2025)
        words = [rng.choice(WORDS) for _ in range(170)]
        sentences = [" ".join(words[k:k + 17]).capitalize() + "." for k in range(0, 170, 17)]
        article = Article(
            pmid=pmid, title=" ".join(rng.choice(WORDS) for _ in range(12)).capitalize(),
            abstract=(AbstractSection(" ".join(sentences[:5]), "METHODS", "METHODS"),
                      AbstractSection(" ".join(sentences[5:]), "RESULTS", "RESULTS")),
            journal=rng.choice(("J Affect Disord", "Am J Psychiatry", "Neuropsychopharmacology", "Lancet Psychiatry")),
            year=year, pub_date=f"{year}-{rng.randint(1, 12):02d}", authors=(f"Author{i % 997} AB", "Other CD"),
            doi=f"10.1000/bench.{i}", publication_types=("Journal Article",), date_revised="2025-01-01",
        )
        human = design != "preclinical"
        n_claims = rng.choice((1, 1, 1, 2, 2, 3))
        claims = [(c, rng.choice(("supports", "supports", "supports", "contradicts", "neutral")), rng.choice(sentences[5:]))
                  for c in rng.sample(CLAIMS, n_claims)]
        yield (article, design, rng.randint(8, 900) if rng.random() < 0.8 else None, human,
               int(rng.random() < 0.01), claims)


def build(root: Path, n: int) -> Path:
    """The cache written the way refresh and import write it (`save_rows`: rows, links, tags,
    claim tags and the search index), 5,000 records a transaction."""
    (root / "queries").mkdir(parents=True)
    shutil.copy(REPO / "queries" / f"{TOPIC}.toml", root / "queries")
    store = open_store(root / "cache" / "evidence.sqlite")
    batch: list = []

    def flush() -> None:
        save_rows(store, [(article_row(a), Tagging(
            design=d, sample_size=size, humans=h, animals=not h, retracted=bool(r),
            claims=tuple(ClaimTag(c, stance, evidence, "RESULTS") for c, stance, evidence in claims),
        )) for a, d, size, h, r, claims in batch], topic=TOPIC, tagger_version="bench")
        batch.clear()

    for item in synthetic(n):
        batch.append(item)
        if len(batch) == 5000:
            flush()
    flush()
    store.close()
    return root


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it (reused when it exists)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="evidence-bench-"))
    root = args.keep or tmp / "ws"
    start = time.perf_counter()
    db = root / "cache" / "evidence.sqlite"
    if not db.exists():
        build(root, args.records)
    conn = sqlite3.connect(db)
    claim_rows = conn.execute("SELECT count(*) FROM claim_tags").fetchone()[0]
    args.records = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    print(f"cache of {args.records:,} records, {claim_rows:,} claim tags in {time.perf_counter() - start:.1f} s "
          f"({db.stat().st_size / 1e6:.0f} MB)")

    from rich.console import Console

    from evidence_cli.evidence.views import search_cache, topic_report
    from evidence_cli.render import formats
    from evidence_cli.render.table import print_report
    from evidence_cli.store.reports import ReportFilters
    from evidence_cli.workspace import Workspace

    ws = Workspace(root.resolve())

    def plain_read() -> None:
        conn.execute(
            "SELECT c.claim_id, c.pmid, c.stance, t.design, t.sample_size, t.humans, t.retracted, a.year "
            "FROM claim_tags c JOIN tags t ON t.topic = c.topic AND t.pmid = c.pmid "
            "JOIN articles a ON a.pmid = c.pmid WHERE c.topic = ?", (TOPIC,)).fetchall()

    def json_report(limit: int | None = None):
        def run() -> None:
            report = topic_report(ws, None, study_limit=formats.study_limit(limit))
            formats.report_text(report, "json")
        return run

    def table_report() -> None:
        report = topic_report(ws, None, study_limit=formats.study_limit(None))
        print_report(Console(file=io.StringIO(), width=200, no_color=True), report)

    def filtered() -> None:
        filters = ReportFilters(since=2015, designs=("rct", "meta-analysis"), humans_only=True, min_n=50)
        formats.report_text(topic_report(ws, None, filters=filters, study_limit=20), "json")

    rows = []
    rows.append(("plain SQLite read of the report's rows", best(plain_read, args.repeat)))
    rows.append(("report --format json, in-process", best(json_report(), args.repeat)))
    rows.append(("report --format json --limit 0 (every study listed), in-process", best(json_report(0), args.repeat)))
    rows.append(("report --format table, in-process", best(table_report, args.repeat)))
    rows.append(("report json with all four filters, in-process", best(filtered, args.repeat)))
    for word in ("ketamine", "montgomery relapse", "nothingmatchesthis"):
        rows.append((f"search {word!r} (20 hits), in-process",
                     best(lambda w=word: search_cache(ws, w, limit=20), args.repeat)))
    rows.append(("search 'ketamine' --claim trd --design rct, in-process",
                 best(lambda: search_cache(ws, "ketamine", claim_id="trd", design="rct"), args.repeat)))

    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def sub(*cmd: str):
        def run() -> None:
            subprocess.run([sys.executable, "-m", "evidence_cli", "--workspace", str(root), *cmd],
                           check=True, stdout=subprocess.DEVNULL, env=env)
        return run

    rows.append(("python -c pass (interpreter start-up floor)",
                 best(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeat)))
    rows.append(("evidence report --format json, subprocess", best(sub("report", "--format", "json"), args.repeat)))
    rows.append(("evidence report (table), subprocess", best(sub("report"), args.repeat)))
    rows.append(("evidence search ketamine, subprocess", best(sub("search", "ketamine"), args.repeat)))

    width = max(len(r[0]) for r in rows)
    print(f"best of {args.repeat}, {args.records:,} records:")
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms")
    conn.close()
    if not args.keep:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
