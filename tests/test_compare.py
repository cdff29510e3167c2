"""`rjdb-bench compare`: the regression gate on runs with known answers, built by the tests.

The baseline is the oracle on two tasks; candidates are the same run with outputs replaced
(through the run-directory writer, then re-scored by `rjdb-bench score`), so every difference
is planted and its size known. p-values are checked against scipy's binomial test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from scipy.stats import binomtest

from rjdb_bench.cli import main
from rjdb_bench.results.run_dir import read_run, write_run

LIMIT = 200


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("gate") / "oracle"
    args = ["run", "model=oracle", "tasks=[rjdb_match,rjdb_skills]", f"limit={LIMIT}"]
    assert main([*args, f"output_dir={out}"]) == 0
    return out


def variant(
    source: Path, target: Path, edit: Callable[[str, int, dict], None], results_edit=None
) -> Path:
    """A copy of ``source`` whose outputs ``edit(task, index, sample)`` changed, re-scored."""
    run = read_run(source)
    for task, samples in run.samples.items():
        for index, sample in enumerate(samples):
            edit(task, index, sample)
    if results_edit:
        results_edit(run.results)
    write_run(target, run.results, run.samples)
    assert main(["score", str(target)]) == 0
    return target


def flip_every(n: int) -> Callable[[str, int, dict], None]:
    """Wrong Yes/No on every n-th rjdb_match doc, no skills on every n-th rjdb_skills doc."""

    def edit(task: str, index: int, sample: dict) -> None:
        if index % n:
            return
        if task == "rjdb_match":
            sample["output"] = "No" if sample["output"] == "Yes" else "Yes"
        else:
            sample["output"] = "[]"

    return edit


def gate(baseline: Path, *candidates: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    report = candidates[0].parent / f"report-{candidates[0].name}.json"
    code = main(["compare", str(baseline), *map(str, candidates), "--json", str(report), *extra])
    return code, (json.loads(report.read_text()) if report.exists() else {})


def rows(report: dict, index: int = 0) -> dict[str, dict]:
    return {f"{r['task']}:{r['metric']}": r for r in report["comparisons"][index]["rows"]}


def test_identical_runs_pass(oracle: Path, tmp_path: Path) -> None:
    same = tmp_path / "same"
    shutil.copytree(oracle, same)
    code, report = gate(oracle, same)
    assert code == 0 and report["passed"] is True
    for row in rows(report).values():
        assert row["delta"] == 0.0 and row["p_value"] == 1.0
        assert row["verdict"] == "no significant change"


def test_a_planted_drop_on_many_items_fails_with_examples(
    oracle: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    worse = variant(oracle, tmp_path / "worse", flip_every(4))
    markdown = tmp_path / "gate.md"
    capfd.readouterr()
    code, report = gate(oracle, worse, extra=("--markdown", str(markdown)))
    assert code == 1
    out, err = capfd.readouterr()
    assert err.strip() == "rjdb-bench: regression: rjdb_match:accuracy, rjdb_skills:micro_f1"
    table = rows(report)
    match, skills = table["rjdb_match:accuracy"], table["rjdb_skills:micro_f1"]
    # 200 docs, every 4th flipped: 50 discordant pairs, all against the candidate.
    assert match["delta"] == pytest.approx(-50 / 200)
    assert match["test"].startswith("McNemar")
    assert match["p_value"] == pytest.approx(binomtest(50, 50, 0.5, alternative="greater").pvalue)
    assert skills["test"].startswith("paired cluster bootstrap")
    assert skills["p_value"] == pytest.approx(1 / 2001)  # no resample shows no drop
    assert match["verdict"] == skills["verdict"] == "regression"
    assert [e["doc_id"] for e in match["examples"]] == ["0:matched", "2:matched", "4:matched"]
    assert match["examples"][0]["candidate"] == "No" and match["examples"][0]["gold"] == "Yes"
    assert markdown.read_text() == out
    assert "| ` rjdb_match ` | ` accuracy ` | 200 | 1.0000 [1.0000, 1.0000] | 0.7500" in out


def test_a_tiny_drop_within_noise_passes(oracle: Path, tmp_path: Path) -> None:
    def one_wrong(task: str, index: int, sample: dict) -> None:
        if task == "rjdb_match" and index == 0:
            sample["output"] = "No"

    code, report = gate(oracle, variant(oracle, tmp_path / "tiny", one_wrong))
    assert code == 0
    match = rows(report)["rjdb_match:accuracy"]
    assert match["p_value"] == pytest.approx(0.5)  # binomtest(1, 1, 0.5, "greater")
    assert match["verdict"] == "no significant change"
    # 5 discordant items are the least an exact test at alpha 0.05 needs: 5 of 200 docs.
    assert match["minimum_detectable_drop"] >= 5 / 200


def test_an_improvement_passes_and_says_so(oracle: Path, tmp_path: Path) -> None:
    worse = variant(oracle, tmp_path / "worse", flip_every(4))
    better = tmp_path / "better"
    shutil.copytree(oracle, better)
    code, report = gate(worse, better)
    assert code == 0
    assert {r["verdict"] for r in rows(report).values()} == {"improvement"}


def test_the_minimum_effect_decides_whether_a_significant_drop_fails(
    oracle: Path, tmp_path: Path
) -> None:
    worse = variant(oracle, tmp_path / "worse", flip_every(4))
    code, report = gate(oracle, worse, extra=("--min-effect-for", "rjdb_match:accuracy=0.3"))
    assert code == 1
    verdicts = {k: r["verdict"] for k, r in rows(report).items()}
    assert verdicts == {
        "rjdb_match:accuracy": "no significant change",  # a 0.25 drop, below the 0.3 asked for
        "rjdb_skills:micro_f1": "regression",
    }


def test_different_rendered_prompts_are_noted_not_refused(oracle: Path, tmp_path: Path) -> None:
    # Same template, other rendered prompts (e.g. another model's chat template).
    candidate = tmp_path / "chat"
    run = read_run(oracle)
    run.results["tasks"]["rjdb_match"]["prompts_sha256"] = "0" * 64
    write_run(candidate, run.results, run.samples)
    code, report = gate(oracle, candidate)
    assert code == 0
    assert report["comparisons"][0]["notes"] == [
        "rjdb_match: rendered prompts differ (same template; e.g. another chat template)"
    ]


def mismatch_cases() -> list[tuple[str, Callable[[Path, Path], list[str]], str]]:
    def version(oracle: Path, tmp: Path) -> list[str]:
        def bump(results: dict) -> None:
            results["tasks"]["rjdb_match"]["version"] = 9.0

        candidate = tmp / "version"
        run = read_run(oracle)
        bump(run.results)
        write_run(candidate, run.results, run.samples)
        return [str(oracle), str(candidate)]

    def data(oracle: Path, tmp: Path) -> list[str]:
        candidate = tmp / "data"
        run = read_run(oracle)
        run.results["data"]["rjdb"]["sha256"] = "0" * 64
        write_run(candidate, run.results, run.samples)
        return [str(oracle), str(candidate)]

    def fewer_docs(oracle: Path, tmp: Path) -> list[str]:
        candidate = tmp / "fewer"
        args = ["run", "model=oracle", "tasks=[rjdb_match,rjdb_skills]", "limit=100"]
        assert main([*args, f"output_dir={candidate}"]) == 0
        return [str(oracle), str(candidate)]

    def missing_task(oracle: Path, tmp: Path) -> list[str]:
        candidate = tmp / "one-task"
        assert (
            main(
                [
                    "run",
                    "model=oracle",
                    "tasks=[rjdb_match]",
                    f"limit={LIMIT}",
                    f"output_dir={candidate}",
                ]
            )
            == 0
        )
        return [str(oracle), str(candidate)]

    def missing_metric(oracle: Path, tmp: Path) -> list[str]:
        return [str(oracle), str(oracle), "--metric", "rjdb_match:nope"]

    def not_a_run(oracle: Path, tmp: Path) -> list[str]:
        return [str(oracle), str(tmp)]

    def damaged(oracle: Path, tmp: Path) -> list[str]:
        candidate = tmp / "damaged"
        shutil.copytree(oracle, candidate)
        path = candidate / "samples" / "rjdb_match.jsonl"
        path.write_text(path.read_text().replace('"Yes"', '"No"', 1))
        return [str(oracle), str(candidate)]

    return [
        ("version", version, "rjdb_match is version 9.0 there, 1.0 in the baseline"),
        ("data", data, "rjdb_match read different data (rjdb: sha256 000"),
        (
            "fewer_docs",
            fewer_docs,
            "rjdb_match has different docs (100 only in the baseline, 0 only in the candidate",
        ),
        ("missing_task", missing_task, "it has no task rjdb_skills"),
        ("missing_metric", missing_metric, "the baseline has no metric rjdb_match:nope"),
        ("not_a_run", not_a_run, "results.json: results file (not a run directory?) missing"),
        ("damaged", damaged, "samples/rjdb_match.jsonl: does not match results.json"),
    ]


@pytest.mark.parametrize(
    ("name", "make", "message"), mismatch_cases(), ids=[c[0] for c in mismatch_cases()]
)
def test_runs_that_cannot_be_compared_exit_2_with_one_line(
    name: str, make, message: str, oracle: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = make(oracle, tmp_path)
    capfd.readouterr()
    assert main(["compare", *args]) == 2
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rjdb-bench: error: "), err
    assert message in lines[0]
    assert out == ""  # nothing is reported for a comparison that was refused


def test_a_sweep_directory_stands_for_its_runs(oracle: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    done = subprocess.run(
        [
            sys.executable, "-m", "rjdb_bench.cli", "run", "-m", "model=oracle",
            "tasks=[rjdb_match,rjdb_skills]", f"limit={LIMIT}", "seed=1234,1234",
            f"hydra.sweep.dir={sweep}",
        ],
        capture_output=True, text=True, env=dict(os.environ), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    code, report = gate(oracle, sweep)
    assert code == 0
    assert [Path(c["candidate"]).name for c in report["comparisons"]] == ["0", "1"]


@pytest.mark.slow
def test_oracle_against_the_baseline_model_fails_on_both_tasks(
    oracle: Path, tmp_path: Path
) -> None:
    baseline_model = tmp_path / "baseline-model"
    args = ["run", "model=baseline", "tasks=[rjdb_match,rjdb_skills]", f"limit={LIMIT}"]
    assert main([*args, f"output_dir={baseline_model}"]) == 0
    code, report = gate(oracle, baseline_model)
    assert code == 1
    assert {k: r["verdict"] for k, r in rows(report).items()} == {
        "rjdb_match:accuracy": "regression",
        "rjdb_skills:micro_f1": "regression",
    }
    assert gate(oracle, oracle)[0] == 0
