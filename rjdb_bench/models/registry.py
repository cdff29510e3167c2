"""Backends by name, imported only when used (the CLI never imports torch for the oracle)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lm_eval.api.model import LM

from rjdb_bench.errors import InputError


@dataclass
class LoadedModel:
    """A ready lm-eval model plus what results files must record about it."""

    lm: LM
    identity: dict[str, Any]
    apply_chat_template: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    # Whether answers are worth caching (not for the instant oracle and baselines).
    cacheable: bool = True

    def cache_namespace(self) -> dict[str, Any]:
        """What, besides the request, decides an answer: the response cache's namespace."""
        settings = {k: v for k, v in self.settings.items() if k not in _TRANSPORT_SETTINGS}
        return {
            "identity": self.identity,
            "settings": settings,
            "chat_template": self.apply_chat_template,
        }


# Settings that change how answers are fetched, never what they are.
_TRANSPORT_SETTINGS = frozenset({"max_concurrency", "max_retries", "timeout"})


# backend name -> "module:function"; each function takes (model config, task metadata).
BACKENDS: dict[str, str] = {
    "hf": "rjdb_bench.models.hf:build_hf",
    "vllm": "rjdb_bench.models.vllm_engine:build_vllm",
    "oracle": "rjdb_bench.models.builders:build_oracle",
    "baseline": "rjdb_bench.models.builders:build_baseline",
    "openai": "rjdb_bench.models.openai_compat:build_openai",
}


# Backends whose models return log-likelihoods (the OOD vacancy task then scores P(Yes)).
LOGLIKELIHOOD_BACKENDS = frozenset({"hf", "vllm"})


def use_chat_template(setting: Any, tokenizer: Any) -> bool:
    """Resolve ``model.apply_chat_template`` (``auto``/true/false) against the tokenizer."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if setting == "auto":
        return has_template
    if setting and not has_template:
        raise InputError("model.apply_chat_template: the tokenizer has no chat template")
    return bool(setting)


def build_model(config: Mapping[str, Any], task_metadata: Mapping[str, Any]) -> LoadedModel:
    """Build the model that ``config['backend']`` names.

    ``task_metadata`` is what the tasks were given (data split and location, seed), for
    backends that need the data themselves (the baseline's cross-fitted lexicon).
    """
    backend = config.get("backend")
    if backend not in BACKENDS:
        raise InputError(
            f"model.backend: unknown backend {backend!r}; known: {', '.join(BACKENDS)}"
        )
    module_name, function_name = BACKENDS[backend].split(":")
    builder: Callable[[Mapping[str, Any], Mapping[str, Any]], LoadedModel] = getattr(
        importlib.import_module(module_name), function_name
    )
    return builder(config, task_metadata)
