"""Cheap proof that a regex cannot match: literal text that any match must contain.

Most records are not about a topic's claims, yet Python's `re` tries a case-insensitive
alternation of dozens of patterns at every position of every sentence, for every claim and
every generic cue. So each pattern gets the set of literals one of which every match must
contain ("suicid" for `\\bsuicid\\w*`, {"bipolar", "manic"} for an alternation of the two),
a `LiteralScanner` finds once per sentence which of all those literals it holds, and a
pattern none of whose literals is there is not run. The answer is exact, never a guess:
where a pattern gives no such literal (`\\w+ly`, a lookaround we do not read),
`required_literals` says None and the regex always runs.

Literals are compared on `fold(text)`, which maps every character the way `re.IGNORECASE`
compares it to an ASCII letter or digit, and never hold whitespace. So a literal in a part of
a sentence (a clause, a span) is in the sentence, words joined by newlines keep theirs, and
a claim's masked text (look-alikes blanked to spaces, see `claims.masked`) holds no literal
that the sentence does not.

Speed, without changing an answer: a set of literals is an int (one bit per literal); a text's
literals are remembered by its runs of the characters literals use (few distinct runs:
"(depression," and "depression." are both "depression"); an alternation whose text allows a
few alternatives runs those alone, leftmost match first, which is the match the whole finds,
with no regex compiled per set of alternatives; and a regex runs from just before the first
place its literal can be, as far back as its matches can reach (see `_Anchor`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import NamedTuple, TypeAlias, cast

try:  # the parser of the standard `re` module: private, so read defensively
    from re import _constants as _c  # type: ignore[attr-defined]  # not in typeshed
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python: no prefilter, every regex runs
    _sre_parse = None
# What getwidth() reports for "no bound": MAXWIDTH in later 3.11 releases, MAXREPEAT before
# (3.11.2, Debian 12's python3, has no MAXWIDTH: reading it would turn every prefilter off).
_UNBOUNDED_WIDTH = getattr(_sre_parse, "MAXWIDTH", None) or getattr(_sre_parse, "MAXREPEAT", None)

# Non-ASCII characters that `re.IGNORECASE` matches to an ASCII letter but whose `str.lower()`
# is not that letter alone (found by brute force over every code point; tests re-check it).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})

_MAX_STRINGS = 64  # beyond this many alternatives a run of literals is cut
_MAX_CLASS = 10  # a character class of up to this many characters is read as alternatives
_MAX_CACHED_RUNS = 100_000  # distinct runs of literal characters remembered per scanner (a few MB)
_MAX_NARROWED = 512  # alternations compiled per pattern from the alternatives a text allows (`finditer`)
_MAX_PROBE_LEAD = 8  # a match is tried at each place up to this far before a literal...
_MAX_PROBES = 12  # ...for up to this many places of literals; else one search runs from the first
_MAX_CHOICES = 4096  # alternative sets remembered per pattern, by the literals that chose them

Literals = frozenset[str]


def fold(text: str) -> str:
    """The text as the literal test compares it: lower case, `re.IGNORECASE`'s equivalences."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


class LiteralScanner:
    """Which required literals of a set of patterns a text holds, found in one pass.

    Patterns not given here are never skipped (`search` runs them as they are), so a scanner
    built from too few patterns costs speed, never a wrong answer. A set of literals is an int,
    one bit per literal of the scanner: a union is `|`, a test `&`.
    """

    def __init__(self, patterns: Iterable[re.Pattern[str] | None]) -> None:
        # Keyed by id() (the gates keep the patterns alive): hashing a compiled pattern hashes its program.
        gates = [_Gate(p) for p in dict.fromkeys(p for p in patterns if p is not None)]
        universe = sorted(frozenset().union(*(g.literals for g in gates)))
        self.bits = {lit: 1 << i for i, lit in enumerate(universe)}
        self.gates = {id(g.pattern): g for g in gates}
        for gate in gates:
            gate.bind(self.bits)
        # At each position the longest literal starting there; the shorter ones are its prefixes.
        self._finder = re.compile(f"(?=({_trie(universe)}))") if universe else None
        self._prefixes = {lit: _mask((lit[:n] for n in range(1, len(lit) + 1)), self.bits) for lit in universe}
        # A literal holds only these characters (never whitespace), so it lies inside one run of
        # them: a text's literals are its runs' ("depression," and "(depression" are "depression").
        alphabet = sorted(set("".join(universe)))
        self._runs = re.compile(f"[{''.join(map(re.escape, alphabet))}]+").findall if alphabet else None
        # The same for ASCII text as bytes: a literal's character in lower case, any other a space.
        self._ascii_runs = bytes(ord(ch.lower()) if ch.lower() in alphabet else 32 for ch in map(chr, range(128)))
        self._ascii_runs += bytes(range(128, 256))
        self._by_run: dict[str, int] = {}
        self._by_word: dict[bytes, int] = {}  # the runs of ASCII text, as bytes
        self._masks: dict[int, int] = {}  # one int object per distinct set, shared by the caches

    def presence(self, text: str) -> Presence:
        return Presence(self, self.mask(text))

    def mask(self, text: str) -> int:
        """The literals `text` holds, as bits (see `bits`)."""
        if self._runs is None:
            return 0
        found = 0
        if text.isascii():  # most text: its runs cut by a byte table, lower case in the same pass
            words = self._by_word
            for word in text.encode("ascii").translate(self._ascii_runs).split():
                hit = words.get(word)
                if hit is None:
                    if len(words) >= _MAX_CACHED_RUNS:
                        words.clear()
                    hit = words[word] = self._run(word.decode("ascii"))
                found |= hit
            return found
        for run in self._runs(fold(text)):
            found |= self._run(run)
        return found

    def _run(self, run: str) -> int:
        cache = self._by_run
        hit = cache.get(run)
        if hit is None:
            if len(cache) >= _MAX_CACHED_RUNS:
                cache.clear()
            hit = cache[run] = self._scan(run)
        return hit

    def required(self, pattern: re.Pattern[str]) -> int | None:
        """The literals (bits) one of which a text must hold for `pattern` to match; None: no such
        set is known (any text may match)."""
        gate = self.gates.get(id(pattern))
        return None if gate is None else gate.required

    def literals(self, mask: int) -> frozenset[str]:
        """The literals a mask stands for (for tests and debugging)."""
        return frozenset(lit for lit, bit in self.bits.items() if mask & bit)

    def _scan(self, run: str) -> int:
        found = 0
        for literal in self._finder.findall(run):  # type: ignore[union-attr]
            found |= self._prefixes[literal]
        return self._masks.setdefault(found, found)


class Presence:
    """The literals a text holds, as found by one `LiteralScanner` (a bit mask of its literals)."""

    __slots__ = ("mask", "scanner")

    def __init__(self, scanner: LiteralScanner, mask: int) -> None:
        self.scanner = scanner
        self.mask = mask

    @property
    def found(self) -> frozenset[str]:
        return self.scanner.literals(self.mask)

    def may_match(self, pattern: re.Pattern[str] | None) -> bool:
        """False only when `pattern` cannot match any part of the text (None never matches)."""
        if pattern is None:
            return False
        gate = self.scanner.gates.get(id(pattern))
        return gate is None or gate.required is None or bool(gate.required & self.mask)


def search(pattern: re.Pattern[str], text: str, present: Presence | None) -> re.Match[str] | None:
    """`pattern.search(text)`, where `present` holds the literals of a text that holds `text`.

    Skipped when no match can be there; an alternation runs only the alternatives that can
    match, each on its own, and the leftmost match wins, the earlier alternative on a tie:
    the match the whole alternation finds (the others fail wherever they are tried). A regex
    whose matches hold a literal near their start is run from a little before the literal's
    first place in the text. None: always run.
    """
    gate = _gate(pattern, present)
    if gate is None:
        return pattern.search(text)
    mask = present.mask  # type: ignore[union-attr]  # a gate comes only with a Presence
    best = None
    folded = _folded(text)
    for part in gate.choices(mask):
        match = part.search(text, folded, mask)
        if match is not None and (best is None or match.start() < best.start()):
            best = match
    return best


def _gate(pattern: re.Pattern[str], present: Presence | None) -> _Gate | None:
    """The pattern's gate in the scanner that found `present`; None: run the regex as it is."""
    return None if present is None else present.scanner.gates.get(id(pattern))


def has(pattern: re.Pattern[str], text: str, present: Presence | None) -> bool:
    """`bool(search(pattern, text, present))`, stopping at the first alternative that matches."""
    gate = _gate(pattern, present)
    if gate is None:
        return pattern.search(text) is not None
    mask = present.mask  # type: ignore[union-attr]
    required = gate.required
    if required is not None and not required & mask:
        return False  # the common case, decided without a call
    folded = None
    for part in gate.choices(mask):
        if folded is None and part.bits:
            folded = _folded(text)
        if part.search(text, folded, mask) is not None:
            return True
    return False


def has_span(pattern: re.Pattern[str], text: str, present: Presence | None) -> bool:
    """Whether `finditer(pattern, text, present)` gives a match longer than the empty string."""
    if _may_be_empty(pattern):
        return any(m.end() > m.start() for m in finditer(pattern, text, present))
    return has(pattern, text, present)


def _folded(text: str) -> str | None:
    """`fold(text)` when its positions are the text's (always, unless Unicode adds a lower case
    longer than one character); None: no position in it can be trusted."""
    folded = fold(text)
    return folded if len(folded) == len(text) else None


def finditer(pattern: re.Pattern[str], text: str, present: Presence | None) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, narrowed like `search`: each match is the leftmost from the
    end of the last (none is empty, or the alternation is compiled from the allowed alternatives)."""
    gate = _gate(pattern, present)
    if gate is None:
        return pattern.finditer(text)
    mask = present.mask  # type: ignore[union-attr]
    parts = gate.choices(mask)
    folded = _folded(text) if parts else None
    if len(parts) == 1:
        at = parts[0].start(text, folded, mask)
        return iter(()) if at < 0 else parts[0].pattern.finditer(text, at)
    if not parts:
        return iter(())
    if any(part.empty for part in parts):
        return gate.narrowed(mask).finditer(text)  # type: ignore[union-attr]
    return _merged(parts, text, folded, mask)


def _merged(parts: tuple[_Part, ...], text: str, folded: str | None, mask: int) -> Iterator[re.Match[str]]:
    """The matches of the alternation of `parts`, none of which matches the empty string."""
    pos = 0
    ahead: list[re.Match[str] | None] = [None] * len(parts)  # each part's leftmost match from `pos`
    done = [False] * len(parts)
    while True:
        best = None
        for i, part in enumerate(parts):
            if done[i]:
                continue
            match = ahead[i]
            if match is None or match.start() < pos:
                match = ahead[i] = part.search(text, folded, mask, pos)
                if match is None:
                    done[i] = True
                    continue
            if best is None or match.start() < best.start():
                best = match
        if best is None:
            return
        yield best
        pos = best.end()


def union(presences: Iterable[Presence], scanner: LiteralScanner) -> Presence:
    mask = 0
    for presence in presences:
        mask |= presence.mask
    return Presence(scanner, mask)


def _mask(literals: Iterable[str], bits: dict[str, int]) -> int:
    mask = 0
    for literal in literals:
        mask |= bits.get(literal, 0)
    return mask


class _Part:
    """A regex to run (one alternative alone, or a whole pattern), and where its matches can start."""

    __slots__ = ("_empty", "back", "bits", "lead", "literal_of", "pattern")

    def __init__(self, pattern: re.Pattern[str], anchor: _Anchor, bits: dict[str, int]) -> None:
        self.pattern = pattern
        literals = anchor.literals or ()
        self.bits = _mask(literals, bits)
        self.literal_of = {bits[lit]: lit for lit in literals}
        # Every match holds one of its literals starting at most `lead` characters into it, and
        # holds none of the stop characters it cannot match before it: `back` finds the last.
        self.lead = anchor.lead if literals else None
        self.back = _last_of(STOPS - anchor.eaten) if literals else None
        self._empty: bool | None = None  # found when first asked (a parse of the pattern)

    @property
    def empty(self) -> bool:
        """Whether it may match the empty string."""
        if self._empty is None:
            self._empty = _may_be_empty(self.pattern)
        return self._empty

    def start(self, text: str, folded: str | None, mask: int, pos: int = 0) -> int:
        """Where a match at or after `pos` can start at the earliest; -1: nowhere.

        `folded`: `fold(text)`, same positions (None: unknown, start at `pos`).
        """
        if folded is None or not self.bits:
            return pos
        first = -1
        relevant = self.bits & mask
        while relevant:
            low = relevant & -relevant
            relevant ^= low
            at = folded.find(self.literal_of[low], pos)
            if at >= 0 and (first < 0 or at < first):
                first = at
        if first < 0:
            return -1  # no literal a match must hold is in the rest of the text
        start = pos if self.lead is None else max(pos, first - self.lead)
        if self.back is not None and first > start:
            stop = self.back.match(text, start, first)  # the last stop character before the literal
            if stop is not None:
                start = stop.end()
        return start

    def search(self, text: str, folded: str | None, mask: int, pos: int = 0) -> re.Match[str] | None:
        """The leftmost match at or after `pos`. Where a match can start is near a literal it holds,
        and a match tried there (`match`, or a search from there) sees the same string as a search
        from `pos` (lookbehinds, \\b and ^ look at the real text before it), so finds the same match."""
        if folded is None or not self.bits:
            return self.pattern.search(text, pos)
        lead = self.lead
        if lead is not None and lead <= _MAX_PROBE_LEAD:
            starts = self.starts(folded, mask, pos)
            if starts is not None:
                match = self.pattern.match
                tried = pos  # every start before this was tried
                for at in starts:
                    for start in range(max(tried, at - lead), at + 1):
                        found = match(text, start)
                        if found is not None:
                            return found
                    tried = max(tried, at + 1)
                return None
        at = self.start(text, folded, mask, pos)
        return None if at < 0 else self.pattern.search(text, at)

    def starts(self, folded: str, mask: int, pos: int) -> list[int] | None:
        """Every place at or after `pos` where a literal of the part begins, in order; None: too many
        to try one by one."""
        found: list[int] = []
        relevant = self.bits & mask
        while relevant:
            low = relevant & -relevant
            relevant ^= low
            literal = self.literal_of[low]
            at = folded.find(literal, pos)
            while at >= 0:
                if len(found) >= _MAX_PROBES:
                    return None
                found.append(at)
                at = folded.find(literal, at + 1)
        found.sort()
        return found


@cache
def _last_of(stops: frozenset[str]) -> re.Pattern[str] | None:
    """A regex whose match in text[a:b] ends just after its last character in `stops`."""
    return re.compile("(?s).*[" + "".join(map(re.escape, sorted(stops))) + "]") if stops else None


def _may_be_empty(pattern: re.Pattern[str]) -> bool:
    """Whether the pattern may match the empty string (True when unsure)."""
    parsed = _parsed(pattern.pattern, pattern.flags) if isinstance(pattern.pattern, str) else None
    return parsed is None or parsed.getwidth()[0] == 0


class _Gate:
    """One pattern's literals, and for a top-level alternation each alternative's."""

    __slots__ = ("_alts_of", "_bits", "_choices", "_keys", "_narrowed", "_part_anchors", "_parts", "_sources",
                 "always", "anchor", "full", "literals", "pattern", "required", "required_literals", "whole")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._sources: list[str] = []
        self.required: int | None = None  # set by `bind`
        sources = _alternatives(pattern)
        anchors = [_source_anchor(part, pattern.flags) for part in sources] if sources else []
        if not sources or any(a.literals is _UNPARSED for a in anchors):
            anchor = _source_anchor(pattern.pattern, pattern.flags) if isinstance(pattern.pattern, str) else _NO_ANCHOR
            self.anchor = _NO_ANCHOR if anchor.literals is _UNPARSED else anchor
            self.required_literals = self.anchor.literals
            self.literals: frozenset[str] = self.required_literals or frozenset()
            return
        part_literals = [a.literals for a in anchors]
        # The whole requires one of its alternatives' literals, when each has some.
        self.required_literals = (None if None in part_literals
                                  else frozenset().union(*part_literals))  # type: ignore[arg-type]
        leads = [a.lead for a in anchors]
        self.anchor = _NO_ANCHOR if self.required_literals is None else _Anchor(
            self.required_literals, None if None in leads else max(leads),  # type: ignore[type-var]
            frozenset().union(*(a.eaten for a in anchors)))
        self.literals = frozenset().union(*(lits for lits in part_literals if lits))
        self._sources = sources
        self._part_anchors = anchors
        self.full = (1 << len(sources)) - 1
        self.always = sum(1 << i for i, lits in enumerate(part_literals) if lits is None)

    def bind(self, bits: dict[str, int]) -> None:
        """Literal sets as the scanner's bit masks."""
        self._bits = bits
        self.required = None if self.required_literals is None else _mask(self.required_literals, bits)
        self.whole = _Part(self.pattern, self.anchor, bits)
        if not self._sources:
            return
        alts_of: dict[int, int] = {}  # a literal's bit -> the alternatives it may let match
        for i, anchor in enumerate(self._part_anchors):
            for lit in anchor.literals or ():
                alts_of[bits[lit]] = alts_of.get(bits[lit], 0) | 1 << i
        self._alts_of = alts_of
        self._keys = _mask(self.literals, bits)
        self._parts: list[_Part | None] = [None] * len(self._sources)
        self._choices: dict[int, tuple[_Part, ...]] = {}
        self._narrowed: dict[int, re.Pattern[str]] = {}

    def _chosen(self, mask: int) -> int:
        """The alternatives (bits) a text whose literals are `mask` allows."""
        chosen, relevant, alts_of = self.always, mask & self._keys, self._alts_of
        while relevant:
            low = relevant & -relevant
            chosen |= alts_of[low]
            relevant ^= low
        return chosen

    def choices(self, mask: int) -> tuple[_Part, ...]:
        """What to run, in order: the whole, its allowed alternatives alone, or nothing."""
        if not self._sources:
            if self.required is not None and not self.required & mask:
                return ()
            return (self.whole,)
        relevant = mask & self._keys
        found = self._choices.get(relevant)
        if found is None:
            chosen = self._chosen(mask)
            if chosen == self.full:
                found = (self.whole,)
            else:
                found = tuple(self._part(i) for i in range(len(self._sources)) if chosen >> i & 1)
            if len(self._choices) < _MAX_CHOICES:
                self._choices[relevant] = found
        return found

    def _part(self, i: int) -> _Part:
        part = self._parts[i]
        if part is None:
            part = self._parts[i] = _Part(re.compile(self._sources[i], self.pattern.flags), self._part_anchors[i],
                                          self._bits)
        return part

    def narrowed(self, mask: int) -> re.Pattern[str] | None:
        """The pattern cut to the alternatives a text holding `mask` allows; None: none does."""
        if not self._sources:
            if self.required is not None and not self.required & mask:
                return None
            return self.pattern
        chosen = self._chosen(mask)
        if not chosen:
            return None
        if chosen == self.full:
            return self.pattern
        narrowed = self._narrowed.get(chosen)
        if narrowed is None:
            if len(self._narrowed) >= _MAX_NARROWED:
                return self.pattern
            sources = (part for i, part in enumerate(self._sources) if chosen >> i & 1)
            narrowed = self._narrowed[chosen] = re.compile("|".join(sources), self.pattern.flags)
        return narrowed


def _alternatives(pattern: re.Pattern[str]) -> list[str] | None:
    """The top-level alternatives of a pattern's source, when each stands alone; else None.

    An alternative that is a group of alternatives ("(?:a|b)|c") gives those (same order, so the
    same first match: "a|b|c").
    """
    source = pattern.pattern
    if (not isinstance(source, str) or pattern.groups or pattern.flags & re.VERBOSE or "(?#" in source
            or re.match(r"\(\?[aiLmsux]+\)", source)):
        return None  # groups would be renumbered, comments and global flags not split
    parts = _flat(source)
    return parts if len(parts) > 1 else None


def _flat(source: str) -> list[str]:
    parts = []
    for part in _split_top(source):
        inner = part[3:-1] if part.startswith("(?:") and _closing(part) == len(part) - 1 else None
        parts += _flat(inner) if inner is not None and len(_split_top(inner)) > 1 else [part]
    return parts


def _split_top(source: str) -> list[str]:
    """`source` cut at each "|" outside parentheses and classes."""
    parts, start = [], 0
    for i, ch, depth in _scan_source(source):
        if ch == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
    parts.append(source[start:])
    return parts


def _closing(source: str) -> int:
    """Where the parenthesis opening `source` closes; -1: nowhere."""
    return next((i for i, ch, depth in _scan_source(source) if ch == ")" and depth == 0), -1)


def _scan_source(source: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, depth after it) for each character outside escapes and classes."""
    depth, i = 0, 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # a class: "|" and parentheses inside it are literal
            i += 1
            i += source.startswith("^", i)
            i += source.startswith("]", i)
            while i < len(source) and source[i] != "]":
                i += 2 if source[i] == "\\" else 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        yield i, ch, depth
        i += 1


def _trie(literals: Iterable[str]) -> str:
    """One regex for a set of literals, shared prefixes factored out, longest match first."""
    root: dict[str, dict] = {}
    for literal in literals:
        node = root
        for ch in literal:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


def required_literals(pattern: re.Pattern[str]) -> Literals | None:
    """Literals (folded, no whitespace) one of which every match of `pattern` contains; None: unknown."""
    if not isinstance(pattern.pattern, str):
        return None
    found = _source_literals(pattern.pattern, pattern.flags)
    return None if found is _UNPARSED else found


_UNPARSED: Literals = frozenset({"<unparsed>"})  # a source that does not parse on its own


def _source_literals(source: str, flags: int) -> Literals | None:
    return _source_anchor(source, flags).literals


class _Anchor(NamedTuple):
    """Where in a match its required literal begins: at most `lead` characters past the match's
    start (None: no bound), with no character of `STOPS` but those in `eaten` before it."""

    literals: Literals | None
    lead: int | None = None
    eaten: frozenset[str] = frozenset()


def _source_anchor(source: str, flags: int) -> _Anchor:
    """The required literals of a regex source (`_UNPARSED`: it does not parse), and where they lie."""
    parsed = _parsed(source, flags)
    if parsed is None:
        return _Anchor(None if _sre_parse is None else _UNPARSED)
    try:
        return _sequence(parsed)[1]
    except (TypeError, ValueError, AttributeError, IndexError, RecursionError):
        return _Anchor(None)  # an unfamiliar parse tree: no prefilter, the regex decides


@cache
def _parsed(source: str, flags: int) -> _sre_parse.SubPattern | None:
    """The parse tree of a regex source (None: it does not parse); each read once."""
    if _sre_parse is None:
        return None
    try:
        return _sre_parse.parse(source, flags)
    except re.error:
        return None


# The parse tree (`re._parser`, untyped) is a SubPattern: a list of (opcode, argument) items, the
# argument's shape fixed by the opcode. The casts below state those shapes; a tree that breaks
# them raises what `_source_anchor` catches (no prefilter, the regex decides).
_Repeat: TypeAlias = "tuple[int, int, _sre_parse.SubPattern]"  # MAX/MIN/POSSESSIVE_REPEAT: (min, max, items)
_Group: TypeAlias = "tuple[object, object, object, _sre_parse.SubPattern]"  # SUBPATTERN: (group, flags on, off, items)
_Branch: TypeAlias = "tuple[None, list[_sre_parse.SubPattern]]"  # BRANCH: (None, alternatives)
_ClassItems: TypeAlias = list[tuple[object, object]]  # IN: (LITERAL, code point), (RANGE, (first, last)), ...
_Range: TypeAlias = tuple[int, int]  # a class's RANGE: first and last code point

# Each node gives (exact, anchor, eats): `exact` the finite set of strings it matches (None: too
# many or unknown), `anchor.literals` a set of literals one of which every match contains (None:
# no such set known), and where such a literal begins past the node's start (see `_Anchor`);
# `eats` the characters of `STOPS` it can match. Zero-width assertions match the empty string.

def _sequence(items: _sre_parse.SubPattern) -> tuple[Literals | None, _Anchor, frozenset[str]]:
    run: Literals = frozenset({""})  # exact strings of the run of items so far
    run_at: int | None = 0  # where the run starts, at most
    offset: int | None = 0  # the widest the items so far can be
    eaten: frozenset[str] = frozenset()  # the stop characters the items so far can match
    candidates: list[_Anchor] = []
    whole = True  # every item so far joined the run
    for op, av in items:
        exact, inner, eats = _node(op, av)
        width = _widest(items, op, av) if offset is not None else None  # past an unbounded item: no bound
        if exact is not None and len(run) * len(exact) <= _MAX_STRINGS:
            run = frozenset(a + b for a in run for b in exact)
            offset = _plus(offset, width)
            eaten |= eats
            continue
        whole = False
        candidates.append(_Anchor(run, run_at, eaten))
        if inner.literals is not None:
            candidates.append(_Anchor(inner.literals, _plus(offset, inner.lead), eaten | inner.eaten))
        if exact is not None:
            run, run_at = exact, offset
        else:
            run, run_at = frozenset({""}), _plus(offset, width)
        offset = _plus(offset, width)
        eaten |= eats
    candidates.append(_Anchor(run, run_at, eaten))
    return (run if whole else None), _best(candidates), eaten


def _node(op: object, av: object) -> tuple[Literals | None, _Anchor, frozenset[str]]:
    c = _c
    if op is c.LITERAL:
        char = chr(cast(int, av))  # a code point
        eats = STOPS & {char}  # no stop character has a case twin
        if not _foldable(char):
            return None, _NO_ANCHOR, eats  # non-ASCII: case twins not worth modelling; a space: see `_best`
        return frozenset({fold(char)}), _NO_ANCHOR, eats
    if op is c.IN:
        items = cast(_ClassItems, av)
        chars = _class_chars(items)
        return (frozenset(chars) if chars is not None else None), _NO_ANCHOR, _class_eats(items)
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        # Lookarounds match no character and are not read; \b, ^ match the empty string.
        return (frozenset({""}) if op is c.AT else None), _NO_ANCHOR, frozenset()
    if op is c.SUBPATTERN:
        return _sequence(cast(_Group, av)[-1])
    if op is c.ATOMIC_GROUP:
        return _sequence(av)  # its argument is its items
    if op is c.BRANCH:
        return _branch(cast(_Branch, av)[1])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, high, sub = cast(_Repeat, av)
        exact, inner, eats = _sequence(sub)
        if low == high == 1:
            return exact, inner, eats
        if low == 0:
            if high == 1 and exact is not None:
                return exact | {""}, _NO_ANCHOR, eats
            return None, _NO_ANCHOR, eats
        # The first repetition starts where the node does, and holds the literal.
        return None, _best([a for a in (_Anchor(exact, 0), inner) if a.literals is not None]), eats
    if op is c.NOT_LITERAL:
        return None, _NO_ANCHOR, STOPS - {chr(cast(int, av))}
    return None, _NO_ANCHOR, STOPS  # `.`, backreferences, conditionals: not read, may match anything


_NO_ANCHOR = _Anchor(None)


def _branch(alternatives: list[_sre_parse.SubPattern]) -> tuple[Literals | None, _Anchor, frozenset[str]]:
    exacts: set[str] = set()
    required: set[str] = set()
    exact_ok = required_ok = True
    lead: int | None = 0
    eaten: frozenset[str] = frozenset()  # by the kept literals' lead-ins
    eats: frozenset[str] = frozenset()  # by any alternative
    for alternative in alternatives:
        exact, inner, alternative_eats = _sequence(alternative)
        eats |= alternative_eats
        if exact is None:
            exact_ok = False
        else:
            exacts |= exact
        best = _best([a for a in (_Anchor(exact, 0), inner) if a.literals is not None])
        if best.literals is None:
            required_ok = False
        else:
            required |= best.literals
            lead = None if lead is None or best.lead is None else max(lead, best.lead)
            eaten |= best.eaten
    return (frozenset(exacts) if exact_ok and len(exacts) <= _MAX_STRINGS else None,
            _Anchor(frozenset(required), lead, eaten) if required_ok else _NO_ANCHOR, eats)


def _widest(items: _sre_parse.SubPattern, op: object, av: object) -> int | None:
    """The most characters one item can match; None: no bound."""
    widest = _sre_parse.SubPattern(items.state, [(op, av)]).getwidth()[1]
    return None if widest >= _UNBOUNDED_WIDTH else widest


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


# Characters that end the stretch a regex's lead-in may span ("we (?:\\w+ )?found" spans no
# comma): a match starts after the last of them before its literal that it cannot match.
STOPS = frozenset(".,;:!?()[]{}%=/\n")
_CATEGORY_CLASS = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                   "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def _class_eats(items: _ClassItems) -> frozenset[str]:
    matched: set[str] = set()
    negate = False
    for op, av in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            matched |= STOPS & {chr(cast(int, av))}
        elif op is _c.RANGE:
            low, high = cast(_Range, av)
            matched |= {ch for ch in STOPS if low <= ord(ch) <= high}
        elif op is _c.CATEGORY and str(av) in _CATEGORY_CLASS:
            matched |= {ch for ch in STOPS if re.fullmatch(_CATEGORY_CLASS[str(av)], ch)}
        else:
            return STOPS
    return STOPS - matched if negate else frozenset(matched)


def _class_chars(items: _ClassItems) -> set[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(cast(int, av)))
        elif op is _c.RANGE:
            low, high = cast(_Range, av)
            if high - low >= _MAX_CLASS:
                return None
            chars.update(chr(i) for i in range(low, high + 1))
        else:
            return None  # NEGATE, \w, \d, \s: too many
    if len(chars) > _MAX_CLASS or not all(map(_foldable, chars)):
        return None
    return {fold(ch) for ch in chars}


def _foldable(char: str) -> bool:
    """A character a literal may hold: no whitespace, and `fold` treats it as `re.IGNORECASE` does
    (ASCII, or a symbol with no case such as "\u2264")."""
    if char.isspace():
        return False
    return char.isascii() or char.lower() == char == char.upper()


def _best(candidates: list[_Anchor]) -> _Anchor:
    """The most selective candidate: its commonest literal the rarest, then the fewest literals;
    where its kept literal begins (see `_Anchor`), inside a candidate string at the latest.

    Whitespace ends a run of literals, so "depressed (?:patients|mood)" gives "depressed", not
    a literal per word after it.
    """
    best, best_key = _NO_ANCHOR, None
    for candidate in candidates:
        strings = candidate.literals or frozenset()
        trimmed = frozenset(_longest_piece(s) for s in strings)
        if not trimmed or "" in trimmed:
            continue
        # "depress" present covers "-depress": keep only literals holding no other one
        trimmed = frozenset(s for s in trimmed if not any(o != s and o in s for o in trimmed))
        key = (min(map(_rarity, trimmed)), -len(trimmed))
        if best_key is None or key > best_key:
            # Each candidate string holds a kept literal; the first such starts this far into it.
            inside = max(min(s.find(t) for t in trimmed if t in s) for s in strings)
            eaten = candidate.eaten | (STOPS & set("".join(strings)))
            best, best_key = _Anchor(trimmed, _plus(candidate.lead, inside), eaten), key
    return best


@cache
def _rarity(literal: str) -> float:
    """How seldom text holds the literal, roughly: its length, symbols ("=", "%") counting double."""
    return sum(1.0 if ch.isalnum() else 0.5 if ch in "-.,()'/" else 2.0 for ch in literal)


@cache
def _longest_piece(literal: str) -> str:
    """The longest whitespace-free part (whitespace already ends a run; this keeps it so)."""
    return max(literal.split(), key=len, default="")
