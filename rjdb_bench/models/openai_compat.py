"""Hosted models behind an OpenAI-compatible HTTP API (``model=openai``).

``rjdb-bench run model=openai model.base_url=http://host:port/v1 model.model=NAME`` sends every
generation request to ``/v1/chat/completions`` (the prompt as one user message; the server
applies the model's chat template) or ``/v1/completions`` (the raw prompt), through the official
``openai`` SDK: bounded concurrency, the SDK's own retries with exponential backoff on 429, 5xx,
timeouts and connection errors, and a per-request timeout. With ``structured_outputs`` on, the
model declares ``accepts_output_constraints``: the runner then puts each task's constraint into
its requests' generation kwargs (under :data:`~rjdb_bench.models.registry.OUTPUT_CONSTRAINT_KEY`),
and it is sent as a ``json_schema`` response format named after the task.

The API key is read from the environment variable that ``api_key_env`` names; it is handed to
the SDK and to nothing else (never a config value, never recorded, redacted from messages).
Only the variable's *name* is recorded (``config.model.api_key_env`` in results.json).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import openai
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from tqdm import tqdm

from rjdb_bench.backends import typed_settings
from rjdb_bench.backends.openai_backend import OpenAIModelSettings
from rjdb_bench.errors import InputError
from rjdb_bench.models.registry import LoadedModel, pop_output_constraint

log = logging.getLogger(__name__)

API_MODES = ("chat", "completions")
# Sent when the key's environment variable is unset; local vLLM servers accept any key.
PLACEHOLDER_KEY = "EMPTY"
# The OpenAI API accepts at most four stop sequences.
MAX_STOP_SEQUENCES = 4
# The json_schema name of a constrained request that names no task.
UNNAMED_SCHEMA = "answer"
# lm-eval's own default when a task sets no max_gen_toks.
DEFAULT_MAX_TOKENS = 256
_MESSAGE_CHARS = 200
REDACTED = "***"
# A server may echo the key cut short: any prefix of the key this long or longer is redacted.
_KEY_PREFIX_CHARS = 6
_TOKEN = r"[^\s\"',;&<>()\[\]{}]+"
# The value of a credential header or parameter a server echoes (``Authorization: Bearer x``,
# ``"api-key": "x"``, ``?api_key=x``), with its auth scheme.
_CREDENTIAL_FIELD = re.compile(
    r"\b((?:proxy-)?authorization|x-api-key|api[-_]?key|access[-_]?token)"
    r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)"
    rf"(?:(?:bearer|basic|token)\s+)?{_TOKEN}",
    re.IGNORECASE,
)
# ``Bearer x`` anywhere else (but not the words "bearer token" of a message).
_BEARER = re.compile(rf"\b(bearer|basic)\s+(?!tokens?\b){_TOKEN}", re.IGNORECASE)
# Well-known key formats (OpenAI and Anthropic ``sk-...``, Hugging Face ``hf_...``), whoever's.
_KEY_LIKE = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{8,}|hf_[A-Za-z0-9]{16,})")
_GEN_KWARGS = ("until", "max_gen_toks", "do_sample", "temperature", "top_p")


def check_base_url(url: Any) -> str:
    """``model.base_url`` without a trailing slash; :class:`InputError` unless it is usable.

    Credentials in the URL are refused: the URL is recorded in results.json, the key belongs
    in the environment variable that ``model.api_key_env`` names.

    >>> check_base_url("http://127.0.0.1:8000/v1/")
    'http://127.0.0.1:8000/v1'
    >>> check_base_url("ftp://example.org")
    Traceback (most recent call last):
    rjdb_bench.errors.InputError: model.base_url: expected an http(s) URL such as http://127.0.0.1:8000/v1, got 'ftp://example.org'
    """
    if not url or not isinstance(url, str):
        raise InputError(
            "model.base_url: required for model=openai (e.g. model.base_url=http://127.0.0.1:8000/v1)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"model.base_url: expected an http(s) URL such as http://127.0.0.1:8000/v1, got {url!r}"
        )
    if parts.username is not None or parts.password is not None:
        raise InputError(
            "model.base_url: must not contain credentials (it is recorded in results.json); "
            "put the key in the environment variable named by model.api_key_env"
        )
    return url.rstrip("/")


def response_format(task: str, constraint: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``json_schema`` response format for a task's structured-output constraint.

    A choice becomes a JSON string enum, so the answer arrives as e.g. ``"Yes"`` in quotes.

    >>> response_format("rjdb_match", {"choice": ["Yes", "No"]})["json_schema"]["schema"]
    {'type': 'string', 'enum': ['Yes', 'No']}
    >>> response_format("rjdb_edit", None) is None
    True
    """
    if not constraint:
        return None
    if "choice" in constraint:
        schema: dict[str, Any] = {"type": "string", "enum": list(constraint["choice"])}
    elif "json" in constraint:
        schema = dict(constraint["json"])
    else:
        raise InputError(f"task {task}: unknown structured-output constraint {sorted(constraint)}")
    return {"type": "json_schema", "json_schema": {"name": task, "schema": schema, "strict": True}}


def request_options(gen_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Map lm-eval generation kwargs to OpenAI request parameters.

    ``until`` → ``stop`` (the first four), ``max_gen_toks`` → ``max_tokens`` (default 256, as
    lm-eval), ``do_sample: false`` → ``temperature: 0``, else ``temperature``; ``top_p`` as is.

    >>> request_options({"until": ["\\n\\n"], "max_gen_toks": 8, "do_sample": False, "temperature": 0.7})
    {'max_tokens': 8, 'stop': ['\\n\\n'], 'temperature': 0.0}
    >>> request_options({"until": "END", "do_sample": True, "temperature": 0.7})
    {'max_tokens': 256, 'stop': ['END'], 'temperature': 0.7}
    """
    unknown = sorted(set(gen_kwargs) - set(_GEN_KWARGS))
    if unknown:
        raise InputError(
            f"generation: {', '.join(unknown)} not supported by model=openai "
            f"(supported: {', '.join(_GEN_KWARGS)})"
        )
    max_tokens = gen_kwargs.get("max_gen_toks")
    options: dict[str, Any] = {
        "max_tokens": int(max_tokens) if max_tokens is not None else DEFAULT_MAX_TOKENS
    }
    until = gen_kwargs.get("until")
    stops = [until] if isinstance(until, str) else list(until or [])
    stops = [stop for stop in stops if stop]
    if stops:
        options["stop"] = stops[:MAX_STOP_SEQUENCES]
    if gen_kwargs.get("do_sample") is False:
        options["temperature"] = 0.0
    elif gen_kwargs.get("temperature") is not None:
        options["temperature"] = float(gen_kwargs["temperature"])
    if gen_kwargs.get("top_p") is not None:
        options["top_p"] = float(gen_kwargs["top_p"])
    return options


def redact(text: str, secret: str = "") -> str:
    """``text`` without ``secret`` and without anything that looks like a credential.

    Removes ``secret`` as is, URL-encoded and JSON-escaped, and every prefix of it of at least
    six characters (a server may echo it cut short); then the values of ``Authorization``,
    ``api-key``-like fields, ``Bearer``/``Basic`` tokens and ``sk-...``/``hf_...`` keys.

    >>> redact("bad key sk-abc12345678 (Authorization: Bearer xyz.987)", "")
    'bad key *** (Authorization: ***)'
    >>> redact("echo: s3cr3t-k3y-0123456789 and s3cr3t-k3 (cut)", "s3cr3t-k3y-0123456789")
    'echo: *** and *** (cut)'
    """
    if secret:
        variants = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
        for variant in sorted(variants, key=len, reverse=True):
            text = text.replace(variant, REDACTED)
        if len(secret) > _KEY_PREFIX_CHARS:
            text = _redact_prefixes(text, secret)
    text = _CREDENTIAL_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _KEY_LIKE.sub(REDACTED, text)


def _redact_prefixes(text: str, secret: str) -> str:
    """``text`` with every run that is a prefix of ``secret`` (6+ characters) redacted."""
    head = secret[:_KEY_PREFIX_CHARS]
    pieces: list[str] = []
    start = 0
    while (found := text.find(head, start)) != -1:
        end = found + len(head)
        while end < len(text) and end - found < len(secret) and text[end] == secret[end - found]:
            end += 1
        pieces += [text[start:found], REDACTED]
        start = end
    pieces.append(text[start:])
    return "".join(pieces)


def _shorten(text: str, limit: int = _MESSAGE_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters. Redact before: a cut can hide a key."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
        if message:
            return str(message)
    return error.response.text or error.response.reason_phrase


def describe_api_error(
    error: openai.APIError, *, attempts: int, timeout: float, secret: str = ""
) -> str:
    """One line saying which request failed and why (status and server message, or cause).

    ``secret`` (the API key) and anything that looks like a credential are redacted from the
    server's message before it is cut to 200 characters, so no part of a key gets through.
    """
    where = redact(f"{error.request.method} {error.request.url}", secret)
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        hint = {
            401: " (check the key in the environment variable named by model.api_key_env)",
            403: " (check the key in the environment variable named by model.api_key_env)",
            404: " (check model.model and model.base_url)",
        }.get(status, "")
        tries = f" after {attempts} attempts" if status == 429 or status >= 500 else ""
        message = _shorten(redact(_server_message(error), secret))
        return f"{where}: HTTP {status}{tries}: {message}{hint}"
    if isinstance(error, openai.APITimeoutError):
        return f"{where}: no answer within model.timeout={timeout:g} s ({attempts} attempts)"
    cause = error.__cause__ or error
    reason = _shorten(redact(str(cause) or type(cause).__name__, secret))
    return f"{where}: cannot connect ({reason}) after {attempts} attempts; check model.base_url"


@dataclass(frozen=True)
class _Job:
    prompt: str
    task: str
    options: dict[str, Any]


@register_model("rjdb-openai")
class OpenAICompatibleLM(LM):
    """An lm-eval ``LM`` answering ``generate_until`` requests through an OpenAI-compatible API."""

    def __init__(
        self,
        base_url: str,
        model: str,
        # Defaults from the settings schema (for lm_eval --model rjdb-openai and Python use).
        api: str = OpenAIModelSettings.api,
        api_key_env: str = OpenAIModelSettings.api_key_env,
        max_concurrency: int = OpenAIModelSettings.max_concurrency,
        max_retries: int = OpenAIModelSettings.max_retries,
        timeout: float = OpenAIModelSettings.timeout,
        structured_outputs: bool = OpenAIModelSettings.structured_outputs,
        seed: int | None = OpenAIModelSettings.seed,
        **_: Any,
    ) -> None:
        super().__init__()
        self.base_url = check_base_url(base_url)
        if not model or not isinstance(model, str):
            raise InputError("model.model: required for model=openai (the served model name)")
        if api not in API_MODES:
            raise InputError(f"model.api: expected one of {', '.join(API_MODES)}, got {api!r}")
        self.model = model
        self.api = api
        self.api_key_env = str(api_key_env)
        self.max_concurrency = _positive_int("model.max_concurrency", max_concurrency)
        self.max_retries = _positive_int("model.max_retries", max_retries, minimum=0)
        self.timeout = float(timeout)
        if self.timeout <= 0:
            raise InputError(f"model.timeout: expected seconds > 0, got {timeout!r}")
        self.structured_outputs = bool(structured_outputs)
        self.seed = None if seed is None else int(seed)
        key = os.environ.get(self.api_key_env) or ""
        if not key:
            log.warning(
                "$%s is not set: sending the placeholder key %r (enough for a local vLLM server)",
                self.api_key_env,
                PLACEHOLDER_KEY,
            )
        self._secret = key
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=key or PLACEHOLDER_KEY,
            max_retries=self.max_retries,
            timeout=self.timeout,
        )

    def _input_error(self, error: openai.APIError) -> InputError:
        return InputError(
            describe_api_error(
                error, attempts=self.max_retries + 1, timeout=self.timeout, secret=self._secret
            )
        )

    def served_model_card(self) -> dict[str, Any] | None:
        """The ``GET /v1/models`` entry of :attr:`model`; None if the server lists no such model.

        Raises :class:`InputError` if the server cannot be reached or refuses the request
        (a server without a model listing, answering 404 or 405, is not an error).
        """
        try:
            cards = list(self._client.models.list())
        except openai.APIStatusError as error:
            if error.status_code in (404, 405):
                return None
            raise self._input_error(error) from None
        except openai.APIConnectionError as error:
            raise self._input_error(error) from None
        card = next((c for c in cards if c.id == self.model), None)
        return card.model_dump(exclude_none=True) if card is not None else None

    def _job(self, request: Instance) -> _Job:
        """The prompt and request options of one lm-eval request.

        The output constraint in the request's generation kwargs, if any, becomes the
        ``response_format`` (named after ``request.task_name``); the rest map to request
        parameters (:func:`request_options`). With ``structured_outputs`` off a constraint
        sent anyway is dropped. The request's own kwargs are not changed.
        """
        prompt, gen_kwargs = request.args
        task = request.task_name or ""
        constraint, gen_kwargs = pop_output_constraint(gen_kwargs)
        options = request_options(gen_kwargs)
        if self.seed is not None:
            options["seed"] = self.seed
        if self.structured_outputs and constraint:
            rf = response_format(task or UNNAMED_SCHEMA, constraint)
            if self.api == "chat":
                options["response_format"] = rf
            else:
                options["extra_body"] = {"response_format": rf}
        return _Job(prompt, task, options)

    def _send(self, job: _Job) -> tuple[str, str | None]:
        """One request; the answer text and its finish reason."""
        try:
            if self.api == "chat":
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "user", "content": job.prompt}],
                    **job.options,
                )
                choice = response.choices[0]
                return choice.message.content or "", choice.finish_reason
            response = self._client.completions.create(
                model=self.model, prompt=job.prompt, **job.options
            )
            return response.choices[0].text or "", response.choices[0].finish_reason
        except openai.APIError as error:
            raise self._input_error(error) from None

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """One answer per request, in order; up to ``max_concurrency`` requests in flight.

        Each answer is reported to the cache hook as it arrives, so the response cache keeps
        it even if the run breaks off later. After the first failed request nothing more is
        sent; requests already in flight are awaited (their answers kept), then the failure
        is raised as one :class:`InputError`.
        """
        jobs = [self._job(request) for request in requests]
        outputs: list[str] = [""] * len(jobs)
        reasons: Counter[str | None] = Counter()
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="rjdb-openai")
        try:
            futures = {pool.submit(self._send, job): index for index, job in enumerate(jobs)}
            done: set[Future[tuple[str, str | None]]] = set()

            def keep(future: Future[tuple[str, str | None]]) -> None:
                done.add(future)
                index = futures[future]
                outputs[index], reason = future.result()
                self.cache_hook.add_partial("generate_until", requests[index].args, outputs[index])
                reasons[reason] += 1

            with tqdm(total=len(jobs), desc="openai requests", disable=disable_tqdm) as bar:
                try:
                    for future in as_completed(futures):
                        keep(future)
                        bar.update(1)
                except InputError:
                    # Send nothing more (cancel what has not started); keep what is in flight.
                    for future in [f for f in futures if f not in done and not f.cancel()]:
                        with contextlib.suppress(InputError):
                            keep(future)
                    raise
        finally:
            # A no-op after success; after Ctrl-C it drops what was not sent, without waiting.
            pool.shutdown(wait=False, cancel_futures=True)
        if reasons["length"]:
            log.warning(
                "%d of %d answers stopped at max_tokens (finish_reason=length)",
                reasons["length"],
                len(jobs),
            )
        return outputs

    def loglikelihood(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """Not offered: no RJDB task is scored by log-likelihood."""
        raise InputError("model=openai answers generation tasks only (got loglikelihood requests)")

    def loglikelihood_rolling(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[float]:
        """Not offered, as :meth:`loglikelihood`."""
        raise InputError(
            "model=openai answers generation tasks only (got loglikelihood_rolling requests)"
        )


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if number < minimum or isinstance(value, bool):
        raise InputError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return number


def _served_identity(card: Mapping[str, Any] | None) -> dict[str, Any]:
    if card is None:
        return {"served_model": None}
    identity = {"served_model": card.get("id")}
    for key in ("root", "owned_by", "max_model_len"):
        if card.get(key) is not None:
            identity[f"served_model_{key}"] = card[key]
    return identity


def build_openai(
    config: OpenAIModelSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """Connect to ``model.base_url`` (one ``GET /v1/models``) and wrap it as an lm-eval model."""
    config = typed_settings(OpenAIModelSettings, config)
    seed = config.seed
    if seed is None:
        seed = task_metadata.get("seed")
    lm = OpenAICompatibleLM(
        base_url=config.base_url,
        model=config.model,
        api=config.api,
        api_key_env=config.api_key_env,
        max_concurrency=config.max_concurrency,
        max_retries=config.max_retries,
        timeout=config.timeout,
        structured_outputs=config.structured_outputs,
        seed=seed,
    )
    identity = {
        "name": config.name,
        "kind": "openai",
        "base_url": lm.base_url,
        "api": lm.api,
        "model": lm.model,
        **_served_identity(lm.served_model_card()),
        "structured_outputs": lm.structured_outputs,
    }
    settings = {
        "max_concurrency": lm.max_concurrency,
        "max_retries": lm.max_retries,
        "timeout": lm.timeout,
        "seed": lm.seed,
    }
    return LoadedModel(
        lm,
        identity,
        apply_chat_template=False,
        settings=settings,
        accepts_output_constraints=lm.structured_outputs,
    )
