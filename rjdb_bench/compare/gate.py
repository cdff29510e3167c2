"""``rjdb-bench compare``: is a candidate run worse than a baseline run, item by item?

Reads run directories only (``rjdb_bench.results.run_dir.read_run``: verified files), never
task code: every metric is recomputed from the per-doc columns in the samples with the
reduction ``results.json`` names for it (``metric_info.<metric>.reduce``), and clusters come
from the samples' ``cluster`` field.

For each gated (task, metric) pair (default: every task's headline metric):

* the two runs must be comparable by the one rule of :mod:`rjdb_bench.compare.comparability`
  (task version, data checksums, the same set of docs, the same scoring; not the prompt), or
  the gate refuses (exit 2, one line); the metric must be present in both;
* 0/1 per-item metrics (accuracy) get an exact one-sided McNemar test; every other metric a
  paired bootstrap that resamples whole clusters (RJDB rows, CVs, sentences) with the same
  draws for both runs;
* p-values are adjusted with Benjamini–Hochberg across the gated pairs of a candidate;
* a pair is a **regression** when its adjusted p < ``alpha`` and the drop is at least the
  minimum effect; an **improvement** when the change is at least the minimum effect in the
  good direction and its interval excludes zero; otherwise **no significant change**.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rjdb_bench.compare import comparability
from rjdb_bench.compare.paired import MCNEMAR, checked_reduction, columns_array, paired_worse
from rjdb_bench.compare.stats import (
    benjamini_hochberg,
    cluster_resample_weights,
    minimum_detectable_drop,
)
from rjdb_bench.errors import InputError
from rjdb_bench.metrics.statistic import Reduction
from rjdb_bench.results.run_dir import Run, read_run
from rjdb_bench.results.writer import RESULTS_FILE
from rjdb_bench.settings import GateSettings
from rjdb_bench.text_safety import terminal

MIN_RESAMPLES, MAX_RESAMPLES = 100, 100_000
MAX_RESAMPLE_CELLS = 50_000_000  # resamples x docs of one task: 400 MB of weights
MAX_MIN_EFFECT = 1.0  # every rjdb-bench metric lies in [0, 1] or [-1, 1]
MAX_SEED = 2**32 - 1
MAX_EXAMPLES = 100


@dataclass
class Row:
    """One gated (task, metric) pair of one candidate: the numbers of the report's table."""

    task: str
    metric: str
    n: int
    higher_is_better: bool
    baseline: float
    baseline_ci: list[float | None]
    candidate: float
    candidate_ci: list[float | None]
    delta: float
    delta_ci: list[float]
    test: str
    p_value: float
    minimum_detectable_drop: float
    min_effect: float
    p_adjusted: float = math.nan
    verdict: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as null)."""
        out = dict(self.__dict__)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out


@dataclass
class Comparison:
    """One candidate against the baseline."""

    baseline: str
    candidate: str
    rows: list[Row]
    notes: list[str]

    @property
    def regressions(self) -> list[Row]:
        """The rows that fail the gate."""
        return [row for row in self.rows if row.verdict == "regression"]


# ------------------------------------------------------------------------------ reading runs
def expand_candidates(paths: Sequence[str | Path]) -> list[Path]:
    """Run directories named on the command line; a sweep directory stands for its jobs."""
    from rjdb_bench.sweep import INDEX_FILE, read_index

    out: list[Path] = []
    for path in map(Path, paths):
        index_file = path / INDEX_FILE
        if not index_file.is_file():
            out.append(path)
            continue
        index = read_index(path)
        jobs = index["jobs"]
        if not jobs:
            raise InputError.at(index_file, "the sweep has no jobs")
        for job in jobs:
            if job.get("status") != "ok" or not job.get("run_dir"):
                raise InputError.at(
                    index_file,
                    f"job {job.get('num')} ({' '.join(job.get('overrides') or [])}) did not "
                    f"finish ({job.get('status')}): nothing to compare",
                )
            out.append(Path(job["run_dir"]))
    return out


def _comparable_run(path: str | Path) -> Run:
    """A verified run whose every metric can be recomputed from its samples' columns."""
    run = read_run(path)
    where = Path(path) / RESULTS_FILE
    for task, record in run.results["tasks"].items():
        info = record.get("metric_info") or {}
        if not all(
            isinstance(i, dict) and "reduce" in i and isinstance(i.get("columns"), str)
            for i in info.values()
        ):
            raise InputError.at(
                where,
                f"task {task} has no metric reductions (written before rjdb-bench could be "
                "compared); re-score the run with `rjdb-bench score`",
            )
        samples = run.samples[task]
        if not all(isinstance(s.get("columns"), dict) and "cluster" in s for s in samples):
            raise InputError.at(
                Path(path) / "samples" / f"{task}.jsonl",
                "no per-doc columns or clusters; re-score the run with `rjdb-bench score`",
            )
        for metric, i in info.items():
            rows = [s["columns"].get(i["columns"]) for s in samples]
            checked_reduction(i["reduce"], rows, f"{where}: {task}:{metric}")
    return run


# ------------------------------------------------------------------------------- checking
def _refuse(candidate: Run, message: str) -> InputError:
    return InputError(f"cannot compare {candidate.path} with the baseline: {message}")


def _check_comparable(baseline: Run, candidate: Run, task: str, metric: str) -> list[str]:
    """Refuse runs that cannot be compared on ``task:metric`` by the comparability rule
    (:mod:`rjdb_bench.compare.comparability`); return notes for the report."""
    base, cand = baseline.results["tasks"], candidate.results["tasks"]
    if task not in base:
        raise InputError(f"{baseline.path}: the baseline has no task {task}")
    if task not in cand:
        raise _refuse(candidate, f"it has no task {task}")
    b, c = base[task], cand[task]
    for name, run_record in (("baseline", b), ("candidate", c)):
        if metric not in run_record.get("metric_info", {}):
            raise _refuse(candidate, f"the {name} has no metric {task}:{metric}")
    base_ids = [s["doc_id"] for s in baseline.samples[task]]
    cand_ids = [s["doc_id"] for s in candidate.samples[task]]
    mine = comparability.run_basis(baseline.results, task, base_ids)
    theirs = comparability.run_basis(candidate.results, task, cand_ids)
    for part in comparability.differences(mine, theirs):
        raise _refuse(candidate, _difference(baseline, candidate, task, part))
    notes = []
    if b.get("prompt_template_sha256") != c.get("prompt_template_sha256"):
        notes.append(
            f"{task}: prompt templates differ (compared all the same: same items, gold and scoring)"
        )
    elif b.get("prompts_sha256") != c.get("prompts_sha256"):
        notes.append(f"{task}: rendered prompts differ (same template; e.g. another chat template)")
    return notes


def _difference(baseline: Run, candidate: Run, task: str, part: str) -> str:
    """The refusal's reason when the runs differ in ``part`` of the comparability rule."""
    b, c = baseline.results["tasks"][task], candidate.results["tasks"][task]
    if part == "task version":
        return f"{task} is version {c.get('version')} there, {b.get('version')} in the baseline"
    if part == "data":
        for key in sorted(set(b.get("data") or []) | set(c.get("data") or [])):
            mine = (baseline.results.get("data") or {}).get(key, {}).get("sha256")
            theirs = (candidate.results.get("data") or {}).get(key, {}).get("sha256")
            if (
                mine != theirs
                or key not in (b.get("data") or [])
                or key not in (c.get("data") or [])
            ):
                return f"{task} read different data ({key}: sha256 {theirs} vs {mine})"
        return f"{task} read different data"
    if part == "doc ids":
        base_ids = {json.dumps(s["doc_id"]) for s in baseline.samples[task]}
        cand_ids = {json.dumps(s["doc_id"]) for s in candidate.samples[task]}
        return (
            f"{task} has different docs ({len(base_ids - cand_ids)} only in the baseline, "
            f"{len(cand_ids - base_ids)} only in the candidate; e.g. a different limit)"
        )
    return f"{task} is scored differently (metric reductions or value-changing scoring settings)"


# ------------------------------------------------------------------------------- testing
def _aligned(baseline: Run, candidate: Run, task: str) -> list[dict[str, Any]]:
    """The candidate's samples of ``task`` in the baseline's doc order."""
    by_id = {json.dumps(s["doc_id"]): s for s in candidate.samples[task]}
    return [by_id[json.dumps(s["doc_id"])] for s in baseline.samples[task]]


def _columns(samples: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    return columns_array([s["columns"][name] for s in samples])


def _variance(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.var(values, ddof=1)) if values.size > 1 else math.nan


def _item_values(reduction: Reduction, columns: np.ndarray) -> np.ndarray:
    """Each doc's own value of the metric (for showing what got worse)."""
    with np.errstate(all="ignore"):
        return np.asarray(reduction(columns), dtype=float)


def _examples(
    baseline: Sequence[Mapping[str, Any]],
    candidate: Sequence[Mapping[str, Any]],
    worse: np.ndarray,
    k: int,
) -> list[dict[str, Any]]:
    """Up to ``k`` docs that got worse, the worst first (samples aligned doc by doc)."""
    picked = [i for i in np.argsort(-worse, kind="stable") if worse[i] > 0][:k]
    return [
        {
            "doc_id": baseline[i]["doc_id"],
            "gold": baseline[i]["gold"],
            "baseline": baseline[i]["prediction"],
            "candidate": candidate[i]["prediction"],
            "baseline_output": baseline[i]["output"],
            "candidate_output": candidate[i]["output"],
            "drop": float(worse[i]),
        }
        for i in picked
    ]


def compare_pair(
    baseline: Run,
    candidate: Run,
    task: str,
    metric: str,
    settings: GateSettings,
    *,
    weights: np.ndarray,
    aligned: Sequence[Mapping[str, Any]],
) -> Row:
    """Test ``task:metric`` of ``candidate`` against ``baseline`` (before the BH adjustment).

    The runs were checked by :func:`_check_comparable`; ``aligned`` holds the candidate's
    samples in the baseline's doc order, ``weights`` the task's cluster resamples.
    """
    base_record = baseline.results["tasks"][task]
    cand_record = candidate.results["tasks"][task]
    info = base_record["metric_info"][metric]
    higher = bool(info["higher_is_better"])
    reduction = Reduction.from_description(info["reduce"])
    base_samples = baseline.samples[task]
    base_cols = _columns(base_samples, info["columns"])
    cand_cols = _columns(aligned, cand_record["metric_info"][metric]["columns"])
    for run, record, cols in (
        (baseline, base_record, base_cols),
        (candidate, cand_record, cand_cols),
    ):
        recorded = record["metrics"].get(metric)
        recomputed = float(reduction(cols.sum(axis=0)))
        if recorded is not None and not math.isclose(recorded, recomputed, abs_tol=1e-6):
            raise InputError.at(
                run.path / RESULTS_FILE,
                f"{task}:{metric} is {recorded} but its samples give {recomputed}",
            )
    test = paired_worse(
        base_cols,
        cand_cols,
        reduction,
        weights=weights,
        higher_is_better=higher,
        confidence=settings.confidence,
        alpha=settings.alpha,
    )
    boot = test.bootstrap
    # The smallest drop this n can show: an unpaired comparison of two runs with these runs'
    # own spreads (paired tests detect smaller drops, so this is an upper bound; two runs
    # without any spread, e.g. perfect ones, give 0). Binary metrics: an exact McNemar test
    # needs at least ceil(log2(1/alpha)) discordant items before it can reject at all.
    spread = math.sqrt(
        _variance(reduction(weights @ base_cols)) + _variance(reduction(weights @ cand_cols))
    )
    detectable = minimum_detectable_drop(spread, alpha=settings.alpha)
    if test.test == MCNEMAR:
        floor = math.ceil(math.log2(1 / settings.alpha)) / max(len(base_samples), 1)
        detectable = max(detectable, floor)
    item_base, item_cand = _item_values(reduction, base_cols), _item_values(reduction, cand_cols)
    worse = (item_base - item_cand) if higher else (item_cand - item_base)
    return Row(
        task=task,
        metric=metric,
        n=len(base_samples),
        higher_is_better=higher,
        baseline=boot.baseline,
        baseline_ci=list(base_record["metrics"].get(f"{metric}_ci") or [None, None]),
        candidate=boot.candidate,
        candidate_ci=list(cand_record["metrics"].get(f"{metric}_ci") or [None, None]),
        delta=boot.delta,
        delta_ci=[float(boot.ci[0]), float(boot.ci[1])],
        test=test.test,
        p_value=float(test.p_value),
        minimum_detectable_drop=float(detectable),
        min_effect=settings.effect_for(task, metric),
        examples=_examples(base_samples, aligned, np.nan_to_num(worse), settings.examples),
    )


def _verdict(row: Row, alpha: float) -> str:
    drop = -row.delta if row.higher_is_better else row.delta
    if math.isfinite(row.p_adjusted) and row.p_adjusted < alpha and drop >= row.min_effect:
        return "regression"
    low, high = row.delta_ci
    better_ci = low > 0 if row.higher_is_better else high < 0
    if -drop >= row.min_effect and better_ci:
        return "improvement"
    return "no significant change"


def gated_pairs(baseline: Run, settings: GateSettings) -> list[tuple[str, str]]:
    """``(task, metric)`` pairs the gate tests: ``settings.metrics`` or every headline."""
    if not settings.metrics:
        return [(task, record["headline"]) for task, record in baseline.results["tasks"].items()]
    pairs = []
    for entry in settings.metrics:
        task, sep, metric = entry.partition(":")
        if not sep or not task or not metric:
            raise InputError(f"--metric: expected task:metric, got {entry!r}")
        pairs.append((task, metric))
    return pairs


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# option -> (test, what it must be). A number that is not finite or out of range could
# switch the gate off (--min-effect nan or 1e308 passes every regression) or exhaust memory.
_CHECKS: dict[str, tuple[Any, str]] = {
    "alpha": (lambda v: _is_number(v) and 0 < v < 1, "a number strictly between 0 and 1"),
    "min_effect": (
        lambda v: _is_number(v) and 0 <= v <= MAX_MIN_EFFECT,
        f"a number from 0 to {MAX_MIN_EFFECT} (a drop in the metric's units)",
    ),
    "resamples": (
        lambda v: _is_integer(v) and MIN_RESAMPLES <= v <= MAX_RESAMPLES,
        f"an integer from {MIN_RESAMPLES} to {MAX_RESAMPLES}",
    ),
    "seed": (lambda v: _is_integer(v) and 0 <= v <= MAX_SEED, f"an integer from 0 to {MAX_SEED}"),
    "examples": (lambda v: _is_integer(v) and 0 <= v <= MAX_EXAMPLES, f"0 to {MAX_EXAMPLES}"),
}


def check_settings(settings: GateSettings, pairs: Sequence[tuple[str, str]] | None = None) -> None:
    """One line (naming the option) unless every option is finite and in range and, given
    the gated ``pairs``, every ``--min-effect-for`` names one of them."""
    for name, (test, expected) in _CHECKS.items():
        value = getattr(settings, name)
        if not test(value):
            option = "--" + name.replace("_", "-")
            raise InputError(f"{option}: expected {expected}, got {terminal(repr(value), 40)}")
    test, expected = _CHECKS["min_effect"]
    for key, value in settings.min_effects.items():
        if not test(value):
            raise InputError(
                f"--min-effect-for: {terminal(key, 80)}: expected {expected}, "
                f"got {terminal(repr(value), 40)}"
            )
    if pairs is None:
        return
    gated = {f"{task}:{metric}" for task, metric in pairs}
    for key in settings.min_effects:
        if key not in gated:
            raise InputError(
                f"--min-effect-for: {terminal(key, 80)} is not a gated metric (gated: "
                f"{terminal(', '.join(sorted(gated)), 200)}; gate it with --metric TASK:METRIC)"
            )


def _check_memory(baseline: Run, tasks: Sequence[str], resamples: int) -> None:
    """Refuse resamples whose weight matrix (resamples x docs, 8 bytes each) would not fit."""
    for task in tasks:
        cells = resamples * len(baseline.samples[task])
        if cells > MAX_RESAMPLE_CELLS:
            raise InputError(
                f"--resamples: {resamples} resamples of {task}'s {len(baseline.samples[task])} "
                f"docs need {cells * 8 / 2**30:.1f} GiB; use at most "
                f"{MAX_RESAMPLE_CELLS // max(len(baseline.samples[task]), 1)}"
            )


def compare_runs(
    baseline_dir: str | Path, candidate_dirs: Sequence[str | Path], settings: GateSettings
) -> list[Comparison]:
    """Compare every candidate with the baseline (every refusal before any test is run)."""
    check_settings(settings)  # the numbers first, before any file is read
    baseline = _comparable_run(baseline_dir)
    candidates = [_comparable_run(path) for path in expand_candidates(candidate_dirs)]
    pairs = gated_pairs(baseline, settings)
    check_settings(settings, pairs)
    notes = [
        sorted({note for t, m in pairs for note in _check_comparable(baseline, candidate, t, m)})
        for candidate in candidates
    ]
    tasks = list(dict.fromkeys(task for task, _ in pairs))
    _check_memory(baseline, tasks, settings.resamples)
    weights = {
        task: cluster_resample_weights(
            [json.dumps(s["cluster"]) for s in baseline.samples[task]],
            n_resamples=settings.resamples,
            seed=settings.seed,
        )
        for task in tasks
    }
    comparisons = []
    for candidate, candidate_notes in zip(candidates, notes, strict=True):
        aligned = {task: _aligned(baseline, candidate, task) for task in tasks}
        rows = [
            compare_pair(
                baseline, candidate, t, m, settings, weights=weights[t], aligned=aligned[t]
            )
            for t, m in pairs
        ]
        finite = [i for i, row in enumerate(rows) if math.isfinite(row.p_value)]
        adjusted = benjamini_hochberg([rows[i].p_value for i in finite])
        for i, p in zip(finite, adjusted, strict=True):
            rows[i].p_adjusted = float(p)
        for row in rows:
            row.verdict = _verdict(row, settings.alpha)
        comparisons.append(
            Comparison(str(baseline.path), str(candidate.path), rows, candidate_notes)
        )
    return comparisons
