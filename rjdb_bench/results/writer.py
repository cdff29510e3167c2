"""Write a run's ``results.json`` and ``samples/<task>.jsonl``, each atomically."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rjdb_bench.atomic import atomic_path, atomic_write_text

RESULTS_FILE = "results.json"
SAMPLES_DIR = "samples"


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become null (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _json_line(record: Mapping[str, Any]) -> str:
    """One JSON Lines record. U+2028/U+2029 (which RJDB texts contain) are escaped, because
    ``str.splitlines`` and many JSON Lines readers treat them as line breaks."""
    text = json.dumps(_clean(record), ensure_ascii=False, allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"


def write_samples(output_dir: Path, task: str, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object per doc to ``samples/<task>.jsonl``."""
    target = output_dir / SAMPLES_DIR / f"{task}.jsonl"
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(_json_line(record))
    return target


def write_results(output_dir: Path, results: Mapping[str, Any]) -> Path:
    """Write ``results.json`` (indented, strict JSON)."""
    target = output_dir / RESULTS_FILE
    atomic_write_text(
        target, json.dumps(_clean(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    )
    return target


def read_results(output_dir: Path) -> dict[str, Any]:
    """Load a run's ``results.json``."""
    return json.loads((Path(output_dir) / RESULTS_FILE).read_text(encoding="utf-8"))
