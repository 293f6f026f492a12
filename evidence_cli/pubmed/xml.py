"""PubMed XML (efetch output, the PubMed site's export, baseline and update files) -> Articles.

Streams with lxml's iterparse: each `PubmedArticle`, `PubmedBookArticle` and `DeleteCitation`
is turned into an `Article` or a `Deletion`, then cleared with its preceding siblings, so memory
stays flat on a 30,000-record baseline file. Gzip is detected by its magic bytes. No DTD is
loaded and nothing is fetched: old files name an http:// DTD, new ones add tags we ignore.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from lxml import etree

from evidence_cli.errors import InputError
from evidence_cli.pubmed.model import AbstractSection, Article, Correction, Deletion, MeshHeading

GZIP_MAGIC = b"\x1f\x8b"
RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")
MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")

# Not corrections: "Cites" lists a record's references, often hundreds of them.
SKIPPED_REFTYPES = frozenset({"Cites"})


def iter_records(source: str | Path | IO[bytes], *, name: str | None = None) -> Iterator[Article | Deletion]:
    """Yield every record of a PubMed XML file (path, plain or gzip, or binary file object), in order.

    Raises `InputError` ("<name>: line N: ...") for XML that is malformed, truncated, or not PubMed's.
    """
    if isinstance(source, (str, Path)):
        label = name or str(source)
        try:
            fh: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed in finally, after streaming
        except OSError as exc:
            raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
        try:
            yield from _iter_stream(fh, label)
        finally:
            fh.close()
    else:
        yield from _iter_stream(source, name or getattr(source, "name", None) or "input")


def parse_records(data: bytes, *, name: str = "response") -> list[Article | Deletion]:
    """All records of one PubMed XML document held in memory (an efetch response body)."""
    return list(iter_records(io.BytesIO(data), name=name))


def _iter_stream(fh: IO[bytes], label: str) -> Iterator[Article | Deletion]:
    stream = gunzip_if_gzip(fh, label)
    parser = etree.iterparse(
        stream, events=("end",), tag=RECORD_TAGS,
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
    )
    count = 0
    try:
        for _event, elem in parser:
            try:
                record = _record(elem)
            except InputError as exc:
                raise InputError(f"{label}: line {elem.sourceline}: {exc.message}") from None
            count += 1
            # Free what is parsed: this element and everything before it under the root.
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
            yield record
    except etree.XMLSyntaxError as exc:
        line = max(1, exc.position[0] if exc.position else exc.lineno or 1)
        raise InputError(f"{label}: line {line}: {_syntax_message(exc)}") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{label}: truncated or corrupt gzip data ({exc})") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if count == 0:
        root = parser.root
        if root is None or root.tag != "PubmedArticleSet":
            raise InputError(f"{label}: not PubMed XML ({_describe_root(root)})")


def gunzip_if_gzip(fh: IO[bytes], label: str = "input") -> IO[bytes]:
    """`fh` itself, or its gunzipped content when it starts with gzip's magic bytes (names lie).

    A truncated or corrupt gzip stream raises InputError from `read()`, whoever reads it.
    """
    head = fh.read(2)
    stream = PrefixedStream(head, fh)
    if head == GZIP_MAGIC:
        return _Gunzipped(gzip.GzipFile(fileobj=stream, mode="rb"), label)  # type: ignore[return-value]
    return stream  # type: ignore[return-value]


class _Gunzipped(io.RawIOBase):
    def __init__(self, gz: gzip.GzipFile, label: str) -> None:
        self._gz, self._label = gz, label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        try:
            return self._gz.readinto(buffer)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(f"{self._label}: truncated or corrupt gzip data ({exc})") from None


class PrefixedStream(io.RawIOBase):
    """A read-only stream that gives back the bytes sniffed off its start, then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes] | BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        size = len(buffer)
        data, self._head = self._head[:size], self._head[size:]
        if len(data) < size:
            data += self._rest.read(size - len(data))
        buffer[: len(data)] = data
        return len(data)


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    msg = str(exc.msg or exc).split(", line ")[0].strip()
    if "Document is empty" in msg or "Start tag expected" in msg or "no element found" in msg:
        return f"not XML ({msg})"
    if "Premature end" in msg or "EndTag" in msg or "expected '>'" in msg:
        return f"truncated or malformed XML ({msg})"
    return msg


def _describe_root(root: etree._Element | None) -> str:
    if root is None:
        return "no root element"
    error = root.findtext(".//ERROR") if root.tag != "ERROR" else root.text
    if error:
        return f"NCBI returned an error: {' '.join(error.split())}"
    return f"root element <{root.tag}>, expected <PubmedArticleSet>"


# --- one record ------------------------------------------------------------------------------
# Fields are read by walking children once per level: lxml's find()/findtext() go through
# ElementPath in Python and cost several times more on a 30,000-record file.

Kids = dict  # tag -> [child elements], in document order


def _kids(el: etree._Element | None) -> Kids:
    kids: Kids = {}
    if el is not None:
        for child in el:
            kids.setdefault(child.tag, []).append(child)
    return kids


def _first(kids: Kids, tag: str) -> etree._Element | None:
    found = kids.get(tag)
    return found[0] if found else None


def _text(kids: Kids, tag: str) -> str | None:
    found = kids.get(tag)
    text = found[0].text if found else None
    return text.strip() or None if text else None


def _record(elem: etree._Element) -> Article | Deletion:
    if elem.tag == "DeleteCitation":
        return Deletion(pmids=tuple(p.text.strip() for p in elem if p.tag == "PMID" and p.text))
    raw = etree.tostring(elem, encoding="UTF-8", with_tail=False)
    if elem.tag == "PubmedBookArticle":
        return _book(elem, raw)
    return _article(elem, raw)


def _article(elem: etree._Element, raw: bytes) -> Article:
    top = _kids(elem)
    citation_el = _first(top, "MedlineCitation")
    if citation_el is None:
        raise InputError("a PubmedArticle without MedlineCitation")
    citation = _kids(citation_el)
    article = _kids(_first(citation, "Article"))
    journal = _kids(_first(article, "Journal"))
    issue = _kids(_first(journal, "JournalIssue"))
    pubmed_data = _kids(_first(top, "PubmedData"))
    ids = _ids(_first(pubmed_data, "ArticleIdList"))
    pmid_el = _first(citation, "PMID")

    title = flatten(_first(article, "ArticleTitle")) or flatten(_first(article, "VernacularTitle"))
    abstract = _abstract(_first(article, "Abstract"))
    if not abstract:
        abstract = _abstract(_english_other_abstract(citation.get("OtherAbstract", ())))
    year, pub_date = _pub_date(_first(issue, "PubDate"))
    if year is None:
        year, pub_date = _pub_date(_first(article, "ArticleDate"))
    journal_title = _text(journal, "Title")

    return Article(
        pmid=_pmid(pmid_el),
        title=title,
        abstract=abstract,
        journal=_text(journal, "ISOAbbreviation") or journal_title
        or _text(_kids(_first(citation, "MedlineJournalInfo")), "MedlineTA"),
        journal_title=journal_title,
        year=year,
        pub_date=pub_date,
        authors=_authors(article.get("AuthorList", ())),
        doi=ids.get("doi") or _elocation_doi(article.get("ELocationID", ())),
        pmcid=ids.get("pmc"),
        publication_types=_texts(_children(article, "PublicationTypeList", "PublicationType")),
        mesh=_mesh(_first(citation, "MeshHeadingList")),
        keywords=_texts(_children(citation, "KeywordList", "Keyword")),
        languages=_texts(article.get("Language", ())),
        corrections=_corrections(_first(citation, "CommentsCorrectionsList")),
        date_revised=_iso_date(_first(citation, "DateRevised")),
        status=citation_el.get("Status"),
        version=_version(pmid_el),
        is_book=False,
        raw=raw,
    )


def _book(elem: etree._Element, raw: bytes) -> Article:
    top = _kids(elem)
    doc_el = _first(top, "BookDocument")
    if doc_el is None:
        raise InputError("a PubmedBookArticle without BookDocument")
    doc = _kids(doc_el)
    book = _kids(_first(doc, "Book"))
    pmid_el = _first(doc, "PMID")
    book_title = flatten(_first(book, "BookTitle"))
    pubmed_data = _kids(_first(top, "PubmedBookData"))
    ids = {**_ids(_first(pubmed_data, "ArticleIdList")), **_ids(_first(doc, "ArticleIdList"))}
    year, pub_date = _pub_date(_first(book, "PubDate"))
    return Article(
        pmid=_pmid(pmid_el),
        title=flatten(_first(doc, "ArticleTitle")) or flatten(_first(doc, "VernacularTitle")) or book_title,
        abstract=_abstract(_first(doc, "Abstract")),
        journal=book_title or None,
        journal_title=book_title or None,
        year=year,
        pub_date=pub_date,
        authors=_authors(doc.get("AuthorList") or book.get("AuthorList", ())),
        doi=ids.get("doi"),
        pmcid=ids.get("pmc"),
        publication_types=_texts(doc.get("PublicationType", ())),
        keywords=_texts(_children(doc, "KeywordList", "Keyword")),
        languages=_texts(doc.get("Language", ())),
        date_revised=_iso_date(_first(doc, "DateRevised")),
        version=_version(pmid_el),
        is_book=True,
        raw=raw,
    )


# --- fields -------------------------------------------------------------------------------------


def flatten(el: etree._Element | None) -> str:
    """An element's text with inline markup (<i>, <sup>, MathML, ...) dropped, whitespace collapsed."""
    if el is None:
        return ""
    if len(el) == 0:
        text = el.text
        return " ".join(text.split()) if text else ""
    parts: list[str] = []
    _collect(el, parts)
    return " ".join("".join(parts).split())


def _collect(el: etree._Element, parts: list[str]) -> None:
    if el.text:
        parts.append(el.text)
    for child in el:
        tag = child.tag
        if isinstance(tag, str):  # comments and processing instructions carry no text of ours
            if tag.startswith(MATHML_NS) or tag == "math":
                # MathML is indented token by token: join its tokens tight ("VO2max", "R2").
                parts.append("".join(t.strip() for t in child.itertext()))
            else:
                _collect(child, parts)
        if child.tail:
            parts.append(child.tail)


def _children(kids: Kids, list_tag: str, item_tag: str) -> list[etree._Element]:
    """The <item_tag> children of every <list_tag> (KeywordList/Keyword, ...)."""
    return [item for lst in kids.get(list_tag, ()) for item in lst if item.tag == item_tag]


def _texts(elements: Iterable[etree._Element]) -> tuple[str, ...]:
    return tuple(t for t in (flatten(e) for e in elements) if t)


def _pmid(el: etree._Element | None) -> str:
    pmid = (el.text or "").strip() if el is not None else ""
    if not pmid:
        raise InputError("a PubMed record without a PMID")
    return pmid


def _version(el: etree._Element | None) -> int:
    try:
        return int(el.get("Version", "1")) if el is not None else 1
    except ValueError:
        return 1


def _abstract(abstract: etree._Element | None) -> tuple[AbstractSection, ...]:
    if abstract is None:
        return ()
    sections = []
    for part in abstract:
        if part.tag != "AbstractText":
            continue
        text = flatten(part)
        label = part.get("Label") or None
        if text or label:
            sections.append(AbstractSection(text=text, label=label, category=part.get("NlmCategory") or None))
    return tuple(sections)


def _english_other_abstract(others: Iterable[etree._Element]) -> etree._Element | None:
    # Some records carry their only English abstract as a publisher's OtherAbstract.
    for other in others:
        if other.get("Language", "eng") == "eng":
            return other
    return None


def _authors(lists: Iterable[etree._Element]) -> tuple[str, ...]:
    # Books list editors separately; cite authors, and editors only when there are no authors.
    lists = list(lists)
    authors = [a for lst in lists if lst.get("Type") != "editors" for a in lst if a.tag == "Author"]
    if not authors:
        authors = [a for lst in lists for a in lst if a.tag == "Author"]
    names = []
    for author in authors:
        if author.get("ValidYN") == "N":  # an entry NLM keeps only to record it was wrong
            continue
        parts = _kids(author)
        last = _text(parts, "LastName")
        if last:
            initials = _text(parts, "Initials") or _initials(_text(parts, "ForeName"))
            names.append(f"{last} {initials}" if initials else last)
            continue
        collective = flatten(_first(parts, "CollectiveName"))
        if collective:
            names.append(collective)
    return tuple(names)


def _initials(fore_name: str | None) -> str:
    return "".join(w[0] for w in (fore_name or "").replace("-", " ").split() if w[0].isalpha())


def _ids(id_list: etree._Element | None) -> dict[str, str]:
    ids: dict[str, str] = {}
    if id_list is not None:
        for article_id in id_list:
            kind, value = article_id.get("IdType"), (article_id.text or "").strip()
            if kind and value and kind not in ids:
                ids[kind] = value
    return ids


def _elocation_doi(locations: Iterable[etree._Element]) -> str | None:
    fallback = None
    for loc in locations:
        if loc.get("EIdType") == "doi" and loc.text and loc.text.strip():
            if loc.get("ValidYN", "Y") == "Y":
                return loc.text.strip()
            fallback = fallback or loc.text.strip()
    return fallback


def _mesh(mesh_list: etree._Element | None) -> tuple[MeshHeading, ...]:
    if mesh_list is None:
        return ()
    headings = []
    for heading in mesh_list:
        descriptor = None
        qualifiers: list[str] = []
        major = False
        for part in heading:
            if part.tag == "DescriptorName":
                descriptor = part
                major = major or part.get("MajorTopicYN") == "Y"
            elif part.tag == "QualifierName" and part.text:
                qualifiers.append(part.text.strip())
                major = major or part.get("MajorTopicYN") == "Y"
        if descriptor is None or not descriptor.text:
            continue
        headings.append(MeshHeading(
            descriptor=descriptor.text.strip(), major=major, qualifiers=tuple(qualifiers), ui=descriptor.get("UI"),
        ))
    return tuple(headings)


def _corrections(comments: etree._Element | None) -> tuple[Correction, ...]:
    if comments is None:
        return ()
    found = []
    for item in comments:
        ref_type = item.get("RefType")
        if not ref_type or ref_type in SKIPPED_REFTYPES:
            continue
        parts = _kids(item)
        source = " ".join((_text(parts, "RefSource") or "").split()) or None
        found.append(Correction(ref_type=ref_type, pmid=_text(parts, "PMID"), source=source))
    return tuple(found)


def _month(text: str | None) -> int | None:
    if not text:
        return None
    text = text.strip().lower()
    if text.isdigit():
        month = int(text)
        return month if 1 <= month <= 12 else None
    return MONTHS.get(text[:3]) or SEASONS.get(text)


def _pub_date(date: etree._Element | None) -> tuple[int | None, str | None]:
    """(year, "YYYY[-MM[-DD]]") from a PubDate, ArticleDate or similar Year/Month/Day element."""
    if date is None:
        return None, None
    parts = _kids(date)
    year_text = _text(parts, "Year")
    if year_text and year_text.isdigit():
        year = int(year_text)
        month = _month(_text(parts, "Month")) or _month(_text(parts, "Season"))
        if month is None:
            return year, f"{year:04d}"
        day_text = _text(parts, "Day") or ""
        if day_text.isdigit() and 1 <= int(day_text) <= 31:
            return year, f"{year:04d}-{month:02d}-{int(day_text):02d}"
        return year, f"{year:04d}-{month:02d}"
    medline = _text(parts, "MedlineDate")
    if medline:
        return parse_medline_date(medline)
    return None, None


def parse_medline_date(text: str) -> tuple[int | None, str | None]:
    """"1998 Dec-1999 Jan" -> (1998, "1998-12"); "2000 Spring" -> (2000, "2000-03"); the first year wins."""
    match = YEAR.search(text)
    if not match:
        return None, None
    year = int(match.group(1))
    rest = text[match.end():].strip().split()
    month = _month(rest[0].split("-")[0]) if rest else None
    return year, (f"{year:04d}-{month:02d}" if month else f"{year:04d}")


def _iso_date(date: etree._Element | None) -> str | None:
    """DateRevised and the like as "YYYY-MM-DD" (or as precise as given)."""
    year, pub_date = _pub_date(date)
    return pub_date if year is not None else None
