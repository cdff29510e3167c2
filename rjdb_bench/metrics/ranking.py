"""Agreement of a model's scores with a human ranking of a few candidates (one query at a time).

Used by the vacancy task: for each CV (the query) a model scores the five vacancies, and an
annotator ranked them (place 1 = best). Per query:

* Spearman's ρ between the model's scores and the annotator's order (``scipy.stats.spearmanr``
  of the scores against the negated places, ties averaged). A model that gives every
  candidate the same score ranks nothing: ρ is undefined there and counted as 0.
* NDCG@k (``sklearn.metrics.ndcg_score``, ties in the scores averaged) with graded relevance
  ``n - place``: the best candidate of ``n`` has relevance ``n - 1``, the worst 0, so putting
  the annotator's last choice first gives NDCG@1 = 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import ConstantInputWarning, spearmanr
from sklearn.metrics import ndcg_score


def _aligned(
    scores: Mapping[int, float], places: Mapping[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(set(scores) & set(places))
    return (
        np.array([scores[k] for k in keys], dtype=float),
        np.array([places[k] for k in keys], dtype=float),
    )


def spearman_rho(scores: Mapping[int, float], places: Mapping[int, int]) -> float | None:
    """Spearman's ρ between ``scores`` (higher = better) and ``places`` (1 = best).

    Only candidates present in both are compared; None with fewer than two of them; 0 when
    the scores (or the places) are all equal.

    >>> spearman_rho({1: 0.9, 2: 0.5, 3: 0.1}, {1: 1, 2: 2, 3: 3})
    1.0
    >>> spearman_rho({1: 0.1, 2: 0.5, 3: 0.9}, {1: 1, 2: 2, 3: 3})
    -1.0
    >>> spearman_rho({1: 3.0, 2: 3.0, 3: 3.0}, {1: 1, 2: 2, 3: 3})
    0.0
    """
    score_values, place_values = _aligned(scores, places)
    if len(score_values) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        rho = spearmanr(score_values, -place_values).statistic
    return 0.0 if math.isnan(rho) else float(rho)


def ndcg_at(
    scores: Mapping[int, float], places: Mapping[int, int], k: int, n_ranked: int | None = None
) -> float | None:
    """NDCG@k of the order ``scores`` induce, against relevance ``n_ranked - place``.

    ``n_ranked`` is the length of the annotator's whole ranking (default: the largest place
    given), so that relevance keeps its scale when only some candidates are scored (``limit``).

    >>> ndcg_at({1: 0.9, 2: 0.5, 3: 0.1}, {1: 1, 2: 2, 3: 3}, k=1)
    1.0
    >>> ndcg_at({1: 0.1, 2: 0.5, 3: 0.9}, {1: 1, 2: 2, 3: 3}, k=1)
    0.0
    >>> round(ndcg_at({4: 0.9, 5: 0.1}, {4: 5, 5: 4}, k=1, n_ranked=5), 3)  # two of five, reversed
    0.0
    """
    score_values, place_values = _aligned(scores, places)
    if len(score_values) < 2:
        return None
    top = n_ranked if n_ranked is not None else int(place_values.max())
    relevance = top - place_values
    return float(ndcg_score(relevance[None, :], score_values[None, :], k=k))


def places_as_scores(places: Mapping[int, int]) -> dict[int, float]:
    """A ranking turned into scores (place 1 gets the highest), to score one annotator against another.

    >>> places_as_scores({4: 1, 2: 2, 9: 3})
    {4: 3.0, 2: 2.0, 9: 1.0}
    """
    n = len(places)
    return {key: float(n + 1 - place) for key, place in places.items()}


def mean_defined(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are not None (None if there are none).

    >>> mean_defined([1.0, None, 0.0])
    0.5
    """
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None
