"""What a built model is (:class:`LoadedModel`), and building one from its backend's registration.

Backends are registered in :mod:`rjdb_bench.backends`; :func:`build_model` finds the
registration by name and calls its builder with the typed settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rjdb_bench.backends import Backend, backend, typed_settings
from rjdb_bench.errors import InputError

if TYPE_CHECKING:
    from lm_eval.api.model import LM


@dataclass
class LoadedModel:
    """A ready lm-eval model plus what results files must record about it."""

    lm: LM
    identity: dict[str, Any]
    apply_chat_template: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    # Whether answers are worth caching (not for the instant oracle and baselines).
    cacheable: bool = True
    # Whether the backend applies a per-request output constraint (generation kwarg
    # OUTPUT_CONSTRAINT_KEY). The runner puts one into a task's requests only when this is
    # True; backends that declare False never receive one.
    accepts_output_constraints: bool = False
    # Its backend's registration (set by build_model).
    backend: Backend | None = None
    # The model's public id where its identity does not carry one (the embedded default's
    # Hugging Face id); exports use it.
    public_id: str | None = None

    def cache_namespace(self) -> dict[str, Any]:
        """What, besides the request, decides an answer: the response cache's namespace."""
        settings = {k: v for k, v in self.settings.items() if k not in _TRANSPORT_SETTINGS}
        return {
            "identity": self.identity,
            "settings": settings,
            "chat_template": self.apply_chat_template,
        }

    def backend_info(self) -> dict[str, Any]:
        """``results.json`` ``model.backend_info``: the backend's export facts, the public id."""
        info = self.backend.export_info() if self.backend is not None else {}
        return {**info, "public_id": self.public_id}

    @property
    def gives_loglikelihoods(self) -> bool:
        """Whether the model answers log-likelihood requests (its backend says)."""
        return self.backend is not None and self.backend.loglikelihood


# The generation kwarg that carries a request's output constraint: ``{"choice": [...]}`` or
# ``{"json": <JSON schema>}`` (a task's ``structured_output``). The runner sets it, per task,
# for models that declare ``accepts_output_constraints``; a backend takes it out of the kwargs
# (:func:`pop_output_constraint`) before passing them on to anything else.
OUTPUT_CONSTRAINT_KEY = "output_constraint"
CONSTRAINT_KINDS = ("choice", "json")


def pop_output_constraint(
    gen_kwargs: Mapping[str, Any] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Split a request's generation kwargs into its output constraint and the rest.

    Returns copies: the request's own dict is left as it is (lm-eval may share it between
    requests, and the response cache keys answers by the request's arguments as given).

    >>> kwargs = {"until": ["END"], "output_constraint": {"choice": ["Yes", "No"]}}
    >>> pop_output_constraint(kwargs)
    ({'choice': ['Yes', 'No']}, {'until': ['END']})
    >>> "output_constraint" in kwargs
    True
    >>> pop_output_constraint({"until": []})
    (None, {'until': []})
    """
    rest = dict(gen_kwargs or {})
    constraint = rest.pop(OUTPUT_CONSTRAINT_KEY, None)
    if constraint is None:
        return None, rest
    if (
        not isinstance(constraint, Mapping)
        or len(constraint) != 1
        or not (set(constraint) <= set(CONSTRAINT_KINDS))
    ):
        shown = sorted(constraint) if isinstance(constraint, Mapping) else type(constraint).__name__
        raise InputError(
            f"generation: {OUTPUT_CONSTRAINT_KEY} must be {{'choice': [...]}} or "
            f"{{'json': <schema>}}, got {shown}"
        )
    return dict(constraint), rest


# Settings that change how answers are fetched, never what they are.
_TRANSPORT_SETTINGS = frozenset({"max_concurrency", "max_retries", "timeout"})


def use_chat_template(setting: Any, tokenizer: Any) -> bool:
    """Resolve ``model.apply_chat_template`` (``auto``/true/false) against the tokenizer."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if setting == "auto":
        return has_template
    if setting and not has_template:
        raise InputError("model.apply_chat_template: the tokenizer has no chat template")
    return bool(setting)


def build_model(settings: Any, task_metadata: Mapping[str, Any]) -> LoadedModel:
    """Build the model that ``settings`` (a backend's settings instance, or a mapping with a
    ``backend`` key) describes.

    ``task_metadata`` is what the tasks were given (data split and location, seed), for
    backends that need the data themselves (the baseline's cross-fitted lexicon).
    """
    name = settings.get("backend") if isinstance(settings, Mapping) else settings.backend
    registration = backend(name)
    model = registration.builder()(typed_settings(registration.settings, settings), task_metadata)
    model.backend = registration
    return model
