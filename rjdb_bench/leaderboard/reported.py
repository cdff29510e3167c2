"""Literature rows: scores a paper reports, on the board beside the runs, never ranked.

``rjdb-bench leaderboard add-reported FILE`` reads a small YAML (or JSON) file::

    name: JobBERT (Zhang et al., 2022)
    source: {paper: "SkillSpan: Hard and Soft Skill Extraction ...", table: "Table 4", year: 2022,
             url: "https://aclanthology.org/2022.naacl-main.366"}
    model: {hub_id: jjzha/jobbert-base-cased}        # optional
    note: test set, mean of 5 seeds                   # optional
    tasks:
      TASK:
        protocol: PROTOCOL-ID                         # what the score was measured under
        n: 1234                                       # optional: docs the paper scored
        metrics: {METRIC: 0.5, OTHER: {value: 0.6, ci: [0.55, 0.65]}}

and adds a ``reported`` entry (``kind: reported`` in ``leaderboard.json``). A reported score is
allowed only for a task whose protocol matches the source's: tasks declare a protocol id in
their YAML (``metadata.protocol``), runs record it, and a run of the task must be on the board
with that protocol (a task declaring none accepts no reported row). Each metric must be one of
the task's, its value inside the metric's bounds; family and direction come from the runs.
Anything else is refused in one line naming the file and field (exit 2); the board is changed
with the same transaction as ``add`` and ``remove``.

The page shows a reported row with a badge and its source; rank groups never include it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rjdb_bench.errors import InputError
from rjdb_bench.leaderboard.board import (
    check_entry_size,
    checked_yaml,
    commit_board,
    locked,
    read_board,
)
from rjdb_bench.results.provenance import utc_now
from rjdb_bench.results.writer import canonical_json
from rjdb_bench.text_safety import NAME_LIMIT, terminal

REPORTED = "reported"  # an entry's ``kind``
MAX_FILE_BYTES = 1 << 20
_KEY = {"type": "string", "pattern": "^[^/\\\\\\u0000-\\u001f\\u007f-\\u009f]{1,200}$"}
_NUMBER = {"type": "number"}
REPORTED_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "source", "tasks"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_LIMIT},
        "source": {
            "type": "object",
            "required": ["paper", "table", "year"],
            "additionalProperties": False,
            "properties": {
                "paper": {"type": "string", "minLength": 1, "maxLength": 2000},
                "table": {"type": "string", "minLength": 1, "maxLength": 200},
                "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
                "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
            },
        },
        "model": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"hub_id": {"type": "string", "minLength": 1, "maxLength": 200}},
        },
        "note": {"type": "string", "maxLength": 2000},
        "tasks": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": _KEY,
            "additionalProperties": {
                "type": "object",
                "required": ["protocol", "metrics"],
                "additionalProperties": False,
                "properties": {
                    "protocol": {"type": "string", "minLength": 1, "maxLength": 200},
                    "n": {"type": "integer", "minimum": 1},
                    "metrics": {
                        "type": "object",
                        "minProperties": 1,
                        "propertyNames": _KEY,
                        "additionalProperties": {
                            "anyOf": [
                                _NUMBER,
                                {
                                    "type": "object",
                                    "required": ["value"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "value": _NUMBER,
                                        "ci": {
                                            "type": "array",
                                            "minItems": 2,
                                            "maxItems": 2,
                                            "items": _NUMBER,
                                        },
                                    },
                                },
                            ]
                        },
                    },
                },
            },
        },
    },
}


def is_reported(entry: Mapping[str, Any]) -> bool:
    """Whether a board entry is a literature row (no run, no per-item data)."""
    return entry.get("kind") == REPORTED


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(REPORTED_FILE_SCHEMA)


def read_reported_file(path: str | Path) -> dict[str, Any]:
    """The checked contents of a reported-scores file (YAML or JSON); one line otherwise."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError.at(path, f"{size} bytes: a reported-scores file is at most 1 MiB")
        text = path.read_bytes()
    except OSError as error:
        raise InputError.at(path, f"cannot read ({error.strerror or error})") from None
    return checked_yaml(path, text, _validator())


def _task_runs(board: Mapping[str, Any], task: str) -> list[Mapping[str, Any]]:
    return [e for e in board["entries"] if not is_reported(e) and task in e["tasks"]]


def _score(value: Any) -> tuple[float, list[float | None]]:
    if isinstance(value, Mapping):
        ci = value.get("ci")
        return float(value["value"]), [float(ci[0]), float(ci[1])] if ci else [None, None]
    return float(value), [None, None]


def _reported_task(
    board: Mapping[str, Any], task: str, spec: Mapping[str, Any], path: Path
) -> dict[str, Any]:
    """A reported task of the board entry, checked against the board's runs of ``task``."""
    where = f"tasks.{terminal(task, 80)}"
    runs = _task_runs(board, task)
    if not runs:
        raise InputError.at(
            path,
            f"{where}: the board has no run of task {terminal(task, 80)}, so its protocol is "
            "unknown; add a run of it first",
        )
    protocol = spec["protocol"]
    matching = [e for e in runs if e["tasks"][task].get("protocol") == protocol]
    if not matching:
        declared = sorted({str(e["tasks"][task].get("protocol")) for e in runs})
        raise InputError.at(
            path,
            f"{where}.protocol: {terminal(repr(protocol), 80)} is not the task's protocol "
            f"({terminal(', '.join(declared), 200)}); a reported score is allowed only for a "
            "task measured under the source's protocol",
        )
    record = matching[-1]["tasks"][task]
    metrics, facts = {}, {}
    for metric, value in spec["metrics"].items():
        if metric not in record["metrics"]:
            known = ", ".join(sorted(record["metrics"]))
            raise InputError.at(
                path,
                f"{where}.metrics.{terminal(metric, 80)}: not a metric of the task "
                f"(known: {terminal(known, 300)})",
            )
        score, ci = _score(value)
        fact = (record.get("metric_facts") or {}).get(metric, {})
        bounds = fact.get("bounds")
        values = [score, *(c for c in ci if c is not None)]
        if bounds and not all(bounds[0] <= v <= bounds[1] for v in values):
            raise InputError.at(
                path,
                f"{where}.metrics.{terminal(metric, 80)}: {score} (or its interval) is outside "
                f"the metric's range [{bounds[0]}, {bounds[1]}]",
            )
        if ci[0] is not None and not ci[0] <= score <= ci[1]:
            raise InputError.at(
                path, f"{where}.metrics.{terminal(metric, 80)}.ci: does not contain the value"
            )
        metrics[metric] = {
            "value": score,
            "ci": ci,
            "family": record["metrics"][metric]["family"],
            "higher_is_better": record["metrics"][metric]["higher_is_better"],
        }
        if fact:
            facts[metric] = dict(fact)
    out: dict[str, Any] = {
        "protocol": protocol,
        "version": record.get("version"),
        "n": spec.get("n"),
        "metrics": metrics,
    }
    if facts:
        out["metric_facts"] = facts
    return out


def make_reported(data: Mapping[str, Any], board: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The board entry of a checked reported-scores file (:func:`read_reported_file`)."""
    tasks = {task: _reported_task(board, task, spec, path) for task, spec in data["tasks"].items()}
    basis = {key: data.get(key) for key in ("name", "source", "model", "tasks")}
    entry: dict[str, Any] = {
        "id": hashlib.sha256(canonical_json({"reported": basis}).encode("utf-8")).hexdigest()[:16],
        "kind": REPORTED,
        "name": data["name"],
        "source": dict(data["source"]),
        "model": {"name": data["name"], **dict(data.get("model") or {})},
        "date": utc_now(),
        "tasks": tasks,
    }
    if data.get("note"):
        entry["note"] = data["note"]
    check_entry_size(entry, path)
    return entry


def add_reported(paths: Sequence[str | Path], board_dir: str | Path) -> list[dict[str, Any]]:
    """Add (or replace) the reported entries of ``paths``: all checked, then one transaction."""
    board_dir = Path(board_dir)
    data = [(Path(p), read_reported_file(p)) for p in paths]
    read_board(board_dir)  # a missing board is refused before the lock creates anything
    with locked(board_dir):
        board = read_board(board_dir)
        made = [make_reported(d, board, p) for p, d in data]
        for entry in made:
            board["entries"] = [e for e in board["entries"] if e["id"] != entry["id"]]
            board["entries"].append(entry)
        commit_board(board_dir, board, {}, ())
    return made


def source_line(entry: Mapping[str, Any]) -> str:
    """``paper, table (year)`` of a reported entry, for the page and the terminal.

    >>> source_line({"source": {"paper": "P", "table": "Table 2", "year": 2022}})
    'P, Table 2 (2022)'
    """
    source = entry["source"]
    return f"{source['paper']}, {source['table']} ({source['year']})"


__all__ = [
    "REPORTED",
    "add_reported",
    "is_reported",
    "make_reported",
    "read_reported_file",
    "source_line",
]
