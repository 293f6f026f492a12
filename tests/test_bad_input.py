"""Bad input: one clear line on stderr, the documented exit code, and nothing lost.

Each case runs the real command line against a workspace whose cache holds invented records,
and checks the cache's rows are unchanged afterwards (for `import`, the records: a failed
import is entered in the run log, which is what the run log is for).
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.errors import ExitCode
from tests.cache_helpers import RECORD_TABLES, TOPIC, make_workspace, populated_cache, pubmed_xml, quiet, snapshot
from tests.conftest import EVIDENCE, eutils_env, subprocess_env

CLEAN_ENV = {"NCBI_API_KEY": "", "NCBI_EMAIL": "tests@example.org", "EVIDENCE_EUTILS_URL": "http://127.0.0.1:9/"}


def run(root, *args, env=None, input=None):
    result = CliRunner().invoke(app, ["--workspace", str(root), *args], env={**CLEAN_ENV, **(env or {})},
                                input=input)
    return result


def error_line(result) -> str:
    """The one line the user sees: exactly one non-empty stderr line, starting 'error: '."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    populated_cache(root)
    return root


@pytest.fixture
def db(ws):
    return ws / "cache" / "evidence.sqlite"


# ---- topic files, topics and claims -----------------------------------------------------------

@pytest.mark.parametrize("command", [["report"], ["refresh"], ["tag", "-"], ["check", "-"], ["retag"], ["export"]])
def test_malformed_toml_names_file_and_line(ws, db, command):
    (ws / "queries" / f"{TOPIC}.toml").write_text('title = "x"\nquery = "q"\n[claims.a\nlabel = "A"\n')
    before = snapshot(db)
    result = run(ws, *command, input="")
    line = error_line(result)
    assert result.exit_code == ExitCode.USAGE
    assert f"queries/{TOPIC}.toml" in line and "line 3" in line
    assert snapshot(db) == before


def test_topic_file_of_the_wrong_shape(ws):
    (ws / "queries" / f"{TOPIC}.toml").write_text('title = "x"\nquery = 3\n')
    result = run(ws, "report")
    assert result.exit_code == ExitCode.USAGE and "query must be a non-empty string" in error_line(result)


def test_bad_claim_rule_names_the_claim(ws):
    path = ws / "queries" / f"{TOPIC}.toml"
    path.write_text(path.read_text().replace("patterns = ['NMDA']", "patterns = ['NMDA(']"))
    result = run(ws, "tag", "-", input='{"title": "a", "abstract": "b"}\n')
    assert result.exit_code == ExitCode.USAGE and "claims.nmda" in error_line(result)


@pytest.mark.parametrize("command", [["report", "nosuch"], ["refresh", "nosuch"], ["tag", "--topic", "nosuch", "-"],
                                     ["import", "--topic", "nosuch", "-"], ["retag", "nosuch"]])
def test_unknown_topic(ws, db, command):
    before = snapshot(db)
    result = run(ws, *command, input="")
    assert result.exit_code == ExitCode.USAGE
    assert "unknown topic 'nosuch'" in error_line(result) and TOPIC in result.stderr  # says which exist
    assert snapshot(db) == before


def test_unknown_claim(ws, db):
    before = snapshot(db)
    result = run(ws, "report", "--claim", "nosuch", "--format", "json")
    assert result.exit_code == ExitCode.USAGE
    line = error_line(result)
    assert "unknown claim 'nosuch'" in line and "rapid_onset" in line
    assert result.stdout == "" and snapshot(db) == before


# ---- the cache file ---------------------------------------------------------------------------

def corrupt(db):
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[:100] = random.Random(5).randbytes(100)  # the header: "file is not a database"
    db.write_bytes(bytes(data))


def foreign(db):
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    conn.execute("INSERT INTO photos (path) VALUES ('holiday.jpg')")
    conn.commit()
    conn.close()


CACHE_COMMANDS = [["report"], ["report", "--format", "json"], ["refresh"], ["show", "1001"], ["search", "trial"],
                  ["export"], ["retag"], ["check", "-"]]


@pytest.mark.parametrize("damage", [corrupt, foreign], ids=["corrupt", "foreign"])
@pytest.mark.parametrize("command", CACHE_COMMANDS, ids=lambda c: " ".join(c))
def test_corrupt_or_foreign_cache(ws, db, damage, command):
    damage(db)
    before = db.read_bytes()
    result = run(ws, *command, input="Ketamine works within hours.\n")
    assert result.exit_code == ExitCode.CACHE
    line = error_line(result)
    assert str(db) in line
    assert ("corrupt" in line) if damage is corrupt else ("not an evidence cache" in line)
    assert db.read_bytes() == before  # not repaired, not replaced, not migrated


def test_import_into_a_foreign_cache_leaves_it_alone(ws, db, tmp_path):
    foreign(db)
    before = db.read_bytes()
    source = tmp_path / "records.xml"
    source.write_bytes(pubmed_xml(["5001", "5002"]))
    result = run(ws, "import", str(source))
    assert result.exit_code == ExitCode.CACHE and "not an evidence cache" in error_line(result)
    assert db.read_bytes() == before


# ---- input files: non-UTF-8, binary, malformed, huge --------------------------------------------

LATIN1 = "Ketamine lifted the mood of the caf\xe9 owner within hours.".encode("latin-1")


@pytest.mark.parametrize(
    ("command", "content", "expected"),
    [
        (["tag"], b'{"title": "a", "abstract": "b"}\n{"title": "' + LATIN1 + b'", "abstract": "x"}\n', "line 2: not UTF-8"),
        (["check"], LATIN1 + b"\n", "not UTF-8"),
        (["import"], b"PMID- 5001\nTI  - " + LATIN1 + b"\n", "line 2: not UTF-8"),
        (["import"], pubmed_xml(["5001"]).replace(b"Synthetic", b"Synth\xe9tic"), "line 1"),
        (["import"], random.Random(1).randbytes(5000), "neither PubMed XML nor MEDLINE"),
        (["check"], b"\x00\x01\x02" * 1000, "binary"),
        (["tag"], b'{"title": "a", "abstract": "b"}\n{"title": oops}\n', "line 2: not valid JSON"),
        (["tag"], b'["a list", "not an object"]\n', "line 1: expected a JSON object"),
        (["tag"], b'{"title": 42, "abstract": "b"}\n', "line 1: `title` must be a string"),
        (["import"], pubmed_xml(["5001", "5002", "5003"], cut=900), "truncated or malformed XML"),
        (["import"], b"", "empty"),
    ],
    ids=["tag-latin1", "check-latin1", "import-medline-latin1", "import-xml-latin1", "import-binary",
         "check-binary", "tag-bad-json", "tag-not-object", "tag-wrong-type", "import-truncated", "import-empty"],
)
def test_bad_input_files(ws, db, tmp_path, command, content, expected):
    path = tmp_path / "input.dat"
    path.write_bytes(content)
    before = snapshot(db, RECORD_TABLES)
    result = run(ws, *command, str(path))
    assert result.exit_code == ExitCode.INPUT, result.output
    line = error_line(result)
    assert str(path) in line and expected in line, line
    assert snapshot(db, RECORD_TABLES) == before


def test_tag_writes_the_lines_before_a_bad_one(ws, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "title": "t", "abstract": "x"}\n{"id": "b", "title": "t", "abstract": "y"}\n{oops\n')
    result = run(ws, "tag", str(path))
    assert result.exit_code == ExitCode.INPUT and "line 3" in error_line(result)
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a", "b"]


def test_import_stops_at_the_broken_record_and_keeps_whole_batches(ws, db, tmp_path):
    pmids = [str(7000 + i) for i in range(1100)]
    data = pubmed_xml(pmids)
    cut = data.index(b"<PMID Version=\"1\">8050</PMID>")  # inside the third batch of 500
    path = tmp_path / "cut.xml"
    path.write_bytes(data[:cut])
    before = snapshot(db, RECORD_TABLES)
    result = run(ws, "import", str(path))
    assert result.exit_code == ExitCode.INPUT and "truncated or malformed XML" in error_line(result)
    conn = sqlite3.connect(db)
    new = {r[0] for r in conn.execute("SELECT pmid FROM articles WHERE pmid >= '7000' AND pmid < '9000'")}
    assert len(new) in (0, 500, 1000)  # whole batches only: the one in progress is not written
    assert conn.execute("SELECT count(*) FROM articles WHERE pmid < '2000'").fetchone()[0] == 30  # old ones kept
    conn.close()
    path.write_bytes(data)  # fixed file: the import completes, stored records are unchanged ones
    again = run(ws, "import", str(path))
    assert again.exit_code == 0, again.output
    assert snapshot(db, RECORD_TABLES) != before


@pytest.mark.parametrize(
    ("command", "make", "expected_code"),
    [
        # 60 MB: a PubMed start, then one endless element. Fails fast, in flat memory.
        (["import"], lambda: b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>" + b"x" * 60_000_000,
         ExitCode.INPUT),
        (["import"], lambda: random.Random(2).randbytes(60_000_000), ExitCode.INPUT),
        # 30 MB of blanks on one line: nothing to tag, nothing printed.
        (["tag"], lambda: b" " * 30_000_000 + b"\n", ExitCode.OK),
        # An abstract of 200 kB (fifty times a long real one): tagged, one line out.
        (["tag"], lambda: json.dumps({"id": 1, "title": "t", "abstract": "Ketamine helped within 24 hours. " * 6_000})
         .encode() + b"\n", ExitCode.OK),
        # A 1 MB draft: checked.
        (["check", "--format", "json"], lambda: b"Ketamine works within hours for depression.\n\n" * 22_000,
         ExitCode.OK),
    ],
    ids=["import-60MB-element", "import-60MB-binary", "tag-30MB-blank-line", "tag-200kB-abstract", "check-1MB-draft"],
)
def test_huge_input_files(ws, db, tmp_path, command, make, expected_code):
    path = tmp_path / "huge.dat"
    path.write_bytes(make())
    before = snapshot(db, RECORD_TABLES)
    result = run(ws, *command, str(path))
    assert result.exit_code == expected_code, result.output[-500:]
    if expected_code:
        assert str(path) in error_line(result)
    elif command[0] == "tag" and b"abstract" in path.read_bytes()[:100]:
        assert len(result.stdout.splitlines()) == 1 and json.loads(result.stdout)["claims"]
    assert snapshot(db, RECORD_TABLES) == before


# ---- a full disk ------------------------------------------------------------------------------

@pytest.fixture
def small_disk(monkeypatch):
    """Every cache opened from now on may grow by `room` pages only (SQLite's max_page_count):
    the next write past it fails as on a full disk (SQLITE_FULL)."""
    import evidence_cli.store.db as db_module

    real_open = db_module.open_store
    room = {"pages": 3}

    def open_small(path, **kwargs):
        store = real_open(path, **kwargs)
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + room['pages']}")
        return store

    monkeypatch.setattr(db_module, "open_store", open_small)
    return room


def test_disk_full_during_import_rolls_back_the_batch(ws, db, tmp_path, small_disk):
    path = tmp_path / "records.xml"
    path.write_bytes(pubmed_xml([str(7000 + i) for i in range(600)]))
    before = snapshot(db, RECORD_TABLES)
    result = run(ws, "import", str(path))
    assert result.exit_code == ExitCode.CACHE
    line = error_line(result)
    assert "disk full" in line and "rolled back" in line
    assert snapshot(db, RECORD_TABLES) == before
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_disk_full_during_refresh(ws, db, make_fake, small_disk):
    fake = quiet(make_fake(1200))
    before = snapshot(db, RECORD_TABLES)
    result = run(ws, "refresh", "--full", env=eutils_env(fake))
    assert result.exit_code == ExitCode.CACHE
    assert "disk full" in error_line(result)
    assert snapshot(db, RECORD_TABLES) == before
    conn = sqlite3.connect(db)
    outcome, error = conn.execute("SELECT outcome, error FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    assert outcome == "failed" and "disk full" in error  # the run log says why
    small_disk["pages"] = 100_000  # space freed: the next run completes
    again = run(ws, "refresh", "--full", env=eutils_env(fake))
    assert again.exit_code == 0, again.output
    conn = sqlite3.connect(db)
    # A complete --full run is the topic's membership: the 30 records refresh had linked that this
    # PubMed no longer returns leave the topic (they stay cached); the 1,200 it returns are all there.
    assert conn.execute("SELECT count(*) FROM topic_articles WHERE topic = ?", (TOPIC,)).fetchone()[0] == 1200
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 30 + 1200
    conn.close()


# ---- NCBI's answers: a rejected query, a rejected key, no e-mail ------------------------------

def test_invalid_query_shows_ncbis_error_list(ws, db, make_fake):
    fake = make_fake(20)
    fake.unknown_phrases.add("ketamine")
    before = snapshot(db, RECORD_TABLES)
    result = run(ws, "refresh", env=eutils_env(fake))
    assert result.exit_code == ExitCode.QUERY
    line = error_line(result)
    assert "PhraseNotFound" in line and "ketamine" in line
    assert snapshot(db, RECORD_TABLES) == before
    assert not fake.requests("efetch")


def test_missing_email_is_a_warning_only(tmp_path, make_fake):
    fake = make_fake(30)
    root = make_workspace(tmp_path / "ws")
    env = subprocess_env(fake)
    env.pop("NCBI_EMAIL")
    proc = subprocess.run([*EVIDENCE, "--workspace", str(root), "refresh"], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "NCBI_EMAIL" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning:")
    assert all("email" not in r.params for r in fake.log)


# ---- the API key never shows -----------------------------------------------------------------

KEY = "SECRETKEY7f3e9d1c0b5a4e2fTESTONLY"


def assert_key_nowhere(text_or_bytes, where):
    data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
    assert KEY.encode() not in data, f"the API key appears in {where}"
    assert KEY[:12].encode() not in data and KEY[-12:].encode() not in data, f"part of the API key appears in {where}"


def assert_key_not_on_disk(root):
    for path in (root / "cache").iterdir():
        assert_key_nowhere(path.read_bytes(), path.name)
    conn = sqlite3.connect(root / "cache" / "evidence.sqlite")
    for row in conn.execute("SELECT query, query_translation, error FROM runs"):
        assert_key_nowhere(repr(row), "the run log")
    conn.close()


def evidence_subprocess(root, fake, *args, **env_extra):
    env = subprocess_env(fake, NCBI_API_KEY=KEY, **env_extra)
    return subprocess.run([*EVIDENCE, "--workspace", str(root), *args], env=env, capture_output=True, text=True, check=False)


def test_key_sent_but_never_shown_across_faults_and_debug(tmp_path, make_fake):
    fake = quiet(make_fake(1200))
    root = make_workspace(tmp_path / "ws")
    for kind in ("429", "503", "reset", "truncate", "error200"):
        fake.inject(kind, 1, retry_after="0.05")
    proc = evidence_subprocess(root, fake, "--debug", "refresh")
    assert proc.returncode == 0, proc.stderr
    assert all(r.params.get("api_key") == KEY for r in fake.log)  # it IS sent
    assert_key_nowhere(proc.stdout + proc.stderr, "the output")
    # A run that fails after its retries, with --debug: the traceback and message are clean too.
    fake.inject("503", None, utility="efetch")
    proc = evidence_subprocess(root, fake, "--debug", "refresh", "--full", EVIDENCE_RETRY_SECONDS="0.3")
    assert proc.returncode == ExitCode.NETWORK
    assert "Traceback" in proc.stderr  # --debug shows where...
    assert_key_nowhere(proc.stdout + proc.stderr, "the --debug output")  # ...but never the key
    assert_key_not_on_disk(root)


def test_key_in_a_url_of_an_unreachable_server_is_masked(tmp_path, make_fake, refused_port):
    fake = make_fake(1)
    dead = refused_port
    root = make_workspace(tmp_path / "ws")
    # requests puts the whole URL, query string and api_key included, in its connection errors.
    proc = evidence_subprocess(root, fake, "--debug", "refresh",
                               EVIDENCE_EUTILS_URL=f"http://127.0.0.1:{dead}/entrez/eutils/",
                               EVIDENCE_RETRY_SECONDS="0.3")
    assert proc.returncode == ExitCode.NETWORK, proc.stderr
    assert_key_nowhere(proc.stdout + proc.stderr, "the output")
    assert_key_not_on_disk(root)


def test_key_rejected_by_ncbi(tmp_path, make_fake):
    fake = make_fake(30)
    fake.valid_api_keys = {"some-other-key"}
    root = make_workspace(tmp_path / "ws")
    proc = evidence_subprocess(root, fake, "--debug", "refresh")
    assert proc.returncode == ExitCode.QUERY
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "rejected the API key" in lines[0] and "NCBI_API_KEY" in lines[0]
    assert [r.status for r in fake.log] == [400]  # no retrying a key NCBI refused
    assert_key_nowhere(proc.stdout + proc.stderr, "the output")
    assert_key_not_on_disk(root)
    doctor = evidence_subprocess(root, fake, "doctor")
    assert doctor.returncode == ExitCode.QUERY
    assert_key_nowhere(doctor.stdout + doctor.stderr, "doctor's output")
