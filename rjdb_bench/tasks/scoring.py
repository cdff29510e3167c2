"""Score a task's items: point values, per-item scores and bootstrap intervals.

This is the only place metrics are computed from model output, for ``rjdb-bench run``,
for plain ``lm_eval`` (through the aggregation hooks in :mod:`rjdb_bench.tasks.lm_eval_hooks`)
and for re-scoring saved samples. Results are memoised on the items' content so that the
several lm-eval aggregations of one task, and the harness after them, share one computation
(one BERTScore pass per task and corpus).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rjdb_bench.metrics.bootstrap import bootstrap_ci
from rjdb_bench.tasks.base import Item, ScoringSettings
from rjdb_bench.tasks.registry import task_spec


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


def _finite_or_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


_MEMO: dict[str, TaskScores] = {}
_MEMO_LIMIT = 16
_settings = ScoringSettings()
_compute_seconds = 0.0


def configure(settings: ScoringSettings) -> None:
    """Set the scoring settings used when no settings are passed (e.g. from lm-eval hooks)."""
    global _settings
    _settings = settings


def compute_seconds() -> float:
    """Total time this process has spent computing (not recalling) task scores."""
    return _compute_seconds


def current_settings() -> ScoringSettings:
    """The settings :func:`score_items` uses by default."""
    return _settings


def _fingerprint(task: str, items: Sequence[Item], settings: ScoringSettings) -> str:
    payload = json.dumps(
        [task, repr(settings), list(items)], sort_keys=True, default=str, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def score_items(
    task: str, items: Sequence[Item], settings: ScoringSettings | None = None
) -> TaskScores:
    """Score ``items`` (from the task's ``make_item``) with the task's scorer; memoised."""
    settings = settings or _settings
    key = _fingerprint(task, items, settings)
    if key in _MEMO:
        return _MEMO[key]
    spec = task_spec(task)
    started = time.perf_counter()
    scored = spec.score(items, settings)
    intervals = bootstrap_ci(
        scored.statistics,
        n_resamples=settings.bootstrap_resamples,
        confidence=settings.confidence,
        seed=settings.seed,
    )
    values = {
        name: scored.values.get(name, statistic.value())
        for name, statistic in scored.statistics.items()
    }
    ordered = {name: values[name] for name in spec.metrics}
    result = TaskScores(
        task=task,
        n=len(items),
        values=ordered,
        intervals=intervals,
        per_item=scored.per_item,
    )
    global _compute_seconds
    _compute_seconds += time.perf_counter() - started
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = result
    return result
