"""``score_task(spec, items, settings) -> TaskScores``: point values, per-item scores, intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
    return TaskScores(
        task=spec.name,
        n=len(items),
        values={name: values[name] for name in spec.metric_names},
        intervals=intervals,
        per_item=scored.per_item,
    )
