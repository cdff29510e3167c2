"""The pipeline's layers import only downwards: data → tasks → models → scoring → results.

Every ``.py`` file under ``rjdb_bench/`` is parsed (never imported) and every ``import`` and
``from ... import`` in it is collected, including those inside functions and ``TYPE_CHECKING``
blocks, with relative imports resolved against the module's package. ``FORBIDDEN`` then says
which packages a layer must not reach.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rjdb_bench"

# layer (a package under rjdb_bench) -> packages none of its modules may import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Backends get what they need with the request (the output constraint travels in the
    # generation kwargs) or from the data layer, never from the task modules.
    # Trained checkpoints (tagger, matcher) are backends like any other: they never import
    # the training code that made them (weak), only its record beside the weights.
    "rjdb_bench.models": ("rjdb_bench.tasks", "rjdb_bench.weak"),
    "rjdb_bench.data": ("rjdb_bench.models", "rjdb_bench.tasks", "rjdb_bench.weak"),
    "rjdb_bench.metrics": ("rjdb_bench.models", "rjdb_bench.tasks", "rjdb_bench.weak"),
    # Weak supervision builds training data (data, metrics' span projection) and trains
    # encoders; it never runs an evaluation: no task code, scorer, run directory or board.
    "rjdb_bench.weak": (
        "rjdb_bench.tasks",
        "rjdb_bench.scoring",
        "rjdb_bench.results",
        "rjdb_bench.runner",
        "rjdb_bench.rescore",
        "rjdb_bench.leaderboard",
        "rjdb_bench.compare",
    ),
    # Tasks say what to ask and how to read the answer; they never run a model, compute the
    # run's scores or write files.
    "rjdb_bench.tasks": ("rjdb_bench.models", "rjdb_bench.scoring", "rjdb_bench.results"),
    # Scoring gets the spec and the items; it never sees a backend or a file.
    "rjdb_bench.scoring": ("rjdb_bench.models", "rjdb_bench.results"),
    # A run directory is written and read without task code, models or scoring.
    "rjdb_bench.results": ("rjdb_bench.models", "rjdb_bench.tasks", "rjdb_bench.scoring"),
    # The leaderboard and the gate read run directories: no task code, no model, no scorer.
    "rjdb_bench.leaderboard": (
        "rjdb_bench.models",
        "rjdb_bench.tasks",
        "rjdb_bench.scoring",
        "rjdb_bench.runner",
        "rjdb_bench.rescore",
    ),
    # Backend registrations are declarations every layer may read: they import no layer that
    # runs (a builder is named by its module path and imported only when used).
    "rjdb_bench.backends": (
        "rjdb_bench.tasks",
        "rjdb_bench.scoring",
        "rjdb_bench.results",
        "rjdb_bench.leaderboard",
        "rjdb_bench.compare",
        "rjdb_bench.runner",
        "rjdb_bench.stages",
        "rjdb_bench.plan",
        "rjdb_bench.rescore",
        "rjdb_bench.weak",
    ),
    "rjdb_bench.compare": (
        "rjdb_bench.models",
        "rjdb_bench.tasks",
        "rjdb_bench.scoring",
        "rjdb_bench.runner",
        "rjdb_bench.rescore",
    ),
}


def module_name(path: Path) -> str:
    """``rjdb_bench/models/hf.py`` -> ``rjdb_bench.models.hf`` (a package is its ``__init__``)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module the code ``source`` of ``module`` imports anywhere, as absolute dotted names.

    ``from a.b import c`` yields both ``a.b`` and ``a.b.c`` (``c`` may be a submodule).
    """
    tree = ast.parse(source, filename=module)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def file_imports(path: Path) -> set[str]:
    """:func:`imported_modules` of a source file under ``rjdb_bench/``."""
    return imported_modules(
        path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py"
    )


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_source_file_is_seen() -> None:
    names = {module_name(path) for path in SOURCES}
    # A guard against a wrong root: the layers checked below must be found.
    for layer in FORBIDDEN:
        assert any(within(name, layer) for name in names), layer


def test_the_collector_sees_nested_relative_and_from_imports() -> None:
    source = (
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from rjdb_bench.tasks.base import TaskSpec\n"
        "def f():\n"
        "    from ..tasks import registry\n"
        "    import rjdb_bench.tasks.parsing as p\n"
        "class C:\n"
        "    def g(self):\n"
        "        from .registry import LoadedModel\n"
        "        from . import hf\n"
    )
    found = imported_modules(source, "rjdb_bench.models.probe")
    assert {
        "os",
        "rjdb_bench.tasks.base",
        "rjdb_bench.tasks",
        "rjdb_bench.tasks.registry",
        "rjdb_bench.tasks.parsing",
        "rjdb_bench.models.registry",
        "rjdb_bench.models.registry.LoadedModel",
        "rjdb_bench.models.hf",
    } <= found
    # In a package's __init__, "." is the package itself.
    assert "rjdb_bench.models.hf" in imported_modules(
        "from .hf import build_hf\n", "rjdb_bench.models", is_package=True
    )


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_do_not_import_the_layers_above(layer: str) -> None:
    violations = [
        f"{module_name(path)} imports {name}"
        for path in SOURCES
        if within(module_name(path), layer)
        for name in sorted(file_imports(path))
        if any(within(name, forbidden) for forbidden in FORBIDDEN[layer])
    ]
    assert violations == []


# The run plan sits between the settings and the stages: it may read the schema, the task
# specs and the backend registrations, nothing that runs later.
PLAN_FORBIDDEN = (
    "rjdb_bench.runner",
    "rjdb_bench.stages",
    "rjdb_bench.rescore",
    "rjdb_bench.scoring",
    "rjdb_bench.results",
    "rjdb_bench.compare",
    "rjdb_bench.leaderboard",
    "rjdb_bench.cli",
    "rjdb_bench.sweep",
    "rjdb_bench.weak",
    "lm_eval.evaluator",
)
# Of the models layer the plan sees nothing: backends are read from their registrations.
PLAN_MODELS_ALLOWED: tuple[str, ...] = ()
# Layers below the plan (they get what they need from it, or from the schema's classes).
BELOW_THE_PLAN = (
    "rjdb_bench.data",
    "rjdb_bench.metrics",
    "rjdb_bench.tasks",
    "rjdb_bench.models",
    "rjdb_bench.scoring",
    "rjdb_bench.results",
)
# What settings.py offers besides its schema classes: only the pipeline's top may use it.
SETTINGS_MACHINERY = (
    "compose",
    "validate_settings",
    "validate_structured",
    "register_configs",
    "resolve_backend",
    "check_settings",
)


def test_the_plan_imports_nothing_that_runs_after_it() -> None:
    found = file_imports(PACKAGE / "plan.py")
    assert [n for n in sorted(found) if any(within(n, f) for f in PLAN_FORBIDDEN)] == []
    models = [n for n in found if within(n, "rjdb_bench.models")]
    assert all(any(within(n, a) for a in PLAN_MODELS_ALLOWED) for n in models), models


def test_nothing_below_the_plan_reads_the_raw_config() -> None:
    violations = []
    for path in SOURCES:
        name = module_name(path)
        if not any(within(name, layer) for layer in BELOW_THE_PLAN):
            continue
        for imported in sorted(file_imports(path)):
            if any(
                within(imported, top)
                for top in ("rjdb_bench.plan", "rjdb_bench.runner", "rjdb_bench.stages")
            ) or any(imported == f"rjdb_bench.settings.{f}" for f in SETTINGS_MACHINERY):
                violations.append(f"{name} imports {imported}")
    assert violations == []
