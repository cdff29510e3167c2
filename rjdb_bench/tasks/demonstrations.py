"""Weak-supervision demonstrations for the OOD tasks, built only from RJDB.

The ``*_weak`` OOD tasks show the model ``k`` worked examples (default 3) before the target
input. The examples come from RJDB rows and RJDB's own labels, never from the target data:

* span extraction: resume lines of ``Resume-matched`` with the row's gold ``Skills`` that
  occur in the line (token-aligned, case-insensitive: :func:`~rjdb_bench.metrics.spans.project_strings`),
  written as the line's surface text; only lines of 6–40 tokens holding at least one skill
  are candidates;
* vacancy matching: (job description, resume) pairs with RJDB's match label, alternating a
  matched (``Yes`` / rating 5) and an unmatched (``No`` / rating 2) example in a seeded
  order; each text is cut to ``max_chars`` characters so that three examples fit a small
  model's context.

The same ``k`` examples, drawn with a fixed seed, precede every doc of a task, so the prompt
prefix is shared (prefix caching) and a run is reproducible.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rjdb_bench.errors import InputError
from rjdb_bench.metrics.spans import project_strings
from rjdb_bench.settings import OODSettings

DEFAULT_K = OODSettings.k  # the run's default (settings): plain lm_eval without ood_k
DEFAULT_MAX_CHARS = 1200
MIN_LINE_TOKENS, MAX_LINE_TOKENS = 6, 40
_WORD = re.compile(r"\w+(?:[.+#'\u2019-]\w+)*[+#]*|[^\w\s]")
_LINE_MARKER = re.compile(r"^\s*(?:[-*\u2022\u2013]|\d+[.)])\s+")


def word_tokens(text: str) -> list[str]:
    """Surface tokens of a line: words (keeping ``C++``, ``Node.js``, ``problem-solving``) and punctuation.

    >>> word_tokens("Built APIs in C++ and Node.js, with problem-solving.")
    ['Built', 'APIs', 'in', 'C++', 'and', 'Node.js', ',', 'with', 'problem-solving', '.']
    """
    return _WORD.findall(text)


def span_examples(rows: Sequence[Mapping[str, Any]], k: int, seed: int) -> list[dict[str, Any]]:
    """``k`` seeded ``{"sentence", "skills"}`` examples from RJDB resume lines (see module doc)."""
    candidates = []
    for row in rows:
        for line in str(row["resume_matched"]).splitlines():
            tokens = word_tokens(_LINE_MARKER.sub("", line))
            if not MIN_LINE_TOKENS <= len(tokens) <= MAX_LINE_TOKENS:
                continue
            placed = project_strings(tokens, list(row["skills"])).spans
            if placed:
                candidates.append(
                    {
                        "sentence": " ".join(tokens),
                        "skills": [" ".join(tokens[start:end]) for start, end in placed],
                    }
                )
    return _sample(candidates, k, seed, what="resume lines with a gold skill")


def render_span_examples(examples: Sequence[Mapping[str, Any]]) -> str:
    """The examples as prompt text (empty for zero-shot), each ``Sentence:`` / ``JSON:``."""
    return "".join(
        f"Sentence: {e['sentence']}\nJSON: {json.dumps(e['skills'], ensure_ascii=False)}\n\n"
        for e in examples
    )


def match_examples(
    rows: Sequence[Mapping[str, Any]], k: int, seed: int, max_chars: int = DEFAULT_MAX_CHARS
) -> list[dict[str, Any]]:
    """``k`` seeded RJDB (job description, resume, matched?) examples, matched and unmatched alternating."""
    if k == 0:
        return []
    rng = random.Random(seed)
    chosen = _sample(list(rows), k, seed, what="RJDB rows")
    first_matched = rng.random() < 0.5
    examples = []
    for index, row in enumerate(chosen):
        matched = (index % 2 == 0) == first_matched
        resume = row["resume_matched"] if matched else row["resume_unmatched"]
        examples.append(
            {
                "job_description": _cut(str(row["job_description"]), max_chars),
                "resume": _cut(str(resume), max_chars),
                "matched": matched,
            }
        )
    return examples


def _cut(text: str, max_chars: int) -> str:
    text = text.strip()
    return text if len(text) <= max_chars else text[:max_chars].rstrip() + " [...]"


def _sample(candidates: list[Any], k: int, seed: int, *, what: str) -> list[Any]:
    if k < 0:
        raise InputError(f"ood.k: expected a number of demonstrations >= 0, got {k}")
    if k > len(candidates):
        raise InputError(
            f"ood.k: asked for {k} demonstrations but RJDB has only {len(candidates)} {what}"
        )
    return random.Random(seed).sample(candidates, k)
