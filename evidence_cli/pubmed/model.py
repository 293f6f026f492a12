"""The parsed PubMed record: the one shape every parser produces and every consumer reads.

Pure data, no I/O. `tagging`, `store` and `render` read these; `pubmed.xml` and
`pubmed.medline` build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# CommentsCorrections RefTypes that bear on a record's integrity.
INTEGRITY_REFTYPES = frozenset(
    {"RetractionIn", "RetractionOf", "ErratumIn", "ErratumFor",
     "ExpressionOfConcernIn", "ExpressionOfConcernFor", "UpdateIn", "UpdateOf",
     "RepublishedIn", "RepublishedFrom", "CommentIn", "CommentOn"}
)


@dataclass(frozen=True, slots=True)
class AbstractSection:
    """One `AbstractText` element: its label as printed, NLM's category, and its text."""

    text: str
    label: str | None = None  # "RESULTS", "Methods and findings", ... as NCBI gives it
    category: str | None = None  # NlmCategory: BACKGROUND OBJECTIVE METHODS RESULTS CONCLUSIONS UNASSIGNED


@dataclass(frozen=True, slots=True)
class MeshHeading:
    descriptor: str
    major: bool = False  # descriptor or any of its qualifiers is a major topic
    qualifiers: tuple[str, ...] = ()
    ui: str | None = None  # descriptor UI, e.g. "D000928"


@dataclass(frozen=True, slots=True)
class Correction:
    """A CommentsCorrections link: `ref_type` ("RetractionIn", ...) to another record."""

    ref_type: str
    pmid: str | None = None
    source: str | None = None  # RefSource, e.g. "J Psychiatr Res. 2020;1:2"


@dataclass(frozen=True, slots=True)
class Article:
    """A PubMed citation as the tool uses it. Strings are plain text (markup stripped)."""

    pmid: str
    title: str = ""
    abstract: tuple[AbstractSection, ...] = ()
    journal: str | None = None  # ISO abbreviation when given, else the full title
    journal_title: str | None = None
    year: int | None = None
    pub_date: str | None = None  # "2021-03-15", "2021-03" or "2021": as precise as the record
    authors: tuple[str, ...] = ()  # "Zarate CA", or a collective name
    doi: str | None = None
    pmcid: str | None = None
    publication_types: tuple[str, ...] = ()
    mesh: tuple[MeshHeading, ...] = ()
    keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    corrections: tuple[Correction, ...] = ()
    date_revised: str | None = None  # PubMed's DateRevised, ISO date: changes when NCBI edits the record
    status: str | None = None  # MedlineCitation Status ("MEDLINE", "In-Process", ...)
    version: int = 1
    is_book: bool = False
    raw: bytes | None = field(default=None, repr=False, compare=False)  # the record as received

    @property
    def abstract_text(self) -> str:
        """The abstract as one text, section labels kept as 'LABEL: text' paragraphs."""
        return "\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in self.abstract)

    @property
    def first_author(self) -> str | None:
        return self.authors[0] if self.authors else None

    @property
    def mesh_descriptors(self) -> tuple[str, ...]:
        return tuple(m.descriptor for m in self.mesh)


@dataclass(frozen=True, slots=True)
class Deletion:
    """A `DeleteCitation` block of an update file: these PMIDs leave PubMed."""

    pmids: tuple[str, ...]
