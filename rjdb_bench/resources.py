"""Locate the task YAMLs, Hydra configs and leaderboard schema, in a checkout or a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _resource(name: str) -> Path:
    packaged = _PACKAGE / "_resources" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def tasks_dir() -> Path:
    """The folder of lm-eval task YAMLs (``tasks/`` in a checkout)."""
    return _resource("tasks")


def configs_dir() -> Path:
    """The folder of Hydra configs (``configs/`` in a checkout)."""
    return _resource("configs")


def _resource_file(packaged_name: str, checkout_path: str) -> Path:
    packaged = _PACKAGE / "_resources" / packaged_name
    return packaged if packaged.is_file() else _PACKAGE.parent / checkout_path


def leaderboard_schema() -> Path:
    """The leaderboard's JSON Schema (``leaderboard/schema.json`` in a checkout)."""
    return _resource_file("leaderboard_schema.json", "leaderboard/schema.json")


def leaderboard_presentation() -> Path:
    """The default ``presentation.yaml`` of the leaderboard page (``leaderboard/`` in a checkout)."""
    return _resource_file("leaderboard_presentation.yaml", "leaderboard/presentation.yaml")
