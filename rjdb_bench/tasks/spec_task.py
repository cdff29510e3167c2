"""lm-eval tasks defined by a short YAML file with ``class:``, their code half from a TaskSpec.

A YAML file such as::

    task: my_skill_spans
    class: !function rjdb_bench.tasks.spans.SpanExtractionTask
    dataset_kwargs:
      files: [test.conll]
      tag_columns: [1]

becomes a full lm-eval ``ConfigurableTask``: the class fills in everything the YAML leaves
out (the prompt, generation settings, ``process_results``, one ``metric_list`` entry per
metric of its :class:`~rjdb_bench.tasks.base.TaskSpec`, ``doc_to_target``), builds the docs
itself from ``dataset_kwargs`` and the run's metadata, registers the spec under the task's
name, and records which data files it read (:attr:`SpecTask.data_provenance`). Keys the YAML
sets win over the defaults, so a YAML may still replace e.g. ``doc_to_text``.
"""

from __future__ import annotations

import abc
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import datasets
from lm_eval.api.task import ConfigurableTask

from rjdb_bench.data.download import DataFile, sha256_file
from rjdb_bench.errors import InputError
from rjdb_bench.tasks.base import Doc, Item, ScoringSettings, TaskSpec
from rjdb_bench.tasks.demonstrations import DEFAULT_K
from rjdb_bench.tasks.include import yaml_kind
from rjdb_bench.tasks.lm_eval_hooks import DEFAULT_SEED, EVAL_SPLIT, process_results
from rjdb_bench.tasks.registry import register_task_spec

SETTINGS = ("zeroshot", "weak")


class SpecTask(ConfigurableTask):
    """Base class: subclasses set :attr:`SPEC` and implement :meth:`defaults` and :meth:`build`.

    Errors in the YAML's ``dataset_kwargs`` are :class:`InputError` naming the YAML file and the
    field (:meth:`option_error`).
    """

    SPEC: TaskSpec
    #: The ``dataset_kwargs`` keys the class reads; any other key is refused (``None``: not checked).
    OPTIONS: frozenset[str] | None = None

    def __init__(self, config: Mapping[str, Any] | None = None, **_: Any) -> None:
        raw = dict(config or {})
        raw.pop("class", None)
        self.metadata = dict(raw.get("metadata") or {})
        source = self.metadata.get("config_source")
        self.yaml_path = Path(source) if source and source != "inline" else None
        self.yaml_dir = self.yaml_path.parent if self.yaml_path is not None else None
        name = raw.get("task")
        if not name or not isinstance(name, str):
            where = self.yaml_path or self.__class__.__name__
            raise InputError(f"{where}: the YAML needs a `task:` name")
        self.spec = self.spec_for(name)
        options = raw.get("dataset_kwargs") or {}
        if not isinstance(options, Mapping):
            raise self.option_error(
                None, f"expected a mapping of settings, got {yaml_kind(options)}"
            )
        self.options = dict(options)
        self.check_option_names()
        self.data_provenance: dict[str, dict[str, Any]] = {}
        self._corpus: tuple[tuple[int, ...], dict[str, float]] | None = None
        full = {
            "test_split": EVAL_SPLIT,
            "num_fewshot": 0,
            "doc_to_target": "{{target}}",
            "metric_list": self.metric_list(),
            **self.defaults(),
            **raw,
            "process_results": process_results,
        }
        # Our own options are read by build(); lm-eval must not pass them to load_dataset.
        full.pop("dataset_kwargs", None)
        super().__init__(config=full)

    def spec_for(self, name: str) -> TaskSpec:
        """The spec of the task named ``name``: :attr:`SPEC` under that name, registered."""
        spec = replace(self.SPEC, name=name)
        register_task_spec(spec)
        return spec

    def metric_list(self) -> list[dict[str, Any]]:
        """lm-eval ``metric_list`` entries, one per metric of the spec (name and direction)."""
        return [
            {
                "metric": metric.name,
                "aggregation": self._aggregation(metric.name),
                "higher_is_better": metric.higher_is_better,
            }
            for metric in self.spec.metrics
        ]

    def _aggregation(self, metric: str):
        """lm-eval's aggregation of ``metric``: a thin adapter over the task's own scorer.

        Under plain ``lm_eval`` it reports the corpus value (all metrics of the task share one
        scorer call, remembered by this task object). Under ``rjdb-bench run`` (metadata
        ``defer_scoring``) it computes nothing: the scoring stage scores the items afterwards.
        """

        def aggregate(items: list[Item]) -> float:
            if not items or self.metadata.get("defer_scoring"):
                return float("nan")
            key = tuple(map(id, items))
            if self._corpus is None or self._corpus[0] != key:
                settings = ScoringSettings(seed=int(self.metadata.get("seed", DEFAULT_SEED)))
                self._corpus = (key, self.spec.score(items, settings).point_values())
            return self._corpus[1][metric]

        aggregate.__name__ = f"aggregate_{metric}"
        return aggregate

    @abc.abstractmethod
    def defaults(self) -> dict[str, Any]:
        """Task config keys (prompt, output type, generation settings) the YAML may override."""

    @abc.abstractmethod
    def build(self) -> list[Doc]:
        """The task's docs, recording the files read in :attr:`data_provenance`."""

    def download(self, dataset_kwargs: Mapping[str, Any] | None = None, **_: Any) -> None:
        """Build the docs (lm-eval calls this while constructing the task)."""
        docs = self.build()
        if not docs:
            raise InputError(f"task {self.spec.name}: no docs")
        self.dataset = datasets.DatasetDict({EVAL_SPLIT: datasets.Dataset.from_list(docs)})

    def record(self, key: str, source: DataFile) -> DataFile:
        """Note that the task read ``source`` (shown in results under ``data``)."""
        self.data_provenance[key] = source.provenance()
        return source

    @property
    def weak(self) -> bool:
        """Whether the YAML asks for the weak setting (``dataset_kwargs.setting: weak``)."""
        setting = self.option("setting", "zeroshot")
        if setting not in SETTINGS:
            raise self.option_error("setting", f"expected zeroshot or weak, got {setting!r}")
        return setting == "weak"

    def option_error(self, key: str | None, message: str) -> InputError:
        """``<yaml file>: field 'dataset_kwargs.<key>': <message>`` (the task name if no file)."""
        field = "dataset_kwargs" if key is None else f"dataset_kwargs.{key}"
        if self.yaml_path is not None:
            return InputError.at(self.yaml_path, message, field=field)
        return InputError(f"task {self.spec.name}: field {field!r}: {message}")

    def check_option_names(self) -> None:
        """Refuse ``dataset_kwargs`` keys outside :attr:`OPTIONS` (a typo would be ignored)."""
        if self.OPTIONS is None:
            return
        for key in self.options:
            if key not in self.OPTIONS:
                close = difflib.get_close_matches(str(key), self.OPTIONS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(sorted(self.OPTIONS))
                raise self.option_error(key, f"unknown setting{hint}; known: {known}")

    def demonstration_rows(self) -> tuple[Sequence[Mapping[str, Any]], int, int]:
        """RJDB rows for the weak setting's demonstrations, with ``k`` and the seed; records RJDB."""
        from rjdb_bench.tasks.lm_eval_hooks import load_row_dicts, rjdb_provenance

        self.data_provenance["rjdb"] = rjdb_provenance(self.metadata)
        k = int(self.metadata.get("ood_k", DEFAULT_K))
        seed = int(self.metadata.get("seed", DEFAULT_SEED))
        return load_row_dicts(self.metadata), k, seed

    def option(self, key: str, default: Any = None) -> Any:
        """``dataset_kwargs[key]`` from the YAML, else ``default``."""
        value = self.options.get(key)
        return default if value is None else value

    def source(self, relpath: str) -> DataFile:
        """Locate a data file the YAML names and record it.

        An absolute path, or a path relative to the YAML's folder that exists there, is a
        local file; anything else is a path under the OOD data folder (metadata
        ``ood_data_dir``, ``$RJDB_OOD_DIR``, or the pinned download:
        :func:`rjdb_bench.data.ood.locate_ood`).
        """
        from rjdb_bench.data.ood import locate_ood

        path = Path(relpath).expanduser()
        if (
            not path.is_absolute()
            and self.yaml_dir is not None
            and (self.yaml_dir / path).is_file()
        ):
            path = (self.yaml_dir / path).absolute()
        if path.is_absolute():
            if not path.is_file():
                raise InputError.at(path, f"task {self.spec.name}: data file not found")
            return self.record(relpath, DataFile(path, sha256_file(path), "local"))
        return self.record(
            relpath, locate_ood(relpath, ood_dir=self.metadata.get("ood_data_dir") or None)
        )
