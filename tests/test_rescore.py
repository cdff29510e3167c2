"""`rjdb-bench score`: re-parse and re-score a saved run without a model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.results.run_dir import read_run, write_run


def rewrite_run(run_dir: Path, edit_results=None, edit_samples=None) -> None:
    """Rewrite a run through the run-directory writer (a consistent set, new checksums), as
    another tool that produced these outputs would: ``edit_*`` change the parsed files."""
    run = read_run(run_dir)
    results, samples = run.results, run.samples
    if edit_results:
        edit_results(results)
    if edit_samples:
        edit_samples(samples)
    write_run(run_dir, results, samples)


@pytest.fixture()
def oracle_run(tmp_path: Path, rjdb_data_dir: Path) -> Path:
    assert (
        main(
            [
                "run",
                "model=oracle",
                "tasks=[rjdb_match,rjdb_skills]",
                "limit=4",
                f"output_dir={tmp_path}",
            ]
        )
        == 0
    )
    return tmp_path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rescoring_an_unchanged_run_reproduces_its_metrics(oracle_run: Path) -> None:
    before = json.loads((oracle_run / "results.json").read_text())
    assert main(["score", str(oracle_run)]) == 0
    after = json.loads((oracle_run / "results.json").read_text())
    for task in ("rjdb_match", "rjdb_skills"):
        assert after["tasks"][task]["metrics"] == before["tasks"][task]["metrics"]
    assert after["rescored"]["rjdb_bench_version"]
    assert (
        _lines(oracle_run / "samples" / "rjdb_match.jsonl")[0]["prompt_hash"]
        == _lines(oracle_run / "samples" / "rjdb_match.jsonl")[0]["prompt_hash"]
    )


def test_rescoring_reparses_edited_outputs(oracle_run: Path) -> None:
    path = oracle_run / "samples" / "rjdb_match.jsonl"

    def edit(samples: dict) -> None:
        samples["rjdb_match"][1]["output"] = "I am not sure."  # gold "No": now unparsed, so wrong
        samples["rjdb_match"][2]["output"] = "No."  # gold "Yes": now a wrong answer

    rewrite_run(oracle_run, edit_samples=edit)
    assert main(["score", str(oracle_run)]) == 0
    metrics = json.loads((oracle_run / "results.json").read_text())["tasks"]["rjdb_match"][
        "metrics"
    ]
    # 4 docs: Yes/No/Yes/No gold; predictions Yes, None, No, No -> 2 correct.
    assert metrics["accuracy"] == 0.5
    assert metrics["parse_failure_rate"] == 0.25
    # Yes class: tp=1 (doc 0), predicted Yes=1, true Yes=2 -> P=1, R=0.5
    assert (metrics["yes_precision"], metrics["yes_recall"]) == (1.0, 0.5)
    rescored = _lines(path)
    assert (rescored[1]["parsed_ok"], rescored[1]["prediction"]) == (False, None)
    assert rescored[2]["scores"]["correct"] == 0.0


def test_rescoring_loads_no_model(oracle_run: Path) -> None:
    code = (
        "import sys; from rjdb_bench.rescore import rescore; rescore(sys.argv[1]); "
        "backends = ('hf', 'oracle', 'baseline', 'builders', 'embedded'); "
        "print(sorted(m for m in sys.modules if m.rsplit('.', 1)[-1] in backends or m in ('torch', 'transformers')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(oracle_run)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_rescoring_refuses_different_data(oracle_run: Path) -> None:
    rewrite_run(oracle_run, edit_results=lambda r: r["data"]["rjdb"].update(sha256="0" * 64))
    done = subprocess.run(
        [sys.executable, "-m", "rjdb_bench.cli", "score", str(oracle_run)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "differs from the run's data" in done.stderr.splitlines()[-1]


def test_rescoring_names_a_samples_line_for_an_unknown_doc(oracle_run: Path) -> None:
    path = oracle_run / "samples" / "rjdb_skills.jsonl"
    rewrite_run(
        oracle_run, edit_samples=lambda s: s["rjdb_skills"][3].update(doc_id="99999:matched")
    )
    done = subprocess.run(
        [sys.executable, "-m", "rjdb_bench.cli", "score", str(oracle_run)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        f"{path}:4: doc_id '99999:matched' is not a doc of rjdb_skills in this data"
    )


FIXTURES = Path(__file__).parent / "fixtures"


def test_rescoring_reproduces_every_metric_of_a_stored_run_from_an_earlier_version(
    tmp_path: Path,
) -> None:
    # tests/fixtures/stored_run was written by rjdb-bench 0.2.0 (tests/fixtures/make_stored_run.py)
    # on made-up data, with wrong and unparsable outputs; today's code must re-score it to the
    # same numbers. Only its absolute paths are moved to this checkout.
    run = tmp_path / "stored_run"
    shutil.copytree(FIXTURES / "stored_run", run)
    stored = read_run(run).results

    def here(results: dict) -> None:
        results["config"]["data"]["path"] = str(FIXTURES / "synthetic_rjdb.jsonl")
        results["config"]["include_path"] = str(FIXTURES / "synthetic_spans")

    rewrite_run(run, edit_results=here)
    assert main(["score", str(run)]) == 0
    rescored = read_run(run).results
    assert set(rescored["tasks"]) == set(stored["tasks"])
    for task, record in stored["tasks"].items():
        now = rescored["tasks"][task]
        assert now["n"] == record["n"], task
        for metric, value in record["metrics"].items():
            # BERTScore is float32 arithmetic rounded to 6 decimals: it can move by 1e-6.
            tolerance = 1e-5 if metric.startswith("bertscore") else 1e-9
            assert now["metrics"][metric] == pytest.approx(value, abs=tolerance), (task, metric)
    assert rescored["suites"]["rjdb"]["score"] == pytest.approx(stored["suites"]["rjdb"]["score"])
