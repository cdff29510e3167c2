"""Every task's structured-output constraint admits its gold answers and fits the backends'
request contract (the constraint travels in the generation kwargs)."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest
from lm_eval.api.instance import Instance

from rjdb_bench.models.openai_compat import OpenAICompatibleLM, response_format
from rjdb_bench.models.registry import OUTPUT_CONSTRAINT_KEY, pop_output_constraint
from rjdb_bench.tasks.lm_eval_hooks import DEFAULT_SEED, load_row_dicts
from rjdb_bench.tasks.registry import TASK_SPECS


@pytest.mark.parametrize("task", sorted(TASK_SPECS))
def test_gold_targets_satisfy_the_task_constraint(task: str, rjdb_data_dir) -> None:
    spec = TASK_SPECS[task]
    docs = spec.build_docs(load_row_dicts({"rjdb_data_dir": str(rjdb_data_dir)}), DEFAULT_SEED)
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


@pytest.mark.parametrize("task", sorted(TASK_SPECS))
def test_the_task_constraint_fits_the_request_contract(task: str) -> None:
    constraint = TASK_SPECS[task].structured_output
    if constraint is None:
        return
    gen_kwargs = {"until": ["\n\n"], "max_gen_toks": 16, OUTPUT_CONSTRAINT_KEY: constraint}
    assert pop_output_constraint(gen_kwargs) == (
        constraint,
        {"until": ["\n\n"], "max_gen_toks": 16},
    )
    # Through a backend: the OpenAI one turns it into the response format named after the task.
    os.environ.pop("RJDB_BENCH_TEST_UNSET_KEY", None)
    lm = OpenAICompatibleLM(
        base_url="http://127.0.0.1:9/v1", model="m", api_key_env="RJDB_BENCH_TEST_UNSET_KEY"
    )
    request = Instance("generate_until", {}, ("prompt", gen_kwargs), 0, (task, 0, 1))
    assert lm._job(request).options["response_format"] == response_format(task, constraint)
