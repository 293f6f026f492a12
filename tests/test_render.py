"""Pure renderers: the year charts, Markdown escaping, --output delivery."""

from __future__ import annotations

import re

import pytest

from evidence_cli.console import Output
from evidence_cli.errors import UsageError
from evidence_cli.render.chart import sparkline, svg_bars, year_span
from evidence_cli.render.formats import deliver, study_limit
from evidence_cli.render.markdown import md


def test_year_span_is_shared_and_capped():
    assert year_span([[(2001, 1)], [(2010, 2), (2012, 1)]]) == (2001, 2012)
    assert year_span([[(1950, 1), (2020, 1)]]) == (1991, 2020)  # the last 30 years
    assert year_span([[], []]) is None


def test_sparkline_heights():
    assert sparkline([(2020, 1), (2022, 4)], (2019, 2023)) == " ▂ █ "
    assert sparkline([], (2020, 2022)) == "···"
    assert sparkline([(2020, 1)], None) == ""


def test_svg_bars():
    svg = svg_bars([(2020, 1), (2022, 3)], (2020, 2022), label='A <"claim">')
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(re.findall(r"<rect ", svg)) == 2
    assert "2022: 3 studies" in svg and "2020: 1 study" in svg
    assert 'A &lt;&quot;claim&quot;&gt;' in svg and '<"claim">' not in svg


def test_markdown_escape():
    assert md("a|b *c* [d](e) <f> `g` _h_ #i\nj") == r"a\|b \*c\* \[d\](e) \<f\> \`g\` \_h\_ \#i j"


def test_study_limit():
    assert study_limit(None) == 20 and study_limit(0) is None and study_limit(5) == 5
    with pytest.raises(UsageError):
        study_limit(-1)


def test_deliver_to_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot write"):
        deliver(Output(quiet=True), tmp_path / "no" / "such" / "dir" / "r.html", "x")
    assert list(tmp_path.iterdir()) == []


def test_deliver_writes_whole_file(tmp_path):
    target = tmp_path / "r.md"
    deliver(Output(quiet=True), target, "# hello\n")
    assert target.read_text(encoding="utf-8") == "# hello\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]  # no temporary file left behind
