"""``model=linker``: a bi-encoder skill linker trained by ``rjdb-bench weak train-linker``."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from rjdb_bench.backends import Backend


@dataclass
class LinkerSettings:
    """A sentence-transformers checkpoint that ranks ESCO labels for a sentence (``ood_esco_*``).

    It runs on the CPU through the shared label index (its label embeddings cached on disk,
    keyed by the checkpoint's weights); the sentence length is the training recipe's."""

    name: str = "linker"
    backend: str = "linker"
    pretrained: str = MISSING  # the training output folder or its model/ folder


BACKEND = Backend(
    name="linker",
    settings=LinkerSettings,
    build="rjdb_bench.models.linker:build_linker",
)
