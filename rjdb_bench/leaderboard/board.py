"""The leaderboard file: entries from verified runs, added and removed under a lock.

A board is a folder (default ``leaderboard/``) holding ``leaderboard.json`` (valid against
``leaderboard/schema.json``) and ``items/<entry id>.json.gz``: each entry's compact per-item
data (doc ids, clusters and every metric's per-doc columns, per task), enough for paired
tests between any two entries without the original run directories. A board may come from
anyone: an items file's path is made from the entry's id (16 hex digits, checked by the
schema), never read from the file, and is resolved inside the board before it is read or
removed; numbers must be finite; an items file must be gzip of the expected shape.

An entry's id is a hash of what makes its results what they are: the model's recorded identity
(name, path or hub id, revision, weights fingerprint, dtype, settings, chat template), the
backend, the limit, and per task the version, prompt template, data checksums, doc ids and
generation settings. The display name (:func:`entry_name`) is not part of it.
Adding the same run again replaces its entry. Per task, ``comparability`` is the key of the one
comparability rule (:mod:`rjdb_bench.compare.comparability`: task version, data checksums, doc
ids, scoring; not the prompt): entries are ranked against each other on a task only where it
is equal. ``n_full`` is the task's full size as the run recorded it (partial entries show
``n of N``), ``protocol`` the measurement protocol the task declares (or null).

Every change takes an exclusive lock on ``<board>/.lock`` and is one transaction
(:func:`commit_board`): the new items files and the new ``leaderboard.json`` are staged in
``<board>/.pending/``, the items files they replace are moved aside there, and renaming the
staged ``leaderboard.json`` into place commits; a failure before that puts everything back.
What a killed process left in ``.pending/`` is rolled back (or, after the commit, cleared) by
the next operation. Readers hold the lock shared, so they never see a change half made, and
concurrent ``add``s from several processes lose nothing.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rjdb_bench import strict_json
from rjdb_bench.atomic import atomic_path, file_lock, write_synced
from rjdb_bench.backends import recorded_backend_info
from rjdb_bench.compare import comparability
from rjdb_bench.compare.paired import checked_reduction
from rjdb_bench.errors import InputError, one_line, yaml_error
from rjdb_bench.resources import leaderboard_schema
from rjdb_bench.results.provenance import utc_now
from rjdb_bench.results.run_dir import Run, read_run
from rjdb_bench.results.writer import RESULTS_FILE, canonical_json
from rjdb_bench.text_safety import NAME_LIMIT, terminal

BOARD_FILE = "leaderboard.json"
ITEMS_DIR = "items"
LOCK_FILE = ".lock"
PENDING_DIR = ".pending"  # a change being made (see commit_board)
_OLD = "old"  # in .pending/: the items files a change displaces
_PLAN = "plan.json"  # in .pending/: which ids a change adds and displaces
SCHEMA_VERSION = 2
_ENTRY_ID = re.compile("[0-9a-f]{16}")
MAX_BOARD_BYTES = 64 << 20  # leaderboard.json
MAX_ITEMS_BYTES = 256 << 20  # one items file, decompressed
MAX_ENTRY_BYTES = 1 << 20  # one entry of leaderboard.json, as canonical JSON
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
            "comparability": comparability.key(
                comparability.run_basis(results, task, (s["doc_id"] for s in run.samples[task]))
            ),
            "n_full": record.get("n_full"),
            "protocol": record.get("protocol"),
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
        "items": {"sha256": hashlib.sha256(items).hexdigest()},
    }
    check_entry_size(entry, run.path / RESULTS_FILE)
    return entry, items


def check_entry_size(entry: Mapping[str, Any], where: Path) -> None:
    """Refuse an entry with an absurd model name or size (one line naming the run)."""
    if len(entry["name"]) > NAME_LIMIT:
        raise InputError.at(
            where,
            f"the model's name is {len(entry['name'])} characters long; a board takes at most "
            f"{NAME_LIMIT} (set a shorter model.name)",
        )
    size = len(canonical_json(entry).encode("utf-8"))
    if size > MAX_ENTRY_BYTES:
        raise InputError.at(
            where, f"its board entry would be {size} bytes; a board takes at most {MAX_ENTRY_BYTES}"
        )


# The shape of an items file (:func:`_items`); lengths and reductions are checked in code.
_NUMBER_ROW = {"type": "array", "minItems": 1, "items": {"type": ["number", "null"]}}
ITEMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["doc_ids", "clusters", "columns", "metrics"],
        "additionalProperties": False,
        "properties": {
            "doc_ids": {"type": "array", "items": {"type": ["string", "integer"]}},
            "clusters": {"type": "array", "items": {"type": ["string", "integer"]}},
            "columns": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _NUMBER_ROW},
            },
            "metrics": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["reduce", "columns"],
                    "additionalProperties": False,
                    "properties": {
                        "reduce": {"type": "object", "required": ["name"]},
                        "columns": {"type": "string"},
                    },
                },
            },
        },
    },
}


# --------------------------------------------------------------------------- the board file
def empty_board() -> dict[str, Any]:
    """A board without entries."""
    return {"schema_version": SCHEMA_VERSION, "updated": utc_now(), "entries": []}


def items_path(board_dir: str | Path, entry_id: Any) -> Path:
    """Where the per-item data of entry ``entry_id`` lives: ``<board>/items/<id>.json.gz``,
    made from the id (16 hex digits), and refused when it resolves outside the board (a
    symlinked ``items/`` or file)."""
    if not isinstance(entry_id, str) or not _ENTRY_ID.fullmatch(entry_id):
        raise InputError(f"entry id {terminal(repr(entry_id), 40)}: expected 16 hex digits")
    return _inside(Path(board_dir), f"{ITEMS_DIR}/{entry_id}.json.gz")


def _inside(board_dir: Path, relative: str) -> Path:
    path = board_dir / relative
    resolved = path.resolve()
    if not resolved.is_relative_to(board_dir.resolve()):
        raise InputError.at(
            path, f"resolves outside the board (to {terminal(resolved)}); refusing to use it"
        )
    return path


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
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return terminal(where, 200), terminal(error.message, 200)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (it keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<:`` merges may override
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base loader refuses it below
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"key {one_line(repr(key), 60)} appears twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def checked_yaml(path: Path, text: bytes, validator: Any) -> Any:
    """``text`` (YAML or JSON, read from ``path``) parsed safely, its keys unique within each
    mapping, its numbers finite (YAML's ``.nan``/``.inf`` pass a schema's numeric bounds) and
    valid against ``validator``; any problem is one :class:`InputError` naming the file and
    the field (or line)."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        raise yaml_error(path, error, text) from None
    bad = strict_json.non_finite(data)
    if bad is not None:
        raise InputError.at(path, f"{bad}: not a finite number")
    problem = schema_problem(validator, data)
    if problem is not None:
        raise InputError.at(path, f"{problem[0]}: {problem[1]}")
    return data


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


def _upgrade(board: Any) -> Any:
    """A board of schema version 1 as version 2: its entries' ``items.path`` dropped (the
    path is made from the entry id; what the file said was never to be trusted)."""
    if isinstance(board, dict) and board.get("schema_version") == 1:
        board["schema_version"] = SCHEMA_VERSION
        for entry in board.get("entries") if isinstance(board.get("entries"), list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("items"), dict):
                entry["items"].pop("path", None)
    return board


def read_board(board_dir: str | Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """The board in ``board_dir``, validated; a missing board is one line, or an empty board
    with ``missing_ok`` (``add`` starts one)."""
    path = Path(board_dir) / BOARD_FILE
    if not path.is_file():
        if missing_ok and not path.exists():
            return empty_board()
        raise InputError(f"{path}: no board here (add runs first)")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError.at(path, f"cannot read ({error.strerror or error})") from None
    if size > MAX_BOARD_BYTES:
        raise InputError.at(path, f"{size} bytes: larger than a board may be ({MAX_BOARD_BYTES})")
    board = _upgrade(strict_json.read(path))
    validate_board(board, path)
    return board


def _cannot_write(error: OSError, board_dir: Path) -> InputError:
    """An OSError of a board operation as one line naming the board's file, never a file
    staged in ``.pending/``."""
    where = Path(error.filename) if error.filename else board_dir
    pending = board_dir / PENDING_DIR
    if where.is_relative_to(pending):
        parts = where.relative_to(pending).parts
        where = (
            board_dir.joinpath(*parts)
            if parts and parts[0] in (BOARD_FILE, ITEMS_DIR)
            else board_dir
        )
    return InputError(f"{where}: cannot write the board ({error.strerror or error})")


@contextlib.contextmanager
def locked(board_dir: Path) -> Iterator[None]:
    """Hold the board's exclusive lock (other writers and readers wait), after finishing
    what an interrupted operation left; an OSError inside (a board folder that is a file, a
    full or read-only disk) is one line naming the board."""
    try:
        board_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(board_dir / LOCK_FILE):
            _recover(board_dir)
            yield
    except OSError as error:
        raise _cannot_write(error, board_dir) from None


@contextlib.contextmanager
def reading(board_dir: str | Path) -> Iterator[None]:
    """Hold the board's lock shared while reading its files, so no change is seen half made.
    What an interrupted writer left is finished first (that needs write access); a board no
    writer has touched here (no ``.lock``, e.g. a read-only copy) is read without a lock."""
    board_dir = Path(board_dir)
    if (board_dir / PENDING_DIR).exists():
        with locked(board_dir):
            pass
    lock = board_dir / LOCK_FILE
    with file_lock(lock, shared=True) if lock.is_file() else contextlib.nullcontext():
        yield


def commit_board(
    board_dir: Path, board: dict[str, Any], new_items: Mapping[str, bytes], drop: Sequence[str]
) -> None:
    """Make ``board`` the board, with ``new_items`` (entry id -> items file) in place and the
    items files of the entries ``drop`` gone: all of it or, on any failure, none of it.

    Staged in ``.pending/``: the items files, the board and last a plan (which ids are new,
    which items files are displaced). Then the displaced files move to ``.pending/old/``, the
    new ones into ``items/``, and renaming the staged board into place commits. Before the
    commit :func:`_recover` puts every file back; after it, only ``.pending/`` is left to
    delete."""
    board["entries"].sort(
        key=lambda e: (e.get("reference") is None, e.get("kind") == "reported", e["name"], e["id"])
    )
    board["updated"] = utc_now()
    target = board_dir / BOARD_FILE
    validate_board(board, target)
    text = json.dumps(board, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    displaced = sorted(set(new_items) | set(drop))
    paths = {entry_id: items_path(board_dir, entry_id) for entry_id in displaced}
    pending = _inside(board_dir, PENDING_DIR)
    pending.mkdir()
    try:
        (pending / ITEMS_DIR).mkdir()
        (pending / _OLD).mkdir()
        for entry_id, data in new_items.items():
            write_synced(pending / ITEMS_DIR / paths[entry_id].name, data)
        write_synced(pending / BOARD_FILE, text.encode("utf-8"))
        plan = {"new": sorted(new_items), "displaced": displaced}
        with atomic_path(pending / _PLAN) as tmp:
            write_synced(tmp, json.dumps(plan).encode("utf-8"))
        (board_dir / ITEMS_DIR).mkdir(exist_ok=True)
        for entry_id in displaced:
            if paths[entry_id].exists():
                os.replace(paths[entry_id], pending / _OLD / paths[entry_id].name)
        for entry_id in new_items:
            os.replace(pending / ITEMS_DIR / paths[entry_id].name, paths[entry_id])
        os.replace(pending / BOARD_FILE, target)  # the commit
    except BaseException:
        with contextlib.suppress(OSError, InputError):
            _recover(board_dir)
        raise
    shutil.rmtree(pending, ignore_errors=True)


def _recover(board_dir: Path) -> None:
    """Finish what an interrupted :func:`commit_board` left in ``.pending/``: roll back when its
    board was not renamed into place (restore the displaced items files, remove new ones that
    replaced none), then delete ``.pending/``. Ids in the plan are checked like any other."""
    pending = _inside(board_dir, PENDING_DIR)
    if not pending.exists():
        return
    if (pending / BOARD_FILE).exists() and (pending / _PLAN).is_file():
        plan = strict_json.read(pending / _PLAN)
        if not isinstance(plan, dict) or not all(
            isinstance(plan.get(key), list) for key in ("new", "displaced")
        ):
            raise InputError.at(pending / _PLAN, "not a plan of an interrupted board change")
        for entry_id in plan["displaced"]:
            path = items_path(board_dir, entry_id)
            old = pending / _OLD / path.name
            if old.is_file():
                os.replace(old, path)
            elif entry_id in plan["new"] and not (pending / ITEMS_DIR / path.name).exists():
                path.unlink(missing_ok=True)
    shutil.rmtree(pending)


def add_runs(run_dirs: Sequence[str | Path], board_dir: str | Path) -> list[dict[str, Any]]:
    """Add (or replace) the entries of ``run_dirs``; every run is verified before any write,
    and the board and its items change together or not at all."""
    board_dir = Path(board_dir)
    made = [make_entry(read_run(path)) for path in run_dirs]
    with locked(board_dir):
        board = read_board(board_dir, missing_ok=True)
        new_items = {}
        for entry, items in made:
            board["entries"] = [e for e in board["entries"] if e["id"] != entry["id"]]
            board["entries"].append(entry)
            new_items[entry["id"]] = items
        commit_board(board_dir, board, new_items, ())
    return [entry for entry, _ in made]


def remove_entry(entry: str, board_dir: str | Path) -> dict[str, Any]:
    """Remove the entry with id ``entry`` and its per-item data (together, or neither)."""
    board_dir = Path(board_dir)
    read_board(board_dir)  # a missing board is refused before the lock creates anything
    with locked(board_dir):
        board = read_board(board_dir)
        found = [e for e in board["entries"] if e["id"] == entry]
        if not found:
            known = ", ".join(e["id"] for e in board["entries"]) or "none"
            raise InputError(
                f"{board_dir / BOARD_FILE}: no entry {terminal(repr(entry), 40)}; entries: {known}"
            )
        board["entries"] = [e for e in board["entries"] if e["id"] != entry]
        commit_board(board_dir, board, {}, [entry])
    return found[0]


def _gunzip(data: bytes, path: Path) -> bytes:
    """``data`` decompressed, at most :data:`MAX_ITEMS_BYTES` of it."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            raw = handle.read(MAX_ITEMS_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise InputError.at(path, f"not a gzip file ({one_line(error, 80)})") from None
    if len(raw) > MAX_ITEMS_BYTES:
        raise InputError.at(path, f"decompresses to more than {MAX_ITEMS_BYTES} bytes")
    return raw


def _check_items(items: Any, entry: Mapping[str, Any], path: Path) -> None:
    """One line unless ``items`` has the shape :func:`_items` writes and covers every task and
    metric of ``entry``, each reduction computable from its columns."""
    problem = _items_problem(items)
    if problem is not None:
        raise InputError.at(path, f"not an items file at {problem[0]}: {problem[1]}")
    for task, record in entry["tasks"].items():
        data = items.get(task)
        if data is None:
            raise InputError.at(path, f"no per-item data for task {terminal(task, 80)}")
        n = len(data["doc_ids"])
        if len(data["clusters"]) != n or any(len(c) != n for c in data["columns"].values()):
            raise InputError.at(path, f"{terminal(task, 80)}: lists of different lengths")
        for metric in record["metrics"]:
            info = data["metrics"].get(metric)
            rows = data["columns"].get(info["columns"]) if info else None
            if rows is None:
                raise InputError.at(path, f"no columns for {terminal(f'{task}:{metric}', 120)}")
            where = f"{path}: {terminal(f'{task}:{metric}', 120)}"
            checked_reduction(info["reduce"], rows, where)


def _items_problem(items: Any) -> tuple[str, str] | None:
    """Where ``items`` departs from :data:`ITEMS_SCHEMA`, as :func:`schema_problem` says it, or
    None. The schema checks the file's skeleton (every per-doc list emptied); the per-doc lists
    themselves, millions of values on a full-split board, are checked here in plain Python,
    which is two orders of magnitude faster than a schema validator walking every value."""
    if not isinstance(items, dict):
        return schema_problem(_items_validator(), items)
    skeleton = {}
    for task, data in items.items():
        if isinstance(data, dict):
            data = {
                key: [] if key in _DOC_LISTS and isinstance(value, list) else value
                for key, value in data.items()
            }
            if isinstance(data.get("columns"), dict):
                data["columns"] = {
                    name: [] if isinstance(rows, list) else rows
                    for name, rows in data["columns"].items()
                }
        skeleton[task] = data
    problem = schema_problem(_items_validator(), skeleton)
    if problem is not None:
        return problem
    for task, data in items.items():
        for key in _DOC_LISTS:
            if set(map(type, data[key])) <= _ID_TYPES:
                continue
            for i, value in enumerate(data[key]):
                if type(value) not in _ID_TYPES:
                    return terminal(f"{task}.{key}.{i}", 200), (
                        f"{terminal(repr(value), 80)} is not of type 'string', 'integer'"
                    )
        for name, rows in data["columns"].items():
            if (
                set(map(type, rows)) <= {list}
                and all(rows)
                and set(map(type, itertools.chain.from_iterable(rows))) <= _VALUE_TYPES
            ):
                continue
            for i, row in enumerate(rows):
                if not (type(row) is list and row and set(map(type, row)) <= _VALUE_TYPES):
                    return terminal(f"{task}.columns.{name}.{i}", 200), (
                        "expected a non-empty list of numbers or nulls"
                    )
    return None


_DOC_LISTS = ("doc_ids", "clusters")
_ID_TYPES = {str, int}  # bool, a subclass of int, is not an id (nor a number below)
_VALUE_TYPES = {int, float, type(None)}


@functools.lru_cache(maxsize=1)
def _items_validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(ITEMS_SCHEMA)


def read_items(board_dir: str | Path, entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry's per-item data, checked against the sha256 the board records, then for its
    shape (a board may come from anyone)."""
    path = items_path(board_dir, entry["id"])
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError.at(path, f"cannot read ({error.strerror})") from None
    if hashlib.sha256(data).hexdigest() != entry["items"]["sha256"]:
        raise InputError.at(path, "does not match the sha256 the board records")
    items = strict_json.loads(_gunzip(data, path), path)
    _check_items(items, entry, path)
    return items
