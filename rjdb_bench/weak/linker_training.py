"""``rjdb-bench weak train-linker``: a sentence-transformers bi-encoder fine-tuned on the weak
(sentence, skill) pairs of :mod:`rjdb_bench.weak.linker_pairs` with in-batch negatives.

Loss: ``MultipleNegativesRankingLoss`` (each sentence against its own skill and the other
skills of the batch); batches never hold the same sentence or skill twice
(``BatchSamplers.NO_DUPLICATES``), so no pair is pushed away from a copy of itself. The
training loop, checkpoints, seed and ``--resume`` are the transformers ``Trainer``'s, as for
the tagger and matcher (:mod:`rjdb_bench.weak.train`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rjdb_bench.errors import InputError, one_line


def linker_trainer(
    plain: Mapping[str, Any], dataset: Any, encoder: str, arguments: dict[str, Any], callbacks: list
) -> tuple[Any, Any]:
    """The seeded ``SentenceTransformerTrainer`` for ``dataset`` (columns ``sentence``,
    ``skill``) from ``encoder``, and a function that saves the trained model to a folder."""
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import (
        BatchSamplers,
        SentenceTransformerTrainingArguments,
    )

    try:
        model = SentenceTransformer(encoder, device="cpu", trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise InputError(f"config: encoder: cannot load {encoder} ({one_line(error)})") from None
    model.max_seq_length = int(plain["max_length"])
    pairs = dataset.select_columns(["sentence", "skill"])
    args = SentenceTransformerTrainingArguments(
        **arguments, batch_sampler=BatchSamplers.NO_DUPLICATES
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=pairs,
        loss=MultipleNegativesRankingLoss(model),
        callbacks=callbacks,
    )

    def save(folder: Path) -> None:
        trainer.model.save(str(folder))

    return trainer, save
