"""Interrupted runs (SIGINT, SIGKILL) resume from the response cache with identical results."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from child_signals import sigint_at_default

from rjdb_bench.cli import main

pytestmark = pytest.mark.slow

TASKS = ("rjdb_match", "rjdb_skills")
N_REQUESTS = 2 * 10  # two tasks, limit=10


def _args(model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        "model=hf",
        f"model.pretrained={model}",
        "model.dtype=float32",
        "model.batch_size=1",  # one request per forward pass, so answers arrive one by one
        f"tasks=[{','.join(TASKS)}]",
        "limit=10",
        "generation.max_gen_toks=64",
        f"output_dir={out}",
        *extra,
    ]


def _count(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def _cached_answers(out: Path) -> int:
    path = out / "responses.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return _count(db)
    except sqlite3.OperationalError:  # table not created yet
        return 0


def _signalled_after_four_answers(out: Path, process: subprocess.Popen, how: int) -> bool:
    """Send ``how`` once the cache holds 4 answers, counted while holding the cache's write lock.

    The child's next answer waits for the lock, so it cannot finish the run between the count
    and the signal however slow this process is scheduled on a loaded machine.
    """
    path = out / "responses.sqlite"
    if not path.exists():
        return False
    db = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        ready = _count(db) >= 4
        if ready:
            process.send_signal(how)
        return ready
    except sqlite3.OperationalError:  # table not created yet, or the child holds the lock
        return False
    finally:
        db.close()  # ends the read-only transaction, releasing the lock


def _outputs(out: Path, task: str) -> list[str]:
    return [
        json.loads(line)["output"]
        for line in (out / "samples" / f"{task}.jsonl").read_text().split("\n")
        if line
    ]


@pytest.fixture(scope="module")
def reference(tiny_causal_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main(_args(tiny_causal_lm, out, "cache.enabled=false")) == 0
    return out


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_run_resumes_without_asking_again(
    how: signal.Signals, reference: Path, tiny_causal_lm: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    command = [sys.executable, "-m", "rjdb_bench.cli", *_args(tiny_causal_lm, out)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        preexec_fn=sigint_at_default,
    )
    deadline = time.monotonic() + 300
    while not _signalled_after_four_answers(out, process, how):
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no answers were cached"
        time.sleep(0.01)
    _, stderr = process.communicate(timeout=120)
    answered = _cached_answers(out)
    assert process.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL), (
        f"exit {process.returncode} with {answered} answers cached; stderr ends: {stderr[-1500:]}"
    )
    if how == signal.SIGINT:
        assert "rjdb-bench: interrupted" in stderr
    assert not (out / "results.json").exists()
    assert not list(out.glob(".*.tmp"))
    assert 4 <= answered < N_REQUESTS

    assert main(_args(tiny_causal_lm, out)) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["cache_hits"] == answered
    assert results["model_calls"] == N_REQUESTS - answered
    expected = json.loads((reference / "results.json").read_text())
    for task in TASKS:
        assert _outputs(out, task) == _outputs(reference, task)
        assert results["tasks"][task]["metrics"] == expected["tasks"][task]["metrics"]


def test_a_finished_run_repeated_makes_no_model_call(
    reference: Path, tiny_causal_lm: Path, tmp_path: Path
) -> None:
    assert main(_args(tiny_causal_lm, tmp_path)) == 0
    assert main(_args(tiny_causal_lm, tmp_path)) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert (results["model_calls"], results["cache_hits"]) == (0, N_REQUESTS)
    assert _outputs(tmp_path, "rjdb_skills") == _outputs(reference, "rjdb_skills")


def test_two_models_never_share_cached_answers(tiny_causal_lm: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared.sqlite"
    assert main(_args(tiny_causal_lm, tmp_path / "a", f"cache.path={shared}")) == 0
    # Same weights under another dtype are another model for the cache.
    assert (
        main(_args(tiny_causal_lm, tmp_path / "b", f"cache.path={shared}", "model.dtype=bfloat16"))
        == 0
    )
    second = json.loads((tmp_path / "b" / "results.json").read_text())
    assert (second["model_calls"], second["cache_hits"]) == (N_REQUESTS, 0)
