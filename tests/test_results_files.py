"""Results and samples files are written whole or not at all."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.results.run_dir import read_run, write_run

RESULTS = {
    "model": {"name": "m"},
    "config": {},
    "tasks": {"t": {"headline": "x", "n": 1, "metrics": {"years_accuracy": math.nan, "x": 0.5}}},
}


def test_results_are_strict_json_with_nan_as_null(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        RESULTS,
        {"t": [{"doc_id": "0", "output": "", "prediction": None, "gold": None, "scores": {}}]},
    )
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text
    assert read_run(tmp_path).results["tasks"]["t"]["metrics"] == {"years_accuracy": None, "x": 0.5}


def test_a_failed_write_leaves_the_previous_run_and_no_temporary_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_run(out, {**RESULTS, "run": 1}, {"t": []})
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(TypeError):
        write_run(out, {**RESULTS, "run": 2, "bad": object()}, {"t": []})
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_samples_stream_that_fails_midway_writes_nothing(tmp_path: Path) -> None:
    def records():
        yield {"doc_id": "0"}
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError):
        write_run(tmp_path / "run", RESULTS, {"rjdb_match": records()})
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_fails_keeps_the_previous_results_untouched(
    tmp_path: Path, rjdb_data_dir: Path
) -> None:
    assert (
        main(["run", "model=oracle", "tasks=[rjdb_match]", "limit=2", f"output_dir={tmp_path}"])
        == 0
    )
    before = (tmp_path / "results.json").read_bytes()
    # A model that cannot be loaded fails after the tasks are built, before anything is written.
    code = main(
        [
            "run",
            "model=hf",
            f"model.pretrained={tmp_path / 'no-such-model'}",
            "tasks=[rjdb_match]",
            f"output_dir={tmp_path}",
        ]
    )
    assert code == 2
    assert (tmp_path / "results.json").read_bytes() == before
    assert json.loads(before)["tasks"]["rjdb_match"]["n"] == 2
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]


def test_samples_keep_one_record_per_line_even_with_unicode_line_separators(tmp_path: Path) -> None:
    # RJDB row 680 contains U+2028, which str.splitlines() treats as a line break.
    records = [
        {"doc_id": "680", "output": "Skills\u2028Python \u00e9"},
        {"doc_id": "681", "output": "x\u2029y"},
    ]
    write_run(tmp_path, RESULTS, {"rjdb_edit": records})
    lines = (tmp_path / "samples" / "rjdb_edit.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records
