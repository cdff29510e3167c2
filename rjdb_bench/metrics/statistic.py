"""Corpus metrics as functions of summed per-document statistics.

Every rjdb-bench metric is a function of column sums of a per-document matrix: pooled
true/false positives for micro-F1, ``(score, 1)`` for a mean, ``(correct, 1)`` for an
accuracy. Writing metrics this way makes the bootstrap a single matrix product (see
:mod:`rjdb_bench.metrics.bootstrap`) and lets paired comparisons reuse the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Reducer = Callable[[np.ndarray], np.ndarray]


def safe_divide(
    numerator: np.ndarray, denominator: np.ndarray, empty: np.ndarray | float
) -> np.ndarray:
    """``numerator / denominator`` elementwise, ``empty`` where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.broadcast_to(
        np.asarray(empty, dtype=float), np.broadcast(numerator, denominator).shape
    ).copy()
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def prf_from_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from (pooled) counts, vectorised.

    With nothing predicted precision is 1 if nothing was to be found (else 0); with nothing to
    find recall is 1 if nothing was predicted (else 0); F1 is 1 when both are empty.

    >>> [float(x) for x in prf_from_counts(2, 1, 1)]
    [0.6666666666666666, 0.6666666666666666, 0.6666666666666666]
    """
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    precision = safe_divide(tp, tp + fp, np.where(fn == 0, 1.0, 0.0))
    recall = safe_divide(tp, tp + fn, np.where(fp == 0, 1.0, 0.0))
    f1 = safe_divide(2 * tp, 2 * tp + fp + fn, 1.0)
    return precision, recall, f1


def loose_prf(
    pred_hits: np.ndarray, n_pred: np.ndarray, gold_hits: np.ndarray, n_gold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loose (overlap) precision, recall and F1 from (pooled) counts, vectorised.

    >>> [float(x) for x in loose_prf(1, 3, 1, 2)]
    [0.3333333333333333, 0.5, 0.4]
    >>> [float(x) for x in loose_prf(0, 0, 0, 0)] + [float(x) for x in loose_prf(0, 0, 0, 2)]
    [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    n_pred, n_gold = np.asarray(n_pred, dtype=float), np.asarray(n_gold, dtype=float)
    precision = safe_divide(pred_hits, n_pred, np.where(n_gold == 0, 1.0, 0.0))
    recall = safe_divide(gold_hits, n_gold, np.where(n_pred == 0, 1.0, 0.0))
    f1 = safe_divide(2 * precision * recall, precision + recall, 0.0)
    return precision, recall, f1


_PRF = {"precision": 0, "recall": 1, "f1": 2}


def _ratio(sums: np.ndarray, empty: float | None = None) -> np.ndarray:
    return safe_divide(sums[..., 0], sums[..., 1], np.nan if empty is None else empty)


def _prf(sums: np.ndarray, which: str) -> np.ndarray:
    return prf_from_counts(sums[..., 0], sums[..., 1], sums[..., 2])[_PRF[which]]


def _loose(sums: np.ndarray, which: str) -> np.ndarray:
    return loose_prf(sums[..., 0], sums[..., 1], sums[..., 2], sums[..., 3])[_PRF[which]]


def _label_prf(sums: np.ndarray, label: int, which: str) -> np.ndarray:
    # columns: [correct, then per label: tp, predicted, true]
    tp, predicted, true = (sums[..., 1 + 3 * label + k] for k in range(3))
    values = (
        safe_divide(tp, predicted, 0.0),
        safe_divide(tp, true, 0.0),
        safe_divide(2 * tp, predicted + true, 0.0),
    )
    return values[_PRF[which]]


def _macro_label_f1(sums: np.ndarray, labels: int) -> np.ndarray:
    return np.mean([_label_prf(sums, i, "f1") for i in range(labels)], axis=0)


def _group_mean(sums: np.ndarray, groups: int) -> np.ndarray:
    # columns: [value_1..value_g, present_1..present_g]: each group's mean over the docs where
    # it is present, then the mean over the groups that have any (NaN if none has).
    means = safe_divide(sums[..., :groups], sums[..., groups:], np.nan)
    with np.errstate(invalid="ignore"):
        counted = np.sum(~np.isnan(means), axis=-1)
        total = np.nansum(means, axis=-1)
    return safe_divide(total, counted, np.nan)


# Every way rjdb-bench turns column sums into a metric, by name. A run records each metric's
# reduction (name and parameters) so that readers recompute metrics without task code.
REDUCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "ratio": _ratio,
    "prf": _prf,
    "loose_prf": _loose,
    "label_prf": _label_prf,
    "macro_label_f1": _macro_label_f1,
    "group_mean": _group_mean,
}


@dataclass(frozen=True)
class Reduction:
    """A named reduction of column sums with JSON-ready parameters (see :data:`REDUCTIONS`).

    >>> Reduction("prf", {"which": "f1"})(np.array([2.0, 1.0, 1.0])).round(4).tolist()
    0.6667
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in REDUCTIONS:
            raise ValueError(f"unknown reduction {self.name!r}; known: {', '.join(REDUCTIONS)}")

    def __call__(self, sums: np.ndarray) -> np.ndarray:
        return REDUCTIONS[self.name](np.asarray(sums, dtype=float), **self.params)

    def describe(self) -> dict[str, Any]:
        """``{"name": ..., **params}``: what results files record."""
        return {"name": self.name, **self.params}

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> Reduction:
        """The reduction :meth:`describe` wrote."""
        params = {k: v for k, v in description.items() if k != "name"}
        return cls(str(description["name"]), params)


@dataclass(frozen=True)
class Statistic:
    """A metric: per-document sufficient statistics plus the reduction applied to their sums.

    ``columns`` has shape ``(n_docs, k)``; ``reduce`` maps an array of shape ``(..., k)``
    of column sums to metric values of shape ``(...)``.
    """

    columns: np.ndarray
    reduce: Reduction

    @property
    def n(self) -> int:
        """Number of documents."""
        return int(self.columns.shape[0])

    def value(self) -> float:
        """The metric on the whole corpus."""
        return float(self.reduce(self.columns.sum(axis=0)))


def mean_statistic(values: np.ndarray) -> Statistic:
    """The mean of per-document values (e.g. ROUGE-L F, BERTScore F1, per-doc F1).

    >>> mean_statistic(np.array([1.0, 0.0, 0.5])).value()
    0.5
    """
    values = np.asarray(values, dtype=float)
    columns = np.stack([values, np.ones_like(values)], axis=1)
    return Statistic(columns, Reduction("ratio"))


def ratio_statistic(
    numerators: np.ndarray, denominators: np.ndarray, *, empty: float | None = None
) -> Statistic:
    """A pooled ratio ``sum(numerators) / sum(denominators)`` (``empty`` when nothing is
    counted; None: undefined, NaN).

    >>> ratio_statistic(np.array([1, 0, 2]), np.array([1, 1, 4])).value()
    0.5
    """
    columns = np.stack([np.asarray(numerators, float), np.asarray(denominators, float)], axis=1)
    return Statistic(columns, Reduction("ratio", {} if empty is None else {"empty": empty}))


def prf_statistic(counts: np.ndarray, which: str) -> Statistic:
    """Micro precision, recall or F1 (``which``) over per-document ``(tp, fp, fn)``."""
    return Statistic(
        np.asarray(counts, dtype=float).reshape(-1, 3), Reduction("prf", {"which": which})
    )


def group_mean_statistic(values: np.ndarray, present: np.ndarray) -> Statistic:
    """Mean over groups (columns) of each group's mean over the docs where it is present."""
    values, present = np.asarray(values, float), np.asarray(present, float)
    columns = np.concatenate([values, present], axis=1)
    return Statistic(columns, Reduction("group_mean", {"groups": int(values.shape[1])}))
