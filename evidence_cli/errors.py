"""Error types and the documented exit codes (README, "Exit codes").

A domain error carries the one line a person sees and the exit code a script sees. Commands
catch `EvidenceError` at their edge, print the message, and exit with its code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # unexpected internal error (a bug: run with --debug and report it)
    USAGE = 2  # bad command line, unknown topic or claim, malformed topic file
    NETWORK = 3  # the E-utilities could not be reached or kept failing past the retry budget
    INCOMPLETE = 4  # a refresh ended with records missing (shortfall, partial batch)
    INPUT = 5  # an input file (import, tag, check) is unreadable or malformed
    CACHE = 6  # the cache is corrupt, foreign, from a newer version, or the disk is full
    LOCKED = 7  # another refresh holds the workspace lock
    QUERY = 8  # NCBI rejected the query (ErrorList, invalid API key)
    CHECK_FAILED = 9  # `check --strict`: a claim is unsupported or contested
    INTERRUPTED = 130  # Ctrl-C; the cache is consistent up to the last stored batch


class EvidenceError(Exception):
    """An expected failure: one clear line for the user, a documented exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class UsageError(EvidenceError):
    exit_code = ExitCode.USAGE


class TopicError(UsageError):
    """A topic file is missing, malformed, or names an unknown claim."""


class NetworkError(EvidenceError):
    exit_code = ExitCode.NETWORK


class IncompleteError(EvidenceError):
    exit_code = ExitCode.INCOMPLETE


class InputError(EvidenceError):
    exit_code = ExitCode.INPUT


class CacheError(EvidenceError):
    exit_code = ExitCode.CACHE


class LockedError(EvidenceError):
    exit_code = ExitCode.LOCKED


class QueryError(EvidenceError):
    exit_code = ExitCode.QUERY


class CheckFailed(EvidenceError):
    exit_code = ExitCode.CHECK_FAILED
