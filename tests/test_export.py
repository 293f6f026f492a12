"""`evidence export`: RIS, BibTeX, CSL-JSON and MEDLINE (.nbib), read back where a parser exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.pubmed.medline import iter_medline
from evidence_cli.render.citations import split_author, tex
from tests.test_report_cache import NASTY_TITLE, build_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("export"))


def export(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--workspace", str(root), "export", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_ris_records_with_pmid_doi_and_retraction(ws):
    out = export(ws, "--format", "ris")
    records = [r for r in out.split("ER  -") if r.strip()]
    assert len(records) == 12  # every record of the topic
    first = records[0]
    assert first.lstrip().startswith("TY  - JOUR") and "AN  - 101" in first and "DO  - 10.1000/demo.101" in first
    assert "AU  - Doe, J." in first and "UR  - https://pubmed.ncbi.nlm.nih.gov/101/" in first
    retracted = next(r for r in records if "AN  - 108" in r)
    assert "KW  - RETRACTED" in retracted and "N1  - RETRACTED: this article has been retracted" in retracted
    assert "PMID 999" in retracted
    assert sum("RETRACTED" in r for r in records) == 1
    assert all(re.match(r"^[A-Z][A-Z0-9]  - ", line) for line in out.splitlines() if line)


def test_claim_and_stance_filters(ws):
    assert re.findall(r"AN  - (\d+)", export(ws, "--claim", "trd")) == ["109", "103"]
    assert re.findall(r"AN  - (\d+)", export(ws, "--claim", "rapid_onset", "--stance", "contradicts")) == ["106"]
    result = CliRunner().invoke(app, ["--workspace", str(ws), "export", "--stance", "maybe"])
    assert result.exit_code == 2 and "unknown stance" in result.output
    result = CliRunner().invoke(app, ["--workspace", str(ws), "export", "--format", "endnote"])
    assert result.exit_code == 2


def test_bibtex_escapes_and_balances_braces(ws):
    out = export(ws, "--format", "bibtex", "--claim", "rapid_onset")
    entries = [e for e in out.split("@article{") if e.strip()]
    assert len(entries) == 8  # the retracted one is exported too, flagged
    nasty = next(e for e in entries if e.startswith("pmid104,"))
    assert r'title = {{Demo <b>vs</b> placebo \& "midazolam": a \{randomized\} trial | 50\% \_response\_ \#1}}' in nasty
    for entry in entries:
        body = entry.replace("\\{", "").replace("\\}", "")
        assert body.count("{") == body.count("}") - 1  # the entry's own closing brace
    group = next(e for e in entries if e.startswith("pmid102,"))
    assert "author = {{Demo Study Group}}" in group  # a collective name stays whole
    assert "pmid = {102}" in group and "doi = {10.1000/demo.102}" in group
    retracted = next(e for e in entries if e.startswith("pmid108,"))
    assert "keywords = {RETRACTED}" in retracted and "note = {RETRACTED: this article has been retracted" in retracted


def test_csl_json_items(ws):
    items = json.loads(export(ws, "--format", "csl-json", "--claim", "rapid_onset"))
    by_pmid = {i["PMID"]: i for i in items}
    assert by_pmid["104"]["title"] == NASTY_TITLE and by_pmid["104"]["PMCID"] == "PMC9104"
    assert by_pmid["101"]["author"][0] == {"family": "Doe", "given": "J."}
    assert by_pmid["102"]["author"] == [{"literal": "Demo Study Group"}]
    assert by_pmid["103"]["issued"] == {"date-parts": [[2019]]} and by_pmid["103"]["DOI"] == "10.1000/demo.103"
    assert "DOI" not in by_pmid["105"]
    assert by_pmid["108"]["note"].startswith("RETRACTED") and "note" not in by_pmid["101"]
    assert all(i["type"] == "article-journal" for i in items)


def test_nbib_reads_back_through_the_importers_parser(ws):
    out = export(ws, "--format", "nbib")
    articles = {a.pmid: a for a in iter_medline(out.splitlines(keepends=True), name="export.nbib")}
    assert len(articles) == 12
    nasty = articles["104"]
    assert nasty.title == NASTY_TITLE and nasty.doi == "10.1000/demo.104" and nasty.pmcid == "PMC9104"
    assert nasty.year == 2020 and nasty.authors == ("Doe J", "Roe R") and nasty.journal == "J Demo"
    assert [s.label for s in nasty.abstract] == ["METHODS", "RESULTS"]
    assert articles["102"].authors == ("Demo Study Group",)
    retracted = articles["108"]
    assert "Retracted Publication" in retracted.publication_types
    assert [(c.ref_type, c.pmid) for c in retracted.corrections] == [("RetractionIn", "999")]
    assert all(len(line) <= 88 for line in out.splitlines())


def test_output_file(ws, tmp_path):
    target = tmp_path / "refs.bib"
    result = CliRunner().invoke(app, ["--workspace", str(ws), "export", "--format", "bibtex", "-o", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8").count("@article{") == 12


def test_author_names_and_tex():
    assert split_author("van der Berg JA") == ("van der Berg", "JA")
    assert split_author("Ketamine Study Group") is None
    assert tex("50% of {x} & y_z ~ $1 #2 \\ ^") == r"50\% of \{x\} \& y\_z \textasciitilde{} \$1 \#2 \textbackslash{} \textasciicircum{}"


SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_XML = sorted((SHARED / "ncbi-samples" / "efetch-pubmed" / "biocommons-eutils").glob("efetch-pubmed-*.xml"))


@pytest.mark.skipif(not REAL_XML, reason=f"real NCBI samples not found under {SHARED} (../shared beside the repository)")
def test_real_records_round_trip_through_nbib(tmp_path):
    """Real PubMed XML -> cache -> export nbib -> import into a fresh cache: the citation survives."""
    from evidence_cli.store.articles import iter_topic_articles
    from evidence_cli.store.db import open_store

    topic = '[claims.x]\nlabel = "X"\npatterns = ["zorblax"]\n'
    caches = []
    for name in ("from-xml", "from-nbib"):
        root = tmp_path / name
        (root / "queries").mkdir(parents=True)
        (root / "queries" / "t.toml").write_text(f'title = "T"\nquery = "q"\n{topic}', encoding="utf-8")
        caches.append(root)
    for path in REAL_XML:
        assert CliRunner().invoke(app, ["--workspace", str(caches[0]), "import", str(path)]).exit_code == 0
    nbib = tmp_path / "export.nbib"
    assert CliRunner().invoke(app, ["--workspace", str(caches[0]), "export", "-f", "nbib", "-o", str(nbib)]).exit_code == 0
    result = CliRunner().invoke(app, ["--workspace", str(caches[1]), "import", str(nbib)])
    assert result.exit_code == 0, result.output

    def citations(root: Path) -> dict:
        with open_store(root / "cache" / "evidence.sqlite", create=False) as store:
            return {a.pmid: (a.title, a.doi, a.pmcid, a.year, a.authors, a.journal) for a in iter_topic_articles(store, "t")}

    original, back = citations(caches[0]), citations(caches[1])
    assert len(original) == len(REAL_XML) and back == original
