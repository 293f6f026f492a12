"""Requests, rate and wall time of `evidence refresh` against the fake E-utilities (issue 2, issue 7 point 5).

Starts the fake server with 25,000 records (real samples and clones when ../shared is there,
synthetic otherwise) enforcing NCBI's 3 requests/s, runs `evidence refresh` into a temporary
workspace at the REAL rate (no EVIDENCE_RATE), and prints, from the fake's request log:
esearch/efetch/total requests against the minimum (esearch calls + ceil(N / 500) efetch), the
most requests in any 1-second window, records per second, and wall time against the floor NCBI's
rate sets (requests / 3 per second). Then an immediate second refresh: it must make no efetch,
although, as in PubMed, some records were entered and some revised today and on the days before
(--recent of each, inside the incremental window).

--timeline prints each request of the first refresh: its time since the first request, the gap
to the one before, and the time from the process start to the first request and from the last
request to the process end (the backlog of parsing, tagging and storing still to do).

    python bench/refresh_requests.py [--records 25000] [--recent 40] [--synthetic] [--stub-tagger] [--timeline]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fake_eutils import FakeEutils, max_in_window, shared_available

BATCH = 500  # evidence_cli.eutils.search.BATCH_SIZE
RATE = 3.0


# --stub-tagger: the same refresh with tagging replaced by a constant, to show what the network,
# parsing and storing cost on their own (the tagger is measured by its own bench).
STUB_TAGGER = (
    "import evidence_cli.ingest as i; from evidence_cli.tagging.model import Tagging; "
    "i.tagger_and_version = lambda topic: ((lambda article: Tagging(design='other')), 'stub'); "
    "from evidence_cli.cli import app; app(prog_name='evidence')"
)


def refresh(workspace: Path, fake: FakeEutils, stub_tagger: bool = False) -> tuple[float, float, int, str, str]:
    """(time.time() at the start, wall seconds, exit code, stderr, CPU and load) of one `evidence refresh`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NCBI_API_KEY", "EVIDENCE_RATE")}
    env.update(EVIDENCE_EUTILS_URL=fake.url, NCBI_EMAIL="bench@example.org",
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
    if stub_tagger:
        env["EVIDENCE_WORKERS"] = "0"  # the stand-in lives in this process only
    command = [sys.executable, *(["-c", STUB_TAGGER] if stub_tagger else ["-m", "evidence_cli"])]
    started, clock = time.monotonic(), time.time()
    cpu_before = _cpu()
    proc = subprocess.run([*command, "--workspace", str(workspace), "refresh"],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    refresh_cpu, fake_cpu = (after - before for after, before in zip(_cpu(), cpu_before, strict=True))
    cpu = (f"CPU: refresh and its workers {refresh_cpu:.1f} s, fake server (this process) {fake_cpu:.1f} s; "
           f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return clock, seconds, proc.returncode, proc.stderr.strip(), cpu


def _cpu() -> tuple[float, float]:
    """(user+system CPU of finished child processes and theirs, of this process)."""
    children, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return children.ru_utime + children.ru_stime, me.ru_utime + me.ru_stime


def timeline(fake: FakeEutils, clock: float, seconds: float) -> None:
    """Each request's time since the first one and the gap before it; the head and the tail."""
    log = sorted(fake.requests(), key=lambda r: r.time)
    if not log:
        return
    first = log[0].time
    print("  timeline (s since the first request, gap to the previous one):")
    previous = first
    for r in log:
        print(f"    {r.time - first:6.2f}  +{r.time - previous:4.2f}  {r.utility:8} {r.status} {len(r.ids) or ''}")
        previous = r.time
    span = log[-1].time - first
    print(f"  process start -> first request {first - clock:.2f} s; requests span {span:.2f} s "
          f"(3/s spacing: {(len(log) - 1) / RATE:.2f} s); last request -> process end "
          f"{clock + seconds - log[-1].time:.2f} s")


def report(label: str, fake: FakeEutils, seconds: float, code: int, stderr: str, cpu: str, records: int) -> None:
    log = fake.requests()
    esearch, efetch = len(fake.requests("esearch")), len(fake.requests("efetch"))
    fetched = sum(len(r.ids) for r in fake.requests("efetch"))
    minimum = esearch + math.ceil(fetched / BATCH) if fetched else esearch
    floor = len(log) / RATE
    print(f"\n{label}: exit {code}; {stderr.splitlines()[-1] if stderr else ''}")
    print(f"  requests: esearch {esearch}, efetch {efetch}, total {len(log)}; minimum for this work "
          f"{minimum} (esearch {esearch} + ceil({fetched:,} / {BATCH}))")
    print(f"  429 answers: {sum(r.status == 429 for r in log)}; most requests in any 1-s window: "
          f"{max_in_window(r.time for r in log)} (limit {RATE:g})")
    print(f"  wall time {seconds:.1f} s; floor at {RATE:g} req/s {floor:.1f} s; ratio {seconds / floor:.2f}x"
          if log else f"  wall time {seconds:.1f} s")
    if fetched:
        print(f"  {records:,} records stored; {fetched / seconds:,.0f} records/s fetched+parsed+tagged+stored")
    print(f"  {cpu}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=25_000)
    ap.add_argument("--recent", type=int, default=40,
                    help="records entered, and records revised, in the last 3 days (each; default 40)")
    ap.add_argument("--synthetic", action="store_true", help="project-written records (no ../shared)")
    ap.add_argument("--stub-tagger", action="store_true", help="replace tagging by a constant (isolates network+parse+store)")
    ap.add_argument("--timeline", action="store_true", help="print the first refresh's requests, timed")
    args = ap.parse_args()
    source = "synthetic" if args.synthetic or not shared_available() else "samples"
    with tempfile.TemporaryDirectory() as tmp, FakeEutils(args.records - args.recent, source=source, rate_limit=RATE) as fake:
        older = sorted(fake.records)
        for n in range(args.recent):  # spread over today and the three days before
            day = fake.today - timedelta(days=n % 4)
            fake.add_records(1, entered=day)
            fake.modify([older[n * 7 % len(older)]], revised=day, date_revised=n % 2 == 0)
        workspace = Path(tmp)
        (workspace / "queries").mkdir()
        shutil.copy(REPO / "queries" / "ketamine-depression.toml", workspace / "queries")
        print(f"fake E-utilities: {len(fake.records):,} records ({source}), 429 above {RATE:g} requests/s; "
              f"{args.recent} entered and {args.recent} revised today and on the 3 days before (US Eastern {fake.today})")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        if args.stub_tagger:
            print("tagging replaced by a constant (--stub-tagger)")
        print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        clock, seconds, code, stderr, cpu = refresh(workspace, fake, args.stub_tagger)
        with sqlite3.connect(workspace / "cache" / "evidence.sqlite") as db:
            stored = db.execute("SELECT count(*) FROM topic_articles").fetchone()[0]
        report("first refresh", fake, seconds, code, stderr, cpu, stored)
        print(f"  complete: {stored == len(fake.records)} ({stored:,} of {len(fake.records):,})")
        if args.timeline:
            timeline(fake, clock, seconds)
        fake.clear_log()
        _clock, seconds, code, stderr, cpu = refresh(workspace, fake, args.stub_tagger)
        report("immediate second refresh", fake, seconds, code, stderr, cpu, stored)


if __name__ == "__main__":
    main()
