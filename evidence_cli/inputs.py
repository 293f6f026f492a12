"""Opening the files users hand to `import`, `tag` and `check`: one place for `-` and read errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from evidence_cli.errors import InputError


def input_label(source: str | Path) -> str:
    return "stdin" if str(source) == "-" else str(source)


@contextmanager
def open_input(source: str | Path, stdin: IO[bytes] | None = None) -> Iterator[IO[bytes]]:
    """FILE as a binary stream (`-`: stdin); a missing, unreadable or folder path is an InputError."""
    label = input_label(source)
    if str(source) == "-":
        yield stdin if stdin is not None else sys.stdin.buffer
        return
    path = Path(source)
    if path.is_dir():
        raise InputError(f"{label}: is a folder, not a file")
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, after the caller streams it
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        yield fh
    finally:
        fh.close()
