"""Name → :class:`TaskSpec` for every task with Python behind its YAML."""

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


def task_spec(name: str) -> TaskSpec:
    """The spec of task ``name``; :class:`InputError` if there is none."""
    try:
        return TASK_SPECS[name]
    except KeyError:
        raise InputError(f"unknown task {name!r}; known: {', '.join(TASK_SPECS)}") from None
