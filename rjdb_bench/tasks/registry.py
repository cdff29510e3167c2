"""Name → :class:`TaskSpec` for every task with Python behind its YAML.

:data:`TASK_SPECS` holds the six in-distribution RJDB tasks. Tasks defined by a YAML file
with a ``class:`` (the OOD span and vacancy tasks, and any user span dataset) register their
spec under their own name when lm-eval builds them (:func:`register_task_spec`).
"""

from __future__ import annotations

from rjdb_bench.errors import InputError
from rjdb_bench.tasks.base import TaskSpec
from rjdb_bench.tasks.edit import EDIT
from rjdb_bench.tasks.experience import EXPERIENCE
from rjdb_bench.tasks.explain import EXPLAIN
from rjdb_bench.tasks.match import MATCH, MATCH_PAIRWISE
from rjdb_bench.tasks.skills import SKILLS

TASK_SPECS: dict[str, TaskSpec] = {
    spec.name: spec for spec in (MATCH, MATCH_PAIRWISE, EXPLAIN, SKILLS, EXPERIENCE, EDIT)
}
_REGISTERED: dict[str, TaskSpec] = {}


def register_task_spec(spec: TaskSpec) -> None:
    """Make ``spec`` findable under ``spec.name`` (a YAML-defined task being built)."""
    if spec.name in TASK_SPECS:
        raise InputError(f"task {spec.name!r}: the name of a built-in RJDB task; choose another")
    _REGISTERED[spec.name] = spec


def find_task_spec(name: str) -> TaskSpec | None:
    """The spec of task ``name``, or None if no such task has been built."""
    return TASK_SPECS.get(name) or _REGISTERED.get(name)


def task_spec(name: str) -> TaskSpec:
    """The spec of task ``name``; :class:`InputError` if there is none."""
    spec = find_task_spec(name)
    if spec is None:
        known = [*TASK_SPECS, *_REGISTERED]
        raise InputError(f"unknown task {name!r}; known: {', '.join(known)}")
    return spec
