"""Which weights ``model.pretrained`` names, and how results files identify them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rjdb_bench.backends import EMBEDDED_PUBLIC_ID
from rjdb_bench.errors import InputError

EMBEDDED = "embedded"  # model.pretrained of the embedded default
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


def resolve_pretrained(pretrained: str | None, dtype: str) -> tuple[str, dict[str, Any]]:
    """The path or hub id to load for ``model.pretrained``, and the identity to record.

    ``embedded`` is the converted SmolLM2 folder (in ``dtype``; ``auto``: its default); a local
    folder gets a content fingerprint; anything else is a Hugging Face Hub id (its revision
    is recorded by the backend).
    """
    if not pretrained:
        raise InputError("model.pretrained: required (a Hugging Face model name or a local folder)")
    if pretrained == EMBEDDED:
        from rjdb_bench.models.embedded import (
            DEFAULT_DTYPE,
            embedded_model_dir,
            embedded_model_identity,
        )

        dtype = dtype if dtype != "auto" else DEFAULT_DTYPE
        return str(embedded_model_dir(dtype=dtype)), embedded_model_identity(dtype=dtype)
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


def public_model_id(pretrained: str | None) -> str | None:
    """The model's public id where its recorded identity names none: the embedded default's
    upstream Hugging Face id (a Hub model's identity has its ``hub_id`` already)."""
    return EMBEDDED_PUBLIC_ID if pretrained == EMBEDDED else None
