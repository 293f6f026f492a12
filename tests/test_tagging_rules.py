"""Claim rules in topic files: compiled, and every broken rule reported with its file and claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_cli.errors import TopicError
from evidence_cli.tagging import claims_in_sentence, compile_rules, tag_record
from evidence_cli.workspace import load_topic_file

REPO = Path(__file__).resolve().parents[1]
HEAD = 'title = "Test topic"\nquery = "x"\n'


def topic_from(tmp_path: Path, claims: str):
    path = tmp_path / "queries" / "demo.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + claims, encoding="utf-8")
    return load_topic_file(path)


def test_shipped_topic_compiles_with_all_eight_claims():
    rules = compile_rules(load_topic_file(REPO / "queries" / "ketamine-depression.toml"))
    assert rules.claim_ids == ("rapid_onset", "suicidality", "bipolar", "durability", "trd",
                               "neuroplasticity", "cognition", "nmda")


def test_a_new_claim_needs_no_code(tmp_path):
    topic = topic_from(tmp_path, """
[claims.sleep]
label = "Sleep"
patterns = ['\\binsomnia\\b', '\\bsleep quality\\b']
contradicts = ['\\bworse sleep\\b']
""")
    rules = compile_rules(topic)
    assert claims_in_sentence("Insomnia improved after ketamine.", rules) == ["sleep"]
    out = tag_record({"title": "t", "abstract": "RESULTS: Sleep quality improved with treatment."}, rules)
    assert out["claims"]["sleep"]["stance"] == "supports"


@pytest.mark.parametrize("claims, fragment", [
    ("[claims.broken]\nlabel = 'B'\npatterns = ['(unclosed']\n", "claims.broken.patterns[1]: bad regex"),
    ("[claims.broken]\nlabel = 'B'\npatterns = ['ok']\nsuport = ['x']\n", "unknown key 'suport'"),
    ("[claims.broken]\nlabel = 'B'\npatterns = 'ok'\nweak_patterns = ['x']\n", "need `context`"),
    ("[claims.broken]\nlabel = 'B'\npatterns = ['at {someday}']\n", "unknown placeholder {someday}"),
    ("[claims.broken]\nlabel = 'B'\npatterns = [3]\n", "must be a list of regex strings"),
    ("[claims.broken]\nlabel = 'B'\npatterns = ['x']\nmesh = 'Humans'\n", "mesh: must be a list"),
    ("[claims.broken]\nlabel = 'B'\npatterns = ['x']\ninherit = 'yes'\n", "inherit: must be true or false"),
    ("[claims.broken]\nlabel = 'B'\npatterns = ['x']\nbackground = 'maybe'\n", "background: must be"),
])
def test_broken_rules_name_file_and_claim(tmp_path, claims, fragment):
    topic = topic_from(tmp_path, claims)
    with pytest.raises(TopicError) as err:
        compile_rules(topic)
    assert str(topic.path) in err.value.message
    assert fragment in err.value.message


@pytest.mark.parametrize("text, early, late", [
    ("at 24 h", True, False), ("within 2-4 hours", True, False), ("by day 3", True, False),
    ("at 240 min", True, False), ("at week 4", False, True), ("for 12 months", False, True),
    ("through day 28", False, True), ("12-14 days", False, True), ("aged 18-65 years", False, False),
    ("0.944, p = 0.001", False, False),
])
def test_time_placeholders(tmp_path, text, early, late):
    topic = topic_from(tmp_path, "[claims.e]\nlabel = 'E'\npatterns = ['{early}']\n[claims.l]\nlabel = 'L'\npatterns = ['{late}']\n")
    found = claims_in_sentence(text, compile_rules(topic))
    assert ("e" in found, "l" in found) == (early, late)


def test_fingerprint_follows_the_rules(tmp_path):
    first = compile_rules(topic_from(tmp_path, "[claims.a]\nlabel = 'A'\npatterns = ['x']\n")).fingerprint
    same = compile_rules(topic_from(tmp_path, "[claims.a]\nlabel = 'Renamed'\npatterns = ['x']\n")).fingerprint
    edited = compile_rules(topic_from(tmp_path, "[claims.a]\nlabel = 'A'\npatterns = ['y']\n")).fingerprint
    assert first == same != edited
    label_only = compile_rules(topic_from(tmp_path, "[claims.a]\nlabel = 'A'\n")).fingerprint
    relabelled = compile_rules(topic_from(tmp_path, "[claims.a]\nlabel = 'B'\n")).fingerprint
    assert label_only != relabelled  # without patterns the label is what the tagger looks for


def test_a_claim_with_only_a_label_is_named_by_its_label(tmp_path):
    topic = topic_from(tmp_path, "[claims.sleep]\nlabel = 'Sleep quality'\n")
    rules = compile_rules(topic)
    assert claims_in_sentence("Sleep-quality scores improved after ketamine.", rules) == ["sleep"]
    assert claims_in_sentence("Ketamine improved mood.", rules) == []


def test_a_record_that_never_names_the_subject_bears_on_no_claim(tmp_path):
    """`subject`: a study of cognition that never names ketamine is no evidence about ketamine;
    the subject counts wherever the record names it (title, abstract, MeSH, keywords)."""
    from evidence_cli.pubmed.model import AbstractSection, Article, MeshHeading
    from evidence_cli.tagging import tag_article

    claim = "[claims.sleep]\nlabel = 'Sleep'\npatterns = ['\\binsomnia\\b']\n"
    gated = compile_rules(topic_from(tmp_path, "subject = ['ketamine']\n" + claim))
    abstract = (AbstractSection("RESULTS: Insomnia improved after eight weeks (p<0.01).", "RESULTS", "RESULTS"),)
    other_drug = Article(pmid="1", title="Zolpidem and sleep", abstract=abstract)
    assert tag_article(other_drug, gated).claims == ()
    for named in (Article(pmid="2", title="Ketamine and sleep", abstract=abstract),
                  Article(pmid="3", title="A drug and sleep", abstract=abstract, mesh=(MeshHeading("Ketamine"),)),
                  Article(pmid="4", title="A drug and sleep", abstract=abstract, keywords=("esketamine",))):
        assert [c.claim_id for c in tag_article(named, gated).claims] == ["sleep"]
    ungated = compile_rules(topic_from(tmp_path, claim))
    assert [c.claim_id for c in tag_article(other_drug, ungated).claims] == ["sleep"]
    assert gated.fingerprint != ungated.fingerprint  # adding a subject retags cached records


def test_a_bad_subject_pattern_names_the_file(tmp_path):
    topic = topic_from(tmp_path, "subject = ['(ketamine']\n[claims.a]\nlabel = 'A'\npatterns = ['x']\n")
    with pytest.raises(TopicError, match=r"subject\[1\]: bad regex"):
        compile_rules(topic)
