"""``rjdb-bench score <run_dir>``: recompute every metric from a run's saved outputs.

No model is loaded. The run's recorded settings are planned again (:func:`plan_run`), the docs
are rebuilt from the same data (its sha256 must match the one the run recorded) and the same
seed, each saved raw output is parsed again with the current parsers, and ``results.json`` and
``samples/`` are rewritten, e.g. after a parser or metric fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

import rjdb_bench
from rjdb_bench.errors import InputError
from rjdb_bench.plan import RunPlan, plan_run
from rjdb_bench.results.provenance import utc_now
from rjdb_bench.results.run_dir import Run, read_run, write_run
from rjdb_bench.results.writer import RESULTS_FILE, SAMPLES_DIR
from rjdb_bench.stages import (
    LoadedTasks,
    full_size,
    load_tasks,
    score_fields,
    score_tasks,
    suite_records,
)
from rjdb_bench.tasks.registry import task_spec


def _plan(run_dir: Path, results: dict[str, Any]) -> RunPlan:
    """The plan of the saved run, from the settings it recorded."""
    try:
        return plan_run(OmegaConf.create(results["config"]))
    except OmegaConfBaseException as error:
        raise InputError.at(
            run_dir / RESULTS_FILE, f"unreadable config ({error})", field="config"
        ) from None
    except InputError as error:
        raise InputError(f"{run_dir / RESULTS_FILE}: {error}") from None


def _check_data(loaded: LoadedTasks, results: dict[str, Any]) -> None:
    """The data the docs are rebuilt from must be the data the run read."""
    for key, recorded in (results.get("data") or {}).items():
        now = loaded.data_files.get(key)
        if now is not None and now["sha256"] != recorded.get("sha256"):
            raise InputError.at(
                now["path"],
                f"sha256 {now['sha256']} differs from the run's data ({recorded.get('sha256')})",
            )


def saved_outputs(run: Run, loaded: LoadedTasks) -> dict[str, list[dict[str, Any]]]:
    """Each task's saved outputs parsed again into items, in the shape lm-eval's samples have
    in a run (the parsed item under the headline metric); every output matched to a doc first."""
    outputs = {}
    for name, saved in run.samples.items():
        spec = task_spec(name)
        docs = {doc["doc_key"]: doc for doc in loaded.tasks[name].eval_docs}
        path = run.path / SAMPLES_DIR / f"{name}.jsonl"
        for line, sample in enumerate(saved, start=1):
            if sample["doc_id"] not in docs:
                raise InputError.at(
                    path,
                    f"doc_id {sample['doc_id']!r} is not a doc of {name} in this data",
                    line=line,
                )
            if not isinstance(sample["output"], str):
                raise InputError.at(path, "expected a string", line=line, field="output")
        outputs[name] = [
            {
                "doc_id": s.get("index", k),
                "prompt_hash": s.get("prompt_hash", ""),
                spec.headline: spec.make_item(docs[s["doc_id"]], s["output"]),
            }
            for k, s in enumerate(saved)
        ]
    return outputs


def rescore(run_dir: str | Path) -> dict[str, Any]:
    """Re-parse and re-score every task of the run in ``run_dir``; replace its run set.

    Every file is read and verified (:func:`rjdb_bench.results.run_dir.read_run`) and every
    saved output matched to a doc before anything is computed; the new set replaces the old
    one as a whole, so a failure at any point leaves the run directory as it was.
    """
    run_dir = Path(run_dir)
    run = read_run(run_dir, allow_legacy=True)
    results = {k: v for k, v in run.results.items() if k not in ("run_format", "files")}
    plan = _plan(run_dir, results)
    loaded = load_tasks(plan, names=list(results["tasks"]))
    _check_data(loaded, results)
    scores, samples = score_tasks(saved_outputs(run, loaded), plan.scoring)
    for name, task_scores in scores.items():
        record = results["tasks"][name]
        record.update(score_fields(task_spec(name), task_scores))
        record["version"] = loaded.tasks[name].config.metadata.get("version")
        record["n_full"] = full_size(loaded.tasks[name])
        record["protocol"] = loaded.tasks[name].config.metadata.get("protocol")
    results["scoring"] = plan.scoring.describe()
    results["suites"] = suite_records(loaded, results["tasks"])
    results["rescored"] = {
        "created": utc_now(),
        "rjdb_bench_version": rjdb_bench.__version__,
    }
    return write_run(run_dir, results, samples)
