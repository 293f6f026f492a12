"""Drafts -> prose sentences: page chrome dropped, headings kept as hints, Markdown and HTML read."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli.textclean import draft_sentences, is_chrome, is_prose, paragraphs


def split(text: str) -> list[str]:  # a stand-in for the tagger's splitter
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", text) if s.strip()]


def texts(draft: str) -> list[str]:
    return [s.text for s in draft_sentences(draft, split)]


SAVED_PAGE = """Skip to content
Home | News | Health | Contact
Connect with us

Health & Fitness

Why Ketamine Helps

Avatar photo
By Jane Writer
Published on March 3, 2024

We use cookies to improve your experience. By continuing to browse you accept our use of cookies.
Accept all

Rapid Onset of Relief:

Ketamine can bring relief within hours. Many readers asked about it.

Share on Facebook
Click to comment
12 comments
You must be logged in to post a comment Login
Leave a Reply
© 2024 Example Media. All rights reserved.
"""


def test_saved_page_chrome_makes_no_sentences():
    assert texts(SAVED_PAGE) == ["Ketamine can bring relief within hours.", "Many readers asked about it."]


def test_heading_above_a_paragraph_is_kept_and_marks_the_lead_paragraph():
    draft = "Rapid Onset of Relief:\n\nFirst paragraph here.\n\nSecond paragraph here.\n"
    found = draft_sentences(draft, split)
    assert [(s.heading, s.lead, s.paragraph, s.position) for s in found] == [
        ("Rapid Onset of Relief", True, 0, 0), ("Rapid Onset of Relief", False, 1, 0)]


def test_heading_directly_followed_by_its_paragraph_without_blank_line():
    found = draft_sentences("Treatment-Resistant Depression\nIt worked for me after two drugs failed.\n", split)
    assert [(s.heading, s.text) for s in found] == [
        ("Treatment-Resistant Depression", "It worked for me after two drugs failed.")]


def test_hard_wrapped_paragraph_is_one_paragraph():
    draft = "Ketamine helped many patients whose depression had\nnot responded to other drugs.\n"
    assert texts(draft) == ["Ketamine helped many patients whose depression had not responded to other drugs."]


def test_markdown_headings_emphasis_links_lists_and_code():
    draft = """# The benefits of ketamine

## Rapid onset

**Ketamine** works *fast*, see [this trial](https://example.org/trial) ![chart](c.png).

- It lowers suicidal ideation within a day.
- Relief is sustained for weeks.

```
code = "not prose. Not at all."
```

> Quoted: it may help.

Setext heading
--------------

| a | b |
|---|---|
| table row. | x |

**Durability:**

Relief lasts for months in some.
"""
    found = draft_sentences(draft, split)
    assert [(s.heading, s.text) for s in found] == [
        ("Rapid onset", "Ketamine works fast, see this trial."),
        ("Rapid onset", "It lowers suicidal ideation within a day."),
        ("Rapid onset", "Relief is sustained for weeks."),
        ("Rapid onset", "Quoted: it may help."),
        ("Durability", "Relief lasts for months in some."),
    ]


def test_html_page_reads_article_and_drops_scripts_menus_banners():
    html = """<!DOCTYPE html><html><head><title>T</title><style>p{}</style><script>var a = "No. Way.";</script></head>
<body><nav><a href="/">Home</a> <a href="/x">Health</a></nav>
<div class="cookie-banner">We use cookies. Accept?</div>
<article><h1>Ketamine</h1><h2>Rapid Onset of Relief</h2>
<p>Ketamine can bring relief <b>within hours</b>.</p><p>It is also used in clinics.<br>Second line here.</p>
<div class="share-buttons">Share this article</div></article>
<footer>© 2024 Site</footer><div id="comments">Great post. Thanks!</div></body></html>"""
    found = draft_sentences(html, split)
    assert [(s.heading, s.text) for s in found] == [
        ("Rapid Onset of Relief", "Ketamine can bring relief within hours."),
        ("Rapid Onset of Relief", "It is also used in clinics."),
        ("Rapid Onset of Relief", "Second line here."),
    ]


@pytest.mark.parametrize("line", [
    "Connect with us", "Avatar photo", "Click to comment", "Share", "SHARE",
    "Continue Reading", "Leave a Reply", "You must be logged in to post a comment Login",
    "Home | About | Health | Contact", "Posted by Jane Doe", "By Jane Doe", "Tags: ketamine, depression",
    "We use cookies to give you the best experience on our website.", "12 Comments", "5 min read",
    "© 2024 Example Media", "Sign up for our newsletter", "—", "   ",
])
def test_chrome_lines(line):
    assert is_chrome(line)


@pytest.mark.parametrize("line", [
    "Ketamine can bring relief within hours.", "Ketamine therapy has demonstrated remarkable success.",
    "By contrast, esketamine was approved in 2019.", "Share prices are irrelevant to patients here.",
])
def test_prose_is_not_chrome(line):
    assert not is_chrome(line)


@pytest.mark.parametrize("line, prose", [
    ("Rapid Onset of Relief:", False), ("Health & Fitness", False), ("The Benefits of Ketamine Therapy", False),
    ("It works.", True), ("Ketamine helps", False),
    ("Ketamine is an anesthetic that has been used widely in medical settings for decades now", True),
])
def test_prose_or_heading(line, prose):
    assert is_prose(line) is prose


def test_heading_with_no_paragraph_below_makes_nothing_and_empty_draft_is_fine():
    assert texts("Health & Fitness\n\nAvatar photo\n") == []
    assert texts("") == []
    assert paragraphs("\n\n\n") == []


LINES = st.sampled_from([
    "Connect with us", "Avatar photo", "## Rapid onset", "**Bold heading:**", "- a list item that says a thing.",
    "Ketamine can bring relief within hours.", "<p>An HTML paragraph.</p>", "```", "> quoted words here.",
    "Share", "", "   ", "| a | b |", "---", "===", "[link](http://x)", "Click to comment",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(LINES, st.text(max_size=80)), max_size=30))
def test_any_draft_gives_clean_sentences_without_chrome(lines):
    draft = "\n".join(lines)
    for sentence in draft_sentences(draft, split):
        assert sentence.text == sentence.text.strip() and sentence.text
        assert "\n" not in sentence.text
        assert not is_chrome(sentence.text)
