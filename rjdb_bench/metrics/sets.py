"""Set-level precision, recall and F1 for extraction tasks, exact and fuzzy.

Conventions (fixed by the task contract): strings are compared after
:func:`~rjdb_bench.metrics.normalize.normalize`; duplicates in one prediction count once;
*micro* pools true/false positive counts over all documents; *macro* averages per-document
F1, where a document with empty gold and empty prediction scores 1. Where nothing is
predicted but gold exists, precision is 0 (and symmetrically recall is 0 where gold is
empty but something is predicted).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from rjdb_bench.metrics.normalize import normalized_list, normalized_set
from rjdb_bench.metrics.statistic import Statistic, prf_from_counts, prf_statistic
from rjdb_bench.settings import MetricsSettings

DEFAULT_SOFT_THRESHOLD = MetricsSettings.soft_threshold  # the run's default (settings)


class PRF(NamedTuple):
    """Precision, recall and F1."""

    precision: float
    recall: float
    f1: float


def set_counts(y_true: Sequence[Iterable[str]], y_pred: Sequence[Iterable[str]]) -> np.ndarray:
    """Per-document ``(tp, fp, fn)`` of normalised exact matches, shape ``(n_docs, 3)``.

    >>> set_counts([["SQL", "Excel"]], [["sql", "Python", "SQL"]]).tolist()
    [[1, 1, 1]]
    """
    _check_lengths(y_true, y_pred)
    rows = []
    for gold, pred in zip(y_true, y_pred, strict=True):
        gold_set, pred_set = normalized_set(gold), normalized_set(pred)
        tp = len(gold_set & pred_set)
        rows.append((tp, len(pred_set) - tp, len(gold_set) - tp))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def string_similarity(a: str, b: str) -> float:
    """Similarity of two (already normalised) strings in [0, 1]: difflib's ratio.

    >>> round(string_similarity("project management", "project management skills"), 3)
    0.837
    """
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def match_one_to_one(
    gold: Sequence[str], pred: Sequence[str], *, threshold: float = DEFAULT_SOFT_THRESHOLD
) -> list[tuple[int, int, float]]:
    """Pair gold and predicted strings one-to-one, maximising total similarity.

    Only pairs with similarity >= ``threshold`` may be matched. Returns
    ``(gold_index, pred_index, similarity)`` triples. Inputs should be normalised.

    >>> match_one_to_one(["sql", "excel"], ["excel 365", "sql"], threshold=0.8)
    [(0, 1, 1.0)]
    """
    if not gold or not pred:
        return []
    sim = np.array([[string_similarity(g, p) for p in pred] for g in gold])
    eligible = np.where(sim >= threshold, sim, 0.0)
    rows, cols = linear_sum_assignment(eligible, maximize=True)
    return [
        (int(r), int(c), float(sim[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if sim[r, c] >= threshold
    ]


def soft_set_counts(
    y_true: Sequence[Iterable[str]],
    y_pred: Sequence[Iterable[str]],
    *,
    threshold: float = DEFAULT_SOFT_THRESHOLD,
) -> np.ndarray:
    """Per-document ``(tp, fp, fn)`` where a true positive is a one-to-one fuzzy match.

    >>> soft_set_counts([["project management", "sql"]], [["Project management skills"]]).tolist()
    [[1, 0, 1]]
    """
    _check_lengths(y_true, y_pred)
    rows = []
    for gold, pred in zip(y_true, y_pred, strict=True):
        gold_list, pred_list = normalized_list(gold), normalized_list(pred)
        tp = len(match_one_to_one(gold_list, pred_list, threshold=threshold))
        rows.append((tp, len(pred_list) - tp, len(gold_list) - tp))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def micro_prf(counts: np.ndarray) -> PRF:
    """Pooled precision, recall and F1 from per-document ``(tp, fp, fn)`` rows."""
    precision, recall, f1 = prf_from_counts(*np.asarray(counts).sum(axis=0))
    return PRF(float(precision), float(recall), float(f1))


def macro_prf(counts: np.ndarray) -> PRF:
    """Mean of per-document precision, recall and F1."""
    counts = np.asarray(counts)
    if len(counts) == 0:
        return PRF(float("nan"), float("nan"), float("nan"))
    precision, recall, f1 = prf_from_counts(counts[:, 0], counts[:, 1], counts[:, 2])
    return PRF(float(precision.mean()), float(recall.mean()), float(f1.mean()))


def set_prf(
    y_true: Sequence[Iterable[str]],
    y_pred: Sequence[Iterable[str]],
    *,
    average: str = "micro",
) -> PRF:
    """Set-level P/R/F1 of normalised exact string matches.

    >>> set_prf([["SQL", "Excel"], []], [["sql"], []], average="micro")
    PRF(precision=1.0, recall=0.5, f1=0.6666666666666666)
    >>> set_prf([["SQL", "Excel"], []], [["sql"], []], average="macro").f1
    0.8333333333333333
    """
    return _average(set_counts(y_true, y_pred), average)


def soft_set_prf(
    y_true: Sequence[Iterable[str]],
    y_pred: Sequence[Iterable[str]],
    *,
    average: str = "micro",
    threshold: float = DEFAULT_SOFT_THRESHOLD,
) -> PRF:
    """Set-level P/R/F1 where gold and predicted strings are matched one-to-one fuzzily."""
    return _average(soft_set_counts(y_true, y_pred, threshold=threshold), average)


def f1_statistic(counts: np.ndarray) -> Statistic:
    """Micro-F1 as a :class:`Statistic` over per-document ``(tp, fp, fn)``."""
    return prf_statistic(counts, "f1")


def precision_statistic(counts: np.ndarray) -> Statistic:
    """Micro-precision as a :class:`Statistic` over per-document ``(tp, fp, fn)``."""
    return prf_statistic(counts, "precision")


def recall_statistic(counts: np.ndarray) -> Statistic:
    """Micro-recall as a :class:`Statistic` over per-document ``(tp, fp, fn)``."""
    return prf_statistic(counts, "recall")


def _average(counts: np.ndarray, average: str) -> PRF:
    if average == "micro":
        return micro_prf(counts)
    if average == "macro":
        return macro_prf(counts)
    raise ValueError(f"average must be 'micro' or 'macro', got {average!r}")


def _check_lengths(y_true: Sequence, y_pred: Sequence) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} documents but y_pred has {len(y_pred)}")
