"""Start-up cost: `evidence --help` and `evidence report --format json` on a small cache,
next to `python -c pass` measured in the same run (issue 7, point 1).

    python bench/startup.py [--runs 15]

Prints the median wall time of each command and its excess over `python -c pass`.
Target: `--help` within 0.25 s of `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def median_seconds(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time; a command that fails is reported, not timed as if it worked."""
    probe = subprocess.run(cmd, capture_output=True, env=env, check=False)
    if probe.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {probe.returncode}): {probe.stderr.decode()[-300:]}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def small_workspace(root: Path) -> None:
    """A workspace with the shipped topic and a few tagged records (no network)."""
    sys.path.insert(0, str(REPO))
    from evidence_cli.pubmed.model import AbstractSection, Article
    from evidence_cli.store.articles import save_batch
    from evidence_cli.store.db import open_store
    from evidence_cli.tagging.model import ClaimTag, Tagging

    (root / "queries").mkdir(parents=True)
    shutil.copy(REPO / "queries" / "ketamine-depression.toml", root / "queries")
    store = open_store(root / "cache" / "evidence.sqlite")
    items = []
    for i in range(200):
        article = Article(pmid=str(1000 + i), title=f"Study {i}", abstract=(AbstractSection("Ketamine helped."),), year=2000 + i % 25)
        tagging = Tagging(design="rct" if i % 3 else "observational", sample_size=20 + i, humans=True,
                          claims=(ClaimTag("rapid_onset", "supports" if i % 4 else "contradicts", "Ketamine helped."),))
        items.append((article, tagging))
    save_batch(store, items, topic="ketamine-depression", tagger_version="bench")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    evidence = shutil.which("evidence") or ""
    base = [sys.executable, "-m", "evidence_cli"] if not evidence else [evidence]
    with tempfile.TemporaryDirectory() as tmp:
        small_workspace(Path(tmp))
        env = {**os.environ, "EVIDENCE_WORKSPACE": tmp, "NO_COLOR": "1"}
        floor = median_seconds([sys.executable, "-c", "pass"], args.runs, env)
        rows = [("python -c pass", floor)]
        rows.append(("evidence --help", median_seconds([*base, "--help"], args.runs, env)))
        rows.append(("evidence report --format json (200 records)", median_seconds([*base, "report", "--format", "json"], args.runs, env)))
    print(f"start-up, median of {args.runs} runs ({' '.join(base)})")
    for name, seconds in rows:
        print(f"  {name:<48} {seconds * 1000:7.0f} ms   +{(seconds - floor) * 1000:5.0f} ms over python -c pass")
    excess = rows[1][1] - floor
    print(f"  target: --help within 250 ms of python -c pass: {'met' if excess <= 0.25 else 'NOT met'} ({excess * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
