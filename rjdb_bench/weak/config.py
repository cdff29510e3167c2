"""The ``rjdb-bench weak`` configs: ``configs/weak/{labels,tagger,matcher,linker}.yaml`` composed
with Hydra overrides (as ``rjdb-bench run``) and checked against the schemas below, so a
typo or a bad value is one line naming the field."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING, DictConfig

from rjdb_bench.checks import is_non_negative, is_positive, one_of
from rjdb_bench.settings import compose, validate_structured

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP045

SPLIT_CHOICES = ("auto", "train", "dev", "test")
TEXT_SOURCES = ("resume_matched", "job_description", "resume_unmatched")
NEGATIVE_KINDS = ("unmatched", "other_row")
TRAIN_KINDS = ("tagger", "matcher", "linker")


@dataclass
class WeakDataSettings:
    """``data``: the RJDB rows weak labels come from (docs/weak-supervision.md)."""

    split: str = "auto"
    data_dir: Optional[str] = None
    path: Optional[str] = None
    rows: Optional[str] = None


@dataclass
class LabelSettings:
    """``weak build-labels``: which rows, which texts, how pairs are drawn, where it goes."""

    data: WeakDataSettings = field(default_factory=WeakDataSettings)
    sources: list[str] = field(default_factory=lambda: ["resume_matched", "job_description"])
    max_words: int = 64
    negatives: list[str] = field(default_factory=lambda: ["unmatched", "other_row"])
    seed: int = 1234
    output_dir: str = "runs/weak/labels"


@dataclass
class TrainSettings:
    """``weak train-tagger`` / ``train-matcher`` / ``train-linker``: the recipe (``kind`` says
    which)."""

    kind: str = MISSING
    labels: str = "runs/weak/labels"
    encoder: Optional[str] = None
    output_dir: str = MISSING
    seed: int = 1234
    max_length: int = 128
    epochs: float = 1.0
    max_steps: Optional[int] = None
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    save_steps: int = 50
    save_total_limit: int = 2
    logging_steps: int = 10
    limit: Optional[int] = None
    threads: Optional[int] = None


CHECKS: dict[str, tuple[Any, str]] = {
    "data.split": (lambda v: v in SPLIT_CHOICES, "one of " + ", ".join(SPLIT_CHOICES)),
    "sources": (
        lambda v: bool(v) and set(v) <= set(TEXT_SOURCES),
        "a non-empty list of " + ", ".join(TEXT_SOURCES),
    ),
    "negatives": (
        lambda v: set(v) <= set(NEGATIVE_KINDS),
        "a list of " + ", ".join(NEGATIVE_KINDS),
    ),
    "kind": one_of(*TRAIN_KINDS),
    "seed": (is_non_negative, "a non-negative integer"),
    "max_words": (is_positive, "a positive integer"),
    "max_length": (is_positive, "a positive integer"),
    "epochs": (is_positive, "a positive number"),
    "max_steps": (is_positive, "a positive integer or null"),
    "batch_size": (is_positive, "a positive integer"),
    "learning_rate": (is_positive, "a positive number"),
    "weight_decay": (is_non_negative, "a non-negative number"),
    "warmup_ratio": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "save_steps": (is_positive, "a positive integer"),
    "save_total_limit": (is_positive, "a positive integer"),
    "logging_steps": (is_positive, "a positive integer"),
    "limit": (is_positive, "a positive integer or null"),
    "threads": (is_positive, "a positive integer or null"),
}

SCHEMAS = {
    "labels": LabelSettings,
    "tagger": TrainSettings,
    "matcher": TrainSettings,
    "linker": TrainSettings,
}


@functools.cache
def register_weak_configs() -> None:
    """Register the schemas with Hydra's ``ConfigStore``: ``configs/weak/*.yaml`` start from
    ``labels_schema`` or ``train_schema`` and hold only their choices."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="labels_schema", node=LabelSettings)
    store.store(name="train_schema", node=TrainSettings)


def compose_weak(name: str, overrides: Sequence[str]) -> DictConfig:
    """``configs/weak/<name>.yaml`` with Hydra ``overrides``, typed and checked."""
    from rjdb_bench.resources import configs_dir

    register_weak_configs()
    return validate_structured(
        SCHEMAS[name], compose(configs_dir() / "weak", name, overrides), CHECKS
    )
