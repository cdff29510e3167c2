"""What ``rjdb-bench tasks`` shows: each task's headline metric and dataset, each dataset's licence.

Read from the task YAMLs without building the tasks (no data is loaded): the in-distribution
tasks use RJDB; a YAML with ``class:`` names its spec through the class and its dataset
through ``dataset_kwargs.dataset`` (user datasets may give ``licence`` and ``citation``
there instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml

from rjdb_bench.data.ood import OOD_DATASETS
from rjdb_bench.data.rjdb import RJDB_COMMIT, RJDB_REPO
from rjdb_bench.tasks.registry import TASK_SPECS

RJDB_INFO = {
    "key": "rjdb",
    "title": "RJDB: Resume-Job Description Benchmark (GPT-4-generated triples; test split)",
    "licence": "CC BY-SA 4.0 (github.com/megagonlabs/rjdb LICENSE)",
    "citation": (
        "Pouya Pezeshkpour, Hayate Iso, Thom Lake, Nikita Bhutani, Estevam Hruschka. 2023. "
        "Distilling Large Language Models using Skill-Occupation Graph Context for HR-Related "
        "Tasks. arXiv:2311.06383"
    ),
    "sources": [
        {"repo": RJDB_REPO, "commit": RJDB_COMMIT, "url": f"https://github.com/{RJDB_REPO}"}
    ],
}


@dataclass(frozen=True)
class TaskRow:
    """One line of the task list."""

    name: str
    headline: str
    dataset: str
    description: str
    licence: str | None = None
    citation: str | None = None


def _yaml_config(manager: TaskManager, name: str) -> dict[str, Any]:
    entry = manager.task_index[name]
    if entry.yaml_path is None:
        return dict(entry.cfg or {})
    return load_yaml(entry.yaml_path, resolve_func=True)


def task_rows(manager: TaskManager) -> list[TaskRow]:
    """A row per task the manager indexes (built-in and ``include_path`` tasks)."""
    rows = []
    for name in manager.all_subtasks:
        spec = TASK_SPECS.get(name)
        if spec is not None:
            rows.append(TaskRow(name, spec.headline, "rjdb", spec.description))
            continue
        config = _yaml_config(manager, name)
        spec = getattr(config.get("class"), "SPEC", None)
        options = config.get("dataset_kwargs") or {}
        rows.append(
            TaskRow(
                name,
                spec.headline if spec else "?",
                str(options.get("dataset") or ""),
                spec.description if spec else "",
                options.get("licence"),
                options.get("citation"),
            )
        )
    return rows


def dataset_info(rows: Iterable[TaskRow]) -> list[dict[str, Any]]:
    """Licence, sources and citation of every dataset the tasks use, in key order.

    Built-in datasets (``rjdb`` and the OOD datasets) come from their pins; a user task's
    ``licence`` and ``citation`` are shown under its dataset key (or its name).
    """
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.dataset == "rjdb":
            found["rjdb"] = RJDB_INFO
        elif row.dataset in OOD_DATASETS:
            found[row.dataset] = OOD_DATASETS[row.dataset].info()
        elif row.licence or row.citation:
            key = row.dataset or row.name
            found[key] = {
                "key": key,
                "title": f"user dataset of task {row.name}",
                "licence": row.licence or "not stated",
                "citation": row.citation or "not stated",
                "sources": [],
            }
    return [found[key] for key in sorted(found)]
