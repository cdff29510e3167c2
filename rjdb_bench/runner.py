"""``rjdb-bench run``: settings → tasks → model → generate → score → write, one short pipeline.

lm-eval builds the tasks' requests, sends all requests of one kind, across every selected
task, to the model in one call and parses each answer into an item (it computes no metric:
the tasks are told to defer scoring); the scoring stage then scores each task's items with
intervals, and the run directory is written as a whole.
"""

from __future__ import annotations

import hashlib
import random
import shlex
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from rjdb_bench.errors import InputError
from rjdb_bench.metrics.text import BertScoreConfig
from rjdb_bench.models.registry import (
    LOGLIKELIHOOD_BACKENDS,
    OUTPUT_CONSTRAINT_KEY,
    LoadedModel,
    build_model,
)
from rjdb_bench.models.response_cache import CachedLM, ResponseCache
from rjdb_bench.results.provenance import environment
from rjdb_bench.results.records import sample_record, suite_scores
from rjdb_bench.results.run_dir import check_output_dir, write_run
from rjdb_bench.scoring import TaskScores, score_task
from rjdb_bench.settings import validate_settings
from rjdb_bench.tasks.base import ScoringSettings
from rjdb_bench.tasks.registry import task_spec
from rjdb_bench.tasks.selection import check_selection, suites, task_manager


def scoring_settings(metrics: Mapping[str, Any], seed: int) -> ScoringSettings:
    """Scoring settings from the ``metrics`` config group."""
    bert = dict(metrics.get("bertscore") or {})
    return ScoringSettings(
        soft_threshold=float(metrics.get("soft_threshold", 0.8)),
        bertscore=BertScoreConfig(**bert),
        bootstrap_resamples=int(metrics.get("bootstrap_resamples", 1000)),
        confidence=float(metrics.get("confidence", 0.95)),
        seed=seed,
    )


def vacancy_scoring(setting: str | None, backend: str | None) -> str:
    """``ood.vacancy_scoring`` resolved: ``auto`` is ``logprob`` where the backend gives log-likelihoods."""
    if setting in (None, "auto"):
        return "logprob" if backend in LOGLIKELIHOOD_BACKENDS else "rating"
    return str(setting)


def task_metadata(config: DictConfig) -> dict[str, Any]:
    """What every task is given through lm-eval metadata: data selection, OOD settings, seed."""
    data = config.data
    ood = config.get("ood") or {}
    return {
        "rjdb_split": data.split,
        "rjdb_data_dir": data.data_dir,
        "rjdb_path": data.path,
        "ood_data_dir": data.get("ood_dir"),
        "ood_k": int(ood.get("k", 3)),
        "vacancy_scoring": vacancy_scoring(ood.get("vacancy_scoring"), config.model.get("backend")),
        "seed": int(config.seed),
        # Build only the docs the run evaluates, and let lm-eval generate without scoring.
        "limit": config.get("limit"),
        "defer_scoring": True,
    }


def include_paths(config: DictConfig) -> list[str]:
    """``include_path`` as a list of folders (a single path or a list in the config)."""
    value = config.get("include_path")
    if value is None:
        return []
    paths = [value] if isinstance(value, str) else list(value)
    for path in paths:
        if not Path(str(path)).is_dir():
            raise InputError(f"include_path: {path} is not a folder of task YAMLs")
    return [str(path) for path in paths]


def data_sources(
    tasks: Mapping[str, Any], metadata: Mapping[str, Any]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Every data file the tasks read, by key (``rjdb`` or a path), and each task's keys."""
    files: dict[str, dict[str, Any]] = {}
    used: dict[str, list[str]] = {}
    for name, task in tasks.items():
        provenance = getattr(task, "data_provenance", {})  # every task class records its files
        files.update(provenance)
        used[name] = list(provenance)
    return files, used


def run_command(overrides: Sequence[str] | None) -> str | None:
    """The shell command that composes the same config: ``rjdb-bench run`` + the overrides.

    >>> run_command(["model=oracle", "tasks=[rjdb_match]", "output_dir=runs/my run"])
    "rjdb-bench run model=oracle 'tasks=[rjdb_match]' 'output_dir=runs/my run'"
    >>> run_command(None) is None
    True
    """
    if overrides is None:
        return None
    return shlex.join(["rjdb-bench", "run", *overrides])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when installed) torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def score_fields(spec: Any, scores: TaskScores) -> dict[str, Any]:
    """A task record's fields that scoring sets (``run`` writes them, ``score`` replaces them)."""
    return {
        "metrics": scores.as_dict(),
        "metric_info": scores.describe_metrics(spec),
        "cluster_unit": spec.cluster_unit,
        "n": scores.n,
    }


def _task_record(
    task: Any, samples: Sequence[Mapping[str, Any]], scores: TaskScores
) -> dict[str, Any]:
    spec = task_spec(task.config.task)
    template = (
        task.config.doc_to_text
        if isinstance(task.config.doc_to_text, str)
        else repr(task.config.doc_to_text)
    )
    return {
        "version": task.config.metadata.get("version"),
        "headline": spec.headline,
        **score_fields(spec, scores),
        "prompt_template_sha256": _sha256(template),
        "prompts_sha256": _sha256("\n".join(s["prompt_hash"] for s in samples)),
        "generation_kwargs": dict(task.config.generation_kwargs or {}),
        "config_source": task.config.metadata.get("config_source"),
    }


def _requests(evaluation: Mapping[str, Any]) -> int:
    """Number of model requests in an evaluation (one per doc for every RJDB task)."""
    return sum(len(samples) for samples in evaluation["samples"].values())


def response_cache_path(config: DictConfig) -> Path:
    """Where the run's response cache lives: ``cache.path``, or ``<output_dir>/responses.sqlite``."""
    return (
        Path(config.cache.path)
        if config.cache.get("path")
        else Path(config.output_dir) / "responses.sqlite"
    )


def send_output_constraints(tasks: Mapping[str, Any], model: LoadedModel) -> None:
    """Put each task's output constraint into its requests' generation kwargs, for backends that
    accept one (the constraint travels with the request; backends never look tasks up)."""
    if not model.accepts_output_constraints:
        return
    for name, task in tasks.items():
        constraint = task_spec(name).structured_output
        if constraint is not None and task.config.output_type == "generate_until":
            task.set_config(
                key="generation_kwargs", value={OUTPUT_CONSTRAINT_KEY: constraint}, update=True
            )


def score_run(
    tasks: Mapping[str, Any],
    samples_by_task: Mapping[str, Sequence[Mapping[str, Any]]],
    settings: ScoringSettings,
) -> tuple[dict[str, TaskScores], dict[str, list[dict[str, Any]]]]:
    """The scoring stage over every task: scores, and the samples records to write."""
    scores, records = {}, {}
    for name in tasks:
        samples = samples_by_task[name]
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


def run(
    config: DictConfig,
    model: LoadedModel | None = None,
    *,
    overrides: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Evaluate ``config.model`` (or an already built ``model``) on ``config.tasks``; write the run.

    Passing ``model`` reuses a loaded engine across runs (tests, benchmarks); it must be the
    model ``config.model`` describes. ``overrides`` are the Hydra overrides the config was
    composed from: results record them as the command that reproduces the run (``null`` for
    runs started from Python with a config of their own).
    """
    from lm_eval.evaluator import evaluate

    # settings
    started = time.perf_counter()
    config = validate_settings(config)
    output_dir = check_output_dir(config.output_dir)
    seed = int(config.seed)
    settings = scoring_settings(config.metrics, seed)
    metadata = task_metadata(config)

    # tasks
    manager = task_manager(metadata, include_paths(config))
    task_dict = manager.load(check_selection(manager, list(config.tasks)))
    tasks = task_dict["tasks"]
    data_files, data_used = data_sources(tasks, metadata)
    generation = {
        k: v
        for k, v in OmegaConf.to_container(config.generation, resolve=True).items()
        if v is not None
    }
    for task in tasks.values():
        if generation and task.config.output_type == "generate_until":
            task.set_config(key="generation_kwargs", value=generation, update=True)
    seed_everything(seed)

    # model (an existing cache is checked first: a damaged one is reported in a second, not
    # after minutes of loading; a new one is created only once the model loaded, so a run that
    # fails earlier creates nothing)
    cache_path = response_cache_path(config) if config.cache.enabled else None
    exists = cache_path is not None and (cache_path.exists() or cache_path.is_symlink())
    cache = ResponseCache(cache_path) if exists else None
    try:
        if model is None:
            model = build_model(OmegaConf.to_container(config.model, resolve=True), metadata)
        send_output_constraints(tasks, model)
        lm = model.lm
        if cache_path is not None and model.cacheable:
            cache = cache or ResponseCache(cache_path)
            lm = CachedLM(model.lm, cache, model.cache_namespace())
        loaded = time.perf_counter()

        # generate (lm-eval: requests, model calls, parsing into items)
        evaluation = evaluate(
            lm,
            task_dict,
            limit=config.limit,
            bootstrap_iters=0,
            log_samples=True,
            apply_chat_template=model.apply_chat_template,
        )
    finally:
        if cache is not None:
            cache.close()
    generated = time.perf_counter()

    # score
    scores, samples = score_run(tasks, evaluation["samples"], settings)
    scored = time.perf_counter()

    # write
    task_records = {}
    for name, task in tasks.items():
        task_records[name] = _task_record(task, evaluation["samples"][name], scores[name])
        task_records[name]["data"] = data_used[name]
        notes = getattr(task, "data_notes", None)
        if notes:
            task_records[name]["data_notes"] = notes
    results = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {
            **model.identity,
            "settings": model.settings,
            "apply_chat_template": model.apply_chat_template,
        },
        "data": data_files,
        "limit": config.limit,
        "seed": seed,
        "scoring": settings.describe(),
        "tasks": task_records,
        "suites": suite_scores(suites(manager), task_records),
        "model_calls": lm.model_calls if isinstance(lm, CachedLM) else _requests(evaluation),
        "cache_hits": lm.cache_hits if isinstance(lm, CachedLM) else 0,
        "timing_seconds": {
            "startup": round(loaded - started, 3),
            "generation": round(generated - loaded, 3),
            "scoring": round(scored - generated, 3),
            "total": round(time.perf_counter() - started, 3),
        },
        "environment": environment(),
        "command": run_command(overrides),
        "config": OmegaConf.to_container(config, resolve=True),
    }
    return write_run(output_dir, results, samples)
