"""``rjdb_skills``: extract the skills a resume shows, as a JSON list of strings."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rjdb_bench.metrics.normalize import normalized_set
from rjdb_bench.metrics.sets import (
    f1_statistic,
    precision_statistic,
    prf_from_counts,
    recall_statistic,
    set_counts,
    soft_set_counts,
)
from rjdb_bench.metrics.statistic import mean_statistic
from rjdb_bench.tasks.base import (
    PARSE_FAILURE_RATE,
    Doc,
    Item,
    Rows,
    Scored,
    ScoringSettings,
    TaskSpec,
    f1_metric,
    make_item,
    parse_failure_statistic,
)
from rjdb_bench.tasks.parsing import parse_string_list

# A JSON array of short strings; the bounds keep a constrained decoder from running away.
SKILLS_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 100},
    "maxItems": 40,
}


def unmatched_skills(skills: Sequence[str], removed: Sequence[str]) -> list[str]:
    """Gold skills of the unmatched resume: ``skills`` minus the removed ones (normalised match).

    >>> unmatched_skills(["SQL", "Excel", "Networking"], ["networking"])
    ['SQL', 'Excel']
    """
    gone = normalized_set(removed)
    return [skill for skill in skills if not normalized_set([skill]) & gone]


def build_skill_docs(rows: Rows, seed: int) -> list[Doc]:
    """Two docs per row: the matched resume (gold ``Skills``), then the unmatched one."""
    docs = []
    for row in rows:
        for variant, resume, gold in (
            ("matched", row["resume_matched"], list(row["skills"])),
            (
                "unmatched",
                row["resume_unmatched"],
                unmatched_skills(row["skills"], row["removed_skills"]),
            ),
        ):
            docs.append(
                {
                    "task": "rjdb_skills",
                    "doc_key": f"{row['row_id']}:{variant}",
                    "row_id": row["row_id"],
                    "cluster": row["row_id"],
                    "variant": variant,
                    "resume": resume,
                    "gold_skills": gold,
                    "target": json.dumps(gold, ensure_ascii=False),
                }
            )
    return docs


def make_skill_item(doc: Doc, output: str) -> Item:
    """Parse a list of skills."""
    return make_item(doc, output, parse_string_list(output, keys=("skills",)), doc["gold_skills"])


def score_skills(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """Micro/macro P/R/F1 of normalised exact matches, soft micro-F1, parse-failure rate."""
    gold = [item["gold"] for item in items]
    pred = [item["prediction"] for item in items]
    exact = set_counts(gold, pred)
    soft = soft_set_counts(gold, pred, threshold=settings.soft_threshold)
    doc_p, doc_r, doc_f1 = prf_from_counts(exact[:, 0], exact[:, 1], exact[:, 2])
    statistics = {
        "micro_f1": f1_statistic(exact),
        "micro_precision": precision_statistic(exact),
        "micro_recall": recall_statistic(exact),
        "macro_f1": mean_statistic(doc_f1),
        "macro_precision": mean_statistic(doc_p),
        "macro_recall": mean_statistic(doc_r),
        "soft_micro_f1": f1_statistic(soft),
        "parse_failure_rate": parse_failure_statistic(items),
    }
    per_item = [
        {
            "tp": float(e[0]),
            "fp": float(e[1]),
            "fn": float(e[2]),
            "f1": float(f),
            "soft_tp": float(s[0]),
        }
        for e, f, s in zip(exact, doc_f1, soft, strict=True)
    ]
    return Scored(statistics, per_item)


SKILLS = TaskSpec(
    name="rjdb_skills",
    headline="micro_f1",
    metrics=(
        f1_metric("micro_f1", "Micro-F1"),
        f1_metric("micro_precision", "Micro precision", kind="precision"),
        f1_metric("micro_recall", "Micro recall", kind="recall"),
        f1_metric("macro_f1", "Macro-F1"),
        f1_metric("macro_precision", "Macro precision", kind="precision"),
        f1_metric("macro_recall", "Macro recall", kind="recall"),
        f1_metric("soft_micro_f1", "Soft micro-F1"),
        PARSE_FAILURE_RATE,
    ),
    build_docs=build_skill_docs,
    make_item=make_skill_item,
    score=score_skills,
    description="Extract the skills a resume shows (JSON list); two docs per row.",
    structured_output={"json": SKILLS_SCHEMA},
)
