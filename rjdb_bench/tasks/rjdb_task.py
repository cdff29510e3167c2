"""``RJDBTask``: the lm-eval task class of the six in-distribution RJDB tasks.

Each task's YAML (``tasks/rjdb/``) names this class and gives the prompt, generation settings
and version; the class looks the task's :class:`~rjdb_bench.tasks.base.TaskSpec` up by the
YAML's ``task:`` name and fills in everything else from it (metric list, parsing, docs).
Docs come from the RJDB split that the task metadata selects (``rjdb_split``,
``rjdb_data_dir``, ``rjdb_path``, ``seed``; plain ``lm_eval`` users pass them with
``--metadata``). With metadata ``limit`` (set by ``rjdb-bench run limit=N``) only the first N
rows become docs: every row gives at least one doc, in row order, so these hold the first N
docs, and lm-eval does not build thousands of docs it will not use.
"""

from __future__ import annotations

from typing import Any

from rjdb_bench.errors import InputError
from rjdb_bench.tasks.base import Doc, TaskSpec
from rjdb_bench.tasks.lm_eval_hooks import DEFAULT_SEED, load_row_dicts, rjdb_provenance
from rjdb_bench.tasks.registry import TASK_SPECS
from rjdb_bench.tasks.spec_task import SpecTask


class RJDBTask(SpecTask):
    """An in-distribution RJDB task (its YAML has no ``dataset_kwargs``)."""

    OPTIONS = frozenset()

    def spec_for(self, name: str) -> TaskSpec:
        """The built-in spec of this RJDB task."""
        spec = TASK_SPECS.get(name)
        if spec is None:
            where = self.yaml_path or "RJDBTask"
            raise InputError(
                f"{where}: task {name!r} is not an RJDB task; known: {', '.join(TASK_SPECS)}"
            )
        return spec

    def defaults(self) -> dict[str, Any]:
        """RJDB tasks generate text."""
        return {"output_type": "generate_until"}

    def build(self) -> list[Doc]:
        """The task's docs from the selected RJDB rows (the first ``limit`` rows when set)."""
        self.data_provenance["rjdb"] = rjdb_provenance(self.metadata)
        rows = load_row_dicts(self.metadata)
        limit = self.metadata.get("limit")
        if limit:
            rows = rows[: int(limit)]
        return self.spec.build_docs(rows, int(self.metadata.get("seed", DEFAULT_SEED)))
