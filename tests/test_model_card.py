"""`rjdb-bench leaderboard model-card`: a model-index block that huggingface_hub reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from rjdb_bench.cli import main


def test_the_model_index_round_trips_through_huggingface_hub(
    tmp_path: Path, rjdb_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    args = ["run", "model=oracle", "model.extractive=true", "tasks=[rjdb_match,rjdb_skills]"]
    assert main([*args, "limit=20", f"output_dir={run}"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "model-card", str(run), "--model-name", "my-model"]) == 0
    card = ModelCard(capsys.readouterr().out + "\n# my-model\n")
    results = json.loads((run / "results.json").read_text())
    expected = {
        (task, metric): (value, record["metrics"][f"{metric}_ci"], record["n"])
        for task, record in results["tasks"].items()
        for metric, value in record["metrics"].items()
        if not metric.endswith("_ci") and value is not None
    }
    parsed = card.data.eval_results
    assert card.data.model_name == "my-model"
    assert {(r.task_name, r.metric_type) for r in parsed} == set(expected)
    for result in parsed:
        value, (low, high), n = expected[(result.task_name, result.metric_type)]
        assert result.metric_value == value
        assert result.metric_name == f"{result.metric_type} (95% CI [{low:.4f}, {high:.4f}], n={n})"
        # The pinned RJDB test split: the upstream repository at its pinned commit.
        assert (result.dataset_type, result.dataset_split) == ("megagonlabs/rjdb", "test")
        assert result.dataset_config == result.task_name
        assert result.dataset_revision == "5a8e7069f7dfc1f26ded969340ab4a1648fb0c7f"
    # The extractive oracle misses paraphrased skills: a value below 1 made it through.
    assert any(r.metric_value < 1.0 for r in parsed if r.task_name == "rjdb_skills")


def test_a_model_card_of_a_damaged_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["leaderboard", "model-card", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
