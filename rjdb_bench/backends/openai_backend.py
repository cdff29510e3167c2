"""``model=openai``: an OpenAI-compatible HTTP endpoint (``docs/models-openai.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from rjdb_bench.backends import Backend
from rjdb_bench.checks import NON_NEGATIVE_INT, POSITIVE_INT, is_positive, one_of

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP007, UP045


@dataclass
class OpenAIModelSettings:
    """An OpenAI-compatible endpoint (vLLM's API server, OpenAI, ...)."""

    name: str = "openai"
    backend: str = "openai"
    # Base URL of the API, up to and including /v1; never put credentials in it.
    base_url: str = MISSING
    # The served model name (what GET /v1/models lists as `id`).
    model: str = MISSING
    # chat: /v1/chat/completions (the server applies the chat template); completions:
    # /v1/completions with the raw prompt.
    api: str = "chat"
    # NAME of the environment variable holding the API key (the key is never a config value
    # and is never written anywhere). Unset: the placeholder key "EMPTY" is sent.
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = 8  # requests in flight at once
    max_retries: int = 5  # per request, on 429, 5xx, timeouts and connection errors
    timeout: float = 120  # seconds per request attempt
    # Send each task's constraint (choice / JSON schema) as a json_schema response_format.
    structured_outputs: bool = True
    seed: Optional[int] = None  # null: send the run's seed


BACKEND = Backend(
    name="openai",
    settings=OpenAIModelSettings,
    build="rjdb_bench.models.openai_compat:build_openai",
    checks={
        "api": one_of("chat", "completions"),
        "max_concurrency": POSITIVE_INT,
        "max_retries": NON_NEGATIVE_INT,
        "timeout": (is_positive, "a positive number of seconds"),
    },
)
