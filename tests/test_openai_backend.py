"""The `openai` backend against a real vLLM OpenAI-compatible server on a tiny local model.

One server per module (``vllm_server``, ~40 s to start, ~3 GiB); a fault-injecting proxy
(``tests/servers.py``) sits in front of it where a test needs to see or disturb the traffic.
The tiny model's weights are random: tests check formats, requests and code paths, never
particular answers.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lm_requests import generation_request
from servers import FaultProxy, VLLMServer, free_port, start_vllm_server

from rjdb_bench.cli import main
from rjdb_bench.errors import InputError
from rjdb_bench.models.openai_compat import (
    UNNAMED_SCHEMA,
    OpenAICompatibleLM,
    build_openai,
    check_base_url,
    request_options,
    response_format,
)
from rjdb_bench.models.registry import OUTPUT_CONSTRAINT_KEY
from rjdb_bench.tasks.parsing import parse_label
from rjdb_bench.tasks.registry import TASK_SPECS

MAX_GEN_TOKS = 48
# In-process runs read the key from a variable that is never set, so they send the
# placeholder key whatever the surrounding environment holds.
UNSET_KEY_ENV = "RJDB_BENCH_TEST_UNSET_KEY"
LABELS = {"rjdb_match": ["Yes", "No"], "rjdb_match_pairwise": ["A", "B"]}


def run_in_process(base_url: str, model: str, out: Path, *overrides: str) -> int:
    """``rjdb-bench run model=openai ...`` in this process; the exit code."""
    os.environ.pop(UNSET_KEY_ENV, None)
    return main(
        [
            "run",
            "model=openai",
            f"model.base_url={base_url}",
            f"model.model={model}",
            f"model.api_key_env={UNSET_KEY_ENV}",
            f"generation.max_gen_toks={MAX_GEN_TOKS}",
            "limit=2",
            f"output_dir={out}",
            *overrides,
        ]
    )


def run_subprocess(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m rjdb_bench.cli run ARGS`` with ``env`` added to this environment."""
    return subprocess.run(
        [sys.executable, "-m", "rjdb_bench.cli", "run", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
    )


def outputs(run_dir: Path) -> dict[str, list[str]]:
    """Raw outputs per task, in doc order, from a run's samples."""
    return {
        path.stem: [json.loads(line)["output"] for line in path.read_text().splitlines()]
        for path in sorted((run_dir / "samples").glob("*.jsonl"))
    }


def error_lines(stderr: str) -> list[str]:
    """The CLI's error lines in ``stderr``."""
    return [line for line in stderr.splitlines() if line.startswith("rjdb-bench: error:")]


def wire_task(exchange: Any) -> str:
    """The task a generation request was for (its response_format name; else rjdb_edit)."""
    rf = exchange.request.get("response_format") or {}
    return rf.get("json_schema", {}).get("name", "rjdb_edit")


def wire_answer(exchange: Any) -> tuple[str, str]:
    """The answer text and finish reason of a forwarded generation request."""
    choice = exchange.response["choices"][0]
    text = choice["message"]["content"] if "message" in choice else choice["text"]
    return text, choice["finish_reason"]


@pytest.fixture(scope="module")
def vllm_server(
    tiny_causal_lm: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VLLMServer]:
    server = start_vllm_server(tiny_causal_lm, tmp_path_factory.mktemp("vllm") / "server.log")
    try:
        yield server
    finally:
        server.stop()


def paths_holding(value: Any, text: str, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where in a JSON document a string contains ``text`` (keys included)."""
    if isinstance(value, dict):
        found = [path + (key,) for key in value if text in str(key)]
        for key, item in value.items():
            found += paths_holding(item, text, path + (key,))
        return found
    if isinstance(value, list):
        return [
            p
            for index, item in enumerate(value)
            for p in paths_holding(item, text, path + (index,))
        ]
    return [path] if isinstance(value, str) and text in value else []


@pytest.fixture(scope="module")
def suite_run(
    vllm_server: VLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, FaultProxy]:
    """Every RJDB task, 2 docs each, chat mode with structured outputs, through a clean proxy."""
    out = tmp_path_factory.mktemp("openai-suite")
    with FaultProxy(vllm_server.url) as proxy:
        code = run_in_process(proxy.base_url, vllm_server.served_model, out, "tasks=[rjdb]")
    assert code == 0
    return out, proxy


@pytest.fixture(scope="module")
def match_direct(vllm_server: VLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rjdb_match, 2 docs, straight to the server: the reference for other runs."""
    out = tmp_path_factory.mktemp("openai-match")
    code = run_in_process(vllm_server.base_url, vllm_server.served_model, out, "tasks=[rjdb_match]")
    assert code == 0
    return out


@pytest.mark.slow
def test_every_task_completes_with_every_metric(suite_run: tuple[Path, FaultProxy]) -> None:
    out, _ = suite_run
    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"]) == set(TASK_SPECS)
    for task, spec in TASK_SPECS.items():
        record = results["tasks"][task]
        assert record["n"] == 2
        assert record["generation_kwargs"]["max_gen_toks"] == MAX_GEN_TOKS
        assert set(spec.metric_names) <= set(record["metrics"]), task
        for metric in spec.metric_names:
            value = record["metrics"][metric]
            assert value is None or 0.0 <= value <= 1.0, (task, metric, value)
    assert all(len(texts) == 2 for texts in outputs(out).values())


@pytest.mark.slow
def test_choice_tasks_answer_exactly_one_label_as_a_json_string(
    suite_run: tuple[Path, FaultProxy],
) -> None:
    out, _ = suite_run
    results = json.loads((out / "results.json").read_text())
    for task, labels in LABELS.items():
        assert results["tasks"][task]["metrics"]["parse_failure_rate"] == 0.0
        for text in outputs(out)[task]:
            assert json.loads(text) in labels, (task, text)
            assert parse_label(text, labels).value == json.loads(text)


@pytest.mark.slow
def test_json_answers_satisfy_the_schema_unless_cut_at_max_tokens(
    suite_run: tuple[Path, FaultProxy],
) -> None:
    _, proxy = suite_run
    complete = 0
    for exchange in proxy.posts():
        task = wire_task(exchange)
        constraint = TASK_SPECS[task].structured_output
        if not constraint or "json" not in constraint:
            continue
        text, finish = wire_answer(exchange)
        if finish == "length":
            # Cut off by the token budget: the server says it used every token allowed.
            assert exchange.response["usage"]["completion_tokens"] == MAX_GEN_TOKS
            continue
        jsonschema.validate(json.loads(text), constraint["json"])
        complete += 1
    assert complete > 0


@pytest.mark.slow
def test_samples_hold_exactly_what_the_server_answered(
    suite_run: tuple[Path, FaultProxy],
) -> None:
    out, proxy = suite_run
    on_wire: dict[str, list[str]] = {}
    for exchange in proxy.posts():
        on_wire.setdefault(wire_task(exchange), []).append(wire_answer(exchange)[0])
    saved = outputs(out)
    assert set(on_wire) == set(saved)
    for task, texts in saved.items():
        assert sorted(texts) == sorted(on_wire[task]), task


@pytest.mark.slow
def test_chat_requests_carry_the_prompt_settings_and_constraint(
    suite_run: tuple[Path, FaultProxy],
) -> None:
    _, proxy = suite_run
    assert [e.path for e in proxy.exchanges if e.method == "GET"] == ["/v1/models"]
    posts = proxy.posts()
    assert len(posts) == 2 * len(TASK_SPECS)
    for exchange in posts:
        body = exchange.request
        task = wire_task(exchange)
        assert exchange.path == "/v1/chat/completions"
        assert exchange.authorization == "Bearer EMPTY"  # the placeholder: the key is unset
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert body["max_tokens"] == MAX_GEN_TOKS
        assert body["temperature"] == 0.0
        assert body["seed"] == 1234
        assert 1 <= len(body["stop"]) <= 4
        assert body.get("response_format") == response_format(
            task, TASK_SPECS[task].structured_output
        )


@pytest.mark.slow
def test_results_record_the_served_model_and_settings(
    suite_run: tuple[Path, FaultProxy], vllm_server: VLLMServer, tiny_causal_lm: Path
) -> None:
    out, proxy = suite_run
    results = json.loads((out / "results.json").read_text())
    model = results["model"]
    assert model["kind"] == "openai"
    assert model["base_url"] == proxy.base_url
    assert model["api"] == "chat"
    assert model["served_model"] == vllm_server.served_model
    assert model["served_model_root"] == str(tiny_causal_lm)
    assert model["structured_outputs"] is True
    assert not any("key" in field for field in model)
    # The key's variable is recorded by name, in the run's config (the key is unset here).
    assert results["config"]["model"]["api_key_env"] == UNSET_KEY_ENV
    assert model["apply_chat_template"] is False  # the server applies it in chat mode
    assert model["settings"] == {
        "max_concurrency": 8,
        "max_retries": 5,
        "timeout": 120.0,
        "seed": 1234,
    }


@pytest.mark.slow
def test_completions_mode_sends_the_raw_prompt_with_the_constraint(
    vllm_server: VLLMServer, tmp_path: Path
) -> None:
    with FaultProxy(vllm_server.url) as proxy:
        code = run_in_process(
            proxy.base_url,
            vllm_server.served_model,
            tmp_path,
            "tasks=[rjdb_match]",
            "model.api=completions",
        )
    assert code == 0
    posts = proxy.posts()
    assert [e.path for e in posts] == ["/v1/completions"] * 2
    for exchange in posts:
        assert exchange.request["prompt"].rstrip().endswith("Answer:")
        assert exchange.request["response_format"]["json_schema"]["name"] == "rjdb_match"
    assert all(json.loads(text) in LABELS["rjdb_match"] for text in outputs(tmp_path)["rjdb_match"])
    assert json.loads((tmp_path / "results.json").read_text())["model"]["api"] == "completions"


@pytest.mark.slow
def test_structured_outputs_off_sends_no_response_format(
    vllm_server: VLLMServer, tmp_path: Path
) -> None:
    with FaultProxy(vllm_server.url) as proxy:
        code = run_in_process(
            proxy.base_url,
            vllm_server.served_model,
            tmp_path,
            "tasks=[rjdb_match,rjdb_skills]",
            "model.structured_outputs=false",
        )
    assert code == 0
    assert len(proxy.posts()) == 4
    assert all("response_format" not in e.request for e in proxy.posts())
    assert (
        json.loads((tmp_path / "results.json").read_text())["model"]["structured_outputs"] is False
    )


@pytest.mark.slow
@pytest.mark.parametrize("status", [429, 503])
def test_rejected_requests_are_retried_until_they_succeed(
    status: int, vllm_server: VLLMServer, match_direct: Path, tmp_path: Path
) -> None:
    with FaultProxy(vllm_server.url, fail_first=3, fail_status=status) as proxy:
        code = run_in_process(
            proxy.base_url, vllm_server.served_model, tmp_path, "tasks=[rjdb_match]"
        )
    assert code == 0
    posts = proxy.posts()
    assert (
        sorted((e.status, e.injected) for e in posts) == [(200, False)] * 2 + [(status, True)] * 3
    )
    assert outputs(tmp_path) == outputs(match_direct)


@pytest.mark.slow
def test_timed_out_requests_are_retried(
    vllm_server: VLLMServer, match_direct: Path, tmp_path: Path
) -> None:
    with FaultProxy(vllm_server.url, stall_first=1, stall_s=4) as proxy:
        code = run_in_process(
            proxy.base_url,
            vllm_server.served_model,
            tmp_path,
            "tasks=[rjdb_match]",
            "model.timeout=1.5",
        )
    assert code == 0
    assert [e.status for e in proxy.posts()].count(200) == 2
    assert outputs(tmp_path) == outputs(match_direct)


@pytest.mark.slow
def test_a_server_that_never_answers_exits_2_after_the_retries(
    vllm_server: VLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultProxy(vllm_server.url, stall_first=100, stall_s=3) as proxy:
        code = run_in_process(
            proxy.base_url,
            vllm_server.served_model,
            tmp_path,
            "tasks=[rjdb_match]",
            "model.timeout=1",
            "model.max_retries=1",
        )
        (line,) = error_lines(capsys.readouterr().err)
    assert code == 2
    assert f"POST {proxy.base_url}/chat/completions" in line
    assert "no answer within model.timeout=1 s (2 attempts)" in line
    assert not (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_no_more_than_max_concurrency_requests_are_in_flight(
    vllm_server: VLLMServer, suite_run: tuple[Path, FaultProxy], tmp_path: Path
) -> None:
    assert 1 < suite_run[1].max_in_flight <= 8  # the default: 12 requests, up to 8 at once
    with FaultProxy(vllm_server.url) as proxy:
        code = run_in_process(
            proxy.base_url,
            vllm_server.served_model,
            tmp_path,
            "tasks=[rjdb]",
            "model.max_concurrency=2",
        )
    assert code == 0
    assert proxy.max_in_flight == 2
    assert outputs(tmp_path) == outputs(suite_run[0])


@pytest.mark.slow
def test_greedy_runs_give_identical_outputs(
    vllm_server: VLLMServer, suite_run: tuple[Path, FaultProxy], tmp_path: Path
) -> None:
    code = run_in_process(vllm_server.base_url, vllm_server.served_model, tmp_path, "tasks=[rjdb]")
    assert code == 0
    assert outputs(tmp_path) == outputs(suite_run[0])


@pytest.mark.slow
def test_a_run_broken_off_half_way_resumes_without_asking_again(
    vllm_server: VLLMServer, suite_run: tuple[Path, FaultProxy], tmp_path: Path
) -> None:
    model, args = vllm_server.served_model, ("tasks=[rjdb]", "model.max_concurrency=1")
    # One proxy for both runs: the response cache is keyed by the model identity (base URL).
    with FaultProxy(vllm_server.url, fail_after=5, fail_status=400) as proxy:
        assert run_in_process(proxy.base_url, model, tmp_path, *args) == 2
        assert not (tmp_path / "results.json").exists()
        first = proxy.posts()
        answered = [e for e in first if e.status == 200]
        assert len(answered) == 5
        proxy.heal()
        assert run_in_process(proxy.base_url, model, tmp_path, *args) == 0
        resumed = proxy.posts()[len(first) :]
    # Only the 7 requests not answered before were sent again.
    assert len(resumed) == 2 * len(TASK_SPECS) - 5
    assert {json.dumps(e.request) for e in resumed}.isdisjoint(
        json.dumps(e.request) for e in answered
    )
    assert outputs(tmp_path) == outputs(suite_run[0])


@pytest.mark.slow
def test_wrong_model_name_exits_2_with_one_line_and_no_results(
    vllm_server: VLLMServer, tmp_path: Path
) -> None:
    key = f"sk-rjdb-{secrets.token_hex(16)}"
    done = run_subprocess(
        [
            "model=openai",
            f"model.base_url={vllm_server.base_url}",
            "model.model=no-such-model",
            "tasks=[rjdb_match]",
            "limit=2",
            f"output_dir={tmp_path}",
        ],
        env={"OPENAI_API_KEY": key},
    )
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = error_lines(done.stderr)
    assert "HTTP 404" in line and "no-such-model" in line and vllm_server.base_url in line
    assert "Traceback" not in done.stderr
    assert key not in done.stdout + done.stderr
    assert not (tmp_path / "results.json").exists()


def test_unreachable_server_exits_2_fast_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    started = time.monotonic()
    code = run_in_process(
        base_url,
        "any",
        tmp_path,
        "tasks=[rjdb_match]",
        "model.max_retries=1",
        "model.timeout=2",
    )
    elapsed = time.monotonic() - started
    assert code == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert f"GET {base_url}/models" in line and "cannot connect" in line
    assert "after 2 attempts" in line
    assert elapsed < 20
    assert not (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_api_key_is_sent_but_never_written_or_printed(
    vllm_server: VLLMServer, tmp_path: Path
) -> None:
    key = f"sk-rjdb-{secrets.token_hex(16)}"
    other = f"sk-other-{secrets.token_hex(16)}"
    out = tmp_path / "run"
    with FaultProxy(vllm_server.url, fail_first=1) as proxy:
        done = run_subprocess(
            [
                "model=openai",
                f"model.base_url={proxy.base_url}",
                f"model.model={vllm_server.served_model}",
                "model.api_key_env=RJDB_TEST_API_KEY",
                "tasks=[rjdb_match,rjdb_explain]",
                "limit=1",
                "generation.max_gen_toks=16",
                f"output_dir={out}",
            ],
            env={"RJDB_TEST_API_KEY": key, "OPENAI_API_KEY": other},
        )
    assert done.returncode == 0, done.stderr[-2000:]
    # It was used, on every request (the model listing, the rejected and the retried POSTs).
    assert len(proxy.exchanges) == 4
    assert {e.authorization for e in proxy.exchanges} == {f"Bearer {key}"}
    # ... and is nowhere else: not in any file written, nor in what was printed.
    results_text = (out / "results.json").read_text()
    written = [path for path in out.rglob("*") if path.is_file()]
    assert {path.name for path in written} >= {"results.json", "responses.sqlite"}
    assert len(list((out / "samples").glob("*.jsonl"))) == 2
    for secret in (key, other):
        assert secret not in results_text
        assert secret not in done.stdout + done.stderr
        for path in written:
            assert secret.encode() not in path.read_bytes(), path
    # What results.json records is the variable's name: in config.model.api_key_env and in
    # the command that reproduces the run (its override), nowhere else.
    assert sorted(paths_holding(json.loads(results_text), "RJDB_TEST_API_KEY")) == [
        ("command",),
        ("config", "model", "api_key_env"),
    ]


def test_missing_base_url_or_model_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for missing, given in (
        ("model.base_url", "model.model=m"),
        ("model.model", "model.base_url=http://127.0.0.1:9/v1"),
    ):
        code = main(["run", "model=openai", given, f"output_dir={tmp_path}"])
        assert code == 2
        (line,) = error_lines(capsys.readouterr().err)
        assert missing in line
    assert not (tmp_path / "results.json").exists()


def test_credentials_in_the_base_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(InputError) as error:
        check_base_url("http://user:s3cret@127.0.0.1:8000/v1")
    assert "s3cret" not in str(error.value) and "api_key_env" in str(error.value)


def test_generation_kwargs_map_to_openai_parameters() -> None:
    options = request_options(
        {"until": ["a", "", "b", "c", "d", "e"], "max_gen_toks": 5, "do_sample": False}
    )
    assert options == {"max_tokens": 5, "stop": ["a", "b", "c", "d"], "temperature": 0.0}
    with pytest.raises(InputError, match="num_beams"):
        request_options({"num_beams": 4})


def test_choice_constraint_becomes_a_string_enum_schema() -> None:
    assert response_format("rjdb_match_pairwise", {"choice": ["A", "B"]}) == {
        "type": "json_schema",
        "json_schema": {
            "name": "rjdb_match_pairwise",
            "schema": {"type": "string", "enum": ["A", "B"]},
            "strict": True,
        },
    }


def test_loglikelihood_requests_are_refused_as_input_errors() -> None:
    lm = OpenAICompatibleLM(base_url="http://127.0.0.1:9/v1", model="m", api_key_env=UNSET_KEY_ENV)
    with pytest.raises(InputError, match="generation tasks only"):
        lm.loglikelihood([])
    with pytest.raises(InputError, match="generation tasks only"):
        lm.loglikelihood_rolling([])


@pytest.mark.slow
def test_vacancy_task_is_scored_by_ratings_over_http(
    vllm_server: VLLMServer, tmp_path: Path
) -> None:
    # No log-likelihoods over the chat API: ood.vacancy_scoring=auto picks the 1-5 rating.
    code = run_in_process(
        vllm_server.base_url, vllm_server.served_model, tmp_path, "tasks=[ood_vacancy_zeroshot]"
    )
    assert code == 0
    record = json.loads((tmp_path / "results.json").read_text())["tasks"]["ood_vacancy_zeroshot"]
    assert record["n"] == 2 and record["metrics"]["parse_failure_rate"] == 0.0
    # The choice constraint arrives as a JSON string enum: each answer is one quoted digit.
    answers = [json.loads(o) for o in outputs(tmp_path)["ood_vacancy_zeroshot"]]
    assert set(answers) <= {"1", "2", "3", "4", "5"}


# --------------------------------------------------------------------------- request contract
# The constraint travels with the request (generation kwarg OUTPUT_CONSTRAINT_KEY), as the
# runner sends it to a model that declares accepts_output_constraints.

PROMPTS = (
    "Job: baker. Resume: ten years of bread and pastry. Does the resume match? Answer:",
    "Job: nurse. Resume: welding and forklift driving. Does the resume match? Answer:",
)


def offline_lm(**kwargs: Any) -> OpenAICompatibleLM:
    """A client for a port nothing listens on: building requests needs no server."""
    os.environ.pop(UNSET_KEY_ENV, None)
    return OpenAICompatibleLM(
        base_url="http://127.0.0.1:9/v1", model="m", api_key_env=UNSET_KEY_ENV, **kwargs
    )


def test_the_response_format_comes_from_the_request_not_the_task() -> None:
    lm = offline_lm(seed=3)
    labels = {"choice": LABELS["rjdb_match"]}
    request = generation_request(PROMPTS[0], labels)
    options = lm._job(request).options
    assert options == {
        "max_tokens": 8,
        "stop": ["\n\n"],
        "temperature": 0.0,
        "seed": 3,
        "response_format": response_format("rjdb_match", labels),
    }
    assert request.args[1][OUTPUT_CONSTRAINT_KEY] == labels  # the request is left as it was
    schema = {"type": "array", "items": {"type": "string"}}
    skills = lm._job(generation_request(PROMPTS[0], {"json": schema}, task="rjdb_skills"))
    assert skills.options["response_format"]["json_schema"] == {
        "name": "rjdb_skills",
        "schema": schema,
        "strict": True,
    }
    # A task whose spec has a constraint, but a request without one: no response format.
    assert "response_format" not in lm._job(generation_request(PROMPTS[0])).options
    # A request of no task still gets a valid schema name.
    unnamed = lm._job(generation_request(PROMPTS[0], labels, task=None))
    assert unnamed.options["response_format"]["json_schema"]["name"] == UNNAMED_SCHEMA
    # Completions mode sends it in the body; structured outputs off drops it.
    completions = offline_lm(api="completions")._job(request).options
    assert completions["extra_body"] == {"response_format": response_format("rjdb_match", labels)}
    off = offline_lm(structured_outputs=False)._job(request).options
    assert "response_format" not in off and "extra_body" not in off
    with pytest.raises(InputError, match=OUTPUT_CONSTRAINT_KEY):
        lm._job(generation_request(PROMPTS[0], {"grammar": "x"}))


@pytest.mark.slow
def test_a_constraint_in_the_request_reaches_the_server_and_binds_the_answer(
    vllm_server: VLLMServer,
) -> None:
    os.environ.pop(UNSET_KEY_ENV, None)
    config = {
        "base_url": None,
        "model": vllm_server.served_model,
        "api_key_env": UNSET_KEY_ENV,
        "seed": 0,
    }
    labels = LABELS["rjdb_match"]
    with FaultProxy(vllm_server.url) as proxy:
        loaded = build_openai({**config, "base_url": proxy.base_url}, {})
        assert loaded.accepts_output_constraints is True
        constrained = [generation_request(p, {"choice": labels}) for p in PROMPTS]
        free = [generation_request(p) for p in PROMPTS]  # same task name, same prompts
        answers = loaded.lm.generate_until(constrained + free, disable_tqdm=True)
        off = build_openai({**config, "base_url": proxy.base_url, "structured_outputs": False}, {})
        assert off.accepts_output_constraints is False
    sent = {e.request["messages"][0]["content"]: [] for e in proxy.posts()}
    for exchange in proxy.posts():
        assert OUTPUT_CONSTRAINT_KEY not in json.dumps(exchange.request)
        sent[exchange.request["messages"][0]["content"]].append(exchange.request)
    for prompt in PROMPTS:
        formats = sorted(json.dumps(r.get("response_format")) for r in sent[prompt])
        assert formats == sorted(
            [json.dumps(response_format("rjdb_match", {"choice": labels})), "null"]
        )
    assert all(json.loads(answer) in labels for answer in answers[: len(PROMPTS)]), answers

    def is_label(text: str) -> bool:
        try:
            return json.loads(text) in labels
        except ValueError:
            return False

    # The random model, unconstrained, answers something else.
    assert not all(is_label(answer) for answer in answers[len(PROMPTS) :]), answers
