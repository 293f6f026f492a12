"""The one home for terminal output: data on stdout, messages and progress on stderr.

Colour and progress bars only on a TTY, never with NO_COLOR or --quiet, so pipes and cron
mail stay clean.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich costs ~40 ms to import: only the paths that print load it
    from rich.console import Console


def _no_color() -> bool:
    return "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""


@dataclass
class Output:
    """stdout/stderr consoles and the facts about them; tests swap the streams."""

    quiet: bool = False
    debug: bool = False
    _out: Console | None = field(default=None, repr=False)
    _err: Console | None = field(default=None, repr=False)

    @property
    def out(self) -> Console:
        if self._out is None:
            self._out = make_console(sys.stdout)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = make_console(sys.stderr)
        return self._err

    @property
    def interactive(self) -> bool:
        return not self.quiet and sys.stderr.isatty()

    def data(self, text: str) -> None:
        """Machine or report output, to stdout, exactly as given."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def info(self, message: str) -> None:
        """A summary line on stderr (silent with --quiet)."""
        if not self.quiet:
            self.err.print(message, highlight=False, markup=False, soft_wrap=True)

    def warn(self, message: str) -> None:
        self.err.print(f"warning: {message}", style="yellow", highlight=False, markup=False, soft_wrap=True)

    def error(self, message: str) -> None:
        self.err.print(f"error: {message}", style="bold red", highlight=False, markup=False, soft_wrap=True)

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Any]:
        """A rich progress bar on a TTY; elsewhere a no-op with the same interface."""
        if not self.interactive:
            yield _SilentProgress()
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self.err, transient=True,
        ) as bar:
            task = bar.add_task(description, total=total)
            yield _BarHandle(bar, task)


class _SilentProgress:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        pass


class _BarHandle:
    def __init__(self, bar: Any, task: Any) -> None:
        self.bar, self.task = bar, task

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        kwargs: dict[str, Any] = {}
        if total is not None:
            kwargs["total"] = total
        if description is not None:
            kwargs["description"] = description
        self.bar.update(self.task, **kwargs)


def make_console(stream: Any) -> Console:
    from rich.console import Console

    tty = stream.isatty() if hasattr(stream, "isatty") else False
    return Console(
        file=stream,
        no_color=_no_color() or not tty,
        force_terminal=False,
        width=None if tty else 200,  # off a TTY, don't wrap reports at 80 columns
        highlight=False,
    )
