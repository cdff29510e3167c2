"""Retrieval metrics of one query against its relevant set: R-Precision@K and reciprocal rank.

As Decorte et al. (2023) define them for ESCO skill linking: a model ranks the candidate
labels for a query sentence; with ``n`` relevant labels,

* RP@K = (relevant labels among the first K) / min(K, n), so a query with fewer relevant
  labels than K can still reach 1.0;
* RR = 1 / (rank of the first relevant label), 0 if none is in the ranking given.

The ranking is a list of distinct labels, best first; ties were broken by whoever produced it
(the list is the model's answer). A relevant label that no ranking can contain (absent from the
candidates) still counts in ``n``: it only lowers the ceiling.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def r_precision_at(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Relevant labels in ``ranking[:k]`` divided by ``min(k, len(relevant))``.

    >>> r_precision_at(["a", "x", "b"], {"a", "b"}, 1)
    1.0
    >>> r_precision_at(["x", "a", "b"], {"a", "b"}, 5)  # K larger than the relevant set
    1.0
    >>> r_precision_at(["a", "x"], {"a", "b", "c"}, 2)
    0.5
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not relevant:
        raise ValueError("a query needs at least one relevant label")
    wanted = set(relevant)
    hits = sum(1 for label in ranking[:k] if label in wanted)
    return hits / min(k, len(wanted))


def reciprocal_rank(ranking: Sequence[str], relevant: Collection[str]) -> float:
    """1 / (1-based rank of the first relevant label in ``ranking``), 0.0 if there is none.

    >>> reciprocal_rank(["x", "y", "a"], {"a"})
    0.3333333333333333
    >>> reciprocal_rank(["x"], {"a"})
    0.0
    """
    wanted = set(relevant)
    for rank, label in enumerate(ranking, start=1):
        if label in wanted:
            return 1.0 / rank
    return 0.0
