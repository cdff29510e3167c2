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


# backend name -> "module:function"; each function takes (model config, task metadata).
BACKENDS: dict[str, str] = {
    "hf": "rjdb_bench.models.hf:build_hf",
    "oracle": "rjdb_bench.models.builders:build_oracle",
    "baseline": "rjdb_bench.models.builders:build_baseline",
}


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
