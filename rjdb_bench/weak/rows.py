"""Which RJDB rows weak labels come from, and which stay held out for evaluation.

``data.split: auto`` uses the train split when the user has it (a ``train.jsonl`` given by
``data.path``, ``data.data_dir`` or ``$RJDB_DATA_DIR``), every row of it; otherwise the
only split available offline, test, rows ``0:600`` (:data:`FALLBACK_ROWS`), leaving rows
600-999 for evaluation. An explicit ``data.split`` with ``data.rows`` picks any range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from rjdb_bench.data.download import DataFile
from rjdb_bench.data.rjdb import locate_rjdb, raw_rows, read_rjdb
from rjdb_bench.data.row_range import parse_row_range
from rjdb_bench.errors import InputError

FALLBACK_ROWS = "0:600"


@dataclass
class TrainingRows:
    """The selected rows of one RJDB file, and the rest of it (held out)."""

    split: str
    source: DataFile
    rows: datasets.Dataset
    selected: range
    n_file_rows: int
    reason: str

    @property
    def held_out(self) -> list[int]:
        """Row ids of the file that are not used for training."""
        return [row for row in range(self.n_file_rows) if row not in self.selected]

    def held_out_lines(self) -> list[bytes]:
        """The held-out rows' JSONL lines as the file holds them."""
        return raw_rows(self.source.path, self.held_out)

    def describe(self) -> dict[str, Any]:
        """The card's and the checkpoint's record of the rows used."""
        return {
            "split": self.split,
            "file": str(self.source.path),
            "file_sha256": self.source.sha256,
            "origin": self.source.origin,
            "rows": f"{self.selected.start}:{self.selected.stop}",
            "n_rows": len(self.selected),
            "n_file_rows": self.n_file_rows,
            "why": self.reason,
        }


def select_training_rows(data: Mapping[str, Any]) -> TrainingRows:
    """The rows ``data`` (``split``, ``data_dir``, ``path``, ``rows``) selects (module docstring)."""
    split, rows_text = data["split"], data.get("rows")
    if split == "auto":
        try:
            source = locate_rjdb("train", data_dir=data.get("data_dir"), path=data.get("path"))
            split, reason = "train", "split=auto: a train split was found; all its rows"
        except InputError:
            if data.get("path"):
                raise
            source = locate_rjdb("test", data_dir=data.get("data_dir"))
            split = "test"
            reason = (
                f"split=auto: no train split found, so test rows {rows_text or FALLBACK_ROWS} "
                "(the rest of test is held out for evaluation)"
            )
            rows_text = rows_text or FALLBACK_ROWS
    else:
        source = locate_rjdb(split, data_dir=data.get("data_dir"), path=data.get("path"))
        reason = f"split={split} as configured"
    table = read_rjdb(source)
    selected = parse_row_range(rows_text, len(table), field="data.rows")
    return TrainingRows(
        split=split,
        source=source,
        rows=table.select(selected),
        selected=selected,
        n_file_rows=len(table),
        reason=reason,
    )


def held_out_path(labels_dir: str | Path) -> Path:
    """Where ``build-labels`` writes the held-out rows (a JSONL split file for ``data.path``)."""
    return Path(labels_dir) / "heldout.jsonl"
