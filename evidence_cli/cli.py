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
from typing import Annotated, Optional

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
    workspace_arg: Optional[str]
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
        Optional[str],
        typer.Option("--workspace", "-w", envvar="EVIDENCE_WORKSPACE", help="Workspace folder (queries/ and cache/). Default: current directory."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr; no progress.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
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
    except Exception as exc:  # a bug: say so in one line; --debug shows where
        if st.output.debug:
            traceback.print_exc()
        st.output.error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        raise typer.Exit(int(ExitCode.FAILURE)) from None


# ---- commands -------------------------------------------------------------------------------
# One function per command. Keep each thin: parse, call one service function, render.


@app.command("refresh")
def refresh(
    ctx: typer.Context,
    topics: Annotated[Optional[list[str]], typer.Argument(help="Topics to refresh (default: every topic of the workspace).")] = None,
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
                              on_result=lambda result: st.output.info(result.summary()))


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="PubMed XML (efetch, site export, baseline/update file) or MEDLINE/.nbib text; gzip or plain; - for stdin.")],
    topic: Annotated[Optional[str], typer.Option("--topic", "-t", help="Topic to link and tag the records with (default: the only topic).")] = None,
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
    topic: Annotated[Optional[str], typer.Option("--topic", "-t", help="Topic whose claims to check (default: the only topic).")] = None,
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
