"""``model=baseline``: the non-neural references (``docs/models.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rjdb_bench.backends import Backend
from rjdb_bench.checks import POSITIVE_INT

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP045


@dataclass
class BaselineSettings:
    """Lexicon skill matcher, rules, MiniLM similarity, copy-the-input editor. Everything a
    baseline learns for a doc comes from rows in the other ``folds`` folds."""

    name: str = "baseline"
    backend: str = "baseline"
    folds: int = 5
    # null: fit the Yes/No similarity threshold on `fit_rows` other-fold rows; or a fixed float.
    match_threshold: Optional[float] = None
    fit_rows: int = 200
    seed: int = 0
    batch_size: int = 32


BACKEND = Backend(
    name="baseline",
    settings=BaselineSettings,
    build="rjdb_bench.models.builders:build_baseline",
    reference="baseline",
    checks={
        "folds": (lambda v: v >= 2, "an integer of at least 2"),
        "fit_rows": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
    },
)
