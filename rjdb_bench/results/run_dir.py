"""A run directory as one verifiable unit: written as a whole, read only when it checks out.

A run directory holds ``results.json`` and ``samples/<task>.jsonl`` (the *run set*), and may
hold the response cache (``responses.sqlite``) and other files a user or launcher put there.

Writing (:func:`write_run`): the whole set is written into a fresh staging folder beside the
directory; ``results.json`` gets a manifest (``files``: every samples file's sha256, byte size
and line count); everything else already in the directory (the cache) is hard-linked into the
staging folder; then the staging folder and the directory are exchanged in one atomic
``renameat2(RENAME_EXCHANGE)`` (two renames where the system has no exchange) and the old
folder is deleted. A run that fails or is killed at any point before the exchange leaves the
previous run set exactly as it was; one that dies after it leaves the new set complete.

Reading (:func:`read_run`): ``results.json`` must be UTF-8 JSON with the fields readers rely
on; every samples file must match its manifest entry, decode as UTF-8 JSON lines, hold one
record per doc with no doc id missing or repeated, and as many records as the task's ``n``.
Anything else is an :class:`~rjdb_bench.errors.InputError` naming the file (and line).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rjdb_bench import strict_json
from rjdb_bench.atomic import atomic_path, write_synced
from rjdb_bench.errors import InputError
from rjdb_bench.results.writer import (
    RESULTS_FILE,
    SAMPLES_DIR,
    canonical_json,
    clean_json,
    json_line,
    results_text,
)
from rjdb_bench.text_safety import terminal
from rjdb_bench.writable import check_new_folder, probe_writable

# Version of the run-directory layout; readers refuse a newer one.
RUN_FORMAT = 1
MANIFEST = "files"
SEAL = "results_sha256"
SAMPLE_FIELDS = ("doc_id", "output", "prediction", "gold", "scores")
# A task name is a file name (samples/<task>.jsonl): no separator or control character.
_TASK_NAME = re.compile("[^/\\\\\x00-\x1f\x7f]{1,200}")
# What marks an existing folder as a run directory that may be replaced.
_RUN_MARKERS = (RESULTS_FILE, SAMPLES_DIR, "responses.sqlite")


# ----------------------------------------------------------------------------------- checks
def check_output_dir(output_dir: str | Path) -> Path:
    """Check, before anything is computed, that a run can be written to ``output_dir``.

    The folder (or, if it does not exist yet, its nearest existing parent) must be a folder
    that this process can create files in, and so must its parent (the run set is staged
    beside it). An existing folder must be empty or a run directory: a run replaces the
    folder's run set and would not be trusted with an unrelated folder's contents.
    Nothing is created.
    """
    target = check_new_folder(output_dir, "output_dir")
    if target.is_dir():
        entries = {entry.name for entry in target.iterdir()}
        if entries and not entries & set(_RUN_MARKERS):
            raise InputError(
                f"output_dir: {target} is a folder that is not a run directory (no {RESULTS_FILE}); "
                "choose a new or empty folder"
            )
        probe_writable(target, "output_dir")
        probe_writable(target.resolve().parent, "output_dir")
    return target


# ---------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class FileEntry:
    """What the manifest records about one file of the run set."""

    sha256: str
    bytes: int
    lines: int

    def as_dict(self) -> dict[str, Any]:
        """The manifest entry."""
        return {"sha256": self.sha256, "bytes": self.bytes, "lines": self.lines}


def _write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> FileEntry:
    """Write JSON lines to ``path`` (flushed to disk), returning its manifest entry."""
    digest = hashlib.sha256()
    size = lines = 0
    with path.open("wb") as handle:
        for record in records:
            data = json_line(record).encode("utf-8")
            handle.write(data)
            digest.update(data)
            size += len(data)
            lines += 1
        handle.flush()
        os.fsync(handle.fileno())
    return FileEntry(digest.hexdigest(), size, lines)


def results_digest(results: Mapping[str, Any]) -> str:
    """sha256 of ``results`` (without its own ``results_sha256``) as canonical JSON.

    Stored in ``results.json`` so a reader notices a damaged or hand-edited file that still
    parses (a changed digit, a deleted entry).
    """
    body = {k: v for k, v in results.items() if k != SEAL}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (or copy, across devices) ``source`` into ``target``, recursively."""
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy)
    elif source.is_symlink():
        os.symlink(os.readlink(source), target)
    else:
        _link_or_copy(str(source), str(target))


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _cannot_write(error: OSError, staging: Path | None, target: Path) -> InputError:
    """An OSError while writing the run as one line naming the file where it will live."""
    where = str(error.filename or target)
    if staging is not None and where.startswith(str(staging)):
        where = str(target) + where[len(str(staging)) :]
    return InputError(f"{where}: cannot write the run ({error.strerror or error})")


def write_run(
    output_dir: str | Path,
    results: Mapping[str, Any],
    samples: Mapping[str, Iterable[Mapping[str, Any]]],
) -> dict[str, Any]:
    """Replace the run set in ``output_dir`` with ``results`` and ``samples`` (task -> records).

    Returns the results as written (with ``run_format`` and the ``files`` manifest). Files in
    ``output_dir`` outside the run set (the response cache) are kept; old samples files of
    tasks not in ``samples`` are not.
    """
    target = Path(output_dir).expanduser().absolute()
    if target.is_symlink():
        target = target.resolve()
    staging: Path | None = None
    try:
        with atomic_path(target, directory=True) as staging:
            (staging / SAMPLES_DIR).mkdir()
            manifest = {}
            for task, records in samples.items():
                relative = f"{SAMPLES_DIR}/{task}.jsonl"
                manifest[relative] = _write_jsonl(staging / relative, records).as_dict()
            body = {k: v for k, v in results.items() if k not in ("run_format", MANIFEST, SEAL)}
            written = clean_json({"run_format": RUN_FORMAT, **body, MANIFEST: manifest})
            written[SEAL] = results_digest(written)
            write_synced(staging / RESULTS_FILE, results_text(written).encode("utf-8"))
            if target.is_dir():
                for entry in target.iterdir():
                    if entry.name not in (RESULTS_FILE, SAMPLES_DIR):
                        _link_tree(entry, staging / entry.name)
    except OSError as error:
        raise _cannot_write(error, staging, target) from None
    return written


# ---------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Run:
    """A verified run directory: its results and each task's samples records, in file order."""

    path: Path
    results: dict[str, Any]
    samples: dict[str, list[dict[str, Any]]]
    # False for a run written before manifests existed (only line counts could be checked).
    verified_checksums: bool = True


def _read_bytes(path: Path, what: str) -> bytes:
    if not path.exists():
        raise InputError.at(path, f"{what} missing")
    if not path.is_file():
        raise InputError.at(path, f"{what} is not a file")
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError.at(path, f"cannot read ({error.strerror or error})") from None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError.at(
            path, f"not UTF-8 (byte 0x{data[error.start]:02x})", line=line
        ) from None


def _require(container: Mapping[str, Any], key: str, kind: type, path: Path, where: str) -> Any:
    value = container.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {dict: "an object", str: "a string", int: "an integer", list: "a list"}[kind]
        found = "missing" if key not in container else f"expected {expected}"
        raise InputError.at(path, found, field=f"{where}{key}")
    return value


def read_results(run_dir: str | Path) -> dict[str, Any]:
    """``results.json`` of ``run_dir``, checked for the fields readers rely on."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a run directory (no such folder)")
    path = run_dir / RESULTS_FILE
    text = _decode(path, _read_bytes(path, "results file (not a run directory?)"))
    results = strict_json.loads(text, path)
    if not isinstance(results, dict):
        raise InputError.at(path, "expected a JSON object")
    run_format = results.get("run_format", 0)
    if not isinstance(run_format, int) or run_format > RUN_FORMAT:
        raise InputError.at(
            path,
            f"run_format {run_format!r} is newer than this rjdb-bench reads ({RUN_FORMAT}); upgrade",
        )
    for key in ("model", "config", "tasks"):
        _require(results, key, dict, path, "")
    if not results["tasks"]:
        raise InputError.at(path, "no tasks", field="tasks")
    for name, task in results["tasks"].items():
        if not _TASK_NAME.fullmatch(name) or name in (".", ".."):
            # A task's name is a file name in the run (samples/<task>.jsonl).
            raise InputError.at(
                path, f"task name {terminal(repr(name), 60)} is not a safe file name", field="tasks"
            )
        where = f"tasks.{name}."
        if not isinstance(task, dict):
            raise InputError.at(path, "expected an object", field=f"tasks.{name}")
        _require(task, "metrics", dict, path, where)
        _require(task, "headline", str, path, where)
        _require(task, "n", int, path, where)
        if task["headline"] not in task["metrics"]:
            raise InputError.at(path, "headline metric missing", field=f"{where}metrics")
    if run_format >= 1:
        _require(results, MANIFEST, dict, path, "")
        seal = _require(results, SEAL, str, path, "")
        if seal != results_digest(results):
            raise InputError.at(
                path, "contents do not match its results_sha256 (the file was edited or damaged)"
            )
    return results


def _read_samples(path: Path, entry: Mapping[str, Any] | None, n: int) -> list[dict[str, Any]]:
    data = _read_bytes(path, "samples file")
    if entry is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry.get("sha256") or len(data) != entry.get("bytes"):
            raise InputError.at(
                path,
                "does not match results.json (sha256 differs: the file was edited, truncated or replaced)",
            )
    text = _decode(path, data)
    if text and not text.endswith("\n"):
        raise InputError.at(path, "truncated (the last line has no newline)")
    lines = text.split("\n")[:-1] if text else []
    if entry is not None and len(lines) != entry.get("lines"):
        raise InputError.at(path, f"{len(lines)} lines, results.json says {entry.get('lines')}")
    records: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for number, line in enumerate(lines, start=1):
        record = strict_json.loads(line, path, line=number)
        if not isinstance(record, dict):
            raise InputError.at(path, "expected a JSON object", line=number)
        for field in SAMPLE_FIELDS:
            if field not in record:
                raise InputError.at(path, "missing", line=number, field=field)
        doc_id = record["doc_id"]
        if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
            raise InputError.at(
                path, "expected a string or an integer", line=number, field="doc_id"
            )
        key = json.dumps(record["doc_id"], sort_keys=True)
        if key in seen:
            raise InputError.at(
                path, f"doc_id {record['doc_id']!r} repeats line {seen[key]}", line=number
            )
        seen[key] = number
        records.append(record)
    if len(records) != n:
        raise InputError.at(path, f"{len(records)} records, results.json says n={n} for this task")
    return records


def read_run(run_dir: str | Path, *, allow_legacy: bool = False) -> Run:
    """Read and verify the run in ``run_dir`` (see the module docstring).

    ``allow_legacy`` accepts a run written before manifests existed (``run_format`` 0): its
    samples are checked for JSON, doc ids and counts, but cannot be checked for edits.
    """
    run_dir = Path(run_dir)
    results = read_results(run_dir)
    manifest = results.get(MANIFEST)
    if manifest is None and not allow_legacy:
        raise InputError.at(
            run_dir / RESULTS_FILE,
            "no file manifest (written by rjdb-bench before 0.2.0); re-score it with `rjdb-bench score`",
        )
    expected = {f"{SAMPLES_DIR}/{task}.jsonl" for task in results["tasks"]}
    if manifest is not None:
        unknown = sorted(set(manifest) - expected)
        if unknown:
            raise InputError.at(run_dir / unknown[0], "listed in results.json for no task")
    samples_dir = run_dir / SAMPLES_DIR
    if samples_dir.is_dir():
        strays = sorted(
            f"{SAMPLES_DIR}/{p.name}"
            for p in samples_dir.iterdir()
            if f"{SAMPLES_DIR}/{p.name}" not in expected
        )
        if strays:
            raise InputError.at(run_dir / strays[0], "not part of this run (not in results.json)")
    samples = {}
    for task, record in results["tasks"].items():
        relative = f"{SAMPLES_DIR}/{task}.jsonl"
        entry = None
        if manifest is not None:
            entry = manifest.get(relative)
            if not isinstance(entry, dict):
                raise InputError.at(
                    run_dir / RESULTS_FILE, "missing", field=f"{MANIFEST}.{relative}"
                )
        samples[task] = _read_samples(run_dir / relative, entry, record["n"])
    return Run(run_dir, results, samples, verified_checksums=manifest is not None)
