"""Every command has help and is documented in the README; exit codes in errors.py are documented."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.errors import ExitCode
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(typer.main.get_command(app).commands)


def test_the_app_has_the_interface_commands():
    # ../shared/INTERFACE.md fixes these; more may be added, none removed.
    assert {"refresh", "report", "tag", "import", "check", "show", "search", "export"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help_and_is_documented(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert re.search(rf"`{command}\b", README), f"README.md does not document `{command}`"


@pytest.mark.parametrize("code", [c for c in ExitCode if c != ExitCode.OK])
def test_exit_code_documented(code):
    assert re.search(rf"^\|\s*{int(code)}\s*\|", README, re.MULTILINE), f"exit code {int(code)} missing from README"
