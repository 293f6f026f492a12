"""Pick a format, render the report in it, and deliver it to stdout or to --output FILE."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_cli.errors import UsageError

if TYPE_CHECKING:
    from evidence_cli.console import Output
    from evidence_cli.evidence.summary import Report

REPORT_FORMATS = ("table", "json", "csv", "markdown", "html")
DEFAULT_STUDY_LIMIT = 20  # studies listed per claim unless --limit says otherwise (json's `pmids` are always complete)


def check_choice(value: str, choices: tuple[str, ...], option: str = "--format") -> str:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}")
    return value


def study_limit(limit: int | None) -> int | None:
    """The cap on each claim's study list: --limit N (0: none), else 20.

    A complete list of 80,000 studies with their sentences costs seconds to render and
    megabytes to read; the JSON `pmids` of each claim are complete whatever the cap.
    """
    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    if limit is not None:
        return limit or None
    return DEFAULT_STUDY_LIMIT


def report_text(report: Report, fmt: str) -> str | None:
    """The report as text in `fmt`; None for `table` (printed by rich)."""
    if fmt == "json":
        from evidence_cli.render.structured import report_dict, to_json

        return to_json(report_dict(report))
    if fmt == "csv":
        from evidence_cli.render.structured import report_csv

        return report_csv(report)
    if fmt == "markdown":
        from evidence_cli.render.markdown import report_markdown

        return report_markdown(report)
    if fmt == "html":
        from evidence_cli.render.html import report_html

        return report_html(report)
    return None


def report_printer(report: Report) -> Callable[[Any], None]:
    """Prints the rich tables; rich's table code loads only when a table is printed."""

    def print_tables(console: Any) -> None:
        from evidence_cli.render.table import print_report

        print_report(console, report)

    return print_tables


def plain_text(printer: Callable[[Any], None], width: int = 200) -> str:
    """What a rich printer prints, as plain text (for --output FILE)."""
    from rich.console import Console

    buffer = io.StringIO()
    printer(Console(file=buffer, width=width, no_color=True, force_terminal=False, highlight=False))
    return buffer.getvalue()


def deliver(output: Output, path: Path | None, text: str | None, printer: Callable[[Any], None] | None = None) -> None:
    """Text to stdout, or to `path` (written whole, then renamed: never a half-written file)."""
    if path is None:
        if text is None and printer is not None:
            printer(output.out)
        else:
            output.data(text or "")
        return
    body = text if text is not None else plain_text(printer) if printer else ""
    target = path.expanduser()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(body)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    output.info(f"wrote {target}")
