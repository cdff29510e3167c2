"""``rjdb_explain``: say what the unmatched resume lacks (skills, experience gap) as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from rjdb_bench.metrics.sets import f1_statistic, precision_statistic, recall_statistic, set_counts
from rjdb_bench.metrics.statistic import mean_statistic
from rjdb_bench.metrics.text import bertscore, rouge_f
from rjdb_bench.tasks.base import (
    PARSE_FAILURE_RATE,
    Doc,
    Item,
    Rows,
    Scored,
    ScoringSettings,
    TaskSpec,
    accuracy_metric,
    bertscore_metric,
    f1_metric,
    make_item,
    parse_failure_statistic,
    rouge_metric,
)
from rjdb_bench.tasks.parsing import GAP_KINDS, parse_explanation

EXPLANATION_SCHEMA = {
    "type": "object",
    "properties": {
        "missing_skills": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 100},
            "maxItems": 20,
        },
        "experience_gap": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": list(GAP_KINDS)},
                "title": {"type": "string", "maxLength": 160},
            },
            "required": ["kind", "title"],
            "additionalProperties": False,
        },
    },
    "required": ["missing_skills", "experience_gap"],
    "additionalProperties": False,
}


def render_explanation(missing_skills: Sequence[str], kind: str | None, title: str) -> str:
    """The one fixed template that turns an explanation into text, for gold and predictions alike.

    >>> render_explanation(["SQL", "Excel"], "reduced", "Data Analyst")
    'Missing skills: SQL, Excel. Experience gap: the experience as Data Analyst is shorter than required.'
    >>> render_explanation(["", " Java"], "none", "")
    'Missing skills: Java. Experience gap: none.'
    """
    named = [skill.strip() for skill in missing_skills if skill.strip()]  # RJDB has blank skills
    skills = ", ".join(named) if named else "none"
    gaps = {
        "reduced": f"the experience as {title} is shorter than required",
        "removed": f"the experience as {title} is missing",
        "none": "none",
    }
    return f"Missing skills: {skills}. Experience gap: {gaps.get(kind or '', 'unknown')}."


def build_explain_docs(rows: Rows, seed: int) -> list[Doc]:
    """One doc per row: the job description and ``Resume-unmatched``; gold from ``Filtered-information``."""
    docs = []
    for row in rows:
        change = row["experience_change"]
        title = change["title"] or ""
        gold = {
            "missing_skills": list(row["removed_skills"]),
            "experience_gap": {"kind": change["kind"], "title": title},
        }
        docs.append(
            {
                "task": "rjdb_explain",
                "doc_key": str(row["row_id"]),
                "row_id": row["row_id"],
                "cluster": row["row_id"],
                "job_description": row["job_description"],
                "resume": row["resume_unmatched"],
                "gold_missing_skills": gold["missing_skills"],
                "gold_gap_kind": change["kind"],
                "gold_gap_title": title,
                "reference": render_explanation(gold["missing_skills"], change["kind"], title),
                "target": json.dumps(gold, ensure_ascii=False),
            }
        )
    return docs


def make_explain_item(doc: Doc, output: str) -> Item:
    """Parse the JSON explanation and render it with the reference template."""
    parsed = parse_explanation(output)
    value = parsed.value
    rendered = (
        render_explanation(value["missing_skills"], value["kind"], value["title"])
        if parsed.ok
        else ""
    )
    gold = {"missing_skills": doc["gold_missing_skills"], "kind": doc["gold_gap_kind"]}
    return make_item(doc, output, parsed, gold, rendered=rendered, reference=doc["reference"])


def score_explain(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """Missing-skill micro P/R/F1, gap-kind accuracy, ROUGE-L and BERTScore of the rendered text."""
    counts = set_counts(
        [i["gold"]["missing_skills"] for i in items],
        [i["prediction"]["missing_skills"] for i in items],
    )
    kind_correct = np.array([float(i["prediction"]["kind"] == i["gold"]["kind"]) for i in items])
    references = [i["reference"] for i in items]
    rendered = [i["rendered"] for i in items]
    rouge_l = rouge_f(references, rendered, types=["rougeL"])["rougeL"]
    _, _, bert_f1 = bertscore(references, rendered, config=settings.bertscore)
    statistics = {
        "missing_skills_f1": f1_statistic(counts),
        "missing_skills_precision": precision_statistic(counts),
        "missing_skills_recall": recall_statistic(counts),
        "gap_kind_accuracy": mean_statistic(kind_correct),
        "rougeL": mean_statistic(rouge_l),
        "bertscore_f1": mean_statistic(bert_f1),
        "parse_failure_rate": parse_failure_statistic(items),
    }
    per_item = [
        {
            "tp": float(c[0]),
            "fp": float(c[1]),
            "fn": float(c[2]),
            "gap_kind_correct": float(k),
            "rougeL": float(r),
            "bertscore_f1": float(b),
        }
        for c, k, r, b in zip(counts, kind_correct, rouge_l, bert_f1, strict=True)
    ]
    return Scored(statistics, per_item)


EXPLAIN = TaskSpec(
    name="rjdb_explain",
    headline="missing_skills_f1",
    metrics=(
        f1_metric("missing_skills_f1", "Missing-skills F1"),
        f1_metric("missing_skills_precision", "Missing-skills precision", kind="precision"),
        f1_metric("missing_skills_recall", "Missing-skills recall", kind="recall"),
        accuracy_metric("gap_kind_accuracy", "Gap-kind accuracy"),
        rouge_metric("rougeL", "ROUGE-L"),
        bertscore_metric("bertscore_f1", "BERTScore F1"),
        PARSE_FAILURE_RATE,
    ),
    build_docs=build_explain_docs,
    make_item=make_explain_item,
    score=score_explain,
    description="Explain why the unmatched resume falls short: missing skills and experience gap (JSON).",
    structured_output={"json": EXPLANATION_SCHEMA},
)
