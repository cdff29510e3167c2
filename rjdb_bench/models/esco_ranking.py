"""Bi-encoder ESCO linking for any sentence-transformers folder: the ``baseline``'s ranking.

:func:`rank_esco` ranks the 13,896 ESCO labels for each sentence by cosine similarity of
normalised embeddings. The ``baseline`` calls it with the packaged all-MiniLM-L6-v2; a backend
with a fine-tuned encoder (a sentence-transformers folder) calls it with that folder and its own
identity, and gets its own label cache (keyed by identity and the label file's sha256).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rjdb_bench.data.esco import read_esco_labels
from rjdb_bench.metrics.label_index import LabelIndex, bundled_minilm, shared_label_index


def esco_index(
    encoder_folder: str | Path, identity: str, labels_file: str | Path, labels_sha256: str
) -> LabelIndex:
    """The label index of ``labels_file`` (checked against ``labels_sha256``) for one encoder."""
    labels = read_esco_labels(labels_file, labels_sha256)
    return shared_label_index(str(encoder_folder), identity, labels.labels, labels.sha256)


def rank_esco(
    encoder_folder: str | Path,
    identity: str,
    sentences: Sequence[str],
    labels_file: str | Path,
    labels_sha256: str,
    depth: int,
) -> list[list[str]]:
    """The ``depth`` most similar ESCO labels for each sentence, best first (ties: file order)."""
    index = esco_index(encoder_folder, identity, labels_file, labels_sha256)
    return index.rank(sentences, depth)


def answer_esco_docs(
    docs: Sequence[Mapping[str, Any]],
    encoder_folder: str | Path | None = None,
    identity: str | None = None,
) -> list[str]:
    """A bi-encoder's answers to ESCO linking docs: each a JSON list of its top labels.

    The docs carry ``sentence``, ``labels_file``, ``labels_sha256`` and ``depth`` (the task's);
    the encoder defaults to the packaged all-MiniLM-L6-v2. Docs are ranked in one batch per
    label file.
    """
    if encoder_folder is None or identity is None:
        encoder_folder, identity = bundled_minilm()
    answers = [""] * len(docs)
    groups: dict[tuple[str, str, int], list[int]] = {}
    for i, doc in enumerate(docs):
        key = (str(doc["labels_file"]), str(doc["labels_sha256"]), int(doc["depth"]))
        groups.setdefault(key, []).append(i)
    for (labels_file, sha256, depth), indices in groups.items():
        ranked = rank_esco(
            encoder_folder,
            identity,
            [docs[i]["sentence"] for i in indices],
            labels_file,
            sha256,
            depth,
        )
        for i, labels in zip(indices, ranked, strict=True):
            answers[i] = json.dumps(labels, ensure_ascii=False)
    return answers
