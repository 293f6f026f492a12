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
