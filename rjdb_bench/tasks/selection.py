"""The lm-eval ``TaskManager`` over rjdb-bench's task folder, and task/suite selection."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lm_eval.tasks import TaskManager

from rjdb_bench.errors import InputError
from rjdb_bench.resources import tasks_dir
from rjdb_bench.tasks.include import check_include_paths


class _DropCustomKwargsHint(logging.Filter):
    """lm-eval warns once per task that custom datasets take ``--metadata``; we pass it ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Custom kwargs can be passed" not in record.getMessage()


def task_manager(
    metadata: Mapping[str, Any], include_paths: Sequence[str | Path] = ()
) -> TaskManager:
    """A TaskManager that indexes only rjdb-bench's tasks (plus ``include_paths``), not lm-eval's ~14k.

    The ``include_paths`` folders are checked first (:func:`check_include_paths`: a YAML lm-eval
    would skip or fail on is an :class:`InputError`); this imports their ``!function`` targets.
    """
    check_include_paths(include_paths)
    task_logger = logging.getLogger("lm_eval.api.task")
    if not any(isinstance(f, _DropCustomKwargsHint) for f in task_logger.filters):
        task_logger.addFilter(_DropCustomKwargsHint())
    paths = [str(tasks_dir()), *(str(Path(p)) for p in include_paths)]
    return TaskManager(include_path=paths, include_defaults=False, metadata=dict(metadata))


def suites(manager: TaskManager) -> dict[str, list[str]]:
    """Group name -> its member task names, as declared in the group YAMLs."""
    out = {}
    for name in manager.all_groups:
        entry = manager.task_index[name]
        members = (entry.cfg or {}).get("task", [])
        out[name] = [m if isinstance(m, str) else m.get("task", "") for m in members]
    return out


def check_selection(manager: TaskManager, selected: Sequence[str]) -> list[str]:
    """Validate task/suite names; :class:`InputError` naming the unknown ones."""
    names = [str(name) for name in selected]
    unknown = [name for name in names if name not in manager.all_tasks]
    if unknown:
        raise InputError(
            f"tasks: unknown task or suite {', '.join(map(repr, unknown))}; known: {', '.join(manager.all_tasks)}"
        )
    return names
