"""Word tokens of free text, with character offsets: how RJDB text is cut into the token
sequences that weak BIO labels and the trained tagger work on.

A word is a run of letters, digits and underscores (``\\w+``); every other non-space
character is a token of its own, so ``Node.js`` is ``Node . js`` and ``C++`` is ``C + +``,
close to the CoNLL tokenisation of SkillSpan and Green. Span projection
(:func:`rjdb_bench.metrics.spans.project_strings`) compares tokens with whitespace removed,
so a skill string still matches across these cuts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"\w+|[^\w\s]")

Offsets = tuple[int, int]


def word_offsets(text: str) -> list[Offsets]:
    """``(start, end)`` character offsets of the word tokens of ``text``.

    >>> text = "Node.js, C++ and SQL"
    >>> [text[s:e] for s, e in word_offsets(text)]
    ['Node', '.', 'js', ',', 'C', '+', '+', 'and', 'SQL']
    """
    return [match.span() for match in _WORD.finditer(text)]


def line_windows(text: str, max_words: int) -> list[list[Offsets]]:
    """The word offsets of ``text`` grouped into windows of whole lines, each at most
    ``max_words`` words (a longer line is cut into pieces); lines without words are skipped.

    >>> text = "a b c\\n\\nd e\\nf g h i j"
    >>> [[text[s:e] for s, e in window] for window in line_windows(text, 4)]
    [['a', 'b', 'c'], ['d', 'e'], ['f', 'g', 'h', 'i'], ['j']]
    """
    if max_words < 1:
        raise ValueError(f"max_words must be positive, got {max_words}")
    windows: list[list[Offsets]] = []
    current: list[Offsets] = []
    position = 0
    for line in text.splitlines(keepends=True):
        words = [(position + s, position + e) for s, e in word_offsets(line)]
        position += len(line)
        if current and len(current) + len(words) > max_words:
            windows.append(current)
            current = []
        for start in range(0, len(words), max_words):
            piece = words[start : start + max_words]
            if len(piece) == max_words:
                windows.extend([current, piece] if current else [piece])
                current = []
            else:
                current.extend(piece)
    if current:
        windows.append(current)
    return windows


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    """``items`` cut into consecutive lists of at most ``size`` (the tagger's input windows).

    >>> chunks(["a", "b", "c"], 2)
    [['a', 'b'], ['c']]
    """
    return [list(items[start : start + size]) for start in range(0, len(items), size)] or [[]]


def first_subwords(word_ids: Sequence[int | None]) -> dict[int, int]:
    """``{token position: word index}`` of each word's first subword token (a tokenizer's
    ``word_ids()``): where a word's tag is learnt (the tagger's training) and read (its
    inference); every other token is ignored.

    >>> first_subwords([None, 0, 0, 1, None])
    {1: 0, 3: 1}
    """
    first: dict[int, int] = {}
    seen: set[int] = set()
    for position, word in enumerate(word_ids):
        if word is not None and word not in seen:
            seen.add(word)
            first[position] = word
    return first
