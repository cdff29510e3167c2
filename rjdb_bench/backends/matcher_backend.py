"""``model=matcher``: a cross-encoder trained by ``rjdb-bench weak train-matcher``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from rjdb_bench.backends import Backend
from rjdb_bench.checks import POSITIVE_INT, POSITIVE_INT_OR_NULL, UNIT

# OmegaConf reads these annotations at run time: keep typing's spelling (no `X | None`).
# ruff: noqa: UP045


@dataclass
class MatcherSettings:
    """A match cross-encoder checkpoint; on RJDB tasks it refuses the rows it was trained on."""

    name: str = "matcher"
    backend: str = "matcher"
    pretrained: str = MISSING  # the training output folder or its model/ folder
    batch_size: int = 16
    # Subword tokens of (job description or vacancy, resume) together (null: as in training).
    max_length: Optional[int] = None
    threshold: float = 0.5  # rjdb_match answers Yes when P(match) >= threshold
    device: str = "cpu"


BACKEND = Backend(
    name="matcher",
    settings=MatcherSettings,
    build="rjdb_bench.models.matcher:build_matcher",
    checks={
        "batch_size": POSITIVE_INT,
        "max_length": POSITIVE_INT_OR_NULL,
        "threshold": UNIT,
    },
)
