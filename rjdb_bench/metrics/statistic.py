"""Corpus metrics as functions of summed per-document statistics.

Every rjdb-bench metric is a function of column sums of a per-document matrix: pooled
true/false positives for micro-F1, ``(score, 1)`` for a mean, ``(correct, 1)`` for an
accuracy. Writing metrics this way makes the bootstrap a single matrix product (see
:mod:`rjdb_bench.metrics.bootstrap`) and lets paired comparisons reuse the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Reducer = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Statistic:
    """A metric: per-document sufficient statistics plus the reducer applied to their sums.

    ``columns`` has shape ``(n_docs, k)``; ``reduce`` maps an array of shape ``(..., k)``
    of column sums to metric values of shape ``(...)``.
    """

    columns: np.ndarray
    reduce: Reducer

    @property
    def n(self) -> int:
        """Number of documents."""
        return int(self.columns.shape[0])

    def value(self) -> float:
        """The metric on the whole corpus."""
        return float(self.reduce(self.columns.sum(axis=0)))


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


def mean_statistic(values: np.ndarray) -> Statistic:
    """The mean of per-document values (e.g. ROUGE-L F, BERTScore F1, per-doc F1).

    >>> mean_statistic(np.array([1.0, 0.0, 0.5])).value()
    0.5
    """
    values = np.asarray(values, dtype=float)
    columns = np.stack([values, np.ones_like(values)], axis=1)
    return Statistic(columns, lambda s: safe_divide(s[..., 0], s[..., 1], np.nan))


def ratio_statistic(
    numerators: np.ndarray, denominators: np.ndarray, *, empty: float = np.nan
) -> Statistic:
    """A pooled ratio ``sum(numerators) / sum(denominators)`` (``empty`` when nothing is counted).

    >>> ratio_statistic(np.array([1, 0, 2]), np.array([1, 1, 4])).value()
    0.5
    """
    columns = np.stack([np.asarray(numerators, float), np.asarray(denominators, float)], axis=1)
    return Statistic(columns, lambda s: safe_divide(s[..., 0], s[..., 1], empty))
