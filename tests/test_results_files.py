"""Results and samples files are written whole or not at all."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.results.writer import read_results, write_results, write_samples


def test_results_are_strict_json_with_nan_as_null(tmp_path: Path) -> None:
    write_results(tmp_path, {"tasks": {"t": {"metrics": {"years_accuracy": math.nan, "x": 0.5}}}})
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text
    assert read_results(tmp_path)["tasks"]["t"]["metrics"] == {"years_accuracy": None, "x": 0.5}


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_files(tmp_path: Path) -> None:
    write_results(tmp_path, {"run": 1})
    with pytest.raises(TypeError):
        write_results(tmp_path, {"run": 2, "bad": object()})
    assert read_results(tmp_path) == {"run": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_a_samples_stream_that_fails_midway_writes_nothing(tmp_path: Path) -> None:
    def records():
        yield {"doc_id": "0"}
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError):
        write_samples(tmp_path, "rjdb_match", records())
    assert list((tmp_path / "samples").iterdir()) == []


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
    path = write_samples(tmp_path, "rjdb_edit", records)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records
