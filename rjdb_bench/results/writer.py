"""How a run's files are serialised: strict JSON for ``results.json``, JSON lines for samples.

:mod:`rjdb_bench.results.run_dir` writes them, as one set, into a run directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

RESULTS_FILE = "results.json"
SAMPLES_DIR = "samples"


def clean_json(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become null (strict JSON has no NaN).

    >>> clean_json({"a": float("nan"), "b": [1.5, float("inf")]})
    {'a': None, 'b': [1.5, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the same text for the same data, for hashing.

    >>> canonical_json({"b": 1, "a": [1.5, "é"]})
    '{"a":[1.5,"é"],"b":1}'
    """
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def json_line(record: Mapping[str, Any]) -> str:
    """One JSON Lines record. U+2028/U+2029 (which RJDB texts contain) are escaped, because
    ``str.splitlines`` and many JSON Lines readers treat them as line breaks.

    >>> json_line({"text": "a\\u2028b"})
    '{"text": "a\\\\u2028b"}\\n'
    """
    text = json.dumps(clean_json(record), ensure_ascii=False, allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"


def results_text(results: Mapping[str, Any]) -> str:
    """``results.json``'s text: indented, strict JSON."""
    return json.dumps(clean_json(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
