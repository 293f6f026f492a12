"""MEDLINE text -> Article: Biopython's real sample files (skipped when absent) and invented records."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from evidence_cli.errors import InputError
from evidence_cli.pubmed.medline import iter_medline, split_abstract

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "ncbi-samples" / "medline"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"real MEDLINE samples not found at {SAMPLES}")


def read(name: str):
    with open(SAMPLES / name, encoding="utf-8") as fh:
        return list(iter_medline(fh))


@needs_samples
@pytest.mark.parametrize("name, pmids", [
    ("biopython-pubmed_result1.txt", ["12230038"]),
    ("biopython-pubmed_result2.txt", ["16403221", "16377612", "14871861", "14630660"]),
    ("biopython-pubmed_result3.txt", ["23039619"]),
])
def test_sample_files(name: str, pmids: list[str]) -> None:
    assert [a.pmid for a in read(name)] == pmids


@needs_samples
def test_fields_of_a_real_record() -> None:
    article = read("biopython-pubmed_result2.txt")[0]
    assert article.title == "A high level interface to SCOP and ASTRAL implemented in python."
    assert [s.label for s in article.abstract] == ["BACKGROUND", "RESULTS", "CONCLUSION"]
    assert article.abstract[0].category == "BACKGROUND" and article.abstract[2].category == "CONCLUSIONS"
    assert article.abstract[1].text.startswith("We have designed a set of python modules")
    assert (article.journal, article.journal_title) == ("BMC Bioinformatics", "BMC bioinformatics")
    assert (article.year, article.pub_date) == (2006, "2006")
    assert article.authors == ("Casbon JA", "Crooks GE", "Saqi MA")
    assert article.doi == "10.1186/1471-2105-7-10" and article.pmcid == "PMC1373603"
    assert article.publication_types == ("Evaluation Studies", "Journal Article")
    methods = next(m for m in article.mesh if m.descriptor == "Information Storage and Retrieval")
    assert methods.major and methods.qualifiers == ("methods",)
    assert not next(m for m in article.mesh if m.descriptor == "Programming Languages").major
    assert article.languages == ("eng",) and article.status == "MEDLINE"
    assert article.raw.startswith(b"PMID- 16403221\n") and b"SO  - BMC Bioinformatics" in article.raw


@needs_samples
def test_date_revised_full_date_and_wrapped_mesh() -> None:
    second = read("biopython-pubmed_result2.txt")[1]
    assert second.date_revised == "2006-11-15" and second.pub_date == "2006-03-01"
    article = read("biopython-pubmed_result3.txt")[0]
    assert article.doi == "10.1118/1.4748329"
    assert [s.label for s in article.abstract] == ["PURPOSE", "METHODS", "RESULTS", "CONCLUSIONS"]
    hifu = next(m for m in article.mesh if m.descriptor == "High-Intensity Focused Ultrasound Ablation")
    assert hifu.qualifiers == ("adverse effects", "instrumentation", "methods")


INVENTED = """\
PMID- 900001
STAT- PubMed-not-MEDLINE
LR  - 20240131
DP  - 1998 Dec-1999 Jan
TI  - An invented trial title that wraps onto
      a second line.
AB  - Ketamine was given once. Mood improved by day 2 (P: 0.01).
CN  - Invented Study Group
AU  - Roe R
LA  - eng
PT  - Journal Article
PT  - Retracted Publication
MH  - *Ketamine/*therapeutic use
RIN - Invented J. 2001;1:2. PMID: 900002
EIN - Invented J. 2000;3:4
      more source text PMID: 900003
AID - 10.9999/invented [doi]
TA  - Invented J

PMID- 900004
TI  - Second.
FAU - van der Berg, Anna-Maria J
"""


def test_invented_records() -> None:
    first, second = iter_medline(io.StringIO(INVENTED))
    assert first.title == "An invented trial title that wraps onto a second line."
    assert len(first.abstract) == 1 and first.abstract[0].label is None  # "(P: 0.01)" is not a label
    assert (first.year, first.pub_date) == (1998, "1998-12")
    assert first.date_revised == "2024-01-31" and first.status == "PubMed-not-MEDLINE"
    assert first.authors == ("Roe R", "Invented Study Group")
    assert first.mesh[0].major and first.mesh[0].qualifiers == ("therapeutic use",)
    assert {(c.ref_type, c.pmid) for c in first.corrections} == {("RetractionIn", "900002"), ("ErratumIn", "900003")}
    assert first.doi == "10.9999/invented"
    assert second.pmid == "900004" and second.title == "Second."
    assert second.authors == ("van der Berg AMJ",)  # from FAU when AU is missing


def test_split_abstract_keeps_unlabelled_text_whole() -> None:
    assert split_abstract("") == ()
    (only,) = split_abstract("No labels here. RESULTS: appear later only.")
    assert only.label is None
    sections = split_abstract("OBJECTIVE: To test. MATERIALS AND METHODS: We did. RESULTS: It worked.")
    assert [(s.label, s.category, s.text) for s in sections] == [
        ("OBJECTIVE", "OBJECTIVE", "To test."),
        ("MATERIALS AND METHODS", "METHODS", "We did."),
        ("RESULTS", "RESULTS", "It worked."),
    ]


def test_bad_medline_text() -> None:
    with pytest.raises(InputError, match="x.txt: line 1: not MEDLINE text"):
        list(iter_medline(io.StringIO("hello world\n"), name="x.txt"))
    with pytest.raises(InputError, match="line 3: a MEDLINE record without a PMID"):
        list(iter_medline(io.StringIO("PMID- 1\n\nTI  - no pmid\n"), name="x.txt"))
    broken = io.BytesIO(b"PMID- 1\nTI  - ok\nAB  - caf\xe9\n")
    with pytest.raises(InputError, match="x.txt: line 3: not UTF-8 text"):
        list(iter_medline(broken, name="x.txt"))
    assert [a.title for a in iter_medline(io.BytesIO(b"\xef\xbb\xbfPMID- 1\r\nTI  - caf\xc3\xa9\r\n"))] == ["caf\u00e9"]
