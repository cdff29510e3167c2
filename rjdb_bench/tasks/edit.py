"""``rjdb_edit``: edit the unmatched resume so that it matches the job description."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rjdb_bench.metrics.normalize import normalize
from rjdb_bench.metrics.statistic import mean_statistic, ratio_statistic
from rjdb_bench.metrics.text import ROUGE_TYPES, bertscore, rouge_f
from rjdb_bench.tasks.base import (
    Doc,
    Item,
    Rows,
    Scored,
    ScoringSettings,
    TaskSpec,
    bertscore_metric,
    f1_metric,
    make_item,
    rouge_metric,
)
from rjdb_bench.tasks.parsing import Parsed


def build_edit_docs(rows: Rows, seed: int) -> list[Doc]:
    """One doc per row: job description and ``Resume-unmatched``; gold = ``Resume-matched``."""
    return [
        {
            "task": "rjdb_edit",
            "doc_key": str(row["row_id"]),
            "row_id": row["row_id"],
            "cluster": row["row_id"],
            "job_description": row["job_description"],
            "resume": row["resume_unmatched"],
            "removed_skills": list(row["removed_skills"]),
            "target": row["resume_matched"],
        }
        for row in rows
    ]


def make_edit_item(doc: Doc, output: str) -> Item:
    """The edited resume is the output itself, stripped."""
    return make_item(
        doc,
        output,
        Parsed(output.strip(), True),
        doc["target"],
        removed_skills=doc["removed_skills"],
    )


def restored_skills(removed: Sequence[str], text: str) -> int:
    """How many of the removed skills appear in ``text`` (normalised, as whole words).

    >>> restored_skills(["Customer Service", "C++", "Java"], "Skills: customer  service, JavaScript")
    1
    """
    haystack = normalize(text)
    found = 0
    for skill in removed:
        needle = normalize(skill)
        if needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack):
            found += 1
    return found


def score_edit(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """ROUGE-1/2/L/Lsum F, BERTScore P/R/F1, restored-skill recall (pooled over skills)."""
    references = [i["gold"] for i in items]
    predictions = [i["prediction"] for i in items]
    rouge = rouge_f(references, predictions, types=ROUGE_TYPES)
    bert_p, bert_r, bert_f = bertscore(references, predictions, config=settings.bertscore)
    restored = np.array(
        [restored_skills(i["removed_skills"], i["prediction"]) for i in items], dtype=float
    )
    removed = np.array([len(i["removed_skills"]) for i in items], dtype=float)
    statistics = {name: mean_statistic(values) for name, values in rouge.items()}
    statistics |= {
        "bertscore_precision": mean_statistic(bert_p),
        "bertscore_recall": mean_statistic(bert_r),
        "bertscore_f1": mean_statistic(bert_f),
        "restored_skill_recall": ratio_statistic(restored, removed),
    }
    per_item = [
        {
            **{t: float(rouge[t][k]) for t in rouge},
            "bertscore_precision": float(bert_p[k]),
            "bertscore_recall": float(bert_r[k]),
            "bertscore_f1": float(bert_f[k]),
            "restored": float(restored[k]),
            "removed": float(removed[k]),
        }
        for k in range(len(items))
    ]
    return Scored(statistics, per_item)


EDIT = TaskSpec(
    name="rjdb_edit",
    headline="rougeL",
    metrics=(
        rouge_metric("rougeL", "ROUGE-L"),
        rouge_metric("rouge1", "ROUGE-1"),
        rouge_metric("rouge2", "ROUGE-2"),
        rouge_metric("rougeLsum", "ROUGE-Lsum"),
        bertscore_metric("bertscore_precision", "BERTScore precision"),
        bertscore_metric("bertscore_recall", "BERTScore recall"),
        bertscore_metric("bertscore_f1", "BERTScore F1"),
        f1_metric("restored_skill_recall", "Restored-skill recall", kind="recall"),
    ),
    build_docs=build_edit_docs,
    make_item=make_edit_item,
    score=score_edit,
    description="Edit the unmatched resume so it matches the job description (free text).",
)
