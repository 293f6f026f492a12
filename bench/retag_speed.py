"""`evidence retag` of 50,000 cached records, next to the ingest of the same run (issue 7, point 3).

    python bench/retag_speed.py [--records 50000] [--file BASELINE.xml.gz] [--keep DIR]

1. ingest: `evidence import` of the baseline file (parse + tag + store) into a fresh workspace
   holding the shipped topic, timed as a child process: records/s and peak memory.
2. The cache is filled up to --records with clones of the baseline's records under new PMIDs
   (90,000,000 and up: no real PMID is that high yet), stored untagged. Not timed.
3. retag: `evidence retag`, timed as a child process: records/s and peak memory. Its tagging
   worker processes (one per CPU, as `evidence import`) are measured apart ("worker MB").
4. The same retag in one process (`tag_service.retag(workers=0)`), for comparison.

The file defaults to ../shared/ncbi-samples/large/pubmed20n0014.xml.gz (the 2020 baseline
file 0014, 30,000 records). Peak memory is the child's VmHWM, read from /proc while it runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_FILE = REPO.parent / "shared" / "ncbi-samples" / "large" / "pubmed20n0014.xml.gz"
TOPIC = "ketamine-depression"
CLONE_BASE = 90_000_000


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, largest worker's peak RSS in MB) of a child process and its own
    children (tagging workers); a failing command stops the bench."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kb = worker_kb = 0
    while child.poll() is None:
        peak_kb = max(peak_kb, vm_hwm_kb(child.pid))
        worker_kb = max([worker_kb, *(vm_hwm_kb(pid) for pid in children(child.pid))])
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {child.returncode}): {child.stderr.read().decode()[-400:]}")
    return seconds, peak_kb / 1024, worker_kb / 1024


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass  # the child just ended
    return 0


def add_clones(workspace: Path, source: Path, wanted: int) -> int:
    """Store clones of the file's records (new PMIDs, untagged) until the topic holds `wanted`."""
    from evidence_cli.pubmed.model import Article
    from evidence_cli.pubmed.xml import iter_records
    from evidence_cli.store.articles import save_batch, topic_record_count
    from evidence_cli.store.db import open_store

    store = open_store(workspace / "cache" / "evidence.sqlite", create=False)
    try:
        missing = wanted - topic_record_count(store, TOPIC)
        batch, made = [], 0
        while made < missing:
            for record in iter_records(source):
                if made >= missing:
                    break
                if isinstance(record, Article):
                    batch.append((dataclasses.replace(record, pmid=str(CLONE_BASE + made)), None))
                    made += 1
                    if len(batch) == 1000:
                        save_batch(store, batch, topic=TOPIC)
                        batch = []
        if batch:
            save_batch(store, batch, topic=TOPIC)
        return topic_record_count(store, TOPIC)
    finally:
        store.close()


ONE_PROCESS_RETAG = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from evidence_cli.tag_service import retag
from evidence_cli.workspace import find_workspace
retag(find_workspace(sys.argv[1]), [{TOPIC!r}], workers=0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000, help="records in the cache to retag")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="PubMed XML file to import and clone")
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it (default: a temp dir)")
    args = parser.parse_args()
    if not args.file.exists():
        raise SystemExit(f"no input file at {args.file}")
    evidence = shutil.which("evidence")
    base = [evidence] if evidence else [sys.executable, "-m", "evidence_cli"]
    root = args.keep or Path(tempfile.mkdtemp(prefix="evidence-retag-"))
    try:
        if root.exists() and any(root.iterdir()):
            raise SystemExit(f"{root} is not empty: give an empty or new folder")
        (root / "queries").mkdir(parents=True)
        shutil.copy(REPO / "queries" / f"{TOPIC}.toml", root / "queries")
        env = {**os.environ, "EVIDENCE_WORKSPACE": str(root), "NO_COLOR": "1"}

        ingest_s, ingest_mb, ingest_workers_mb = timed([*base, "import", "--topic", TOPIC, str(args.file)], env)
        from evidence_cli.store.articles import topic_record_count
        from evidence_cli.store.db import open_store

        store = open_store(root / "cache" / "evidence.sqlite", create=False)
        imported = topic_record_count(store, TOPIC)
        store.close()
        total = add_clones(root, args.file, args.records)
        retag_s, retag_mb, retag_workers_mb = timed([*base, "retag", TOPIC], env)
        # The same retag in one process (workers=0), for comparison with the worker pool.
        alone_s, alone_mb, _ = timed([sys.executable, "-c", ONE_PROCESS_RETAG, str(root)], env)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    print(f"input: {args.file.name}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"nproc {os.cpu_count()}")
    print(f"{'step':<52} {'records':>8} {'seconds':>8} {'records/s':>10} {'peak MB':>8} {'worker MB':>9}")
    print(f"{'ingest: evidence import (parse + tag + store)':<52} {imported:>8,} {ingest_s:>8.1f} "
          f"{imported / ingest_s:>10,.0f} {ingest_mb:>8.0f} {ingest_workers_mb:>9.0f}")
    print(f"{'retag: evidence retag (read + tag + store)':<52} {total:>8,} {retag_s:>8.1f} "
          f"{total / retag_s:>10,.0f} {retag_mb:>8.0f} {retag_workers_mb:>9.0f}")
    print(f"{'retag in one process (retag(workers=0))':<52} {total:>8,} {alone_s:>8.1f} "
          f"{total / alone_s:>10,.0f} {alone_mb:>8.0f} {'':>9}")
    print(f"retag runs at {imported / ingest_s and (total / retag_s) / (imported / ingest_s):.2f}x the ingest rate "
          "(per record; times include each command's start-up)")


if __name__ == "__main__":
    main()
