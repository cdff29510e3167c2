"""The regression gate's statistics: McNemar, paired cluster bootstrap, Benjamini–Hochberg.

Expected values are worked out by hand (arithmetic in the comments) or come from scipy and
statsmodels (a test-only reference), never from the code under test.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pytest
from scipy.stats import binom, binomtest, false_discovery_control, norm, spearmanr
from statsmodels.stats.contingency_tables import mcnemar

from rjdb_bench.compare.stats import (
    benjamini_hochberg,
    cluster_resample_weights,
    mcnemar_worse,
    minimum_detectable_drop,
    paired_bootstrap_worse,
)
from rjdb_bench.metrics.bootstrap import resample_weights

# --------------------------------------------------------------------------- helpers


def micro_f1(sums: np.ndarray) -> np.ndarray:
    """Micro-F1 = 2 tp / (2 tp + fp + fn) from summed (tp, fp, fn); NaN when nothing counted."""
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def mean_of(sums: np.ndarray) -> np.ndarray:
    """Mean from summed (value, presence)."""
    return sums[..., 0] / sums[..., 1]


def mean_columns(values: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.stack([values, np.ones_like(values)], axis=1)


def items_from_table(a: int, b: int, c: int, d: int, *, seed: int) -> tuple[np.ndarray, ...]:
    """Paired 0/1 items for the 2x2 table [[a, b], [c, d]] (rows: baseline right/wrong,
    columns: candidate right/wrong), shuffled with one permutation for both runs."""
    baseline = np.array([1] * a + [1] * b + [0] * c + [0] * d)
    candidate = np.array([1] * a + [0] * b + [1] * c + [0] * d)
    order = np.random.default_rng(seed).permutation(baseline.size)
    return baseline[order], candidate[order]


# --------------------------------------------------------------------------- McNemar

TABLES = [
    (10, 0, 0, 5),  # no discordant pairs
    (3, 0, 6, 1),  # b = 0
    (4, 7, 0, 2),  # c = 0
    (12, 5, 5, 3),  # b = c
    (20, 9, 3, 8),  # b > c
    (20, 3, 9, 8),  # b < c
    (0, 1, 0, 0),  # a single discordant item
    (4000, 530, 470, 1000),  # large n, b > c
    (4000, 470, 530, 1000),  # large n, b < c
]


@pytest.mark.parametrize(("a", "b", "c", "d"), TABLES)
def test_mcnemar_equals_binomtest_and_statsmodels(a: int, b: int, c: int, d: int) -> None:
    baseline, candidate = items_from_table(a, b, c, d, seed=a + b + c + d)
    result = mcnemar_worse(baseline, candidate)
    n = a + b + c + d
    assert (result.b, result.c, result.n) == (b, c, n)
    assert result.delta == pytest.approx((c - b) / n)  # candidate mean - baseline mean

    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5, alternative="greater").pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-12, abs=0)

    # statsmodels' exact test is two-sided: min(1, 2 P(X <= min(b, c))), X ~ Bin(b + c, 1/2).
    # Ours is P(X >= b) = P(X <= c) (symmetry). Hence, with pmf = P(X = b):
    #   b > c:  c < (b+c)/2 so P(X <= c) < 1/2, no cap:     ours = two_sided / 2
    #   b = c:  two_sided is capped at 1;  P(X >= b) = 1/2 + pmf/2 (b = c = 0: 1/2 + 1/2 = 1)
    #   b < c:  two_sided = 2 P(X <= b);   ours = 1 - P(X <= b - 1) = 1 - two_sided/2 + pmf
    two_sided = mcnemar(np.array([[a, b], [c, d]]), exact=True).pvalue
    pmf = binom.pmf(b, b + c, 0.5)
    if b > c:
        assert result.p_value == pytest.approx(two_sided / 2, rel=1e-9)
    elif b == c:
        assert two_sided == 1.0
        assert result.p_value == pytest.approx(0.5 + pmf / 2, rel=1e-9)
    else:
        assert result.p_value == pytest.approx(1 - two_sided / 2 + pmf, rel=1e-9)


def test_mcnemar_hand_values() -> None:
    # b = 7, c = 0: all 7 discordant items went the bad way, P = (1/2)^7 = 1/128.
    baseline, candidate = items_from_table(4, 7, 0, 2, seed=0)
    assert mcnemar_worse(baseline, candidate).p_value == pytest.approx(1 / 128)
    # b = 2, c = 1: P(X >= 2), X ~ Bin(3, 1/2) = (3 + 1) / 8 = 1/2.
    baseline, candidate = items_from_table(5, 2, 1, 0, seed=0)
    assert mcnemar_worse(baseline, candidate).p_value == pytest.approx(0.5)
    # b = 0: P(X >= 0) = 1; no discordant items: 1 by definition.
    assert mcnemar_worse([0, 0, 1], [1, 1, 1]).p_value == 1.0
    assert mcnemar_worse([1, 0], [1, 0]).p_value == 1.0
    # booleans are fine
    result = mcnemar_worse([True, True, False], [False, True, False])
    assert (result.b, result.c, result.n) == (1, 0, 3)
    assert result.delta == pytest.approx(-1 / 3)


@pytest.mark.parametrize(
    ("baseline", "candidate"),
    [([0.5, 1.0], [1.0, 1.0]), ([1, 2], [1, 1]), ([1, 0, 1], [1, 0]), ([[1, 0]], [[1, 0]])],
)
def test_mcnemar_refuses_non_binary_or_unpaired_input(
    baseline: list[float], candidate: list[float]
) -> None:
    with pytest.raises(ValueError):
        mcnemar_worse(baseline, candidate)


# --------------------------------------------------------------------------- Benjamini–Hochberg


@pytest.mark.parametrize("size", [1, 2, 17, 500])
def test_bh_equals_scipy_on_random_p_values(size: int) -> None:
    p = np.random.default_rng(size).random(size) ** 2  # skewed towards 0: some discoveries
    np.testing.assert_allclose(
        benjamini_hochberg(list(p)), false_discovery_control(p, method="bh"), rtol=1e-15
    )


def test_bh_hand_cases() -> None:
    # m = 4, sorted p = 0.01, 0.03, 0.04, 0.20 -> p m / rank = 0.04, 0.06, 0.0533, 0.20;
    # running minimum from the largest rank down: 0.04, 0.0533, 0.0533, 0.20 (input order below).
    p = [0.01, 0.04, 0.03, 0.20]
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    # ties, 0 and 1: sorted 0, 0.5, 0.5, 1 -> 0, 1, 2/3, 1 -> running min 0, 2/3, 2/3, 1
    p = [0.5, 1.0, 0.0, 0.5]
    np.testing.assert_allclose(benjamini_hochberg(p), [2 / 3, 1.0, 0.0, 2 / 3])
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    # a single test is not adjusted
    assert benjamini_hochberg([0.03]).tolist() == [0.03]


def test_bh_empty() -> None:
    result = benjamini_hochberg([])
    assert isinstance(result, np.ndarray)
    assert result.shape == (0,)


# --------------------------------------------------------------------------- cluster weights


def cluster_counts(weights: np.ndarray, clusters: Sequence[object]) -> np.ndarray:
    """How often each cluster was drawn per resample, read off its first document."""
    first = {}
    for i, label in enumerate(clusters):
        first.setdefault(label, i)
    return weights[:, list(first.values())]


def test_cluster_weights_equal_sized_clusters() -> None:
    clusters = [cv for cv in range(50) for _ in range(5)]  # 50 CVs x 5 vacancies
    weights = cluster_resample_weights(clusters, n_resamples=300, seed=1)
    assert weights.shape == (300, 250)
    blocks = weights.reshape(300, 50, 5)
    assert (blocks == blocks[:, :, :1]).all()  # a CV's documents move together
    np.testing.assert_array_equal(weights.sum(axis=1), 250.0)
    np.testing.assert_array_equal(cluster_counts(weights, clusters).sum(axis=1), 50.0)
    assert np.all(weights == np.round(weights)) and weights.min() >= 0


def test_cluster_weights_unequal_interleaved_clusters() -> None:
    # sizes: "a" 1, ("b", 1) 2, 3 3, None 4 -- shuffled so that clusters are not contiguous
    labels = ["a"] + [("b", 1)] * 2 + [3] * 3 + [None] * 4
    order = np.random.default_rng(0).permutation(len(labels))
    clusters = [labels[i] for i in order]
    weights = cluster_resample_weights(clusters, n_resamples=500, seed=2)
    for label in set(labels):
        members = [i for i, x in enumerate(clusters) if x == label]
        assert (weights[:, members] == weights[:, members[:1]]).all()
    counts = cluster_counts(weights, clusters)
    np.testing.assert_array_equal(counts.sum(axis=1), 4.0)  # 4 clusters drawn per resample
    sizes = np.array([clusters.count(label) for label in dict.fromkeys(clusters)])
    # a row sums to the number of documents drawn: sum over clusters of count x size
    np.testing.assert_array_equal(weights.sum(axis=1), counts @ sizes)
    assert len(set(weights.sum(axis=1))) > 1  # ... which varies with unequal sizes


def test_cluster_weights_are_seeded() -> None:
    clusters = [i // 3 for i in range(30)]
    first = cluster_resample_weights(clusters, n_resamples=100, seed=7)
    np.testing.assert_array_equal(
        first, cluster_resample_weights(clusters, n_resamples=100, seed=7)
    )
    assert not np.array_equal(first, cluster_resample_weights(clusters, n_resamples=100, seed=8))


def test_cluster_weights_with_singletons_are_the_document_bootstrap() -> None:
    weights = cluster_resample_weights(list(range(40)), n_resamples=50, seed=3)
    np.testing.assert_array_equal(weights, resample_weights(40, n_resamples=50, seed=3))


def test_cluster_weights_draw_clusters_uniformly() -> None:
    # each of 4 clusters is drawn Bin(4, 1/4) times: mean 1, variance 3/4
    weights = cluster_resample_weights(["x", "y", "y", "z", "w"], n_resamples=40_000, seed=4)
    counts = cluster_counts(weights, ["x", "y", "y", "z", "w"])
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=0.02)
    np.testing.assert_allclose(counts.var(axis=0), 0.75, atol=0.03)


def test_cluster_weights_edge_cases() -> None:
    assert cluster_resample_weights([], n_resamples=3, seed=0).shape == (3, 0)
    with pytest.raises(ValueError):
        cluster_resample_weights([1, 2], n_resamples=0, seed=0)


# --------------------------------------------------------------------------- paired bootstrap
#
# Hand-worked micro-F1 case. Cluster A = documents a1, a2; cluster B = document b1.
# Per-document (tp, fp, fn):
#             baseline     candidate
#   a1        (3, 1, 0)    (2, 2, 1)
#   a2        (1, 0, 1)    (1, 0, 1)
#   b1        (2, 1, 1)    (0, 1, 3)
# Cluster sums: baseline A (4, 1, 1), B (2, 1, 1); candidate A (3, 2, 2), B (0, 1, 3).
# Micro-F1 = 2tp / (2tp + fp + fn).
#   full data:  baseline (6, 2, 2) -> 12/16 = 3/4;  candidate (3, 3, 5) -> 6/14 = 3/7
#   delta = 3/7 - 3/4 = -9/28
# Two draws of two clusters: AA, AB, BA, BB, each with probability 1/4.
#   AA: baseline (8, 2, 2) -> 16/20 = 4/5;  candidate (6, 4, 4) -> 12/20 = 3/5;  delta -1/5
#   AB, BA: the full data;  delta -9/28
#   BB: baseline (4, 2, 2) -> 8/12 = 2/3;   candidate (0, 2, 6) -> 0;          delta -2/3
# Drops D_b = -delta_b = 1/5, 9/28, 9/28, 2/3 and D = 9/28. Shifted bootstrap: count D_b - D >= D,
# i.e. D_b >= 18/28 = 0.643: only BB (2/3 = 0.667). p = (1 + 1) / (1 + 4) = 2/5.

BASELINE_F1 = np.array([[3, 1, 0], [1, 0, 1], [2, 1, 1]], dtype=float)
CANDIDATE_F1 = np.array([[2, 2, 1], [1, 0, 1], [0, 1, 3]], dtype=float)
# one row per equally likely draw AA, AB, BA, BB; columns a1, a2, b1
ALL_DRAWS = np.array([[2, 2, 0], [1, 1, 1], [1, 1, 1], [0, 0, 2]], dtype=float)


def test_paired_bootstrap_micro_f1_by_hand() -> None:
    result = paired_bootstrap_worse(
        BASELINE_F1,
        CANDIDATE_F1,
        micro_f1,
        weights=ALL_DRAWS,
        higher_is_better=True,
        confidence=0.5,
    )
    assert result.baseline == pytest.approx(3 / 4)
    assert result.candidate == pytest.approx(3 / 7)
    assert result.delta == pytest.approx(-9 / 28)
    assert result.p_value == pytest.approx(2 / 5)
    assert (result.n, result.n_resamples, result.n_undefined) == (3, 4, 0)
    # Percentile interval (linear interpolation between order statistics) of the sorted deltas
    # -2/3, -9/28, -9/28, -1/5 at 25% and 75%: positions 0.75 and 2.25 of 0..3:
    #   low  = -2/3 + 0.75 (-9/28 + 2/3)  = -2/3 + 0.75 * 29/84  = -137/336
    #   high = -9/28 + 0.25 (-1/5 + 9/28) = -9/28 + 0.25 * 17/140 = -163/560
    assert result.ci == pytest.approx((-137 / 336, -163 / 560))
    # In units of 1/420 the deltas are -84, -135, -135, -280: mean -158.5, squared deviations
    # 5550.25 + 552.25 + 552.25 + 14762.25 = 21417, / 3 = 7139 -> sd = sqrt(7139) / 420.
    sd = np.sqrt(7139) / 420
    assert result.standard_error == pytest.approx(sd)
    assert result.minimum_detectable_drop == pytest.approx((norm.ppf(0.95) + norm.ppf(0.8)) * sd)


def test_paired_bootstrap_orientation_lower_is_better() -> None:
    # The same numbers read as a lower-is-better metric: the candidate improved by 9/28.
    # D = delta = -9/28, D_b = delta_b; D_b - D >= D  <=>  delta_b >= -18/28 = -0.643:
    # AA (-0.2), AB, BA (-0.321) yes, BB (-0.667) no -> p = (3 + 1) / (4 + 1) = 4/5.
    result = paired_bootstrap_worse(
        BASELINE_F1, CANDIDATE_F1, micro_f1, weights=ALL_DRAWS, higher_is_better=False
    )
    assert result.delta == pytest.approx(-9 / 28)
    assert result.p_value == pytest.approx(4 / 5)


def test_paired_bootstrap_micro_f1_converges_to_the_enumeration() -> None:
    # With random cluster draws the share of resamples as extreme as observed tends to
    # P(BB) = 1/4 (the +1 correction vanishes); delta_b has mean
    # (-1/5 - 2 * 9/28 - 2/3) / 4 = -(84 + 270 + 280) / 1680 = -634/1680.
    weights = cluster_resample_weights(["A", "A", "B"], n_resamples=40_000, seed=11)
    result = paired_bootstrap_worse(
        BASELINE_F1, CANDIDATE_F1, micro_f1, weights=weights, higher_is_better=True
    )
    assert result.delta == pytest.approx(-9 / 28)
    assert result.p_value == pytest.approx(1 / 4, abs=0.01)  # sd of the share ~ 0.002
    assert result.standard_error == pytest.approx(np.sqrt(7139 * 3 / 4) / 420, rel=0.02)


def test_paired_bootstrap_drops_undefined_resamples() -> None:
    # Add cluster C = document c1 with nothing to count in either run: micro-F1 of a resample
    # drawing only C is 0/0 (NaN) and is dropped. Rows (A, B, C counts): (1,1,1) full data,
    # delta -9/28; (3,0,0): baseline (12,3,3) 24/30, candidate (9,6,6) 18/30 -> -1/5;
    # (0,3,0): baseline (6,3,3) 2/3, candidate 0 -> -2/3; (0,0,3) undefined.
    # Defined drops 9/28, 1/5, 2/3; only 2/3 >= 18/28 -> p = (1 + 1) / (3 + 1) = 1/2.
    baseline = np.vstack([BASELINE_F1, [0, 0, 0]])
    candidate = np.vstack([CANDIDATE_F1, [0, 0, 0]])
    weights = np.array([[1, 1, 1, 1], [3, 3, 0, 0], [0, 0, 3, 0], [0, 0, 0, 3]], dtype=float)
    result = paired_bootstrap_worse(
        baseline, candidate, micro_f1, weights=weights, higher_is_better=True
    )
    assert result.delta == pytest.approx(-9 / 28)
    assert (result.n_resamples, result.n_undefined) == (3, 1)
    assert result.p_value == pytest.approx(1 / 2)
    assert result.ci[0] >= -2 / 3 and result.ci[1] <= -1 / 5

    # undefined on the full data, or on every resample: nothing to test
    nothing = np.zeros((3, 3))
    result = paired_bootstrap_worse(
        nothing, nothing, micro_f1, weights=ALL_DRAWS, higher_is_better=True
    )
    assert np.isnan(result.delta) and np.isnan(result.p_value)
    assert result.n_undefined == 4


def test_identical_runs_give_zero_delta_and_p_one() -> None:
    # Every resampled drop is exactly 0 = D, so every resample counts as "at least as
    # extreme" (0 - 0 >= 0): p = (B + 1) / (B + 1) = 1. No evidence at all of a drop.
    rng = np.random.default_rng(5)
    columns = rng.integers(0, 4, size=(300, 3)).astype(float)
    weights = cluster_resample_weights([i // 3 for i in range(300)], n_resamples=500, seed=5)
    result = paired_bootstrap_worse(
        columns, columns.copy(), micro_f1, weights=weights, higher_is_better=True
    )
    assert result.delta == 0.0
    assert result.ci == (0.0, 0.0)
    assert result.p_value == 1.0
    assert result.standard_error == 0.0 and result.minimum_detectable_drop == 0.0


def correct_items(n: int, *, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < 0.8).astype(float)


def flipped(values: np.ndarray, *, to_wrong: int, to_right: int, seed: int) -> np.ndarray:
    """``values`` with ``to_wrong`` right items made wrong and ``to_right`` wrong made right."""
    rng = np.random.default_rng(seed)
    out = values.copy()
    out[rng.choice(np.flatnonzero(values == 1), size=to_wrong, replace=False)] = 0
    out[rng.choice(np.flatnonzero(values == 0), size=to_right, replace=False)] = 1
    return out


N_ITEMS = 2000
CLUSTERS = [i // 5 for i in range(N_ITEMS)]  # 400 CVs x 5 items


def test_planted_drop_gives_tiny_p() -> None:
    baseline = correct_items(N_ITEMS, seed=0)
    candidate = flipped(baseline, to_wrong=200, to_right=0, seed=1)  # -10 points
    weights = cluster_resample_weights(CLUSTERS, n_resamples=2000, seed=0)
    result = paired_bootstrap_worse(
        mean_columns(baseline),
        mean_columns(candidate),
        mean_of,
        weights=weights,
        higher_is_better=True,
    )
    assert result.delta == pytest.approx(-200 / N_ITEMS)
    assert result.p_value == pytest.approx(1 / 2001)  # no resample is that extreme
    assert result.ci[1] < 0
    assert result.minimum_detectable_drop < 200 / N_ITEMS
    assert mcnemar_worse(baseline, candidate).p_value == pytest.approx(0.5**200)

    # the same items scored as an error rate (lower is better) say the same
    errors = paired_bootstrap_worse(
        mean_columns(1 - baseline),
        mean_columns(1 - candidate),
        mean_of,
        weights=weights,
        higher_is_better=False,
    )
    assert errors.delta == pytest.approx(200 / N_ITEMS)
    assert errors.p_value == pytest.approx(1 / 2001)


def test_tiny_drop_within_noise_gives_large_p() -> None:
    baseline = correct_items(N_ITEMS, seed=0)
    candidate = flipped(baseline, to_wrong=30, to_right=28, seed=2)  # net -2 items, -0.1 points
    weights = cluster_resample_weights(CLUSTERS, n_resamples=2000, seed=0)
    result = paired_bootstrap_worse(
        mean_columns(baseline),
        mean_columns(candidate),
        mean_of,
        weights=weights,
        higher_is_better=True,
    )
    assert result.delta == pytest.approx(-2 / N_ITEMS)
    assert result.p_value > 0.2
    assert result.ci[0] < 0 < result.ci[1]
    assert result.minimum_detectable_drop > 2 / N_ITEMS  # the test cannot see a drop this small
    # McNemar agrees: P(X >= 30), X ~ Bin(58, 1/2)
    assert mcnemar_worse(baseline, candidate).p_value == pytest.approx(
        binomtest(30, 58, alternative="greater").pvalue
    )
    assert mcnemar_worse(baseline, candidate).p_value > 0.2


def test_improvement_gives_p_near_one() -> None:
    baseline = correct_items(N_ITEMS, seed=0)
    candidate = flipped(baseline, to_wrong=0, to_right=100, seed=3)  # +5 points
    weights = cluster_resample_weights(CLUSTERS, n_resamples=2000, seed=0)
    result = paired_bootstrap_worse(
        mean_columns(baseline),
        mean_columns(candidate),
        mean_of,
        weights=weights,
        higher_is_better=True,
    )
    assert result.delta == pytest.approx(100 / N_ITEMS)
    assert result.p_value > 0.99
    assert result.ci[0] > 0
    assert mcnemar_worse(baseline, candidate).p_value == 1.0


def test_paired_bootstrap_refuses_mismatched_input() -> None:
    columns = np.ones((3, 2))
    with pytest.raises(ValueError):  # different documents
        paired_bootstrap_worse(
            columns, np.ones((4, 2)), mean_of, weights=np.ones((2, 3)), higher_is_better=True
        )
    with pytest.raises(ValueError):  # weights for other documents
        paired_bootstrap_worse(
            columns, columns, mean_of, weights=np.ones((2, 4)), higher_is_better=True
        )
    with pytest.raises(ValueError):  # 1-D columns
        paired_bootstrap_worse(
            np.ones(3), np.ones(3), mean_of, weights=np.ones((2, 3)), higher_is_better=True
        )
    with pytest.raises(ValueError):
        paired_bootstrap_worse(
            columns,
            columns,
            mean_of,
            weights=np.ones((2, 3)),
            higher_is_better=True,
            confidence=1.0,
        )


def test_minimum_detectable_drop_formula() -> None:
    # z_0.95 = 1.6449, z_0.8 = 0.8416: 2.4865 x se
    assert minimum_detectable_drop(0.02) == pytest.approx(2.4865 * 0.02, rel=1e-4)
    # alpha 0.025, power 0.5: z_0.975 + 0 = 1.95996
    assert minimum_detectable_drop(1.0, alpha=0.025, power=0.5) == pytest.approx(1.959964)


# --------------------------------------------------------------------------- vacancy ranking
#
# Spearman per CV as columns + reduce: a CV's rho sits on its first document with a presence
# 1 there (0 on its other documents); reduce = sum(rho) / sum(presence) = mean rho over the
# CVs drawn. Clusters = CVs, so a CV's five documents always move together.

PLACES = [
    [1, 2, 3, 4, 5],
    [3, 1, 5, 2, 4],
    [2, 1, 3, 4, 5],
    [5, 4, 3, 2, 1],
    [1, 2, 3, 4, 5],
    [4, 5, 1, 2, 3],
]
# scores that rank the vacancies exactly as annotated (rho 1) or with one adjacent swap
# (rho = 1 - 6 * 2 / (5 * 24) = 0.9) on CVs 2, 3 and 5
SWAPPED = {2, 3, 5}


def vacancy_scores(cv: int) -> np.ndarray:
    goodness = 6.0 - np.array(PLACES[cv], dtype=float)  # place 1 -> 5, place 5 -> 1
    if cv in SWAPPED:
        best, second = np.argsort(-goodness)[:2]
        goodness[[best, second]] = goodness[[second, best]]
    return goodness


def spearman_columns(scores_per_cv: list[np.ndarray]) -> np.ndarray:
    columns = np.zeros((5 * len(PLACES), 2))
    for cv, scores in enumerate(scores_per_cv):
        rho = spearmanr(scores, -np.array(PLACES[cv], dtype=float)).statistic
        columns[5 * cv] = (rho, 1.0)
    return columns


def test_spearman_per_cv_keeps_cvs_whole() -> None:
    clusters = [f"cv{cv}" for cv in range(len(PLACES)) for _ in range(5)]
    weights = cluster_resample_weights(clusters, n_resamples=1000, seed=9)
    blocks = weights.reshape(1000, len(PLACES), 5)
    assert (blocks == blocks[:, :, :1]).all()
    np.testing.assert_array_equal(weights.sum(axis=1), 30.0)

    baseline_scores = [vacancy_scores(cv) for cv in range(len(PLACES))]
    baseline = spearman_columns(baseline_scores)
    np.testing.assert_allclose(baseline[::5, 0], [1, 1, 0.9, 0.9, 1, 0.9])

    # Same rankings, different scores (a monotone transform): the same rho per CV.
    same = spearman_columns([10 * s + 3 for s in baseline_scores])
    result = paired_bootstrap_worse(baseline, same, mean_of, weights=weights, higher_is_better=True)
    assert result.baseline == pytest.approx(5.7 / 6)
    assert result.delta == pytest.approx(0.0, abs=1e-12)
    assert result.ci == pytest.approx((0.0, 0.0), abs=1e-12)
    assert result.p_value == 1.0

    # Rankings reversed on CVs 0 and 1 (rho -1): mean rho (-2 + 0.9 * 3 + 1) / 6 = 1.7/6,
    # delta = 1.7/6 - 5.7/6 = -2/3.
    reversed_scores = [-s if cv in (0, 1) else s for cv, s in enumerate(baseline_scores)]
    result = paired_bootstrap_worse(
        baseline,
        spearman_columns(reversed_scores),
        mean_of,
        weights=weights,
        higher_is_better=True,
    )
    assert result.delta == pytest.approx(-2 / 3)
    assert result.p_value < 0.5


# --------------------------------------------------------------------------- speed


def test_speed_of_1000_resamples_of_2000_documents(capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    baseline = rng.integers(0, 5, size=(2000, 3)).astype(float)
    candidate = rng.integers(0, 5, size=(2000, 3)).astype(float)
    clusters = [i // 5 for i in range(2000)]
    start = time.perf_counter()
    weights = cluster_resample_weights(clusters, n_resamples=1000, seed=0)
    drawn = time.perf_counter()
    result = paired_bootstrap_worse(
        baseline, candidate, micro_f1, weights=weights, higher_is_better=True
    )
    done = time.perf_counter()
    assert result.n_resamples == 1000
    with capsys.disabled():
        print(
            f"\n[speed] 1000 x 2000 docs, k=3: weights {1000 * (drawn - start):.1f} ms, "
            f"paired bootstrap {1000 * (done - drawn):.1f} ms"
        )
