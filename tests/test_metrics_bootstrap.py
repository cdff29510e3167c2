"""Percentile bootstrap intervals: reproducibility, and agreement with a naive loop bootstrap.

The naive bootstrap below draws each resample with ``np.random.default_rng(seed).multinomial``,
materialises the indices of the resampled documents, computes the metric on them with plain
Python/numpy written here (checked against scikit-learn / ``set_prf`` on materialised
resamples) and takes percentiles. The vectorised
``bootstrap_ci`` must agree with it within Monte-Carlo tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from rjdb_bench.metrics.bootstrap import bootstrap_ci, resample_weights
from rjdb_bench.metrics.classification import accuracy_statistic, label_indicators
from rjdb_bench.metrics.sets import f1_statistic, set_counts, set_prf
from rjdb_bench.metrics.statistic import mean_statistic, ratio_statistic

MC_TOLERANCE = 0.01


def naive_bootstrap(
    n_docs: int,
    metric: Callable[[np.ndarray], float],
    *,
    n_resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Loop bootstrap: ``metric(indices of the resampled documents)`` per resample."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        counts = rng.multinomial(n_docs, np.full(n_docs, 1.0 / n_docs))
        indices = np.repeat(np.arange(n_docs), counts)
        values.append(metric(indices))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def match_labels(n: int, seed: int) -> tuple[list[str], list[str | None]]:
    rng = np.random.default_rng(seed)
    y_true = [str(x) for x in rng.choice(["Yes", "No"], size=n)]
    correct = rng.random(n) < 0.7
    y_pred: list[str | None] = [
        t if c else ("No" if t == "Yes" else "Yes") for t, c in zip(y_true, correct, strict=True)
    ]
    for i in np.flatnonzero(rng.random(n) < 0.05):
        y_pred[i] = None
    return y_true, y_pred


def skill_sets(n: int, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    rng = np.random.default_rng(seed)
    vocab = [f"skill {i}" for i in range(15)]
    gold = [list(rng.choice(vocab, size=rng.integers(0, 6), replace=False)) for _ in range(n)]
    pred = []
    for g in gold:
        kept = [s for s in g if rng.random() < 0.6]
        extra = list(rng.choice(vocab, size=rng.integers(0, 3), replace=False))
        pred.append(kept + extra)
    return gold, pred


def take(values: Sequence, indices: np.ndarray) -> list:
    return [values[i] for i in indices]


# --------------------------------------------------------------------------- agreement with naive


@pytest.mark.parametrize("naive_seed", [0, 12345], ids=["same_draws", "independent_draws"])
def test_accuracy_interval_agrees_with_naive_loop_bootstrap(naive_seed: int) -> None:
    y_true, y_pred = match_labels(400, seed=1)
    correct = np.array([t == p for t, p in zip(y_true, y_pred, strict=True)], dtype=float)
    statistic = accuracy_statistic(label_indicators(y_true, y_pred, labels=("Yes", "No")))
    low, high = bootstrap_ci({"accuracy": statistic}, n_resamples=2000, seed=0)["accuracy"]
    naive_low, naive_high = naive_bootstrap(
        400, lambda idx: float(correct[idx].mean()), n_resamples=2000, seed=naive_seed
    )
    assert low == pytest.approx(naive_low, abs=MC_TOLERANCE)
    assert high == pytest.approx(naive_high, abs=MC_TOLERANCE)


def test_accuracy_on_resampled_documents_is_sklearn_accuracy() -> None:
    # the naive loop above uses mean(correct[idx]); check that equals sklearn on a few resamples
    y_true, y_pred = match_labels(400, seed=1)
    sk_pred = ["<none>" if p is None else p for p in y_pred]
    correct = np.array([t == p for t, p in zip(y_true, y_pred, strict=True)], dtype=float)
    rng = np.random.default_rng(0)
    for _ in range(3):
        idx = np.repeat(np.arange(400), rng.multinomial(400, np.full(400, 1 / 400)))
        assert correct[idx].mean() == pytest.approx(
            accuracy_score(take(y_true, idx), take(sk_pred, idx))
        )


@pytest.mark.parametrize("naive_seed", [0, 999], ids=["same_draws", "independent_draws"])
def test_micro_f1_interval_agrees_with_naive_loop_bootstrap(naive_seed: int) -> None:
    gold, pred = skill_sets(300, seed=2)
    # per-doc (tp, fp, fn) with plain Python sets (the strings are already normalised)
    per_doc = np.array(
        [
            (len(set(g) & set(p)), len(set(p) - set(g)), len(set(g) - set(p)))
            for g, p in zip(gold, pred, strict=True)
        ]
    )

    def pooled_f1(idx: np.ndarray) -> float:
        tp, fp, fn = per_doc[idx].sum(axis=0)
        return 2 * tp / (2 * tp + fp + fn)

    # one resample checked against the library function on the materialised documents
    idx = np.repeat(
        np.arange(300), np.random.default_rng(1).multinomial(300, np.full(300, 1 / 300))
    )
    assert pooled_f1(idx) == pytest.approx(set_prf(take(gold, idx), take(pred, idx)).f1)

    statistic = f1_statistic(set_counts(gold, pred))
    low, high = bootstrap_ci({"micro_f1": statistic}, n_resamples=2000, seed=0)["micro_f1"]
    naive_low, naive_high = naive_bootstrap(300, pooled_f1, n_resamples=2000, seed=naive_seed)
    assert low == pytest.approx(naive_low, abs=MC_TOLERANCE)
    assert high == pytest.approx(naive_high, abs=MC_TOLERANCE)


def test_mean_interval_agrees_with_naive_loop_bootstrap_at_90_percent() -> None:
    values = np.random.default_rng(4).beta(2, 5, size=500)
    low, high = bootstrap_ci(
        {"score": mean_statistic(values)}, n_resamples=2000, seed=3, confidence=0.9
    )["score"]
    naive_low, naive_high = naive_bootstrap(
        500, lambda idx: float(np.mean(values[idx])), n_resamples=2000, seed=77, confidence=0.9
    )
    assert low == pytest.approx(naive_low, abs=MC_TOLERANCE)
    assert high == pytest.approx(naive_high, abs=MC_TOLERANCE)


def test_interval_width_matches_normal_approximation_for_a_proportion() -> None:
    # 80 correct of 100: SE = sqrt(0.8*0.2/100) = 0.04; 95% half-width ~ 1.96*0.04 = 0.078
    statistic = mean_statistic(np.array([1.0] * 80 + [0.0] * 20))
    low, high = bootstrap_ci({"acc": statistic}, n_resamples=4000, seed=0)["acc"]
    assert (high - low) / 2 == pytest.approx(1.96 * 0.04, abs=0.01)


# --------------------------------------------------------------------------- properties


def test_same_seed_gives_identical_intervals() -> None:
    statistic = mean_statistic(np.random.default_rng(0).random(200))
    first = bootstrap_ci({"m": statistic}, seed=7)
    second = bootstrap_ci({"m": statistic}, seed=7)
    assert first == second


def test_different_seeds_give_different_intervals() -> None:
    statistic = mean_statistic(np.random.default_rng(0).random(200))
    assert (
        bootstrap_ci({"m": statistic}, seed=1)["m"] != bootstrap_ci({"m": statistic}, seed=2)["m"]
    )


def test_interval_contains_the_point_estimate() -> None:
    gold, pred = skill_sets(200, seed=5)
    statistics = {
        "micro_f1": f1_statistic(set_counts(gold, pred)),
        "mean": mean_statistic(np.random.default_rng(5).random(200)),
    }
    intervals = bootstrap_ci(statistics, seed=0)
    for name, statistic in statistics.items():
        low, high = intervals[name]
        assert low < statistic.value() < high


def test_higher_confidence_gives_a_wider_interval() -> None:
    statistic = mean_statistic(np.random.default_rng(1).random(150))
    low50, high50 = bootstrap_ci({"m": statistic}, confidence=0.5)["m"]
    low99, high99 = bootstrap_ci({"m": statistic}, confidence=0.99)["m"]
    assert low99 < low50 < high50 < high99


def test_constant_data_gives_a_zero_width_interval() -> None:
    low, high = bootstrap_ci({"m": mean_statistic(np.full(50, 0.7))})["m"]
    assert low == pytest.approx(0.7)
    assert high == pytest.approx(0.7)


def test_all_statistics_share_the_same_resamples() -> None:
    # the same column under two names gets the same interval only if the draws are shared
    values = np.random.default_rng(2).random(100)
    intervals = bootstrap_ci({"a": mean_statistic(values), "b": mean_statistic(values.copy())})
    assert intervals["a"] == intervals["b"]


def test_statistics_of_different_lengths_raise() -> None:
    with pytest.raises(ValueError, match="different numbers of documents"):
        bootstrap_ci({"a": mean_statistic(np.ones(3)), "b": mean_statistic(np.ones(4))})


def test_no_statistics_gives_no_intervals() -> None:
    assert bootstrap_ci({}) == {}


def test_resamples_where_a_ratio_is_undefined_are_skipped() -> None:
    # only doc 0 has a denominator; resamples without doc 0 are NaN and skipped: all others 1/1
    statistic = ratio_statistic(np.array([1.0] + [0.0] * 19), np.array([1.0] + [0.0] * 19))
    assert bootstrap_ci({"r": statistic})["r"] == (1.0, 1.0)


def test_a_metric_undefined_on_every_resample_gives_nan_bounds() -> None:
    low, high = bootstrap_ci({"r": ratio_statistic(np.zeros(10), np.zeros(10))})["r"]
    assert np.isnan(low) and np.isnan(high)


def test_resample_weights_are_multinomial_counts_summing_to_n() -> None:
    weights = resample_weights(30, n_resamples=200, seed=0)
    assert weights.shape == (200, 30)
    assert (weights.sum(axis=1) == 30).all()
    assert (weights >= 0).all() and (weights == np.round(weights)).all()
    # each doc is drawn once per resample on average: mean count 1 (SE ~ 1/sqrt(6000))
    assert weights.mean() == pytest.approx(1.0)
    assert weights.mean(axis=0) == pytest.approx(np.ones(30), abs=0.25)


def test_thousand_resamples_of_two_thousand_documents() -> None:
    y_true, y_pred = match_labels(2000, seed=9)
    indicators = label_indicators(y_true, y_pred, labels=("Yes", "No"))
    gold, pred = skill_sets(2000, seed=9)
    statistics = {
        "accuracy": accuracy_statistic(indicators),
        "micro_f1": f1_statistic(set_counts(gold, pred)),
        "mean": mean_statistic(np.random.default_rng(9).random(2000)),
    }
    intervals = bootstrap_ci(statistics, n_resamples=1000, seed=0)
    assert set(intervals) == set(statistics)
    for name, statistic in statistics.items():
        low, high = intervals[name]
        assert low <= statistic.value() <= high
        assert 0 < high - low < 0.1
