"""``rjdb-bench run -m``: Hydra multiruns through the launcher plugins, one verified run per job.

Every sweep runs in a fresh interpreter, as a user would start it (Hydra configures logging and
the launchers start processes). The oracle keeps the launcher tests fast; the checkpoint sweep
builds two tiny Hugging Face checkpoints and runs them through ``submitit_local``, the
launcher code path of ``submitit_slurm`` without a scheduler.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rjdb_bench.cli import compose_config, main
from rjdb_bench.results.run_dir import read_run
from rjdb_bench.sweep import INDEX_FILE, read_index, sweep_exit_code

QUICK = ["model=oracle", "tasks=[rjdb_match]"]


def sweep(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``rjdb-bench run -m ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "rjdb_bench.cli", "run", "-m", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=cwd,
        timeout=300,
    )


def check_ok_jobs(sweep_dir: Path, expected: list[list[str]]) -> dict:
    """The index lists one ``ok`` job per override list, in order; each job's folder is a
    verified run directory whose recorded config is the single run's for the same overrides."""
    index = read_index(sweep_dir)
    assert index["complete"] is True and index["exit_code"] == 0
    assert index["n_jobs"] == len(expected)
    assert [job["num"] for job in index["jobs"]] == list(range(len(expected)))
    for job, overrides in zip(index["jobs"], expected, strict=True):
        assert job["status"] == "ok" and job["exit_code"] == 0 and job["error"] is None
        assert job["overrides"] == overrides
        run_dir = Path(job["run_dir"])
        assert run_dir == sweep_dir / str(job["num"])  # the job's own folder of the sweep
        run = read_run(run_dir)  # complete and verified (manifest, checksums, counts)
        assert "hydra" not in run.results["config"]
        single = compose_config([*overrides, f"output_dir={run_dir}"])
        assert run.results["config"] == OmegaConf.to_container(single, resolve=True)
    return index


def test_basic_launcher_runs_each_job_as_a_single_run(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    done = sweep(*QUICK, "limit=2", "model.extractive=false,true", f"hydra.sweep.dir={sweep_dir}")
    assert done.returncode == 0, done.stderr
    index = check_ok_jobs(
        sweep_dir,
        # (Hydra writes a job's booleans capitalised: its own override syntax)
        [
            [*QUICK, "limit=2", "model.extractive=False"],
            [*QUICK, "limit=2", "model.extractive=True"],
        ],
    )
    assert index["launcher"] == "basic"
    assert index["overrides"] == [*QUICK, "limit=2", "model.extractive=false,true"]
    names = [read_run(job["run_dir"]).results["model"]["name"] for job in index["jobs"]]
    assert names == ["oracle", "oracle-extractive"]
    # Hydra's own record of the sweep is there too; no Hydra files inside the run directories.
    assert (sweep_dir / "multirun.yaml").is_file()
    assert sorted(p.name for p in (sweep_dir / "0").iterdir()) == ["results.json", "samples"]
    # The summary names every job.
    assert f"sweep: {sweep_dir}: 2 jobs, 2 ok" in done.stdout
    assert "#1 ok      1  model.extractive=True" in done.stdout


def test_default_sweep_dir_is_under_runs_sweeps(tmp_path: Path) -> None:
    done = sweep(*QUICK, "limit=1", "seed=1,2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (sweep_dir,) = (tmp_path / "runs" / "sweeps").iterdir()
    index = check_ok_jobs(sweep_dir, [[*QUICK, "limit=1", "seed=1"], [*QUICK, "limit=1", "seed=2"]])
    assert json.loads((sweep_dir / INDEX_FILE).read_text())["jobs"][0]["run_dir"] == "0"
    assert [read_run(j["run_dir"]).results["config"]["seed"] for j in index["jobs"]] == [1, 2]


def test_joblib_launcher_runs_jobs_in_parallel_processes(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    done = sweep(
        *QUICK,
        "limit=1,2",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert done.returncode == 0, done.stderr
    index = check_ok_jobs(sweep_dir, [[*QUICK, "limit=1"], [*QUICK, "limit=2"]])
    assert index["launcher"] == "joblib"
    assert [read_run(j["run_dir"]).results["tasks"]["rjdb_match"]["n"] for j in index["jobs"]] == [
        1,
        2,
    ]


def test_a_job_with_bad_input_fails_alone_and_the_sweep_exits_2(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    # The bad job comes first: the basic launcher still runs the next one.
    done = sweep(*QUICK, "limit=0,2", f"hydra.sweep.dir={sweep_dir}")
    assert done.returncode == 2, done.stderr
    index = read_index(sweep_dir)
    assert index["complete"] is True and index["exit_code"] == 2
    bad, good = index["jobs"]
    assert (bad["num"], bad["status"], bad["exit_code"]) == (0, "failed", 2)
    assert bad["error"] == "config: limit: expected a positive integer or null, got 0"
    assert bad["overrides"] == [*QUICK, "limit=0"]
    assert not (sweep_dir / "0" / "results.json").exists()
    assert (good["num"], good["status"], good["exit_code"]) == (1, "ok", 0)
    assert read_run(good["run_dir"]).results["tasks"]["rjdb_match"]["n"] == 2
    errors = done.stderr.strip().splitlines()
    assert "rjdb-bench: error: job 0: config: limit: expected a positive integer" in errors[0]
    assert errors[-1] == (
        f"rjdb-bench: error: sweep: 1 of 2 jobs failed (job 0); see {sweep_dir}/sweep.json"
    )


def test_jobs_that_would_share_a_run_directory_are_refused(tmp_path: Path) -> None:
    sweep_dir, shared = tmp_path / "sweep", tmp_path / "shared"
    done = sweep(*QUICK, "limit=1,2", f"output_dir={shared}", f"hydra.sweep.dir={sweep_dir}")
    assert done.returncode == 2
    first, second = read_index(sweep_dir)["jobs"]
    assert first["status"] == "ok" and first["run_dir"] == str(shared)
    assert second["status"] == "failed"
    assert second["error"].startswith(f"output_dir: {shared} is also job 0's run directory")
    assert read_run(shared).results["tasks"]["rjdb_match"]["n"] == 1  # job 0's run, untouched


def test_a_missing_launcher_plugin_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rjdb_bench.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "_installed", lambda module: "submitit" not in module)
    assert main(["run", "-m", *QUICK, "hydra/launcher=submitit_local"]) == 2
    assert capsys.readouterr().err == (
        "rjdb-bench: error: hydra/launcher=submitit_local: the launcher plugin is not "
        "installed; install it with pip install 'rjdb-bench[sweep]'\n"
    )


def test_ray_without_its_plugin_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from rjdb_bench.sweep import _installed

    if _installed("hydra_plugins.hydra_ray_launcher"):
        pytest.skip("hydra-ray-launcher is installed here")
    assert main(["run", "-m", *QUICK, "hydra/launcher=ray"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rjdb-bench: error: hydra/launcher=ray: the launcher plugin is not")
    assert err.count("\n") == 1


def test_sweep_syntax_without_m_is_still_a_single_run_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", *QUICK, "limit=1,2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rjdb-bench: error: config: Ambiguous value for argument 'limit=1,2'")
    assert "--multirun" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no runs/, no Hydra output folders


def test_exit_code_of_a_sweep() -> None:
    assert sweep_exit_code([{"status": "ok"}, {"status": "ok"}]) == 0
    assert sweep_exit_code([{"status": "ok"}, {"status": "failed"}]) == 2
    assert sweep_exit_code([{"status": "failed"}, {"status": "error"}]) == 1
    assert sweep_exit_code([{"status": "ok"}, {"status": "running"}]) == 1
    assert sweep_exit_code([]) == 1


# ------------------------------------------------------------- checkpoints through submitit
@pytest.fixture(scope="module")
def checkpoints(tiny_causal_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two checkpoints of one tiny model, as a training run leaves them: step-1000 is the tiny
    Llama, step-2000 the same with every weight moved a little (seeded)."""
    import torch
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("train") / "ckpt"
    first, second = root / "step-1000", root / "step-2000"
    shutil.copytree(tiny_causal_lm, first)
    shutil.copytree(tiny_causal_lm, second)
    model = AutoModelForCausalLM.from_pretrained(first, torch_dtype=torch.float32)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.02 * torch.randn(parameter.shape, generator=generator))
    model.save_pretrained(second)
    return [first, second]


@pytest.mark.slow
def test_two_checkpoints_sweep_through_submitit_local(
    checkpoints: list[Path], tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "sweep"
    first, second = checkpoints
    common = [
        "model=hf",
        "tasks=[rjdb_match]",
        "limit=2",
        "generation.max_gen_toks=4",
    ]
    done = sweep(
        "model=hf",
        f"model.pretrained={first},{second}",
        *common[1:],
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    index = check_ok_jobs(
        sweep_dir,
        [
            ["model=hf", f"model.pretrained={first}", *common[1:]],
            ["model=hf", f"model.pretrained={second}", *common[1:]],
        ],
    )
    assert index["launcher"] == "submitit_local"
    runs = [read_run(job["run_dir"]) for job in index["jobs"]]
    assert [run.results["config"]["model"]["pretrained"] for run in runs] == [
        str(first),
        str(second),
    ]
    # Two different checkpoints were evaluated (the recorded fingerprints of their files).
    fingerprints = {json.dumps(run.results["model"], sort_keys=True) for run in runs}
    assert len(fingerprints) == 2
    # The jobs ran as submitit jobs (their own processes, logs under .submitit/).
    job_ids = [job["job_id"] for job in index["jobs"]]
    for job_id in job_ids:
        assert list((sweep_dir / ".submitit" / job_id).glob("*_log.out"))
    # The sweep feeds the gate: the first checkpoint's run is the baseline, the sweep directory
    # the candidates (the baseline itself, then the second checkpoint).
    report = tmp_path / "gate.json"
    code = main(["compare", index["jobs"][0]["run_dir"], str(sweep_dir), "--json", str(report)])
    assert code in (0, 1)  # two random models: whichever way they differ, the gate decides
    comparisons = json.loads(report.read_text())["comparisons"]
    assert [Path(c["candidate"]).name for c in comparisons] == ["0", "1"]
    assert [row["delta"] for row in comparisons[0]["rows"]] == [0.0]
    assert comparisons[0]["rows"][0]["verdict"] == "no significant change"
