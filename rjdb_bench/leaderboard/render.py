"""``rjdb-bench leaderboard render``: the board as one static, self-contained ``index.html``.

The page opens from ``file://`` with no server and fetches nothing: the style, the script
(tabs, sorting, entry details) and each view's chart (Vega-Lite rendered to SVG by
``vl-convert-python`` at render time) are inlined. A Content-Security-Policy allows only the
page's own script (by its sha256) and no network access at all.

Every string that comes from a run (model names, paths, settings, commands) goes through
Jinja2's autoescaping and is cut for display (names to
:data:`~rjdb_bench.text_safety.DISPLAY_LIMIT` characters, any other string to
:data:`TEXT_LIMIT`), so a board renders in bounded time and memory whatever its strings hold;
the charts' SVG is checked to hold no script, no event-handler attribute and no external
reference before it is inlined.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rjdb_bench import __version__
from rjdb_bench.atomic import atomic_write_text
from rjdb_bench.errors import InputError
from rjdb_bench.leaderboard.board import read_board, read_items, reading
from rjdb_bench.leaderboard.presentation import (
    PRESENTATION_FILE,
    Column,
    Presentation,
    View,
    load_presentation,
    resolve_views,
)
from rjdb_bench.leaderboard.ranks import (
    BELOW,
    BEST,
    REFERENCE,
    REPORTED,
    TIED,
    Cell,
    Resamples,
    rank_suite_column,
    rank_task_column,
)
from rjdb_bench.leaderboard.reported import is_reported, source_line
from rjdb_bench.text_safety import DISPLAY_LIMIT, escape_controls, shorten

PAGE_FILE = "index.html"
TEXT_LIMIT = 2000  # characters of a board string (other than a name) shown on the page
PRETTY_LIMIT = 20000  # characters of an entry's model-and-settings block
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATUS_TEXT = {
    BEST: "best in this column",
    TIED: "tied with the best: a paired test does not show it worse",
    BELOW: "significantly below the best",
    REFERENCE: "reference row: not ranked",
    REPORTED: "reported in the literature under the task's protocol: not ranked",
}


def fmt(value: float | None) -> str:
    """A score for the page: three decimals, ``—`` when missing.

    >>> fmt(0.41234), fmt(None), fmt(float("nan")), fmt(12.5)
    ('0.412', '—', '—', '12.500')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.3f}"


def pretty(value: Any) -> str:
    """JSON for a ``<pre>`` block (escaped by the template like any other text), cut to
    :data:`PRETTY_LIMIT` characters."""
    return shorten(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True), PRETTY_LIMIT)


def capped(value: Any, limit: int = TEXT_LIMIT) -> Any:
    """``value`` with every string in it (keys too) cut to ``limit`` characters, for display.

    >>> capped({"model": "x" * 5, "n": [1, "abc"]}, 4)
    {'mod…': 'xxx…', 'n': [1, 'abc']}
    """
    if isinstance(value, str):
        return shorten(value, limit)
    if isinstance(value, dict):
        return {shorten(str(k), limit): capped(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [capped(v, limit) for v in value]
    return value


def display_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry as the page shows it: its name cut to ``DISPLAY_LIMIT``, every other string
    to ``TEXT_LIMIT`` characters (ids, hashes, numbers and task names are unchanged)."""
    return {**capped(entry), "name": shorten(entry["name"], DISPLAY_LIMIT)}


def entry_labels(entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A label per entry for the charts: its name, plus its id where names repeat; control
    characters written as escapes (the chart renderer, vl-convert, aborts the process on some,
    e.g. ``\x1b``/``\x07``)."""
    names = [e["name"] for e in entries]
    return {
        e["id"]: escape_controls(
            e["name"] if names.count(e["name"]) == 1 else f"{e['name']} [{e['id'][:6]}]"
        )
        for e in entries
    }


class _SvgChecker(HTMLParser):
    """Refuses SVG with scripts, foreign objects, event handlers or external references."""

    FORBIDDEN_TAGS = frozenset({"script", "foreignobject", "iframe", "object", "embed", "image"})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() in self.FORBIDDEN_TAGS:
            raise InputError(f"chart: refusing SVG with a <{tag}> element")
        for name, value in attrs:
            lowered = name.lower()
            if lowered.startswith("on"):
                raise InputError(f"chart: refusing SVG with an {name} attribute")
            if lowered in ("href", "xlink:href", "src") and not (value or "").startswith("#"):
                raise InputError(f"chart: refusing SVG with an external {name}")


def check_svg(svg: str) -> str:
    """``svg`` unchanged if it is safe to inline (see :class:`_SvgChecker`).

    >>> check_svg('<svg><text>&lt;img onerror=x&gt;</text></svg>')[:5]
    '<svg>'
    >>> check_svg('<svg><image href="http://x/y.png"/></svg>')
    Traceback (most recent call last):
    ...
    rjdb_bench.errors.InputError: chart: refusing SVG with a <image> element
    """
    checker = _SvgChecker()
    checker.feed(svg)
    checker.close()
    return svg


def chart_svg(
    column: Column, rows: Sequence[tuple[Mapping[str, Any], Cell | None]], title: str
) -> str:
    """A horizontal bar chart of one column's scores with their 95% intervals (inline SVG)."""
    import vl_convert

    labels = entry_labels([entry for entry, _ in rows])
    values = [
        {
            "entry": labels[entry["id"]],
            "score": cell.value,
            "low": cell.ci[0] if cell.ci[0] is not None else cell.value,
            "high": cell.ci[1] if cell.ci[1] is not None else cell.value,
            "kind": _kind(entry),
        }
        for entry, cell in rows
        if cell is not None and cell.value is not None and math.isfinite(cell.value)
    ]
    if not values:
        return ""
    y = {"field": "entry", "type": "nominal", "sort": None, "title": None}
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": 520,
        "data": {"values": values},
        "encoding": {"y": y},
        "layer": [
            {
                "mark": {"type": "bar", "height": {"band": 0.7}},
                "encoding": {
                    "x": {"field": "score", "type": "quantitative", "title": column.subtitle},
                    "color": {
                        "field": "kind",
                        "type": "nominal",
                        "scale": {
                            "domain": ["model", "reference", "reported"],
                            "range": ["#4c78a8", "#b9a76a", "#8c6bb1"],
                        },
                        "legend": {"title": None},
                    },
                },
            },
            {
                "mark": {"type": "rule", "color": "#1d2330", "strokeWidth": 1.5},
                "encoding": {
                    "x": {"field": "low", "type": "quantitative"},
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "tick", "color": "#1d2330", "thickness": 1.5},
                "encoding": {"x": {"field": "low", "type": "quantitative"}},
            },
            {
                "mark": {"type": "tick", "color": "#1d2330", "thickness": 1.5},
                "encoding": {"x": {"field": "high", "type": "quantitative"}},
            },
        ],
    }
    return check_svg(vl_convert.vegalite_to_svg(json.dumps(spec)))


def _kind(entry: Mapping[str, Any]) -> str:
    """``model``, ``reference`` or ``reported`` (a literature row), for the chart's colours."""
    if is_reported(entry):
        return "reported"
    return "reference" if entry.get("reference") else "model"


def column_sizes(cells: Sequence[Cell | None]) -> str:
    """What a column header says about n: each distinct ``n`` (or ``n of N``) of the column's
    scored runs, with its comparability group's letter when the column has several groups.

    >>> column_sizes([Cell(1.0, (None, None), n=20, coverage="20"), None])
    'n = 20'
    >>> a = Cell(1.0, (None, None), group="a", n=1000, coverage="1000")
    >>> b = Cell(1.0, (None, None), group="b", n=20, coverage="20 of 1000", partial=True)
    >>> column_sizes([a, b, a])
    'n = 1000 (a) · 20 of 1000 (b)'
    """
    seen: dict[str, set[str]] = {}
    for cell in cells:
        if cell is None or cell.value is None or cell.status == REPORTED or not cell.coverage:
            continue
        seen.setdefault(cell.coverage, set()).update({cell.group} if cell.group else set())
    if not seen:
        return ""
    parts = [
        f"{coverage} ({', '.join(sorted(groups))})" if groups and len(seen) > 1 else coverage
        for coverage, groups in seen.items()
    ]
    return "n = " + " · ".join(parts)


def _sort_key(cell: Cell | None, higher_is_better: bool) -> tuple[int, float]:
    if cell is None or cell.value is None or not math.isfinite(cell.value):
        return (1, 0.0)
    return (0, -cell.value if higher_is_better else cell.value)


def _view_context(
    view: View,
    entries: Sequence[Mapping[str, Any]],
    cells: Mapping[str, Mapping[str, Cell]],
) -> dict[str, Any]:
    rows = [
        {"entry": entry, "cells": [cells[c.key].get(entry["id"]) for c in view.columns]}
        for entry in entries
    ]
    if view.columns:
        first = view.columns[0]
        rows.sort(key=lambda r: _sort_key(r["cells"][0], first.higher_is_better))
    chart_title, svg = "", ""
    if view.chart is not None:
        position = view.columns.index(view.chart)
        chart_title = f"{view.chart.title} · {view.chart.subtitle}"
        svg = chart_svg(view.chart, [(r["entry"], r["cells"][position]) for r in rows], chart_title)
    return {
        "id": view.id,
        "title": view.title,
        "description": view.description,
        "columns": view.columns,
        "sizes": [column_sizes([r["cells"][i] for r in rows]) for i in range(len(view.columns))],
        "rows": rows,
        "chart_title": chart_title,
        "chart_svg": svg,
    }


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _csp_hash(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_page(board_dir: str | Path, presentation: Presentation) -> str:
    """The page's HTML for the board in ``board_dir``."""
    board_dir = Path(board_dir)
    with reading(board_dir):
        return _render(board_dir, read_board(board_dir), presentation)


def _render(board_dir: Path, board: Mapping[str, Any], presentation: Presentation) -> str:
    entries = [display_entry(entry) for entry in board["entries"]]
    items: dict[str, Mapping[str, Any]] = {}

    def items_of(entry: Mapping[str, Any]) -> Mapping[str, Any]:
        if entry["id"] not in items:
            items[entry["id"]] = read_items(board_dir, entry)
        return items[entry["id"]]

    for entry in entries:  # every run's per-item data is verified, ranked or not
        if not is_reported(entry):
            items_of(entry)
    views = resolve_views(presentation, entries)
    resamples = Resamples(presentation.ranks)
    cells: dict[str, dict[str, Cell]] = {}
    for view in views:
        for column in view.columns:
            if column.key in cells:
                continue
            if column.suite is not None:
                cells[column.key] = rank_suite_column(
                    entries, items_of, column.suite, presentation.ranks, resamples
                )
            else:
                cells[column.key] = rank_task_column(
                    entries, items_of, column.task, column.metric, presentation.ranks, resamples
                )
    style = (TEMPLATES / "board.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "board.js").read_text(encoding="utf-8")
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            title=presentation.title,
            description=presentation.description,
            updated=board["updated"],
            harness_version=__version__,
            ranks=presentation.ranks,
            views=[_view_context(v, entries, cells) for v in views],
            entries=entries,
            style=style,
            script=script,
            script_sha256=_csp_hash(script),
            status_text=STATUS_TEXT,
            fmt=fmt,
            pretty=pretty,
            is_reported=is_reported,
            source_line=source_line,
            task_name=lambda task: presentation.name("tasks", task),
        )
    )


def render_board(
    board_dir: str | Path,
    *,
    out: str | Path | None = None,
    presentation: str | Path | None = None,
) -> Path:
    """Write the page of the board in ``board_dir`` to ``out`` (default ``<board>/index.html``).

    ``presentation``: a presentation file; default ``<board>/presentation.yaml`` when the board
    has one, else the packaged default.
    """
    board_dir = Path(board_dir)
    if presentation is None and (board_dir / PRESENTATION_FILE).is_file():
        presentation = board_dir / PRESENTATION_FILE
    page = render_page(board_dir, load_presentation(presentation))
    target = Path(out) if out is not None else board_dir / PAGE_FILE
    try:
        atomic_write_text(target, page)
    except OSError as error:
        # Name the page, not atomic_write_text's temporary file beside it.
        raise InputError(f"{target}: cannot write the page ({error.strerror or error})") from None
    return target
