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

Speed, without changing an answer: a set of literals is an int (one bit per literal); a word's
literals are remembered by the word and by its runs of characters that literals use (few
distinct runs: "(depression," and "depression." are both "depression"); an alternation whose
text allows a few alternatives runs those alone, leftmost match first, which is the match the
whole finds, and with no regex compiled per set of alternatives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

try:  # the parser of the standard `re` module: private, so read defensively
    from re import _constants as _c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - another Python: no prefilter, every regex runs
    _sre_parse = None  # type: ignore[assignment]

# Non-ASCII characters that `re.IGNORECASE` matches to an ASCII letter but whose `str.lower()`
# is not that letter alone (found by brute force over every code point; tests re-check it).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})

_MAX_STRINGS = 64  # beyond this many alternatives a run of literals is cut
_MAX_CLASS = 10  # a character class of up to this many characters is read as alternatives
_MAX_CACHED_TOKENS = 100_000  # distinct words (and distinct runs) remembered per scanner (a few MB each)
_MAX_NARROWED = 512  # alternations compiled per pattern from the alternatives a text allows (`finditer`)
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
        # A literal holds only these characters, so it lies inside one run of them: a word's
        # literals are its runs' ("depression," and "(depression" share "depression"'s).
        alphabet = sorted(set("".join(universe)))
        self._runs = re.compile(f"[{''.join(map(re.escape, alphabet))}]+").findall if alphabet else None
        self._by_token: dict[str, int] = {}  # a literal never spans whitespace
        self._by_run: dict[str, int] = {}
        self._masks: dict[int, int] = {}  # one int object per distinct set, shared by the caches

    def presence(self, text: str) -> Presence:
        return Presence(self, self.mask(text))

    def mask(self, text: str) -> int:
        """The literals `text` holds, as bits (see `bits`)."""
        cache = self._by_token
        found = 0
        for token in fold(text).split():
            hit = cache.get(token)
            if hit is None:
                hit = self._token(token)
            found |= hit
        return found

    def literals(self, mask: int) -> frozenset[str]:
        """The literals a mask stands for (for tests and debugging)."""
        return frozenset(lit for lit, bit in self.bits.items() if mask & bit)

    def _token(self, token: str) -> int:
        cache, runs = self._by_token, self._by_run
        if len(cache) >= _MAX_CACHED_TOKENS:
            cache.clear()
        found = 0
        for run in self._runs(token) if self._runs is not None else ():
            hit = runs.get(run)
            if hit is None:
                if len(runs) >= _MAX_CACHED_TOKENS:
                    runs.clear()
                hit = runs[run] = self._scan(run)
            found |= hit
        cache[token] = found
        return found

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
    the match the whole alternation finds (the others fail wherever they are tried). None: always run.
    """
    if present is None:
        return pattern.search(text)
    gate = present.scanner.gates.get(id(pattern))
    if gate is None:
        return pattern.search(text)
    return gate.search(text, present.mask)


def has(pattern: re.Pattern[str], text: str, present: Presence | None) -> bool:
    """`bool(search(pattern, text, present))`, stopping at the first alternative that matches."""
    if present is None:
        return pattern.search(text) is not None
    gate = present.scanner.gates.get(id(pattern))
    if gate is None:
        return pattern.search(text) is not None
    required = gate.required
    if required is not None and not required & present.mask:
        return False  # the common case, decided without a call
    for choice in gate.choices(present.mask):
        if choice.search(text) is not None:
            return True
    return False


def finditer(pattern: re.Pattern[str], text: str, present: Presence | None) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, narrowed like `search` (each match is a search from the last end)."""
    if present is None:
        return pattern.finditer(text)
    gate = present.scanner.gates.get(id(pattern))
    if gate is None:
        return pattern.finditer(text)
    narrowed = gate.narrowed(present.mask)
    return iter(()) if narrowed is None else narrowed.finditer(text)


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


class _Gate:
    """One pattern's literals, and for a top-level alternation each alternative's."""

    __slots__ = ("_alts_of", "_choices", "_compiled", "_keys", "_narrowed", "_part_literals", "_parts", "always",
                 "full", "literals", "pattern", "required", "required_literals")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._parts: list[str] = []
        self.required: int | None = None  # set by `bind`
        parts = _alternatives(pattern)
        part_literals = [_source_literals(part, pattern.flags) for part in parts] if parts else []
        if not parts or any(lits is _UNPARSED for lits in part_literals):
            self.required_literals = required_literals(pattern)
            self.literals: frozenset[str] = self.required_literals or frozenset()
            return
        # The whole requires one of its alternatives' literals, when each has some.
        self.required_literals = (None if None in part_literals
                                  else frozenset().union(*part_literals))  # type: ignore[arg-type]
        self.literals = frozenset().union(*(lits for lits in part_literals if lits))  # type: ignore[misc]
        self._parts = parts
        self._part_literals = part_literals
        self.full = (1 << len(parts)) - 1
        self.always = sum(1 << i for i, lits in enumerate(part_literals) if lits is None)

    def bind(self, bits: dict[str, int]) -> None:
        """Literal sets as the scanner's bit masks."""
        self.required = None if self.required_literals is None else _mask(self.required_literals, bits)
        if not self._parts:
            return
        alts_of: dict[int, int] = {}  # a literal's bit -> the alternatives it may let match
        for i, lits in enumerate(self._part_literals):
            for lit in lits or ():
                alts_of[bits[lit]] = alts_of.get(bits[lit], 0) | 1 << i
        self._alts_of = alts_of
        self._keys = _mask(self.literals, bits)
        self._compiled: list[re.Pattern[str] | None] = [None] * len(self._parts)
        self._choices: dict[int, tuple[re.Pattern[str], ...]] = {}
        self._narrowed: dict[int, re.Pattern[str]] = {}

    def _chosen(self, mask: int) -> int:
        """The alternatives (bits) a text whose literals are `mask` allows."""
        chosen, relevant, alts_of = self.always, mask & self._keys, self._alts_of
        while relevant:
            low = relevant & -relevant
            chosen |= alts_of[low]
            relevant ^= low
        return chosen

    def choices(self, mask: int) -> tuple[re.Pattern[str], ...]:
        """The patterns to run, in order: the whole, its allowed alternatives alone, or none."""
        if not self._parts:
            if self.required is not None and not self.required & mask:
                return ()
            return (self.pattern,)
        relevant = mask & self._keys
        found = self._choices.get(relevant)
        if found is None:
            chosen = self._chosen(mask)
            if chosen == self.full:
                found = (self.pattern,)
            else:
                found = tuple(self._part(i) for i in range(len(self._parts)) if chosen >> i & 1)
            if len(self._choices) < _MAX_CHOICES:
                self._choices[relevant] = found
        return found

    def _part(self, i: int) -> re.Pattern[str]:
        compiled = self._compiled[i]
        if compiled is None:
            compiled = self._compiled[i] = re.compile(self._parts[i], self.pattern.flags)
        return compiled

    def search(self, text: str, mask: int) -> re.Match[str] | None:
        best = None
        for pattern in self.choices(mask):
            match = pattern.search(text)
            if match is not None and (best is None or match.start() < best.start()):
                best = match
        return best

    def narrowed(self, mask: int) -> re.Pattern[str] | None:
        """The pattern cut to the alternatives a text holding `mask` allows; None: none does."""
        if not self._parts:
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
            parts = (part for i, part in enumerate(self._parts) if chosen >> i & 1)
            narrowed = self._narrowed[chosen] = re.compile("|".join(parts), self.pattern.flags)
        return narrowed


def _alternatives(pattern: re.Pattern[str]) -> list[str] | None:
    """The top-level alternatives of a pattern's source, when each stands alone; else None."""
    source = pattern.pattern
    if (not isinstance(source, str) or pattern.groups or pattern.flags & re.VERBOSE or "(?#" in source
            or re.match(r"\(\?[aiLmsux]+\)", source)):
        return None  # groups would be renumbered, comments and global flags not split
    parts, depth, start, i = [], 0, 0, 0
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
        elif ch == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts if len(parts) > 1 else None


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
    if _sre_parse is None:
        return None
    try:
        parsed = _sre_parse.parse(source, flags)
    except re.error:
        return _UNPARSED
    try:
        return _sequence(parsed)[1]
    except (TypeError, ValueError, AttributeError, IndexError, RecursionError):
        return None  # an unfamiliar parse tree: no prefilter, the regex decides


# Each node gives (exact, required): `exact` the finite set of strings it matches (None: too
# many or unknown), `required` a set of literals one of which every match contains (None: no
# such set known). Zero-width assertions match the empty string.

def _sequence(items: Iterable[tuple[object, object]]) -> tuple[Literals | None, Literals | None]:
    run: Literals | None = frozenset({""})  # exact strings of the run of items so far
    candidates: list[Literals] = []
    whole = True  # every item so far joined the run
    for op, av in items:
        exact, required = _node(op, av)
        if exact is not None and run is not None and len(run) * len(exact) <= _MAX_STRINGS:
            run = frozenset(a + b for a in run for b in exact)
            continue
        whole = False
        if run is not None:
            candidates.append(run)
        if required is not None:
            candidates.append(required)
        run = exact if exact is not None else frozenset({""})
    if run is not None:
        candidates.append(run)
    return (run if whole else None), _best(candidates)


def _node(op: object, av: object) -> tuple[Literals | None, Literals | None]:
    c = _c
    if op is c.LITERAL:
        char = chr(av)  # type: ignore[arg-type]
        if not _foldable(char):
            return None, None  # non-ASCII: case twins not worth modelling; a space: see `_best`
        return frozenset({fold(char)}), None
    if op is c.IN:
        chars = _class_chars(av)  # type: ignore[arg-type]
        return (frozenset(chars) if chars is not None else None), None
    if op is c.AT:
        return frozenset({""}), None
    if op is c.SUBPATTERN:
        return _sequence(av[-1])  # type: ignore[index]
    if op is c.ATOMIC_GROUP:
        return _sequence(av)  # type: ignore[arg-type]
    if op is c.BRANCH:
        return _branch(av[1])  # type: ignore[index]
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, high, sub = av  # type: ignore[misc]
        exact, required = _sequence(sub)
        if low == high == 1:
            return exact, required
        if low == 0:
            if high == 1 and exact is not None:
                return exact | {""}, None
            return None, None
        return None, _best([s for s in (exact, required) if s is not None])
    return None, None  # lookarounds, backreferences, `.`, negated literals: not read


def _branch(alternatives: list[object]) -> tuple[Literals | None, Literals | None]:
    exacts: set[str] = set()
    required: set[str] = set()
    exact_ok = required_ok = True
    for alternative in alternatives:
        exact, req = _sequence(alternative)  # type: ignore[arg-type]
        if exact is None:
            exact_ok = False
        else:
            exacts |= exact
        best = _best([s for s in (exact, req) if s is not None])
        if best is None:
            required_ok = False
        else:
            required |= best
    return (frozenset(exacts) if exact_ok and len(exacts) <= _MAX_STRINGS else None,
            frozenset(required) if required_ok else None)


def _class_chars(items: list[tuple[object, object]]) -> set[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(av))  # type: ignore[arg-type]
        elif op is _c.RANGE:
            low, high = av  # type: ignore[misc]
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


def _best(candidates: list[Literals]) -> Literals | None:
    """The most selective candidate: its commonest literal the rarest, then the fewest literals.

    Whitespace ends a run of literals, so "depressed (?:patients|mood)" gives "depressed", not
    a literal per word after it.
    """
    best, best_key = None, None
    for candidate in candidates:
        trimmed = frozenset(_longest_piece(s) for s in candidate)
        if not trimmed or "" in trimmed:
            continue
        # "depress" present covers "-depress": keep only literals holding no other one
        trimmed = frozenset(s for s in trimmed if not any(o != s and o in s for o in trimmed))
        key = (min(map(_rarity, trimmed)), -len(trimmed))
        if best_key is None or key > best_key:
            best, best_key = trimmed, key
    return best


def _rarity(literal: str) -> float:
    """How seldom text holds the literal, roughly: its length, symbols ("=", "%") counting double."""
    return sum(1.0 if ch.isalnum() else 0.5 if ch in "-.,()'/" else 2.0 for ch in literal)


def _longest_piece(literal: str) -> str:
    """The longest whitespace-free part (whitespace already ends a run; this keeps it so)."""
    return max(literal.split(), key=len, default="")
