"""The short table printed at the end of a run (or of ``score`` on anyone's run directory:
its names are shown as plain text, never as rich markup, with control characters escaped)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rjdb_bench.text_safety import terminal


def make_console() -> Console:
    """A console for tables: the terminal's width, or 120 columns when output is redirected."""
    return Console() if sys.stdout.isatty() else Console(width=120, soft_wrap=True)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def results_table(results: Mapping[str, Any]) -> Table:
    """One row per task (headline metric, its interval, n, parse failures) and one per suite."""
    table = Table(title=Text(f"rjdb-bench · {terminal(results['model'].get('name'))}"))
    for column in ("task", "metric", "value", "95% CI", "n", "parse fail"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for name, task in results["tasks"].items():
        metrics = task["metrics"]
        headline = task["headline"]
        low, high = metrics[f"{headline}_ci"]
        failures = metrics.get("parse_failure_rate")
        table.add_row(
            Text(terminal(name)),
            Text(terminal(headline)),
            _fmt(metrics[headline]),
            f"[{_fmt(low)}, {_fmt(high)}]",
            str(task["n"]),
            "-" if failures is None and "parse_failure_rate" not in metrics else _fmt(failures),
        )
    for name, suite in results.get("suites", {}).items():
        table.add_row(
            Text(terminal(name), style="bold"), "mean headline", _fmt(suite["score"]), "", "", ""
        )
    return table


def print_results(
    results: Mapping[str, Any], output_dir: str, console: Console | None = None
) -> None:
    """Print the table and where the files are."""
    console = console or make_console()
    console.print(results_table(results))
    where = terminal(output_dir, None)
    console.print(Text(f"results: {where}/results.json  samples: {where}/samples/"))
