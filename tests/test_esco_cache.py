"""The label-embedding cache: used when intact, refused and rebuilt when damaged, never used."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from rjdb_bench.metrics.label_index import bundled_minilm, label_index

LABELS = ("use databases", "manage staff", "Python (computer programming)", "bake bread")
SHA = "0" * 64


@pytest.fixture(scope="module")
def encoder() -> tuple[Path, str]:
    return bundled_minilm()


@pytest.fixture(scope="module")
def reference(encoder: tuple[Path, str]) -> np.ndarray:
    """The labels' embeddings computed directly with sentence-transformers."""
    model = SentenceTransformer(str(encoder[0]), device="cpu")
    return model.encode(list(LABELS), normalize_embeddings=True)


def _files(root: Path) -> tuple[Path, Path]:
    (array,) = root.glob("*.npy")
    return array, array.with_suffix(".json")


def test_built_once_then_read_from_disk(tmp_path: Path, encoder, reference) -> None:
    first = label_index(*encoder, LABELS, SHA, cache_root=tmp_path)
    assert first.origin["cache"] == "built"
    np.testing.assert_allclose(first.embeddings, reference, atol=1e-5)
    second = label_index(*encoder, LABELS, SHA, cache_root=tmp_path)
    assert second.origin["cache"] == "hit"
    np.testing.assert_array_equal(second.embeddings, first.embeddings)
    assert second.rank(["experience with SQL databases"], 1) == [["use databases"]]


def _truncate(array: Path, record: Path) -> None:
    data = array.read_bytes()
    array.write_bytes(data[: len(data) // 2])


def _wrong_shape(array: Path, record: Path) -> None:
    np.save(array, (np.ones((3, 384)) / np.sqrt(384)).astype(np.float32))
    # A consistent record for the wrong array, so only the shape check can refuse it.
    import hashlib

    saved = json.loads(record.read_text())
    saved["sha256"] = hashlib.sha256(array.read_bytes()).hexdigest()
    saved["shape"] = [3, 384]
    record.write_text(json.dumps(saved))


def _wrong_key(array: Path, record: Path) -> None:
    saved = json.loads(record.read_text())
    saved["key"]["encoder"] = "another-encoder@0000"
    record.write_text(json.dumps(saved))


def _changed_values(array: Path, record: Path) -> None:
    values = np.load(array)
    values[0] = -values[0]  # still unit-normalised, but not what was written
    np.save(array, values)


def _garbage_record(array: Path, record: Path) -> None:
    record.write_text("{not json")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_truncate, "changed since it was written"),
        (_wrong_shape, "has 3 rows for 4 labels"),
        (_wrong_key, "is for another encoder or label file"),
        (_changed_values, "changed since it was written"),
        (_garbage_record, "unreadable record"),
    ],
    ids=["truncated", "wrong-shape", "wrong-key", "changed-values", "garbage-record"],
)
def test_a_damaged_cache_is_refused_and_rebuilt(
    tmp_path: Path, encoder, reference, damage, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    label_index(*encoder, LABELS, SHA, cache_root=tmp_path)
    damage(*_files(tmp_path))
    with caplog.at_level(logging.WARNING):
        rebuilt = label_index(*encoder, LABELS, SHA, cache_root=tmp_path)
    assert rebuilt.origin["cache"] == "built"
    assert reason in rebuilt.origin["reason"]
    assert any("refused and rebuilt" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(rebuilt.embeddings, reference, atol=1e-5)
    # The rebuilt cache is intact again.
    assert label_index(*encoder, LABELS, SHA, cache_root=tmp_path).origin["cache"] == "hit"


def test_another_label_file_or_encoder_gets_its_own_entry(tmp_path: Path, encoder) -> None:
    label_index(*encoder, LABELS, SHA, cache_root=tmp_path)
    other = label_index(*encoder, LABELS, "1" * 64, cache_root=tmp_path)
    assert other.origin["cache"] == "built"
    renamed = label_index(encoder[0], "renamed@1", LABELS, SHA, cache_root=tmp_path)
    assert renamed.origin["cache"] == "built"
    assert len(list(tmp_path.glob("*.npy"))) == 3
