"""The `evidence` command line: one thin function per command (parse, call a service, render).

Services are imported inside each command, so `evidence --help` stays fast and a cron run
loads only what it uses.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from evidence_cli.console import Output
from evidence_cli.errors import EvidenceError, ExitCode

app = typer.Typer(
    name="evidence",
    help="Saved PubMed queries -> a local cache -> claim-by-claim evidence tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # tracebacks only with --debug, and never with locals (API key)
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class AppState:
    workspace_arg: str | None
    output: Output

    def workspace(self):  # -> Workspace (imported lazily)
        from evidence_cli.workspace import find_workspace

        return find_workspace(self.workspace_arg)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"evidence {version('evidence')}")
        except PackageNotFoundError:
            typer.echo("evidence (not installed)")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", envvar="EVIDENCE_WORKSPACE", help="Workspace folder (queries/ and cache/). Default: current directory."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr; no progress.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Saved PubMed queries -> a local cache -> claim-by-claim evidence tables."""
    ctx.obj = AppState(workspace, Output(quiet=quiet, debug=debug))


def state(ctx: typer.Context) -> AppState:
    return ctx.obj if isinstance(ctx.obj, AppState) else AppState(None, Output())


@contextmanager
def command_edge(ctx: typer.Context) -> Iterator[AppState]:
    """Turn expected failures into one line on stderr and their documented exit code."""
    st = state(ctx)
    try:
        yield st
    except EvidenceError as exc:
        if st.output.debug:
            traceback.print_exc()
        st.output.error(exc.message)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        st.output.error("interrupted: the cache holds every batch stored before the interrupt")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        sys.stderr.close()  # `evidence report | head`: the reader left; not an error
        raise typer.Exit(int(ExitCode.OK)) from None
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line; --debug shows where
        if st.output.debug:
            traceback.print_exc()
        st.output.error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        raise typer.Exit(int(ExitCode.FAILURE)) from None


# ---- commands -------------------------------------------------------------------------------
# One function per command. Keep each thin: parse, call one service function, render.


@app.command("refresh")
def refresh(
    ctx: typer.Context,
    topics: Annotated[list[str] | None, typer.Argument(help="Topics to refresh (default: every topic of the workspace).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Refetch every record, not only those new or changed since the last complete run.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="If another refresh of this workspace runs, wait for it instead of exiting 7.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    """Run the saved queries against PubMed and update the cache (new and changed records only)."""
    with command_edge(ctx) as st:
        from evidence_cli.refresh import refresh_workspace

        if quiet:
            st.output.quiet = True
        with st.output.progress("refreshing") as bar:
            refresh_workspace(st.workspace(), topics or [], full=full, wait=wait, progress=bar,
                              on_result=lambda result: st.output.info(result.summary()),
                              warn=None if st.output.quiet else st.output.warn)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="PubMed XML (efetch, site export, baseline/update file) or MEDLINE/.nbib text; gzip or plain; - for stdin.")],
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Topic to link and tag the records with (default: the only topic).")] = None,
) -> None:
    """Load a PubMed XML or MEDLINE file into the cache, tagged, as if fetched.

    Records are stored in batches of 500, one transaction each; DeleteCitation blocks remove
    records. On a bad file the batches stored before the error stay, the batch in progress is
    not written, and the command exits 5: fix the file and import again (unchanged records are
    skipped).
    """
    with command_edge(ctx) as st:
        from evidence_cli.ingest import import_file

        with st.output.progress("importing") as bar:
            result = import_file(st.workspace(), file, topic, progress=bar.advance)
        st.output.info(result.summary())


@app.command("tag")
def tag(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSON Lines, one abstract a line (title, abstract; optional id, pmid, publication_types, mesh); - for stdin.")],
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Topic whose claim rules to use (default: the only topic).")] = None,
) -> None:
    """Tag abstracts from JSON Lines: design, sample size, claims with stance and sentence (no network, no cache).

    One JSON line out per input line, in order; a malformed or non-UTF-8 line stops with its line number (exit 5).
    """
    with command_edge(ctx) as st:
        from evidence_cli.tag_service import tag_jsonl

        tag_jsonl(st.workspace(), topic, file, st.output.data)


@app.command("retag")
def retag(
    ctx: typer.Context,
    topics: Annotated[list[str] | None, typer.Argument(help="Topics to retag (default: every topic of the workspace).")] = None,
) -> None:
    """Recompute the tags of every cached record after the claim rules or the tagger changed."""
    with command_edge(ctx) as st:
        from evidence_cli.tag_service import retag as retag_topics

        with st.output.progress("retagging") as bar:
            results = retag_topics(st.workspace(), topics or [], progress=bar.advance)
        for result in results:
            st.output.info(result.summary())


@app.command("doctor")
def doctor(
    ctx: typer.Context,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the E-utilities check (no network).")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Check configuration, cache integrity, each topic's last run and (unless --offline) NCBI."""
    with command_edge(ctx) as st:
        from evidence_cli.doctor import render, run_doctor, summary

        if fmt not in ("table", "json"):
            raise EvidenceError(f"--format must be table or json, not {fmt!r}", exit_code=ExitCode.USAGE)
        report = run_doctor(st.workspace(), offline=offline)
        rendered = render(report, fmt)
        if isinstance(rendered, str):
            st.output.data(rendered)
        else:
            st.output.out.print(rendered)
        (st.output.info if report.healthy else st.output.error)(summary(report))
        if not report.healthy:
            raise typer.Exit(int(report.exit_code))


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The draft: plain text, Markdown, or a saved web page (text or HTML); - for stdin.")],
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Topic whose claims to check (default: the only topic).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text (terminal), markdown or json.")] = "text",
    strict: Annotated[bool, typer.Option("--strict", help="Exit 9 when a claim made is unsupported, contested or without evidence.")] = False,
    max_age: Annotated[float, typer.Option("--max-age", metavar="DAYS", help="Warn when the last complete refresh is older than this.")] = 30,
) -> None:
    """Check a draft's claims against the cached evidence: verdicts, what to cite, overstatements.

    Exit codes: 0 checked (overstatements are reported, not failed), 5 unreadable draft,
    9 with --strict when a claim made is Unsupported, Contested or has No evidence.
    """
    with command_edge(ctx) as st:
        from evidence_cli.evidence.check import check_draft_file
        from evidence_cli.render import check_render

        if fmt not in ("text", "markdown", "json"):
            raise EvidenceError(f"--format must be text, markdown or json, not {fmt!r}", exit_code=ExitCode.USAGE)
        result = check_draft_file(st.workspace(), topic, file, max_age_days=max_age)
        if result.cache is not None and result.cache.warning:
            st.output.warn(result.cache.warning)
        if fmt == "json":
            st.output.data(check_render.render_json(result))
        elif fmt == "markdown":
            st.output.data(check_render.render_markdown(result))
        else:
            check_render.render_terminal(result, st.output.out)
        failing = result.failing_claims()
        if strict and failing:
            from evidence_cli.errors import CheckFailed

            ids = ", ".join(f"{c.claim_id} ({c.evidence.verdict.split(':')[0]})" for c in failing)
            raise CheckFailed(f"--strict: the draft makes claims the evidence does not back: {ids}")


# ---- reports (issue 4) ----------------------------------------------------------------------

TopicArg = Annotated[str | None, typer.Argument(help="Topic id (default: the workspace's only topic).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE (whole, atomically) instead of stdout.")]


@app.command("report")
def report(
    ctx: typer.Context,
    topic: TopicArg = None,
    claim: Annotated[str | None, typer.Option("--claim", "-c", help="Only this claim id.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, csv, markdown or html.")] = "table",
    since: Annotated[int | None, typer.Option("--since", metavar="YEAR", help="Count studies published in YEAR or later (undated ones drop out).")] = None,
    design: Annotated[list[str] | None, typer.Option("--design", "-d", help="Count only this design (repeatable): meta-analysis, systematic-review, rct, non-randomized-trial, observational, case-report, narrative-review, preclinical, protocol, other.")] = None,
    humans_only: Annotated[bool, typer.Option("--humans-only", help="Count human studies only (no preclinical or animal work).")] = False,
    min_n: Annotated[int | None, typer.Option("--min-n", metavar="N", help="Count studies with at least N participants (those with no stated N drop out).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Studies listed per claim (default 20); 0 lists all. JSON pmids are always complete.")] = None,
    output: OutputOpt = None,
) -> None:
    """Claim-by-claim evidence: studies by stance and design, participants, verdicts, study lists."""
    with command_edge(ctx) as st:
        from evidence_cli.evidence.views import topic_report
        from evidence_cli.render import formats
        from evidence_cli.store.reports import ReportFilters

        formats.check_choice(fmt, formats.REPORT_FORMATS)
        filters = ReportFilters(since=since, designs=tuple(design or ()), humans_only=humans_only, min_n=min_n)
        result = topic_report(st.workspace(), topic, claim_id=claim, filters=filters,
                              study_limit=formats.study_limit(limit), with_studies=fmt != "csv")
        formats.deliver(st.output, output, formats.report_text(result, fmt), formats.report_printer(result))


@app.command("show")
def show(
    ctx: typer.Context,
    pmid: Annotated[str, typer.Argument(help="The PubMed id of a cached record.")],
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Show the tags of this topic only (default: every topic holding the record).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """One cached record: abstract with tagged sentences highlighted, tags, design, N, integrity flags, links."""
    with command_edge(ctx) as st:
        from evidence_cli.evidence.views import article_view
        from evidence_cli.render import formats
        from evidence_cli.render.article import article_dict, print_article
        from evidence_cli.render.structured import to_json

        formats.check_choice(fmt, ("text", "json"))
        view = article_view(st.workspace(), pmid, topic)
        formats.deliver(st.output, None, to_json(article_dict(view)) if fmt == "json" else None,
                        lambda console: print_article(console, view))


@app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[list[str], typer.Argument(help="Words to find in titles and abstracts (all must occur; word* for a prefix).")],
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Search this topic's records only.")] = None,
    claim: Annotated[str | None, typer.Option("--claim", "-c", help="Only records tagged with this claim (of --topic, or the only topic).")] = None,
    design: Annotated[str | None, typer.Option("--design", "-d", help="Only records of this design.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many hits.")] = 20,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Ranked full-text search (bm25) over the cached titles and abstracts."""
    with command_edge(ctx) as st:
        from evidence_cli.evidence.views import search_cache
        from evidence_cli.render import formats
        from evidence_cli.render.structured import search_json
        from evidence_cli.render.table import print_search

        formats.check_choice(fmt, ("table", "json"))
        words = " ".join(text)
        hits = search_cache(st.workspace(), words, topic_id=topic, claim_id=claim, design=design, limit=limit)
        formats.deliver(st.output, None, search_json(words, hits) if fmt == "json" else None,
                        lambda console: print_search(console, hits, words))


@app.command("export")
def export(
    ctx: typer.Context,
    topic: TopicArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="ris, bibtex, csl-json or nbib (MEDLINE).")] = "ris",
    claim: Annotated[str | None, typer.Option("--claim", "-c", help="Only records tagged with this claim.")] = None,
    stance: Annotated[str | None, typer.Option("--stance", "-s", help="Only records with this stance (supports, contradicts, neutral) on a claim.")] = None,
    output: OutputOpt = None,
) -> None:
    """Citations of a topic's records for a reference manager, with PMID and DOI; retractions noted."""
    with command_edge(ctx) as st:
        from evidence_cli.evidence.views import export_records
        from evidence_cli.render import citations, formats

        formats.check_choice(fmt, citations.FORMATS)
        _, rows = export_records(st.workspace(), topic, claim_id=claim, stance=stance)
        formats.deliver(st.output, output, citations.render(rows, fmt))
        st.output.info(f"{len(rows)} records")


@app.command("new")
def new(
    ctx: typer.Context,
    topic: TopicArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or markdown.")] = "table",
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Records listed per claim in table and markdown (default 20); 0 lists all. JSON lists all.")] = None,
) -> None:
    """What the latest refresh added or changed, claim by claim (the digest to mail from cron)."""
    with command_edge(ctx) as st:
        from evidence_cli.evidence.views import latest_digest
        from evidence_cli.render import formats
        from evidence_cli.render.digest import digest_dict, digest_markdown, print_digest
        from evidence_cli.render.structured import to_json

        formats.check_choice(fmt, ("table", "json", "markdown"))
        cap = formats.study_limit(limit)
        digest = latest_digest(st.workspace(), topic)
        text = {"json": lambda: to_json(digest_dict(digest)), "markdown": lambda: digest_markdown(digest, cap)}.get(fmt)
        formats.deliver(st.output, None, text() if text else None, lambda console: print_digest(console, digest, cap))


@app.command("init")
def init(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Argument(help="Folder to make a workspace (default: --workspace or the current folder).")] = None,
) -> None:
    """Make a new workspace: queries/ with an example topic, and cache/."""
    with command_edge(ctx) as st:
        from evidence_cli.scaffold import init_workspace

        result = init_workspace(directory or Path(st.workspace_arg or "."))
        st.output.info(result.summary())


@app.command("topics")
def topics(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """The workspace's topics with their cached record counts and last refresh."""
    with command_edge(ctx) as st:
        from evidence_cli.evidence.views import topic_rows
        from evidence_cli.render import formats
        from evidence_cli.render.structured import topics_json
        from evidence_cli.render.table import print_topics

        formats.check_choice(fmt, ("table", "json"))
        rows = topic_rows(st.workspace())
        formats.deliver(st.output, None, topics_json(rows) if fmt == "json" else None,
                        lambda console: print_topics(console, rows))
