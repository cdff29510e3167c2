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


def leaderboard_schema() -> Path:
    """The leaderboard's JSON Schema (``leaderboard/schema.json`` in a checkout)."""
    packaged = _PACKAGE / "_resources" / "leaderboard_schema.json"
    return packaged if packaged.is_file() else _PACKAGE.parent / "leaderboard" / "schema.json"


def leaderboard_presentation() -> Path:
    """The default ``presentation.yaml`` of the leaderboard page (``leaderboard/`` in a checkout)."""
    packaged = _PACKAGE / "_resources" / "leaderboard_presentation.yaml"
    if packaged.is_file():
        return packaged
    return _PACKAGE.parent / "leaderboard" / "presentation.yaml"
