"""Every task's structured-output constraint admits its gold answers."""

from __future__ import annotations

import json

import jsonschema
import pytest

from rjdb_bench.tasks.lm_eval_hooks import load_docs
from rjdb_bench.tasks.registry import TASK_SPECS


@pytest.mark.parametrize("task", sorted(TASK_SPECS))
def test_gold_targets_satisfy_the_task_constraint(task: str, rjdb_data_dir) -> None:
    spec = TASK_SPECS[task]
    docs = load_docs(task, rjdb_data_dir=str(rjdb_data_dir))["eval"]
    constraint = spec.structured_output
    if constraint is None:
        assert task == "rjdb_edit"  # free text
        return
    violations = []
    for doc in docs:
        if "choice" in constraint:
            if doc["target"] not in constraint["choice"]:
                violations.append(doc["doc_key"])
            continue
        gold = json.loads(doc["target"])
        if task == "rjdb_skills":
            gold = [
                s for s in gold if s.strip()
            ]  # RJDB has two blank gold skills; metrics ignore them
        if task == "rjdb_explain":
            gold["missing_skills"] = [s for s in gold["missing_skills"] if s.strip()]
        try:
            jsonschema.validate(gold, constraint["json"])
        except jsonschema.ValidationError:
            violations.append(doc["doc_key"])
    assert violations == []
