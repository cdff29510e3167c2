"""String normalisation used by every exact and fuzzy string-matching metric.

The rule is fixed by the task contract: Unicode NFKC, lower-case, strip surrounding
punctuation, collapse whitespace. Duplicates within one prediction count once.

One refinement over a plain ``str.strip(string.punctuation)``: a trailing ``+`` or ``#``
and a leading ``.`` before a letter are kept, because they are part of skill names
(``C++``, ``C#``, ``A+``, ``.NET``); stripping them would make ``C``, ``C++`` and ``C#`` one skill.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable

_SPACE = re.compile(r"\s+")
# ASCII punctuation plus the typographic quotes, dashes and bullets models like to emit.
_PUNCT = string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2022\u00b7\u2026 \t\n\r"
_STRIP_LEFT = _PUNCT.replace(".", "")
_STRIP_RIGHT = _PUNCT.replace("+", "").replace("#", "")


def normalize(text: str) -> str:
    """Normalise one string for matching.

    >>> normalize("  **Project  Management**. ")
    'project management'
    >>> [normalize(s) for s in ("C++", "c#.", ".NET", "(PALS)", ". Excel")]
    ['c++', 'c#', '.net', 'pals', 'excel']
    """
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower())
    previous = None
    while text != previous:
        previous = text
        text = text.lstrip(_STRIP_LEFT).rstrip(_STRIP_RIGHT)
        if text.startswith(".") and not text[1:2].isalnum():
            text = text[1:]
        if text.endswith(("+", "#")) and not text[:-1].rstrip("+#")[-1:].isalnum():
            text = text.rstrip("+#")
    return text


def normalized_set(items: Iterable[str]) -> set[str]:
    """Normalise every item; drop those that normalise to nothing; deduplicate.

    >>> sorted(normalized_set(["SQL", "sql ", "", "Excel"]))
    ['excel', 'sql']
    """
    return {n for n in (normalize(item) for item in items) if n}


def normalized_list(items: Iterable[str]) -> list[str]:
    """Like :func:`normalized_set` but keeps first-seen order (for one-to-one matching)."""
    return list(dict.fromkeys(n for n in (normalize(item) for item in items) if n))
