"""Accuracy and F1 for label predictions (Yes/No, A/B, gap kinds).

Each value is computed once, from the per-document columns (:func:`label_indicators`) that the
bootstrap, the regression gate and the leaderboard resample; the functions with
scikit-learn's signatures (:func:`accuracy`, :func:`macro_f1`, :func:`label_prf`) reduce the
same columns, and the tests check them against scikit-learn.

A prediction that could not be parsed is passed as ``None``: it is wrong for accuracy and
counts as a false negative of its true class (it is mapped to a label outside ``labels``).
Zero divisions follow scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rjdb_bench.metrics.statistic import Reduction, Statistic

INVALID = "<unparsed>"


def _labels_or_invalid(y_pred: Sequence[str | None]) -> list[str]:
    return [INVALID if p is None else p for p in y_pred]


def accuracy(y_true: Sequence[str], y_pred: Sequence[str | None]) -> float:
    """Share of exact label matches; ``None`` predictions are wrong.

    >>> accuracy(["Yes", "No", "No"], ["Yes", None, "No"])
    0.6666666666666666
    """
    return accuracy_statistic(label_indicators(y_true, y_pred, labels=())).value()


def macro_f1(
    y_true: Sequence[str], y_pred: Sequence[str | None], *, labels: Sequence[str]
) -> float:
    """Unweighted mean of the per-label F1 over ``labels``.

    >>> macro_f1(["Yes", "Yes", "No", "No"], ["Yes", "No", "No", None], labels=["Yes", "No"])
    0.5833333333333333
    """
    indicators = label_indicators(y_true, y_pred, labels=labels)
    return label_f1_statistics(indicators, labels)["macro_f1"].value()


def label_prf(
    y_true: Sequence[str], y_pred: Sequence[str | None], *, label: str
) -> tuple[float, float, float]:
    """Precision, recall and F1 of one label (e.g. the positive class ``"Yes"``).

    >>> label_prf(["Yes", "Yes", "No"], ["Yes", "No", "Yes"], label="Yes")
    (0.5, 0.5, 0.5)
    """
    statistics = label_f1_statistics(label_indicators(y_true, y_pred, labels=[label]), [label])
    return tuple(statistics[f"{label}_{name}"].value() for name in ("precision", "recall", "f1"))


def label_indicators(
    y_true: Sequence[str], y_pred: Sequence[str | None], *, labels: Sequence[str]
) -> np.ndarray:
    """Per-document columns ``[correct, then per label: tp, predicted, true]`` for the bootstrap."""
    true = np.array(list(y_true), dtype=object)
    pred = np.array(_labels_or_invalid(y_pred), dtype=object)
    columns = [true == pred]
    for label in labels:
        columns += [(true == label) & (pred == label), pred == label, true == label]
    return np.stack(columns, axis=1).astype(float).reshape(len(true), 1 + 3 * len(labels))


def accuracy_statistic(indicators: np.ndarray) -> Statistic:
    """Accuracy over :func:`label_indicators` columns."""
    n_docs = np.ones((len(indicators), 1))
    columns = np.hstack([indicators[:, :1], n_docs])
    return Statistic(columns, Reduction("ratio"))


def label_f1_statistics(indicators: np.ndarray, labels: Sequence[str]) -> dict[str, Statistic]:
    """Per-label precision/recall/F1 and their macro-F1, as statistics over the indicators.

    Keys: ``"<label>_precision"``, ``"<label>_recall"``, ``"<label>_f1"`` and ``"macro_f1"``.
    """

    out: dict[str, Statistic] = {}
    for i, label in enumerate(labels):
        for name in ("precision", "recall", "f1"):
            reduction = Reduction("label_prf", {"label": i, "which": name})
            out[f"{label}_{name}"] = Statistic(indicators, reduction)
    out["macro_f1"] = Statistic(indicators, Reduction("macro_label_f1", {"labels": len(labels)}))
    return out
