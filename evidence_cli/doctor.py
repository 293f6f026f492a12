"""`evidence doctor`: is this workspace fit to run unattended?

Checks, in order: configuration (workspace, topic files and their claim rules, environment),
the cache (schema, SQLite integrity, the project's consistency rules), each topic's last run,
and, unless offline, whether the E-utilities answer each topic's query. Every check yields a
`Check`; the report's exit code is the most serious failure's (cache before configuration
before the network), so cron wrappers can tell "fix the disk" from "NCBI is down".
"""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from evidence_cli.errors import EvidenceError, ExitCode
from evidence_cli.workspace import Topic, Workspace

OK, WARN, FAIL = "ok", "warn", "fail"
# Which failure decides the exit code when several sections fail: the cache is worst (data at
# risk), then configuration (nothing can run), then NCBI's answers.
SEVERITY = (ExitCode.CACHE, ExitCode.USAGE, ExitCode.QUERY, ExitCode.NETWORK, ExitCode.FAILURE)
DOCTOR_RETRY_SECONDS = 20.0  # doctor asks "does NCBI answer now?": no ten-minute retry budget


@dataclass(frozen=True)
class Check:
    section: str  # "config", "cache", "runs", "network"
    name: str
    status: str  # OK, WARN or FAIL
    detail: str = ""
    exit_code: ExitCode | None = None  # the code a FAIL maps to
    facts: Mapping[str, object] | None = None  # machine-readable details (a topic's last run)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"section": self.section, "name": self.name, "status": self.status,
                                  "detail": self.detail}
        if self.facts is not None:
            out["facts"] = dict(self.facts)
        return out


@dataclass(frozen=True)
class DoctorReport:
    workspace: str
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    @property
    def exit_code(self) -> ExitCode:
        codes = {c.exit_code or ExitCode.FAILURE for c in self.checks if c.status == FAIL}
        return next((code for code in SEVERITY if code in codes), ExitCode.OK)

    def as_dict(self) -> dict:
        return {
            "workspace": self.workspace,
            "healthy": self.healthy,
            "exit_code": int(self.exit_code),
            "checks": [c.as_dict() for c in self.checks],
        }


def run_doctor(workspace: Workspace, *, offline: bool = False, env: Mapping[str, str] | None = None) -> DoctorReport:
    env = os.environ if env is None else env
    checks: list[Check] = []
    topics = _config_checks(workspace, env, checks)
    store = _cache_checks(workspace, checks)
    try:
        if store is not None:
            _run_checks(store, topics, checks)
    finally:
        if store is not None:
            store.close()
    if not offline:
        _network_checks(workspace, topics, env, checks)
    return DoctorReport(str(workspace.root), tuple(checks))


# ---- configuration ----------------------------------------------------------------------------

def _config_checks(workspace: Workspace, env: Mapping[str, str], checks: list[Check]) -> list[Topic]:
    add = _adder(checks, "config", ExitCode.USAGE)
    add("workspace", OK, str(workspace.root))
    paths = workspace.topic_paths()
    if not paths:
        add("topics", FAIL, f"no topics in {workspace.queries_dir} (add queries/<topic>.toml or run `evidence init`)")
    topics: list[Topic] = []
    for path in paths:
        try:
            topic = workspace.load_topic(path.stem)
        except EvidenceError as exc:
            add(f"topic {path.stem}", FAIL, exc.message)
            continue
        problem = _compile_problem(topic)
        if problem:
            add(f"topic {topic.id}", FAIL, problem)
            continue
        topics.append(topic)
        add(f"topic {topic.id}", OK, f"{len(topic.claims)} claims")
    if env.get("NCBI_EMAIL"):
        add("NCBI_EMAIL", OK, env["NCBI_EMAIL"])
    else:
        add("NCBI_EMAIL", WARN, "not set: NCBI asks every E-utilities user for a contact address")
    # The key itself is never shown, not even in part.
    add("NCBI_API_KEY", OK, "set (10 requests/s)" if env.get("NCBI_API_KEY") else "not set (3 requests/s)")
    add("EVIDENCE_EUTILS_URL", OK, env.get("EVIDENCE_EUTILS_URL") or "default (NCBI)")
    return topics


def _compile_problem(topic: Topic) -> str | None:
    """The topic's claim rules compile (None), or the one line saying why not."""
    try:
        from evidence_cli.tagging.rules import compile_rules
    except ImportError:  # the tagger is not installed in this build: nothing to compile
        return None
    try:
        compile_rules(topic)
    except EvidenceError as exc:
        return exc.message
    return None


# ---- cache ------------------------------------------------------------------------------------

def _cache_checks(workspace: Workspace, checks: list[Check]):  # -> Store | None
    from evidence_cli.store import integrity
    from evidence_cli.store.db import open_store

    add = _adder(checks, "cache", ExitCode.CACHE)
    path = workspace.db_path
    if not path.exists():
        add("file", WARN, f"no cache yet at {path} (run `evidence refresh` or `evidence import`)")
        return None
    try:
        store = open_store(path, create=False)
    except EvidenceError as exc:
        add("file", FAIL, exc.message)
        return None
    add("file", OK, f"{path} ({_size(path)})")
    try:
        for finding in integrity.check_store(store):
            add(finding.check, finding.status, finding.detail)
    except EvidenceError as exc:
        add("integrity", FAIL, exc.message)
    return store


def _size(path) -> str:
    size = path.stat().st_size + sum(
        p.stat().st_size for p in (path.with_name(path.name + "-wal"),) if p.exists()
    )
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


# ---- run log ----------------------------------------------------------------------------------

def _run_checks(store, topics: list[Topic], checks: list[Check]) -> None:
    from evidence_cli.store import runs as store_runs
    from evidence_cli.store.articles import topic_record_count

    add = _adder(checks, "runs", ExitCode.CACHE)
    holder = _refresh_in_progress(store.path.parent.parent)
    add("refresh lock", OK, f"a refresh is running now (pid {holder})" if holder else "free (no refresh running)")
    for topic in topics:
        try:
            last = store_runs.last_run(store, topic.id)
            records = topic_record_count(store, topic.id)
        except sqlite3.Error as exc:  # a damaged run table: already a cache FAIL above; say it here too
            add(topic.id, FAIL, f"cannot read the run log: {exc}")
            continue
        if last is None:
            add(topic.id, WARN, f"never refreshed ({records} records cached)")
            continue
        when = last.finished_at or last.started_at
        detail = (
            f"last {last.kind} run {last.outcome} {when} ({_age(when)}): "
            f"{last.count if last.count is not None else '?'} found, +{last.added} new, "
            f"{last.updated} updated, {last.requests} requests; {records} records cached"
        )
        if last.error:
            detail += f"; error: {last.error}"
        last_complete = store_runs.last_run(store, topic.id, outcome="complete")
        facts = {
            "records": records, "outcome": last.outcome, "kind": last.kind, "started_at": last.started_at,
            "finished_at": last.finished_at, "count": last.count, "added": last.added, "updated": last.updated,
            "deleted": last.deleted, "requests": last.requests, "error": last.error,
            "last_complete_at": last_complete.finished_at if last_complete else None,
        }
        add(topic.id, OK if last.outcome == "complete" else WARN, detail, facts=facts)


def _refresh_in_progress(root) -> str | None:
    """The pid holding the workspace's refresh lock, or None when no refresh runs."""
    from evidence_cli.errors import LockedError
    from evidence_cli.refresh import refresh_lock

    try:
        with refresh_lock(Workspace(root)):
            return None
    except LockedError as exc:
        match = re.search(r"pid (\S+?)\)", exc.message)
        return match.group(1) if match else "?"


def _age(stamp: str) -> str:
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "unknown age"
    hours = (datetime.now(UTC) - then).total_seconds() / 3600
    return f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


# ---- network ----------------------------------------------------------------------------------

def _network_checks(workspace: Workspace, topics: list[Topic], env: Mapping[str, str], checks: list[Check]) -> None:
    """One esearch per topic (retmax 0, no history): NCBI answers, and accepts the query."""
    from evidence_cli.eutils.client import ClientConfig, EutilsClient

    add = _adder(checks, "network", ExitCode.NETWORK)
    try:
        config = ClientConfig.from_env(workspace.cache_dir, env)
    except EvidenceError as exc:
        add("E-utilities", FAIL, exc.message, exit_code=exc.exit_code)
        return
    config = dataclasses.replace(config, retry_seconds=min(config.retry_seconds, DOCTOR_RETRY_SECONDS))
    with EutilsClient(config) as client:
        if not topics:  # still ask whether NCBI answers at all
            topics_or_probe: list[tuple[str, str]] = [("E-utilities", "pubmed[sb]")]
        else:
            topics_or_probe = [(f"query {t.id}", t.query) for t in topics]
        for name, query in topics_or_probe:
            try:
                page = client.esearch(query, retmax=0, usehistory=False)
            except EvidenceError as exc:
                add(name, FAIL, client.mask(exc.message), exit_code=exc.exit_code)
                if exc.exit_code == ExitCode.NETWORK:
                    return  # NCBI is unreachable: asking again per topic only adds minutes
                continue
            add(name, OK, f"{page.count} records match at {config.base_url}")


def _adder(checks: list[Check], section: str, code: ExitCode):
    def add(name: str, status: str, detail: str = "", *, exit_code: ExitCode | None = None,
            facts: Mapping[str, object] | None = None) -> None:
        checks.append(Check(section, name, status, detail, (exit_code or code) if status == FAIL else None, facts))

    return add


# ---- rendering --------------------------------------------------------------------------------

def render(report: DoctorReport, fmt: str) -> str | object:
    """JSON text, or a rich Table for the terminal (plain text off a TTY)."""
    if fmt == "json":
        import json

        return json.dumps(report.as_dict(), indent=2, ensure_ascii=False)
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"evidence doctor: {report.workspace}", title_justify="left")
    for column in ("status", "section", "check", "detail"):
        table.add_column(column, overflow="fold")
    style = {OK: "green", WARN: "yellow", FAIL: "bold red"}
    for c in report.checks:
        # Text, not markup: details quote topic files and NCBI messages, which hold [brackets].
        table.add_row(Text(c.status, style=style[c.status]), Text(c.section), Text(c.name), Text(c.detail))
    return table


def summary(report: DoctorReport) -> str:
    fails = sum(c.status == FAIL for c in report.checks)
    warns = sum(c.status == WARN for c in report.checks)
    if report.healthy:
        return f"healthy ({warns} warnings)" if warns else "healthy"
    # Cron mail shows stderr: name the worst failure there, not only in the table on stdout.
    worst = next(c for c in report.checks if c.status == FAIL and (c.exit_code or ExitCode.FAILURE) == report.exit_code)
    more = f" (+{fails - 1} more failed checks)" if fails > 1 else ""
    return f"unhealthy (exit {int(report.exit_code)}): {worst.section} {worst.name}: {worst.detail}{more}"
