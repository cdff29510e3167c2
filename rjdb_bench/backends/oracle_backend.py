"""``model=oracle``: each doc's gold answer in the task's output format (every metric's ceiling)."""

from __future__ import annotations

from dataclasses import dataclass

from rjdb_bench.backends import Backend


@dataclass
class OracleSettings:
    """The gold-answer oracle."""

    name: str = "oracle"
    backend: str = "oracle"
    # Keep only gold strings that occur verbatim in the model's input (the copy ceiling).
    extractive: bool = False


BACKEND = Backend(
    name="oracle",
    settings=OracleSettings,
    build="rjdb_bench.models.builders:build_oracle",
    reference="oracle",
)
