"""Parse RJDB experience strings and ``Filtered-information.Experience`` templates.

Pure functions on strings; they raise ``ValueError`` on input they do not recognise and the
loader (:mod:`rjdb_bench.data.rjdb`) turns that into an ``InputError`` naming file, line and
field. See ``docs/data.md`` for the quirks these functions handle.

:func:`years_from_text` is the lenient reader of a title and year count in free text (model
answers, resume lines), shared by the task parsers and the baseline model; it never raises.
"""

from __future__ import annotations

import re

# A year range at the very end of a title: "Bakers (2013 - 2016)".
_RANGE = re.compile(r"\s*\(\s*(\d{4})\s*-\s*(\d{4})\s*\)\s*$")
# The numbering of one title inside a merged string: "2. Printing workers (2014 - 2018)".
_NUMBERED = re.compile(r"^\s*\d+\.\s+")

_REDUCED = re.compile(r'instead\s+of\s+"(?P<original>.*)"\s+use\s+"(?P<edited>.*)"', re.DOTALL)
_REMOVED = re.compile(r'without\s+including\s+"(?P<original>.*)"', re.DOTALL)
_UNCHANGED = re.compile(r"the\s+same\s+job\s+experience\s+as\s+before")

EXPERIENCE_CHANGE_KINDS = ("reduced", "removed", "none")

# A year range anywhere in free text (model output, resume lines): "2019 - 2023",
# "(2019 – present)", "2019 to 2023".
YEAR_RANGE_IN_TEXT = re.compile(
    r"\(?\s*((?:19|20)\d{2})\s*[-\u2013\u2014to]+\s*((?:19|20)\d{2}|present|current|now)\s*\)?",
    re.I,
)
# A year count in free text: "4 years", "3+ yrs", "2.5 years".
_YEARS_COUNT = re.compile(r"(\d+(?:\.\d+)?)\s*\+?\s*(?:years?|yrs?)\b", re.I)


def parse_experience_string(s: str) -> list[dict]:
    """Split one ``"T (YYYY - YYYY)"`` string into its experiences.

    Returns one dict per title: ``title``, ``years`` (``end - start``), ``start``, ``end``
    (``None`` where the title has no trailing range) and ``source`` (``s`` unchanged). Only a
    trailing ``(YYYY - YYYY)`` is a range, so titles keep their own parentheses. A string of
    several lines is a merged entry: each line is one title with its ``N.`` numbering removed,
    and only the line that carries a range gets years.

    >>> parse_experience_string("Bakers (2013 - 2016)")
    [{'title': 'Bakers', 'years': 3, 'start': 2013, 'end': 2016, 'source': 'Bakers (2013 - 2016)'}]
    >>> [e["title"] for e in parse_experience_string("1. Cook\\n2. Baker (2014 - 2016)")]
    ['Cook', 'Baker']
    """
    lines = [line for line in s.strip().splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty experience string")
    if len(lines) > 1:
        lines = [_NUMBERED.sub("", line, count=1) for line in lines]
    return [_parse_one_title(line, source=s) for line in lines]


def _parse_one_title(text: str, *, source: str) -> dict:
    """Parse one title with an optional trailing year range."""
    match = _RANGE.search(text)
    if match is None:
        start = end = years = None
        title = text.strip()
    else:
        start, end = int(match.group(1)), int(match.group(2))
        if end < start:
            raise ValueError(f"year range ends before it starts in {source!r}")
        years = end - start
        title = text[: match.start()].strip()
    if not title:
        raise ValueError(f"experience without a title in {source!r}")
    return {"title": title, "years": years, "start": start, "end": end, "source": source}


def years_from_text(text: str) -> tuple[str, int | None]:
    """Split ``"Title (2019 - 2023)"`` or ``"Title: 4 years"`` into a title and a year count.

    >>> years_from_text("Junior Systems Admin (2019 - 2023)")
    ('Junior Systems Admin', 4)
    >>> years_from_text("4 years as a Data Analyst")
    ('Data Analyst', 4)
    >>> years_from_text("Baker")
    ('Baker', None)
    >>> years_from_text("Data Analyst (2019 - present)")
    ('Data Analyst', None)
    """
    match = YEAR_RANGE_IN_TEXT.search(text)
    if match:
        title = (text[: match.start()] + text[match.end() :]).strip(" -,:;\u2013")
        # "2019 - present" has no year count we could check against gold.
        years = int(match.group(2)) - int(match.group(1)) if match.group(2).isdigit() else None
        return title, years
    match = _YEARS_COUNT.search(text)
    if match:
        title = (text[: match.start()] + text[match.end() :]).strip(" -,:;()\u2013")
        title = re.sub(
            r"^(?:of\s+)?(?:experience\s+)?(?:as\s+(?:an?\s+)?)", "", title, flags=re.I
        ).strip()
        return title, int(float(match.group(1)))
    return text.strip(), None


def experience_title(s: str) -> str:
    """The title(s) of an experience string without its year range, merged titles joined by "; ".

    >>> experience_title("1. Cook\\n2. Baker (2014 - 2016)")
    'Cook; Baker'
    """
    return "; ".join(e["title"] for e in parse_experience_string(s))


def parse_experience_change(s: str) -> dict:
    """Parse ``Filtered-information.Experience`` into ``kind``, ``title``, ``original``, ``edited``.

    The three templates are ``instead of "X (a - b)" use "X (a - c)"`` (``kind="reduced"``),
    ``without including "X (a - b)"`` (``"removed"``, ``edited=None``) and ``the same job
    experience as before`` (``"none"``, everything else ``None``). Surrounding whitespace and a
    trailing period are ignored; anything else raises ``ValueError``. Quoted strings may span
    lines (merged entries).

    >>> parse_experience_change('without including "Bakers (2013 - 2016)"')
    {'kind': 'removed', 'title': 'Bakers', 'original': 'Bakers (2013 - 2016)', 'edited': None}
    """
    text = s.strip()
    if text.endswith("."):
        text = text[:-1].rstrip()
    if _UNCHANGED.fullmatch(text):
        return {"kind": "none", "title": None, "original": None, "edited": None}
    for kind, pattern in (("reduced", _REDUCED), ("removed", _REMOVED)):
        match = pattern.fullmatch(text)
        if match is not None:
            original = match.group("original")
            edited = match.group("edited") if kind == "reduced" else None
            title = experience_title(original)
            if edited is not None:
                experience_title(edited)  # validates the edited string too
            return {"kind": kind, "title": title, "original": original, "edited": edited}
    raise ValueError(
        f'unrecognised template {_shorten(s)!r}; expected \'instead of "X" use "Y"\', '
        "'without including \"X\"' or 'the same job experience as before'"
    )


def _shorten(s: str, limit: int = 80) -> str:
    """``s`` cut to ``limit`` characters for an error message."""
    return s if len(s) <= limit else s[: limit - 3] + "..."
