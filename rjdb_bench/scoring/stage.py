"""``score_task(spec, items, settings) -> TaskScores``: point values, per-item scores, intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rjdb_bench.metrics.bootstrap import bootstrap_ci
from rjdb_bench.tasks.base import Item, ScoringSettings, TaskSpec


@dataclass(frozen=True)
class TaskScores:
    """Metrics of one task on one corpus of items."""

    task: str
    n: int
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    per_item: list[dict[str, float | None]]
    # Per metric: its reduction (name and parameters) and the name of its column set; per
    # column set: the per-doc columns (n_docs, k). Metrics that share columns share a set.
    reductions: dict[str, dict[str, Any]] = field(default_factory=dict)
    metric_columns: dict[str, str] = field(default_factory=dict)
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def item_columns(self, index: int) -> dict[str, list[float]]:
        """Doc ``index``'s row of every column set (what its samples line keeps)."""
        return {name: values[index].tolist() for name, values in self.columns.items()}

    def describe_metrics(self, spec: TaskSpec) -> dict[str, dict[str, Any]]:
        """``metric_info`` for results files: family, direction, reduction and column set."""
        return {
            name: {
                **spec.metric(name).describe(),
                "reduce": self.reductions[name],
                "columns": self.metric_columns[name],
            }
            for name in self.values
        }

    def as_dict(self) -> dict[str, float | list[float | None] | None]:
        """Metric values under their spec names, each followed by ``<metric>_ci``."""
        out: dict[str, float | list[float | None] | None] = {}
        for name, value in self.values.items():
            out[name] = _finite_or_none(value)
            low, high = self.intervals[name]
            out[f"{name}_ci"] = [_finite_or_none(low), _finite_or_none(high)]
        return out


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def score_task(spec: TaskSpec, items: Sequence[Item], settings: ScoringSettings) -> TaskScores:
    """Score ``items`` (from ``spec.make_item``) with the task's scorer and attach intervals.

    Values are in the spec's metric order; each interval is a percentile bootstrap over docs
    with ``settings.bootstrap_resamples`` resamples drawn from ``settings.seed``.
    """
    scored = spec.score(items, settings)
    intervals = bootstrap_ci(
        scored.statistics,
        n_resamples=settings.bootstrap_resamples,
        confidence=settings.confidence,
        seed=settings.seed,
    )
    values = scored.point_values()
    columns: dict[str, np.ndarray] = {}
    metric_columns: dict[str, str] = {}
    for name in spec.metric_names:
        statistic = scored.statistics[name]
        shared = next(
            (key for key, seen in columns.items() if _same(seen, statistic.columns)), None
        )
        if shared is None:
            shared = name
            columns[name] = np.asarray(statistic.columns, dtype=float)
        metric_columns[name] = shared
    return TaskScores(
        task=spec.name,
        n=len(items),
        values={name: values[name] for name in spec.metric_names},
        intervals=intervals,
        per_item=scored.per_item,
        reductions={name: scored.statistics[name].reduce.describe() for name in spec.metric_names},
        metric_columns=metric_columns,
        columns=columns,
    )


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or (a.shape == b.shape and np.array_equal(a, b, equal_nan=True))
