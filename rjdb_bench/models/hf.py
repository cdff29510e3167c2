"""Hugging Face causal and seq2seq models through lm-eval's ``HFLM`` (``model=hf``, ``model=smollm2``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rjdb_bench.errors import InputError
from rjdb_bench.models.registry import LoadedModel

EMBEDDED = "embedded"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".gguf")


def folder_fingerprint(folder: Path) -> str:
    """sha256 over the names and contents of a model folder's weight, config and tokenizer files."""
    digest = hashlib.sha256()
    for path in sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES
    ):
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _resolve(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    pretrained = config.get("pretrained")
    if not pretrained:
        raise InputError(
            "model.pretrained: required for model=hf (a Hugging Face model name or a local folder)"
        )
    if pretrained == EMBEDDED:
        from rjdb_bench.models.embedded import embedded_model_dir, embedded_model_identity

        dtype = config.get("dtype") or "float32"
        identity = embedded_model_identity(dtype=dtype if dtype != "auto" else "float32")
        return str(embedded_model_dir(dtype=dtype if dtype != "auto" else "float32")), identity
    local = Path(str(pretrained)).expanduser()
    if not local.exists() and str(pretrained).startswith(("/", ".", "~")):
        raise InputError(f"model.pretrained: no such folder {local}")
    if local.exists():
        if not (local / "config.json").is_file():
            raise InputError(
                f"model.pretrained: {local} is not a Hugging Face model folder (no config.json)"
            )
        return str(local), {
            "name": local.name,
            "path": str(local.resolve()),
            "fingerprint_sha256": folder_fingerprint(local),
        }
    return str(pretrained), {"name": str(pretrained), "hub_id": str(pretrained)}


def build_hf(config: Mapping[str, Any], task_metadata: Mapping[str, Any]) -> LoadedModel:
    """Load ``model.pretrained`` with lm-eval's HFLM on the configured device and dtype."""
    from lm_eval.models.huggingface import HFLM

    path, identity = _resolve(config)
    model_type = config.get("model_type") or "auto"
    if model_type not in ("auto", "causal", "seq2seq"):
        raise InputError(f"model.model_type: expected auto, causal or seq2seq, got {model_type!r}")
    settings = {
        "backend": "default" if model_type == "auto" else model_type,
        "revision": config.get("revision") or "main",
        "dtype": config.get("dtype") or "auto",
        "batch_size": config.get("batch_size") or 1,
        "device": config.get("device") or "cpu",
        "max_length": config.get("max_length"),
        "trust_remote_code": bool(config.get("trust_remote_code", False)),
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
    chat = config.get("apply_chat_template", "auto")
    has_template = bool(getattr(lm.tokenizer, "chat_template", None))
    if chat == "auto":
        chat = has_template
    elif chat and not has_template:
        raise InputError("model.apply_chat_template: the tokenizer has no chat template")
    settings["apply_chat_template"] = bool(chat)
    return LoadedModel(lm, identity, apply_chat_template=bool(chat), settings=settings)
