"""Label metrics (accuracy, macro-F1, per-label P/R/F1) and the Statistic reducers.

Reference values come from scikit-learn, called here on the same labels with unparsed (``None``)
predictions replaced by a label of our own choosing, or from hand arithmetic. Every Statistic
is checked twice: its point value on the full sample, and its value on a resample (a weights
vector of draw counts) against the reference applied to the explicitly resampled list. The
second check is what proves that the bootstrap's ``W @ columns`` computes the right metric.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from rjdb_bench.metrics.classification import (
    accuracy,
    accuracy_statistic,
    label_f1_statistics,
    label_indicators,
    label_prf,
    macro_f1,
)
from rjdb_bench.metrics.sets import (
    f1_statistic,
    precision_statistic,
    recall_statistic,
    set_counts,
    set_prf,
)
from rjdb_bench.metrics.statistic import Statistic, mean_statistic, ratio_statistic, safe_divide

YES_NO = ("Yes", "No")
GAP_KINDS = ("reduced", "removed", "none")
UNPARSED = "__no_answer__"  # our own stand-in for None when asking scikit-learn


def random_labels(
    seed: int, n: int, labels: tuple[str, ...], p_none: float = 0.15
) -> tuple[list[str], list[str | None]]:
    rng = np.random.default_rng(seed)
    y_true = [str(x) for x in rng.choice(labels, size=n)]
    y_pred: list[str | None] = [str(x) for x in rng.choice(labels, size=n)]
    for i in np.flatnonzero(rng.random(n) < p_none):
        y_pred[i] = None
    return y_true, y_pred


def sk(y_pred: list[str | None]) -> list[str]:
    return [UNPARSED if p is None else p for p in y_pred]


def resample(values: list, counts: np.ndarray) -> list:
    """The explicit resampled list: item ``i`` repeated ``counts[i]`` times."""
    return [v for v, c in zip(values, counts, strict=True) for _ in range(int(c))]


def draw_counts(seed: int, n: int, size: int | None = None) -> np.ndarray:
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=size).astype(float)


# --------------------------------------------------------------------------- library functions


def test_none_prediction_is_wrong_for_accuracy() -> None:
    # 2 of 3 correct; None is never correct
    assert accuracy(["Yes", "No", "No"], ["Yes", None, "No"]) == pytest.approx(2 / 3)
    assert accuracy(["No"], [None]) == 0.0


def test_none_prediction_is_a_false_negative_of_its_true_class() -> None:
    y_true = ["Yes", "Yes", "No", "No"]
    y_pred = ["Yes", None, "No", "No"]
    # Yes: tp=1 fp=0 fn=1 (the None) -> P=1 R=1/2 F1=2/3; No: tp=2 fp=0 fn=0 -> 1, 1, 1
    assert label_prf(y_true, y_pred, label="Yes") == pytest.approx((1.0, 0.5, 2 / 3))
    assert label_prf(y_true, y_pred, label="No") == pytest.approx((1.0, 1.0, 1.0))
    # macro over Yes/No = (2/3 + 1) / 2 = 5/6; the None is not a false positive of any label
    assert macro_f1(y_true, y_pred, labels=YES_NO) == pytest.approx(5 / 6)


def test_label_prf_hand_case() -> None:
    # Yes: tp=1 (doc 0), fp=1 (doc 2), fn=1 (doc 1) -> 1/2, 1/2, 1/2
    assert label_prf(["Yes", "Yes", "No"], ["Yes", "No", "Yes"], label="Yes") == pytest.approx(
        (0.5, 0.5, 0.5)
    )


def test_label_never_predicted_nor_true_scores_zero() -> None:
    # zero_division=0: "B" has no support and no predictions -> 0, 0, 0
    assert label_prf(["A", "A"], ["A", None], label="B") == (0.0, 0.0, 0.0)
    # macro over A/B: A: tp=1 fn=1 -> F1 2/3; B: 0 -> (2/3 + 0) / 2
    assert macro_f1(["A", "A"], ["A", None], labels=("A", "B")) == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("labels", [YES_NO, GAP_KINDS], ids=["yes_no", "gap_kinds"])
def test_label_metrics_equal_sklearn_on_random_labels(seed: int, labels: tuple[str, ...]) -> None:
    y_true, y_pred = random_labels(seed, 150, labels)
    assert None in y_pred
    assert accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, sk(y_pred)))
    expected_macro = f1_score(
        y_true, sk(y_pred), labels=list(labels), average="macro", zero_division=0
    )
    assert macro_f1(y_true, y_pred, labels=labels) == pytest.approx(expected_macro)
    p, r, f, _ = precision_recall_fscore_support(
        y_true, sk(y_pred), labels=list(labels), average=None, zero_division=0
    )
    for i, label in enumerate(labels):
        assert label_prf(y_true, y_pred, label=label) == pytest.approx((p[i], r[i], f[i]))


# --------------------------------------------------------------------------- label statistics


def test_label_indicators_columns_by_hand() -> None:
    indicators = label_indicators(["Yes", "No", "No"], ["Yes", "Yes", None], labels=YES_NO)
    # columns: correct, Yes(tp, predicted, true), No(tp, predicted, true)
    assert indicators.tolist() == [
        [1, 1, 1, 1, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("labels", [YES_NO, GAP_KINDS], ids=["yes_no", "gap_kinds"])
def test_label_statistics_point_values_equal_sklearn(seed: int, labels: tuple[str, ...]) -> None:
    y_true, y_pred = random_labels(seed, 120, labels)
    indicators = label_indicators(y_true, y_pred, labels=labels)
    assert accuracy_statistic(indicators).value() == pytest.approx(
        accuracy_score(y_true, sk(y_pred))
    )
    stats = label_f1_statistics(indicators, labels)
    assert set(stats) == {f"{lab}_{m}" for lab in labels for m in ("precision", "recall", "f1")} | {
        "macro_f1"
    }
    assert stats["macro_f1"].value() == pytest.approx(
        f1_score(y_true, sk(y_pred), labels=list(labels), average="macro", zero_division=0)
    )
    p, r, f, _ = precision_recall_fscore_support(
        y_true, sk(y_pred), labels=list(labels), average=None, zero_division=0
    )
    for i, label in enumerate(labels):
        assert stats[f"{label}_precision"].value() == pytest.approx(p[i])
        assert stats[f"{label}_recall"].value() == pytest.approx(r[i])
        assert stats[f"{label}_f1"].value() == pytest.approx(f[i])


@pytest.mark.parametrize("seed", [10, 11, 12, 13, 14])
def test_label_statistics_on_a_resample_equal_sklearn_on_the_resampled_list(seed: int) -> None:
    labels = GAP_KINDS
    y_true, y_pred = random_labels(seed, 60, labels, p_none=0.2)
    counts = draw_counts(seed + 100, len(y_true))
    assert (counts == 0).any() and (counts > 1).any()  # a real resample, not the sample itself
    t, p = resample(y_true, counts), resample(y_pred, counts)
    indicators = label_indicators(y_true, y_pred, labels=labels)
    sums = counts @ indicators
    acc = accuracy_statistic(indicators)
    assert float(acc.reduce(counts @ acc.columns)) == pytest.approx(accuracy_score(t, sk(p)))
    stats = label_f1_statistics(indicators, labels)
    assert float(stats["macro_f1"].reduce(sums)) == pytest.approx(
        f1_score(t, sk(p), labels=list(labels), average="macro", zero_division=0)
    )
    prec, rec, f1, _ = precision_recall_fscore_support(
        t, sk(p), labels=list(labels), average=None, zero_division=0
    )
    for i, label in enumerate(labels):
        assert float(stats[f"{label}_precision"].reduce(sums)) == pytest.approx(prec[i])
        assert float(stats[f"{label}_recall"].reduce(sums)) == pytest.approx(rec[i])
        assert float(stats[f"{label}_f1"].reduce(sums)) == pytest.approx(f1[i])


def test_label_statistics_reduce_a_batch_of_resamples_at_once() -> None:
    y_true, y_pred = random_labels(7, 40, YES_NO)
    indicators = label_indicators(y_true, y_pred, labels=YES_NO)
    weights = draw_counts(8, len(y_true), size=25)
    acc = accuracy_statistic(indicators)
    macro = label_f1_statistics(indicators, YES_NO)["macro_f1"]
    batch_acc = acc.reduce(weights @ acc.columns)
    batch_macro = macro.reduce(weights @ macro.columns)
    assert batch_acc.shape == batch_macro.shape == (25,)
    for b in (0, 11, 24):
        t, p = resample(y_true, weights[b]), resample(y_pred, weights[b])
        assert batch_acc[b] == pytest.approx(accuracy_score(t, sk(p)))
        assert batch_macro[b] == pytest.approx(
            f1_score(t, sk(p), labels=list(YES_NO), average="macro", zero_division=0)
        )


def test_label_indicators_of_no_documents_is_an_empty_matrix() -> None:
    indicators = label_indicators([], [], labels=YES_NO)
    assert indicators.shape == (0, 7)
    assert np.isnan(accuracy_statistic(indicators).value())


# --------------------------------------------------------------------------- set statistics


GOLD = [["sql", "excel", "python"], ["go"], [], ["java", "c++"], ["r"]]
PRED = [["sql", "excel", "rust"], ["go", "c"], [], [], ["r", "sas", "spss"]]


def test_set_statistics_point_values_by_hand() -> None:
    counts = set_counts(GOLD, PRED)
    # per doc (tp, fp, fn): (2,1,1) (1,1,0) (0,0,0) (0,0,2) (1,2,0) -> tp=4 fp=4 fn=3
    # P=4/8 R=4/7 F1=8/(8+4+3)=8/15
    assert counts.sum(axis=0).tolist() == [4, 4, 3]
    assert precision_statistic(counts).value() == pytest.approx(1 / 2)
    assert recall_statistic(counts).value() == pytest.approx(4 / 7)
    assert f1_statistic(counts).value() == pytest.approx(8 / 15)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_f1_statistic_on_a_resample_equals_set_prf_on_the_resampled_documents(seed: int) -> None:
    counts = set_counts(GOLD, PRED)
    weights = draw_counts(seed, len(GOLD))
    expected = set_prf(resample(GOLD, weights), resample(PRED, weights), average="micro")
    for statistic, value in (
        (precision_statistic(counts), expected.precision),
        (recall_statistic(counts), expected.recall),
        (f1_statistic(counts), expected.f1),
    ):
        assert float(statistic.reduce(weights @ statistic.columns)) == pytest.approx(value)


def test_f1_statistic_on_a_resample_with_only_empty_documents_is_one() -> None:
    counts = set_counts(GOLD, PRED)
    only_doc_2 = np.array([0.0, 0.0, 5.0, 0.0, 0.0])  # draw the empty/empty doc five times
    statistic = f1_statistic(counts)
    # pooled tp=fp=fn=0: the contract's empty/empty convention gives 1
    assert float(statistic.reduce(only_doc_2 @ statistic.columns)) == 1.0


# --------------------------------------------------------------------------- mean and ratio


def test_mean_statistic_equals_numpy_mean_on_sample_and_resample() -> None:
    values = np.random.default_rng(3).random(30)
    statistic = mean_statistic(values)
    assert statistic.n == 30
    assert statistic.value() == pytest.approx(float(np.mean(values)))
    weights = draw_counts(4, 30)
    resampled = np.repeat(values, weights.astype(int))
    assert len(resampled) == 30
    assert float(statistic.reduce(weights @ statistic.columns)) == pytest.approx(
        float(np.mean(resampled))
    )


def test_mean_statistic_hand_case() -> None:
    assert mean_statistic(np.array([1.0, 0.0, 0.5, 0.5])).value() == pytest.approx(0.5)


def test_ratio_statistic_pools_numerators_and_denominators() -> None:
    numerators, denominators = np.array([1, 0, 2, 3]), np.array([1, 3, 2, 4])
    statistic = ratio_statistic(numerators, denominators)
    # pooled 6/10, not the mean of per-doc ratios (1 + 0 + 1 + 3/4) / 4 = 0.6875
    assert statistic.value() == pytest.approx(0.6)
    weights = np.array([2.0, 0.0, 1.0, 1.0])
    # resampled docs 0, 0, 2, 3: (1+1+2+3) / (1+1+2+4) = 7/8
    assert float(statistic.reduce(weights @ statistic.columns)) == pytest.approx(7 / 8)


def test_ratio_statistic_with_nothing_counted_returns_empty_value() -> None:
    assert np.isnan(ratio_statistic(np.zeros(3), np.zeros(3)).value())
    assert ratio_statistic(np.zeros(3), np.zeros(3), empty=0.0).value() == 0.0


def test_statistic_value_sums_columns_then_reduces() -> None:
    statistic = Statistic(np.array([[1.0, 2.0], [3.0, 4.0]]), lambda s: s[..., 0] * s[..., 1])
    # sums (4, 6) -> 24
    assert statistic.value() == 24.0
    assert statistic.n == 2


def test_safe_divide_uses_empty_value_where_denominator_is_zero() -> None:
    out = safe_divide(
        np.array([1.0, 2.0, 0.0]), np.array([2.0, 0.0, 0.0]), np.array([7.0, 8.0, 9.0])
    )
    assert out.tolist() == [0.5, 8.0, 9.0]
    assert safe_divide(np.array([1.0]), np.array([0.0]), np.nan)[0] != 0
