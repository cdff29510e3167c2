"""Rank groups on constructed board entries with known answers (no runs, no files)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest

from rjdb_bench.leaderboard.ranks import (
    BELOW,
    BEST,
    REFERENCE,
    TIED,
    RankSettings,
    rank_suite_column,
    rank_task_column,
)

SETTINGS = RankSettings(alpha=0.05, resamples=500, seed=0)
RATIO = {"name": "ratio"}
PRF_F1 = {"name": "prf", "which": "f1"}


def _entry(
    name: str,
    tasks: dict[str, dict[str, Any]],
    *,
    reference: str | None = None,
    suites: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An entry (the board's fields the ranks read) and its items, from per-task specs:
    ``{"columns": (n, k) array, "reduce": ..., "metric": name, "higher": bool,
    "comparability": str}``."""
    entry_tasks, items = {}, {}
    for task, spec in tasks.items():
        columns = np.asarray(spec["columns"], dtype=float)
        sums = columns.sum(axis=0)
        value = float(sums[0] / sums[1]) if spec["reduce"] == RATIO else _f1(sums)
        entry_tasks[task] = {
            "headline": spec["metric"],
            "comparability": spec.get("comparability", "c" * 64),
            "metrics": {
                spec["metric"]: {
                    "value": value,
                    "ci": [value - 0.1, value + 0.1],
                    "family": "accuracy" if spec["reduce"] == RATIO else "f1",
                    "higher_is_better": spec.get("higher", True),
                }
            },
        }
        n = columns.shape[0]
        items[task] = {
            "doc_ids": list(range(n)),
            "clusters": [i // 2 for i in range(n)],
            "columns": {"cols": columns.tolist()},
            "metrics": {spec["metric"]: {"reduce": spec["reduce"], "columns": "cols"}},
        }
    entry = {
        "id": hashlib.sha256(name.encode()).hexdigest()[:16],
        "name": name,
        "reference": reference,
        "tasks": entry_tasks,
        "suites": suites or {},
    }
    return entry, items


def _f1(sums: np.ndarray) -> float:
    tp, n_pred, n_gold = sums
    return float(2 * tp / (n_pred + n_gold))


def _board(*made: tuple[dict[str, Any], dict[str, Any]]):
    entries = [entry for entry, _ in made]
    items = {entry["id"]: item for entry, item in made}
    return entries, (lambda entry: items[entry["id"]])


def _binary(correct: Sequence[int]) -> dict[str, Any]:
    return {
        "columns": [[c, 1] for c in correct],
        "reduce": RATIO,
        "metric": "accuracy",
    }


def _status(cells, entries) -> dict[str, str]:
    return {e["name"]: cells[e["id"]].status for e in entries if e["id"] in cells}


def test_identical_items_are_tied_and_a_planted_drop_is_below() -> None:
    good = [1] * 40
    entries, items_of = _board(
        _entry("a", {"t": _binary(good)}),
        _entry("a-copy", {"t": _binary(good)}),
        _entry("far-below", {"t": _binary([0] * 40)}),
    )
    cells = rank_task_column(entries, items_of, "t", "accuracy", SETTINGS)
    status = _status(cells, entries)
    # The best is one of the two identical entries; the other is tied with it (McNemar: no
    # discordant item, p = 1); 40 items all lost: p = 0.5**40.
    assert sorted(status.values()) == [BELOW, BEST, TIED]
    assert status["far-below"] == BELOW
    tied = next(e for e in entries if status[e["name"]] == TIED)
    below = next(e for e in entries if e["name"] == "far-below")
    assert cells[tied["id"]].p_adjusted == pytest.approx(1.0)
    # BH over the two tests (p = 1 and 0.5**40): the smaller is multiplied by 2/1.
    assert cells[below["id"]].p_adjusted == pytest.approx(2 * 0.5**40)


def test_a_small_difference_stays_tied_with_the_exact_mcnemar_p_value() -> None:
    best = [1] * 30
    one_less = [0] + [1] * 29
    entries, items_of = _board(
        _entry("best", {"t": _binary(best)}), _entry("close", {"t": _binary(one_less)})
    )
    cells = rank_task_column(entries, items_of, "t", "accuracy", SETTINGS)
    close = cells[entries[1]["id"]]
    assert (cells[entries[0]["id"]].status, close.status) == (BEST, TIED)
    # One discordant pair against the candidate: exact one-sided binomial p = 0.5.
    assert close.p_adjusted == pytest.approx(binomtest(1, 1, 0.5, alternative="greater").pvalue)


def test_references_are_shown_but_never_ranked_nor_best() -> None:
    entries, items_of = _board(
        _entry("oracle", {"t": _binary([1] * 20)}, reference="oracle"),
        _entry("model", {"t": _binary([1] * 10 + [0] * 10)}),
    )
    cells = rank_task_column(entries, items_of, "t", "accuracy", SETTINGS)
    assert _status(cells, entries) == {"oracle": REFERENCE, "model": BEST}


def test_entries_on_different_items_are_never_ranked_against_each_other() -> None:
    other = {**_binary([0] * 20), "comparability": "d" * 64}
    entries, items_of = _board(
        _entry("a", {"t": _binary([1] * 20)}),
        _entry("b", {"t": _binary([1] * 10 + [0] * 10)}),
        _entry("other-data", {"t": other}),
    )
    cells = rank_task_column(entries, items_of, "t", "accuracy", SETTINGS)
    status = _status(cells, entries)
    # "other-data" is alone in its group: the best there, despite scoring 0.
    assert status == {"a": BEST, "b": BELOW, "other-data": BEST}
    letters = {e["name"]: cells[e["id"]].group for e in entries}
    assert letters == {"a": "a", "b": "a", "other-data": "b"}


def test_one_group_has_no_letters() -> None:
    entries, items_of = _board(
        _entry("a", {"t": _binary([1] * 5)}), _entry("b", {"t": _binary([1] * 5)})
    )
    cells = rank_task_column(entries, items_of, "t", "accuracy", SETTINGS)
    assert {cell.group for cell in cells.values()} == {None}


def test_lower_is_better_metrics_rank_the_lowest_first() -> None:
    def rate(errors: Sequence[int]) -> dict[str, Any]:
        return {**_binary(errors), "metric": "failure_rate", "higher": False}

    entries, items_of = _board(
        _entry("few-failures", {"t": rate([0] * 30)}),
        _entry("many-failures", {"t": rate([1] * 30)}),
    )
    cells = rank_task_column(entries, items_of, "t", "failure_rate", SETTINGS)
    assert _status(cells, entries) == {"few-failures": BEST, "many-failures": BELOW}


def test_corpus_f1_uses_the_paired_cluster_bootstrap() -> None:
    # (tp, predicted, gold) per doc: identical -> tied; nothing found -> below.
    found = [[2, 2, 2]] * 30
    missed = [[0, 0, 2]] * 30
    spec = {"reduce": PRF_F1, "metric": "micro_f1"}
    entries, items_of = _board(
        _entry("a", {"t": {**spec, "columns": found}}),
        _entry("same", {"t": {**spec, "columns": found}}),
        _entry("nothing", {"t": {**spec, "columns": missed}}),
    )
    cells = rank_task_column(entries, items_of, "t", "micro_f1", SETTINGS)
    status = _status(cells, entries)
    assert status["nothing"] == BELOW
    assert sorted(status.values()) == [BELOW, BEST, TIED]
    # The shifted bootstrap of a drop that every resample shows: p = 1 / (B + 1), x2 by BH.
    nothing = next(e for e in entries if e["name"] == "nothing")
    assert cells[nothing["id"]].p_adjusted == pytest.approx(2 / (SETTINGS.resamples + 1))


def _suite(entry_tasks: dict[str, Any]) -> dict[str, Any]:
    scores = {}
    for task, spec in entry_tasks.items():
        columns = np.asarray(spec["columns"], dtype=float).sum(axis=0)
        scores[task] = float(columns[0] / columns[1])
    return {"s": {"score": float(np.mean(list(scores.values()))), "tasks": scores}}


def test_suite_scores_get_rank_groups_and_intervals_from_the_items() -> None:
    perfect = {"t1": _binary([1] * 40), "t2": _binary([1] * 40)}
    half = {"t1": _binary([1] * 20 + [0] * 20), "t2": _binary([1] * 40)}
    entries, items_of = _board(
        _entry("perfect", perfect, suites=_suite(perfect)),
        _entry("perfect-too", perfect, suites=_suite(perfect)),
        _entry("half", half, suites=_suite(half)),
        _entry("no-suite", {"t1": _binary([1] * 40)}),
    )
    cells = rank_suite_column(entries, items_of, "s", SETTINGS)
    status = _status(cells, entries)
    assert "no-suite" not in status
    assert status["half"] == BELOW
    assert sorted(status.values()) == [BELOW, BEST, TIED]
    # Every resample of a perfect entry is perfect: the interval is [1, 1].
    perfect_cell = cells[entries[0]["id"]]
    assert (perfect_cell.value, perfect_cell.ci) == (1.0, (1.0, 1.0))
    # "half": t1 resampled around 0.5, t2 always 1: the mean's interval brackets 0.75.
    half_cell = cells[entries[2]["id"]]
    assert half_cell.value == 0.75
    assert 0.6 < half_cell.ci[0] < 0.75 < half_cell.ci[1] < 0.9
