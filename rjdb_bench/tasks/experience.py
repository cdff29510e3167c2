"""``rjdb_experience``: list the resume's work experiences with their years."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from rjdb_bench.metrics.normalize import normalize
from rjdb_bench.metrics.sets import (
    f1_statistic,
    match_one_to_one,
    precision_statistic,
    recall_statistic,
)
from rjdb_bench.metrics.statistic import ratio_statistic
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
from rjdb_bench.tasks.parsing import parse_experience_list

EXPERIENCE_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 160},
            # null: the gold has no years for a title merged into another's range
            "years": {
                "anyOf": [{"type": "integer", "minimum": 0, "maximum": 60}, {"type": "null"}]
            },
        },
        "required": ["title", "years"],
        "additionalProperties": False,
    },
    "maxItems": 12,
}


def build_experience_docs(rows: Rows, seed: int) -> list[Doc]:
    """One doc per row on ``Resume-matched``; gold = titles and years of the ``"T (YYYY - YYYY)"`` strings."""
    docs = []
    for row in rows:
        gold = [{"title": e["title"], "years": e["years"]} for e in row["experiences"]]
        docs.append(
            {
                "task": "rjdb_experience",
                "doc_key": str(row["row_id"]),
                "row_id": row["row_id"],
                "cluster": row["row_id"],
                "resume": row["resume_matched"],
                "gold_experiences": gold,
                "target": json.dumps(gold, ensure_ascii=False),
            }
        )
    return docs


def make_experience_item(doc: Doc, output: str) -> Item:
    """Parse a list of ``{"title", "years"}``."""
    return make_item(doc, output, parse_experience_list(output), doc["gold_experiences"])


def _deduplicated(entries: Sequence[dict]) -> list[tuple[str, int | None]]:
    seen: dict[str, int | None] = {}
    for entry in entries:
        title = normalize(entry["title"])
        if title and title not in seen:
            seen[title] = entry["years"]
    return list(seen.items())


def experience_counts(
    gold: Sequence[dict], pred: Sequence[dict], *, threshold: float
) -> dict[str, int]:
    """Counts for one doc: titles matched one-to-one fuzzily, then years compared on matched pairs.

    ``joint_tp`` counts matched titles whose years are equal (a gold title without years
    matches a prediction without years); ``years_correct``/``years_total`` cover matched
    titles whose gold has years.

    >>> experience_counts([{"title": "Baker", "years": 3}], [{"title": "baker.", "years": 2}], threshold=0.8)
    {'tp': 1, 'fp': 0, 'fn': 0, 'joint_tp': 0, 'years_correct': 0, 'years_total': 1}
    """
    gold_entries, pred_entries = _deduplicated(gold), _deduplicated(pred)
    pairs = match_one_to_one(
        [t for t, _ in gold_entries], [t for t, _ in pred_entries], threshold=threshold
    )
    tp = len(pairs)
    joint = sum(gold_entries[g][1] == pred_entries[p][1] for g, p, _ in pairs)
    with_years = [(g, p) for g, p, _ in pairs if gold_entries[g][1] is not None]
    return {
        "tp": tp,
        "fp": len(pred_entries) - tp,
        "fn": len(gold_entries) - tp,
        "joint_tp": joint,
        "years_correct": sum(gold_entries[g][1] == pred_entries[p][1] for g, p in with_years),
        "years_total": len(with_years),
    }


def score_experience(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """Title micro-F1 (normalised, fuzzy), joint title+years F1, years accuracy, parse failures."""
    per_item = [
        experience_counts(i["gold"], i["prediction"], threshold=settings.soft_threshold)
        for i in items
    ]
    counts = np.array([[c["tp"], c["fp"], c["fn"]] for c in per_item], dtype=float).reshape(-1, 3)
    joint = np.array(
        [
            [c["joint_tp"], c["tp"] + c["fp"] - c["joint_tp"], c["tp"] + c["fn"] - c["joint_tp"]]
            for c in per_item
        ],
        dtype=float,
    ).reshape(-1, 3)
    statistics = {
        "title_f1": f1_statistic(counts),
        "title_precision": precision_statistic(counts),
        "title_recall": recall_statistic(counts),
        "joint_f1": f1_statistic(joint),
        "years_accuracy": ratio_statistic(
            np.array([c["years_correct"] for c in per_item]),
            np.array([c["years_total"] for c in per_item]),
        ),
        "parse_failure_rate": parse_failure_statistic(items),
    }
    return Scored(statistics, [{k: float(v) for k, v in c.items()} for c in per_item])


EXPERIENCE = TaskSpec(
    name="rjdb_experience",
    headline="title_f1",
    metrics=(
        f1_metric("title_f1", "Title F1"),
        f1_metric("title_precision", "Title precision", kind="precision"),
        f1_metric("title_recall", "Title recall", kind="recall"),
        f1_metric("joint_f1", "Title + years F1"),
        accuracy_metric("years_accuracy", "Years accuracy"),
        PARSE_FAILURE_RATE,
    ),
    build_docs=build_experience_docs,
    make_item=make_experience_item,
    score=score_experience,
    description="List the work experiences of the matched resume with their years (JSON).",
    structured_output={"json": EXPERIENCE_SCHEMA},
)
