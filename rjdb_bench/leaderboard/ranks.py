"""Rank groups: in each column of the board, which entries are statistically tied with the best.

For one column (a task's metric, or a suite score) of a view:

1. Entries are split by **comparability**, the one rule of
   :mod:`rjdb_bench.compare.comparability` (task version, data checksums, doc ids, scoring;
   not the prompt; for a suite, those of every member task), stored per task as the entry's
   ``comparability`` key. Entries in different groups are never ranked against each other (a
   partial entry, on a subset of the task's docs, is never ranked against a full one); the page
   marks each group with a letter. Literature rows (``kind: reported``) are in no group.
2. Within a group, references (oracle, baseline) are shown but not ranked. The **best** entry
   is the one with the best value in the metric's own direction.
3. Every other entry is tested against the best with the same paired, one-sided test as the
   regression gate (:func:`rjdb_bench.compare.paired.paired_worse`: exact McNemar for 0/1
   items, else a paired cluster bootstrap; a suite score, the mean of its tasks' headlines,
   with :func:`rjdb_bench.compare.stats.paired_bootstrap_mean_worse`). The p-values of a
   column are adjusted with Benjamini–Hochberg. An entry whose adjusted p is at least
   ``alpha`` is **tied** with the best (not shown to be worse); otherwise it is **below**.

Only per-item data from the board (``items/<id>.json.gz``, checked against its sha256) is
used, never the original run directories.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rjdb_bench.compare import comparability
from rjdb_bench.compare.paired import columns_array, paired_worse
from rjdb_bench.compare.stats import (
    DEFAULT_ALPHA,
    benjamini_hochberg,
    cluster_resample_weights,
    paired_bootstrap_mean_worse,
)
from rjdb_bench.metrics.bootstrap import percentile_interval
from rjdb_bench.metrics.statistic import Reduction

BEST, TIED, BELOW, REFERENCE = "best", "tied", "below", "reference"
REPORTED = "reported"  # a literature row: shown, never ranked
GROUP_LABELS = "abcdefghijklmnopqrstuvwxyz"

ItemsOf = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class RankSettings:
    """The rank-group test's level, resamples and seed (``rank_groups`` in presentation.yaml)."""

    alpha: float = DEFAULT_ALPHA
    resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95


@dataclass
class Cell:
    """One entry's score in one column.

    ``status``: :data:`BEST`, :data:`TIED`, :data:`BELOW`, :data:`REFERENCE`,
    :data:`REPORTED` or ``None`` (no score). ``group``: the comparability group's letter when
    the column has more than one group, else ``None``. ``p_adjusted``: the BH-adjusted p-value
    against the best. ``n``: the docs the score is on; ``coverage``: ``n`` or ``n of N``
    (:func:`~rjdb_bench.compare.comparability.coverage`), ``partial`` when n < N.
    """

    value: float | None
    ci: tuple[float | None, float | None]
    status: str | None = None
    group: str | None = None
    p_adjusted: float | None = None
    n: int | None = None
    n_full: int | None = None
    coverage: str = ""
    partial: bool = False


@dataclass(frozen=True)
class Part:
    """One task's per-item data of one entry, in a fixed doc order."""

    keys: list[str]
    clusters: list[str]
    columns: np.ndarray
    reduction: Reduction

    def aligned_to(self, keys: Sequence[str]) -> np.ndarray:
        """This part's columns in the doc order ``keys`` (same doc set, checked by the
        comparability hash)."""
        position = {key: i for i, key in enumerate(self.keys)}
        return self.columns[[position[key] for key in keys]]


class Resamples:
    """Cluster resample weights (:func:`cluster_resample_weights`), drawn once per cluster
    layout: every metric of a task, and every entry of one comparability group, share them."""

    def __init__(self, settings: RankSettings) -> None:
        self.settings = settings
        self._drawn: dict[tuple[str, ...], np.ndarray] = {}
        # Per render: each entry's parts and resampled statistics, computed once however many
        # columns and suites use them (a full-split board has tens of thousands of docs).
        self._layouts: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        self._parts: dict[tuple[str, str, str], Part] = {}
        self._statistics: dict[tuple[str, str, str], np.ndarray] = {}

    def part(self, entry_id: str, items: Mapping[str, Any], task: str, metric: str) -> Part:
        """:func:`task_part` of an entry, computed once per render."""
        key = (entry_id, task, metric)
        if key not in self._parts:
            layout = self._layouts.get((entry_id, task))
            self._parts[key] = task_part(items, task, metric, layout)
            self._layouts[(entry_id, task)] = (self._parts[key].keys, self._parts[key].clusters)
        return self._parts[key]

    def statistic(self, entry_id: str, task: str, metric: str, part: Part) -> np.ndarray:
        """The metric on every cluster resample of ``part`` (computed once per render)."""
        key = (entry_id, task, metric)
        if key not in self._statistics:
            with np.errstate(all="ignore"):
                self._statistics[key] = np.asarray(part.reduction(self(part) @ part.columns), float)
        return self._statistics[key]

    def __call__(self, part: Part) -> np.ndarray:
        key = tuple(part.clusters)
        if key not in self._drawn:
            self._drawn[key] = cluster_resample_weights(
                part.clusters, n_resamples=self.settings.resamples, seed=self.settings.seed
            )
        return self._drawn[key]


def task_part(
    items: Mapping[str, Any],
    task: str,
    metric: str,
    layout: tuple[list[str], list[str]] | None = None,
) -> Part:
    """The per-item columns of ``task:metric`` from an entry's items file (``layout``: the
    task's doc keys and clusters when another metric of the entry's task computed them)."""
    data = items[task]
    info = data["metrics"][metric]
    keys, clusters = layout or (
        [json.dumps(doc_id) for doc_id in data["doc_ids"]],
        [json.dumps(cluster) for cluster in data["clusters"]],
    )
    return Part(
        keys=keys,
        clusters=clusters,
        columns=columns_array(data["columns"][info["columns"]]),
        reduction=Reduction.from_description(info["reduce"]),
    )


def _size(entry: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """A cell's ``n``, ``coverage`` and ``partial`` from an entry's task record (the sizes
    of a literature row are what its source says: ``n`` when given, never partial)."""
    n = record.get("n")
    if entry.get("kind") == REPORTED or not isinstance(n, int):
        return {
            "n": n,
            "coverage": str(n) if isinstance(n, int) else "",
            "partial": False,
            "n_full": None,
        }
    n_full, limit = record.get("n_full"), entry.get("limit")
    return {
        "n": n,
        "n_full": n_full,
        "coverage": comparability.coverage(n, n_full, limit),
        "partial": comparability.is_partial(n, n_full, limit),
    }


def _reported(entry: Mapping[str, Any], cells: dict[str, Cell]) -> bool:
    """Whether ``entry`` is a literature row (its cell then marked :data:`REPORTED`)."""
    if entry.get("kind") != REPORTED:
        return False
    if cells[entry["id"]].value is not None:
        cells[entry["id"]].status = REPORTED
    return True


def _better(higher_is_better: bool) -> Callable[[float], float]:
    return (lambda v: v) if higher_is_better else (lambda v: -v)


def _groups(keys: Mapping[str, str]) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """Entry ids by comparability key, and each entry's group letter (largest group first;
    no letters when there is one group)."""
    by_key: dict[str, list[str]] = {}
    for entry_id, key in keys.items():
        by_key.setdefault(key, []).append(entry_id)
    ordered = sorted(by_key, key=lambda k: (-len(by_key[k]), k))
    letters = {}
    for i, key in enumerate(ordered):
        for entry_id in by_key[key]:
            letters[entry_id] = GROUP_LABELS[i % len(GROUP_LABELS)] if len(ordered) > 1 else None
    return by_key, letters


def _mark(
    cells: dict[str, Cell],
    members: Sequence[str],
    references: set[str],
    higher_is_better: bool,
    test: Callable[[str, str], float],
    alpha: float,
) -> None:
    """Set status and adjusted p of one comparability group's cells; ``test(best, other)``
    gives the one-sided p-value of "other worse than best"."""
    ranked = [e for e in members if e not in references and cells[e].value is not None]
    for entry_id in members:
        if entry_id in references and cells[entry_id].value is not None:
            cells[entry_id].status = REFERENCE
    if not ranked:
        return
    key = _better(higher_is_better)
    best = max(ranked, key=lambda e: (key(cells[e].value), e))
    cells[best].status = BEST
    others = [e for e in ranked if e != best]
    p_values = [test(best, other) for other in others]
    finite = [i for i, p in enumerate(p_values) if math.isfinite(p)]
    adjusted = benjamini_hochberg([p_values[i] for i in finite])
    for i, other in enumerate(others):
        p = float(adjusted[finite.index(i)]) if i in finite else math.nan
        cells[other].p_adjusted = p if math.isfinite(p) else None
        # An undefined test (a metric undefined on every resample) shows no difference.
        cells[other].status = TIED if not math.isfinite(p) or p >= alpha else BELOW


def rank_task_column(
    entries: Sequence[Mapping[str, Any]],
    items_of: ItemsOf,
    task: str,
    metric: str,
    settings: RankSettings,
    resamples: Resamples | None = None,
) -> dict[str, Cell]:
    """Cells of the ``task:metric`` column for every entry that has it (by entry id);
    ``resamples`` may be shared across columns (one is made otherwise)."""
    weights = resamples or Resamples(settings)
    shown = [e for e in entries if metric in (e["tasks"].get(task) or {}).get("metrics", {})]
    if not shown:
        return {}
    cells = {}
    for entry in shown:
        record = entry["tasks"][task]
        score = record["metrics"][metric]
        ci = score.get("ci") or [None, None]
        cells[entry["id"]] = Cell(
            value=score.get("value"), ci=(ci[0], ci[1]), **_size(entry, record)
        )
    higher = bool(shown[0]["tasks"][task]["metrics"][metric]["higher_is_better"])
    present = [e for e in shown if not _reported(e, cells)]
    by_id = {e["id"]: e for e in present}
    by_key, letters = _groups({e["id"]: e["tasks"][task]["comparability"] for e in present})
    references = {e["id"] for e in present if e.get("reference")}

    def part(entry_id: str) -> Part:
        return weights.part(entry_id, items_of(by_id[entry_id]), task, metric)

    def test(best: str, other: str) -> float:
        base = part(best)
        result = paired_worse(
            base.columns,
            part(other).aligned_to(base.keys),
            base.reduction,
            weights=weights(base),
            higher_is_better=higher,
            confidence=settings.confidence,
            alpha=settings.alpha,
        )
        return float(result.p_value)

    for members in by_key.values():
        _mark(cells, members, references, higher, test, settings.alpha)
    for entry_id, cell in cells.items():
        cell.group = letters.get(entry_id)
    return cells


def rank_suite_column(
    entries: Sequence[Mapping[str, Any]],
    items_of: ItemsOf,
    suite: str,
    settings: RankSettings,
    resamples: Resamples | None = None,
) -> dict[str, Cell]:
    """Cells of a suite-score column: the unweighted mean of the member tasks' headlines (as
    results files compute it), with a cluster-bootstrap interval computed here from the items
    (each task resampled on its own clusters) and rank groups from a paired bootstrap of the
    mean. ``resamples`` may be shared across columns."""
    weights = resamples or Resamples(settings)
    present = [
        e
        for e in entries
        if e.get("kind") != REPORTED
        and (e.get("suites") or {}).get(suite, {}).get("score") is not None
        and all(t in e["tasks"] for t in e["suites"][suite].get("tasks", {}))
    ]
    if not present:
        return {}
    by_id = {e["id"]: e for e in present}

    def members(entry: Mapping[str, Any]) -> list[str]:
        return sorted(entry["suites"][suite]["tasks"])

    def parts(entry: Mapping[str, Any]) -> list[Part]:
        items = items_of(entry)
        return [
            weights.part(entry["id"], items, t, entry["tasks"][t]["headline"])
            for t in members(entry)
        ]

    cells = {}
    for entry in present:
        resampled = np.mean(
            [
                weights.statistic(entry["id"], t, entry["tasks"][t]["headline"], p)
                for t, p in zip(members(entry), parts(entry), strict=True)
            ],
            axis=0,
        )
        low, high = percentile_interval(resampled, settings.confidence)
        ci = (None, None) if math.isnan(low) else (low, high)
        sizes = [_size(entry, entry["tasks"][t]) for t in members(entry)]
        n = sum(size["n"] or 0 for size in sizes)
        fulls = [
            comparability.full_size(s["n"] or 0, s["n_full"], entry.get("limit")) for s in sizes
        ]
        n_full = None if None in fulls else sum(f for f in fulls if f is not None)
        cells[entry["id"]] = Cell(
            value=float(entry["suites"][suite]["score"]),
            ci=ci,
            n=n,
            coverage=comparability.coverage(n, n_full, entry.get("limit")),
            partial=any(size["partial"] for size in sizes),
        )
    keys = {
        e["id"]: "|".join(f"{t}={e['tasks'][t]['comparability']}" for t in members(e))
        for e in present
    }
    by_key, letters = _groups(keys)
    references = {e["id"] for e in present if e.get("reference")}

    def test(best: str, other: str) -> float:
        best_parts, other_parts = parts(by_id[best]), parts(by_id[other])
        return paired_bootstrap_mean_worse(
            [
                (b.columns, o.aligned_to(b.keys), b.reduction, weights(b))
                for b, o in zip(best_parts, other_parts, strict=True)
            ]
        )

    for group in by_key.values():
        _mark(cells, group, references, True, test, settings.alpha)
    for entry_id, cell in cells.items():
        cell.group = letters.get(entry_id)
    return cells
