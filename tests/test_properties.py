"""Property tests: arbitrary input to the parsers and the tagger ends in a result or the
documented error (InputError / EvidenceError), never another exception.

Valid documents are generated here from invented text, then damaged (truncated, spliced,
bytes flipped) the ways a dropped connection or a bad disk damages them.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from evidence_cli.errors import EvidenceError, InputError
from evidence_cli.pubmed.medline import iter_medline
from evidence_cli.pubmed.model import Article, Deletion
from evidence_cli.pubmed.xml import parse_records

PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text XML 1.0 can carry: no control characters, no surrogates, no U+FFFE/U+FFFF.
xml_char = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
xml_text = st.text(xml_char, max_size=80)
word = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1, max_size=12)
pmid = st.integers(min_value=1, max_value=99_999_999).map(str)


@st.composite
def pubmed_article(draw, pmid_value: str | None = None) -> str:
    pmid_value = pmid_value or draw(pmid)
    title = draw(xml_text)
    sections = draw(st.lists(st.tuples(st.sampled_from(["", "BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]),
                                       xml_text), max_size=4))
    authors = draw(st.lists(st.tuples(word, word), max_size=3))
    year = draw(st.integers(1800, 2100))
    month = draw(st.sampled_from(["", "Jan", "Feb", "13", "Spring", "Dec"]))
    mesh = draw(st.lists(st.tuples(word, st.booleans()), max_size=3))
    inline = draw(st.sampled_from(["", "<i>x</i>", "<sup>2</sup>", "<b>bold</b> tail"]))
    abstract = "".join(
        f"<AbstractText{' Label=' + quoteattr(label) if label else ''}>{escape(text)}{inline}</AbstractText>"
        for label, text in sections
    )
    author_list = "".join(f"<Author><LastName>{escape(last)}</LastName><ForeName>{escape(first)}</ForeName></Author>"
                          for last, first in authors)
    mesh_list = "".join(f'<MeshHeading><DescriptorName MajorTopicYN="{"Y" if major else "N"}">{escape(d)}'
                        f"</DescriptorName></MeshHeading>" for d, major in mesh)
    return (
        f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{pmid_value}</PMID>'
        f"<Article><Journal><JournalIssue><PubDate><Year>{year}</Year>"
        f"{f'<Month>{month}</Month>' if month else ''}</PubDate></JournalIssue><Title>J Invented</Title></Journal>"
        f"<ArticleTitle>{escape(title)}</ArticleTitle>"
        f"{f'<Abstract>{abstract}</Abstract>' if abstract else ''}"
        f"{f'<AuthorList>{author_list}</AuthorList>' if author_list else ''}"
        f"<PublicationTypeList><PublicationType>Journal Article</PublicationType></PublicationTypeList></Article>"
        f"{f'<MeshHeadingList>{mesh_list}</MeshHeadingList>' if mesh_list else ''}"
        f"</MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType=\"pubmed\">{pmid_value}</ArticleId>"
        f"</ArticleIdList></PubmedData></PubmedArticle>"
    )


@st.composite
def pubmed_document(draw) -> tuple[bytes, list[str]]:
    pmids = draw(st.lists(pmid, min_size=0, max_size=5, unique=True))
    records = [draw(pubmed_article(p)) for p in pmids]
    deleted = draw(st.lists(pmid, max_size=2))
    delete = "".join(f"<PMID Version=\"1\">{p}</PMID>" for p in deleted)
    head = draw(st.sampled_from([
        ('<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
         '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'),
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        "",
    ]))
    body = head + "<PubmedArticleSet>" + "\n".join(records)
    body += f"<DeleteCitation>{delete}</DeleteCitation>" if deleted else ""
    body += "</PubmedArticleSet>\n"
    return body.encode("utf-8"), pmids


def parse_or_input_error(data: bytes) -> list[Article | Deletion] | None:
    """The property itself: a result, or InputError with a one-line message naming the input."""
    try:
        return parse_records(data, name="doc.xml")
    except InputError as exc:
        assert exc.message.startswith("doc.xml"), exc.message
        assert "\n" not in exc.message
        return None


@PROPS
@given(st.binary(max_size=2000))
@example(b"")
@example(b"\x1f\x8b")  # gzip magic, nothing after it
@example(b"<PubmedArticleSet/>")
@example(b"<eSearchResult><ERROR>Search Backend failed</ERROR></eSearchResult>")
@example(b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><PubmedArticleSet>&b;</PubmedArticleSet>')
def test_xml_arbitrary_bytes(data):
    parse_or_input_error(data)


@PROPS
@given(pubmed_document())
def test_xml_generated_documents_round_trip(document):
    data, pmids = document
    records = parse_records(data, name="doc.xml")
    assert [r.pmid for r in records if isinstance(r, Article)] == pmids
    for record in records:
        if isinstance(record, Article):
            assert record.raw and record.pmid.encode() in record.raw


@st.composite
def damaged(draw) -> bytes:
    data, _ = draw(pubmed_document())
    assume(len(data) > 2)
    kind = draw(st.sampled_from(["truncate", "cut-middle", "flip", "insert", "duplicate-tail"]))
    at = draw(st.integers(0, len(data) - 1))
    if kind == "truncate":
        return data[:at]
    if kind == "cut-middle":
        return data[:at] + data[at + draw(st.integers(1, 200)):]
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    if kind == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=40)) + data[at:]
    return data + data[at:]


@PROPS
@given(damaged())
def test_xml_damaged_documents(data):
    parse_or_input_error(data)


@PROPS
@given(pubmed_document(), st.data())
def test_xml_truncated_gzip(document, data):
    packed = gzip.compress(document[0])
    cut = data.draw(st.integers(0, len(packed)))
    result = parse_or_input_error(packed[:cut])
    if cut == len(packed):
        assert result is not None


@PROPS
@given(damaged())
def test_xml_streamed_from_a_file_object(data):
    from evidence_cli.pubmed.xml import iter_records

    try:
        for _ in iter_records(io.BytesIO(data), name="stream.xml"):
            pass
    except InputError as exc:
        assert exc.message.startswith("stream.xml")


# Any nesting of PubMed's own element names: records with parts missing, doubled or misplaced.
PUBMED_TAGS = [
    "PubmedArticle", "PubmedBookArticle", "DeleteCitation", "MedlineCitation", "PMID", "Article", "Journal",
    "JournalIssue", "PubDate", "Year", "Month", "Day", "MedlineDate", "Season", "ArticleDate", "Title",
    "ISOAbbreviation", "ArticleTitle", "VernacularTitle", "Abstract", "AbstractText", "OtherAbstract",
    "AuthorList", "Author", "LastName", "ForeName", "Initials", "CollectiveName", "PublicationTypeList",
    "PublicationType", "MeshHeadingList", "MeshHeading", "DescriptorName", "QualifierName",
    "CommentsCorrectionsList", "CommentsCorrections", "RefSource", "PubmedData", "ArticleIdList", "ArticleId",
    "ELocationID", "Language", "KeywordList", "Keyword", "DateRevised", "BookDocument", "Book", "BookTitle",
    "PubmedBookData", "MedlineJournalInfo", "MedlineTA", "math", "i", "sup",
]
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["Version", "Label", "NlmCategory", "MajorTopicYN", "IdType", "RefType", "EIdType",
                     "Language", "Status", "ValidYN"]),
    st.sampled_from(["", "1", "x", "Y", "N", "doi", "pmc", "pubmed", "eng", "RetractionIn", "-3", "9" * 30]),
    max_size=3,
)


def element_tree(max_leaves: int = 25):
    leaf = st.one_of(xml_text.map(escape), st.sampled_from(["", "2021", "Jan", "123", "10.1/x", "PMC1"]))

    def node(children):
        return st.builds(
            lambda tag, attrs, kids: f"<{tag}{''.join(f' {k}={quoteattr(v)}' for k, v in attrs.items())}>"
                                     f"{''.join(kids)}</{tag}>",
            st.sampled_from(PUBMED_TAGS), ATTRIBUTES, st.lists(children, max_size=4),
        )

    return st.recursive(leaf, node, max_leaves=max_leaves)


@PROPS
@given(st.lists(element_tree(), max_size=3))
@example(["<PubmedArticle><MedlineCitation><PMID>1</PMID><PMID>2</PMID></MedlineCitation></PubmedArticle>"])
@example(["<PubmedArticle><MedlineCitation><PMID><i>1</i></PMID></MedlineCitation></PubmedArticle>"])
@example(["<DeleteCitation><PMID/></DeleteCitation>"])
@example(["<PubmedBookArticle><BookDocument><PMID Version='x'>5</PMID><Book/></BookDocument></PubmedBookArticle>"])
def test_xml_pubmed_shaped_nonsense(parts):
    data = ("<PubmedArticleSet>" + "".join(parts) + "</PubmedArticleSet>").encode("utf-8")
    records = parse_or_input_error(data)
    for record in records or ():
        assert isinstance(record, (Article, Deletion))
        if isinstance(record, Article):
            assert record.pmid.strip()


# ---- MEDLINE ---------------------------------------------------------------------------------

medline_tag = st.sampled_from(["OWN", "STAT", "DP", "TI", "AB", "AU", "FAU", "LA", "PT", "MH", "TA", "JT",
                               "LID", "AID", "PMC", "LR", "CIN", "EIN", "RIN", "BTI", "CN", "OT", "XX", "SO"])
line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                    max_size=60)


@st.composite
def medline_record(draw) -> list[str]:
    lines = [f"PMID- {draw(pmid)}"]
    for _ in range(draw(st.integers(0, 8))):
        tag = draw(medline_tag)
        lines.append(f"{tag:<4}- {draw(line_text)}")
        if draw(st.booleans()):
            # A continuation line (a blank one would end the record, as in real files).
            lines.append("      " + draw(line_text.filter(str.strip)))
    return lines


def medline_or_input_error(lines) -> list[Article] | None:
    try:
        return list(iter_medline(lines, name="doc.nbib"))
    except InputError as exc:
        assert exc.message.startswith("doc.nbib") and "\n" not in exc.message
        return None


@PROPS
@given(st.lists(line_text, max_size=30))
@example(["PMID-"])
@example(["PMID- 123", "DP  - ", "TI  - "])
@example(["      continuation first"])
def test_medline_arbitrary_lines(lines):
    medline_or_input_error(lines)


@PROPS
@given(st.lists(medline_record(), min_size=1, max_size=4))
def test_medline_generated_records(records):
    text = "\n\n".join("\n".join(r) for r in records) + "\n"
    result = medline_or_input_error(io.StringIO(text))
    assert result is not None
    assert [a.pmid for a in result] == [r[0][6:] for r in records]


@PROPS
@given(st.binary(max_size=1500))
def test_medline_arbitrary_bytes_as_a_text_file(data):
    # How `import` reads a file: text mode, UTF-8, strict (non-UTF-8 must be an InputError).
    medline_or_input_error(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=None))


# ---- the tagger --------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
VOCABULARY = [
    "ketamine", "esketamine", "depression", "treatment-resistant", "bipolar", "suicidal ideation", "NMDA",
    "BDNF", "mTOR", "within 24 hours", "at day 7", "week 4", "12 months", "relapse", "remission", "placebo",
    "randomized", "double-blind", "meta-analysis", "case report", "rats", "mice", "patients", "n = 40",
    "(n=1,234)", "forty-two", "no significant", "did not", "improved", "worsened", "significantly",
    "cognitive", "BACKGROUND:", "METHODS:", "RESULTS:", "CONCLUSIONS:", "p < 0.05", "95% CI", ".", ",", ";",
    "(", ")", "\n", "e.g.", "vs.", "Fig. 2", "±", "≥", "µg/kg", "0.5 mg/kg", "et al.", "i.v.", "%", "'", '"',
]
prose = st.lists(st.one_of(st.sampled_from(VOCABULARY), xml_text), max_size=60).map(" ".join)
names = st.lists(st.one_of(st.sampled_from(["Randomized Controlled Trial", "Meta-Analysis", "Case Reports",
                                            "Retracted Publication", "Review", "Humans", "Animals",
                                            "Ketamine", "Depressive Disorder, Treatment-Resistant"]), xml_text),
                 max_size=4)
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def rules():
    from evidence_cli.tagging.rules import compile_rules
    from evidence_cli.workspace import load_topic_file

    return compile_rules(load_topic_file(REPO / "queries" / "ketamine-depression.toml"))


def check_tag_output(out: dict, rules) -> None:
    from evidence_cli.tagging.model import DESIGNS, STANCES

    assert out["design"] in DESIGNS
    assert out["sample_size"] is None or (isinstance(out["sample_size"], int) and out["sample_size"] > 0)
    assert set(out["claims"]) <= set(rules.claim_ids)
    for tag in out["claims"].values():
        assert tag["stance"] in STANCES
        assert isinstance(tag["evidence"], str) and tag["evidence"].strip()


@PROPS
@given(title=prose, abstract=prose, publication_types=names, mesh=names)
@example(title="", abstract="", publication_types=[], mesh=[])
@example(title="A. " * 400, abstract="1," * 2000, publication_types=[], mesh=[])
@example(title="(", abstract="((((((((((n = 12" + ")" * 50, publication_types=[], mesh=[])
def test_tagger_well_formed_records(rules, title, abstract, publication_types, mesh):
    from evidence_cli.tagging.tagger import tag_record

    out = tag_record({"id": 1, "title": title, "abstract": abstract,
                      "publication_types": publication_types, "mesh": mesh}, rules)
    check_tag_output(out, rules)


@PROPS
@given(st.dictionaries(st.sampled_from(["id", "pmid", "title", "abstract", "publication_types", "mesh", "x"]),
                       json_value, max_size=6))
@example({"title": 3})
@example({"mesh": "Ketamine"})
@example({"publication_types": [None]})
def test_tagger_arbitrary_json_objects(rules, record):
    from evidence_cli.tagging.tagger import tag_record

    try:
        out = tag_record(record, rules)
    except InputError as exc:
        assert "\n" not in exc.message
        return
    check_tag_output(out, rules)


@PROPS
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["BACKGROUND", "METHODS", "RESULTS", "x"]), xml_text),
                          prose), max_size=5), prose)
def test_tagger_on_articles_with_sections(rules, sections, title):
    from evidence_cli.pubmed.model import AbstractSection
    from evidence_cli.tagging.tagger import tag_article

    article = Article(pmid="1", title=title,
                      abstract=tuple(AbstractSection(text, label, label) for label, text in sections))
    try:
        tagging = tag_article(article, rules)
    except EvidenceError:
        return
    check_tag_output({"design": tagging.design, "sample_size": tagging.sample_size,
                      "claims": {c.claim_id: {"stance": c.stance, "evidence": c.evidence} for c in tagging.claims}},
                     rules)
