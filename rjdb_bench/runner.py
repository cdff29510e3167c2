"""``rjdb-bench run``: plan → tasks → model → generate → score → write, one short pipeline.

lm-eval builds the tasks' requests, sends all requests of one kind, across every selected
task, to the model in one call and parses each answer into an item (it computes no metric:
the tasks are told to defer scoring); the scoring stage then scores each task's items with
intervals, and the run directory is written as a whole.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from omegaconf import DictConfig

from rjdb_bench.interrupts import stop_on_interrupt
from rjdb_bench.models.registry import OUTPUT_CONSTRAINT_KEY, LoadedModel, build_model
from rjdb_bench.models.response_cache import CachedLM, ResponseCache
from rjdb_bench.plan import RunPlan, plan_run, thawed
from rjdb_bench.results.provenance import environment, utc_now
from rjdb_bench.results.run_dir import check_output_dir, write_run
from rjdb_bench.stages import LoadedTasks, load_tasks, score_tasks, suite_records, task_record
from rjdb_bench.tasks.registry import task_spec


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when installed) torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


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


def generate(
    plan: RunPlan, loaded: LoadedTasks, model: LoadedModel | None
) -> tuple[LoadedModel, dict[str, Any], dict[str, int], float]:
    """The model stage and lm-eval's generation: the model (built unless given), lm-eval's
    evaluation (samples with parsed items), the model-call counts, and when the model was
    ready (``time.perf_counter()``).

    An existing response cache is checked first (a damaged one is reported in a second, not
    after minutes of loading); a new one is created only once the model loaded, so a run that
    fails earlier creates nothing.
    """
    from lm_eval.evaluator import evaluate

    path = plan.cache_path
    cache = (
        ResponseCache(path) if path is not None and (path.exists() or path.is_symlink()) else None
    )
    try:
        if model is None:
            model = build_model(plan.model, plan.task_metadata)
        send_output_constraints(loaded.tasks, model)
        lm = model.lm
        if path is not None and model.cacheable:
            cache = cache or ResponseCache(path)
            lm = CachedLM(model.lm, cache, model.cache_namespace())
        ready = time.perf_counter()
        evaluation = evaluate(
            lm,
            loaded.task_dict,
            limit=plan.limit,
            bootstrap_iters=0,
            log_samples=True,
            apply_chat_template=model.apply_chat_template,
        )
    finally:
        if cache is not None:
            cache.close()
    requests = sum(len(samples) for samples in evaluation["samples"].values())
    calls = {
        "model_calls": lm.model_calls if isinstance(lm, CachedLM) else requests,
        "cache_hits": lm.cache_hits if isinstance(lm, CachedLM) else 0,
    }
    return model, evaluation, calls, ready


def run(
    plan: RunPlan | DictConfig,
    model: LoadedModel | None = None,
    *,
    overrides: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Evaluate the plan's model (or an already built ``model``) on its tasks; write the run.

    ``plan`` may also be composed settings, planned here with ``overrides`` (the Hydra
    overrides they were composed from, recorded as the command that reproduces the run).
    Passing ``model`` reuses a loaded engine across runs (tests, benchmarks); it must be the
    model the plan describes.
    """
    started = time.perf_counter()
    if not isinstance(plan, RunPlan):
        plan = plan_run(plan, overrides)
    output_dir = check_output_dir(plan.output_dir)
    loaded = load_tasks(plan)
    seed_everything(plan.seed)
    with stop_on_interrupt():  # a Ctrl-C that Python dropped still stops the run before its write
        model, evaluation, calls, ready = generate(plan, loaded, model)
        generated = time.perf_counter()
        scores, samples = score_tasks(evaluation["samples"], plan.scoring)
        scored = time.perf_counter()

    task_records = {
        name: task_record(task, evaluation["samples"][name], scores[name], loaded.data_used[name])
        for name, task in loaded.tasks.items()
    }
    results = {
        "created": utc_now(),
        "model": {
            **model.identity,
            "settings": model.settings,
            "apply_chat_template": model.apply_chat_template,
            "backend_info": model.backend_info(),
        },
        "data": dict(loaded.data_files),
        "limit": plan.limit,
        "seed": plan.seed,
        "scoring": plan.scoring.describe(),
        "tasks": task_records,
        "suites": suite_records(loaded, task_records),
        **calls,
        "timing_seconds": {
            "startup": round(ready - started, 3),
            "generation": round(generated - ready, 3),
            "scoring": round(scored - generated, 3),
            "total": round(time.perf_counter() - started, 3),
        },
        "environment": environment(),
        "command": plan.command,
        "config": thawed(plan.config),
    }
    return write_run(output_dir, results, samples)
