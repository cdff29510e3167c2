"""What the ``tagger`` and ``matcher`` backends share: the checkpoint's training record,
the refusal to evaluate a checkpoint on its own training rows, loading, and answering
lm-eval requests per task family (as the baseline does).

A checkpoint written by ``rjdb-bench weak train-*`` is a Hugging Face folder (weights,
config, tokenizer) with :data:`TRAINING_RECORD` beside the weights: its kind, recipe, base
encoder and training data (RJDB split, file checksum, row range and the fingerprint of
every training row, :func:`rjdb_bench.data.row_range.row_fingerprint`).
"""

from __future__ import annotations

import abc
import json
import zipfile
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM

from rjdb_bench.data.download import sha256_file
from rjdb_bench.data.rjdb import read_rjdb_cached, rjdb_source
from rjdb_bench.data.row_range import row_fingerprint
from rjdb_bench.errors import InputError, one_line
from rjdb_bench.models.registry import LoadedModel

TRAINING_RECORD = "rjdb_training.json"
RECORD_FORMAT = 1
FINAL_MODEL = "model"

Answerer = Callable[[list[dict[str, Any]]], list[str]]


def checkpoint_dir(pretrained: str | Path) -> Path:
    """The model folder of ``pretrained``: the folder itself, or its ``model/`` (a training
    output folder), whichever holds :data:`TRAINING_RECORD`."""
    path = Path(pretrained)
    for candidate in (path, path / FINAL_MODEL):
        if (candidate / TRAINING_RECORD).is_file():
            return candidate
    raise InputError.at(
        path,
        f"model.pretrained: no {TRAINING_RECORD} here or in {FINAL_MODEL}/ "
        "(train one with rjdb-bench weak train-tagger / train-matcher)",
    )


def read_training_record(folder: Path, kind: str) -> dict[str, Any]:
    """The checkpoint's training record, checked to be of ``kind`` (``tagger``/``matcher``)."""
    path = folder / TRAINING_RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError.at(path, f"unreadable training record ({error})") from None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise InputError.at(path, f"not a training record of format {RECORD_FORMAT}")
    if record.get("kind") != kind:
        raise InputError.at(
            path, f"a {record.get('kind')} checkpoint, not a {kind}: use model={record.get('kind')}"
        )
    return record


def checkpoint_identity(folder: Path, record: Mapping[str, Any], name: str) -> dict[str, Any]:
    """What results files record about a trained checkpoint."""
    weights = folder / "model.safetensors"
    data = record["training_data"]
    return {
        "name": name,
        "kind": f"weak-{record['kind']}",
        "pretrained": str(folder),
        "weights_sha256": sha256_file(weights) if weights.is_file() else None,
        "base_encoder": record["base_encoder"],
        "training_data": {
            key: data.get(key)
            for key in ("split", "file_sha256", "rows", "n_rows", "examples", "examples_sha256")
        },
        "training_record_sha256": sha256_file(folder / TRAINING_RECORD),
    }


def check_not_trained_on(
    docs: Sequence[Mapping[str, Any]],
    record: Mapping[str, Any],
    metadata: Mapping[str, Any],
    folder: Path,
) -> None:
    """Refuse, in one line, to answer RJDB docs whose row the checkpoint was trained on."""
    row_ids = sorted({int(doc["row_id"]) for doc in docs if "row_id" in doc})
    if not row_ids:
        return
    rows = read_rjdb_cached(rjdb_source(metadata))
    trained = set(record["training_data"]["train_row_fingerprints"])
    seen = [row for row in row_ids if row_fingerprint(rows[row]) in trained]
    if seen:
        shown = ", ".join(map(str, seen[:5])) + (", ..." if len(seen) > 5 else "")
        held = record.get("held_out", {}).get("file")
        hint = f"data.path={held}" if held else "a split file of rows it was not trained on"
        raise InputError(
            f"model.pretrained: {folder} was trained on {len(seen)} of the RJDB rows this run "
            f"evaluates (rows {shown} of the {metadata.get('rjdb_split') or 'test'} split); "
            f"evaluate held-out rows instead, e.g. {hint}"
        )


class EncoderLM(LM):
    """Answers ``generate_until`` requests per task family; subclasses give the answerers
    and name the transformers auto class of their head (``auto_class``)."""

    backend = "encoder"
    auto_class = "AutoModel"

    def __init__(
        self,
        folder: Path,
        record: Mapping[str, Any],
        metadata: Mapping[str, Any],
        *,
        batch_size: int,
        max_length: int,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        self.folder = folder
        self.record = record
        self.metadata = dict(metadata)
        self.batch_size, self.max_length, self.torch_device = batch_size, max_length, device
        self.model, self.tokenizer = self.load()

    def load(self) -> tuple[Any, Any]:
        """The checkpoint's model with its ``auto_class`` head, and its tokenizer."""
        import transformers

        return load_encoder(self.folder, getattr(transformers, self.auto_class), self.torch_device)

    def forward(
        self, texts: list[Any], pairs: list[str] | None = None, *, words: bool = False
    ) -> tuple[Any, Any]:
        """Tokenise a batch (``words``: pre-split words; ``pairs``: second texts), truncated
        to ``max_length`` and padded, and run the model: ``(encoding, logits)``."""
        import torch

        encoded = self.tokenizer(
            texts,
            pairs,
            is_split_into_words=words,
            truncation=True,
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            return encoded, self.model(**encoded.to(self.torch_device)).logits

    @abc.abstractmethod
    def answerers(self) -> dict[str, Answerer]:
        """Task name or family -> a function from docs to answers."""

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Refuse training rows, then answer each task's docs in one batch."""
        docs = [request.doc for request in requests]
        check_not_trained_on(docs, self.record, self.metadata, self.folder)
        by_task: dict[str, list[int]] = defaultdict(list)
        for index, doc in enumerate(docs):
            by_task[doc["task"]].append(index)
        answers = [""] * len(requests)
        table = self.answerers()
        for task, indices in by_task.items():
            answer = table.get(task) or table.get(docs[indices[0]].get("family", ""))
            if answer is None:
                raise InputError(
                    f"model {self.backend!r} has no answer for task {task!r} "
                    f"(it answers: {', '.join(sorted(table))})"
                )
            for index, text in zip(indices, answer([docs[i] for i in indices]), strict=True):
                answers[index] = text
        return answers

    def loglikelihood(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """Not offered: the vacancy task scores this backend by rating."""
        raise InputError(
            f"model {self.backend!r} answers generation tasks only (got loglikelihood requests)"
        )

    def loglikelihood_rolling(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[float]:
        """Not offered, as :meth:`loglikelihood`."""
        raise InputError(
            f"model {self.backend!r} answers generation tasks only "
            "(got loglikelihood_rolling requests)"
        )


def build_trained(
    config: Any,
    task_metadata: Mapping[str, Any],
    lm_class: type[EncoderLM],
    *,
    extra: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> LoadedModel:
    """The ``LoadedModel`` of a trained checkpoint (``model.pretrained``) of ``lm_class``.

    ``config`` is the backend's typed settings (``pretrained``, ``batch_size``,
    ``max_length``, ``device``, ``name``); ``model.max_length`` null means the training
    recipe's; ``extra(record)`` gives the backend's own settings."""
    folder = checkpoint_dir(config.pretrained)
    record = read_training_record(folder, lm_class.backend)
    settings = {
        "batch_size": config.batch_size,
        "max_length": int(config.max_length or record["recipe"]["max_length"]),
        **extra(record),
    }
    lm = lm_class(folder, record, task_metadata, device=config.device, **settings)
    identity = checkpoint_identity(folder, record, config.name)
    return LoadedModel(lm, identity, settings=settings, cacheable=False)


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's archive format (optimizer.pt, rng_state.pth, ...)


def _check_safetensors(path: Path) -> None:
    """A safetensors file's length must be its header's (8 + header + the last tensor's end)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        header = handle.read(length) if 0 < length <= min(size, 100 << 20) else b""
    try:
        tensors = json.loads(header)
        end = max(
            (int(t["data_offsets"][1]) for k, t in tensors.items() if k != "__metadata__"),
            default=0,
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise InputError.at(path, "truncated or damaged weights (unreadable header)") from None
    if size != 8 + length + end:
        raise InputError.at(
            path, f"truncated or damaged weights ({size} bytes, its header says {8 + length + end})"
        )


def verify_files(folder: Path) -> None:
    """One line naming the first damaged file of a checkpoint folder, before anything loads
    it: a ``*.safetensors`` cut short, a ``*.json`` that does not parse, or a torch archive
    (``*.pt``, ``*.pth``, ``*.bin`` in zip format) whose zip directory or CRCs do not check
    out. (transformers and torch would fail deep inside with a traceback, or not at all.)"""
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            if path.suffix == ".safetensors":
                _check_safetensors(path)
            elif path.suffix == ".json":
                json.loads(path.read_bytes())  # NaN allowed: a trainer state may hold one
            elif path.suffix in (".pt", ".pth", ".bin"):
                with path.open("rb") as handle:
                    if handle.read(4) != _ZIP_MAGIC:
                        continue  # torch's legacy pickle format: nothing to check cheaply
                with zipfile.ZipFile(path) as archive:
                    damaged = archive.testzip()
                if damaged is not None:
                    raise InputError.at(path, f"damaged (member {damaged} fails its CRC)")
        except (ValueError, zipfile.BadZipFile, EOFError) as error:
            raise InputError.at(path, f"truncated or damaged ({one_line(error, 120)})") from None
        except OSError as error:
            raise InputError.at(path, f"cannot read ({error.strerror or error})") from None


def load_encoder(folder: Path, auto_class: Any, device: str) -> tuple[Any, Any]:
    """Model (eval mode, on ``device``) and tokenizer of a checkpoint, its files verified
    first (:func:`verify_files`); never remote code."""
    from transformers import AutoTokenizer
    from transformers.utils import logging

    verify_files(folder)
    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()  # no "Loading weights" bar for a 90 MB encoder
    try:
        model = auto_class.from_pretrained(folder, trust_remote_code=False).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise InputError.at(folder, f"cannot load the checkpoint ({one_line(error)})") from None
    finally:
        if shown:
            logging.enable_progress_bar()
    return model, tokenizer
