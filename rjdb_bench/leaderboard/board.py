"""The leaderboard file: entries from verified runs, added and removed under a lock.

A board is a folder (default ``leaderboard/``) holding ``leaderboard.json`` (valid against
``leaderboard/schema.json``) and ``items/<entry id>.json.gz``: each entry's compact per-item
data (doc ids, clusters and every metric's per-doc columns, per task), enough for paired
tests between any two entries without the original run directories.

An entry's id is a hash of what makes its results what they are: the model's recorded identity
(name, path or hub id, revision, weights fingerprint, dtype, settings, chat template), the
backend, the limit, and per task the version, prompt template, data checksums, doc ids and
generation settings. The display name (:func:`entry_name`) is not part of it.
Adding the same run again replaces its entry. Per task, ``comparability`` hashes the task
version, prompt template, data checksums and doc ids: entries are ranked against each other on
a task only where it is equal.

Every change takes an exclusive lock on ``<board>/.lock``, reads the board, writes the new
one to a temporary file, validates it against the schema and renames it into place, so
concurrent ``add``s from several processes lose nothing and a reader never sees a partial file.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gzip
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rjdb_bench.atomic import atomic_path
from rjdb_bench.backends import recorded_backend_info
from rjdb_bench.errors import InputError
from rjdb_bench.resources import leaderboard_schema
from rjdb_bench.results.run_dir import Run, read_run
from rjdb_bench.results.writer import canonical_json

BOARD_FILE = "leaderboard.json"
ITEMS_DIR = "items"
SCHEMA_VERSION = 1
# The facts of a metric (rjdb_bench.metrics.spec) that runs record in metric_info and entries
# keep; runs written before rjdb-bench recorded them have only family and direction.
METRIC_FACTS = ("kind", "bounds", "display_name")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _task_basis(run: Run, task: str) -> dict[str, Any]:
    record = run.results["tasks"][task]
    data = run.results.get("data") or {}
    return {
        "version": record.get("version"),
        "prompt_template_sha256": record.get("prompt_template_sha256"),
        "data": {key: (data.get(key) or {}).get("sha256") for key in record.get("data") or []},
        "docs": sorted(json.dumps(s["doc_id"]) for s in run.samples[task]),
    }


def entry_id(run: Run, bases: Mapping[str, Any] | None = None) -> str:
    """The stable id of the entry ``run`` makes (see the module docstring); ``bases`` are the
    tasks' :func:`_task_basis` when the caller has them already."""
    config = run.results.get("config") or {}
    bases = bases or {task: _task_basis(run, task) for task in run.results["tasks"]}
    basis = {
        "model": run.results["model"],
        "backend": (config.get("model") or {}).get("backend"),
        "limit": run.results.get("limit"),
        "tasks": {task: bases[task] for task in sorted(bases)},
        "generation": {
            task: record.get("generation_kwargs")
            for task, record in sorted(run.results["tasks"].items())
        },
    }
    return _sha256(canonical_json(basis))[:16]


def entry_name(results: Mapping[str, Any]) -> str:
    """The entry's display name: the run's ``model.name`` when the user gave one, else the
    name in the model's identity (a hub id or folder name, rather than a backend's default
    name such as ``hf``)."""
    configured = str(((results.get("config") or {}).get("model") or {}).get("name") or "")
    backend = str(((results.get("config") or {}).get("model") or {}).get("backend") or "")
    identity = str(results["model"].get("name") or "")
    if configured and configured != backend:
        return configured
    return identity or configured or "unnamed"


def _items(run: Run) -> dict[str, Any]:
    """The compact per-item data of every task: what paired tests between entries need."""
    out = {}
    for task, samples in run.samples.items():
        info = run.results["tasks"][task]["metric_info"]
        out[task] = {
            "doc_ids": [s["doc_id"] for s in samples],
            "clusters": [s["cluster"] for s in samples],
            "columns": {
                name: [s["columns"][name] for s in samples]
                for name in sorted({i["columns"] for i in info.values()})
            },
            "metrics": {
                metric: {"reduce": i["reduce"], "columns": i["columns"]}
                for metric, i in info.items()
            },
        }
    return out


def make_entry(run: Run) -> tuple[dict[str, Any], bytes]:
    """The board entry of a verified run, and its compressed per-item data."""
    results = run.results
    for task, record in results["tasks"].items():
        info = record.get("metric_info") or {}
        if not info or not all("reduce" in i and "columns" in i for i in info.values()):
            raise InputError(
                f"{run.path}: task {task} has no per-doc metric columns (written before "
                "rjdb-bench could compare runs); re-score it with `rjdb-bench score`"
            )
    bases = {task: _task_basis(run, task) for task in results["tasks"]}
    identifier = entry_id(run, bases)
    items = gzip.compress(canonical_json(_items(run)).encode("utf-8"), mtime=0)
    config = results.get("config") or {}
    model = results["model"]
    tasks = {}
    for task, record in results["tasks"].items():
        metrics = record["metrics"]
        tasks[task] = {
            "version": record.get("version"),
            "headline": record["headline"],
            "n": record["n"],
            "cluster_unit": record.get("cluster_unit", "rjdb_row"),
            "comparability": _sha256(canonical_json(bases[task])),
            "metrics": {
                name: {
                    "value": metrics.get(name),
                    "ci": list(metrics.get(f"{name}_ci") or [None, None]),
                    "family": info["family"],
                    "higher_is_better": info["higher_is_better"],
                }
                for name, info in record["metric_info"].items()
            },
            "metric_facts": {
                name: {fact: info[fact] for fact in METRIC_FACTS if fact in info}
                for name, info in record["metric_info"].items()
                if any(fact in info for fact in METRIC_FACTS)
            },
        }
    entry = {
        "id": identifier,
        "name": entry_name(results),
        # The reference kind the run's backend declares (rjdb-bench's own reference systems).
        "reference": recorded_backend_info(model).get("reference"),
        "model": model,
        "backend": str((config.get("model") or {}).get("backend") or model.get("kind") or ""),
        "dtype": model.get("dtype") or (config.get("model") or {}).get("dtype"),
        "date": str(results.get("created") or ""),
        "harness_version": str((results.get("environment") or {}).get("rjdb_bench_version", "")),
        "limit": results.get("limit"),
        "seed": results.get("seed"),
        "command": results.get("command"),
        "tasks": tasks,
        "suites": results.get("suites") or {},
        "items": {
            "path": f"{ITEMS_DIR}/{identifier}.json.gz",
            "sha256": hashlib.sha256(items).hexdigest(),
        },
    }
    return entry, items


# --------------------------------------------------------------------------- the board file
def empty_board() -> dict[str, Any]:
    """A board without entries."""
    return {"schema_version": SCHEMA_VERSION, "updated": _now(), "entries": []}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = json.loads(leaderboard_schema().read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def schema_problem(validator: Any, data: Any) -> tuple[str, str] | None:
    """The most relevant JSON Schema error of ``data`` as ``(dotted path, message)``, or None."""
    import jsonschema

    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    return ".".join(str(p) for p in error.absolute_path) or "(top level)", error.message


def validate_board(board: Mapping[str, Any], where: Path) -> None:
    """One-line :class:`InputError` unless ``board`` is valid against the schema."""
    problem = schema_problem(_validator(), board)
    if problem is not None:
        raise InputError.at(where, f"not a valid leaderboard at {problem[0]}: {problem[1]}")
    ids = [entry["id"] for entry in board["entries"]]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        # A hand-merged board: two entries would share one items file and one page row.
        raise InputError.at(where, f"entry id {', '.join(repeated)} appears more than once")


def read_board(board_dir: str | Path) -> dict[str, Any]:
    """The board in ``board_dir`` (an empty one if it has none yet), validated."""
    path = Path(board_dir) / BOARD_FILE
    if not path.exists():
        return empty_board()
    try:
        board = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise InputError.at(path, f"cannot read ({error})") from None
    except json.JSONDecodeError as error:
        raise InputError.at(path, f"invalid JSON ({error.msg})", line=error.lineno) from None
    validate_board(board, path)
    return board


@contextlib.contextmanager
def locked(board_dir: Path) -> Iterator[None]:
    """Hold the board's exclusive lock (other writers wait); an OSError inside (a board
    folder that is a file, a full or read-only disk) is one line naming the board."""
    try:
        board_dir.mkdir(parents=True, exist_ok=True)
        with (board_dir / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError as error:
        where = error.filename or board_dir
        raise InputError(f"{where}: cannot write the board ({error.strerror or error})") from None


def _write_board(board_dir: Path, board: dict[str, Any]) -> None:
    board["entries"].sort(key=lambda e: (e["reference"] is None, e["name"], e["id"]))
    board["updated"] = _now()
    target = board_dir / BOARD_FILE
    validate_board(board, target)
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(board, indent=2, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def add_runs(run_dirs: Sequence[str | Path], board_dir: str | Path) -> list[dict[str, Any]]:
    """Add (or replace) the entries of ``run_dirs``; every run is verified before any write."""
    board_dir = Path(board_dir)
    made = [make_entry(read_run(path)) for path in run_dirs]
    with locked(board_dir):
        board = read_board(board_dir)
        for entry, items in made:
            with atomic_path(board_dir / entry["items"]["path"]) as tmp:
                tmp.write_bytes(items)
            board["entries"] = [e for e in board["entries"] if e["id"] != entry["id"]]
            board["entries"].append(entry)
        _write_board(board_dir, board)
    return [entry for entry, _ in made]


def remove_entry(entry: str, board_dir: str | Path) -> dict[str, Any]:
    """Remove the entry with id ``entry`` (and its per-item data)."""
    board_dir = Path(board_dir)
    with locked(board_dir):
        board = read_board(board_dir)
        found = [e for e in board["entries"] if e["id"] == entry]
        if not found:
            known = ", ".join(e["id"] for e in board["entries"]) or "none"
            raise InputError(f"{board_dir / BOARD_FILE}: no entry {entry!r}; entries: {known}")
        board["entries"] = [e for e in board["entries"] if e["id"] != entry]
        _write_board(board_dir, board)
        (board_dir / found[0]["items"]["path"]).unlink(missing_ok=True)
    return found[0]


def read_items(board_dir: str | Path, entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry's per-item data, checked against the sha256 the board records."""
    path = Path(board_dir) / entry["items"]["path"]
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError.at(path, f"cannot read ({error.strerror})") from None
    if hashlib.sha256(data).hexdigest() != entry["items"]["sha256"]:
        raise InputError.at(path, "does not match the sha256 the board records")
    return json.loads(gzip.decompress(data))
