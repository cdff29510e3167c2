"""``rjdb-bench score <run_dir>``: recompute every metric from a run's saved outputs.

No model is loaded. The docs are rebuilt from the same data (its sha256 must match the one
the run recorded) and the same seed, each saved raw output is parsed again with the current
parsers, and ``results.json`` and ``samples/`` are rewritten, e.g. after a parser or metric fix.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

import rjdb_bench
from rjdb_bench.errors import InputError
from rjdb_bench.results.records import sample_record, suite_scores
from rjdb_bench.results.writer import (
    RESULTS_FILE,
    SAMPLES_DIR,
    read_results,
    write_results,
    write_samples,
)
from rjdb_bench.runner import data_sources, include_paths, scoring_settings, task_metadata
from rjdb_bench.tasks import scoring
from rjdb_bench.tasks.registry import task_spec
from rjdb_bench.tasks.selection import suites, task_manager


def _saved_samples(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError.at(path, "samples file missing")
    records = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError.at(path, f"invalid JSON ({error.msg})", line=line_number) from None
        for field in ("doc_id", "output"):
            if field not in record:
                raise InputError.at(path, "missing", line=line_number, field=field)
        records.append(record)
    return records


def rescore(run_dir: str | Path) -> dict[str, Any]:
    """Re-parse and re-score every task of the run in ``run_dir``; rewrite its files."""
    run_dir = Path(run_dir)
    if not (run_dir / RESULTS_FILE).is_file():
        raise InputError.at(run_dir / RESULTS_FILE, "no results file: not a run directory")
    results = read_results(run_dir)
    config = OmegaConf.create(results["config"])
    seed = int(config.seed)
    settings = scoring_settings(config.metrics, seed)
    scoring.configure(settings)
    metadata = task_metadata(config)
    manager = task_manager(metadata, include_paths(config))
    loaded = manager.load(list(results["tasks"]))["tasks"]
    current, _ = data_sources(loaded, metadata)
    for key, recorded in results["data"].items():
        now = current.get(key)
        if now is not None and now["sha256"] != recorded["sha256"]:
            raise InputError.at(
                now["path"],
                f"sha256 {now['sha256']} differs from the run's data ({recorded['sha256']})",
            )

    for name, record in results["tasks"].items():
        spec = task_spec(name)
        docs = {doc["doc_key"]: doc for doc in loaded[name].eval_docs}
        path = run_dir / SAMPLES_DIR / f"{name}.jsonl"
        saved = _saved_samples(path)
        unknown = [s["doc_id"] for s in saved if s["doc_id"] not in docs]
        if unknown:
            raise InputError.at(path, f"doc_id {unknown[0]!r} is not a doc of {name} in this data")
        items = [spec.make_item(docs[s["doc_id"]], s["output"]) for s in saved]
        scores = scoring.score_items(name, items, settings)
        write_samples(
            run_dir,
            name,
            (
                sample_record(s.get("index", k), s.get("prompt_hash", ""), item, per_item)
                for k, (s, item, per_item) in enumerate(
                    zip(saved, items, scores.per_item, strict=True)
                )
            ),
        )
        record["metrics"] = scores.as_dict()
        record["n"] = scores.n
        record["version"] = loaded[name].config.metadata.get("version")

    results["suites"] = suite_scores(suites(manager), results["tasks"])
    results["rescored"] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rjdb_bench_version": rjdb_bench.__version__,
    }
    write_results(run_dir, results)
    return results
