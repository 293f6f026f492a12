"""The README's crontab lines work as shown: run the way cron runs them (a bare environment,
`/bin/sh -c`, `\\%` unescaped), against the fake E-utilities, with only the placeholder paths
swapped for a scratch workspace and this checkout's `evidence`.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys

import pytest

from tests.cache_helpers import make_workspace, quiet
from tests.conftest import REPO

README = REPO / "README.md"
WORKSPACE_PLACEHOLDER = "/home/you/evidence-work"
EVIDENCE_PLACEHOLDER = "/home/you/evidence/.venv/bin/evidence"
SCHEDULE = re.compile(r"^(\S+\s+){5}(?P<command>.+)$")
VARIABLE = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>.*)$")

def crontab_blocks(text: str) -> list[tuple[dict[str, str], list[str]]]:
    """Each ```crontab block: its VAR=value lines, and the commands of its schedule lines."""
    blocks = []
    for body in re.findall(r"```crontab\n(.*?)```", text, re.DOTALL):
        env, commands = {}, []
        for line in body.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if match := VARIABLE.match(line):
                env[match["name"]] = match["value"]
            elif match := SCHEDULE.match(line):
                commands.append(match["command"])
        blocks.append((env, commands))
    return blocks

def as_cron_runs(command: str) -> str:
    """What cron hands to the shell: `\\%` becomes `%` (an unescaped % would start stdin)."""
    assert re.search(r"(?<!\\)%", command) is None, "an unescaped % in a crontab line"
    return command.replace("\\%", "%")

def section():
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    blocks = crontab_blocks(text)
    if not blocks:
        pytest.skip("README.md has no ```crontab block yet")
    return blocks

def run_like_cron(command, crontab_env, tmp_path, extra_env):
    wrapper = tmp_path / "bin" / "evidence"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m evidence_cli "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    workspace = tmp_path / "evidence-work"
    line = as_cron_runs(command).replace(EVIDENCE_PLACEHOLDER, str(wrapper)).replace(WORKSPACE_PLACEHOLDER,
                                                                                     str(workspace))
    env = {"HOME": str(tmp_path), "LOGNAME": "cron", "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh",
           **crontab_env, **extra_env}
    return subprocess.run(["/bin/sh", "-c", line], env=env, capture_output=True, text=True, check=False, timeout=300)

def fake_env(fake):
    return {"EVIDENCE_EUTILS_URL": fake.url, "EVIDENCE_RETRY_SECONDS": "0.5", "EVIDENCE_BACKOFF": "0.01",
            "EVIDENCE_TIMEOUT": "2", "EVIDENCE_RATE": "50"}

def test_refresh_line_logs_and_is_silent_on_success(tmp_path, make_fake):
    env, commands = section()[0]
    refresh = next(c for c in commands if " refresh" in c)
    fake = quiet(make_fake(700))
    make_workspace(tmp_path / "evidence-work")
    proc = run_like_cron(refresh, env, tmp_path, fake_env(fake))
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc  # cron mails nothing
    logs = list((tmp_path / "evidence-work" / "logs").glob("refresh-*.log"))
    assert len(logs) == 1 and re.fullmatch(r"refresh-\d{4}-\d\d-\d\d\.log", logs[0].name)  # one a day
    log = logs[0].read_text()
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", log)  # when
    assert "700 new" in log and "error" not in log
    key = env.get("NCBI_API_KEY")
    if key:
        assert all(r.params.get("api_key") == key for r in fake.log)
        assert key not in log

def test_refresh_line_mails_one_line_on_failure(tmp_path, make_fake):
    env, commands = section()[0]
    refresh = next(c for c in commands if " refresh" in c)
    fake = quiet(make_fake(50))
    fake.inject("503", None)
    make_workspace(tmp_path / "evidence-work")
    proc = run_like_cron(refresh, env, tmp_path, fake_env(fake))
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and "exit 3" in lines[0], proc
    log = next((tmp_path / "evidence-work" / "logs").glob("refresh-*.log")).read_text()
    assert "error:" in log and "503" in log

def test_doctor_line_is_silent_when_healthy_and_speaks_when_not(tmp_path, make_fake):
    doctors = [(env, c) for env, commands in section() for c in commands if " doctor" in c]
    if not doctors:
        pytest.skip("no doctor line in the README's crontab blocks")
    env, doctor = doctors[0]
    fake = quiet(make_fake(20))
    make_workspace(tmp_path / "evidence-work")
    refreshed = run_like_cron(f"cd {WORKSPACE_PLACEHOLDER} && {EVIDENCE_PLACEHOLDER} refresh", env, tmp_path,
                              fake_env(fake))
    assert refreshed.returncode == 0, refreshed
    healthy = run_like_cron(doctor, env, tmp_path, fake_env(fake))
    assert healthy.returncode == 0 and healthy.stdout == "" and healthy.stderr == "", healthy
    db = tmp_path / "evidence-work" / "cache" / "evidence.sqlite"
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    db.write_bytes(b"\0" * 4096)
    broken = run_like_cron(doctor, env, tmp_path, fake_env(fake))
    assert "exit 6" in broken.stdout, broken

def test_the_parser_reads_a_crontab_block():
    text = "```crontab\nFOO=bar\n# a comment\n17 3 * * * cd /x && date +\\%F\n```\n"
    assert crontab_blocks(text) == [({"FOO": "bar"}, ["cd /x && date +\\%F"])]
    assert as_cron_runs("date +\\%F") == "date +%F"
    with pytest.raises(AssertionError):
        as_cron_runs("date +%F")

def test_the_notes_draft_when_present(tmp_path, make_fake, monkeypatch):
    """Before the lead pastes it into the README, the draft section is checked the same way."""
    draft = REPO.parent / "notes" / "cron-section.md"
    if README.exists() and "```crontab" in README.read_text(encoding="utf-8"):
        pytest.skip("the README holds the section: the tests above check it")
    if not draft.exists():
        pytest.skip("no draft cron section")
    monkeypatch.setattr(sys.modules[__name__], "README", draft)
    for name, check in (("a", test_refresh_line_logs_and_is_silent_on_success),
                        ("b", test_refresh_line_mails_one_line_on_failure),
                        ("c", test_doctor_line_is_silent_when_healthy_and_speaks_when_not)):
        (tmp_path / name).mkdir()
        check(tmp_path / name, make_fake)

