"""``rjdb_match`` (Yes/No per resume) and ``rjdb_match_pairwise`` (which of A/B matches)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from rjdb_bench.metrics import classification
from rjdb_bench.tasks.base import (
    PARSE_FAILURE_RATE,
    Doc,
    Item,
    Rows,
    Scored,
    ScoringSettings,
    TaskSpec,
    accuracy_metric,
    f1_metric,
    make_item,
    parse_failure_statistic,
)
from rjdb_bench.tasks.parsing import parse_label

MATCH_LABELS = ("Yes", "No")
PAIRWISE_LABELS = ("A", "B")


def build_match_docs(rows: Rows, seed: int) -> list[Doc]:
    """Two docs per row, in row order: the matched resume (gold Yes), then the unmatched (No)."""
    docs = []
    for row in rows:
        for variant, resume, label in (
            ("matched", row["resume_matched"], "Yes"),
            ("unmatched", row["resume_unmatched"], "No"),
        ):
            docs.append(
                {
                    "task": "rjdb_match",
                    "doc_key": f"{row['row_id']}:{variant}",
                    "row_id": row["row_id"],
                    "cluster": row["row_id"],
                    "variant": variant,
                    "job_description": row["job_description"],
                    "resume": resume,
                    "label": label,
                    "target": label,
                }
            )
    return docs


def matched_resume_first(row_id: int, seed: int) -> bool:
    """Whether the matched resume is shown as A, drawn per row from ``seed`` (stable under subsets)."""
    return random.Random(f"rjdb_match_pairwise:{seed}:{row_id}").random() < 0.5


def build_pairwise_docs(rows: Rows, seed: int) -> list[Doc]:
    """One doc per row with both resumes; the order is drawn per row from ``seed``."""
    docs = []
    for row in rows:
        first = matched_resume_first(row["row_id"], seed)
        a, b = (row["resume_matched"], row["resume_unmatched"])
        label = "A" if first else "B"
        docs.append(
            {
                "task": "rjdb_match_pairwise",
                "doc_key": str(row["row_id"]),
                "row_id": row["row_id"],
                "cluster": row["row_id"],
                "job_description": row["job_description"],
                "resume_a": a if first else b,
                "resume_b": b if first else a,
                "label": label,
                "target": label,
            }
        )
    return docs


def _label_item(doc: Doc, output: str, labels: Sequence[str]) -> Item:
    return make_item(doc, output, parse_label(output, labels), doc["label"])


def make_match_item(doc: Doc, output: str) -> Item:
    """Parse a Yes/No answer."""
    return _label_item(doc, output, MATCH_LABELS)


def make_pairwise_item(doc: Doc, output: str) -> Item:
    """Parse an A/B answer."""
    return _label_item(doc, output, PAIRWISE_LABELS)


def score_match(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """Accuracy, macro-F1 over Yes/No, positive-class (Yes) P/R/F1, parse-failure rate."""
    gold = [item["gold"] for item in items]
    pred = [item["prediction"] for item in items]
    indicators = classification.label_indicators(gold, pred, labels=MATCH_LABELS)
    per_label = classification.label_f1_statistics(indicators, MATCH_LABELS)
    statistics = {
        "accuracy": classification.accuracy_statistic(indicators),
        "macro_f1": per_label["macro_f1"],
        "yes_precision": per_label["Yes_precision"],
        "yes_recall": per_label["Yes_recall"],
        "yes_f1": per_label["Yes_f1"],
        "parse_failure_rate": parse_failure_statistic(items),
    }
    per_item = [
        {"correct": float(g == p), "parsed": float(i["parsed_ok"])}
        for g, p, i in zip(gold, pred, items, strict=True)
    ]
    return Scored(statistics, per_item)


def score_pairwise(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """Accuracy and parse-failure rate."""
    gold = [item["gold"] for item in items]
    pred = [item["prediction"] for item in items]
    indicators = classification.label_indicators(gold, pred, labels=PAIRWISE_LABELS)
    statistics = {
        "accuracy": classification.accuracy_statistic(indicators),
        "parse_failure_rate": parse_failure_statistic(items),
    }
    per_item = [
        {"correct": float(g == p), "parsed": float(i["parsed_ok"])}
        for g, p, i in zip(gold, pred, items, strict=True)
    ]
    return Scored(statistics, per_item)


MATCH = TaskSpec(
    name="rjdb_match",
    headline="accuracy",
    metrics=(
        accuracy_metric("accuracy", "Accuracy"),
        f1_metric("macro_f1", "Macro-F1"),
        f1_metric("yes_precision", "Precision (Yes)", kind="precision"),
        f1_metric("yes_recall", "Recall (Yes)", kind="recall"),
        f1_metric("yes_f1", "F1 (Yes)"),
        PARSE_FAILURE_RATE,
    ),
    build_docs=build_match_docs,
    make_item=make_match_item,
    score=score_match,
    description="Does the resume meet the job description? Yes/No; two docs per row.",
    structured_output={"choice": list(MATCH_LABELS)},
)

MATCH_PAIRWISE = TaskSpec(
    name="rjdb_match_pairwise",
    headline="accuracy",
    metrics=(accuracy_metric("accuracy", "Accuracy"), PARSE_FAILURE_RATE),
    build_docs=build_pairwise_docs,
    make_item=make_pairwise_item,
    score=score_pairwise,
    description="Which of two resumes (A/B) matches the job description?",
    structured_output={"choice": list(PAIRWISE_LABELS)},
)
