"""``rjdb-bench run -m ...``: a Hydra multirun over ``configs/sweep.yaml``, one run per job.

Hydra expands the sweep (``model.pretrained=ckpt/step-1000,ckpt/step-2000``) into jobs and hands
them to the launcher chosen with ``hydra/launcher=...`` (``basic``, in this process, one after
the other; ``joblib``, local processes; ``submitit_local``/``submitit_slurm``; ``ray``). Every
job calls :func:`run_job`, which checks its config exactly as a single run does and calls the
same :func:`rjdb_bench.runner.run`, so every job's folder is an ordinary verified run directory.

The sweep directory (``hydra.sweep.dir``, default ``runs/sweeps/<date>_<time>``)::

    multirun.yaml          Hydra's: the sweep's whole config and its command-line overrides
    sweep.json             the index (INDEX_FORMAT): every job's overrides, run directory, status
    .jobs/<num>.json       each job's own record; sweep.json is rebuilt from them
    .submitit/             submitit's pickles and job logs (submitit launchers only)
    0/, 1/, ...            job <num>'s run directory: results.json, samples/, responses.sqlite

A job writes its record when it starts (``running``) and when it ends (``ok``; ``failed``: bad
input, exit code 2; ``error``: any other exception, exit code 1) and then rebuilds ``sweep.json``
under a file lock, atomically (temporary file + rename), so a reader never sees a partial index.
A job that fails is recorded and the other jobs go on; the launching process marks the index
``complete`` when the launcher has returned and exits with :func:`sweep_exit_code`.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import os
import socket
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from rjdb_bench import strict_json
from rjdb_bench.atomic import atomic_write_text, file_lock
from rjdb_bench.errors import ERROR_LIMIT, InputError, one_line
from rjdb_bench.results.provenance import utc_now
from rjdb_bench.text_safety import terminal

INDEX_FILE = "sweep.json"
INDEX_FORMAT = 1
JOBS_DIR = ".jobs"
LOCK_FILE = "lock"
SWEEP_CONFIG = "sweep"
# Job statuses in the index and their exit codes.
STATUS_RUNNING = "running"
STATUS_OK = "ok"  # exit code 0
STATUS_FAILED = "failed"  # bad input: exit code 2, as a single run
STATUS_ERROR = "error"  # any other exception: exit code 1

# hydra/launcher option -> (module that provides it, how to install it)
LAUNCHER_PLUGINS: dict[str, tuple[tuple[str, ...], str]] = {
    "joblib": (("hydra_plugins.hydra_joblib_launcher",), "pip install 'rjdb-bench[sweep]'"),
    "submitit_local": (
        ("hydra_plugins.hydra_submitit_launcher", "submitit"),
        "pip install 'rjdb-bench[sweep]'",
    ),
    "submitit_slurm": (
        ("hydra_plugins.hydra_submitit_launcher", "submitit"),
        "pip install 'rjdb-bench[sweep]'",
    ),
    "ray": (
        ("hydra_plugins.hydra_ray_launcher", "ray"),
        "pip install hydra-ray-launcher==1.2.2 (docs/configuration.md)",
    ),
    "ray_aws": (
        ("hydra_plugins.hydra_ray_launcher", "ray"),
        "pip install hydra-ray-launcher==1.2.2 (docs/configuration.md)",
    ),
}

# What readers of sweep.json use from each job record, and its type.
_JOB_FIELDS: dict[str, Any] = {
    "num": int,
    "status": str,
    "run_dir": (str, type(None)),
    "overrides": list,
}
_KIND_WORDS = {
    "num": "an integer",
    "status": "a string",
    "run_dir": "a string or null",
    "overrides": "a list of strings",
}

# The sweep directory of the sweep this process launched (set by SweepIndexCallback).
_launched: dict[str, Path | None] = {"sweep_dir": None}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_launcher(overrides: Sequence[str]) -> None:
    """Refuse, in one line, a ``hydra/launcher=...`` whose plugin is not installed."""
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or key.strip().removeprefix("override ").strip() != "hydra/launcher":
            continue
        modules, install = LAUNCHER_PLUGINS.get(value.strip(), ((), ""))
        if not all(_installed(module) for module in modules):
            raise InputError(
                f"hydra/launcher={value.strip()}: the launcher plugin is not installed; "
                f"install it with {install}"
            )


# ------------------------------------------------------------------------------ the index
def _write_json(path: Path, value: Any) -> None:
    """Write ``value`` to ``path`` as strict JSON, atomically (rjdb_bench.atomic)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_text(path, text)


@contextlib.contextmanager
def _locked(sweep_dir: Path) -> Iterator[Path]:
    """Hold the sweep's lock (``.jobs/lock``); yields the ``.jobs`` folder."""
    jobs = sweep_dir / JOBS_DIR
    jobs.mkdir(parents=True, exist_ok=True)
    with file_lock(jobs / LOCK_FILE):
        yield jobs


def _job_records(jobs: Path) -> list[dict[str, Any]]:
    records = []
    for path in jobs.glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(record, dict) and isinstance(record.get("num"), int):
                records.append(record)
    return sorted(records, key=lambda record: record["num"])


def _header(sweep_dir: Path) -> dict[str, Any]:
    try:
        index = json.loads((sweep_dir / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = None
    if not isinstance(index, dict):
        index = {"format": INDEX_FORMAT}
    return index


def _rebuild(sweep_dir: Path, jobs: Path, **updates: Any) -> dict[str, Any]:
    """``sweep.json`` rebuilt from the job records (call with the lock held)."""
    index = {**_header(sweep_dir), **updates, "jobs": _job_records(jobs)}
    _write_json(sweep_dir / INDEX_FILE, index)
    return index


def start_index(sweep_dir: Path, *, launcher: str | None, overrides: Sequence[str]) -> None:
    """A fresh index for a sweep about to launch (records of an earlier sweep there are dropped)."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with _locked(sweep_dir) as jobs:
        for old in jobs.glob("*.json"):
            old.unlink()
        _write_json(
            sweep_dir / INDEX_FILE,
            {
                "format": INDEX_FORMAT,
                "launcher": launcher,
                "overrides": list(overrides),
                "started": utc_now(),
                "finished": None,
                "complete": False,
                "n_jobs": None,
                "exit_code": None,
                "jobs": [],
            },
        )


def _save_record(sweep_dir: Path, record: Mapping[str, Any], *, claim: bool = False) -> None:
    """Write a job's record and rebuild the index; ``claim``: refuse a run directory another
    job of the sweep already writes to."""
    with _locked(sweep_dir) as jobs:
        if claim and record.get("run_dir") is not None:
            mine = _absolute(sweep_dir, record["run_dir"])
            for other in _job_records(jobs):
                theirs = other.get("run_dir")
                if other["num"] != record["num"] and theirs is not None:
                    if _absolute(sweep_dir, theirs) != mine:
                        continue
                    raise InputError(
                        f"output_dir: {mine} is also job {other['num']}'s run directory; "
                        "in a sweep every job needs its own (leave output_dir unset, or "
                        "make it differ per job, e.g. output_dir='runs/x-${hydra:job.num}')"
                    )
        _write_json(jobs / f"{record['num']}.json", dict(record))
        _rebuild(sweep_dir, jobs)


def sweep_exit_code(jobs: Sequence[Mapping[str, Any]]) -> int:
    """0 when every job ran to the end; 2 when the only failures are bad input; 1 otherwise."""
    statuses = [job.get("status") for job in jobs]
    if not statuses or any(status not in (STATUS_OK, STATUS_FAILED) for status in statuses):
        return 1
    return 2 if STATUS_FAILED in statuses else 0


def finish_index(sweep_dir: Path, *, launched: int | None) -> dict[str, Any]:
    """Mark the sweep finished and return the index. ``launched``: how many jobs the launcher
    returned (None when it did not return: interrupted, or the launcher failed); a job that
    returned without a record counts as a failure."""
    with _locked(sweep_dir) as jobs:
        records = _job_records(jobs)
        code = None
        if launched is not None:
            code = sweep_exit_code(records) if len(records) == launched else 1
        return _rebuild(
            sweep_dir,
            jobs,
            finished=utc_now(),
            complete=launched is not None,
            n_jobs=launched,
            exit_code=code,
        )


def _absolute(sweep_dir: Path, run_dir: str) -> Path:
    return Path(os.path.normpath(sweep_dir / run_dir))


def _relative(path: Path, sweep_dir: Path) -> str:
    """``path`` relative to the sweep directory when inside it, else absolute."""
    try:
        return path.relative_to(sweep_dir).as_posix()
    except ValueError:
        return str(path)


def read_index(sweep_dir: str | Path) -> dict[str, Any]:
    """The index of a sweep directory, each job's ``run_dir`` made an absolute path.

    One-line :class:`InputError` when ``sweep.json`` is missing, not JSON or of a newer format.
    """
    path = Path(sweep_dir) / INDEX_FILE
    if not path.exists():
        raise InputError.at(path, "not found: not a sweep directory (rjdb-bench run -m)")
    index = strict_json.read(path)
    if not isinstance(index, dict) or not isinstance(index.get("jobs"), list):
        raise InputError.at(path, "not a sweep index (no jobs list)")
    if not isinstance(index.get("format"), int) or index["format"] > INDEX_FORMAT:
        raise InputError.at(
            path, f"index format {terminal(repr(index.get('format')), 40)} is not supported"
        )
    for number, job in enumerate(index["jobs"]):
        # A hand-edited or foreign index: every field a reader uses has its type.
        for key, kinds in _JOB_FIELDS.items():
            value = job.get(key) if isinstance(job, dict) else None
            bad = not isinstance(value, kinds) or isinstance(value, bool)
            if bad or (key == "overrides" and not all(isinstance(o, str) for o in value)):
                raise InputError.at(
                    path,
                    f"not a job record (expected {_KIND_WORDS[key]})",
                    field=f"jobs.{number}.{key}",
                )
        if job["run_dir"] is not None:
            job["run_dir"] = str(_absolute(Path(sweep_dir).absolute(), job["run_dir"]))
    return index


class SweepIndexCallback(Callback):
    """Hydra callback (``hydra.callbacks`` in ``configs/sweep.yaml``): a fresh index per sweep."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Runs in the launching process once the sweep's config is composed."""
        sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        _launched["sweep_dir"] = sweep_dir
        start_index(
            sweep_dir,
            launcher=config.hydra.runtime.choices.get("hydra/launcher"),
            overrides=list(config.hydra.overrides.task),
        )


# ---------------------------------------------------------------------------------- a job
def _settings(cfg: DictConfig) -> DictConfig:
    """The job's config resolved, without Hydra's own node (planned as a single run's)."""
    config = copy.deepcopy(cfg)
    with open_dict(config):
        config.pop("hydra", None)  # Hydra passes jobs their config without it; never record it
    try:
        OmegaConf.resolve(config)
    except OmegaConfBaseException as error:
        raise InputError(f"config: {one_line(error, ERROR_LIMIT)}") from None
    return config


def _raw_output_dir(cfg: DictConfig) -> str | None:
    with contextlib.suppress(Exception):
        value = OmegaConf.select(cfg, "output_dir")
        return None if value is None else str(value)
    return None


def run_job(cfg: DictConfig) -> int:
    """One job of a sweep (Hydra's task function): the single-run pipeline, then its record.

    Returns the job's exit code (0, 2 for bad input, 1 for any other error); never raises
    but for ``KeyboardInterrupt``, so one job's failure leaves the others running.
    """
    from hydra.core.hydra_config import HydraConfig

    from rjdb_bench.plan import plan_run

    hydra = HydraConfig.get()
    sweep_dir = Path(str(hydra.sweep.dir)).absolute()
    num = int(hydra.job.num)
    record: dict[str, Any] = {
        "num": num,
        "job_id": str(hydra.job.id),
        "overrides": list(hydra.overrides.task),
        "run_dir": None,
        "status": STATUS_RUNNING,
        "exit_code": None,
        "error": None,
        "host": socket.gethostname(),
        "started": utc_now(),
        "finished": None,
    }
    try:
        plan = plan_run(_settings(cfg), list(hydra.overrides.task))
        record["run_dir"] = _relative(plan.output_dir.absolute(), sweep_dir)
        _save_record(sweep_dir, record, claim=True)
        from rjdb_bench.quiet import quiet_engines
        from rjdb_bench.results.report import print_results
        from rjdb_bench.runner import run

        quiet_engines(plan.verbose)
        results = run(plan)
        print_results(results, str(plan.output_dir))
        status, code, message = STATUS_OK, 0, None
    except InputError as error:
        status, code, message = STATUS_FAILED, 2, one_line(error, ERROR_LIMIT)
        print(f"rjdb-bench: error: job {num}: {message}", file=sys.stderr, flush=True)
    except Exception as error:  # a bug or a crash: keep the traceback, go on with the others
        traceback.print_exc()
        status, code, message = (
            STATUS_ERROR,
            1,
            f"{type(error).__name__}: {one_line(error, ERROR_LIMIT)}",
        )
    if record["run_dir"] is None:
        raw = _raw_output_dir(cfg)
        record["run_dir"] = None if raw is None else _relative(Path(raw).absolute(), sweep_dir)
    record.update(status=status, exit_code=code, error=message, finished=utc_now())
    _save_record(sweep_dir, record)
    return code


# ------------------------------------------------------------------------- the launching side
def run_sweep(overrides: Sequence[str]) -> dict[str, Any]:
    """Run the Hydra multirun of ``overrides`` over ``configs/sweep.yaml``; return its index.

    What ``@hydra.main`` does for ``--multirun`` (``hydra._internal.utils._run_hydra``), with our
    config directory and :func:`run_job` as the task function, but returning here so the
    caller can report every job. Hydra's composition errors propagate (``HydraException``).
    """
    from hydra import version
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.global_hydra import GlobalHydra

    from rjdb_bench.resources import configs_dir
    from rjdb_bench.settings import register_configs

    check_launcher(overrides)
    register_configs()
    version.setbase("1.3")
    _launched["sweep_dir"] = None
    launched = None
    GlobalHydra.instance().clear()
    try:
        hydra = Hydra.create_main_hydra2(
            task_name="rjdb-bench",
            config_search_path=create_config_search_path(f"file://{configs_dir()}"),
        )
        returns = hydra.multirun(
            config_name=SWEEP_CONFIG,
            task_function=run_job,
            overrides=[*overrides, "hydra.mode=MULTIRUN"],
        )
        launched = sum(len(batch) for batch in returns)
    finally:
        GlobalHydra.instance().clear()
        sweep_dir = _launched["sweep_dir"]
        index = finish_index(sweep_dir, launched=launched) if sweep_dir is not None else None
    assert index is not None and sweep_dir is not None
    index["sweep_dir"] = str(sweep_dir)
    return index


def _varying(jobs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Each job's overrides that not every job shares (what the sweep varies)."""
    lists = [list(job.get("overrides") or []) for job in jobs]
    common = set.intersection(*(set(overrides) for overrides in lists)) if lists else set()
    return [[o for o in overrides if o not in common] for overrides in lists]


def print_summary(index: Mapping[str, Any], file: Any = None) -> None:
    """One line for the sweep, one per job (status, run directory, what it varied, error)."""
    file = file or sys.stdout
    jobs = index["jobs"]
    sweep_dir = Path(index["sweep_dir"])
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"sweep: {sweep_dir}: {len(jobs)} jobs, {tally}; index: {INDEX_FILE}", file=file)
    for job, varied in zip(jobs, _varying(jobs), strict=True):
        where = job.get("run_dir") or "-"
        line = f"  #{job['num']} {job['status']:<7} {where}  {' '.join(varied)}".rstrip()
        if job.get("error"):
            line += f"  ({job['error']})"
        print(line, file=file)
