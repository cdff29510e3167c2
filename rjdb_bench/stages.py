"""The named steps that ``rjdb-bench run`` and ``rjdb-bench score`` share.

Each stage takes the :class:`~rjdb_bench.plan.RunPlan` (or what an earlier stage returned)
and does one job: build the tasks (:func:`load_tasks`), score every task's items
(:func:`score_tasks`), and assemble what ``results.json`` records about them
(:func:`task_record`, :func:`score_fields`). :mod:`rjdb_bench.runner` strings them together
with the model and lm-eval's generation; :mod:`rjdb_bench.rescore` with a saved run's outputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rjdb_bench.plan import RunPlan
from rjdb_bench.results.records import sample_record, suite_scores
from rjdb_bench.scoring import TaskScores, score_task
from rjdb_bench.tasks.base import ScoringSettings, TaskSpec
from rjdb_bench.tasks.registry import task_spec
from rjdb_bench.tasks.rjdb_task import RJDBTask
from rjdb_bench.tasks.selection import check_selection, suites, task_manager
from rjdb_bench.tasks.vacancy import VacancyMatchTask


@dataclass(frozen=True)
class LoadedTasks:
    """The tasks of a run, built by lm-eval from their YAMLs, and the data they read."""

    task_dict: Mapping[str, Any]  # what lm-eval's evaluate() takes
    tasks: Mapping[str, Any]  # task name -> lm-eval task object
    suites: Mapping[str, list[str]]  # suite -> member tasks (every suite the YAMLs declare)
    data_files: Mapping[str, dict[str, Any]]  # data key (rjdb, or a file) -> provenance
    data_used: Mapping[str, list[str]]  # task -> the data keys it read


def load_tasks(plan: RunPlan, names: Sequence[str] | None = None) -> LoadedTasks:
    """Build the plan's tasks (or ``names``, e.g. a saved run's), with the plan's generation
    overrides applied to every generation task."""
    manager = task_manager(plan.task_metadata, plan.include_paths)
    selected = list(names) if names is not None else check_selection(manager, plan.tasks)
    task_dict = manager.load(selected)
    tasks = task_dict["tasks"]
    if plan.generation:
        for task in tasks.values():
            if task.config.output_type == "generate_until":
                task.set_config(key="generation_kwargs", value=dict(plan.generation), update=True)
    data_files: dict[str, dict[str, Any]] = {}
    data_used: dict[str, list[str]] = {}
    for name, task in tasks.items():
        provenance = getattr(task, "data_provenance", {})  # every task class records its files
        data_files.update(provenance)
        data_used[name] = list(provenance)
    return LoadedTasks(task_dict, tasks, suites(manager), data_files, data_used)


def score_fields(spec: TaskSpec, scores: TaskScores) -> dict[str, Any]:
    """A task record's fields that scoring sets (``run`` writes them, ``score`` replaces them)."""
    return {
        "metrics": scores.as_dict(),
        "metric_info": scores.describe_metrics(spec),
        "cluster_unit": spec.cluster_unit,
        "n": scores.n,
    }


def score_tasks(
    samples_by_task: Mapping[str, Sequence[Mapping[str, Any]]], settings: ScoringSettings
) -> tuple[dict[str, TaskScores], dict[str, list[dict[str, Any]]]]:
    """The scoring stage over every task: scores, and the samples records to write.

    ``samples_by_task`` holds, per task, lm-eval's samples (or the same shape rebuilt from a
    saved run): ``doc_id``, ``prompt_hash`` and the parsed item under the headline metric.
    """
    scores, records = {}, {}
    for name, samples in samples_by_task.items():
        spec = task_spec(name)
        items = [sample[spec.headline] for sample in samples]
        scores[name] = score_task(spec, items, settings)
        records[name] = [
            sample_record(
                s["doc_id"],
                s["prompt_hash"],
                item,
                per_item,
                spec.sample_fields,
                scores[name].item_columns(k),
            )
            for k, (s, item, per_item) in enumerate(
                zip(samples, items, scores[name].per_item, strict=True)
            )
        ]
    return scores, records


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def full_size(task: Any) -> int | None:
    """How many docs the task has without a run's ``limit`` (its full test split), or None
    when that would cost a second full build.

    A task class may say it cheaply itself (a ``full_size()`` method). Without a limit it is
    the docs the task built. With one: a vacancy task builds every doc (lm-eval's limit cuts
    them afterwards); the span and ESCO tasks count what they read (``full_size()``); an RJDB
    task cuts its rows while building and is rebuilt without the limit (no model, no encoder:
    a second or so; the warnings of that second build were printed by the first). Any other
    task reports None."""
    declared = getattr(task, "full_size", None)
    if callable(declared):
        return int(declared())
    metadata = getattr(task, "metadata", None)
    if not isinstance(metadata, dict):
        return None
    if not metadata.get("limit") or isinstance(task, VacancyMatchTask):
        return len(task.eval_docs)
    if not isinstance(task, RJDBTask):
        return None
    task.metadata = {**metadata, "limit": None}
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return len(task.build())
    finally:
        task.metadata = metadata


def task_record(
    task: Any, samples: Sequence[Mapping[str, Any]], scores: TaskScores, data_used: list[str]
) -> dict[str, Any]:
    """What ``results.json`` records about one task of a run (``tasks.<name>``)."""
    spec = task_spec(task.config.task)
    template = (
        task.config.doc_to_text
        if isinstance(task.config.doc_to_text, str)
        else repr(task.config.doc_to_text)
    )
    record = {
        "version": task.config.metadata.get("version"),
        "headline": spec.headline,
        **score_fields(spec, scores),
        "prompt_template_sha256": _sha256(template),
        "prompts_sha256": _sha256("\n".join(s["prompt_hash"] for s in samples)),
        "generation_kwargs": dict(task.config.generation_kwargs or {}),
        "config_source": task.config.metadata.get("config_source"),
        "data": data_used,
        "n_full": full_size(task),
        # The measurement protocol the task's YAML declares (metadata.protocol), or None: a
        # literature row on the board must have been measured under the same one.
        "protocol": task.config.metadata.get("protocol"),
    }
    notes = getattr(task, "data_notes", None)
    if notes:
        record["data_notes"] = notes
    return record


def suite_records(
    loaded: LoadedTasks, task_records: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """``results.json`` ``suites``: each suite whose tasks all ran, with its mean headline."""
    return suite_scores(loaded.suites, task_records)
