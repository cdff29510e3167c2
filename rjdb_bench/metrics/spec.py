"""What a metric is: the one place for its family, direction, kind, bounds and display name.

A task lists its metrics as :class:`MetricSpec` objects (:mod:`rjdb_bench.tasks.base`); the
run records :meth:`MetricSpec.describe` under ``metric_info`` in ``results.json``, and every
reader of runs (the leaderboard page, the Every Eval Ever export, the regression gate) takes
these facts from there, never from a metric's name.

* ``family`` groups metrics on the leaderboard (:data:`FAMILIES`);
* ``kind`` is what the value measures, in the vocabulary of Every Eval Ever's ``metric_kind``
  (:data:`KINDS`): values of one kind can be aggregated together;
* ``bounds`` is the range every value lies in (``None``: unbounded or unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What a metric measures, for grouping on leaderboards: accuracy-like shares of correct items,
# F1 and its precision/recall, ROUGE, BERTScore, rankings (rank correlation, NDCG, retrieval
# precision), and rates of events (parse failures) that are not quality scores.
FAMILIES = ("accuracy", "f1", "rouge", "bertscore", "ranking", "rate")

# Each kind, and the range of its values (None: no fixed range). BERTScore is never rescaled
# here, so it is a cosine similarity in [-1, 1]; Spearman's rho is a correlation.
KINDS: dict[str, tuple[float, float] | None] = {
    "accuracy": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "text_overlap": (0.0, 1.0),
    "bertscore": (-1.0, 1.0),
    "correlation": (-1.0, 1.0),
    "ndcg": (0.0, 1.0),
    "r_precision": (0.0, 1.0),
    "mrr": (0.0, 1.0),
    "rate": (0.0, 1.0),
}

# The unit of a value in [0, 1] (a share of items, counts or scores).
PROPORTION = "proportion"


@dataclass(frozen=True)
class MetricSpec:
    """One metric of a task: its key in results files and every fact readers need about it.

    >>> MetricSpec("yes_precision", "f1", kind="precision").describe()["bounds"]
    [0.0, 1.0]
    >>> MetricSpec("spearman", "ranking", kind="correlation").unit is None
    True
    """

    name: str
    family: str
    higher_is_better: bool = True
    kind: str = ""  # one of KINDS; empty: the family's own name (accuracy, f1, rate)
    display_name: str = ""  # empty: the key itself

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"metric {self.name}: family {self.family!r} not in {FAMILIES}")
        if not self.kind:
            object.__setattr__(self, "kind", self.family)
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name}: kind {self.kind!r} not in {sorted(KINDS)}")
        if not self.display_name:
            object.__setattr__(self, "display_name", self.name)

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The range every value of this metric lies in, or None."""
        return KINDS[self.kind]

    @property
    def unit(self) -> str | None:
        """``proportion`` for a metric bounded by [0, 1], else None."""
        return PROPORTION if self.bounds == (0.0, 1.0) else None

    def describe(self) -> dict[str, Any]:
        """What ``results.json`` records about the metric (``metric_info``)."""
        bounds = self.bounds
        return {
            "family": self.family,
            "higher_is_better": self.higher_is_better,
            "kind": self.kind,
            "bounds": list(bounds) if bounds is not None else None,
            "display_name": self.display_name,
        }


def accuracy_metric(name: str, display_name: str = "") -> MetricSpec:
    """A share of correct items (higher is better)."""
    return MetricSpec(name, "accuracy", display_name=display_name)


def f1_metric(name: str, display_name: str = "", *, kind: str = "f1") -> MetricSpec:
    """An F1 (``kind="f1"``), precision or recall (higher is better)."""
    return MetricSpec(name, "f1", kind=kind, display_name=display_name)


def rouge_metric(name: str, display_name: str = "") -> MetricSpec:
    """A ROUGE F-measure (higher is better)."""
    return MetricSpec(name, "rouge", kind="text_overlap", display_name=display_name)


def bertscore_metric(name: str, display_name: str = "") -> MetricSpec:
    """A BERTScore precision, recall or F1 (higher is better)."""
    return MetricSpec(name, "bertscore", display_name=display_name)


def ranking_metric(name: str, display_name: str = "", *, kind: str) -> MetricSpec:
    """A ranking metric (higher is better): ``kind`` correlation, ndcg, r_precision or mrr."""
    return MetricSpec(name, "ranking", kind=kind, display_name=display_name)


def rate_metric(name: str, display_name: str = "") -> MetricSpec:
    """A rate of failures such as unparsable outputs (lower is better)."""
    return MetricSpec(name, "rate", higher_is_better=False, display_name=display_name)
