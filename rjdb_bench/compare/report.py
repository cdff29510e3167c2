"""The gate's report: a markdown table for people and CI comments, and JSON for machines.

The markdown is meant to be posted as a CI comment, and everything in it that comes from a
run (task and metric names, paths, doc ids, golds, outputs, notes) is a stranger's text: each
is an inert code span (:func:`rjdb_bench.text_safety.markdown_code`: one line, capped, fenced
so no backtick inside can close it), so it can be no heading, HTML, image, link, autolink or
mention. Numbers, test names and verdicts are our own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from rjdb_bench.compare.gate import Comparison, GateSettings
from rjdb_bench.text_safety import markdown_code

_WIDTH = 60  # characters of an example (doc id, gold, output) in the table
_NAME_WIDTH = 80  # characters of a task or metric name
_PATH_WIDTH = 200  # characters of a run's path


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _interval(ci: Sequence[float | None]) -> str:
    return f"[{_number(ci[0])}, {_number(ci[1])}]"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _cell(value: Any, width: int = _WIDTH) -> str:
    """A run's value as an inert code span for a table cell."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return markdown_code(text, width, table=True)


def markdown(comparisons: Sequence[Comparison], settings: GateSettings) -> str:
    """The report as markdown: one table per candidate, then the items that got worse."""
    lines = [
        "# rjdb-bench regression gate",
        "",
        f"alpha {settings.alpha} (Benjamini–Hochberg across the gated metrics), minimum effect "
        f"{settings.min_effect}, {settings.resamples} cluster resamples, seed {settings.seed}.",
    ]
    for comparison in comparisons:
        verdict = "FAIL" if comparison.regressions else "pass"
        lines += [
            "",
            f"## {verdict}: {markdown_code(comparison.candidate, _PATH_WIDTH)} vs baseline "
            f"{markdown_code(comparison.baseline, _PATH_WIDTH)}",
            "",
            "| task | metric | n | baseline [CI] | candidate [CI] | Δ [CI] | test | p (adjusted) | "
            "detectable drop | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in comparison.rows:
            lines.append(
                f"| {_cell(row.task, _NAME_WIDTH)} | {_cell(row.metric, _NAME_WIDTH)} | {row.n} "
                f"| {_number(row.baseline)} "
                f"{_interval(row.baseline_ci)} | {_number(row.candidate)} "
                f"{_interval(row.candidate_ci)} | {_number(row.delta, 4)} {_interval(row.delta_ci)} "
                f"| {row.test} | {_p(row.p_value)} ({_p(row.p_adjusted)}) | "
                f"{_number(row.minimum_detectable_drop, 3)} | **{row.verdict}** |"
            )
        for note in comparison.notes:
            lines.append(f"\nNote: {markdown_code(note, _PATH_WIDTH)}.")
        for row in comparison.regressions:
            if not row.examples:
                continue
            name = markdown_code(f"{row.task}:{row.metric}", 2 * _NAME_WIDTH)
            lines += ["", f"Items that got worse on {name}:", ""]
            lines += ["| doc | gold | baseline | candidate |", "|---|---|---|---|"]
            for example in row.examples:
                lines.append(
                    f"| {_cell(example['doc_id'])} | {_cell(example['gold'])} | "
                    f"{_cell(example['baseline'])} | {_cell(example['candidate'])} |"
                )
    return "\n".join(lines) + "\n"


def as_json(comparisons: Sequence[Comparison], settings: GateSettings) -> dict[str, Any]:
    """The report as JSON (every number, every example in full)."""
    return {
        "settings": {
            "alpha": settings.alpha,
            "min_effect": settings.min_effect,
            "min_effects": dict(settings.min_effects),
            "metrics": list(settings.metrics),
            "resamples": settings.resamples,
            "seed": settings.seed,
            "confidence": settings.confidence,
        },
        "passed": not any(c.regressions for c in comparisons),
        "comparisons": [
            {
                "baseline": c.baseline,
                "candidate": c.candidate,
                "passed": not c.regressions,
                "notes": c.notes,
                "rows": [row.as_dict() for row in c.rows],
            }
            for c in comparisons
        ],
    }
