"""Hugging Face causal and seq2seq models through lm-eval's ``HFLM`` (``model=hf``, ``model=smollm2``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rjdb_bench.backends import typed_settings
from rjdb_bench.backends.hf_backend import HFModelSettings
from rjdb_bench.errors import InputError
from rjdb_bench.models.registry import LoadedModel, use_chat_template
from rjdb_bench.models.weights import public_model_id, resolve_pretrained


def build_hf(
    config: HFModelSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """Load ``model.pretrained`` with lm-eval's HFLM on the configured device and dtype."""
    config = typed_settings(HFModelSettings, config)
    from lm_eval.models.huggingface import HFLM

    path, identity = resolve_pretrained(config.pretrained, config.dtype)
    model_type = config.model_type
    if model_type not in ("auto", "causal", "seq2seq"):
        raise InputError(f"model.model_type: expected auto, causal or seq2seq, got {model_type!r}")
    settings = {
        "backend": "default" if model_type == "auto" else model_type,
        "revision": config.revision or "main",
        "dtype": config.dtype,
        "batch_size": config.batch_size,
        "device": config.device,
        "max_length": config.max_length,
        "trust_remote_code": config.trust_remote_code,
    }
    try:
        lm = HFLM(pretrained=path, **settings)
    except OSError as error:
        raise InputError(
            f"model.pretrained: cannot load {path!r}: {str(error).splitlines()[0]}"
        ) from None
    identity |= {
        "kind": "hf",
        "revision": settings["revision"],
        "commit": getattr(lm.model.config, "_commit_hash", None),
        "architecture": type(lm.model).__name__,
        "model_type": lm.backend if hasattr(lm, "backend") else model_type,
        "dtype": str(lm.model.dtype).removeprefix("torch."),
    }
    chat = use_chat_template(config.apply_chat_template, lm.tokenizer)
    settings["apply_chat_template"] = chat
    return LoadedModel(
        lm,
        identity,
        apply_chat_template=chat,
        settings=settings,
        public_id=public_model_id(config.pretrained),
    )
