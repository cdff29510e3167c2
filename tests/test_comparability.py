"""The one comparability rule (rjdb_bench/compare/comparability.py), as `compare`, the board's
rank groups and the page apply it.

The vacancy case of issue 19: a language model scored by log-likelihoods (its own prompt) and
the references that answer 1-5 ratings (another prompt) answer the same CVs with the same gold,
so they are comparable; another doc set, task version, data file or scoring is not. Runs are
real (`rjdb-bench run`); variants are edited through the run-directory writer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.compare import comparability
from rjdb_bench.leaderboard.board import read_board, read_items
from rjdb_bench.leaderboard.ranks import (
    BELOW,
    BEST,
    REFERENCE,
    TIED,
    RankSettings,
    rank_task_column,
)
from rjdb_bench.results.run_dir import read_run, write_run

TASK = "ood_vacancy_zeroshot"


@pytest.fixture(scope="module")
def vacancy_runs(
    tiny_causal_lm: Path, tmp_path_factory: pytest.TempPathFactory, ood_data_dir: Path
) -> dict[str, Path]:
    """The oracle and the baseline (ratings) and a tiny causal LM (P(Yes) by log-likelihood)
    on the first 10 vacancy docs (two CVs), and the oracle on the first 5 (one CV)."""
    base = tmp_path_factory.mktemp("comparability")
    specs = {
        "oracle": ["model=oracle", "limit=10"],
        "baseline": ["model=baseline", "limit=10"],
        "lm": [
            "model=hf",
            f"model.pretrained={tiny_causal_lm}",
            "model.dtype=float32",
            "model.name=tiny-lm",
            "limit=10",
        ],
        "oracle-5": ["model=oracle", "limit=5"],
    }
    out = {}
    for name, args in specs.items():
        out[name] = base / name
        assert main(["run", *args, f"tasks=[{TASK}]", f"output_dir={out[name]}"]) == 0
    return out


def _basis(run_dir: Path) -> dict:
    run = read_run(run_dir)
    return comparability.run_basis(run.results, TASK, [s["doc_id"] for s in run.samples[TASK]])


def _variant(source: Path, target: Path, edit) -> Path:
    run = read_run(source)
    edit(run.results)
    write_run(target, run.results, run.samples)
    return target


def test_the_same_items_with_and_without_a_prompt_are_comparable(vacancy_runs) -> None:
    oracle, lm = read_run(vacancy_runs["oracle"]), read_run(vacancy_runs["lm"])
    # The premise: the LM was asked another prompt (log-likelihood scoring), the oracle none.
    assert (
        oracle.results["tasks"][TASK]["prompt_template_sha256"]
        != lm.results["tasks"][TASK]["prompt_template_sha256"]
    )
    assert [s["doc_id"] for s in lm.samples[TASK]] == [s["doc_id"] for s in oracle.samples[TASK]]
    assert (
        comparability.differences(_basis(vacancy_runs["oracle"]), _basis(vacancy_runs["lm"])) == []
    )
    assert comparability.key(_basis(vacancy_runs["oracle"])) == comparability.key(
        _basis(vacancy_runs["baseline"])
    )


def test_other_doc_ids_another_version_other_data_are_not(vacancy_runs, tmp_path: Path) -> None:
    oracle = _basis(vacancy_runs["oracle"])
    assert comparability.differences(oracle, _basis(vacancy_runs["oracle-5"])) == ["doc ids"]

    def bump(results: dict) -> None:
        results["tasks"][TASK]["version"] = 2.0

    version = _variant(vacancy_runs["oracle"], tmp_path / "version", bump)
    assert comparability.differences(oracle, _basis(version)) == ["task version"]

    def other_data(results: dict) -> None:
        key = results["tasks"][TASK]["data"][0]
        results["data"][key]["sha256"] = "0" * 64

    data = _variant(vacancy_runs["oracle"], tmp_path / "data", other_data)
    assert comparability.differences(oracle, _basis(data)) == ["data"]

    def rescored(results: dict) -> None:
        info = results["tasks"][TASK]["metric_info"]["spearman"]
        info["reduce"] = {**info["reduce"], "changed": True}

    scoring = _variant(vacancy_runs["oracle"], tmp_path / "scoring", rescored)
    assert comparability.differences(oracle, _basis(scoring)) == ["scoring"]


def test_the_board_ranks_the_lm_in_the_references_group(vacancy_runs, tmp_path: Path) -> None:
    board = tmp_path / "board"
    runs = [vacancy_runs[name] for name in ("oracle", "baseline", "lm", "oracle-5")]
    assert main(["leaderboard", "add", *map(str, runs), "--board", str(board)]) == 0
    entries = read_board(board)["entries"]
    by_name = {(e["name"], e["tasks"][TASK]["n"]): e for e in entries}
    keys = {name: e["tasks"][TASK]["comparability"] for name, e in by_name.items()}
    assert keys[("tiny-lm", 10)] == keys[("oracle", 10)] == keys[("baseline", 10)]
    assert keys[("oracle", 5)] != keys[("oracle", 10)]
    # n_full: the task's full size, recorded by every run (145 docs: 29 CVs x 5 vacancies).
    assert {e["tasks"][TASK]["n_full"] for e in entries} == {145}
    cells = rank_task_column(
        entries, lambda e: read_items(board, e), TASK, "spearman", RankSettings(resamples=200)
    )
    status = {name: cells[e["id"]] for name, e in by_name.items()}
    # Group a: the 10-doc entries (three of them), group b: the 5-doc oracle, alone.
    assert status[("tiny-lm", 10)].group == status[("oracle", 10)].group == "a"
    assert status[("oracle", 5)].group == "b"
    assert status[("oracle", 10)].status == REFERENCE
    # The LM is the only ranked entry of its group: the best of group a.
    assert status[("tiny-lm", 10)].status == BEST
    assert status[("oracle", 5)].status == REFERENCE
    assert {BEST, TIED, BELOW, REFERENCE} >= {c.status for c in cells.values()}


def test_compare_takes_another_prompt_and_notes_it(vacancy_runs, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = [str(vacancy_runs["oracle"]), str(vacancy_runs["lm"]), "--json", str(report)]
    main(["compare", *args])
    data = json.loads(report.read_text())
    assert data["comparisons"][0]["notes"] == [
        f"{TASK}: prompt templates differ (compared all the same: same items, gold and scoring)"
    ]
    assert [row["n"] for row in data["comparisons"][0]["rows"]] == [10]


def test_compare_refuses_another_doc_set(vacancy_runs, capfd) -> None:
    capfd.readouterr()
    assert main(["compare", str(vacancy_runs["oracle"]), str(vacancy_runs["oracle-5"])]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"{TASK} has different docs (5 only in the baseline, 0 only in the candidate" in err[0]


def test_partial_coverage_is_n_of_n_full() -> None:
    assert comparability.coverage(20, 1000, 20) == "20 of 1000"
    assert comparability.coverage(1000, 1000, None) == "1000"
    assert comparability.is_partial(20, 1000, 20)
    assert not comparability.is_partial(145, 145, 200)  # a limit above the task's size


def test_a_partial_entry_is_marked_and_never_ranked_against_full_ones() -> None:
    """Constructed entries: two runs on all 8 docs of a task, one on its first 4 (limit=4).
    The partial one is in a group of its own, its cell says "4 of 8"; the full ones are
    ranked against each other."""

    def entry(name: str, correct: list[int], limit: int | None) -> tuple[dict, dict]:
        n = len(correct)
        value = sum(correct) / n
        entry = {
            "id": hashlib.sha256(name.encode()).hexdigest()[:16],
            "name": name,
            "reference": None,
            "limit": limit,
            "tasks": {
                "t": {
                    "headline": "accuracy",
                    "n": n,
                    "n_full": 8,
                    "comparability": comparability.key(
                        {"task": "t", "version": 1.0, "data": {}, "docs": str(n), "scoring": "s"}
                    ),
                    "metrics": {
                        "accuracy": {
                            "value": value,
                            "ci": [value, value],
                            "family": "accuracy",
                            "higher_is_better": True,
                        }
                    },
                }
            },
        }
        items = {
            "t": {
                "doc_ids": list(range(n)),
                "clusters": list(range(n)),
                "columns": {"acc": [[c, 1] for c in correct]},
                "metrics": {"accuracy": {"reduce": {"name": "ratio"}, "columns": "acc"}},
            }
        }
        return entry, items

    made = [
        entry("full-a", [1] * 8, None),
        entry("full-b", [1, 1, 1, 1, 1, 1, 1, 0], None),
        entry("partial", [1, 1, 1, 1], 4),
    ]
    entries = [e for e, _ in made]
    items = {e["id"]: i for e, i in made}
    cells = rank_task_column(
        entries, lambda e: items[e["id"]], "t", "accuracy", RankSettings(resamples=200)
    )
    by_name = {e["name"]: cells[e["id"]] for e in entries}
    assert by_name["partial"].partial and by_name["partial"].coverage == "4 of 8"
    assert not by_name["full-a"].partial and by_name["full-a"].coverage == "8"
    assert by_name["full-a"].group == by_name["full-b"].group == "a"
    assert by_name["partial"].group == "b"
    # The partial entry is the best of its own group only; full-b is tied with full-a (McNemar
    # on one discordant item: p = 0.5).
    assert by_name["partial"].status == BEST and by_name["full-a"].status == BEST
    assert by_name["full-b"].status == TIED
    assert by_name["full-b"].p_adjusted == pytest.approx(0.5)
