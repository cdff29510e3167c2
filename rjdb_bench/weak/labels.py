"""Weak labels from RJDB rows: BIO skill tags over resume and job-description text, and
(job description, resume, label) match pairs.

BIO tags. Each text is cut into word tokens (:func:`rjdb_bench.data.words.word_offsets`)
grouped into windows of whole lines (at most ``max_words`` words). In each window the row's
``Skills`` strings are placed with :func:`rjdb_bench.metrics.spans.project_strings`, the
same projection that scores the OOD span tasks, so its rules are the weak labels' rules:

* **Casing**: case-insensitive (NFKC, casefolded); ``python`` tags ``Python``.
* **Punctuation**: a skill loses its surrounding punctuation first
  (:func:`~rjdb_bench.metrics.spans.strip_punctuation`: ``"SQL."`` is ``SQL``, ``(PALS)``
  is ``PALS``; ``.NET`` and ``C#`` keep theirs), so a weak span never starts or ends on a
  punctuation token; tokens are compared with whitespace removed, so ``Node.js`` tags
  ``Node . js`` (three tokens) and never the inside of a longer token (``Java`` does not
  tag ``JavaScript``).
* **Repeats**: every mention is tagged: a skill is listed as many times as it occurs in the
  window (:func:`skill_mentions`), and each copy claims one occurrence.
* **Overlaps**: a skill whose text lies inside another listed skill (``data`` in
  ``data analysis``) is placed after it, on the occurrences left free; of two skills that
  overlap partially the one earlier in ``Skills`` is placed first and the other gets only
  the occurrences that stay free. Spans never overlap.
* **Not located**: a skill that occurs nowhere in a text tags nothing there; its tokens, if
  the text says it another way, stay ``O`` (the labels' main noise, measured in the data
  card as the share of gold skills located).

Match pairs. For each row: (job description, ``Resume-matched``) → 1, (job description,
``Resume-unmatched``) → 0 (kind ``unmatched``) and, with kind ``other_row``, the job
description with the matched resume of another row drawn with the seed → 0.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import datasets

from rjdb_bench.data.words import line_windows
from rjdb_bench.metrics.bio import spans_to_bio
from rjdb_bench.metrics.spans import match_key, occurrences, project_strings, strip_punctuation

TAGS = ("O", "B", "I")

TAGGER_FEATURES = datasets.Features(
    {
        "row_id": datasets.Value("int64"),
        "source": datasets.Value("string"),
        "window": datasets.Value("int64"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "tags": datasets.Sequence(datasets.ClassLabel(names=list(TAGS))),
    }
)
MATCHER_FEATURES = datasets.Features(
    {
        "row_id": datasets.Value("int64"),
        "kind": datasets.Value("string"),
        "job_description": datasets.Value("string"),
        "resume": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["no", "yes"]),
    }
)


def skill_core(skill: str) -> str:
    """The form a skill is located in: NFKC, without surrounding whitespace and punctuation.

    >>> skill_core(" SQL. "), skill_core("(C#)"), skill_core("...")
    ('SQL', 'C#', '')
    """
    return strip_punctuation(unicodedata.normalize("NFKC", skill).strip())


def skill_mentions(tokens: Sequence[str], skill: str) -> int:
    """How many times ``skill`` (its :func:`skill_core`) occurs in ``tokens``.

    >>> skill_mentions(["SQL", ",", "sql", "and", "SQL", "."], "SQL.")
    3
    """
    key = match_key(skill_core(skill))
    return len(occurrences(tokens, key)) if key else 0


@dataclass
class TaggedText:
    """One window of weak BIO tags and which of the row's skills it located."""

    tokens: list[str]
    tags: list[str]
    located: set[int] = field(default_factory=set)


def tag_tokens(tokens: Sequence[str], skills: Sequence[str]) -> TaggedText:
    """Weak BIO tags of ``tokens`` for the row's ``skills`` (rules in the module docstring).

    >>> tagged = tag_tokens("Python and data analysis ; python , data".split(), ["data", "Python", "data analysis", "Go"])
    >>> tagged.tags, sorted(tagged.located)
    (['B', 'O', 'B', 'I', 'O', 'B', 'O', 'B'], [0, 1, 2])
    """
    cores = [skill_core(skill) for skill in skills]
    counts = [skill_mentions(tokens, core) for core in cores]
    strings = [core for core, n in zip(cores, counts, strict=True) for _ in range(n)]
    projection = project_strings(tokens, strings)
    placed = {match_key("".join(tokens[start:end])) for start, end in projection.spans}
    located = {
        index for index, core in enumerate(cores) if counts[index] and match_key(core) in placed
    }
    return TaggedText(list(tokens), spans_to_bio(projection.spans, len(tokens)), located)


@dataclass
class RowLabels:
    """The tagged windows of one row and, per text source, which skills were located."""

    windows: list[tuple[str, TaggedText]]
    located: dict[str, set[int]]


def tag_row(row: Mapping[str, Any], sources: Sequence[str], max_words: int) -> RowLabels:
    """Tag every window of the row's ``sources`` texts with its ``skills``."""
    skills = list(row["skills"])
    windows: list[tuple[str, TaggedText]] = []
    located: dict[str, set[int]] = {}
    for source in sources:
        text = row[source]
        located[source] = set()
        for offsets in line_windows(text, max_words):
            tagged = tag_tokens([text[s:e] for s, e in offsets], skills)
            located[source] |= tagged.located
            windows.append((source, tagged))
    return RowLabels(windows, located)


def tagger_records(row_id: int, labels: RowLabels) -> list[dict[str, Any]]:
    """The tagger dataset's records of one row (features :data:`TAGGER_FEATURES`)."""
    records = []
    counters: dict[str, int] = {}
    for source, tagged in labels.windows:
        window = counters[source] = counters.get(source, -1) + 1
        records.append(
            {
                "row_id": row_id,
                "source": source,
                "window": window,
                "tokens": tagged.tokens,
                "tags": [TAGS.index(tag) for tag in tagged.tags],
            }
        )
    return records


def match_pairs(
    rows: Sequence[Mapping[str, Any]], negatives: Sequence[str], seed: int
) -> list[dict[str, Any]]:
    """Match pairs of ``rows`` (features :data:`MATCHER_FEATURES`), row by row.

    ``other_row`` negatives pair a row's job description with the matched resume of a row
    drawn uniformly among the others with ``random.Random(seed)``.

    >>> rows = [{"row_id": i, "job_description": f"JD{i}", "resume_matched": f"M{i}",
    ...          "resume_unmatched": f"U{i}"} for i in range(2)]
    >>> [(p["resume"], p["label"], p["kind"]) for p in match_pairs(rows, ["unmatched", "other_row"], 0)][:3]
    [('M0', 1, 'matched'), ('U0', 0, 'unmatched'), ('M1', 0, 'other_row')]
    """
    rng = random.Random(seed)
    pairs = []
    for index, row in enumerate(rows):
        base = {"row_id": row["row_id"], "job_description": row["job_description"]}
        pairs.append({**base, "kind": "matched", "resume": row["resume_matched"], "label": 1})
        if "unmatched" in negatives:
            pairs.append(
                {**base, "kind": "unmatched", "resume": row["resume_unmatched"], "label": 0}
            )
        if "other_row" in negatives and len(rows) > 1:
            other = (index + rng.randrange(1, len(rows))) % len(rows)
            pairs.append(
                {**base, "kind": "other_row", "resume": rows[other]["resume_matched"], "label": 0}
            )
    return pairs
