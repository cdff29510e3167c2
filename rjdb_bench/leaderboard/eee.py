"""Every Eval Ever (EEE) records from a run directory or a board.

EEE (the ``every-eval-ever`` package, schema 0.3.0) stores one *aggregate* record per
evaluation (``eval.schema.json``) and, beside it, an optional JSON Lines file of *instance*
records (``instance_level_eval.schema.json``), at ``data/<collection>/<developer>/<model>/
<uuid>.json`` and ``<uuid>_samples.jsonl``. :func:`export_run` writes both for a verified run
(one aggregate result per task and metric, one instance record per document and per metric
that has a per-document score); :func:`export_board` writes one aggregate record per board
entry (a board keeps no prompts or outputs, so no instance records). The package itself is
not a dependency (it needs Python >= 3.12); the tests validate what is written here against
its schema files. See ``docs/eee-export.md``.

File names are UUIDv4-shaped but derived from the run's ``results_sha256`` (or the board
entry), so exporting the same run again replaces its files instead of adding copies.
Nothing is read from the environment: the records hold what ``results.json`` or the board
holds, and those never contain credentials.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from rjdb_bench.atomic import atomic_path
from rjdb_bench.backends import recorded_backend_info
from rjdb_bench.data.ood import OOD_DATASETS, OOD_FILES
from rjdb_bench.data.rjdb import RJDB_COMMIT, RJDB_PINNED, RJDB_REPO, RJDB_URL_BASE
from rjdb_bench.errors import InputError
from rjdb_bench.leaderboard.board import BOARD_FILE, METRIC_FACTS, read_board, read_items, reading
from rjdb_bench.leaderboard.reported import is_reported
from rjdb_bench.metrics.spec import PROPORTION
from rjdb_bench.metrics.statistic import prf_from_counts
from rjdb_bench.results.run_dir import Run, read_run, results_digest
from rjdb_bench.results.writer import json_line, results_text

SCHEMA_VERSION = "0.3.0"  # the every-eval-ever schema these records follow
COLLECTION = "rjdb-bench"  # data/<collection>/... in an EEE datastore
LIBRARY = "rjdb-bench"
METRIC_NAMESPACE = "rjdb-bench"  # metric_id = "<namespace>.<metric>"
RJDB_HOME = f"https://github.com/{RJDB_REPO}"
UNKNOWN_DEVELOPER = "unknown_developer"  # the path component for an id without a developer

_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)),
}
_OOD_PREFIXES = {"ood_green": "green", "ood_skillspan": "skillspan", "ood_vacancy": "vacancy"}


# ------------------------------------------------------------------------------- helpers
def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    """``additional_details``: every value a string (JSON for non-strings), None left out."""
    return {
        str(key): value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        for key, value in values.items()
        if value is not None
    }


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _file_uuid(basis: str) -> str:
    """A UUIDv4-shaped id derived from ``basis`` (stable: the same export, the same name)."""
    return str(uuid.UUID(bytes=hashlib.sha256(basis.encode("utf-8")).digest()[:16], version=4))


def _unix(timestamp: Any) -> str | None:
    """An ISO timestamp (as results record ``created``) as Unix seconds, or None."""
    try:
        return str(int(datetime.fromisoformat(str(timestamp)).timestamp()))
    except ValueError:
        return None


def _path_component(value: str) -> str:
    """``value`` as one portable path component (EEE's rules: no ``/ : * ? " < > |``)."""
    cleaned = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in value[:100])
    cleaned = cleaned.rstrip(". ") or "_"
    reserved = cleaned == "data" or cleaned.split(".", 1)[0].upper() in _WINDOWS_RESERVED
    return f"_{cleaned}" if reserved else cleaned


# ---------------------------------------------------------------------------- model_info
def model_id(model: Mapping[str, Any]) -> str:
    """The model in Hugging Face ``developer/name`` form where that is known.

    >>> model_id({"name": "x", "hub_id": "HuggingFaceTB/SmolLM2-135M"})
    'HuggingFaceTB/SmolLM2-135M'
    >>> model_id({"name": "oracle", "kind": "oracle"})
    'rjdb-bench/oracle'
    >>> model_id({"name": "gpt", "kind": "openai", "model": "gpt-4o", "base_url": "https://api.openai.com/v1"})
    'openai/gpt-4o'
    """
    name = str(model.get("name") or "unnamed")
    backend = recorded_backend_info(model)
    if model.get("hub_id"):
        return str(model["hub_id"])
    if backend.get("public_id"):
        return str(backend["public_id"])
    if backend.get("reference"):
        return f"{LIBRARY}/{name}"
    if model.get("kind") == "openai" and model.get("model"):
        served = str(model["model"])
        if "/" not in served and urlsplit(str(model.get("base_url") or "")).hostname == (
            "api.openai.com"
        ):
            return f"openai/{served}"
        return served
    return name


def _deployment(model: Mapping[str, Any]) -> str:
    if model.get("kind") != "openai":
        return "self_deployed"
    host = urlsplit(str(model.get("base_url") or "")).hostname or ""
    return "self_deployed" if host in ("127.0.0.1", "localhost", "::1") else "unknown"


def _availability(model: Mapping[str, Any]) -> str:
    if model.get("hub_id") or model.get("source_package"):
        return "open_weights"
    return "unknown"


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (``settings.batch_size``)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def model_info(model: Mapping[str, Any], libraries: Mapping[str, Any]) -> dict[str, Any]:
    """EEE ``model_info`` for the ``model`` block of a results file or board entry."""
    identifier = model_id(model)
    info: dict[str, Any] = {"name": str(model.get("name") or identifier), "id": identifier}
    if "/" in identifier:
        info["developer"] = identifier.split("/", 1)[0]
    kind = str(model.get("kind") or "")
    if kind == "openai":
        info["inference_platform"] = urlsplit(str(model.get("base_url") or "")).hostname or "openai"
    elif model.get("hub_id"):
        info["inference_platform"] = "huggingface"
    engine = recorded_backend_info(model).get("engine")
    if engine:
        version = model.get("vllm_version") if kind == "vllm" else libraries.get(engine)
        info["inference_engine"] = {
            "name": engine,
            **({"version": str(version)} if version else {}),
        }
    details = {"deployment_type": _deployment(model), "model_availability": _availability(model)}
    info["additional_details"] = details | _strings(_flatten(model, "rjdb_bench.model."))
    return info


# --------------------------------------------------------------------------- source_data
def _rjdb_source(source: Mapping[str, Any] | None) -> dict[str, Any]:
    """RJDB: the repository at the pinned commit when the recorded file is the pinned one."""
    source = source or {}
    split = str(source.get("split") or "test")
    sha = source.get("sha256")
    relpath, pinned_sha = RJDB_PINNED.get(split, (None, None))
    pinned = sha is not None and sha == pinned_sha
    urls = (
        [f"{RJDB_HOME}/tree/{RJDB_COMMIT}", f"{RJDB_URL_BASE}{relpath}"] if pinned else [RJDB_HOME]
    )
    details = {
        "split": split,
        "sha256": sha,
        "commit": RJDB_COMMIT if pinned else None,
        "pinned": "true" if pinned else ("false" if sha else "unknown"),
    }
    return {
        "dataset_name": f"RJDB ({split})",
        "source_type": "url",
        "url": urls,
        "additional_details": _strings(details),
    }


def _ood_source(dataset: str, keys: Sequence[str], data: Mapping[str, Any]) -> dict[str, Any]:
    """An OOD dataset: the pinned upstream file URLs, and the sha256 of every file used."""
    known = OOD_DATASETS.get(dataset)
    recorded = {key: (data.get(key) or {}).get("sha256") for key in keys}
    urls = [OOD_FILES[key].url() for key in keys if key in OOD_FILES]
    urls += [str(data[key]["url"]) for key in keys if key not in OOD_FILES and data[key].get("url")]
    if not urls and known is not None:
        urls = [f"https://github.com/{u.repo}/tree/{u.commit}" for u in known.upstreams]
    pinned = bool(keys) and all(
        key in OOD_FILES and recorded[key] == OOD_FILES[key].sha256 for key in keys
    )
    details = {
        "files_sha256": recorded or None,
        "pinned": "true" if pinned else ("false" if keys else "unknown"),
        "licence": known.licence if known else None,
    }
    name = known.title.split(":")[0].split(" (")[0] if known else dataset
    found: dict[str, Any] = {"dataset_name": name, "source_type": "url" if urls else "other"}
    if urls:
        found["url"] = urls
    return found | {"additional_details": _strings(details)}


def source_data(task: str, keys: Sequence[str] | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """EEE ``source_data`` of a task from the data files a run records (``keys``; None for a
    board entry, which records no data files)."""
    keys = list(keys or [])
    if "rjdb" in keys or (not keys and task.startswith("rjdb_")):
        return _rjdb_source(data.get("rjdb"))
    dataset = next((d for p, d in _OOD_PREFIXES.items() if task.startswith(p)), None)
    if dataset is None and keys:
        dataset = keys[0].split("/")[0]
    return _ood_source(dataset or task, [k for k in keys if k in data], data)


# ------------------------------------------------------------------------- metric_config
def metric_config(
    task: str,
    name: str,
    facts: Mapping[str, Any],
    *,
    headline: bool,
    task_version: Any = None,
) -> dict[str, Any]:
    """EEE ``metric_config`` of one metric, from the facts its run recorded (``metric_info``:
    direction, family, kind, bounds, display name; :mod:`rjdb_bench.metrics.spec`).

    Runs written before rjdb-bench recorded a metric's kind and bounds export without them
    (``bounds_status: unknown``): nothing is guessed from a metric's name.

    >>> facts = {"family": "ranking", "higher_is_better": True, "kind": "correlation",
    ...          "bounds": [-1.0, 1.0], "display_name": "Spearman rho"}
    >>> config = metric_config("ood_vacancy_weak", "spearman", facts, headline=True)
    >>> config["metric_kind"], config["min_score"], config["metric_name"], "metric_unit" in config
    ('correlation', -1.0, 'Spearman rho', False)
    """
    family = str(facts.get("family"))
    config: dict[str, Any] = {
        "evaluation_description": f"{name} of rjdb-bench task {task}"
        + (" (the task's headline metric)" if headline else ""),
        "metric_id": f"{METRIC_NAMESPACE}.{name}",
        "metric_name": str(facts.get("display_name") or name),
        "lower_is_better": not bool(facts.get("higher_is_better", True)),
    }
    if facts.get("kind"):
        config["metric_kind"] = str(facts["kind"])
    bounds = facts.get("bounds")
    details = {"family": family, "headline": "true" if headline else "false"}
    if task_version is not None:
        details["task_version"] = str(task_version)
    if not (isinstance(bounds, Sequence) and len(bounds) == 2 and all(map(_finite, bounds))):
        details["bounds_status"] = "unknown"
    else:
        low, high = float(bounds[0]), float(bounds[1])
        config |= {"score_type": "continuous", "min_score": low, "max_score": high}
        if (low, high) == (0.0, 1.0):
            config["metric_unit"] = PROPORTION
    config["additional_details"] = details
    return config


@dataclass(frozen=True)
class Uncertainty:
    """How a run's intervals were computed (``results["scoring"]``)."""

    confidence: float = 0.95
    resamples: int | None = None

    @classmethod
    def of(cls, scoring: Mapping[str, Any] | None) -> Uncertainty:
        """From a results file's ``scoring`` block (board entries have none: the defaults)."""
        scoring = scoring or {}
        confidence = scoring.get("confidence")
        resamples = scoring.get("bootstrap_resamples")
        return cls(
            float(confidence) if _finite(confidence) else 0.95,
            resamples if isinstance(resamples, int) else None,
        )


def score_details(
    value: float, ci: Sequence[Any] | None, n: int | None, uncertainty: Uncertainty
) -> dict[str, Any]:
    """EEE ``score_details``: the value, its bootstrap interval and the number of docs."""
    details: dict[str, Any] = {"score": value}
    spread: dict[str, Any] = {}
    if ci and len(ci) == 2 and all(_finite(bound) for bound in ci):
        spread["confidence_interval"] = {
            "lower": ci[0],
            "upper": ci[1],
            "confidence_level": uncertainty.confidence,
            "method": "bootstrap",
        }
        if uncertainty.resamples is not None:
            spread["num_bootstrap_samples"] = uncertainty.resamples
    if isinstance(n, int):
        spread["num_samples"] = n
    if spread:
        details["uncertainty"] = spread
    return details


def generation_config(record: Mapping[str, Any], command: Any) -> dict[str, Any] | None:
    """EEE ``generation_config`` from a task's ``generation_kwargs`` (and the run command)."""
    kwargs = record.get("generation_kwargs") or {}
    args: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k")):
        if _finite(kwargs.get(ours)):
            args[theirs] = kwargs[ours]
    if isinstance(kwargs.get("max_gen_toks"), int) and kwargs["max_gen_toks"] >= 1:
        args["max_tokens"] = kwargs["max_gen_toks"]
    if isinstance(command, str) and command:
        args["execution_command"] = command
    mapped = ("temperature", "top_p", "top_k", "max_gen_toks")
    rest = {k: v for k, v in kwargs.items() if k not in mapped}
    rest |= {key: record.get(key) for key in ("prompt_template_sha256", "prompts_sha256")}
    details = _strings(rest)
    if not args and not details:
        return None
    return {"generation_args": args, "additional_details": details}


# ---------------------------------------------------------------------- aggregate records
def result_id(task: str, metric: str) -> str:
    """``evaluation_result_id``: the join key of aggregate results and instance records."""
    return f"{task}.{metric}"


@dataclass(frozen=True)
class TaskView:
    """What one task contributes to an aggregate record, from a run or a board entry."""

    name: str
    record: Mapping[str, Any]  # version, headline, n, generation_kwargs, prompt digests
    metrics: Mapping[str, Mapping[str, Any]]  # metric -> value, ci, family, higher_is_better
    source: Mapping[str, Any]  # EEE source_data


def evaluation_results(
    tasks: Iterable[TaskView], uncertainty: Uncertainty, timestamp: str | None, command: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    """One EEE result per task and metric with a finite value, and the metrics left out."""
    results, skipped = [], []
    for task in tasks:
        generation = generation_config(task.record, command)
        for name, metric in task.metrics.items():
            value = metric.get("value")
            if not _finite(value):
                skipped.append(result_id(task.name, name))
                continue
            item: dict[str, Any] = {
                "evaluation_result_id": result_id(task.name, name),
                "evaluation_name": task.name,
                "source_data": dict(task.source),
                "metric_config": metric_config(
                    task.name,
                    name,
                    metric,
                    headline=name == task.record.get("headline"),
                    task_version=task.record.get("version"),
                ),
                "score_details": score_details(
                    value, metric.get("ci"), task.record.get("n"), uncertainty
                ),
            }
            if timestamp:
                item["evaluation_timestamp"] = timestamp
            if generation:
                item["generation_config"] = generation
            results.append(item)
    return results, skipped


def _aggregate(
    *,
    file_uuid: str,
    model: Mapping[str, Any],
    environment: Mapping[str, Any],
    source_type: str,
    created: Any,
    results: list[dict[str, Any]],
    provenance: Mapping[str, Any],
) -> dict[str, Any]:
    libraries = environment.get("libraries") or {}
    info = model_info(model, libraries)
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "evaluation_id": f"{COLLECTION}/{info['id']}/{file_uuid}",
        "retrieved_timestamp": str(time.time()),
        "source_metadata": {
            "source_name": LIBRARY,
            "source_type": source_type,
            "source_organization_name": LIBRARY,
            "evaluator_relationship": "third_party",
            "additional_details": _strings(provenance),
        },
        "model_info": info,
        "eval_library": {
            "name": LIBRARY,
            "version": str(environment.get("rjdb_bench_version") or "unknown"),
            "additional_details": _strings(
                {
                    "lm_eval_version": libraries.get("lm-eval"),
                    "python": environment.get("python"),
                    **{f"library.{k}": v for k, v in libraries.items()},
                }
            ),
        },
        "evaluation_results": results,
    }
    timestamp = _unix(created)
    if timestamp:
        record["evaluation_timestamp"] = timestamp
    return record


def run_tasks(run: Run) -> list[TaskView]:
    """The tasks of a verified run; :class:`InputError` if it predates recorded metric info."""
    data = run.results.get("data") or {}
    views = []
    for task, record in run.results["tasks"].items():
        info = record.get("metric_info")
        if not isinstance(info, Mapping) or not info:
            raise InputError.at(
                run.path / "results.json",
                "no metric directions or families (written before rjdb-bench recorded them); "
                "re-score it with `rjdb-bench score`",
                field=f"tasks.{task}.metric_info",
            )
        metrics = {
            name: {
                "value": record["metrics"].get(name),
                "ci": record["metrics"].get(f"{name}_ci"),
                **{fact: meta[fact] for fact in METRIC_FACTS if fact in meta},
                "family": meta.get("family"),
                "higher_is_better": meta.get("higher_is_better", True),
            }
            for name, meta in info.items()
        }
        views.append(TaskView(task, record, metrics, source_data(task, record.get("data"), data)))
    return views


def run_record(run: Run, file_uuid: str) -> dict[str, Any]:
    """The EEE aggregate record of a verified run (without ``detailed_evaluation_results``)."""
    results = run.results
    scoring = results.get("scoring") or {}
    items, skipped = evaluation_results(
        run_tasks(run),
        Uncertainty.of(scoring),
        _unix(results.get("created")),
        results.get("command"),
    )
    provenance = {
        "results_sha256": results.get("results_sha256") or results_digest(results),
        "verified_checksums": "true" if run.verified_checksums else "false",
        "created": results.get("created"),
        "limit": results.get("limit"),
        "seed": results.get("seed"),
        "backend": (results.get("config", {}).get("model") or {}).get("backend"),
        "bootstrap": scoring.get("bootstrap"),
        "suites": results.get("suites") or None,
        "metrics_without_value": skipped or None,
    }
    return _aggregate(
        file_uuid=file_uuid,
        model=results["model"],
        environment=results.get("environment") or {},
        source_type="evaluation_run",
        created=results.get("created"),
        results=items,
        provenance=provenance,
    )


def _with_facts(record: Mapping[str, Any]) -> dict[str, Any]:
    """A board task's metrics, each with the facts its run recorded (``metric_facts``)."""
    facts = record.get("metric_facts") or {}
    return {name: {**facts.get(name, {}), **score} for name, score in record["metrics"].items()}


def board_record(entry: Mapping[str, Any], items_sha256: str, file_uuid: str) -> dict[str, Any]:
    """The EEE aggregate record of one board entry (the board keeps aggregates only)."""
    views = [
        TaskView(task, record, _with_facts(record), source_data(task, None, {}))
        for task, record in entry["tasks"].items()
    ]
    created = entry.get("date")
    items, skipped = evaluation_results(
        views, Uncertainty.of(None), _unix(created), entry.get("command")
    )
    provenance = {
        "board_entry_id": entry["id"],
        "reference": entry.get("reference"),
        "backend": entry.get("backend"),
        "dtype": entry.get("dtype"),
        "created": created,
        "limit": entry.get("limit"),
        "seed": entry.get("seed"),
        "items_sha256": items_sha256,
        "suites": entry.get("suites") or None,
        "comparability": {t: r.get("comparability") for t, r in entry["tasks"].items()},
        "metrics_without_value": skipped or None,
    }
    return _aggregate(
        file_uuid=file_uuid,
        model=entry["model"],
        environment={"rjdb_bench_version": entry.get("harness_version")},
        source_type="documentation",
        created=created,
        results=items,
        provenance=provenance,
    )


# ----------------------------------------------------------------------- instance records
def reported_record(entry: Mapping[str, Any], file_uuid: str) -> dict[str, Any]:
    """The EEE aggregate record of a literature row: ``source_type: documentation`` (numbers
    a paper reports, no per-item outputs), the paper as the source, the task's protocol."""
    views = [
        TaskView(task, record, _with_facts(record), source_data(task, None, {}))
        for task, record in entry["tasks"].items()
    ]
    items, skipped = evaluation_results(views, Uncertainty.of(None), None, None)
    source = entry["source"]
    provenance = {
        "board_entry_id": entry["id"],
        "kind": "reported",
        "paper": source.get("paper"),
        "table": source.get("table"),
        "year": source.get("year"),
        "url": source.get("url"),
        "note": entry.get("note"),
        "protocol": {t: r.get("protocol") for t, r in entry["tasks"].items()},
        "added": entry.get("date"),
        "metrics_without_value": skipped or None,
    }
    record = _aggregate(
        file_uuid=file_uuid,
        model=entry["model"],
        environment={},
        source_type="documentation",
        created=None,
        results=items,
        provenance=provenance,
    )
    record["source_metadata"]["source_name"] = f"{source['paper']}, {source['table']}"
    record["source_metadata"]["source_organization_name"] = str(source["paper"])
    # Who ran the evaluation the paper reports is not recorded here.
    record["source_metadata"]["evaluator_relationship"] = "other"
    if source.get("url"):
        record["source_metadata"]["source_organization_url"] = str(source["url"])
    return record


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def item_scores(task: Mapping[str, Any], scores: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """A document's score per metric of its task, where a per-document score exists, with the
    rule that gave it: the metric's own per-doc score; for the headline, else the doc's
    ``correct`` (accuracy) or ``f1``, else its F1 from ``tp``/``fp``/``fn``.

    >>> item_scores({"headline": "micro_f1", "metric_info": {"micro_f1": {}}},
    ...             {"tp": 1.0, "fp": 1.0, "fn": 0.0})
    {'micro_f1': (0.6666666666666666, 'per-doc F1 from scores.tp/fp/fn')}
    """
    out = {
        name: (float(scores[name]), f"scores.{name}")
        for name in task.get("metric_info") or {}
        if _finite(scores.get(name))
    }
    headline = str(task.get("headline"))
    if headline in out:
        return out
    for key in ("correct", "f1"):
        if _finite(scores.get(key)):
            out[headline] = (float(scores[key]), f"scores.{key}")
            return out
    tp, fp, fn = (scores.get(k) for k in ("tp", "fp", "fn"))
    if all(_finite(v) for v in (tp, fp, fn)):
        out[headline] = (float(prf_from_counts(tp, fp, fn)[2]), "per-doc F1 from scores.tp/fp/fn")
    return out


def instance_records(run: Run, evaluation_id: str, identifier: str) -> list[dict[str, Any]]:
    """EEE instance records of a run: per document, one per metric with a per-doc score.

    Run directories keep each prompt's sha256, not its text, so ``input.raw`` is empty and the
    digest is in ``metadata.prompt_sha256``.
    """
    records = []
    for task, samples in run.samples.items():
        record = run.results["tasks"][task]
        for sample in samples:
            reference = _text(sample["gold"])
            common = {
                "schema_version": SCHEMA_VERSION,
                "evaluation_id": evaluation_id,
                "model_id": identifier,
                "evaluation_name": task,
                "sample_id": _text(sample["doc_id"]),
                "sample_hash": _sha256(
                    json.dumps([sample.get("prompt_hash"), reference], ensure_ascii=False)
                ),
                "interaction_type": "single_turn",
                "input": {"raw": "", "reference": [reference]},
                "output": {"raw": [_text(sample["output"])]},
                "answer_attribution": [
                    {
                        "turn_idx": 0,
                        "source": "output.raw",
                        "extracted_value": _text(sample["prediction"]),
                        "extraction_method": f"rjdb-bench {task} parser",
                        "is_terminal": True,
                    }
                ],
            }
            metadata = _strings(
                {
                    "prompt_sha256": sample.get("prompt_hash"),
                    "cluster": sample.get("cluster"),
                    "parsed_ok": sample.get("parsed_ok"),
                    "scores": sample.get("scores"),
                }
            )
            for metric, (score, rule) in item_scores(record, sample["scores"]).items():
                records.append(
                    common
                    | {
                        "evaluation_result_id": result_id(task, metric),
                        "evaluation": {"score": score, "is_correct": score == 1.0},
                        "metadata": metadata | {"score_rule": rule},
                    }
                )
    return records


# --------------------------------------------------------------------------------- files
def _data_dir(out_dir: str | Path) -> Path:
    """The datastore's ``data`` folder: ``OUT`` itself when it is named ``data``, else
    ``OUT/data``. :class:`InputError` when ``OUT`` (or a parent) is a file."""
    out = Path(out_dir).expanduser().absolute()
    for ancestor in [out, *out.parents]:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise InputError(f"{ancestor}: is a file, not a folder (OUT must be a folder)")
            break
    return out if out.name == "data" else out / "data"


def repo_path(info: Mapping[str, Any], filename: str) -> str:
    """``data/<collection>/<developer>/<model>/<filename>`` (EEE's datastore layout)."""
    identifier = str(info["id"])
    if "/" in identifier:
        developer, name = identifier.split("/", 1)
    else:
        developer, name = str(info.get("developer") or UNKNOWN_DEVELOPER), identifier
    return str(
        PurePosixPath(
            "data", COLLECTION, _path_component(developer), _path_component(name), filename
        )
    )


def _write(path: Path, data: bytes) -> Path:
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as error:
        # Name the record, never atomic_path's temporary file beside it.
        raise InputError(f"{path}: cannot write ({error.strerror or error})") from None
    return path


def export_run(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the EEE aggregate record of the run in ``run_dir`` and its instance records.

    Returns the paths written: ``<uuid>.json`` and (when any document has a per-document
    score) ``<uuid>_samples.jsonl``, under ``OUT/data/rjdb-bench/<developer>/<model>/``.
    A damaged run is refused with :func:`read_run`'s one-line :class:`InputError`.
    """
    data_dir = _data_dir(out_dir)
    run = read_run(run_dir)
    seal = run.results.get("results_sha256") or results_digest(run.results)
    file_uuid = _file_uuid(f"rjdb-bench eee run {seal}")
    record = run_record(run, file_uuid)
    aggregate = repo_path(record["model_info"], f"{file_uuid}.json")
    written = []
    rows = instance_records(run, record["evaluation_id"], record["model_info"]["id"])
    if rows:
        samples = repo_path(record["model_info"], f"{file_uuid}_samples.jsonl")
        data = "".join(json_line(row) for row in rows).encode("utf-8")
        written.append(_write(data_dir.parent / samples, data))
        record["detailed_evaluation_results"] = {
            "format": "jsonl",
            "file_path": samples,
            "hash_algorithm": "sha256",
            "checksum": _sha256(data),
            "total_rows": len(rows),
        }
    written.insert(0, _write(data_dir.parent / aggregate, results_text(record).encode("utf-8")))
    return written


def export_board(board_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write one EEE aggregate record per entry of the board in ``board_dir``; returns the
    paths written. Each entry's per-item file is checked against its recorded sha256."""
    data_dir = _data_dir(out_dir)
    board_dir = Path(board_dir)
    if not (board_dir / BOARD_FILE).is_file():
        raise InputError(f"{board_dir / BOARD_FILE}: no board here (missing)")
    with reading(board_dir):
        board = read_board(board_dir)
        for entry in board["entries"]:
            if not is_reported(entry):
                read_items(board_dir, entry)  # verifies the per-item file against the board
    written = []
    for entry in board["entries"]:
        if is_reported(entry):
            file_uuid = _file_uuid(f"rjdb-bench eee reported {entry['id']}")
            record = reported_record(entry, file_uuid)
            path = repo_path(record["model_info"], f"{file_uuid}.json")
            written.append(_write(data_dir.parent / path, results_text(record).encode("utf-8")))
            continue
        items_sha256 = entry["items"]["sha256"]
        file_uuid = _file_uuid(f"rjdb-bench eee board {entry['id']} {items_sha256}")
        record = board_record(entry, items_sha256, file_uuid)
        path = repo_path(record["model_info"], f"{file_uuid}.json")
        written.append(_write(data_dir.parent / path, results_text(record).encode("utf-8")))
    return written


__all__ = [
    "COLLECTION",
    "SCHEMA_VERSION",
    "board_record",
    "export_board",
    "export_run",
    "instance_records",
    "model_id",
    "model_info",
    "repo_path",
    "reported_record",
    "run_record",
]
