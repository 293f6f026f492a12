"""The workspace: a folder with `queries/*.toml` (topics) and `cache/` (the store).

Resolution order for the folder: `--workspace` > `EVIDENCE_WORKSPACE` > current directory.
Topic files are validated here; claim rules are compiled by `tagging.rules`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_cli.errors import TopicError, UsageError

CLAIM_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ClaimSpec:
    """One `[claims.<id>]` table: what the claim is, and its raw tagging rules."""

    id: str
    label: str
    statement: str = ""
    rules: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    query: str
    claims: tuple[ClaimSpec, ...]
    path: Path
    settings: Mapping[str, Any] = field(default_factory=dict)  # every other top-level key

    def claim(self, claim_id: str) -> ClaimSpec:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        known = ", ".join(c.id for c in self.claims)
        raise UsageError(f"unknown claim {claim_id!r} in topic {self.id!r} (known: {known})")

    @property
    def claim_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.claims)


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def db_path(self) -> Path:
        return self.cache_dir / "evidence.sqlite"

    def topic_paths(self) -> list[Path]:
        if not self.queries_dir.is_dir():
            return []
        return sorted(self.queries_dir.glob("*.toml"))

    def topic_ids(self) -> list[str]:
        return [p.stem for p in self.topic_paths()]

    def load_topic(self, topic_id: str) -> Topic:
        path = self.queries_dir / f"{topic_id}.toml"
        if not path.is_file():
            known = ", ".join(self.topic_ids()) or "none"
            raise TopicError(f"unknown topic {topic_id!r}: no {path} (topics here: {known})")
        return load_topic_file(path)

    def topics(self) -> list[Topic]:
        return [load_topic_file(p) for p in self.topic_paths()]

    def resolve_topic(self, topic_id: str | None) -> Topic:
        """The named topic, or the workspace's only one when none is named."""
        if topic_id:
            return self.load_topic(topic_id)
        ids = self.topic_ids()
        if len(ids) == 1:
            return self.load_topic(ids[0])
        if not ids:
            raise TopicError(f"no topics in {self.queries_dir}: add a queries/<topic>.toml or run `evidence init`")
        raise TopicError(f"several topics here ({', '.join(ids)}): name one with --topic or as an argument")


def find_workspace(explicit: str | Path | None) -> Workspace:
    """`explicit` is the --workspace flag or EVIDENCE_WORKSPACE (Typer resolves both)."""
    root = Path(explicit).expanduser() if explicit else Path.cwd()
    if not root.is_dir():
        raise UsageError(f"workspace {root} is not a folder")
    return Workspace(root.resolve())


def load_topic_file(path: Path) -> Topic:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TopicError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TopicError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 3, column 7)": keep it, it names the place.
        raise TopicError(f"{path}: invalid TOML: {exc}") from None
    return parse_topic(data, path)


def parse_topic(data: Mapping[str, Any], path: Path) -> Topic:
    def need_str(table: Mapping[str, Any], key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise TopicError(f"{path}: {where}{key} must be a non-empty string")
        return value.strip()

    title = need_str(data, "title", "")
    query = need_str(data, "query", "")
    claims_table = data.get("claims", {})
    if not isinstance(claims_table, dict):
        raise TopicError(f"{path}: [claims] must be a table of [claims.<id>] tables")
    claims = []
    for claim_id, table in claims_table.items():
        if not CLAIM_ID.match(claim_id):
            raise TopicError(f"{path}: claim id {claim_id!r} must be lower_snake_case")
        if not isinstance(table, dict):
            raise TopicError(f"{path}: claims.{claim_id} must be a table")
        label = need_str(table, "label", f"claims.{claim_id}.")
        statement = table.get("statement", "")
        if not isinstance(statement, str):
            raise TopicError(f"{path}: claims.{claim_id}.statement must be a string")
        rules = {k: v for k, v in table.items() if k not in {"label", "statement"}}
        claims.append(ClaimSpec(claim_id, label, statement.strip(), rules))
    settings = {k: v for k, v in data.items() if k not in {"title", "query", "claims"}}
    return Topic(path.stem, title, query, tuple(claims), path, settings)
