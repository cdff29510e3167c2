"""Every default, backend fact and metric fact is decided in one place.

* A setting's default lives in its schema dataclass (``rjdb_bench/settings.py``, a backend's
  ``rjdb_bench/backends/*_backend.py``, ``rjdb_bench/weak/config.py``): no YAML file in
  ``configs/`` restates one, and no code reads a setting with a literal fallback
  (``.get("soft_threshold", 0.8)``).
* Backends are tables derived from their registrations: no module outside
  ``rjdb_bench/backends/`` spells out a table keyed by backend names.
* A metric's facts live in ``rjdb_bench/metrics/spec.py``: the family list is defined there
  only, and no reader of runs guesses a metric's kind from its name.

The source files are parsed, never imported, as in ``test_architecture.py``.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rjdb_bench.backends import backends
from rjdb_bench.metrics.spec import FAMILIES
from rjdb_bench.settings import AutoModelSettings, RunSettings

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "rjdb_bench"
CONFIGS = REPO / "configs"
SOURCES = sorted(PACKAGE.rglob("*.py"))
SCHEMA_MODULES = {
    PACKAGE / "settings.py",
    PACKAGE / "weak" / "config.py",
    *sorted((PACKAGE / "backends").glob("*_backend.py")),
}


def _fields(schema: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf field of a settings dataclass: dotted name -> default (MISSING: none)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(schema):
        factory = f.default_factory
        default = factory() if factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            out |= _fields(type(default), f"{prefix}{f.name}.")
        else:
            out[f"{prefix}{f.name}"] = default
    return out


def _schemas() -> list[type]:
    from rjdb_bench.weak.config import LabelSettings, TrainSettings

    return [
        RunSettings,
        AutoModelSettings,
        LabelSettings,
        TrainSettings,
        *(b.settings for b in backends().values()),
    ]


SETTING_NAMES = {name.rsplit(".", 1)[-1] for schema in _schemas() for name in _fields(schema)} - {
    "name",
    "backend",
    "kind",
    "path",
    "split",
}  # words also used for other things


# ------------------------------------------------------------------ defaults: YAML files
def _leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "defaults":
            continue
        if isinstance(value, dict) and value:
            out |= _leaves(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _schema_of(path: Path) -> dict[str, Any] | None:
    """The defaults a config file starts from, when it starts from a schema."""
    group = path.parent.name
    data = yaml.safe_load(path.read_text()) or {}
    if path == CONFIGS / "config.yaml":
        return _fields(RunSettings)
    if group == "data":
        return {k[5:]: v for k, v in _fields(RunSettings).items() if k.startswith("data.")}
    if group == "metrics":
        return {k[8:]: v for k, v in _fields(RunSettings).items() if k.startswith("metrics.")}
    if group == "weak":
        from rjdb_bench.weak.config import LabelSettings, TrainSettings

        schemas = {"labels_schema": LabelSettings, "train_schema": TrainSettings}
        for entry in data.get("defaults") or []:
            if entry in schemas:
                return _fields(schemas[entry])
    if group == "model":
        for entry in data.get("defaults") or []:
            if isinstance(entry, str) and entry.endswith("_schema"):
                name = entry.removesuffix("_schema")
                if name == "auto":
                    return _fields(AutoModelSettings)
                return _fields(backends()[name].settings)
    return None


CONFIG_FILES = sorted(p for p in CONFIGS.rglob("*.yaml") if "hydra" not in p.parts)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_no_config_file_restates_a_schema_default(path: Path) -> None:
    schema = _schema_of(path)
    if schema is None:
        pytest.skip("not a file that starts from a schema (a selection preset, the sweep file)")
    data = yaml.safe_load(path.read_text()) or {}
    restated = [
        key
        for key, value in _leaves(data).items()
        if key in schema and schema[key] is not dataclasses.MISSING and schema[key] == value
    ]
    assert restated == [], f"{path.relative_to(REPO)} restates schema defaults"


def test_every_model_config_starts_from_a_registered_schema() -> None:
    registered = {f"{name}_schema" for name in backends()} | {"auto_schema"}
    for path in sorted((CONFIGS / "model").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        entries = [e for e in data.get("defaults") or [] if isinstance(e, str)]
        assert any(
            e in registered or (CONFIGS / "model" / f"{e}.yaml").is_file() for e in entries
        ), path


# ------------------------------------------------------------------ defaults: the code
def _literal_fallbacks(path: Path) -> list[str]:
    """``x.get("<setting>", <literal other than None>)`` calls in a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in SETTING_NAMES
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value is not None
        ):
            found.append(
                f"{path.relative_to(REPO)}:{node.lineno} .get({node.args[0].value!r}, ...)"
            )
    return found


def test_no_setting_is_read_with_a_literal_fallback_outside_the_schema() -> None:
    found = [
        hit for path in SOURCES if path not in SCHEMA_MODULES for hit in _literal_fallbacks(path)
    ]
    assert found == []


def test_the_collector_finds_a_literal_fallback(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('x = config.get("soft_threshold", 0.8)\ny = config.get("soft_threshold")\n')
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        assert _literal_fallbacks(probe) == ["probe.py:1 .get('soft_threshold', ...)"]
    finally:
        REPO = saved


def _literal_setting_fields(path: Path) -> list[str]:
    """Dataclass-style class fields named after a run or metrics setting with a literal default."""
    run_level = {
        name.rsplit(".", 1)[-1]
        for name in _fields(RunSettings)
        if not name.startswith(("model.", "data."))
    } - {"path", "enabled", "device"}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if (
                    isinstance(item, ast.AnnAssign)
                    and isinstance(item.target, ast.Name)
                    and item.target.id in run_level
                    and isinstance(item.value, ast.Constant)
                    and item.value.value is not None
                ):
                    found.append(
                        f"{path.relative_to(REPO)}:{item.lineno} {node.name}.{item.target.id}"
                    )
    return found


def test_lower_layers_take_run_defaults_from_the_schema() -> None:
    # e.g. ScoringSettings.seed and BertScoreConfig.batch_size refer to the schema's fields
    found = [
        hit
        for path in SOURCES
        if path not in SCHEMA_MODULES
        and "compare" not in path.parts
        and "leaderboard" not in path.parts
        for hit in _literal_setting_fields(path)
    ]
    assert found == []


# Parameters that share a setting's name but are not that setting.
NOT_SETTINGS = {("rjdb_bench/data/download.py", "fetch", "timeout"): "a download's socket timeout"}


def _literal_setting_parameters(path: Path) -> list[str]:
    """Function parameters named after a backend's or the run's setting with a literal default
    (a builder or an lm-eval model class must take such defaults from the schema)."""
    names = {
        name.rsplit(".", 1)[-1]
        for schema in (RunSettings, *(b.settings for b in backends().values()))
        for name in _fields(schema)
    } - {"name", "backend", "device", "path", "enabled", "limit"}  # "limit": also of text
    relative = str(path.relative_to(REPO))
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        args = node.args
        positional = args.posonlyargs + args.args
        pairs = list(
            zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
        )
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        for arg, default in pairs:
            if (
                arg.arg in names
                and isinstance(default, ast.Constant)
                and default.value is not None
                and (relative, node.name, arg.arg) not in NOT_SETTINGS
            ):
                found.append(f"{relative}:{node.lineno} {node.name}({arg.arg}={default.value!r})")
    return found


def test_no_function_restates_a_setting_default() -> None:
    # e.g. BaselineLM(folds=BaselineSettings.folds), bootstrap_ci(seed=RunSettings.seed)
    found = [
        hit
        for path in SOURCES
        if path not in SCHEMA_MODULES
        and "compare" not in path.parts
        and "leaderboard" not in path.parts
        and "weak" not in path.parts
        for hit in _literal_setting_parameters(path)
    ]
    assert found == []


# ------------------------------------------------------------------------ backend tables
BACKEND_NAMES = set(backends())


def _backend_tables(path: Path) -> list[str]:
    """Literal dicts, sets, tuples and lists of two or more backend names and nothing else
    (a list of library names that happens to hold ``vllm`` and ``openai`` is not one)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            values = node.keys
        elif isinstance(node, ast.Set | ast.Tuple | ast.List):
            values = node.elts
        else:
            continue
        strings = {
            v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        }
        names = strings & BACKEND_NAMES
        if len(names) >= 2 and names == strings:
            found.append(f"{path.relative_to(REPO)}:{node.lineno} {sorted(names)}")
    return found


def test_no_backend_table_outside_the_registrations() -> None:
    assert {"hf", "vllm", "openai", "oracle", "baseline"} <= BACKEND_NAMES
    # The weak-supervision trainer names its two recipes like the backends that load them.
    skipped = (PACKAGE / "backends", PACKAGE / "weak")
    found = [
        hit
        for path in SOURCES
        if not any(folder in path.parents for folder in skipped)
        for hit in _backend_tables(path)
    ]
    assert found == []


def test_backend_facts_come_from_the_registrations() -> None:
    from rjdb_bench.settings import register_configs

    register_configs()
    from hydra.core.config_store import ConfigStore

    stored = set(ConfigStore.instance().list("model"))
    for name, registration in backends().items():
        assert registration.name == name
        assert f"{name}_schema.yaml" in stored
        assert dataclasses.is_dataclass(registration.settings)
        assert _fields(registration.settings)["backend"] == name
    assert {n for n, b in backends().items() if b.loglikelihood} == {"hf", "vllm"}
    assert {n: b.reference for n, b in backends().items() if b.reference} == {
        "oracle": "oracle",
        "baseline": "baseline",
    }


# ------------------------------------------------------------------------- metric facts
def test_the_metric_families_are_defined_once() -> None:
    family_lists = []
    for path in SOURCES:
        if path == PACKAGE / "metrics" / "spec.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if len(names & set(FAMILIES)) >= 3:
                    family_lists.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert family_lists == []
    schema = json.loads((REPO / "leaderboard" / "schema.json").read_text())
    assert tuple(schema["$defs"]["metric"]["properties"]["family"]["enum"]) == FAMILIES


def test_no_reader_of_runs_guesses_a_metric_fact_from_its_name() -> None:
    words = {"spearman", "ndcg", "precision", "recall", "rouge", "bertscore", "accuracy"}
    guesses = []
    for path in sorted((PACKAGE / "leaderboard").glob("*.py")) + sorted(
        (PACKAGE / "compare").glob("*.py")
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Compare)
                and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
                and isinstance(node.left, ast.Constant)
                and node.left.value in words
            ):
                guesses.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("endswith", "startswith")
                and any(
                    isinstance(a, ast.Constant) and str(a.value) in words
                    for arg in node.args
                    for a in ([*arg.elts] if isinstance(arg, ast.Tuple) else [arg])
                )
            ):
                guesses.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert guesses == []


def test_every_task_metric_declares_its_kind_and_bounds() -> None:
    from rjdb_bench.tasks.registry import TASK_SPECS

    for spec in TASK_SPECS.values():
        for metric in spec.metrics:
            facts = metric.describe()
            assert facts["kind"] and facts["display_name"], (spec.name, metric.name)
            assert facts["bounds"] is None or facts["bounds"][0] < facts["bounds"][1]


# ------------------------------------------------------------- a backend is one module
ECHO_MODULE = '''
"""``model=echo``: answers every generation request with ``model.answer``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lm_eval.api.model import LM

from rjdb_bench.backends import Backend, typed_settings
from rjdb_bench.models.registry import LoadedModel


@dataclass
class EchoSettings:
    name: str = "echo"
    backend: str = "echo"
    answer: str = "Yes"


class EchoLM(LM):
    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = answer

    def generate_until(self, requests, disable_tqdm: bool = False):
        return [self.answer for _ in requests]

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def build_echo(config: Any, task_metadata: Mapping[str, Any]) -> LoadedModel:
    config = typed_settings(EchoSettings, config)
    return LoadedModel(EchoLM(config.answer), {"name": config.name, "kind": "echo"})


BACKEND = Backend(name="echo", settings=EchoSettings, build=f"{__name__}:build_echo")
'''

ECHO_YAML = """# A backend that answers every request with model.answer (a test of the one-module rule).
defaults:
  - echo_schema
  - _self_
"""


@pytest.mark.slow
def test_a_new_backend_is_one_module_and_one_yaml(tmp_path: Path) -> None:
    """A copy of the package plus ``echo_backend.py`` and ``configs/model/echo.yaml``, nothing
    else, runs ``model=echo`` end to end; the run records the backend's facts."""
    checkout = tmp_path / "checkout"
    for folder in ("rjdb_bench", "configs", "tasks", "leaderboard"):
        shutil.copytree(
            REPO / folder, checkout / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    (checkout / "rjdb_bench" / "backends" / "echo_backend.py").write_text(ECHO_MODULE)
    (checkout / "configs" / "model" / "echo.yaml").write_text(ECHO_YAML)
    out = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rjdb_bench.cli",
            "run",
            "model=echo",
            "model.answer=No",
            "tasks=[rjdb_match]",
            "limit=4",
            f"output_dir={out}",
        ],
        cwd=checkout,
        env={**__import__("os").environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["model"]["backend_info"] == {
        "backend": "echo",
        "engine": None,
        "reference": None,
        "public_id": None,
    }
    assert results["config"]["model"] == {"name": "echo", "backend": "echo", "answer": "No"}
    samples = [json.loads(line) for line in (out / "samples" / "rjdb_match.jsonl").open()]
    assert [s["output"] for s in samples] == ["No"] * 4
    expected = sum(s["gold"] == "No" for s in samples) / 4
    assert results["tasks"]["rjdb_match"]["metrics"]["accuracy"] == pytest.approx(expected)
    # The copy's own package ran, not the checkout's (which has no echo backend).
    assert "echo" not in backends()
