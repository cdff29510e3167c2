"""``model=linker``: a bi-encoder trained by ``rjdb-bench weak train-linker`` on RJDB
(sentence, skill) pairs, evaluated on ESCO skill linking.

It ranks the ESCO labels for each sentence exactly as the ``baseline`` does with the stock
all-MiniLM-L6-v2 (:func:`rjdb_bench.models.esco_ranking.answer_esco_docs`), with the trained
encoder instead: the same label file, normalisation and tie order, and its own label-embedding
cache keyed by the checkpoint's weights. It answers the ESCO family only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rjdb_bench.backends import typed_settings
from rjdb_bench.backends.linker_backend import LinkerSettings
from rjdb_bench.metrics.label_index import encoder_identity
from rjdb_bench.models.encoders import (
    Answerer,
    EncoderLM,
    checkpoint_dir,
    checkpoint_identity,
    read_training_record,
    verify_files,
)
from rjdb_bench.models.esco_ranking import answer_esco_docs
from rjdb_bench.models.registry import LoadedModel


class LinkerLM(EncoderLM):
    """Answers ``ood_esco_*`` with the trained bi-encoder's ranking (module docstring)."""

    backend = "linker"

    def load(self) -> tuple[Any, Any]:
        """Only verify the files: the label index loads the sentence-transformers folder
        itself, once per process (``shared_label_index``)."""
        verify_files(self.folder)
        self.identity = encoder_identity(self.folder, f"rjdb-linker:{self.folder.parent.name}")
        return None, None

    def answerers(self) -> dict[str, Answerer]:
        """The ESCO linking family."""
        return {"esco": lambda docs: answer_esco_docs(docs, self.folder, self.identity)}


def build_linker(
    config: LinkerSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """``model=linker model.pretrained=DIR``: a ``weak train-linker`` output folder or its
    ``model/``."""
    config = typed_settings(LinkerSettings, config)
    folder = checkpoint_dir(config.pretrained)
    record = read_training_record(folder, "linker")
    max_length = int(record["recipe"]["max_length"])
    lm = LinkerLM(folder, record, task_metadata, batch_size=1, max_length=max_length)
    identity = checkpoint_identity(folder, record, config.name)
    return LoadedModel(lm, identity, settings={"max_length": max_length}, cacheable=False)
