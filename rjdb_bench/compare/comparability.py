"""The one comparability rule: when are two scores of a task measurements of the same thing?

Two results of a task are **comparable** (``rjdb-bench compare`` tests them against each other,
the board ranks them in one group) exactly when they share:

* the **task** and its **version** (a version stands for the task's docs builder, parser,
  gold and metrics: changing any of them bumps it);
* the **data**: the sha256 of every data file the task read;
* the **items**: the same set of doc ids (the same docs, hence the same gold);
* the **scoring**: every metric's reduction as the run recorded it, and the
  scoring settings that change a value (``soft_threshold``; for a task with a BERTScore metric,
  the encoder, its layers, idf and rescaling; never the bootstrap's resamples, confidence or
  seed, which change only intervals, nor a path or a device).

The **prompt template**, the rendered prompts, the generation settings and the output mode
(generated text, constrained choice, log-likelihood scoring) are **not** part of it: they are
how a system answers, like its weights or its chat template, not what the answers are measured
against. Prompt-free systems (the oracle, the trained matcher and tagger) answer the very same
items with the very same gold as a language model given a prompt; a rule that split them by
prompt would leave each in a group of its own. ``compare`` notes a prompt difference in its
report; the board keeps each entry's prompt and settings in its details.

A result on a **subset** of a task's docs (a run with ``limit``) is **partial**: ``n of N``, N
being the task's full size that the run records (``n_full``). Its doc ids differ from a full
result's, so by the rule above it is never ranked against a full one.

This module reads only plain records (``results.json`` task records, board entries); the
gate (:mod:`rjdb_bench.compare.gate`), the board (:mod:`rjdb_bench.leaderboard.board`,
``ranks``) and the page all decide comparability through it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

# The scoring settings (results.json ``scoring``) that change a metric's value; the rest
# (bootstrap resamples, confidence, seed) change only intervals, or name a path or a device.
VALUE_SETTINGS = ("soft_threshold",)
BERTSCORE_VALUE_SETTINGS = ("encoder", "num_layers", "idf", "rescale_with_baseline")
# What the basis holds, in the order differences are reported.
PARTS = ("task", "version", "data", "docs", "scoring")
PART_NAMES = {
    "task": "task",
    "version": "task version",
    "data": "data",
    "docs": "doc ids",
    "scoring": "scoring",
}


def _sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def docs_digest(doc_ids: Iterable[Any]) -> str:
    """The sha256 of a set of doc ids (order and repeats do not matter).

    >>> docs_digest([2, 1]) == docs_digest([1, 2, 1])
    True
    >>> docs_digest(["1"]) == docs_digest([1])
    False
    """
    return _sha256(sorted({json.dumps(doc_id) for doc_id in doc_ids}))


def scoring_basis(record: Mapping[str, Any], scoring: Mapping[str, Any] | None) -> dict[str, Any]:
    """The scoring part of a task's basis: every metric's reduction, and the run's
    value-changing scoring settings (see the module docstring). Not the name of a metric's
    columns: a run stores identical columns once, so the names depend on the values.

    >>> record = {"metric_info": {"acc": {"reduce": {"name": "ratio"}, "columns": "acc",
    ...                                   "family": "accuracy"}}}
    >>> scoring_basis(record, {"soft_threshold": 0.8, "seed": 1})
    {'metrics': {'acc': {'name': 'ratio'}}, 'settings': {'soft_threshold': 0.8}}
    """
    info = record.get("metric_info") or {}
    scoring = scoring or {}
    settings = {key: scoring.get(key) for key in VALUE_SETTINGS if key in scoring}
    if any(i.get("family") == "bertscore" for i in info.values()):
        bert = scoring.get("bertscore") or {}
        settings["bertscore"] = {key: bert.get(key) for key in BERTSCORE_VALUE_SETTINGS}
    return {
        "metrics": {name: i.get("reduce") for name, i in sorted(info.items())},
        "settings": settings,
    }


def run_basis(results: Mapping[str, Any], task: str, doc_ids: Iterable[Any]) -> dict[str, Any]:
    """What decides whether ``task`` of the run ``results`` (``results.json``, with the doc ids
    of its samples) is comparable with another result: task, version, data checksums, the
    digest of the doc ids, and the scoring basis."""
    record = results["tasks"][task]
    data = results.get("data") or {}
    return {
        "task": task,
        "version": record.get("version"),
        "data": {
            key: (data.get(key) or {}).get("sha256") for key in sorted(record.get("data") or [])
        },
        "docs": docs_digest(doc_ids),
        "scoring": _sha256(scoring_basis(record, results.get("scoring"))),
    }


def key(basis: Mapping[str, Any]) -> str:
    """The comparability key of a basis (:func:`run_basis`): equal keys, comparable results."""
    return _sha256({part: basis.get(part) for part in PARTS})


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The parts of the rule in which two bases differ (empty: comparable), by name.

    >>> base = {"task": "t", "version": 1.0, "data": {"f": "x"}, "docs": "d", "scoring": "s"}
    >>> differences(base, {**base, "version": 2.0, "docs": "e"})
    ['task version', 'doc ids']
    >>> differences(base, dict(base))
    []
    """
    return [PART_NAMES[part] for part in PARTS if a.get(part) != b.get(part)]


def full_size(n: int, n_full: int | None, limit: int | None) -> int | None:
    """The task's full size N for a result of ``n`` docs: what the run recorded (``n_full``),
    else ``n`` for a run without a limit, else unknown (None).

    >>> full_size(20, 1000, 20), full_size(1000, None, None), full_size(20, None, 20)
    (1000, 1000, None)
    """
    if n_full is not None:
        return int(n_full)
    return n if limit is None else None


def is_partial(n: int, n_full: int | None, limit: int | None) -> bool:
    """Whether a result covers only part of its task's docs: fewer than N, or N unknown under a
    ``limit``.

    >>> is_partial(20, 1000, 20), is_partial(1000, 1000, 1000), is_partial(20, None, 20)
    (True, False, True)
    """
    total = full_size(n, n_full, limit)
    return total is None or n < total


def coverage(n: int, n_full: int | None, limit: int | None) -> str:
    """``n`` for a full result, ``n of N`` for a partial one (``n of ?`` when N is unknown).

    >>> coverage(1000, 1000, None), coverage(20, 1000, 20), coverage(20, None, 20)
    ('1000', '20 of 1000', '20 of ?')
    """
    total = full_size(n, n_full, limit)
    if total is not None and n >= total:
        return str(n)
    return f"{n} of {total if total is not None else '?'}"
