"""The run plan: the validated settings turned, once, into what every stage needs.

``rjdb-bench run``, ``rjdb-bench score`` and each job of a sweep build one :class:`RunPlan`
from their settings (:func:`plan_run`) and hand it to the stages
(:mod:`rjdb_bench.stages`); nothing below the plan reads the raw configuration. The plan is
immutable and holds typed values only: the selected tasks and where their YAMLs are, the
metadata the tasks are given, the scoring settings, the model's typed settings and its
backend's registration, generation overrides, the output and cache locations, and the
configuration as results record it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rjdb_bench.backends import Backend, backend, typed_settings
from rjdb_bench.errors import InputError
from rjdb_bench.metrics.text import BertScoreConfig
from rjdb_bench.settings import validate_settings
from rjdb_bench.tasks.base import ScoringSettings

# The file under the output folder that holds the response cache unless cache.path says.
CACHE_FILE = "responses.sqlite"


@dataclass(frozen=True)
class RunPlan:
    """Everything a run needs, decided once from the validated settings."""

    tasks: tuple[str, ...]  # tasks and suites, as selected
    include_paths: tuple[str, ...]  # extra folders of task YAMLs
    task_metadata: Mapping[str, Any]  # what lm-eval hands every task (data, OOD, seed)
    scoring: ScoringSettings
    model: Any  # the backend's settings dataclass instance
    backend: Backend
    generation: Mapping[str, Any]  # overrides of every generation task's settings (set ones)
    limit: int | None
    seed: int
    output_dir: Path
    cache_path: Path | None  # None: the response cache is off
    command: str | None  # the command that reproduces the run (None: started from Python)
    config: Mapping[str, Any]  # the validated configuration, as results.json records it
    verbose: bool  # the engines' own logs shown (rjdb_bench.quiet)


def vacancy_scoring(setting: str | None, backend_name: str) -> str:
    """``ood.vacancy_scoring`` resolved: ``auto`` is ``logprob`` where the backend gives
    log-likelihoods (its registration says), else ``rating``."""
    if setting in (None, "auto"):
        return "logprob" if backend(backend_name).loglikelihood else "rating"
    return str(setting)


def _include_paths(value: Any) -> tuple[str, ...]:
    """``include_path`` (a folder or a list of folders) as a tuple of existing folders."""
    if value is None:
        return ()
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise InputError(
            f"config: include_path: expected a folder or a list of folders, got {value!r}"
        )
    for path in paths:
        if not Path(path).is_dir():
            raise InputError(f"include_path: {path} is not a folder of task YAMLs")
    return tuple(paths)


def _frozen(value: Any) -> Any:
    """Mappings made read-only, lists made tuples, all the way down."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def plan_run(settings: DictConfig, overrides: Sequence[str] | None = None) -> RunPlan:
    """The plan of a run from its settings (validated here; a stored run's config as well).

    ``overrides`` are the Hydra overrides the settings were composed from: the plan records
    them as the command that reproduces the run (None for runs started from Python).
    """
    import shlex

    settings = validate_settings(settings)
    config: dict[str, Any] = OmegaConf.to_container(settings, resolve=True)  # type: ignore[assignment]
    registration = backend(config["model"]["backend"])
    model = typed_settings(registration.settings, config["model"])
    metrics, data, ood = config["metrics"], config["data"], config["ood"]
    seed = int(config["seed"])
    output_dir = Path(config["output_dir"])
    cache = config["cache"]
    task_metadata = {
        "rjdb_split": data["split"],
        "rjdb_data_dir": data["data_dir"],
        "rjdb_path": data["path"],
        "ood_data_dir": data["ood_dir"],
        "ood_k": int(ood["k"]),
        "vacancy_scoring": vacancy_scoring(ood["vacancy_scoring"], registration.name),
        "esco_mode": ood["esco_mode"],
        "esco_split": ood["esco_split"],
        "seed": seed,
        # Build only the docs the run evaluates, and let lm-eval generate without scoring.
        "limit": config["limit"],
        "defer_scoring": True,
    }
    return RunPlan(
        tasks=tuple(str(name) for name in config["tasks"]),
        include_paths=_include_paths(config["include_path"]),
        task_metadata=MappingProxyType(task_metadata),
        scoring=ScoringSettings(
            soft_threshold=float(metrics["soft_threshold"]),
            bertscore=BertScoreConfig(**metrics["bertscore"]),
            bootstrap_resamples=int(metrics["bootstrap_resamples"]),
            confidence=float(metrics["confidence"]),
            seed=seed,
        ),
        model=model,
        backend=registration,
        generation=MappingProxyType(
            {k: v for k, v in config["generation"].items() if v is not None}
        ),
        limit=config["limit"],
        seed=seed,
        output_dir=output_dir,
        cache_path=(
            None
            if not cache["enabled"]
            else Path(cache["path"])
            if cache["path"]
            else output_dir / CACHE_FILE
        ),
        command=None if overrides is None else shlex.join(["rjdb-bench", "run", *overrides]),
        config=_frozen(config),
        verbose=bool(config["verbose"]),
    )


def thawed(value: Any) -> Any:
    """A plan's read-only mapping (e.g. :attr:`RunPlan.config`) as plain dicts and lists, for
    JSON and for code that mutates its copy."""
    if isinstance(value, Mapping):
        return {key: thawed(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thawed(item) for item in value]
    return value
