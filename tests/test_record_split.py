"""Cutting PubMed XML into each record's bytes (`split_records`) and parsing one record
(`parse_record`): the same records as `iter_records`, with the file's own bytes as raw XML,
whatever the comments, CDATA sections, processing instructions and block boundaries. And the
same cut made in an efetch answer held in memory (`cut_document`), whose parts refresh's workers
parse: together they hold the answer's records."""

from __future__ import annotations

import dataclasses
import gzip
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from evidence_cli.errors import InputError
from evidence_cli.pubmed import xml
from evidence_cli.pubmed.model import Article, Deletion
from evidence_cli.pubmed.xml import (
    RecordBytes,
    cut_document,
    iter_records,
    parse_record,
    parse_records,
    split_records,
)

ABSTRACT = ("<Abstract><AbstractText Label=\"RESULTS\" NlmCategory=\"RESULTS\">Esketamine reduced depressive "
            "symptoms within 24 hours in treatment-resistant depression.</AbstractText></Abstract>")


def article(pmid: str, title: str = "Invented ketamine trial", inside: str = "", end: str = "</PubmedArticle>") -> str:
    return (
        f'<PubmedArticle>\n  <MedlineCitation Status="MEDLINE"><PMID Version="1">{pmid}</PMID>{inside}\n'
        f"  <DateRevised><Year>2024</Year><Month>01</Month><Day>02</Day></DateRevised>\n"
        f"  <Article><Journal><JournalIssue><PubDate><Year>2024</Year></PubDate></JournalIssue>"
        f"<Title>Invented Journal</Title></Journal>\n  <ArticleTitle>{title}</ArticleTitle>{ABSTRACT}\n"
        f"  <PublicationTypeList><PublicationType>Randomized Controlled Trial</PublicationType>"
        f"</PublicationTypeList></Article>\n"
        f'  <CommentsCorrectionsList><CommentsCorrections RefType="ErratumIn"><RefSource>Invented J 2024</RefSource>'
        f'<PMID Version="1">{int(pmid) + 1}</PMID></CommentsCorrections></CommentsCorrectionsList>\n'
        f"  </MedlineCitation>\n  <PubmedData><ArticleIdList><ArticleId IdType=\"pubmed\">{pmid}</ArticleId>"
        f"</ArticleIdList></PubmedData>\n{end}\n"
    )


BOOK = (
    "<PubmedBookArticle>\n  <BookDocument><PMID Version=\"1\">930010</PMID>"
    "<Book><BookTitle>Invented Handbook of Ketamine</BookTitle><PubDate><Year>2023</Year></PubDate></Book>\n"
    "  <ArticleTitle>Ketamine for depression: a chapter</ArticleTitle>"
    "<Abstract><AbstractText>Ketamine acts within hours in depression.</AbstractText></Abstract>\n"
    "  </BookDocument>\n  <PubmedBookData><ArticleIdList><ArticleId IdType=\"pubmed\">930010</ArticleId>"
    "</ArticleIdList></PubmedBookData>\n</PubmedBookArticle>\n"
)


def invented_file(*, prolog: str = "", deletions: tuple[str, ...] = ("930001", "123"), after: str = "") -> bytes:
    """A multi-record export written for these tests: comments (one hiding an end tag), a CDATA
    section (hiding one too), a processing instruction, an end tag with blanks, a book and a
    DeleteCitation."""
    records = [
        "<!-- a comment between records: <PubmedArticle> </PubmedArticle> -->\n",
        article("930001", inside="<!-- an editor's note: </PubmedArticle> -->"),
        article("930002", title="Ketamine <![CDATA[& esketamine </PubmedArticle> <i>]]> in depression"),
        article("930003", inside="<?invented-pi </PubmedArticle> ?>", end="</PubmedArticle  >"),
        BOOK,
        article("930004", title="Rapid antidepressant effects of <i>R</i>-ketamine: a trial"),
        "<DeleteCitation>\n<PMID Version=\"1\">" + "</PMID>\n<PMID Version=\"1\">".join(deletions)
        + "</PMID>\n</DeleteCitation>\n",
        article("930005", title="Esketamine nasal spray \u2013 a trial in Z\u00fcrich"),
        after,
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN"'
        ' "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
        f"{prolog}<!-- exported by an invented tool -->\n<PubmedArticleSet>\n{''.join(records)}</PubmedArticleSet>\n"
    ).encode()


def cut(data: bytes, name: str = "t.xml") -> list:
    return [parse_record(r.data, r.line, name=name) if isinstance(r, RecordBytes) else r
            for r in split_records(io.BytesIO(data), name=name)]


def canonical(raw: bytes) -> bytes:
    return etree.tostring(etree.fromstring(raw), method="c14n")


def assert_same_records(data: bytes) -> list:
    """split+parse gives iter_records' records: every field equal, raw XML the same document."""
    mine, theirs = cut(data), list(iter_records(io.BytesIO(data), name="t.xml"))
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        if isinstance(a, Article):
            assert dataclasses.replace(a, raw=None) == dataclasses.replace(b, raw=None)
            assert canonical(a.raw) == canonical(b.raw)
        else:
            assert a == b
    return mine


@pytest.mark.parametrize("block", [1, 2, 7, 64, 1000, 1 << 20])
def test_same_records_as_iterparse_across_block_boundaries(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml, "BLOCK_SIZE", block)
    data = invented_file()
    records = assert_same_records(data)
    assert [r.pmid if isinstance(r, Article) else r.pmids for r in records] == [
        "930001", "930002", "930003", "930010", "930004", ("930001", "123"), "930005"]
    assert records[1].title == "Ketamine & esketamine </PubmedArticle> <i> in depression"
    assert records[3].is_book


def test_raw_is_the_records_bytes_in_the_file_and_lines_are_where_they_start() -> None:
    data = invented_file()
    pieces = list(split_records(io.BytesIO(data), name="t.xml"))
    chunks = [p for p in pieces if isinstance(p, RecordBytes)]
    starts = [m.start() for m in re.finditer(rb"^<PubmedArticle>|^<PubmedBookArticle>", data, re.MULTILINE)]
    assert [c.line for c in chunks] == [data.count(b"\n", 0, s) + 1 for s in starts]
    for chunk, start in zip(chunks, starts):
        assert data[start:start + len(chunk.data)] == chunk.data
    assert chunks[0].data.endswith(b"</PubmedArticle>") and b"editor's note" in chunks[0].data
    assert chunks[2].data.endswith(b"</PubmedArticle  >")
    assert parse_record(chunks[4].data).raw == chunks[4].data  # raw: the file's bytes, not re-serialized


def test_gzip_bom_and_a_doctype_with_brackets_in_its_literals() -> None:
    data = invented_file().replace(b'"https://dtd.nlm.nih.gov/ncbi', b'"https://example.org/[x]>/ncbi')
    assert_same_records(b"\xef\xbb\xbf" + data)
    assert len(cut(gzip.compress(data))) == 7


@pytest.mark.parametrize("document", [
    # Parsed whole, as iter_records does: what the cut leaves to lxml.
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<PubmedArticleSet>'
    + article("930001", title="Caf\xe9 trial").encode("latin-1") + b"</PubmedArticleSet>",
    b'<!DOCTYPE PubmedArticleSet [\n<!-- ] > --><!ENTITY trial "an invented ] > trial">\n]>\n<PubmedArticleSet>'
    + article("930001", title="Ketamine: &amp; trial").encode() + b"</PubmedArticleSet>",
    b'<PubmedArticleSet xmlns:mml="http://www.w3.org/1998/Math/MathML">'
    + article("930001", title="R<mml:msup><mml:mi>2</mml:mi></mml:msup>").encode() + b"</PubmedArticleSet>",
    article("930001").encode(),  # a lone record as the root
    b"<PubmedArticleSet/>",
    b"<PubmedArticleSet>\n</PubmedArticleSet>",
], ids=["latin-1", "internal-subset", "root-namespace", "record-root", "empty-set", "blank-set"])
def test_documents_left_to_lxml_give_the_same_records(document: bytes) -> None:
    assert_same_records(document)


@pytest.mark.parametrize("document, words", [
    (b"", "not XML"),
    (b"<eSearchResult><Count>0</Count></eSearchResult>", "not PubMed XML (root element <eSearchResult>"),
    (b"<eFetchResult><ERROR>Empty id list - nothing todo</ERROR></eFetchResult>", "NCBI returned an error"),
], ids=["empty", "esearch", "ncbi-error"])
def test_documents_that_are_not_pubmed_fail_as_iter_records_does(document: bytes, words: str) -> None:
    with pytest.raises(InputError) as mine:
        cut(document)
    with pytest.raises(InputError) as theirs:
        list(iter_records(io.BytesIO(document), name="t.xml"))
    assert mine.value.message == theirs.value.message and words in mine.value.message


def line_of(data: bytes, marker: bytes) -> int:
    return data.count(b"\n", 0, data.index(marker)) + 1


@pytest.mark.parametrize("block", [3, 1 << 20])
def test_errors_name_the_line_and_come_after_the_records_before(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml, "BLOCK_SIZE", block)
    data = invented_file()
    cases = {
        "truncated": (data[: data.index(b"Rapid antidepressant")], None, "truncated or malformed XML"),
        "text": (data.replace(b"</PubmedBookArticle>\n", b"</PubmedBookArticle>\nstray text\n"), b"stray text",
                 "text between records"),
        "foreign": (data.replace(BOOK.encode(), b"<Foo>\n</Foo>\n"), b"<Foo>", "<Foo> where a PubMed record was expected"),
        "after-root": (data + b"<PubmedArticle/>\n", b"<PubmedArticle/>", "Extra content at the end"),
        "not-utf-8": (data.replace(b"Rapid antidepressant", b"Rapid\n antid\xe9pressant"), b"antid\xe9p", "not UTF-8 text"),
        "mismatched": (data.replace(b"<i>R</i>", b"<i>R</b>"), b"<i>R</b>", "mismatch"),
        "unclosed-root": (data[: data.rindex(b"</PubmedArticleSet>")], None, "ends inside <PubmedArticleSet>"),
    }
    for name, (broken, marker, words) in cases.items():
        records = []
        with pytest.raises(InputError) as info:
            for record in split_records(io.BytesIO(broken), name="t.xml"):
                records.append(parse_record(record.data, record.line, name="t.xml")
                               if isinstance(record, RecordBytes) else record)
        message = info.value.message
        line = line_of(broken, marker) if marker else broken.count(b"\n") + 1
        assert message.startswith(f"t.xml: line {line}: ") and words in message, (name, message)
        assert "\n" not in message
        expected_before = {"truncated": 4, "text": 4, "foreign": 3, "after-root": 7, "not-utf-8": 4,
                           "mismatched": 4, "unclosed-root": 7}[name]
        assert len(records) == expected_before, name


def test_a_self_closing_or_nested_record_is_cut_exactly() -> None:
    data = b"<PubmedArticleSet><DeleteCitation/>\n" + article("930001").encode() + b"</PubmedArticleSet>"
    assert cut(data)[0] == Deletion(pmids=())
    with pytest.raises(InputError, match="line 1: a PubmedArticle without MedlineCitation"):
        cut(b"<PubmedArticleSet><PubmedArticle/>" + article("930001").encode() + b"</PubmedArticleSet>")
    nested = article("930001", inside="<Note><PubmedArticle>x</PubmedArticle></Note>")
    [record] = [r for r in split_records(io.BytesIO(f"<PubmedArticleSet>{nested}</PubmedArticleSet>".encode()))]
    assert record.data == nested.strip().encode()  # cut at its own end tag, not the nested one's


def test_parse_record_alone() -> None:
    raw = article("930001").encode()
    record = parse_record(raw, 40, name="x.xml")
    assert record.pmid == "930001" and record.raw == raw and record.corrections[0].pmid == "930002"
    with pytest.raises(InputError, match=r"^x\.xml: line 40: <Foo> is not a PubMed record$"):
        parse_record(b"<Foo/>", 40, name="x.xml")
    with pytest.raises(InputError, match=r"^x\.xml: line 41: "):
        parse_record(b"<PubmedArticle>\n<oops></PubmedArticle>", 40, name="x.xml")


PIECES = {
    "article": lambda i: article(str(930100 + i)),
    "commented": lambda i: article(str(930100 + i), inside="<!-- </PubmedArticle><PubmedArticle> -->"),
    "cdata": lambda i: article(str(930100 + i), title="A <![CDATA[</PubmedArticle> ]] ]> <!-- ]]> trial"),
    "pi": lambda i: article(str(930100 + i), inside="<?pi </PubmedArticle>?>"),
    "spaced-end": lambda i: article(str(930100 + i), end="</PubmedArticle\n>"),
    "book": lambda i: BOOK.replace("930010", str(930100 + i)),
    "delete": lambda i: f"<DeleteCitation><PMID Version=\"1\">{930100 + i - 1}</PMID></DeleteCitation>",
    "comment": lambda i: "<!-- <PubmedArticle> -->",
    "pi-between": lambda i: "<?between records?>",
    "blank": lambda i: "\n \t\r\n",
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(st.sampled_from(sorted(PIECES)), max_size=12), block=st.sampled_from([1, 5, 13, 100, 1 << 20]))
def test_any_sequence_of_records_and_markup_is_cut_as_lxml_reads_it(
        names: list[str], block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml, "BLOCK_SIZE", block)
    body = "".join(PIECES[name](i) for i, name in enumerate(names))
    assert_same_records(f"<?xml version=\"1.0\"?>\n<PubmedArticleSet>{body}</PubmedArticleSet>\n".encode())


# --- an efetch answer held in memory, cut for refresh's workers (`cut_document`) -----------------
# What refresh feeds the cut: a whole efetch answer (prolog, DOCTYPE, one root) of several records.
# Records here hide what looks like a record start, an end tag or a record's PMID in comments,
# CDATA sections and PIs; a cut that took them for markup would start a record inside one.

EFETCH_PROLOG = (
    '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>'
)
LOOKALIKE = '<PubmedArticle><MedlineCitation Status="MEDLINE"><PMID Version="1">930999</PMID>'
ANSWER_PIECES = [  # (text, PMID of its own or None); joined by "\n" as efetch does
    (article("930201"), "930201"),
    (f"<!-- between records: {LOOKALIKE} -->", None),
    (article("930202", inside=f"<!-- {LOOKALIKE} </PubmedArticle> -->"), "930202"),
    (article("930203", title=f"Ketamine <![CDATA[{LOOKALIKE}</PubmedArticle>]]> trial"), "930203"),
    (article("930204", inside=f"<?note {LOOKALIKE}?>"), "930204"),
    (BOOK.replace("930010", "930205").strip(), "930205"),
    (article("930206", end="</PubmedArticle\n  >"), "930206"),
    ('<DeleteCitation><PMID Version="1">930100</PMID><PMID Version="1">930101</PMID></DeleteCitation>', None),
]


def efetch_answer_bytes(pieces: list[tuple[str, str | None]]) -> tuple[bytes, list[int]]:
    """(the answer, where each record in it starts), the starts counted as the answer is built."""
    text, starts = EFETCH_PROLOG + "\n", []
    for piece, _pmid in pieces:
        if not piece.startswith("<!--"):
            starts.append(len(text.encode()))
        text += piece + "\n"
    return (text + "</PubmedArticleSet>\n").encode(), starts


def test_an_efetch_answer_is_cut_where_its_records_start_and_its_pmids_read() -> None:
    answer, starts = efetch_answer_bytes(ANSWER_PIECES)
    cut = cut_document(answer)
    assert cut.starts == starts
    assert cut.pmids == [pmid for _piece, pmid in ANSWER_PIECES if pmid]  # not 930999, nor a deletion's
    assert answer[:cut.head_end].endswith(b"<PubmedArticleSet>")
    assert answer[cut.root_close:] == b"</PubmedArticleSet>\n"
    unreadable = article("930201").replace(">930201</PMID>", ">PMID 930201</PMID>", 1)  # no digits alone
    answer, _starts = efetch_answer_bytes([(unreadable, None), (article("930202"), "930202")])
    assert cut_document(answer).pmids == ["930202"]  # the record's own, not the next one's


@pytest.mark.parametrize("parts", [2, 3, 4, 7, 20])
def test_each_part_of_an_answer_is_a_whole_document_and_together_they_hold_its_records(parts: int) -> None:
    answer, starts = efetch_answer_bytes(ANSWER_PIECES)
    pieces = cut_document(answer).split(parts)
    assert 2 <= len(pieces) <= min(parts, len(starts))
    assert all(p.startswith(EFETCH_PROLOG.encode()) and p.endswith(b"</PubmedArticleSet>\n") for p in pieces)
    whole = parse_records(answer)
    assert [r for p in pieces for r in parse_records(p)] == whole  # field for field, raw XML too
    assert [r.pmids if isinstance(r, Deletion) else r.pmid for r in whole] == [
        "930201", "930202", "930203", "930204", "930205", "930206", ("930100", "930101")]
    assert whole[4].is_book and whole[2].title == f"Ketamine {LOOKALIKE}</PubmedArticle> trial"  # CDATA is text


def test_parts_are_near_equal_shares_of_the_bytes() -> None:
    sizes = [1, 1, 1, 1, 1, 1, 12, 1, 1, 1, 1, 1, 1]  # a large record in the middle
    pieces = [(article(str(930300 + i), title="Ketamine trial " + "long " * 50 * n), str(930300 + i))
              for i, n in enumerate(sizes)]
    answer, _starts = efetch_answer_bytes(pieces)
    ids = [pmid for _piece, pmid in pieces]
    assert [[r.pmid for r in parse_records(p)] for p in cut_document(answer).split(2)] == [ids[:7], ids[7:]]
    # Each part after the first starts at the first record at or past 1/4, 2/4, 3/4 of the bytes:
    # the large record holds the middle, so the second part ends with it and the third starts after it.
    assert [[r.pmid for r in parse_records(p)] for p in cut_document(answer).split(4)] == [
        ids[:4], ids[4:7], ids[7:10], ids[10:]]


@pytest.mark.parametrize("document", [
    EFETCH_PROLOG.encode() + article("930001").encode() + b"</PubmedArticleSet>\n",  # one record
    EFETCH_PROLOG.encode() + b"</PubmedArticleSet>\n",  # efetch's answer for an unknown PMID
    b"<eFetchResult><ERROR>Empty id list - nothing todo</ERROR></eFetchResult>",
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<PubmedArticleSet>'  # left to lxml
    + (article("930001") + article("930002")).encode("latin-1") + b"</PubmedArticleSet>",
    EFETCH_PROLOG.encode() + (article("930001") + "stray text" + article("930002")).encode()  # malformed
    + b"</PubmedArticleSet>",
], ids=["one-record", "empty-set", "ncbi-error", "latin-1", "text-between-records"])
def test_what_there_is_nothing_to_cut_in_stays_whole_and_its_pmids_are_still_found(document: bytes) -> None:
    cut = cut_document(document)
    assert cut.split(4) == [document]
    assert cut.pmids == re.findall(r'<MedlineCitation Status="MEDLINE"><PMID Version="1">(\d+)<', document.decode("latin-1"))


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.sampled_from(sorted(PIECES)), max_size=12), parts=st.integers(2, 6))
def test_any_answer_cut_in_parts_gives_the_records_of_the_whole(names: list[str], parts: int) -> None:
    body = "\n".join(PIECES[name](i) for i, name in enumerate(names))
    answer = (EFETCH_PROLOG + f"\n{body}\n</PubmedArticleSet>\n").encode()
    cut = cut_document(answer)
    whole = parse_records(answer)
    assert [r for p in cut.split(parts) for r in parse_records(p)] == whole
    assert cut.pmids == [r.pmid for r in whole if isinstance(r, Article)]
    assert len(cut.starts) == len(whole)
