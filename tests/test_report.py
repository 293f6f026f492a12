"""`evidence report` in every format, on the hand-made cache of tests/test_report_cache.py."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from tests.test_report_cache import NASTY_EVIDENCE, NASTY_TITLE, build_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("report"))


def run(root: Path, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(root), "report", *args], env={"NO_COLOR": "1"})


def report_json(root: Path, *args: str) -> dict:
    result = run(root, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def claims(data: dict) -> dict[str, dict]:
    return {c["id"]: c for c in data["claims"]}


def test_json_interface_values(ws):
    data = report_json(ws)
    assert data["topic"] == "demo"
    assert data["records"] == 12  # 101-112, tagged or not; 555 was deleted
    rapid = claims(data)["rapid_onset"]
    assert (rapid["studies"], rapid["supports"], rapid["contradicts"], rapid["neutral"]) == (7, 5, 1, 1)
    assert {d: n for d, n in rapid["by_design"].items() if n} == {"meta-analysis": 2, "rct": 4, "observational": 1}
    assert rapid["participants"] == 410  # primary human studies only: 40+60+80+30+200
    assert rapid["verdict"] == "Strong: 2 meta-analyses and 3 RCTs support, 1 RCT contradicts"
    assert rapid["pmids"] == ["101", "102", "104", "103", "106", "105", "107"]  # strongest first, 108 out
    assert rapid["retracted"] == ["108"]
    assert rapid["newest_year"] == 2023
    assert rapid["per_year"]["2021"] == 1 and "2017" not in rapid["per_year"]  # retracted 2017 not counted
    listed = [s["pmid"] for s in rapid["study_list"]]
    assert "108" in listed and next(s for s in rapid["study_list"] if s["pmid"] == "108")["retracted"] is True
    assert set(rapid) >= {"id", "label", "studies", "supports", "contradicts", "neutral", "by_design",
                          "participants", "verdict", "pmids"}


def test_verdicts_of_each_claim(ws):
    by_id = claims(report_json(ws))
    assert by_id["trd"]["verdict"] == "Contested: 1 RCT supports, 1 RCT contradicts"
    assert by_id["cognition"]["verdict"] == (
        "Preliminary: case reports and preclinical only (1 case report and 1 preclinical study support)")
    assert by_id["nmda"]["verdict"] == "No evidence: no cached study addresses the claim"
    assert by_id["nmda"]["studies"] == 0 and by_id["nmda"]["pmids"] == []


def test_claim_option_keeps_one_claim(ws):
    data = report_json(ws, "--claim", "trd")
    assert [c["id"] for c in data["claims"]] == ["trd"]
    assert data["records"] == 12


@pytest.mark.parametrize(("args", "claim", "expected"), [
    (["--since", "2020"], "rapid_onset", (4, "Strong: 2 meta-analyses and 1 RCT support")),
    (["--design", "rct"], "rapid_onset", (4, "Strong: 3 RCTs support, 1 RCT contradicts")),
    (["--design", "rct", "--design", "observational"], "rapid_onset", (5, "Strong: 3 RCTs support, 1 RCT contradicts")),
    (["--min-n", "100"], "rapid_onset", (3, "Moderate: 2 meta-analyses support")),
    (["--humans-only"], "cognition", (1, "Preliminary: case reports and preclinical only (1 case report supports)")),
    (["--since", "2030"], "trd", (0, "No evidence: no cached study addresses the claim")),
])
def test_filters_change_counts_and_verdicts(ws, args, claim, expected):
    c = claims(report_json(ws, *args))[claim]
    assert (c["studies"], c["verdict"]) == expected


def test_bad_options_are_one_line_usage_errors(ws):
    for args in (["--design", "anecdote"], ["--claim", "nope"], ["--format", "pdf"], ["--limit", "-1"]):
        result = run(ws, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["--workspace", str(ws), "report", "nosuchtopic"])
    assert result.exit_code == 2 and "unknown topic" in result.output


def test_no_cache_is_a_cache_error(tmp_path):
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "demo.toml").write_text('title = "t"\nquery = "q"\n[claims.a]\nlabel = "A"\n')
    result = run(tmp_path)
    assert result.exit_code == 6 and "no cache" in result.output
    assert not (tmp_path / "cache" / "evidence.sqlite").exists()


def test_csv_one_row_per_claim(ws):
    result = run(ws, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["claim_id"] for r in rows] == ["rapid_onset", "trd", "cognition", "nmda"]
    rapid = rows[0]
    assert (rapid["studies"], rapid["supports"], rapid["group:synthesis"], rapid["rct"], rapid["participants"]) == (
        "7", "5", "2", "4", "410")
    assert rapid["retracted"] == "1" and rapid["verdict_level"] == "Strong"
    assert rows[3]["newest_year"] == ""


def test_markdown_escapes_and_links(ws):
    out = run(ws, "--format", "markdown", "--limit", "0").stdout
    assert out.startswith("# Evidence report: Demo drug for low mood\n")
    assert "| **Strong**: 2 meta-analyses and 3 RCTs support, 1 RCT contradicts |" in out
    assert "[104](https://pubmed.ncbi.nlm.nih.gov/104/)" in out
    assert r"(p\<0.01) \| \<script\>alert('x')\</script\> & more." in out  # the pipe cannot break the row
    assert "[108](https://pubmed.ncbi.nlm.nih.gov/108/) **RETRACTED**" in out
    assert "| supports (expression of concern) |" in out  # 105: flagged, and still counted (7 studies)
    for line in out.splitlines():
        if line.startswith("| [104]"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 8  # 7 columns


def test_markdown_and_table_cap_the_study_lists(ws):
    out = run(ws, "--format", "markdown", "--limit", "2").stdout
    assert "… 6 more: `evidence report --claim rapid_onset --limit 0` lists all 8" in out
    assert "[105]" not in out
    table = run(ws, "--limit", "3").stdout
    assert "5 more" in table


def test_html_is_self_contained_and_escaped(ws):
    out = run(ws, "--format", "html", "--limit", "0").stdout
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert "<script" not in out and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in out
    assert "Demo &lt;b&gt;vs&lt;/b&gt; placebo &amp; &quot;midazolam&quot;" in out
    assert "<style>" in out and not re.search(r"<link|src=|@import|url\(", out)  # nothing fetched
    assert out.count("<svg") == 3  # one year chart per claim with studies
    assert '<tr class="retracted">' in out and "RETRACTED, not counted" in out
    assert "2019: 1 study" in out
    assert '<td class="supports">supports <span class="flag">(expression of concern)</span></td>' in out


def test_table_is_the_default_and_prints_off_a_tty(ws):
    result = run(ws)
    assert result.exit_code == 0
    out = result.stdout
    assert "Demo drug for low mood" in out and "12 cached records" in out
    assert "Strong: 2 meta-analyses and 3 RCTs support" in out
    assert "RETRACTED" in out and "Per year 2012–2024" in out
    assert "+ supports (expression of concern)" in out
    assert NASTY_EVIDENCE.split("|")[0].strip() in out  # markup in texts is printed, not interpreted
    assert re.search(r"[▁▂▃▄▅▆▇█]", out)


def test_output_file(ws, tmp_path):
    target = tmp_path / "report.html"
    result = run(ws, "--format", "html", "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert "wrote" in result.stderr
    assert "&lt;b&gt;vs&lt;/b&gt;" in target.read_text(encoding="utf-8")
    assert NASTY_TITLE not in target.read_text(encoding="utf-8")
    table = tmp_path / "report.txt"
    assert run(ws, "--output", str(table)).exit_code == 0
    assert "Strong" in table.read_text(encoding="utf-8")


def test_table_fits_a_narrow_terminal(ws):
    from rich.console import Console

    from evidence_cli.evidence.views import topic_report
    from evidence_cli.render.table import print_report
    from evidence_cli.workspace import find_workspace

    console = Console(width=80, record=True, no_color=True, file=io.StringIO())
    print_report(console, topic_report(find_workspace(ws), None, study_limit=2))
    out = console.export_text()
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "RCT contradicts" in out  # the verdict is not cut off
    assert "MA/SR 2  RCT 4  Obs 1;  newest 2023" in out  # designs move under each claim's heading
