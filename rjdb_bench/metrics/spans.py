"""Span projection and span-level metrics for the OOD skill-extraction tasks (SkillSpan, Green).

A model reads one tokenised sentence and returns a list of skill strings copied from it.
:func:`project_strings` places those strings back onto the sentence tokens; the placed spans
form an untyped BIO layer that is scored against the gold layer, strictly (exact boundaries,
chunked like seqeval) and loosely (token overlap).

Projection rules:

* **Form.** Each string is NFKC-normalised and stripped of surrounding whitespace. Its
  *core* also loses surrounding punctuation (Unicode category ``P*``) and whitespace, with
  two exceptions that keep skill names intact: a leading ``.`` directly before a letter or
  digit (``.NET``; but ``...and`` loses its dots), and a ``#`` directly after a letter or
  digit (``C#``, ``F#``). ``+`` is a math symbol (``Sm``), not punctuation, so ``C++`` keeps
  it anyway. A string whose core is empty (``""``, ``"..."``, ``"-"``) is ignored. The string
  is tried as written first, since the prompt asks for exact copies and gold spans sometimes
  end in punctuation (42 SkillSpan test sentences have spans such as ``PostCSS )``); only if
  it occurs nowhere in the sentence is its core tried, so ``"communication skills."`` still
  lands on ``communication skills`` when the sentence has no ``.`` token after it.
* **Matching.** Token-aligned and case-insensitive: the span ``[i, j)`` matches when the
  concatenation of ``tokens[i:j]`` equals the string once both are NFKC-normalised,
  casefolded and stripped of all whitespace. ``Node.js`` matches ``Node . js`` and
  ``problem-solving`` matches ``problem - solving``, but ``Java`` never matches inside the
  token ``JavaScript``.
* **Placement.** Strings are placed the way a reader lists them, in the order given, with
  one exception: a string whose key lies inside another listed string's key (``data`` and
  ``data analysis``) waits until the strings containing it are placed, so a nested shorter
  string cannot take part of a longer one. Among its free occurrences (overlapping no span
  already placed) a string takes, in this order of preference, one that starts at or after
  the end of the span placed for the nearest string listed before it (reading order), one
  with the same casing as written, the leftmost. This is the contract's "first unused
  occurrence", refined so that a gold list in sentence order always lands on the gold spans:
  an unannotated earlier ``marketing`` or a company name ``Recruitment`` before the
  annotated ``recruitment`` does not capture the string (with plain first-occurrence
  placement the oracle would lose 3 of 3,010 gold spans of SkillSpan and Green). Listing a
  string twice can claim two occurrences (gold annotates each occurrence).
* **Leftovers.** A string with no free occurrence is a *duplicate* when the same key was
  already placed (ignored everywhere, only counted), otherwise it is *unplaced*: a false
  positive in every metric (the sentence has no room for it, or never contained it).

Metrics, pooled over sentences (micro, seqeval's default): *strict* counts a true positive per
predicted span equal to a gold span, a false positive per other predicted span and per
unplaced string, a false negative per unmatched gold span. *Loose* precision is the share of
predictions (placed spans plus unplaced strings) that share at least one token with a gold
span, loose recall the share of gold spans that share a token with some placed span, loose
F1 their harmonic mean. Empty denominators follow
:func:`~rjdb_bench.metrics.statistic.prf_from_counts`: with nothing predicted precision is 1 if
there is no gold either and 0 otherwise; with no gold recall is 1 if nothing is predicted and
0 otherwise; F1 is then 1 only when both are empty. ``unplaced_rate`` is the share of
predictions that could not be placed (0 with no predictions).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rjdb_bench.metrics.bio import Span, bio_spans, spans_to_bio
from rjdb_bench.metrics.sets import f1_statistic, precision_statistic, recall_statistic
from rjdb_bench.metrics.statistic import Reduction, Statistic, ratio_statistic


@dataclass(frozen=True)
class Projection:
    """Predicted strings placed on a sentence.

    ``spans`` are sorted, non-overlapping token spans (``end`` exclusive); ``unplaced`` are
    the (NFKC-normalised) strings with no free occurrence, false positives; ``duplicates``
    counts repeats of an already placed string with no further free occurrence, ignored.
    """

    spans: tuple[Span, ...] = ()
    unplaced: tuple[str, ...] = ()
    duplicates: int = 0

    @property
    def n_predicted(self) -> int:
        """Predictions that count in the metrics: placed spans plus unplaced strings."""
        return len(self.spans) + len(self.unplaced)


class SpanCounts(NamedTuple):
    """Per-document counts of a corpus: strict ``(tp, fp, fn)`` rows, loose
    ``(pred_hits, n_pred, gold_hits, n_gold)`` rows and the number of unplaced strings."""

    strict: np.ndarray
    loose: np.ndarray
    unplaced: np.ndarray


def match_key(text: str) -> str:
    """The form tokens and strings are compared in: NFKC, casefolded, no whitespace at all.

    >>> match_key("Ｎｏｄｅ.JS")
    'node.js'
    >>> match_key("Problem\u00a0- Solving")
    'problem-solving'
    """
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def strip_punctuation(text: str) -> str:
    """Strip surrounding whitespace and punctuation (``P*``), keeping ``.NET`` and ``C#`` whole.

    >>> [strip_punctuation(s) for s in ("communication skills.", "(PALS)", "C#.", ".NET")]
    ['communication skills', 'PALS', 'C#', '.NET']
    >>> [strip_punctuation(s) for s in ("C++", "(.NET)", "...and more", "Node.js,", "e.g.", "-")]
    ['C++', '.NET', 'and more', 'Node.js', 'e.g', '']
    """
    start, end = 0, len(text)
    while start < end and _strippable(text[start]):
        start += 1
    if (
        start < end
        and start > 0
        and text[start - 1] == "."
        and text[start].isalnum()
        and text[start - 2 : start - 1] != "."
    ):
        start -= 1  # ".NET", but not "...and"
    while end > start and _strippable(text[end - 1]):
        end -= 1
    if end < len(text) and end > start and text[end] == "#" and text[end - 1].isalnum():
        end += 1  # "C#", "F#"
    return text[start:end]


def occurrences(tokens: Sequence[str], key: str) -> list[Span]:
    """Token-aligned spans whose concatenated :func:`match_key` equals ``key``, left to right.

    >>> occurrences(["Node", ".", "js", "and", "node.js"], "node.js")
    [(0, 3), (4, 5)]
    >>> occurrences(["JavaScript", "and", "Java"], "java")
    [(2, 3)]
    """
    keys = [match_key(token) for token in tokens]
    found = []
    for start in range(len(keys)):
        if not keys[start]:
            continue  # a span never starts on a token that is only whitespace
        text = ""
        for end in range(start, len(keys)):
            text += keys[end]
            if len(text) >= len(key):
                if text == key:
                    found.append((start, end + 1))
                break
    return found


def project_strings(tokens: Sequence[str], strings: Sequence[str]) -> Projection:
    """Place predicted ``strings`` on the sentence ``tokens`` (rules in the module docstring).

    >>> tokens = "Experience with Node . js , data analysis and data , data .".split()
    >>> project_strings(tokens, ["data", "Node.js", "data analysis", "data", "data", "Go"])
    Projection(spans=((2, 5), (6, 8), (9, 10), (11, 12)), unplaced=('Go',), duplicates=1)
    """
    candidates = []
    for raw in strings:
        written = unicodedata.normalize("NFKC", raw).strip()
        core = strip_punctuation(written)
        if not match_key(core):
            continue
        forms = dict.fromkeys((written, core))  # as written first, then the core
        form, found = next(
            ((form, spans) for form in forms if (spans := occurrences(tokens, match_key(form)))),
            (core, []),
        )
        candidates.append((written, match_key(form), _case_key(form), found))

    keys = [candidate[1] for candidate in candidates]
    nested = [any(key != other and key in other for other in keys) for key in keys]
    surface = [_case_key(token) for token in tokens]
    placed: dict[int, Span] = {}
    placed_keys: set[str] = set()
    unplaced: list[tuple[int, str]] = []
    duplicates = 0
    for index in [i for i in range(len(candidates)) if not nested[i]] + [
        i for i in range(len(candidates)) if nested[i]
    ]:
        written, key, case_key, found = candidates[index]
        earlier = [placed[i] for i in range(index - 1, -1, -1) if i in placed]
        cursor = earlier[0][1] if earlier else 0
        free = [span for span in found if not any(_overlap(span, p) for p in placed.values())]
        if free:
            placed[index] = min(
                free,
                key=lambda span: (
                    span[0] < cursor,
                    "".join(surface[span[0] : span[1]]) != case_key,
                    span[0],
                ),
            )
            placed_keys.add(key)
        elif key in placed_keys:
            duplicates += 1
        else:
            unplaced.append((index, written))
    return Projection(
        spans=tuple(sorted(placed.values())),
        unplaced=tuple(written for _, written in sorted(unplaced)),
        duplicates=duplicates,
    )


def _case_key(text: str) -> str:
    """NFKC without whitespace, casing kept (to prefer an occurrence written the same way)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def strict_counts(gold_tags: Sequence[str], projection: Projection) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` of exact span matches; unplaced strings are false positives.

    Both layers are chunked by :func:`~rjdb_bench.metrics.bio.bio_spans` (seqeval's
    ``get_entities``); types in ``gold_tags``, if any, are dropped after chunking.

    >>> strict_counts(["B", "I", "O", "B", "O"], Projection(((0, 2), (3, 5)), ("Go",)))
    (1, 2, 1)
    """
    gold = set(bio_spans(gold_tags))
    pred = set(bio_spans(spans_to_bio(projection.spans, len(gold_tags))))
    tp = len(gold & pred)
    return tp, len(pred) - tp + len(projection.unplaced), len(gold) - tp


def loose_counts(gold_tags: Sequence[str], projection: Projection) -> tuple[int, int, int, int]:
    """``(pred_hits, n_pred, gold_hits, n_gold)``: a hit shares at least one token.

    ``n_pred`` counts placed spans and unplaced strings (which never hit).

    >>> loose_counts(["B", "I", "O", "B", "O"], Projection(((1, 3), (4, 5)), ("Go",)))
    (1, 3, 1, 2)
    """
    gold = bio_spans(gold_tags)
    pred = bio_spans(spans_to_bio(projection.spans, len(gold_tags)))
    pred_hits = sum(any(_overlap(p, g) for g in gold) for p in pred)
    gold_hits = sum(any(_overlap(g, p) for p in pred) for g in gold)
    return pred_hits, projection.n_predicted, gold_hits, len(gold)


def span_counts(y_true: Sequence[Sequence[str]], projections: Sequence[Projection]) -> SpanCounts:
    """Per-document strict, loose and unplaced counts of a corpus (gold BIO layers).

    >>> counts = span_counts([["B", "O"], ["O", "O"]], [Projection(((0, 1),)), Projection()])
    >>> counts.strict.tolist(), counts.loose.tolist(), counts.unplaced.tolist()
    ([[1, 0, 0], [0, 0, 0]], [[1, 1, 1, 1], [0, 0, 0, 0]], [0, 0])
    """
    if len(y_true) != len(projections):
        raise ValueError(f"y_true has {len(y_true)} documents but {len(projections)} projections")
    pairs = list(zip(y_true, projections, strict=True))
    return SpanCounts(
        strict=np.array([strict_counts(g, p) for g, p in pairs], dtype=np.int64).reshape(-1, 3),
        loose=np.array([loose_counts(g, p) for g, p in pairs], dtype=np.int64).reshape(-1, 4),
        unplaced=np.array([len(p.unplaced) for _, p in pairs], dtype=np.int64),
    )


def span_statistics(
    strict: np.ndarray, loose: np.ndarray, unplaced: np.ndarray
) -> dict[str, Statistic]:
    """The span metrics as :class:`Statistic` objects (micro: pooled over sentences).

    ``strict`` holds ``(tp, fp, fn)`` rows, ``loose`` ``(pred_hits, n_pred, gold_hits,
    n_gold)`` rows and ``unplaced`` the unplaced strings of each sentence.

    >>> stats = span_statistics(np.array([[1, 2, 1]]), np.array([[1, 3, 1, 2]]), np.array([1]))
    >>> {name: round(stat.value(), 4) for name, stat in stats.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'strict_f1': 0.4, 'strict_precision': 0.3333, 'strict_recall': 0.5, 'loose_f1': 0.4,
     'loose_precision': 0.3333, 'loose_recall': 0.5, 'unplaced_rate': 0.3333}
    """
    loose = np.asarray(loose, dtype=float)
    return {
        "strict_f1": f1_statistic(strict),
        "strict_precision": precision_statistic(strict),
        "strict_recall": recall_statistic(strict),
        "loose_f1": Statistic(loose, Reduction("loose_prf", {"which": "f1"})),
        "loose_precision": Statistic(loose, Reduction("loose_prf", {"which": "precision"})),
        "loose_recall": Statistic(loose, Reduction("loose_prf", {"which": "recall"})),
        "unplaced_rate": ratio_statistic(unplaced, loose[:, 1], empty=0.0),
    }


def span_scores(
    tokens: Sequence[Sequence[str]],
    y_true: Sequence[Sequence[str]],
    y_pred: Sequence[Sequence[str]],
) -> dict[str, float]:
    """Project every prediction and return the corpus value of each span metric.

    >>> scores = span_scores([["Python", "and", "SQL"]], [["B", "O", "B"]], [["python", "Go"]])
    >>> scores["strict_precision"], scores["strict_recall"], scores["unplaced_rate"]
    (0.5, 0.5, 0.5)
    """
    if not len(tokens) == len(y_true) == len(y_pred):
        raise ValueError("tokens, y_true and y_pred must have the same number of documents")
    projections = [project_strings(t, p) for t, p in zip(tokens, y_pred, strict=True)]
    stats = span_statistics(*span_counts(y_true, projections))
    return {name: stat.value() for name, stat in stats.items()}


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _strippable(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")
