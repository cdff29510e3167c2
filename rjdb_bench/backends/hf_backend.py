"""``model=hf`` (and the embedded default on HF): lm-eval's Hugging Face backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from omegaconf import MISSING

from rjdb_bench.backends import Backend
from rjdb_bench.checks import CHAT_TEMPLATE, POSITIVE_INT, POSITIVE_INT_OR_NULL, one_of

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP007, UP045


@dataclass
class HFModelSettings:
    """Any Hugging Face causal or seq2seq model through lm-eval's ``HFLM``."""

    name: str = "hf"
    backend: str = "hf"
    # A Hub id, a local folder, or ``embedded`` (the converted SmolLM2).
    pretrained: str = MISSING
    revision: Optional[str] = None  # null: the Hub's ``main``
    model_type: str = "auto"  # auto (from the model config), causal or seq2seq (e.g. T5)
    dtype: str = "auto"
    batch_size: int = 8
    device: str = "cpu"
    max_length: Optional[int] = None
    trust_remote_code: bool = False  # remote code is never loaded unless asked for
    # auto: the tokenizer's chat template when it has one; true/false to force.
    apply_chat_template: Union[bool, str] = "auto"


BACKEND = Backend(
    name="hf",
    settings=HFModelSettings,
    build="rjdb_bench.models.hf:build_hf",
    loglikelihood=True,
    engine="transformers",
    requires="transformers",
    title="transformers",
    install="rjdb-bench[hf]",
    checks={
        "batch_size": POSITIVE_INT,
        "max_length": POSITIVE_INT_OR_NULL,
        "model_type": one_of("auto", "causal", "seq2seq"),
        "apply_chat_template": CHAT_TEMPLATE,
    },
)
