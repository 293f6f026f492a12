"""Turn a draft (plain text, Markdown, or a web page saved as text or HTML) into its prose.

Pure functions, no I/O. A saved page carries chrome around the article ("Connect with us",
"Avatar photo", "Click to comment", share buttons, cookie banners, menus); none of that makes a
claim, so it is dropped here. Short lines without sentence punctuation are headings: they make
no claim themselves, but a heading such as "Rapid Onset of Relief:" says what the paragraph
below it is about, so each paragraph keeps the heading it sits under.

Sentence splitting is passed in (`split`), so the draft is cut with the same splitter the tagger
uses on abstracts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Splitter = Callable[[str], list[str]]

# Whole lines that are page chrome, compared lower-cased with punctuation dropped.
CHROME_LINES = frozenset(
    {
        "connect with us", "follow us", "avatar photo", "click to comment", "leave a reply", "leave a comment",
        "continue reading", "read more", "read next", "share", "share this", "share this article",
        "share this post", "tweet", "pin", "pin it", "email", "print", "facebook", "twitter", "linkedin",
        "whatsapp", "pinterest", "reddit", "telegram", "copy link", "login", "log in", "sign in", "sign up",
        "register", "subscribe", "menu", "main menu", "home", "search", "close", "skip to content",
        "skip to main content", "toggle navigation", "related posts", "related articles", "related stories",
        "you may also like", "you might also like", "more stories", "recommended", "advertisement", "sponsored",
        "trending", "popular posts", "recent posts", "latest news", "comments", "comment", "reply", "previous",
        "next", "previous article", "next article", "back to top", "accept", "accept all", "reject all",
        "decline", "cookie settings", "manage cookies", "privacy policy", "terms of service", "terms of use",
        "contact us", "about us", "newsletter", "like this", "loading", "table of contents", "listen to this article",
    }
)

# Chrome recognised by a pattern anywhere in a line (bylines, counters, banners, footers).
CHROME_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bcookies?\b.*\b(use|uses|accept|consent|settings|policy|browsing|continu\w*|experience)\b",
        r"\b(use|accept|consent to)\b.*\bcookies?\b",
        r"logged in to (post|leave) a comment",
        r"^(posted|published|updated|written)( on| in| by)?\s*[:\-]?\s*\w+.*\d{4}\s*$",
        r"^(posted|written) by\b",
        r"^by\s+[A-Z][\w.'-]+(\s+[A-Z][\w.'-]+){0,3}\s*$",
        r"©|\(c\)\s*\d{4}|all rights reserved",
        r"^(tags?|categories|category|filed under|topics?)\s*:",
        r"^share (on|via|this|to)\b",
        r"^\d+\s+(comments?|shares?|views?|likes?|responses?)\s*$",
        r"^\d+\s+min(ute)?s?\s+read\s*$",
        r"\b(sign up|subscribe) (for|to) (our|the) (newsletter|updates|mailing list)\b",
        r"^(image|photo|picture)( credit| source)?\s*:",
        r"^(advertisement|sponsored content)\b",
    )
)

NAV_SEPARATORS = re.compile(r"\s[|•·»›/]\s|\s>\s")
TERMINAL = re.compile(r"[.!?…][\"'”’)\]]*$")
WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
MIN_UNPUNCTUATED_PROSE_WORDS = 12  # a line this long is prose even without a final full stop
MAX_HEADING_WORDS = 14

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_HR = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_MD_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_MD_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_MD_CODE = re.compile(r"`([^`]*)`")
_WHOLE_BOLD = re.compile(r"^\s*(\*\*|__)(.+?)\1\s*:?\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INLINE_TAG = re.compile(r"<[^>\n]{1,200}>")
_HTML_HINT = re.compile(r"<\s*(!doctype|html|head|body|div|p|article|main|section|span|h[1-6])\b", re.IGNORECASE)

HTML_BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "li", "ul", "ol", "br", "tr", "td", "th", "table",
     "blockquote", "pre", "figure", "figcaption", "dd", "dt", "hr"}
)
HTML_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
HTML_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "button", "svg",
             "iframe", "template", "select", "label", "input", "menu", "dialog")
# class/id words of page furniture: cookie banners, share bars, comment boxes, menus.
HTML_CHROME_ATTR = re.compile(
    r"(^|[\s_-])(cookie|consent|gdpr|banner|share|sharing|social|comments?|respond|menu|navbar|nav|"
    r"sidebar|widget|footer|masthead|breadcrumbs?|newsletter|subscribe|related|advert|ads?|promo|"
    r"popup|modal|author-box|avatar|byline|meta|tags)($|[\s_-])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DraftSentence:
    """One sentence of the draft's prose, with the heading of the section it sits in."""

    text: str
    heading: str | None = None  # the nearest heading above the paragraph ("Rapid Onset of Relief")
    paragraph: int = 0  # index of the paragraph in the draft
    position: int = 0  # index of the sentence in its paragraph
    lead: bool = False  # the paragraph sits directly below its heading


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    heading: str | None
    lead: bool


def looks_like_html(text: str) -> bool:
    head = text[:5000]
    return len(_HTML_HINT.findall(head)) >= 2 or head.lstrip().lower().startswith(("<!doctype", "<html"))


def html_to_text(html: str) -> str:
    """The readable text of a page, one block per paragraph, headings marked `#` (as Markdown)."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):  # nothing parseable: read the page as text
        return _INLINE_TAG.sub(" ", html)
    for element in list(root.iter(*HTML_DROP)):
        _drop(element)
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        attrs = f"{element.get('class', '')} {element.get('id', '')} {element.get('role', '')}"
        if element.tag not in ("html", "body", "main", "article") and HTML_CHROME_ATTR.search(attrs):
            _drop(element)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in HTML_HEADINGS:
            element.text = "\n\n# " + (element.text or "")
            element.tail = "\n\n" + (element.tail or "")
        elif element.tag in HTML_BLOCKS:
            element.text = "\n\n" + (element.text or "") if element.tag != "br" else element.text
            element.tail = ("\n" if element.tag == "br" else "\n\n") + (element.tail or "")
    return root.text_content()


def _drop(element) -> None:
    if element.getparent() is not None:
        element.drop_tree()


def is_chrome(line: str) -> bool:
    """True for a line of page furniture: menus, share buttons, bylines, cookie banners."""
    stripped = line.strip()
    bare = " ".join(WORD.findall(stripped.lower().replace("&", " and ")))
    if not bare:
        return True  # punctuation, emoji, separators
    if bare in CHROME_LINES or bare.replace(" and ", " ") in CHROME_LINES:
        return True
    if any(p.search(stripped) for p in CHROME_PATTERNS):
        return True
    return len(NAV_SEPARATORS.findall(stripped)) >= 2 and not TERMINAL.search(stripped)


def is_prose(line: str) -> bool:
    """A sentence-like line (full stop at the end, or long); other short lines are headings."""
    words = len(WORD.findall(line))
    if line.rstrip().endswith(":"):
        return words > MAX_HEADING_WORDS
    if TERMINAL.search(line.rstrip()):
        return words >= 2
    return words >= MIN_UNPUNCTUATED_PROSE_WORDS


def strip_inline_markdown(line: str) -> str:
    line = _MD_IMAGE.sub("", line)
    line = _MD_LINK.sub(r"\1", line)
    line = _MD_REF_LINK.sub(r"\1", line)
    line = _MD_CODE.sub(r"\1", line)
    for _ in range(2):  # nested **_x_**
        line = _MD_EMPHASIS.sub(r"\2", line)
    line = _INLINE_TAG.sub("", line)
    line = re.sub(r"\s+([.,;:!?])(?=\s|$)", r"\1", line)  # "see this trial ![img](x)." -> "trial."
    return re.sub(r"\s+", " ", line).strip()


def clean_heading(line: str) -> str:
    return strip_inline_markdown(line).strip().rstrip(":").strip()


def paragraphs(text: str) -> list[Paragraph]:
    """The draft's prose paragraphs, each with the heading above it; chrome and headings dropped."""
    text = _CONTROL.sub(" ", text)  # stray control bytes from copy-paste; lxml refuses them too
    if looks_like_html(text):
        text = html_to_text(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").split("\n")
    out: list[Paragraph] = []
    heading: str | None = None
    lead = False  # the next paragraph is the first one below `heading`
    buffer: list[str] = []

    def flush() -> None:
        nonlocal lead
        if buffer:
            out.append(Paragraph(" ".join(buffer), heading, lead))
            buffer.clear()
            lead = False

    def set_heading(title: str) -> None:
        nonlocal heading, lead
        flush()
        heading, lead = (title or None), bool(title)

    in_fence = False
    for index, raw in enumerate(lines):
        if _MD_FENCE.match(raw):
            in_fence = not in_fence
            flush()
            continue
        if in_fence or _MD_LINK_DEF.match(raw) or raw.lstrip().startswith("|"):
            continue
        if not raw.strip() or _MD_HR.match(raw):
            flush()
            continue
        next_line = lines[index + 1] if index + 1 < len(lines) else ""
        if _MD_SETEXT.match(next_line) and not _MD_LIST.match(raw) and raw.strip():
            set_heading(clean_heading(raw))
            continue
        if _MD_SETEXT.match(raw):
            continue  # the underline of a setext heading, or a rule
        if match := _MD_HEADING.match(raw):
            set_heading(clean_heading(match.group(1)))
            continue
        body = _MD_QUOTE.sub("", raw)
        is_item = bool(_MD_LIST.match(body))
        if is_item:
            flush()  # every list item is its own paragraph
            body = _MD_LIST.sub("", body, count=1)
        if bold := _WHOLE_BOLD.match(body):  # "**Rapid onset:**" on its own line
            set_heading(clean_heading(bold.group(2)))
            continue
        line = strip_inline_markdown(body)
        if not line or is_chrome(line):
            flush()
            continue
        if not is_prose(line):
            wrapped = next_line.strip()[:1].islower()  # the next line goes on with this sentence
            if (buffer and not line.endswith(":") and not _starts_like_heading(line)) or (wrapped and not is_item):
                buffer.append(line)  # part of a hard-wrapped sentence
            else:
                set_heading(clean_heading(line))
            continue
        buffer.append(line)
        if is_item:
            flush()
    flush()
    return out


def _starts_like_heading(line: str) -> bool:
    first = line.lstrip()[:1]
    return first.isupper() or first.isdigit()


def draft_sentences(text: str, split: Splitter) -> list[DraftSentence]:
    """Every prose sentence of the draft, in order, with its section heading."""
    found: list[DraftSentence] = []
    for number, para in enumerate(paragraphs(text)):
        pieces = [s.strip() for s in split(para.text) if s.strip()]
        for position, sentence in enumerate(pieces):
            if is_chrome(sentence) or len(WORD.findall(sentence)) < 2:
                continue
            found.append(DraftSentence(sentence, para.heading, number, position, para.lead))
    return found


def words(text: str) -> Iterable[str]:
    return (w.lower() for w in WORD.findall(text))
