"""One paired test of "is B worse than A on the same items?", chosen by the metric's shape.

The regression gate (:mod:`rjdb_bench.compare.gate`) and the leaderboard's rank groups
(:mod:`rjdb_bench.leaderboard.ranks`) both call :func:`paired_worse`, so a tie on the board
and a pass at the gate mean the same thing:

* a metric that is the mean of 0/1 items (accuracy: reduction ``ratio`` over columns
  ``(correct, 1)``) gets the exact one-sided McNemar test;
* every other metric gets the paired cluster bootstrap (same resamples for both runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rjdb_bench.compare.stats import (
    DEFAULT_ALPHA,
    DEFAULT_CONFIDENCE,
    BootstrapResult,
    mcnemar_worse,
    paired_bootstrap_worse,
)
from rjdb_bench.errors import InputError, one_line
from rjdb_bench.metrics.statistic import Reduction

MCNEMAR = "McNemar (exact, one-sided)"
BOOTSTRAP = "paired cluster bootstrap (one-sided)"


@dataclass(frozen=True)
class PairedTest:
    """The test :func:`paired_worse` ran (``test``), its one-sided ``p_value``, and the
    bootstrap of the difference (point values, delta, its interval, spread), which is
    computed for every metric."""

    test: str
    p_value: float
    bootstrap: BootstrapResult


def columns_array(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    """Per-doc metric columns as a float array ``(n_docs, k)``; ``None`` becomes NaN.

    >>> columns_array([[1, 1], [None, 1]]).tolist()
    [[1.0, 1.0], [nan, 1.0]]
    """
    # numpy turns None into NaN itself under dtype=float, without a Python loop per value.
    return np.array(rows, dtype=float)


def checked_reduction(
    description: Any, rows: Sequence[Sequence[float | None]], where: str
) -> Reduction:
    """The reduction a run or board records (``{"name": ..., **params}``), checked to compute
    a value from the per-doc columns ``rows`` (rows of one width); else one line at ``where``.

    A file from a stranger may name an unknown reduction, give it parameters it does not
    take, or an integer parameter (a label index, a number of groups) beyond the columns'
    width, which would index out of range or loop for as long as the number says.

    >>> checked_reduction({"name": "ratio"}, [[1, 1], [0, 1]], "x").name
    'ratio'
    >>> checked_reduction({"name": "macro_label_f1", "labels": 10**15}, [[1, 1]], "x.json")
    Traceback (most recent call last):
    ...
    rjdb_bench.errors.InputError: x.json: cannot compute the metric from its columns (parameter labels=1000000000000000 is beyond the 2 columns)
    """
    try:
        if not isinstance(description, dict):
            raise ValueError("the reduction is not an object")
        columns = columns_array(rows)
        width = columns.shape[1] if columns.ndim == 2 else 0
        for key, value in description.items():
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > width:
                raise ValueError(f"parameter {key}={value} is beyond the {width} columns")
        reduction = Reduction.from_description(description)
        if columns.ndim == 2:
            with np.errstate(all="ignore"):
                float(reduction(columns.sum(axis=0)))
        elif columns.size:
            raise ValueError("per-doc columns are not rows of one width")
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise InputError(
            f"{where}: cannot compute the metric from its columns ({one_line(error, 120)})"
        ) from None
    return reduction


def is_binary_mean(reduction: Reduction, columns: np.ndarray) -> bool:
    """Whether the metric is the mean of 0/1 items (``ratio`` of ``(0 or 1, 1)`` columns).

    >>> ratio = Reduction.from_description({"name": "ratio"})
    >>> is_binary_mean(ratio, np.array([[1.0, 1.0], [0.0, 1.0]]))
    True
    >>> is_binary_mean(ratio, np.array([[0.5, 1.0], [0.0, 1.0]]))
    False
    """
    return (
        reduction.name == "ratio"
        and columns.ndim == 2
        and columns.shape[1] == 2
        and bool(np.all(columns[:, 1] == 1.0))
        and bool(np.all(np.isin(columns[:, 0], (0.0, 1.0))))
    )


def paired_worse(
    base_columns: np.ndarray,
    cand_columns: np.ndarray,
    reduction: Reduction,
    *,
    weights: np.ndarray,
    higher_is_better: bool,
    confidence: float = DEFAULT_CONFIDENCE,
    alpha: float = DEFAULT_ALPHA,
) -> PairedTest:
    """One-sided paired test that the candidate (``cand_columns``) is worse than the
    baseline (``base_columns``) on the same docs in the same order.

    ``weights`` are the cluster resamples (:func:`~rjdb_bench.compare.stats.cluster_resample_weights`).
    """
    boot = paired_bootstrap_worse(
        base_columns,
        cand_columns,
        reduction,
        weights=weights,
        higher_is_better=higher_is_better,
        confidence=confidence,
        alpha=alpha,
    )
    if is_binary_mean(reduction, base_columns) and is_binary_mean(reduction, cand_columns):
        good = base_columns[:, 0], cand_columns[:, 0]
        if not higher_is_better:
            good = 1.0 - good[0], 1.0 - good[1]
        return PairedTest(MCNEMAR, mcnemar_worse(*good).p_value, boot)
    return PairedTest(BOOTSTRAP, boot.p_value, boot)
