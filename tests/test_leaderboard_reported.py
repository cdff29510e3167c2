"""Literature rows (`rjdb-bench leaderboard add-reported FILE`): a `reported` entry, shown with a
badge, never ranked, allowed only under the task's own protocol, exported to Every Eval Ever as
`source_type: documentation`.

The task is a user's CoNLL span task (one YAML) that declares a protocol in its metadata; the
oracle and the baseline run it, so the board has runs that record the protocol.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from rjdb_bench.cli import main
from rjdb_bench.leaderboard.board import read_board, read_items
from rjdb_bench.leaderboard.ranks import REFERENCE, REPORTED, RankSettings, rank_task_column

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "leaderboard" / "schema.json").read_text())
EEE = jsonschema.Draft7Validator(
    json.loads((REPO / "tests" / "fixtures" / "eee" / "eval.schema.json").read_text())
)
PROTOCOL = "my-spans/strict-untyped-f1"
CONLL = "Python\tB-Skill\nand\tO\nSQL\tB-Skill\n\nTeam\tB-Skill\nwork\tI-Skill\nmatters\tO\n"
TASK_YAML = f"""\
task: my_spans
class: !function rjdb_bench.tasks.spans.SpanExtractionTask
dataset_kwargs:
  files: [tiny.conll]
  tag_columns: [1]
metadata:
  version: 1.0
  protocol: {PROTOCOL}
"""
REPORTED_YAML = f"""\
name: SpanBERT (Doe et al., 2021)
source: {{paper: "Made-up spans paper", table: "Table 3", year: 2021, url: "https://example.org/p"}}
tasks:
  my_spans:
    protocol: {PROTOCOL}
    n: 2
    metrics:
      strict_f1: 0.61
      loose_f1: {{value: 0.7, ci: [0.6, 0.8]}}
"""


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A board with the oracle's and the baseline's runs of the protocol-declaring task."""
    base = tmp_path_factory.mktemp("reported")
    tasks = base / "tasks"
    tasks.mkdir()
    (tasks / "tiny.conll").write_text(CONLL)
    (tasks / "my_spans.yaml").write_text(TASK_YAML)
    board = base / "board"
    for model in ("oracle", "baseline"):
        out = base / model
        args = [f"model={model}", "tasks=[my_spans]", f"include_path={tasks}"]
        assert main(["run", *args, f"output_dir={out}"]) == 0
        assert json.loads((out / "results.json").read_text())["tasks"]["my_spans"]["protocol"] == (
            PROTOCOL
        )
        assert main(["leaderboard", "add", str(out), "--board", str(board)]) == 0
    return board


def _reported_file(tmp_path: Path, text: str = REPORTED_YAML) -> Path:
    path = tmp_path / "reported.yaml"
    path.write_text(text)
    return path


def _tree(board: Path) -> dict[str, str]:
    return {
        str(p.relative_to(board)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(board.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def _copy(board: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "board"
    shutil.copytree(board, copy)
    return copy


def test_a_reported_row_is_added_valid_and_never_ranked(
    board: Path, tmp_path: Path, capsys
) -> None:
    board = _copy(board, tmp_path)
    capsys.readouterr()
    assert (
        main(["leaderboard", "add-reported", str(_reported_file(tmp_path)), "--board", str(board)])
        == 0
    )
    out = capsys.readouterr().out
    assert "[reported: Made-up spans paper, Table 3 (2021)]  (my_spans)" in out
    data = json.loads((board / "leaderboard.json").read_text())
    jsonschema.validate(data, SCHEMA)
    reported = next(e for e in data["entries"] if e.get("kind") == "reported")
    task = reported["tasks"]["my_spans"]
    assert task["protocol"] == PROTOCOL and task["version"] == 1.0 and task["n"] == 2
    assert task["metrics"]["strict_f1"] == {
        "value": 0.61, "ci": [None, None], "family": "f1", "higher_is_better": True
    }  # fmt: skip
    assert task["metrics"]["loose_f1"]["ci"] == [0.6, 0.8]
    assert not (board / "items" / f"{reported['id']}.json.gz").exists()
    # Ranks: the literature row is shown with its value, in no group, never the best.
    entries = read_board(board)["entries"]
    cells = rank_task_column(
        entries,
        lambda e: read_items(board, e),
        "my_spans",
        "strict_f1",
        RankSettings(resamples=200),
    )
    by_name = {e["name"]: cells[e["id"]] for e in entries}
    assert by_name["SpanBERT (Doe et al., 2021)"].status == REPORTED
    assert by_name["SpanBERT (Doe et al., 2021)"].value == 0.61
    assert by_name["SpanBERT (Doe et al., 2021)"].group is None
    assert by_name["oracle"].status == REFERENCE
    # list shows it; adding the same file again replaces it.
    assert (
        main(["leaderboard", "add-reported", str(_reported_file(tmp_path)), "--board", str(board)])
        == 0
    )
    assert sum(e.get("kind") == "reported" for e in read_board(board)["entries"]) == 1
    capsys.readouterr()
    assert main(["leaderboard", "list", "--board", str(board)]) == 0
    assert f"{reported['id']}  SpanBERT (Doe et al., 2021) [reported]" in capsys.readouterr().out
    # The page: a badge, the source, the value, and no rank status on the row.
    assert main(["leaderboard", "render", "--board", str(board)]) == 0
    page = (board / "index.html").read_text()
    row = page.split(f'<tr data-entry="{reported["id"]}" class="reported">')[1].split("</tr>")[0]
    assert '<span class="badge reported">reported (2021)</span>' in row
    assert "Made-up spans paper, Table 3 (2021)" in row
    assert 'data-status="reported"' in row and "0.610" in row
    assert 'class="best"' not in row and 'class="tied"' not in row
    # Removing it leaves the runs.
    assert main(["leaderboard", "remove", reported["id"], "--board", str(board)]) == 0
    assert [e["name"] for e in read_board(board)["entries"]] == ["baseline", "oracle"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (f"protocol: {PROTOCOL}", "protocol: my-spans/per-layer-f1"),
            "tasks.my_spans.protocol: 'my-spans/per-layer-f1' is not the task's protocol "
            f"({PROTOCOL}); a reported score is allowed only for a task measured under the "
            "source's protocol",
        ),
        (("my_spans:", "rjdb_match:"), "tasks.rjdb_match: the board has no run of task rjdb_match"),
        (("strict_f1: 0.61", "strict_f1: 1.5"), "tasks.my_spans.metrics.strict_f1: 1.5"),
        (
            ("strict_f1: 0.61", "exact_match: 0.61"),
            "tasks.my_spans.metrics.exact_match: not a metric",
        ),
        (("year: 2021", "year: soon"), "source.year: 'soon' is not of type 'integer'"),
        (
            ("strict_f1: 0.61", "strict_f1: .nan"),
            "tasks.my_spans.metrics.strict_f1: not a finite number",
        ),
        (  # YAML keeps the last of two equal keys: a pasted second score must not win silently
            ("strict_f1: 0.61", "strict_f1: 0.61\n      strict_f1: 0.91"),
            "reported.yaml:9: invalid YAML: key 'strict_f1' appears twice (column 7), while "
            "constructing a mapping at line 8, column 7",
        ),
        (  # a key that is a list: the duplicate check steps aside, the YAML loader refuses it
            ("strict_f1: 0.61", "strict_f1: 0.61\n      ? [a, b]\n      : 0.91"),
            "reported.yaml:9: invalid YAML: found unhashable key",
        ),
    ],
    ids=[
        "other-protocol",
        "no-run-of-task",
        "out-of-range",
        "unknown-metric",
        "bad-year",
        "nan",
        "duplicate-key",
        "unhashable-key",
    ],
)
def test_a_bad_reported_row_is_refused_in_one_line(
    board: Path, tmp_path: Path, change: tuple[str, str], message: str, capfd
) -> None:
    board = _copy(board, tmp_path)
    before = _tree(board)
    path = _reported_file(tmp_path, REPORTED_YAML.replace(*change))
    capfd.readouterr()
    assert main(["leaderboard", "add-reported", str(path), "--board", str(board)]) == 2
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rjdb-bench: error: {path}:"), err
    assert message in lines[0]
    assert out == ""
    assert _tree(board) == before


def test_the_schema_refuses_a_reported_entry_without_its_source(
    board: Path, tmp_path: Path, capfd
) -> None:
    board = _copy(board, tmp_path)
    assert (
        main(["leaderboard", "add-reported", str(_reported_file(tmp_path)), "--board", str(board)])
        == 0
    )
    data = json.loads((board / "leaderboard.json").read_text())
    reported = next(e for e in data["entries"] if e.get("kind") == "reported")
    del reported["source"]["table"]
    (board / "leaderboard.json").write_text(json.dumps(data))
    capfd.readouterr()
    assert main(["leaderboard", "list", "--board", str(board)]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a valid leaderboard at entries." in err[0]
    assert "'table' is a required property" in err[0]


def test_eee_marks_a_reported_row_documentation(board: Path, tmp_path: Path) -> None:
    board = _copy(board, tmp_path)
    assert (
        main(["leaderboard", "add-reported", str(_reported_file(tmp_path)), "--board", str(board)])
        == 0
    )
    out = tmp_path / "eee"
    assert main(["leaderboard", "export-eee", "--board", str(board), str(out)]) == 0
    records = [json.loads(p.read_text()) for p in sorted(out.rglob("*.json"))]
    assert len(records) == 3
    reported = [
        r for r in records if r["source_metadata"]["additional_details"].get("kind") == "reported"
    ]
    assert len(reported) == 1
    record = reported[0]
    assert [f"{list(e.absolute_path)}: {e.message}" for e in EEE.iter_errors(record)] == []
    meta = record["source_metadata"]
    assert meta["source_type"] == "documentation"
    assert meta["source_name"] == "Made-up spans paper, Table 3"
    assert meta["source_organization_url"] == "https://example.org/p"
    assert meta["additional_details"]["protocol"] == json.dumps({"my_spans": PROTOCOL}) or (
        PROTOCOL in meta["additional_details"]["protocol"]
    )
    scores = {
        r["evaluation_result_id"]: r["score_details"]["score"] for r in record["evaluation_results"]
    }
    assert scores == {"my_spans.strict_f1": 0.61, "my_spans.loose_f1": 0.7}
