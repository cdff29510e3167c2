"""`rjdb-bench leaderboard add / remove / list`: the board file, its schema, its lock."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from rjdb_bench.cli import main
from rjdb_bench.leaderboard.board import items_path, read_items

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "leaderboard" / "schema.json").read_text())
RUN = ["tasks=[rjdb_match,rjdb_skills]", "limit=20"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path) -> dict[str, Path]:
    """Four entries' runs: the oracle, the extractive oracle (another model), and the oracle
    at two other limits (other item sets)."""
    base = tmp_path_factory.mktemp("board-runs")
    out = {}
    for name, args in {
        "oracle": ["model=oracle"],
        "extractive": ["model=oracle", "model.extractive=true"],
    }.items():
        out[name] = base / name
        assert main(["run", *args, *RUN, f"output_dir={out[name]}"]) == 0
    for limit in (10, 30):
        out[f"oracle-{limit}"] = base / f"oracle-{limit}"
        args = ["run", "model=oracle", "tasks=[rjdb_match,rjdb_skills]", f"limit={limit}"]
        assert main([*args, f"output_dir={out[f'oracle-{limit}']}"]) == 0
    return out


def add(board: Path, *run_dirs: Path) -> int:
    """``rjdb-bench leaderboard add RUN... --board BOARD``."""
    return main(["leaderboard", "add", *map(str, run_dirs), "--board", str(board)])


def board_json(board: Path) -> dict:
    data = json.loads((board / "leaderboard.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data


def test_adding_runs_makes_valid_entries_with_their_per_item_data(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    board = tmp_path / "board"
    assert add(board, runs["oracle"], runs["extractive"]) == 0
    entries = {e["name"]: e for e in board_json(board)["entries"]}
    assert set(entries) == {"oracle", "oracle-extractive"}
    oracle = entries["oracle"]
    assert oracle["reference"] == "oracle" and oracle["limit"] == 20
    match = oracle["tasks"]["rjdb_match"]
    assert match["metrics"]["accuracy"] == {
        "value": 1.0, "ci": [1.0, 1.0], "family": "accuracy", "higher_is_better": True
    }  # fmt: skip
    assert match["metrics"]["parse_failure_rate"]["higher_is_better"] is False
    # Same task, same data, same docs: the two entries are comparable on both tasks.
    for task in ("rjdb_match", "rjdb_skills"):
        assert (
            oracle["tasks"][task]["comparability"]
            == entries["oracle-extractive"]["tasks"][task]["comparability"]
        )
    # The per-item data is beside the board, its sha256 recorded, enough for a paired test.
    path = items_path(board, oracle["id"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == oracle["items"]["sha256"]
    items = json.loads(gzip.decompress(path.read_bytes()))
    samples = [
        json.loads(line)
        for line in (runs["oracle"] / "samples" / "rjdb_skills.jsonl").read_text().splitlines()
    ]
    assert items["rjdb_skills"]["doc_ids"] == [s["doc_id"] for s in samples]
    assert items["rjdb_skills"]["columns"]["micro_f1"] == [
        s["columns"]["micro_f1"] for s in samples
    ]
    assert read_items(board, oracle) == items


def test_re_adding_a_run_keeps_one_entry(runs: dict[str, Path], tmp_path: Path) -> None:
    board = tmp_path / "board"
    for _ in range(2):
        assert add(board, runs["oracle"]) == 0
    copy = tmp_path / "copy"
    shutil.copytree(runs["oracle"], copy)  # the same run from another folder: the same entry
    assert add(board, copy) == 0
    assert len(board_json(board)["entries"]) == 1
    assert len(list((board / "items").iterdir())) == 1


def test_other_item_sets_are_other_entries_and_not_comparable(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    board = tmp_path / "board"
    assert add(board, runs["oracle-10"], runs["oracle"]) == 0
    a, b = board_json(board)["entries"]
    assert a["id"] != b["id"]
    assert a["tasks"]["rjdb_match"]["comparability"] != b["tasks"]["rjdb_match"]["comparability"]


def test_concurrent_adds_from_four_processes_lose_nothing(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    board = tmp_path / "board"
    names = ["oracle", "extractive", "oracle-10", "oracle-30"]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rjdb_bench.cli",
                "leaderboard",
                "add",
                str(runs[name]),
                "--board",
                str(board),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )  # fmt: skip
        for name in names
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    data = board_json(board)
    assert len(data["entries"]) == 4
    assert len({e["id"] for e in data["entries"]}) == 4
    for entry in data["entries"]:
        read_items(board, entry)


def test_remove_and_list(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = tmp_path / "board"
    assert add(board, runs["oracle"], runs["extractive"]) == 0
    entries = board_json(board)["entries"]
    capsys.readouterr()
    assert main(["leaderboard", "list", "--board", str(board)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [e["id"] for e in entries]
    assert "[oracle]" in listed[0]
    removed = entries[0]
    assert main(["leaderboard", "remove", removed["id"], "--board", str(board)]) == 0
    assert [e["id"] for e in board_json(board)["entries"]] == [entries[1]["id"]]
    assert not items_path(board, removed["id"]).exists()
    assert main(["leaderboard", "remove", "0123456789abcdef", "--board", str(board)]) == 2
    assert "no entry '0123456789abcdef'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda run: (run / "results.json").write_text('{"trunc'), "results.json:1: invalid JSON"),
        (lambda run: (run / "samples" / "rjdb_match.jsonl").unlink(), "samples file missing"),
        (lambda run: shutil.rmtree(run), "not a run directory"),
    ],
    ids=["truncated", "missing_samples", "missing_run"],
)
def test_a_bad_run_is_refused_and_the_board_untouched(
    damage, fragment: str, runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = tmp_path / "board"
    assert add(board, runs["oracle"]) == 0
    before = (board / "leaderboard.json").read_bytes()
    bad = tmp_path / "bad"
    shutil.copytree(runs["extractive"], bad)
    damage(bad)
    capsys.readouterr()
    assert add(board, runs["oracle-10"], bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]
    assert (board / "leaderboard.json").read_bytes() == before  # not even the good run was added


def test_a_damaged_board_is_refused(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    board = tmp_path / "board"
    board.mkdir()
    (board / "leaderboard.json").write_text('{"schema_version": 1, "entries": "x"}')
    assert add(board, runs["oracle"]) == 2
    assert "not a valid leaderboard" in capsys.readouterr().err


@pytest.mark.parametrize("action", ["add", "remove"])
def test_a_board_folder_that_is_a_file_is_one_line(
    action: str, runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    board = tmp_path / "file" / "board"
    args = [str(runs["oracle"])] if action == "add" else ["0123456789abcdef"]
    assert main(["leaderboard", action, *args, "--board", str(board)]) == 2
    expected = {  # remove refuses a missing board before it would create anything
        "add": f"{board}: cannot write the board (Not a directory)",
        "remove": f"{board / 'leaderboard.json'}: no board here (add runs first)",
    }
    assert capsys.readouterr().err == f"rjdb-bench: error: {expected[action]}\n"


def test_a_truncated_board_is_refused_and_left_as_it_was(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = tmp_path / "board"
    assert add(board, runs["oracle"]) == 0
    path = board / "leaderboard.json"
    path.write_bytes(path.read_bytes()[:100])
    damaged = path.read_bytes()
    capsys.readouterr()
    assert add(board, runs["extractive"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}:" in err[0] and "invalid JSON" in err[0]
    assert path.read_bytes() == damaged


def test_a_board_with_an_entry_twice_is_refused_and_left_as_it_was(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hand-merged board holding one entry twice (valid against the schema) is refused by
    every reader and writer; nothing is written."""
    board = tmp_path / "board"
    assert add(board, runs["oracle"]) == 0
    path = board / "leaderboard.json"
    data = json.loads(path.read_text())
    data["entries"].append(data["entries"][0])
    path.write_text(json.dumps(data))
    damaged = path.read_bytes()
    capsys.readouterr()
    for args in (
        ["leaderboard", "add", str(runs["extractive"]), "--board", str(board)],
        ["leaderboard", "list", "--board", str(board)],
        ["leaderboard", "render", "--board", str(board)],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        entry = data["entries"][0]["id"]
        assert len(err) == 1 and f"{path}: entry id {entry} appears more than once" in err[0]
    assert path.read_bytes() == damaged and not (board / "index.html").exists()
