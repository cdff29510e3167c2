"""Lenient parsing of model output: JSON first, then lists, bullets and plain text.

Every parser returns a :class:`Parsed` whose ``ok`` flag says whether the expected format
was recovered; tasks report the share of ``ok=False`` as ``parse_failure_rate`` and score
an unparsed answer as an empty (or wrong) prediction, so failures are never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

# years_from_text lives in the data layer (the baseline model uses it too); imported here so
# ``from rjdb_bench.tasks.parsing import years_from_text`` keeps working.
from rjdb_bench.data.experience import (
    EXPERIENCE_CHANGE_KINDS,
    YEAR_RANGE_IN_TEXT,
    years_from_text,
)

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u2013+]|\d+[.)]|\(\d+\)|[a-z][.)])\s+(.*\S)\s*$")
_TITLE_KEYS = ("title", "role", "position", "job_title", "name")
_ANSWER_KEYS = {"answer", "label", "match", "choice", "prediction", "result"}


# A one-line answer without commas counts as a single item only if it is this short.
_MAX_BARE_ITEM_WORDS = 5
_NO_ANSWER = {"null", "none", "n/a", "na", "nothing", "-"}


class Parsed(NamedTuple):
    """A parsed answer and whether the expected format was found."""

    value: Any
    ok: bool


def find_json(text: str) -> Any | None:
    """Return the first JSON value found in ``text`` (whole text, fenced block, or embedded).

    >>> find_json('Sure! ```json\\n["a", "b"]\\n``` Hope it helps')
    ['a', 'b']
    >>> find_json('The answer: {"answer": "Yes"}.')
    {'answer': 'Yes'}
    >>> find_json("no json here") is None
    True
    >>> find_json('["a raw\ttab"]') == ["a raw\ttab"]
    True
    """
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    for candidate in candidates:
        try:
            return json.loads(candidate, strict=False)
        except (json.JSONDecodeError, ValueError):
            pass
    decoder = json.JSONDecoder(strict=False)  # control characters inside strings are tolerated
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
            return value
        except (json.JSONDecodeError, ValueError):
            continue
    return None


def parse_label(text: str, labels: Sequence[str]) -> Parsed:
    """The first of ``labels`` that the answer states (case-insensitive, whole word).

    Accepts a bare label, a sentence starting with one, ``{"answer": label}``, or for
    one-letter labels ``Resume A``/``Option B``.

    >>> parse_label("Yes, the resume covers every skill.", ["Yes", "No"])
    Parsed(value='Yes', ok=True)
    >>> parse_label("The better match is resume B.", ["A", "B"])
    Parsed(value='B', ok=True)
    >>> parse_label("Maybe", ["Yes", "No"])
    Parsed(value=None, ok=False)
    """
    data = find_json(text)
    if isinstance(data, dict):
        answer_keys = [k for k in data if k.lower() in _ANSWER_KEYS]
        values = [data[k] for k in answer_keys] if answer_keys else list(data.values())
        for value in values:
            if isinstance(value, str):
                found = parse_label(value, labels)
                if found.ok:
                    return found
        if answer_keys:
            return Parsed(None, False)
    canonical = {label.lower(): label for label in labels}
    stripped = text.strip().strip(" \t\n.,:;!\"'*()[]").lower()
    if stripped in canonical:
        return Parsed(canonical[stripped], True)
    if all(len(label) == 1 for label in labels):
        letters = "".join(re.escape(label) for label in labels)
        match = re.search(rf"\b(?:resume|option|candidate|answer:?)\s+([{letters}])\b", text, re.I)
        if match is None:
            # A standalone letter; "A" followed by a lower-case word is the article, not an answer.
            match = re.search(rf"(?<![\w'])(?!A\s+[a-z])([{letters}])(?![\w'])", text)
        return Parsed(match.group(1).upper(), True) if match else Parsed(None, False)
    pattern = "|".join(re.escape(label) for label in labels)
    match = re.search(rf"\b({pattern})\b", text, re.I)
    return Parsed(canonical[match.group(1).lower()], True) if match else Parsed(None, False)


def _strings_from_json(data: Any, keys: Sequence[str]) -> list[str] | None:
    if isinstance(data, dict):
        for key in keys:
            if key in data:
                return _strings_from_json(data[key], keys)
        lists = [v for v in data.values() if isinstance(v, list)]
        return _strings_from_json(lists[0], keys) if len(lists) == 1 else None
    if isinstance(data, list):
        out = []
        for item in data:
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                out.append(str(item))
            elif isinstance(item, dict):
                named = next(
                    (
                        item[k]
                        for k in (*keys, "skill", "name", "title")
                        if isinstance(item.get(k), str)
                    ),
                    None,
                )
                if named is None:
                    return None
                out.append(named)
            else:
                return None
        return out
    if isinstance(data, str):
        return [part for part in data.split(",") if part.strip()]
    return None


def bullet_lines(text: str) -> list[str]:
    """Items of a bulleted or numbered list, in order.

    >>> bullet_lines("Skills:\\n- SQL\\n* Excel\\n3. Project Management")
    ['SQL', 'Excel', 'Project Management']
    """
    return [m.group(1) for m in map(_BULLET.match, text.splitlines()) if m]


def parse_string_list(text: str, *, keys: Sequence[str] = ("skills",)) -> Parsed:
    """A list of strings: a JSON array (or an object holding one), else bullets, else a comma list.

    >>> parse_string_list('["SQL", "Excel"]')
    Parsed(value=['SQL', 'Excel'], ok=True)
    >>> parse_string_list('{"skills": ["SQL"]}')
    Parsed(value=['SQL'], ok=True)
    >>> parse_string_list("- SQL\\n- Excel")
    Parsed(value=['SQL', 'Excel'], ok=True)
    >>> parse_string_list("SQL, Excel, Python")
    Parsed(value=['SQL', 'Excel', 'Python'], ok=True)
    >>> parse_string_list("SQL")
    Parsed(value=['SQL'], ok=True)
    >>> parse_string_list('{"a": ["SQL"], "b": ["Excel"]}')
    Parsed(value=[], ok=False)
    >>> parse_string_list("")
    Parsed(value=[], ok=False)
    """
    data = find_json(text)
    if isinstance(data, list | dict | str):
        # JSON was given: it is the answer, whatever its shape; never re-split its raw text.
        strings = _strings_from_json(data, keys)
        if strings is None:
            return Parsed([], False)
        return Parsed([s.strip() for s in strings if s.strip()], True)
    bullets = bullet_lines(text)
    if bullets:
        return Parsed(bullets, True)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if (
        len(lines) == 1
        and not lines[0].endswith((".", "?", "!", ":"))
        and lines[0].lower() not in _NO_ANSWER
    ):
        parts = [part.strip() for part in lines[0].split(",") if part.strip()]
        if len(parts) > 1 or len(parts[0].split()) <= _MAX_BARE_ITEM_WORDS:
            return Parsed(parts, True)
    return Parsed([], False)


GAP_KINDS = EXPERIENCE_CHANGE_KINDS  # the kinds of change RJDB records (data layer)


def parse_explanation(text: str) -> Parsed:
    """``{"missing_skills": [...], "experience_gap": {"kind": ..., "title": ...}}``.

    The value is always a dict with ``missing_skills`` (list), ``kind`` (one of
    :data:`GAP_KINDS` or None) and ``title`` (str). ``ok`` requires a JSON object with a
    list of missing skills and a valid gap kind.

    >>> parse_explanation('{"missing_skills": ["SQL"], "experience_gap": {"kind": "Removed", "title": "Analyst"}}')
    Parsed(value={'missing_skills': ['SQL'], 'kind': 'removed', 'title': 'Analyst'}, ok=True)
    >>> parse_explanation("I cannot tell").ok
    False
    """
    data = find_json(text)
    empty = {"missing_skills": [], "kind": None, "title": ""}
    if not isinstance(data, dict):
        return Parsed(empty, False)
    skills = _strings_from_json(data.get("missing_skills", []), ("missing_skills", "skills")) or []
    gap = data.get("experience_gap")
    kind, title = None, ""
    if isinstance(gap, dict):
        kind = str(gap.get("kind", "")).strip().lower() or None
        title = str(gap.get("title") or "").strip()
    elif isinstance(gap, str):
        kind = gap.strip().lower() or None
    if kind not in GAP_KINDS:
        kind = None
    skills = [s.strip() for s in skills if s.strip()]
    ok = "missing_skills" in data and kind is not None
    return Parsed({"missing_skills": skills, "kind": kind, "title": title}, ok)


def _years_of(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        if YEAR_RANGE_IN_TEXT.search(value):
            return years_from_text(value)[1]
        match = re.search(r"\d+", value)
        return int(match.group()) if match else None
    return None


def parse_experience_list(text: str) -> Parsed:
    """A list of ``{"title": str, "years": int | None}``.

    JSON (a list of objects, or of strings, or an object holding such a list) first, then
    bulleted lines such as ``- Data Analyst (2018 - 2021)``.

    >>> parse_experience_list('[{"title": "Data Analyst", "years": "3"}]')
    Parsed(value=[{'title': 'Data Analyst', 'years': 3}], ok=True)
    >>> parse_experience_list('{"title": "Baker", "years": 3}')
    Parsed(value=[{'title': 'Baker', 'years': 3}], ok=True)
    >>> parse_experience_list("1. Baker (2013 - 2016)")
    Parsed(value=[{'title': 'Baker', 'years': 3}], ok=True)
    """
    data = find_json(text)
    if isinstance(data, dict) and any(isinstance(data.get(k), str) for k in _TITLE_KEYS):
        data = [data]  # one experience given as a bare object
    elif isinstance(data, dict):
        lists = [v for k, v in data.items() if isinstance(v, list) and "exp" in k.lower()] or [
            v for v in data.values() if isinstance(v, list)
        ]
        data = lists[0] if len(lists) == 1 else None
    if isinstance(data, list):
        entries = []
        for item in data:
            if isinstance(item, dict):
                title = next((item[k] for k in _TITLE_KEYS if isinstance(item.get(k), str)), None)
                if title is None:
                    return Parsed([], False)
                years = _years_of(item.get("years", item.get("duration")))
                entries.append({"title": title.strip(), "years": years})
            elif isinstance(item, str):
                title, years = years_from_text(item)
                entries.append({"title": title, "years": years})
            else:
                return Parsed([], False)
        return Parsed([e for e in entries if e["title"]], True)
    lines = bullet_lines(text)
    if lines:
        return Parsed([{"title": t, "years": y} for t, y in map(years_from_text, lines) if t], True)
    return Parsed([], False)


_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.]*\d)")


def parse_rating(text: str, low: float = 1, high: float = 5) -> Parsed:
    """The first number in ``text`` within ``[low, high]`` (a rating such as ``4`` or ``3.5``).

    Accepts a bare number, ``"4"`` in JSON quotes, ``{"rating": 4}``, ``Rating: 4/5`` and
    sentences; a number outside the range (``7``) is skipped, so ``4/5`` reads as 4.

    >>> parse_rating("4")
    Parsed(value=4.0, ok=True)
    >>> parse_rating('{"rating": 2.5}')
    Parsed(value=2.5, ok=True)
    >>> parse_rating("I would rate this candidate 3 out of 5.")
    Parsed(value=3.0, ok=True)
    >>> parse_rating("Great fit!")
    Parsed(value=None, ok=False)
    """
    data = find_json(text)
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, int | float | str)), None)
    if isinstance(data, int | float) and not isinstance(data, bool) and low <= data <= high:
        return Parsed(float(data), True)
    if isinstance(data, str):
        text = data
    for match in _NUMBER.finditer(text):
        value = float(match.group(1))
        if low <= value <= high:
            return Parsed(value, True)
    return Parsed(None, False)
