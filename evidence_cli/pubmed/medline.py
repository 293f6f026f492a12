"""MEDLINE text (PubMed's "PubMed format", .nbib, efetch rettype=medline) -> Articles.

Records are blank-line separated blocks of `TAG - value` lines with 6-space continuation lines.
Each block is kept as the record's raw bytes; Bio.Medline reads its fields. MEDLINE text
has no structured abstracts, so inline labels ("BACKGROUND: ... METHODS: ...") are split here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from Bio import Medline

from evidence_cli.errors import InputError
from evidence_cli.pubmed.model import AbstractSection, Article, Correction, MeshHeading
from evidence_cli.pubmed.xml import MONTHS, parse_medline_date

# MEDLINE comment/correction tags -> the XML's CommentsCorrections RefType.
CORRECTION_TAGS = {
    "CIN": "CommentIn", "CON": "CommentOn", "EIN": "ErratumIn", "EFR": "ErratumFor",
    "RIN": "RetractionIn", "ROF": "RetractionOf", "UIN": "UpdateIn", "UOF": "UpdateOf",
    "ECI": "ExpressionOfConcernIn", "ECF": "ExpressionOfConcernFor",
    "RPI": "RepublishedIn", "RPF": "RepublishedFrom",
    "CRI": "CorrectedandRepublishedIn", "CRF": "CorrectedandRepublishedFrom",
    "RRI": "RetractedandRepublishedIn", "RRF": "RetractedandRepublishedFrom",
    "SPIN": "SummaryForPatientsIn", "ORI": "OriginalReportIn",
}
CORRECTION_PMID = re.compile(r"\s*PMID:\s*(\d+)\s*$")

# "BACKGROUND: ..." at the start of the abstract or after a sentence: an upper-case label.
INLINE_LABEL = re.compile(r"(?:^|(?<=[.?!)]\s))([A-Z][A-Z0-9 ,&/'-]{2,60}[A-Z0-9]):\s")
LABEL_CATEGORY = {
    "BACKGROUND": "BACKGROUND", "INTRODUCTION": "BACKGROUND", "CONTEXT": "BACKGROUND",
    "OBJECTIVE": "OBJECTIVE", "OBJECTIVES": "OBJECTIVE", "AIM": "OBJECTIVE", "AIMS": "OBJECTIVE",
    "PURPOSE": "OBJECTIVE",
    "METHODS": "METHODS", "METHOD": "METHODS", "DESIGN": "METHODS", "MATERIALS AND METHODS": "METHODS",
    "RESULTS": "RESULTS", "FINDINGS": "RESULTS",
    "CONCLUSION": "CONCLUSIONS", "CONCLUSIONS": "CONCLUSIONS", "INTERPRETATION": "CONCLUSIONS",
}


def iter_medline(lines: Iterable[str] | Iterable[bytes], *, name: str = "input") -> Iterator[Article]:
    """Yield an Article per MEDLINE record of a stream of lines (text, or UTF-8 bytes: a binary file)."""
    for first_line, block in _blocks(lines, name):
        yield medline_article(block, name=name, line=first_line)


def _blocks(lines: Iterable[str] | Iterable[bytes], name: str) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated records, each as (its first line number, its lines)."""
    block: list[str] = []
    start = number = 0
    stream: Iterator[str | bytes] = iter(lines)
    while True:
        try:
            line = next(stream)
        except StopIteration:
            break
        except UnicodeDecodeError:
            raise InputError(f"{name}: line {number + 1}: not UTF-8 text") from None
        number += 1
        if isinstance(line, bytes):  # decoded here, line by line, so an error names its line
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{name}: line {number}: not UTF-8 text") from None
        line = line.rstrip("\r\n")
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def medline_article(block: list[str], *, name: str = "input", line: int = 1) -> Article:
    """One MEDLINE record (its lines, no blank line inside) -> Article."""
    if not block[0][:4].strip() or block[0][4:6] != "- ":
        raise InputError(f"{name}: line {line}: not MEDLINE text (expected 'PMID- ...', got {block[0][:40]!r})")
    record = Medline.read(_logical_lines(block))
    pmid = (record.get("PMID") or "").strip()
    if not pmid.isdigit():
        raise InputError(f"{name}: line {line}: a MEDLINE record without a PMID")
    year, pub_date = _date(record.get("DP", ""))
    aids = list(record.get("AID", []))
    if record.get("LID"):
        aids.insert(0, record["LID"])
    return Article(
        pmid=pmid,
        title=_clean(record.get("TI") or record.get("TT") or record.get("BTI", [""])[0]),
        abstract=split_abstract(_clean(record.get("AB", ""))),
        journal=record.get("TA") or record.get("JT") or None,
        journal_title=record.get("JT") or None,
        year=year,
        pub_date=pub_date,
        authors=tuple(record.get("AU") or [_short_name(n) for n in record.get("FAU", [])]) + tuple(record.get("CN", [])),
        doi=_tagged_id(aids, "doi"),
        pmcid=(record.get("PMC") or "").strip() or None,
        publication_types=tuple(record.get("PT", [])),
        mesh=tuple(_mesh(m) for m in record.get("MH", [])),
        keywords=tuple(record.get("OT", [])),
        languages=tuple(record.get("LA", [])),
        corrections=tuple(_corrections(record)),
        date_revised=_yyyymmdd(record.get("LR")),
        status=record.get("STAT") or None,
        is_book="BTI" in record and "TA" not in record,
        raw=("\n".join(block) + "\n").encode("utf-8"),
    )


def _logical_lines(block: list[str]) -> list[str]:
    # Bio.Medline splits a wrapped value of a list tag (AU, CIN, ...) into two items: join first.
    logical: list[str] = []
    for line in block:
        if line.startswith("      ") and logical:
            logical[-1] += " " + line.strip()
        else:
            logical.append(line)
    return [line + "\n" for line in logical]


def _short_name(full: str) -> str:
    """FAU "Casbon, James A" -> "Casbon JA", as AU writes it (for records that carry FAU only)."""
    last, _, fore = full.partition(",")
    initials = "".join(w[0] for w in fore.replace("-", " ").split() if w[:1].isalpha())
    return f"{last.strip()} {initials}".strip()


def _clean(text: str) -> str:
    return " ".join(text.split())


def split_abstract(text: str) -> tuple[AbstractSection, ...]:
    """An abstract with inline labels ("BACKGROUND: ... RESULTS: ...") -> one section per label."""
    if not text:
        return ()
    labels = list(INLINE_LABEL.finditer(text))
    if not labels or labels[0].start() != 0:
        return (AbstractSection(text=text),)
    sections = []
    for i, match in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        label = match.group(1).strip()
        sections.append(AbstractSection(
            text=text[match.end():end].strip(), label=label, category=LABEL_CATEGORY.get(label),
        ))
    return tuple(sections)


def _date(dp: str) -> tuple[int | None, str | None]:
    """"2006 Mar 1" -> (2006, "2006-03-01"); "1998 Dec-1999 Jan" -> (1998, "1998-12")."""
    parts = dp.split()
    if len(parts) >= 3 and parts[0].isdigit() and parts[2].isdigit():
        month = MONTHS.get(parts[1][:3].lower()) if "-" not in parts[1] else None
        if month and 1 <= int(parts[2]) <= 31:
            return int(parts[0]), f"{int(parts[0]):04d}-{month:02d}-{int(parts[2]):02d}"
    return parse_medline_date(dp)


def _yyyymmdd(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return None


def _tagged_id(values: list[str], kind: str) -> str | None:
    suffix = f"[{kind}]"
    for value in values:
        value = value.strip()
        if value.endswith(suffix):
            return value[: -len(suffix)].strip() or None
    return None


def _mesh(term: str) -> MeshHeading:
    """"Sequence Alignment/*methods/statistics & numerical data" -> MeshHeading, * = major topic."""
    descriptor, *qualifiers = term.split("/")
    major = descriptor.startswith("*") or any(q.startswith("*") for q in qualifiers)
    return MeshHeading(
        descriptor=descriptor.lstrip("*").strip(),
        major=major,
        qualifiers=tuple(q.lstrip("*").strip() for q in qualifiers),
    )


def _corrections(record: dict) -> Iterator[Correction]:
    for tag, ref_type in CORRECTION_TAGS.items():
        for value in record.get(tag, []):
            match = CORRECTION_PMID.search(value)
            source = value[: match.start()] if match else value
            yield Correction(ref_type=ref_type, pmid=match.group(1) if match else None, source=_clean(source) or None)
