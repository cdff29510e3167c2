"""String normalisation used by every exact and fuzzy string-matching metric.

The contract: Unicode NFKC, lower-case, strip surrounding punctuation, collapse whitespace;
duplicates within one prediction count once. Exactly, :func:`normalize` does, in order:

1. ``unicodedata.normalize("NFKC", text)`` (full-width forms, ligatures, compatibility
   characters: ``ＳＱＬ`` -> ``SQL``, ``ﬁ`` -> ``fi``, ``（Java）`` -> ``(Java)``, ``…`` -> ``...``);
2. ``str.lower()``, then NFKC once more (lower-casing ``İ`` gives ``i`` + U+0307, which NFKC
   may reorder against a following combining mark; so the result is a fixed point);
3. every run of whitespace (``str.isspace`` characters, which ``re``'s ``\\s`` matches: space,
   tab, newlines, U+00A0, U+2003, U+3000, U+2028, ...) becomes one space;
4. punctuation and spaces are stripped from both ends, where *punctuation* is every character
   whose ``unicodedata.category`` starts with ``P`` (Pc, Pd, Ps, Pe, Pi, Pf, Po:
   ``« » „ “ ” ‘ ’ 「 」 ¡ ¿ — – ‐ ‹ › • · ‣ § † 、 。``, ...) plus the ASCII characters of
   ``string.punctuation`` (POSIX ``[:punct:]``), which adds the ASCII symbols
   ``$ + < = > ^ ` | ~`` (category S): they were stripped before, and backticks and pipes
   are common model markup (`` `SQL` ``, ``| SQL |``). Non-ASCII symbols (S*: ``© ® ° € → ✓ ♯``,
   emoji) are not punctuation and are kept. Punctuation inside the string is kept
   (``node.js``, ``r&d``, ``e-mail``, ``c/c++``). A stripped character takes the combining
   marks (category M*) that follow it with it: NFKC turns ``‾``, ``‗``, ``﹉``-``﹌`` and spacing
   accents (``´ ¨ ¯ ¸``) into a space plus a combining mark, so ``‾Java‾`` and ``´Java´`` are
   ``java`` too; a mark on a letter (``café``) or on an inner space is kept.

One refinement, for skill names: a leading ``.`` immediately followed by a letter or digit
(``str.isalnum``) is kept (``.NET``), and a trailing run of ``+``/``#`` immediately preceded by
a letter or digit is kept (``C++``, ``C#``, ``F#``, ``A+``); a plain strip would make ``C``,
``C++`` and ``C#`` one skill. ``(C++)`` -> ``c++``, ``...NET`` -> ``.net``, ``a +`` -> ``a``.

A string of only punctuation and whitespace normalises to ``""``; the set and list helpers
drop such strings. The result is a fixed point: ``normalize(normalize(s)) == normalize(s)``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_KEPT_TRAILING = "+#"
_WHITESPACE = re.compile(r"\s+")  # str.isspace() characters: Unicode White_Space and more


def _strippable(char: str) -> bool:
    """Space or punctuation (Unicode category P*, or ASCII ``string.punctuation``)."""
    return char == " " or char in _ASCII_PUNCTUATION or unicodedata.category(char)[0] == "P"


def _is_mark(char: str) -> bool:
    """A combining mark (category M*): it belongs to the character before it."""
    return unicodedata.category(char)[0] == "M"


def normalize(text: str) -> str:
    """Normalise one string for matching (the rule is in the module docstring).

    >>> normalize("  **Project  Management**. ")
    'project management'
    >>> [normalize(s) for s in ("C++", "c#.", ".NET", "(PALS)", ". Excel")]
    ['c++', 'c#', '.net', 'pals', 'excel']
    >>> [normalize(s) for s in ("«Java»", "„Python“", "「SQL」", "¡Excel!", "—Go—", "（Java）")]
    ['java', 'python', 'sql', 'excel', 'go', 'java']
    """
    lowered = unicodedata.normalize("NFKC", text).lower()
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", lowered))
    start, end = 0, len(text)
    # Left end: strip (with its combining marks), except a "." directly before a letter or
    # digit (.NET).
    while start < end and _strippable(text[start]):
        if text[start] == "." and text[start + 1 : start + 2].isalnum():
            break
        start += 1
        while start < end and _is_mark(text[start]):
            start += 1
    # Right end: strip (with its combining marks), except a bare run of "+"/"#" directly after
    # a letter or digit (C++). Neither end strips the character that the other end's exception
    # looks at (a letter or digit is never strippable), so one pass per end is a fixed point.
    while end > start:
        base = end
        while base > start and _is_mark(text[base - 1]):
            base -= 1
        if base == start:  # only combining marks with no character before them: kept
            break
        if base == end and text[end - 1] in _KEPT_TRAILING:
            run_start = end
            while run_start > start and text[run_start - 1] in _KEPT_TRAILING:
                run_start -= 1
            if run_start > start and text[run_start - 1].isalnum():
                break
            end = run_start
        elif _strippable(text[base - 1]):
            end = base - 1
        else:
            break
    return text[start:end]


def normalized_set(items: Iterable[str]) -> set[str]:
    """Normalise every item; drop those that normalise to nothing; deduplicate.

    >>> sorted(normalized_set(["SQL", "sql ", "", "Excel", "«excel»"]))
    ['excel', 'sql']
    """
    return {n for n in (normalize(item) for item in items) if n}


def normalized_list(items: Iterable[str]) -> list[str]:
    """Like :func:`normalized_set` but keeps first-seen order (for one-to-one matching)."""
    return list(dict.fromkeys(n for n in (normalize(item) for item in items) if n))
