"""PubMed XML (efetch output, the PubMed site's export, baseline and update files) -> Articles.

`iter_records` streams with lxml's iterparse: each `PubmedArticle`, `PubmedBookArticle` and
`DeleteCitation` is turned into an `Article` or a `Deletion`, then cleared with its preceding
siblings, so memory stays flat on a 30,000-record baseline file. `split_records` cuts the stream
into each record's bytes instead, for `parse_record` to parse elsewhere (`evidence import`'s
worker processes); both read the same fields. `cut_document` makes the same cut in an efetch
answer held in memory, so that `evidence refresh`'s workers can each parse a part of it. Gzip is
detected by its magic bytes. No DTD is loaded and nothing is fetched: old files name an http://
DTD, new ones add tags we ignore.
"""

from __future__ import annotations

import bisect
import gzip
import io
import itertools
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO, NamedTuple

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
    if "not proper UTF-8" in msg or "Invalid bytes in character encoding" in msg:
        return f"not UTF-8 text ({msg})"
    return msg


def _describe_root(root: etree._Element | None) -> str:
    if root is None:
        return "no root element"
    error = root.findtext(".//ERROR") if root.tag != "ERROR" else root.text
    if error:
        return f"NCBI returned an error: {' '.join(error.split())}"
    return f"root element <{root.tag}>, expected <PubmedArticleSet>"


# --- cutting a stream into records ------------------------------------------------------------
# `evidence import` and `evidence refresh` parse records in worker processes: their own process
# only cuts the stream (or the efetch answer) between records, which costs a fraction of
# parsing. The cut is exact, not a guess: a record ends at the first `</Name>` after its start
# unless a comment, CDATA section or processing instruction (which may hide a `</Name>`) or a
# nested `<Name` lies before it; then that record is tokenized markup by markup. Well-formedness
# inside a record is lxml's to check when the record is parsed. Documents this cut does not cover
# (a declared encoding other than UTF-8, a root other than PubmedArticleSet, an internal DTD
# subset, namespaces declared on the root: none in PubMed's own files) are parsed whole, as
# `iter_records` does.

BLOCK_SIZE = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_NAME = re.compile(rb"[^\s/>=\"'<]+")
_BLANKS = re.compile(rb"[ \t\r\n]*")
_QUOTE_OR_GT = re.compile(rb"[\"'>]")
_DOCTYPE_PART = re.compile(rb"[\"'\[>]")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_RECORD_NAMES = frozenset(t.encode() for t in RECORD_TAGS)
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
_RECORD_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


class RecordBytes(NamedTuple):
    """One PubmedArticle or PubmedBookArticle exactly as it is in the file, and its first line."""

    data: bytes
    line: int


def split_records(source: IO[bytes], *, name: str | None = None) -> Iterator[RecordBytes | Article | Deletion]:
    """Each record of a PubMed XML stream (plain or gzip), in order: articles as `RecordBytes`
    for `parse_record`, DeleteCitation blocks parsed (`Deletion`). A document the cut does not
    cover yields parsed Articles instead (see above). Raises InputError ("<name>: line N: ...")
    for a truncated file, text or foreign elements between records, or what `iter_records` rejects.
    """
    label = name or getattr(source, "name", None) or "input"
    stream = gunzip_if_gzip(source, label)
    cutter = _Cutter(stream, label)
    try:
        try:
            cutter.prolog()
        except _Uncut:
            yield from _iter_stream(io.BufferedReader(PrefixedStream(cutter.buf, stream)), label)
            return
        yield from cutter.records()
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None


def parse_record(data: bytes, line: int = 1, *, name: str = "input") -> Article | Deletion:
    """One record's bytes (`RecordBytes.data`, which starts on `line` of file `name`) as an
    Article or Deletion: the fields `iter_records` reads, and the bytes themselves as raw XML."""
    try:
        elem = etree.fromstring(data, _RECORD_PARSER)
    except etree.XMLSyntaxError as exc:
        where = max(1, exc.position[0] if exc.position else exc.lineno or 1) + line - 1
        message = _LINE_IN_MESSAGE.sub(lambda m: f"line {int(m.group(1)) + line - 1}", _syntax_message(exc))
        raise InputError(f"{name}: line {where}: {message}") from None
    try:
        if elem.tag not in RECORD_TAGS:
            raise InputError(f"<{elem.tag}> is not a PubMed record")
        return _record(elem, data)
    except InputError as exc:
        raise InputError(f"{name}: line {line}: {exc.message}") from None


# A record's own PMID is the first child of its MedlineCitation (or BookDocument); the PMIDs of
# CommentsCorrections and references sit deeper and are not matched.
RECORD_PMID = re.compile(rb"<(?:MedlineCitation|BookDocument)\b[^>]*>\s*<PMID\b[^>]*>\s*(\d+)\s*</PMID>")


class DocumentCut(NamedTuple):
    """A PubMed XML document held in memory (an efetch answer) and what `cut_document` found in it."""

    data: bytes
    pmids: list[str]  # each record's own PMID, in order (a DeleteCitation has none of its own)
    starts: list[int]  # where each record starts; empty when the document was not cut
    head_end: int = 0  # just after the root's start tag
    root_close: int = 0  # where the root's end tag starts

    def split(self, parts: int) -> list[bytes]:
        """The document as up to `parts` documents of about equal size, cut before records, each
        whole (the prolog and the root's tags repeated): parsed one by one, they give its records
        in order. [data] when it holds fewer than two records or was not cut."""
        starts, head_end, close = self.starts, self.head_end, self.root_close
        if parts < 2 or len(starts) < 2:
            return [self.data]
        cuts = [head_end]
        for i in range(1, parts):  # the first record start past the last cut and past i/parts of the bytes
            at = bisect.bisect_left(starts, max(cuts[-1] + 1, head_end + (close - head_end) * i // parts))
            if at == len(starts):
                break
            cuts.append(starts[at])
        if len(cuts) < 2:
            return [self.data]
        cuts.append(close)
        head, tail, view = self.data[:head_end], self.data[close:], memoryview(self.data)
        return [b"".join((head, view[a:b], tail)) for a, b in itertools.pairwise(cuts)]


def cut_document(data: bytes) -> DocumentCut:
    """Where the records of a PubMed XML document held in memory start, by the exact cut, and
    their own PMIDs. A document the cut leaves to lxml or finds malformed is not cut: its PMIDs
    are then those a scan finds, and parsing it whole gives its records or says what is wrong."""
    cutter = _Cutter(None, "document", data)
    starts: list[int] = []
    pmids: list[str] = []
    try:
        cutter.prolog()
        for _name, start, end, _line in cutter.spans():
            starts.append(start)
            found = RECORD_PMID.search(data, start, end)
            if found is not None:
                pmids.append(found.group(1).decode())
    except (_Uncut, InputError):
        return DocumentCut(data, [m.decode() for m in RECORD_PMID.findall(data)], [])
    return DocumentCut(data, pmids, starts, cutter.head_end, cutter.root_close)


class _Uncut(Exception):
    """The document's prolog is one the cutter leaves to lxml (see above)."""


class _Cutter:
    """A block buffer over the stream: `pos` is where the next markup starts, `line` its line."""

    def __init__(self, stream: IO[bytes] | None, label: str, whole: bytes = b"") -> None:
        """A stream read block by block, or (`stream` None) a `whole` document already in memory,
        never moved: positions are then offsets in it."""
        self._stream, self._label = stream, label
        self.buf = whole
        self.pos = 0
        self.line = 1
        self._eof = stream is None
        self._root_open = False
        self.head_end = self.root_close = -1  # after the root's start tag; where its end tag starts

    # -- the buffer --

    def _read(self) -> bool:
        """Append a block, at least as large as the buffer (a huge record costs linear time).
        Only `_compact` moves bytes, between records: positions stay valid inside one."""
        if self._eof or self._stream is None:
            return False
        block = self._stream.read(max(BLOCK_SIZE, len(self.buf) - self.pos))
        if not block:
            self._eof = True
            return False
        self.buf += block
        return True

    def _compact(self) -> None:
        if self.pos >= BLOCK_SIZE and self._stream is not None:
            self.buf = self.buf[self.pos:]
            self.pos = 0

    def _find(self, needle: bytes, start: int) -> int:
        """Where `needle` is at or after `start`, reading on as needed; -1 at the end."""
        while True:
            found = self.buf.find(needle, start)
            if found >= 0:
                return found
            start = max(start, len(self.buf) - len(needle) + 1)
            if not self._read():
                return -1

    def _search(self, pattern: re.Pattern, start: int) -> re.Match | None:
        """`pattern` (one byte long) at or after `start`, reading on as needed."""
        while True:
            match = pattern.search(self.buf, start)
            if match is not None:
                return match
            start = max(start, len(self.buf))
            if not self._read():
                return None

    def _name(self, at: int) -> re.Match | None:
        """The element name starting at `at`, read whole."""
        self._have(at + 1)
        while True:
            match = _NAME.match(self.buf, at)
            if match is None or match.end() < len(self.buf) or not self._read():
                return match

    def _have(self, end: int) -> None:
        """The bytes up to `end` in the buffer, unless the stream ends first."""
        while len(self.buf) < end and self._read():
            pass

    def _advance(self, to: int) -> None:
        if self._stream is not None:  # lines are for messages about files; a document in memory is only cut
            self.line += self.buf.count(b"\n", self.pos, to)
        self.pos = to

    def _skip_blank(self) -> bool:
        """Move past whitespace; False at the end of the stream."""
        while True:
            at = _BLANKS.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # matches ""
            self._advance(at)
            if at < len(self.buf):
                return True
            if not self._read():
                return False

    # -- markup --

    def _skip_past(self, end_marker: bytes, start: int) -> int:
        """The index just after `end_marker` (a comment's, PI's or CDATA's end); truncated at EOF."""
        found = self._find(end_marker, start)
        if found < 0:
            raise self._truncated()
        return found + len(end_marker)

    def _start_tag(self, at: int) -> tuple[bytes, int, bool]:
        """(name, index after its `>`, self-closing) of the start tag at `at` (== pos)."""
        match = self._name(at + 1)
        if match is None:
            raise self._malformed("a '<' that starts no element")
        name = match.group()
        end = match.end()
        while True:
            found = self._search(_QUOTE_OR_GT, end)
            if found is None:
                raise self._truncated()
            if found.group() == b">":
                return name, found.end(), self.buf[found.start() - 1] == 0x2F  # "/>"
            end = self._skip_past(found.group(), found.end())

    def _end_tag(self, at: int) -> tuple[bytes, int]:
        """(name, index after its `>`) of the end tag at `at`."""
        match = self._name(at + 2)
        close = self._find(b">", at + 2)
        if match is None or close < 0 or self.buf[match.end():close].strip(_WHITESPACE):
            raise self._truncated() if close < 0 else self._malformed("a malformed end tag")
        return match.group(), close + 1

    def _markup_end(self, at: int) -> int | None:
        """The end of a comment, PI or CDATA section at `at`, or None if none starts there."""
        self._have(at + 9)
        buf = self.buf
        if buf.startswith(b"<!--", at):
            return self._skip_past(b"-->", at + 4)
        if buf.startswith(b"<?", at):
            return self._skip_past(b"?>", at + 2)
        if buf.startswith(b"<![CDATA[", at):
            return self._skip_past(b"]]>", at + 9)
        return None

    # -- the prolog --

    def prolog(self) -> None:
        """Read up to and including the root's start tag; _Uncut when lxml should read it all."""
        self._read()
        if self.buf.startswith(UTF8_BOM):
            self.pos = len(UTF8_BOM)
        while True:
            if not self._skip_blank():
                raise _Uncut  # empty: lxml's words for it
            at = self.pos
            self._have(at + 10)
            buf = self.buf
            if buf.startswith(b"<?xml", at):
                end = self._find(b"?>", at)
                if end < 0:
                    raise _Uncut
                encoding = _ENCODING.search(self.buf, at, end)
                if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
                    raise _Uncut
                self._advance(end + 2)
            elif buf.startswith(b"<!--", at) or (buf.startswith(b"<?", at)):
                end = self._find(b"-->" if buf[at + 1] == 0x21 else b"?>", at + 2)
                if end < 0:
                    raise _Uncut
                self._advance(end + (3 if buf[at + 1] == 0x21 else 2))
            elif buf.startswith(b"<!DOCTYPE", at):
                self._advance(self._doctype_end(at))
            elif buf.startswith(b"<", at) and self._name(at + 1):
                try:
                    name, end, empty = self._start_tag(at)
                except InputError:
                    raise _Uncut from None
                if name != b"PubmedArticleSet" or b"xmlns" in self.buf[at:end]:
                    raise _Uncut
                self._advance(end)
                self.head_end = end
                self._root_open = not empty
                return
            else:
                raise _Uncut

    def _doctype_end(self, at: int) -> int:
        end = at + 9
        while True:
            found = self._search(_DOCTYPE_PART, end)
            if found is None or found.group() == b"[":  # an internal subset may declare entities
                raise _Uncut
            if found.group() == b">":
                return found.end()
            close = self._find(found.group(), found.end())
            if close < 0:
                raise _Uncut
            end = close + 1

    # -- the records --

    def records(self) -> Iterator[RecordBytes | Deletion]:
        for name, start, end, line in self.spans():
            data = self.buf[start:end]  # before the next span: only then may the buffer move
            if name == b"DeleteCitation":
                yield parse_record(data, line, name=self._label)  # type: ignore[misc]
            else:
                yield RecordBytes(data, line)

    def spans(self) -> Iterator[tuple[bytes, int, int, int]]:
        """(name, start, end, line) of each record: `buf[start:end]` until the next is asked for.
        At the end, `root_close` is where the root's end tag starts."""
        open_root = self._root_open
        while True:
            self._compact()
            at = self._find(b"<", self.pos)
            gap = self.buf[self.pos:at if at >= 0 else len(self.buf)]
            if gap.strip(_WHITESPACE):
                self._advance(self.pos + len(gap) - len(gap.lstrip(_WHITESPACE)))
                raise self._malformed("Extra content at the end of the document" if not open_root
                                      else "text between records, where PubMed XML has none")
            if at < 0:
                if open_root:
                    self._advance(len(self.buf))
                    raise self._truncated("the file ends inside <PubmedArticleSet>")
                return
            self._advance(at)
            self._have(at + 2)
            mark = self.buf[at + 1:at + 2]
            end = self._markup_end(at) if mark in (b"!", b"?") else None
            if end is not None:
                if self.buf.startswith(b"<![CDATA[", at) and self.buf[at + 9:end - 3].strip(_WHITESPACE):
                    raise self._malformed("text between records, where PubMed XML has none")
                self._advance(end)
                continue
            if not open_root:
                raise self._malformed("Extra content at the end of the document")
            if mark == b"/":
                name, end = self._end_tag(at)
                if name != b"PubmedArticleSet":
                    raise self._malformed(f"an end tag </{name.decode('utf-8', 'replace')}> "
                                          "where <PubmedArticleSet> ends")
                self.root_close = at
                self._advance(end)
                open_root = False
                continue
            match = self._name(at + 1)
            name = match.group() if match else b""
            if name not in _RECORD_NAMES:
                shown = name.decode("utf-8", "replace") or self.buf[at:at + 10].decode("utf-8", "replace")
                raise self._malformed(f"<{shown}> where a PubMed record was expected")
            end = self._record_end(name, at)
            line = self.line
            self._advance(end)
            yield name, at, end, line

    def _record_end(self, name: bytes, at: int) -> int:
        """The index just after the record starting at `at` (== pos). The record's name is searched
        for once: the first time it follows "</" is its end tag, unless "<" and the name (a
        nested record) come first."""
        size = len(name)
        start = at + 1 + size
        while True:
            found = self._find(name, start)
            if found < 0:  # a self-closing record, or the file ends inside it
                return self._tokenized_end(at)
            self._have(found + size + 1)
            after = self.buf[found + size:found + size + 1]
            if self.buf[found - 2:found] == b"</":
                if after == b">":
                    end = found + size + 1
                    break
                if after and after in _WHITESPACE:
                    gt = self._find(b">", found)
                    if gt >= 0 and not self.buf[found + size:gt].strip(_WHITESPACE):
                        end = gt + 1
                        break
            elif self.buf[found - 1] == 0x3C and after and after in b" \t\r\n/>":  # "<": a nested record
                return self._tokenized_end(at)
            start = found + 1
        if self._has_special(at, end):
            return self._tokenized_end(at)
        return end

    def _has_special(self, start: int, end: int) -> bool:
        """Whether a comment, CDATA section, DOCTYPE or PI starts in buf[start:end]: every "!" and
        "?" (rare in records, and found by memchr, unlike "<!") is checked for a "<" before it."""
        buf = self.buf
        for mark in (b"!", b"?"):
            found = buf.find(mark, start + 1, end)
            while found >= 0:
                if buf[found - 1] == 0x3C:  # "<"
                    return True
                found = buf.find(mark, found + 1, end)
        return False

    def _tokenized_end(self, at: int) -> int:
        """The record's end found markup by markup: depth counts elements, and comments, CDATA
        sections and PIs are skipped whole."""
        depth = 0
        position = at
        while True:
            lt = self._find(b"<", position)
            if lt < 0:
                raise self._truncated_record(self.pos)
            end = self._markup_end(lt)
            if end is None:
                if self.buf.startswith(b"</", lt):
                    close = self._find(b">", lt)
                    if close < 0:
                        raise self._truncated_record(self.pos)
                    depth -= 1
                    end = close + 1
                elif self.buf.startswith(b"<!", lt):  # a DOCTYPE inside an element: lxml rejects it
                    close = self._find(b">", lt)
                    if close < 0:
                        raise self._truncated_record(self.pos)
                    end = close + 1
                else:
                    try:
                        _, end, empty = self._start_tag(lt)
                    except InputError:
                        raise self._truncated_record(self.pos) from None
                    depth += 0 if empty else 1
            if depth <= 0:
                return end
            position = end

    # -- errors --

    def _truncated_record(self, at: int) -> InputError:
        """The record from `at` (== pos) to the end of the stream, parsed for lxml's words."""
        try:
            parse_record(self.buf[at:], self.line, name=self._label)
        except InputError as exc:
            return exc
        return self._truncated()

    def _truncated(self, what: str = "the file ends inside a markup") -> InputError:
        return InputError(f"{self._label}: line {self.line}: truncated or malformed XML ({what})")

    def _malformed(self, what: str) -> InputError:
        return InputError(f"{self._label}: line {self.line}: {what}")


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


def _record(elem: etree._Element, raw: bytes | None = None) -> Article | Deletion:
    """The record `elem` is; `raw`: its bytes as they are in the file (default: serialized)."""
    if elem.tag == "DeleteCitation":
        return Deletion(pmids=tuple(p.text.strip() for p in elem if p.tag == "PMID" and p.text))
    if raw is None:
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
