"""How many participants a study had, and the sentence that says so.

The number randomised, enrolled or included; for a meta-analysis the pooled participants
when stated ("nine studies including 368 patients"); 1 for a case report; null when the
abstract gives no total, for narrative reviews and for animal studies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evidence_cli.tagging.prefilter import Presence, finditer, search

_UNITS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
_TENS = {w: 10 * i for i, w in enumerate(["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]) if w != "_"}
_WORD = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|"
         r"seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
         r"fifteen|sixteen|seventeen|eighteen|nineteen)")
NUMBER = (rf"(?:(?:(?:one|two|three|four|five|six|seven|eight|nine|a) hundred(?:(?: and)? {_WORD})?)"
          rf"|\d{{1,3}}(?:,\d{{3}})+|\d+|{_WORD})(?![.,]\d|\s*%|\s*percent|[- ]?(?:year|month|week|day|hour|mg))")
PEOPLE = (r"(?:patients|participants|subjects|individuals|adults|volunteers|out-?patients|in-?patients|children|"
          r"adolescents|women|men|people|persons|veterans|parturients|cases|mothers|students|respondents|users|"
          r"youths?|infants|neonates|inpatients|completers|responders|remitters|residents|pregnant women|employees|athletes|"
          r"elderly|smokers|survivors|girls|boys|recipients|controls|probands|twins|families|dyads|couples)")
_N = re.compile(NUMBER, re.IGNORECASE)
_FILLER = r"(?:(?!\d)[\w'-]+ ){0,3}?"  # a few words ("85 premedicated children"), never another number

TOTAL = re.compile(rf"\b(?:a total of|in total,?|in all,?|total(?:ing|ling)?|overall,?|altogether,?)\s+({NUMBER})"
                   rf"(?:\s+(?:[\w'-]+ ){{0,3}}?[\w-]+|\s*[),;])", re.IGNORECASE)
# The verb says people were counted, whatever the noun ("179 stable remitters were randomized",
# "(226 randomized)").
ENROLLED = re.compile(rf"(?<![\w.,-])({NUMBER})\s+(?:(?:{_FILLER}{PEOPLE}\b(?:[^.;,\d]|aged? \d+\s*(?:-|to)\s*\d+){{0,80}}?|{_FILLER}[A-Za-z][\w-]*)\s)?"
                      rf"(?:(?:were|was|had been) (?:\w+ )?(?:randomi[sz]ed|enrolled|included|recruited|allocated|"
                      rf"assigned|studied|analy[sz]ed)|(?:randomi[sz]ed|enrolled)\b(?! (?:to|in|into|from)\b))",
                      re.IGNORECASE)
EQUALS = re.compile(rf"(?<![%\d])(?<!%\s)(?<!%\s\()(?<!%\()\b[Nn]\s*=\s*({NUMBER})")
COUNT = re.compile(rf"(?<![\w.,-])({NUMBER})\s+{_FILLER}{PEOPLE}\b", re.IGNORECASE)
SCREENED = re.compile(r"^\s*(?:[\w-]+ ){0,3}?(?:were |was )?(?:screened|assessed for eligibility|approached|"
                      r"eligible|invited|contacted)\b", re.IGNORECASE)
HEALTHY = re.compile(
    rf"(?:({NUMBER}) (?:[\w-]+ )?(?:healthy (?:controls?|volunteers?|subjects|participants|comparison subjects|individuals)"
    rf"|controls\b|control (?:subjects|participants)\b)"
    rf"|healthy (?:controls?|volunteers?|subjects|participants|comparison subjects|individuals)\b[^.;]{{0,30}}?"
    rf"\(?\s*[Nn]\s*=\s*({NUMBER}))", re.IGNORECASE)
POOLED = re.compile(
    rf"\b({NUMBER})\s+(?:[\w-]+ ){{0,3}}?[\w-]*?(?:studies|trials|RCTs|articles|reports|cohorts|datasets)\b"
    rf"[^.;]{{0,90}}?(?:\b(?:including|included|involving|with|covering|comprising|of|totall?ing|enrolling|"
    rf"encompassing|representing)\s+(?:a total of\s+)?({NUMBER})\s+(?:[\w-]+ ){{0,3}}?{PEOPLE}\b"
    rf"|\(?\s*\b[Nn]\s*=\s*({NUMBER})|\(\s*({NUMBER})\s+(?:[\w-]+ ){{0,2}}?{PEOPLE}\b)", re.IGNORECASE)
POOLED_TOTAL = re.compile(rf"\b(?:a total of|in total,?|total of|overall)\s+({NUMBER})\s+(?:[\w-]+ ){{0,3}}?{PEOPLE}\b",
                          re.IGNORECASE)


def parse_number(text: str) -> int | None:
    """'1,234' -> 1234, 'Forty-two' -> 42, 'one hundred and twenty' -> 120."""
    text = text.strip().lower().replace(",", "")
    if text.isdigit():
        return int(text)
    total = 0
    for word in re.split(r"[\s-]+", text):
        if word == "and":
            continue
        if word in _UNITS:
            total += _UNITS[word]
        elif word in _TENS:
            total += _TENS[word]
        elif word == "hundred":
            total = max(total, 1) * 100
        elif word == "a":
            total += 1
        else:
            return None
    return total or None


def sample_size(design: str, sentences: Sequence[tuple[str, str]],
                presences: Sequence[Presence | None] | None = None) -> tuple[int | None, str | None]:
    """(participants, the sentence) from (original, normalized) sentence pairs of the study's own text.

    `presences`: each sentence's regex literals (see `prefilter`), to skip patterns that cannot match.
    """
    if design in ("preclinical", "narrative-review"):
        return None, None
    if design == "case-report":
        for original, text in sentences:
            if re.search(r"\b(?:year[- ]old|case|patient|man|woman)\b", text, re.IGNORECASE):
                return 1, original
        return 1, None
    if presences is None:
        presences = [None] * len(sentences)
    if design in ("meta-analysis", "systematic-review"):
        return _pooled(sentences, presences)
    return _primary(sentences, presences)


def _pooled(sentences: Sequence[tuple[str, str]], presences: Sequence[Presence | None]) -> tuple[int | None, str | None]:
    for pattern in (POOLED_TOTAL, POOLED):
        for (original, text), present in zip(sentences, presences, strict=True):
            for match in finditer(pattern, text, present):
                groups = [g for g in match.groups()[1:] if g] if pattern is POOLED else [match.group(1)]
                value = parse_number(groups[-1]) if groups else None
                if value:
                    return value, original
    return None, None


def _primary(sentences: Sequence[tuple[str, str]], presences: Sequence[Presence | None]) -> tuple[int | None, str | None]:
    best: tuple[int, int, int, int, str] | None = None  # (priority, order, start, value, sentence)
    for order, ((original, text), present) in enumerate(zip(sentences, presences, strict=True)):
        for priority, pattern in ((0, TOTAL), (1, ENROLLED), (2, EQUALS), (2, COUNT)):
            if best is not None and (priority, order) > best[:2]:
                break  # a match here would come after the best so far: it cannot win
            for match in finditer(pattern, text, present):
                if priority == 2 and SCREENED.match(text[match.end():]):
                    continue
                if _is_subgroup(text, match.start(1)):
                    continue
                value = parse_number(match.group(1))
                if not value or value > 10_000_000:
                    continue
                key = (priority, order, match.start(1), value, original)
                if best is None or key[:3] < best[:3]:
                    best = key
    if best is None:
        return None, None
    priority, order, start, value, original = best
    if priority > 0:
        value += _healthy_controls(sentences, presences, (order, start))
    return value, original


def _is_subgroup(text: str, start: int) -> bool:
    """'54% (N=43)', 'of whom 12', 'n=24 per arm', 'at least two': parts or thresholds, not the whole."""
    before = text[max(0, start - 14):start].lower()
    if re.match(r"[\w,-]+\s+(?:[\w-]+ )?(?:per|in each|each) (?:arm|group)\b", text[start:start + 50], re.IGNORECASE):
        return True  # "n=24 per arm": a part
    return bool(re.search(r"%\s*\(?\s*(?:n\s*=\s*)?$|of (?:whom|these|them|those)\s*$|\bof the\s*$|"
                          r"\b(?:at least|failing|failed|more than|fewer than|less than)\s*$|[\u2265>]=?\s*$|"
                          r"(?:aged?|mean|median|ages?)\s*(?:of\s*)?$|\b(?:phase|grade|type|stage|class|step|day|week|"
                          r"month|year|wave|arm|group|visit|level|figure|table|no\.?|item|dsm-?|icd-?)\s*$", before))


def _healthy_controls(sentences: Sequence[tuple[str, str]], presences: Sequence[Presence | None],
                      base: tuple[int, int]) -> int:
    """Healthy controls counted apart from the patients ('61 patients ... 40 healthy controls')."""
    for order, ((_, text), present) in enumerate(zip(sentences, presences, strict=True)):
        match = search(HEALTHY, text, present)
        if match and not (order == base[0] and match.start() <= base[1] < match.end()):
            return parse_number(match.group(1) or match.group(2)) or 0
    return 0
