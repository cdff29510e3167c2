"""``model=tagger``: a token classifier trained by ``rjdb-bench weak train-tagger``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from rjdb_bench.backends import Backend
from rjdb_bench.checks import POSITIVE_INT, POSITIVE_INT_OR_NULL

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP045


@dataclass
class TaggerSettings:
    """A BIO tagger checkpoint; on RJDB tasks it refuses the rows it was trained on."""

    name: str = "tagger"
    backend: str = "tagger"
    pretrained: str = MISSING  # the training output folder or its model/ folder
    batch_size: int = 32
    # Subword tokens per window, and words per window (null: as in training, from the
    # checkpoint's rjdb_training.json).
    max_length: Optional[int] = None
    max_words: Optional[int] = None
    device: str = "cpu"


BACKEND = Backend(
    name="tagger",
    settings=TaggerSettings,
    build="rjdb_bench.models.tagger:build_tagger",
    checks={
        "batch_size": POSITIVE_INT,
        "max_length": POSITIVE_INT_OR_NULL,
        "max_words": POSITIVE_INT_OR_NULL,
    },
)
