"""The pieces lm-eval calls back into while it runs an rjdb-bench task.

* The RJDB rows a task's docs come from (:func:`load_row_dicts`, read once per process and
  file), selected by task metadata, which the harness fills from its config and plain
  ``lm_eval`` users can pass with ``--metadata``: ``rjdb_split`` (default ``test``),
  ``rjdb_data_dir``, ``rjdb_path``, ``seed`` (default 1234).
* :func:`process_results` parses one output into an item (the same item for every metric).

The aggregation of the items into metrics is the task class's (:mod:`spec_task`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import datasets

from rjdb_bench.data.download import DataFile
from rjdb_bench.data.rjdb import read_rjdb_cached, rjdb_source
from rjdb_bench.settings import DataSettings, RunSettings
from rjdb_bench.tasks.base import Doc, Item
from rjdb_bench.tasks.registry import task_spec

DEFAULT_SEED = RunSettings.seed  # plain lm_eval without a seed in --metadata: the run's default
EVAL_SPLIT = "eval"


def _rows(source: DataFile) -> datasets.Dataset:
    # The data layer's cache: the baseline model reads the same file through it.
    return read_rjdb_cached(source)


@functools.lru_cache(maxsize=4)
def _row_dicts(source: DataFile) -> tuple[dict[str, Any], ...]:
    # Building docs from plain dicts is ~20x faster than iterating a Dataset row by row.
    return tuple(_rows(source).to_list())


def rjdb_provenance(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What results record under ``data.rjdb``: the split and the file's provenance."""
    return {
        "split": metadata.get("rjdb_split") or DataSettings.split,
        **rjdb_source(metadata).provenance(),
    }


def load_row_dicts(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The same rows as plain dicts (read and converted once per process and file)."""
    return _row_dicts(rjdb_source(metadata))


def loglikelihood_output(choices: Sequence[str], results: Sequence[Any]) -> str:
    """The raw output of a scored-by-log-likelihood doc: ``{"loglikelihoods": {choice: ll}}``.

    Stored as text like a generated answer, so samples, re-scoring and the response cache
    treat both kinds of output alike.

    >>> loglikelihood_output(["Yes", "No"], [(-0.5, True), (-1.5, False)])
    '{"loglikelihoods": {"Yes": -0.5, "No": -1.5}}'
    """
    values = {choice: float(result[0]) for choice, result in zip(choices, results, strict=True)}
    return json.dumps({"loglikelihoods": values})


def process_results(doc: Doc, results: Sequence[Any]) -> dict[str, Item]:
    """Parse the model's output for ``doc`` into one item, reported under every metric name.

    ``results`` is ``[text]`` for generation tasks and one ``(loglikelihood, is_greedy)``
    per choice (``doc["choices"]``) for tasks scored by log-likelihood.
    """
    spec = task_spec(doc["task"])
    output = results[0]
    if not isinstance(output, str):
        output = loglikelihood_output(doc["choices"], results)
    item = spec.make_item(doc, output)
    return {metric: item for metric in spec.metric_names}
