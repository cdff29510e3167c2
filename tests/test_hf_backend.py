"""The `hf` backend end to end on tiny models built by the tests, and plain `lm_eval` on our tasks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.resources import tasks_dir

ALL_METRICS = {
    "rjdb_match": {
        "accuracy",
        "macro_f1",
        "yes_precision",
        "yes_recall",
        "yes_f1",
        "parse_failure_rate",
    },
    "rjdb_match_pairwise": {"accuracy", "parse_failure_rate"},
    "rjdb_explain": {
        "missing_skills_f1",
        "missing_skills_precision",
        "missing_skills_recall",
        "gap_kind_accuracy",
        "rougeL",
        "bertscore_f1",
        "parse_failure_rate",
    },
    "rjdb_skills": {
        "micro_f1",
        "micro_precision",
        "micro_recall",
        "macro_f1",
        "macro_precision",
        "macro_recall",
        "soft_micro_f1",
        "parse_failure_rate",
    },
    "rjdb_experience": {
        "title_f1",
        "title_precision",
        "title_recall",
        "joint_f1",
        "years_accuracy",
        "parse_failure_rate",
    },
    "rjdb_edit": {
        "rougeL",
        "rouge1",
        "rouge2",
        "rougeLsum",
        "bertscore_precision",
        "bertscore_recall",
        "bertscore_f1",
        "restored_skill_recall",
    },
}


@pytest.fixture(scope="module")
def causal_run(tiny_causal_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hf-causal")
    code = main(
        [
            "run",
            "model=hf",
            f"model.pretrained={tiny_causal_lm}",
            "model.dtype=float32",
            "tasks=[rjdb]",
            "limit=2",
            "generation.max_gen_toks=24",
            f"output_dir={out}",
        ]
    )
    assert code == 0
    return out


@pytest.mark.slow
def test_tiny_causal_model_runs_every_task_and_reports_every_metric(causal_run: Path) -> None:
    results = json.loads((causal_run / "results.json").read_text())
    assert set(results["tasks"]) == set(ALL_METRICS)
    for task, metrics in ALL_METRICS.items():
        record = results["tasks"][task]
        assert record["n"] == 2
        assert record["generation_kwargs"]["max_gen_toks"] == 24
        for metric in metrics:
            value = record["metrics"][metric]
            if value is None:
                # Undefined, not zero: years accuracy has no matched titles to average over.
                assert (task, metric) == ("rjdb_experience", "years_accuracy")
                continue
            assert 0.0 <= value <= 1.0, (task, metric, value)
            low, high = record["metrics"][f"{metric}_ci"]
            assert low <= value <= high
        samples = (causal_run / "samples" / f"{task}.jsonl").read_text().splitlines()
        assert len(samples) == 2
        assert all(isinstance(json.loads(s)["output"], str) for s in samples)


@pytest.mark.slow
def test_hf_results_record_the_model_identity_and_chat_template(
    causal_run: Path, tiny_causal_lm: Path
) -> None:
    model = json.loads((causal_run / "results.json").read_text())["model"]
    assert model["kind"] == "hf"
    assert model["path"] == str(tiny_causal_lm.resolve())
    assert len(model["fingerprint_sha256"]) == 64
    assert model["architecture"] == "LlamaForCausalLM"
    assert model["apply_chat_template"] is True  # the tiny tokenizer has a ChatML template
    assert model["settings"]["trust_remote_code"] is False


@pytest.mark.slow
def test_tiny_seq2seq_model_runs_through_the_same_backend(
    tiny_seq2seq_lm: Path, tmp_path: Path
) -> None:
    code = main(
        [
            "run",
            "model=hf",
            f"model.pretrained={tiny_seq2seq_lm}",
            "model.model_type=seq2seq",
            "model.dtype=float32",
            "tasks=[rjdb_match,rjdb_skills]",
            "limit=2",
            "generation.max_gen_toks=16",
            f"output_dir={tmp_path}",
        ]
    )
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["model"]["architecture"] == "T5ForConditionalGeneration"
    assert results["tasks"]["rjdb_match"]["n"] == 2
    assert len((tmp_path / "samples" / "rjdb_skills.jsonl").read_text().splitlines()) == 2


@pytest.mark.slow
def test_plain_lm_eval_runs_our_tasks_with_the_same_outputs_and_scores(
    causal_run: Path, tiny_causal_lm: Path, tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).with_name("lm_eval")),
        "--include_path",
        str(tasks_dir()),
        "--tasks",
        "rjdb_skills,rjdb_match",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_causal_lm},dtype=float32",
        "--device",
        "cpu",
        "--limit",
        "2",
        "--apply_chat_template",
        "--gen_kwargs",
        "max_gen_toks=24",
        "--log_samples",
        "--output_path",
        str(tmp_path),
        "--metadata",
        json.dumps({"seed": 1234}),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env=dict(os.environ), timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (results_file,) = tmp_path.rglob("results_*.json")
    lm_eval_results = json.loads(results_file.read_text())["results"]
    ours = json.loads((causal_run / "results.json").read_text())["tasks"]
    for task in ("rjdb_skills", "rjdb_match"):
        for metric in ALL_METRICS[task]:
            assert lm_eval_results[task][f"{metric},none"] == pytest.approx(
                ours[task]["metrics"][metric]
            ), (task, metric)
        (samples_file,) = tmp_path.rglob(f"samples_{task}_*.jsonl")
        theirs = [json.loads(line)["resps"][0][0] for line in samples_file.read_text().splitlines()]
        mine = [
            json.loads(line)["output"]
            for line in (causal_run / "samples" / f"{task}.jsonl").read_text().splitlines()
        ]
        assert theirs == mine
