"""The gate's report: a markdown table for people and CI comments, and JSON for machines."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from rjdb_bench.compare.gate import Comparison, GateSettings

_WIDTH = 60


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


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


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
            f"## {verdict}: `{comparison.candidate}` vs baseline `{comparison.baseline}`",
            "",
            "| task | metric | n | baseline [CI] | candidate [CI] | Δ [CI] | test | p (adjusted) | "
            "detectable drop | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in comparison.rows:
            lines.append(
                f"| {row.task} | {row.metric} | {row.n} | {_number(row.baseline)} "
                f"{_interval(row.baseline_ci)} | {_number(row.candidate)} "
                f"{_interval(row.candidate_ci)} | {_number(row.delta, 4)} {_interval(row.delta_ci)} "
                f"| {row.test} | {_p(row.p_value)} ({_p(row.p_adjusted)}) | "
                f"{_number(row.minimum_detectable_drop, 3)} | **{row.verdict}** |"
            )
        for note in comparison.notes:
            lines.append(f"\nNote: {note}.")
        for row in comparison.regressions:
            if not row.examples:
                continue
            lines += ["", f"Items that got worse on {row.task}:{row.metric}:", ""]
            lines += ["| doc | gold | baseline | candidate |", "|---|---|---|---|"]
            for example in row.examples:
                lines.append(
                    f"| {_short(example['doc_id'])} | {_short(example['gold'])} | "
                    f"{_short(example['baseline'])} | {_short(example['candidate'])} |"
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
