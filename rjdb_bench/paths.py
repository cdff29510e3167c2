"""Where rjdb-bench keeps its caches (downloaded data, converted models)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """Return ``$RJDB_BENCH_CACHE/<parts>`` (default ``~/.cache/rjdb-bench``), created."""
    root = Path(os.environ.get("RJDB_BENCH_CACHE") or Path.home() / ".cache" / "rjdb-bench")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
