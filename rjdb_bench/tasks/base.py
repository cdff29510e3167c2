"""What every rjdb-bench task provides besides its YAML: docs, per-doc items, a scorer.

The YAML (``tasks/``) holds the prompt, generation settings, metric list and version; the
Python side, one module per task family, holds the three pieces that need code:

* ``build_docs(rows, seed)``: turn normalised RJDB rows into evaluation docs (each with a
  stable ``doc_key``, the ``task`` name, and ``target``, the gold answer in the task's
  output format, used by ``doc_to_target`` and the oracle model); None for tasks whose
  lm-eval task class builds its own docs from other data (:mod:`rjdb_bench.tasks.spec_task`);
* ``make_item(doc, output)``: parse one model output and pair it with the doc's gold;
* ``score(items, settings)``: corpus metrics as :class:`Statistic` objects plus per-item scores.

The :class:`TaskSpec` is the one place that says which metrics a task has and, for each, its
family and direction (:class:`MetricSpec`), which is the headline, what unit the task's items
cluster by, and what output a constrained decoder may emit. The lm-eval ``metric_list``,
``results.json`` and every reader of a run take them from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rjdb_bench.metrics.spec import (  # noqa: F401  (tasks declare metrics through base)
    MetricSpec,
    accuracy_metric,
    bertscore_metric,
    f1_metric,
    ranking_metric,
    rate_metric,
    rouge_metric,
)
from rjdb_bench.metrics.statistic import Statistic, mean_statistic
from rjdb_bench.metrics.text import BertScoreConfig, rouge_settings
from rjdb_bench.settings import MetricsSettings, RunSettings
from rjdb_bench.tasks.parsing import Parsed

Doc = dict[str, Any]
Item = dict[str, Any]
Rows = Sequence[Mapping[str, Any]]  # normalised RJDB rows (see rjdb_bench.data.rjdb.FEATURES)


def make_item(doc: Doc, output: str, parsed: Parsed, gold: Any, **extra: Any) -> Item:
    """The item every task's ``make_item`` returns: the raw output, its parse, the gold, extras.

    ``cluster`` is the doc's cluster id (its RJDB row, CV or sentence: see
    :attr:`TaskSpec.cluster_unit`), the unit that paired tests and cluster bootstraps resample;
    a doc without one is a cluster of its own.
    """
    return {
        "task": doc["task"],
        "doc_key": doc["doc_key"],
        "cluster": doc.get("cluster", doc["doc_key"]),
        "output": output,
        "parsed_ok": parsed.ok,
        "prediction": parsed.value,
        "gold": gold,
        **extra,
    }


def parse_failure_statistic(items: Sequence[Item]) -> Statistic:
    """``parse_failure_rate``: the share of items whose output could not be parsed."""
    return mean_statistic(np.array([0.0 if item["parsed_ok"] else 1.0 for item in items]))


@dataclass(frozen=True)
class ScoringSettings:
    """Everything that changes a metric value besides the items; recorded in results."""

    # Defaults: the run's (rjdb_bench.settings is the one place for them); a run's plan
    # always sets every field.
    soft_threshold: float = MetricsSettings.soft_threshold
    bertscore: BertScoreConfig = field(default_factory=BertScoreConfig)
    bootstrap_resamples: int = MetricsSettings.bootstrap_resamples
    confidence: float = MetricsSettings.confidence
    seed: int = RunSettings.seed

    def describe(self) -> dict[str, Any]:
        """What ``results.json`` records under ``scoring``: every setting that changes a number."""
        return {
            "soft_threshold": self.soft_threshold,
            "bootstrap": "percentile, docs resampled with replacement, all metrics of a task on shared draws",
            "bootstrap_resamples": self.bootstrap_resamples,
            "confidence": self.confidence,
            "seed": self.seed,
            "rouge": rouge_settings(),
            "bertscore": self.bertscore.describe(),
        }


@dataclass
class Scored:
    """A scorer's output before confidence intervals are attached: every metric as a
    :class:`Statistic` (per-doc columns and their reduction, the one source of its value)."""

    statistics: dict[str, Statistic]
    per_item: list[dict[str, float | None]]

    def point_values(self) -> dict[str, float]:
        """Every metric's corpus value, reduced from its columns' sums."""
        return {name: statistic.value() for name, statistic in self.statistics.items()}


PARSE_FAILURE_RATE = rate_metric("parse_failure_rate", "Parse-failure rate")

# Units a task's items cluster by (several docs from one RJDB row, one CV, one sentence).
CLUSTER_UNITS = ("rjdb_row", "cv", "sentence")


@dataclass(frozen=True)
class TaskSpec:
    """The code half of a task (see module docstring)."""

    name: str
    headline: str
    metrics: tuple[MetricSpec, ...]
    build_docs: Callable[[Rows, int], list[Doc]] | None
    make_item: Callable[[Doc, str], Item]
    score: Callable[[Sequence[Item], ScoringSettings], Scored]
    cluster_unit: str = "rjdb_row"
    # Item fields besides output, prediction and gold that the samples keep, so that every
    # metric can be recomputed from the samples file alone (e.g. a sentence's tokens and tags).
    sample_fields: tuple[str, ...] = ()
    description: str = ""
    # What a constrained decoder may emit: {"choice": [...]} or {"json": <JSON schema>}; None
    # for free text. The runner sends it with each request to backends that accept it.
    structured_output: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        names = self.metric_names
        if len(set(names)) != len(names):
            raise ValueError(f"task {self.name}: a metric is listed twice")
        if self.headline not in names:
            raise ValueError(
                f"task {self.name}: headline {self.headline!r} is not one of its metrics"
            )
        if self.cluster_unit not in CLUSTER_UNITS:
            raise ValueError(
                f"task {self.name}: cluster unit {self.cluster_unit!r} not in {CLUSTER_UNITS}"
            )

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The metrics' keys, headline first where the task lists it first."""
        return tuple(metric.name for metric in self.metrics)

    def metric(self, name: str) -> MetricSpec:
        """The spec of metric ``name``."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(f"task {self.name} has no metric {name!r}")
