"""The shape of one samples line and of the suite scores, shared by ``run`` and ``score``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def sample_record(
    index: int,
    prompt_hash: str,
    item: Mapping[str, Any],
    scores: Mapping[str, Any],
    extra_fields: Sequence[str] = (),
    columns: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """One line of ``samples/<task>.jsonl``: the doc and its cluster, its prompt hash, the output,
    parse, gold, per-item scores, the task's ``extra_fields`` of the item, and the doc's row of
    every metric's statistic ``columns`` (metrics are reductions of their column sums)."""
    return {
        "doc_id": item["doc_key"],
        "cluster": item["cluster"],
        "index": index,
        "prompt_hash": prompt_hash,
        "output": item["output"],
        "parsed_ok": item.get("parsed_ok", True),
        "prediction": item["prediction"],
        "gold": item["gold"],
        **{field: item[field] for field in extra_fields},
        "scores": dict(scores),
        "columns": dict(columns or {}),
    }


def suite_scores(
    suite_members: Mapping[str, Sequence[str]], tasks: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Unweighted mean of member tasks' headline metrics, for suites whose tasks all ran."""
    out = {}
    for suite, members in suite_members.items():
        if members and all(m in tasks for m in members):
            headlines = {m: tasks[m]["metrics"][tasks[m]["headline"]] for m in members}
            values = [v for v in headlines.values() if v is not None]
            score = float(np.mean(values)) if len(values) == len(headlines) else None
            out[suite] = {"score": score, "tasks": headlines}
    return out
