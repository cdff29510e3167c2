"""Which RJDB rows a weakly supervised model was trained on, and how to tell them apart later.

A *row fingerprint* identifies an RJDB row by its content (job description and both
resumes), not by its position, so a held-out file, a renumbered copy or another split is
recognised as holding the same row. A checkpoint lists the fingerprints of its training
rows; a run refuses to evaluate it on any of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from rjdb_bench.errors import InputError

_FINGERPRINT_FIELDS = ("job_description", "resume_matched", "resume_unmatched")
FINGERPRINT_CHARS = 16


def row_fingerprint(row: Mapping[str, Any]) -> str:
    """First 16 hex digits of the sha256 of a normalised row's three texts.

    >>> row_fingerprint({"job_description": "JD", "resume_matched": "A", "resume_unmatched": "B"})
    '16aa4fab852b3faa'
    """
    payload = json.dumps([row[key] for key in _FINGERPRINT_FIELDS], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]


def fingerprints_checksum(fingerprints: Iterable[str]) -> str:
    """sha256 of the fingerprints, one per line in order: the training rows in one value."""
    return hashlib.sha256("\n".join(fingerprints).encode("ascii")).hexdigest()


def parse_row_range(text: str | None, n_rows: int, *, field: str) -> range:
    """``"START:STOP"`` (Python slice bounds, either may be empty) as a range of row ids.

    >>> parse_row_range("0:600", 1000, field="data.rows"), parse_row_range(None, 5, field="x")
    (range(0, 600), range(0, 5))
    >>> parse_row_range("900:", 1000, field="data.rows")
    range(900, 1000)
    """
    if text is None:
        return range(n_rows)
    start, sep, stop = str(text).partition(":")
    try:
        bounds = (int(start) if start.strip() else 0, int(stop) if stop.strip() else n_rows)
    except ValueError:
        bounds = (-1, -1)
    if not sep or not 0 <= bounds[0] < bounds[1] <= n_rows:
        raise InputError(
            f"config: {field}: expected START:STOP with 0 <= START < STOP <= {n_rows} "
            f"(the file's rows), got {text!r}"
        )
    return range(*bounds)
