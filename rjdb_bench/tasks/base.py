"""What every rjdb-bench task provides besides its YAML: docs, per-doc items, a scorer.

The YAML (``tasks/``) holds the prompt, generation settings, metric list and version; the
Python side, one module per task family, holds the three pieces that need code:

* ``build_docs(rows, seed)``: turn normalised RJDB rows into evaluation docs (each with a
  stable ``doc_key``, the ``task`` name, and ``target``, the gold answer in the task's
  output format, used by ``doc_to_target`` and the oracle model); None for tasks whose
  lm-eval task class builds its own docs from other data (:mod:`rjdb_bench.tasks.spec_task`);
* ``make_item(doc, output)``: parse one model output and pair it with the doc's gold;
* ``score(items, settings)``: corpus metrics as :class:`Statistic` objects plus per-item scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rjdb_bench.metrics.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from rjdb_bench.metrics.sets import DEFAULT_SOFT_THRESHOLD
from rjdb_bench.metrics.statistic import Statistic, mean_statistic
from rjdb_bench.metrics.text import BertScoreConfig
from rjdb_bench.tasks.parsing import Parsed

Doc = dict[str, Any]
Item = dict[str, Any]
Rows = Sequence[Mapping[str, Any]]  # normalised RJDB rows (see rjdb_bench.data.rjdb.FEATURES)


def make_item(doc: Doc, output: str, parsed: Parsed, gold: Any, **extra: Any) -> Item:
    """The item every task's ``make_item`` returns: the raw output, its parse, the gold, extras."""
    return {
        "task": doc["task"],
        "doc_key": doc["doc_key"],
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

    soft_threshold: float = DEFAULT_SOFT_THRESHOLD
    bertscore: BertScoreConfig = field(default_factory=BertScoreConfig)
    bootstrap_resamples: int = DEFAULT_RESAMPLES
    confidence: float = DEFAULT_CONFIDENCE
    seed: int = 0


@dataclass
class Scored:
    """A scorer's output before confidence intervals are attached.

    ``values`` holds point estimates computed by a metric library where one is the reference
    (scikit-learn for accuracy/F1); any metric missing there is ``statistics[name].value()``.
    """

    statistics: dict[str, Statistic]
    per_item: list[dict[str, float | None]]
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """The code half of a task (see module docstring)."""

    name: str
    headline: str
    metrics: tuple[str, ...]
    build_docs: Callable[[Rows, int], list[Doc]] | None
    make_item: Callable[[Doc, str], Item]
    score: Callable[[Sequence[Item], ScoringSettings], Scored]
    description: str = ""
    # What a constrained decoder may emit: {"choice": [...]} or {"json": <JSON schema>}; None
    # for free text. Backends that support structured outputs use it unless told not to.
    structured_output: dict[str, Any] | None = None
