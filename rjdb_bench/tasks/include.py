"""Check the task YAMLs of ``include_path`` folders before lm-eval indexes them.

lm-eval 0.4.13's ``TaskIndex`` skips, without a word, every ``*.yaml`` file it cannot read (bad
YAML syntax, an unknown tag, a missing ``include:``d file, no ``task:``/``group:`` key, a
``class:`` without ``task:``), so the user only learns ``unknown task``; and a ``!function``
naming something that does not exist fails later with a traceback. :func:`check_include_paths`
reads the same files the same way and turns the first such problem into a one-line
:class:`~rjdb_bench.errors.InputError` naming the file (and line, where there is one).

What it accepts is what lm-eval accepts: the files of ``TaskIndex._iter_yaml_files`` (``*.yaml``
anywhere below the folder, outside ``__pycache__`` and ``.ipynb_checkpoints``; other names such
as ``_template_yaml`` or ``x.yml`` are never read as tasks), parsed with lm-eval's YAML loader
class, ``include:`` resolved relative to the including file, task (``task:``, or ``class:``
with ``task:``) and group (``group:``) configs. A ``*.yaml`` file without ``task:`` or
``group:`` is accepted only as a template that another YAML includes.

Resolving ``!function`` imports the named module (a ``.py`` file beside the YAML, or an
importable module), exactly as lm-eval does when it builds the task: **an include path runs
code and must be trusted.** Every ``!function`` of every YAML in the folders is resolved here,
not only those of the selected tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lm_eval.tasks._index import TaskIndex
from lm_eval.tasks._yaml_loader import _Base, _load_module_with_cache

from rjdb_bench.errors import InputError, one_line, yaml_error


@dataclass(eq=False)
class FunctionRef:
    """A ``!function`` tag in a YAML file: what it names, its 1-based line, what that resolved to."""

    spec: str
    line: int
    target: Any = None


@dataclass
class _Parsed:
    """One YAML file: its own value, the ``!function`` tags in it, the files it includes."""

    path: Path
    data: Any
    functions: list[FunctionRef] = field(default_factory=list)
    includes: list[_Parsed] = field(default_factory=list)

    def walk(self) -> Iterator[_Parsed]:
        """This file, then each included file (depth first)."""
        yield self
        for part in self.includes:
            yield from part.walk()

    def merged(self) -> Any:
        """The config lm-eval sees (its ``load_yaml``): included configs in order, own keys on top."""
        if not self.includes:
            return self.data
        config: dict[str, Any] = {}
        for part in self.includes:
            config.update({k: v for k, v in part.merged().items() if k != "task_list"})
        config.update({k: v for k, v in self.data.items() if k != "include"})
        return config


class _CheckLoader(_Base):  # type: ignore[misc, valid-type]
    """lm-eval's loader class; ``!function`` is recorded, not imported."""

    functions: list[FunctionRef]


def _record_function(loader: _CheckLoader, node: yaml.Node) -> FunctionRef:
    spec = loader.construct_scalar(node)  # a non-scalar raises ConstructorError, as in lm-eval
    ref = FunctionRef(str(spec), node.start_mark.line + 1)
    loader.functions.append(ref)
    return ref


yaml.add_constructor("!function", _record_function, Loader=_CheckLoader)


def check_include_paths(paths: Iterable[str | Path]) -> None:
    """Raise :class:`InputError` for the first task YAML in ``paths`` that lm-eval would skip or fail on.

    Checks, in lm-eval's file order: each path is a folder holding ``*.yaml`` files; each file
    (and each file it includes) parses; each is a mapping with ``task:`` (a name) or ``group:``,
    unless another YAML includes it; ``class:`` is a ``!function``; every ``!function`` resolves
    (which imports it).
    """
    parsed: dict[Path, _Parsed] = {}
    for root in map(Path, paths):
        if not root.is_dir():
            what = "not found" if not root.exists() else "not a folder"
            raise InputError.at(root, f"include_path: {what}, expected a folder of task YAMLs")
        files = [p for p in TaskIndex._iter_yaml_files(root) if p.is_file()]
        if not files:
            raise InputError.at(
                root,
                "include_path: no task YAML in this folder (lm-eval reads only files ending in .yaml)",
            )
        for path in files:
            parsed[path] = _load_with_includes(path, seen=())
    # A *.yaml file without task:/group: is fine as a template that another YAML includes.
    templates = {
        part.path.resolve() for top in parsed.values() for part in top.walk() if part is not top
    }
    for path, top in parsed.items():
        config = top.merged()
        if path.resolve() not in templates:
            _check_shape(path, config)
        for part in top.walk():
            _check_functions(part)
        if isinstance(config, dict) and "class" in config:
            _check_class(path, config["class"])


def _load_with_includes(path: Path, seen: Sequence[Path]) -> _Parsed:
    """``path`` parsed, with every file it includes (recursively), as lm-eval's ``load_yaml``."""
    own = _parse(path)
    if not isinstance(own.data, dict) or "include" not in own.data:
        return own
    includes = own.data["include"]
    for name in includes if isinstance(includes, list) else [includes]:
        if not isinstance(name, str) or not name:
            raise InputError.at(
                path, f"expected a YAML file name or a list of them, got {name!r}", field="include"
            )
        target = Path(name) if Path(name).is_absolute() else path.parent / name
        if target.resolve() in {p.resolve() for p in (*seen, path)}:
            raise InputError.at(path, f"{name}: include cycle", field="include")
        if not target.is_file():
            raise InputError.at(path, f"{name}: file not found ({target})", field="include")
        sub = _load_with_includes(target, seen=(*seen, path))
        if not isinstance(sub.data, dict):
            raise InputError.at(target, f"expected a YAML mapping, got {yaml_kind(sub.data)}")
        own.includes.append(sub)
    return own


def _parse(path: Path) -> _Parsed:
    """One YAML file with lm-eval's loader class, or an ``InputError`` at the line of the problem."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError.at(path, f"cannot read ({e.strerror or e})") from None
    loader = _CheckLoader(data)
    loader.functions = []
    try:
        value = loader.get_single_data()
    except yaml.YAMLError as e:
        raise yaml_error(path, e, data) from None
    finally:
        loader.dispose()
    return _Parsed(path, value, loader.functions)


def _check_shape(path: Path, config: Any) -> None:
    """A task (``task:`` name, maybe ``class:``) or a group (``group:`` name), as lm-eval indexes."""
    if not isinstance(config, dict):
        got = "an empty file" if config is None else yaml_kind(config)
        raise InputError.at(
            path, f"expected a task config (a YAML mapping with task: or group:), got {got}"
        )
    if "class" in config or "group" not in config:
        if "task" not in config:
            hint = (
                "class: given but no task: name, so lm-eval would skip this file"
                if "class" in config
                else "no task: or group: key, so lm-eval would skip this file (a template "
                "used through include: may also be named without the .yaml ending)"
            )
            raise InputError.at(path, hint)
        name = config["task"]
        if not isinstance(name, str) or not name:
            extra = "; a list of tasks needs a group: name" if isinstance(name, list) else ""
            raise InputError.at(
                path, f"expected a task name, got {yaml_kind(name)}{extra}", field="task"
            )
    else:
        name = config["group"]
        if not isinstance(name, str) or not name:
            raise InputError.at(
                path, f"expected a group name, got {yaml_kind(name)}", field="group"
            )


def _check_functions(part: _Parsed) -> None:
    """Import every ``!function`` target of one file, relative to that file, as lm-eval would."""
    base_dir = part.path.expanduser().resolve().parent
    for ref in part.functions:
        ref.target, problem = _resolve(ref.spec, base_dir)
        if problem:
            raise InputError.at(part.path, f"!function {ref.spec}: {problem}", line=ref.line)


def _check_class(path: Path, value: Any) -> None:
    """``class:`` must be a ``!function`` naming something lm-eval can call with the config."""
    if not isinstance(value, FunctionRef):
        raise InputError.at(
            path, f"expected !function <module>.<Class>, got {yaml_kind(value)}", field="class"
        )
    if not callable(value.target):
        raise InputError.at(
            path,
            f"!function {value.spec}: not a class (got {yaml_kind(value.target)})",
            line=value.line,
        )


def _resolve(spec: str, base_dir: Path) -> tuple[Any, str | None]:
    """``(target, None)``, or ``(None, why spec cannot be resolved from base_dir)``.

    Mirrors ``lm_eval.tasks._yaml_loader._import_func_in_yml``: ``<module path>.py`` beside the
    YAML first (loaded through lm-eval's module cache, so the task build reuses it), then an
    importable module.
    """
    module_name, _, name = spec.rpartition(".")
    if not module_name or not name:
        return None, "expected <module>.<name>, e.g. utils.process_docs"
    local = (base_dir / f"{module_name.replace('.', '/')}.py").resolve()
    try:
        if local.exists():
            where = str(local)
            module = _load_module_with_cache(local)
        else:
            where = f"module {module_name!r}"
            module = __import__(module_name, fromlist=[name])
    except ImportError as e:
        if local.exists():
            return None, f"importing {where} failed ({type(e).__name__}: {one_line(e)})"
        return None, (
            f"cannot import {where} ({one_line(e)}; nor is there a {local.name} beside the YAML)"
        )
    except Exception as e:  # noqa: BLE001 - user code can raise anything while importing
        return None, f"importing {where} failed ({type(e).__name__}: {one_line(e)})"
    if not hasattr(module, name):
        return None, f"{where} has no {name!r}"
    return getattr(module, name), None


def yaml_kind(value: Any) -> str:
    """A YAML-ish name for the type of ``value``."""
    names = {type(None): "null", dict: "a mapping", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)
