"""``presentation.yaml``: which views the leaderboard page has and what each one shows.

Views select columns from whatever is on the board (by metric family, metric or task name
pattern, headline, or suite), so a new task or metric appears on the page without a change
to HTML or Python. The file is checked against :data:`PRESENTATION_SCHEMA`; a mistake is a
one-line :class:`~rjdb_bench.errors.InputError` naming the file and the field.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rjdb_bench.errors import InputError
from rjdb_bench.leaderboard.board import checked_yaml
from rjdb_bench.leaderboard.ranks import RankSettings
from rjdb_bench.metrics.spec import FAMILIES
from rjdb_bench.resources import leaderboard_presentation

PRESENTATION_FILE = "presentation.yaml"

_NAMED = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "description": {"type": "string"}},
    },
}
_PATTERNS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
PRESENTATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "title", "views"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "rank_groups": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "alpha": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "resamples": {"type": "integer", "minimum": 100, "maximum": 100_000},
                "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
            },
        },
        "views": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "title", "select"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "chart": {"type": "string"},
                    "select": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": False,
                        "properties": {
                            "family": {"enum": list(FAMILIES)},
                            "metric": _PATTERNS,
                            "task": _PATTERNS,
                            "headline": {"type": "boolean"},
                            "suite": {"type": "string"},
                        },
                    },
                },
            },
        },
        "tasks": _NAMED,
        "metrics": _NAMED,
        "suites": _NAMED,
    },
}


@dataclass(frozen=True)
class Column:
    """One column of a view: a task's metric (``suite`` None) or a suite score."""

    key: str
    title: str
    subtitle: str
    description: str
    task: str | None = None
    metric: str | None = None
    suite: str | None = None
    higher_is_better: bool = True


@dataclass(frozen=True)
class View:
    """One tab of the page."""

    id: str
    title: str
    description: str
    columns: list[Column]
    chart: Column | None


@dataclass(frozen=True)
class Presentation:
    """A checked presentation file."""

    title: str
    description: str
    ranks: RankSettings
    views: list[dict[str, Any]]
    names: dict[str, dict[str, dict[str, str]]]
    source: Path

    def name(self, kind: str, key: str, default: str | None = None) -> str:
        """Display name of a task, metric or suite (``kind``): ``default``, else its own name,
        when the file names none."""
        return self.names[kind].get(key, {}).get("name", default or key)

    def describe(self, kind: str, key: str) -> str:
        """One-line description of a task, metric or suite ('' when none)."""
        return self.names[kind].get(key, {}).get("description", "")


def load_presentation(path: str | Path | None = None) -> Presentation:
    """Read and check a presentation file (default: the packaged ``presentation.yaml``)."""
    import jsonschema

    source = Path(path) if path is not None else leaderboard_presentation()
    try:
        text = source.read_bytes()
    except OSError as error:
        raise InputError.at(source, f"cannot read ({error.strerror})") from None
    data = checked_yaml(source, text, jsonschema.Draft202012Validator(PRESENTATION_SCHEMA))
    ids = [view["id"] for view in data["views"]]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InputError.at(source, f"views: repeated id {', '.join(repeated)}")
    ranks = data.get("rank_groups") or {}
    return Presentation(
        title=data["title"],
        description=data.get("description", ""),
        ranks=RankSettings(**ranks),
        views=data["views"],
        names={kind: dict(data.get(kind) or {}) for kind in ("tasks", "metrics", "suites")},
        source=source,
    )


def _matches(name: str, patterns: str | Sequence[str] | None) -> bool:
    if patterns is None:
        return True
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def board_metrics(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every ``(task, metric, info)`` on the board, each once, in order of first appearance
    (info: family, direction, whether it is the task's headline, and its recorded display name)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        for task, record in entry["tasks"].items():
            facts = record.get("metric_facts") or {}
            for metric, score in record["metrics"].items():
                seen.setdefault(
                    (task, metric),
                    {
                        "family": score["family"],
                        "higher_is_better": score["higher_is_better"],
                        "headline": metric == record.get("headline"),
                        "display_name": facts.get(metric, {}).get("display_name"),
                    },
                )
    return [(task, metric, info) for (task, metric), info in seen.items()]


def _task_column(
    presentation: Presentation, task: str, metric: str, info: Mapping[str, Any]
) -> Column:
    return Column(
        key=f"{task}:{metric}",
        title=presentation.name("tasks", task),
        subtitle=presentation.name("metrics", metric, info.get("display_name")),
        description=" — ".join(
            text
            for text in (
                presentation.describe("tasks", task),
                presentation.describe("metrics", metric),
            )
            if text
        ),
        task=task,
        metric=metric,
        higher_is_better=info["higher_is_better"],
    )


def suite_members(entries: Sequence[Mapping[str, Any]], suite: str) -> dict[str, str]:
    """The tasks of ``suite`` on the board (any entry that scored it) and their headlines."""
    members: dict[str, str] = {}
    for entry in entries:
        for task in ((entry.get("suites") or {}).get(suite) or {}).get("tasks", {}):
            members.setdefault(task, entry["tasks"][task]["headline"])
    return members


def _selected(
    select: Mapping[str, Any],
    task: str,
    metric: str,
    info: Mapping[str, Any],
    members: Mapping[str, str] | None,
) -> bool:
    """Whether a view's ``select`` takes ``task:metric`` (``members``: its suite's tasks)."""
    return (
        (members is None or members.get(task) == metric)
        and select.get("family") in (None, info["family"])
        and (select.get("headline") is not True or info["headline"])
        and _matches(metric, select.get("metric"))
        and _matches(task, select.get("task"))
    )


def resolve_views(presentation: Presentation, entries: Sequence[Mapping[str, Any]]) -> list[View]:
    """The views with their columns on this board (a view may have no columns yet)."""
    metrics = board_metrics(entries)
    order = list(presentation.names["tasks"])
    metrics.sort(key=lambda m: (order.index(m[0]) if m[0] in order else len(order), m[0]))
    views = []
    for view in presentation.views:
        select = view["select"]
        suite = select.get("suite")
        members = suite_members(entries, suite) if suite is not None else None
        columns = [
            _task_column(presentation, task, metric, info)
            for task, metric, info in metrics
            if _selected(select, task, metric, info, members)
        ]
        if members:
            suite_column = Column(
                key=f"suite:{suite}",
                title=presentation.name("suites", suite),
                subtitle="mean of headlines",
                description=presentation.describe("suites", suite),
                suite=suite,
            )
            columns.insert(0, suite_column)
        named = [c for c in columns if c.key == view.get("chart")]
        chart = named[0] if named else (columns[0] if columns else None)
        views.append(
            View(
                id=view["id"],
                title=view["title"],
                description=view.get("description", ""),
                columns=columns,
                chart=chart,
            )
        )
    return views
