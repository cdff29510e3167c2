"""A Hugging Face ``model-index`` block from a run, built with ``huggingface_hub``'s card classes.

Each metric of each task becomes one ``EvalResult``: the task, the dataset (RJDB at its pinned
commit when the file is the pinned one, else the file's sha256 as the revision), the split,
the value, and the 95% interval and number of docs in the metric's display name (the
``model-index`` format has no field for intervals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCardData

from rjdb_bench.data.rjdb import RJDB_COMMIT, RJDB_PINNED, RJDB_REPO
from rjdb_bench.results.run_dir import Run, read_run

SOURCE_URL = "https://github.com/megagonlabs/rjdb"  # the benchmark the numbers are on


def _dataset(run: Run, task: str) -> dict[str, Any]:
    data = run.results.get("data") or {}
    keys = run.results["tasks"][task].get("data") or []
    if "rjdb" in keys:
        source = data.get("rjdb") or {}
        split = source.get("split") or "test"
        pinned_sha = RJDB_PINNED.get(split, (None, None))[1]
        revision = RJDB_COMMIT if source.get("sha256") == pinned_sha else source.get("sha256")
        if task.startswith("rjdb_"):
            return {
                "type": RJDB_REPO,
                "name": f"RJDB ({split})",
                "split": split,
                "revision": revision,
            }
    own = [key for key in keys if key != "rjdb"]
    first = own[0] if own else task
    source = data.get(first) or {}
    return {
        "type": first.split("/")[0],
        "name": first,
        "split": "test",
        "revision": source.get("sha256"),
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def eval_results(run: Run) -> list[EvalResult]:
    """One ``EvalResult`` per metric with a value, in task and metric order."""
    out = []
    version = (run.results.get("environment") or {}).get("rjdb_bench_version", "")
    for task, record in run.results["tasks"].items():
        dataset = _dataset(run, task)
        for metric in record["metric_info"]:
            value = record["metrics"].get(metric)
            if value is None:
                continue
            low, high = record["metrics"].get(f"{metric}_ci") or [None, None]
            out.append(
                EvalResult(
                    task_type="text-generation",
                    task_name=task,
                    dataset_type=dataset["type"],
                    dataset_name=dataset["name"],
                    # huggingface_hub groups results by task type and dataset: the task as the
                    # dataset's config keeps each task's metrics under its own name.
                    dataset_config=task,
                    dataset_split=dataset["split"],
                    dataset_revision=dataset["revision"],
                    metric_type=metric,
                    metric_value=value,
                    metric_name=f"{metric} (95% CI [{_fmt(low)}, {_fmt(high)}], n={record['n']})",
                    source_name=f"rjdb-bench {version}".strip(),
                    source_url=SOURCE_URL,
                )
            )
    return out


def model_index(run_dir: str | Path, *, model_name: str | None = None) -> str:
    """The card's YAML front matter (``---`` … ``---``) with the run's ``model-index``."""
    run = read_run(run_dir)
    name = model_name or str(run.results["model"].get("name") or "model")
    data = ModelCardData(model_name=name, eval_results=eval_results(run))
    return f"---\n{data.to_yaml()}\n---\n"
