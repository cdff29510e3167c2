"""Paired, one-sided tests of "is the candidate run worse than the baseline run?".

Pure statistics for the regression gate, on the same items scored in two runs:

* :func:`mcnemar_worse`: exact McNemar test for 0/1 per-item metrics (1 = good).
* :func:`paired_bootstrap_worse`: a paired bootstrap for corpus metrics written as
  per-document columns plus a ``reduce`` of their sums (the representation of
  :mod:`rjdb_bench.metrics.statistic`): the metric on a resample is ``reduce(W @ columns)``,
  with the *same* weight rows ``W`` for both runs.
* :func:`cluster_resample_weights`: the weight rows, drawing whole clusters (all documents
  of a CV move together).
* :func:`benjamini_hochberg`: adjusted p-values across the gated (task, metric) pairs.
* :func:`minimum_detectable_drop`: the smallest drop a test at this sample size would notice.

Nothing here reads files or keeps state; every random draw comes from an explicit seed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import binomtest, false_discovery_control, norm

from rjdb_bench.metrics.bootstrap import percentile_interval
from rjdb_bench.settings import GateSettings

DEFAULT_CONFIDENCE = GateSettings.confidence  # the gate's defaults (rjdb_bench.settings)
DEFAULT_ALPHA = GateSettings.alpha
DEFAULT_POWER = 0.8

Reducer = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test of "candidate worse" on paired 0/1 outcomes.

    ``b``: items the baseline got right and the candidate wrong; ``c``: the reverse;
    ``n``: number of items; ``delta``: candidate mean minus baseline mean, ``(c - b) / n``
    (NaN when ``n`` is 0); ``p_value``: one-sided exact p-value (1.0 when ``b + c`` is 0).
    """

    b: int
    c: int
    n: int
    delta: float
    p_value: float


@dataclass(frozen=True)
class BootstrapResult:
    """Paired bootstrap comparison of one metric in two runs.

    ``baseline`` and ``candidate`` are the metric on all documents; ``delta`` is
    ``candidate - baseline`` in the metric's own units (negative = lower); ``ci`` is the
    percentile interval of ``delta`` at ``confidence``; ``p_value`` is the one-sided p-value
    for "candidate worse"; ``standard_error`` is the standard deviation of the resampled
    deltas; ``minimum_detectable_drop`` is :func:`minimum_detectable_drop` of it (in the
    metric's units, always >= 0); ``n_resamples`` counts the resamples used and
    ``n_undefined`` those dropped because the metric was undefined (NaN) in either run.
    """

    baseline: float
    candidate: float
    delta: float
    ci: tuple[float, float]
    p_value: float
    standard_error: float
    minimum_detectable_drop: float
    n: int
    n_resamples: int
    n_undefined: int
    confidence: float


def cluster_resample_weights(
    clusters: Sequence[Hashable], *, n_resamples: int, seed: int
) -> np.ndarray:
    """How often each document is drawn in each cluster resample, shape ``(n_resamples, n_docs)``.

    Each resample draws ``n_clusters`` clusters with replacement (uniformly); a document's
    weight is the number of times its cluster was drawn, so the documents of one cluster
    always share a weight. A row sums to the number of documents drawn (``n_docs`` when all
    clusters have the same size). Distinct labels in ``clusters`` are distinct clusters
    (compared with ``==``, in order of first appearance). With one document per cluster this
    is the ordinary document bootstrap (and, for the same seed, the same matrix as
    :func:`rjdb_bench.metrics.bootstrap.resample_weights`). Same seed, same matrix.

    >>> weights = cluster_resample_weights(["cv1", "cv1", "cv2"], n_resamples=4, seed=0)
    >>> weights.shape
    (4, 3)
    >>> bool((weights[:, 0] == weights[:, 1]).all())
    True
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    index: dict[Hashable, int] = {}
    codes = np.fromiter(
        (index.setdefault(label, len(index)) for label in clusters), dtype=np.intp, count=-1
    )
    n_clusters = len(index)
    if n_clusters == 0:
        return np.zeros((n_resamples, 0))
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_resamples)
    return counts[:, codes].astype(float)


def mcnemar_worse(baseline: ArrayLike, candidate: ArrayLike) -> McNemarResult:
    """Exact one-sided McNemar test that the candidate gets fewer items right.

    ``baseline`` and ``candidate`` hold one 0/1 value per item (1 = right), the same items in
    the same order. Only discordant items count: ``b`` (baseline right, candidate wrong) and
    ``c`` (baseline wrong, candidate right). Under "no change" each discordant item is ``b``
    with probability 1/2, so the p-value is ``P(X >= b)`` for ``X ~ Binomial(b + c, 1/2)``
    (``scipy.stats.binomtest(b, b + c, 0.5, alternative="greater")``), and 1.0 without
    discordant items. Raises ValueError for values other than 0/1 or mismatched shapes.

    >>> result = mcnemar_worse([1, 1, 1, 1, 0], [0, 0, 0, 1, 0])
    >>> result.b, result.c, result.delta, result.p_value
    (3, 0, -0.6, 0.125)
    """
    base = _binary(baseline, "baseline")
    cand = _binary(candidate, "candidate")
    if base.shape != cand.shape:
        raise ValueError(f"baseline has {base.size} items and candidate {cand.size}")
    n = int(base.size)
    b = int(np.count_nonzero(base & ~cand))
    c = int(np.count_nonzero(~base & cand))
    p_value = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5, alternative="greater").pvalue)
    delta = (c - b) / n if n else float("nan")
    return McNemarResult(b=b, c=c, n=n, delta=delta, p_value=p_value)


def _binary(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one value per item (1-D), got shape {array.shape}")
    if array.size and not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0/1 (or booleans) for McNemar's test")
    return array.astype(bool)


def paired_bootstrap_worse(
    baseline_columns: ArrayLike,
    candidate_columns: ArrayLike,
    reduce: Reducer,
    *,
    weights: np.ndarray,
    higher_is_better: bool,
    confidence: float = DEFAULT_CONFIDENCE,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> BootstrapResult:
    """Paired bootstrap test that the candidate's corpus metric is worse than the baseline's.

    ``baseline_columns`` and ``candidate_columns`` are the per-document sufficient statistics
    of the two runs, shape ``(n_docs, k)``, rows for the same documents in the same order;
    ``reduce`` maps column sums ``(..., k)`` to metric values ``(...)`` (see
    :class:`rjdb_bench.metrics.statistic.Statistic`). ``weights`` (``(n_resamples, n_docs)``,
    e.g. from :func:`cluster_resample_weights`) gives both runs the same resamples, so each
    resampled ``delta_b = reduce(W_b @ candidate) - reduce(W_b @ baseline)`` is paired.

    Resamples where the metric is undefined (NaN) in either run are dropped and counted in
    ``n_undefined``. If the metric is undefined on the full data, or on every resample,
    ``delta`` (or the resampling summaries) and the p-value are NaN: there is nothing to test.

    **p-value** (shifted, or "null-centred", bootstrap; Efron & Tibshirani 1993, §16.4;
    Berg-Kirkpatrick et al. 2012). Write the drop as ``D = -delta`` when higher is better and
    ``D = delta`` otherwise (positive = candidate worse), ``D_b`` for each resample. The
    spread of ``D_b`` around the observed ``D`` estimates how far the drop wanders by chance;
    shifting it to centre on zero gives the null distribution of "no change", and::

        p = (1 + #{b : D_b - D >= D}) / (1 + B)

    over the ``B`` defined resamples (the +1 keeps p > 0 and makes it a valid p-value with
    finite ``B``). Ties (within 1e-12 relative) count as at least as extreme. Identical runs
    give ``p = 1``; an improvement (``D < 0``) gives a p near 1.

    **Minimum detectable drop**: ``(z_{1-alpha} + z_{power}) * standard_error``, with
    ``standard_error`` the standard deviation of the resampled deltas. In plain words: the
    smallest true drop that a one-sided test at level ``alpha`` would catch with probability
    ``power`` at this number of documents (normal approximation). Drops smaller than that
    mostly pass unnoticed: if it exceeds the gate's minimum effect, more items are needed.
    ``alpha`` is the per-metric level, before any multiple-testing correction.

    >>> weights = cluster_resample_weights(range(100), n_resamples=200, seed=0)
    >>> ones = np.ones(100)
    >>> baseline = np.stack([np.r_[np.ones(80), np.zeros(20)], ones], axis=1)
    >>> candidate = np.stack([np.r_[np.ones(60), np.zeros(40)], ones], axis=1)
    >>> result = paired_bootstrap_worse(
    ...     baseline, candidate, lambda s: s[..., 0] / s[..., 1],
    ...     weights=weights, higher_is_better=True)
    >>> round(result.delta, 2), result.p_value < 0.01
    (-0.2, True)
    """
    for name, value in (("confidence", confidence), ("alpha", alpha), ("power", power)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    base = _columns(baseline_columns, "baseline_columns")
    cand = _columns(candidate_columns, "candidate_columns")
    if base.shape != cand.shape:
        raise ValueError(
            f"baseline_columns {base.shape} and candidate_columns {cand.shape} differ in shape"
        )
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[1] != base.shape[0]:
        raise ValueError(
            f"weights must have shape (n_resamples, {base.shape[0]}), got {weights.shape}"
        )

    base_point = float(np.asarray(reduce(base.sum(axis=0)), dtype=float))
    cand_point = float(np.asarray(reduce(cand.sum(axis=0)), dtype=float))
    delta = cand_point - base_point

    deltas = np.asarray(reduce(weights @ cand), dtype=float) - np.asarray(
        reduce(weights @ base), dtype=float
    )
    defined = deltas[~np.isnan(deltas)]
    n_defined = int(defined.size)
    n_undefined = int(weights.shape[0] - n_defined)
    nan = float("nan")

    ci = percentile_interval(defined, confidence)
    standard_error = float(np.std(defined, ddof=1)) if n_defined > 1 else nan

    p_value = shifted_p_value(delta, defined, higher_is_better=higher_is_better)

    return BootstrapResult(
        baseline=base_point,
        candidate=cand_point,
        delta=delta,
        ci=ci,
        p_value=p_value,
        standard_error=standard_error,
        minimum_detectable_drop=minimum_detectable_drop(standard_error, alpha=alpha, power=power),
        n=int(base.shape[0]),
        n_resamples=n_defined,
        n_undefined=n_undefined,
        confidence=confidence,
    )


def shifted_p_value(delta: float, deltas: np.ndarray, *, higher_is_better: bool) -> float:
    """One-sided p-value of "worse" from an observed ``delta`` (candidate - baseline) and its
    defined resampled ``deltas``: the shifted bootstrap of :func:`paired_bootstrap_worse`.
    NaN when ``delta`` is NaN or there is no resample.

    >>> shifted_p_value(-0.2, np.array([-0.25, -0.2, -0.15, -0.1]), higher_is_better=True)
    0.2
    >>> shifted_p_value(0.0, np.zeros(9), higher_is_better=True)
    1.0
    """
    deltas = np.asarray(deltas, dtype=float)
    if not deltas.size or np.isnan(delta):
        return float("nan")
    sign = 1.0 if higher_is_better else -1.0
    drop = -sign * delta
    drops = -sign * deltas
    tolerance = 1e-12 * max(1.0, abs(drop))
    extreme = int(np.count_nonzero(drops - drop >= drop - tolerance))
    return (extreme + 1) / (deltas.size + 1)


def paired_bootstrap_mean_worse(
    parts: Sequence[tuple[ArrayLike, ArrayLike, Reducer, np.ndarray]],
    *,
    higher_is_better: bool = True,
) -> float:
    """One-sided p-value that the candidate's *mean over tasks* is worse than the baseline's.

    ``parts`` holds, per task, ``(baseline_columns, candidate_columns, reduce, weights)`` as
    for :func:`paired_bootstrap_worse`; every task's weights must have the same number of
    rows (each task resamples its own clusters, independently). A suite score is the
    unweighted mean of its tasks' metrics, so each resample's delta is the mean of the tasks'
    resampled deltas. NaN when the mean is undefined.

    >>> weights = cluster_resample_weights(range(50), n_resamples=200, seed=0)
    >>> good = np.stack([np.ones(50), np.ones(50)], axis=1)
    >>> half = np.stack([np.r_[np.ones(25), np.zeros(25)], np.ones(50)], axis=1)
    >>> ratio = lambda s: s[..., 0] / s[..., 1]
    >>> paired_bootstrap_mean_worse([(good, half, ratio, weights), (good, good, ratio, weights)]) < 0.01
    True
    """
    if not parts:
        return float("nan")
    delta = 0.0
    resampled = None
    for base_columns, cand_columns, reduce, weights in parts:
        base = _columns(base_columns, "baseline_columns")
        cand = _columns(cand_columns, "candidate_columns")
        delta += float(reduce(cand.sum(axis=0))) - float(reduce(base.sum(axis=0)))
        part = np.asarray(reduce(weights @ cand), dtype=float) - np.asarray(
            reduce(weights @ base), dtype=float
        )
        if resampled is not None and part.shape != resampled.shape:
            raise ValueError("every part's weights must have the same number of resamples")
        resampled = part if resampled is None else resampled + part
    delta /= len(parts)
    resampled = resampled / len(parts)
    return shifted_p_value(
        delta, resampled[~np.isnan(resampled)], higher_is_better=higher_is_better
    )


def _columns(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n_docs, k), got {array.shape}")
    return array


def minimum_detectable_drop(
    standard_error: float, *, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER
) -> float:
    """Smallest true drop a one-sided level-``alpha`` test catches with probability ``power``.

    ``(z_{1-alpha} + z_{power}) * standard_error`` (normal approximation), where
    ``standard_error`` is the standard deviation of the estimated difference between the
    runs at this sample size (e.g. of the paired bootstrap deltas). It shrinks like
    ``1/sqrt(n)``: a gate whose minimum effect is below it cannot reliably see that effect.
    With paired deltas the standard error measures how much the two runs *disagree*: runs
    that agree on every document give 0, which means "no noise observed", not "any drop is
    detectable".

    >>> round(minimum_detectable_drop(0.01), 4)
    0.0249
    """
    for name, value in (("alpha", alpha), ("power", power)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return float((norm.ppf(1.0 - alpha) + norm.ppf(power)) * standard_error)


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), in the input order.

    ``scipy.stats.false_discovery_control(p_values, method="bh")``; an empty input gives an
    empty array. Reject the hypotheses whose adjusted p-value is below the FDR level.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.2]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    >>> benjamini_hochberg([]).shape
    (0,)
    """
    array = np.asarray(p_values, dtype=float)
    if array.size == 0:
        return np.zeros(0)
    return np.asarray(false_discovery_control(array, method="bh"), dtype=float)
