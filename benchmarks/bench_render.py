"""How long does `rjdb-bench leaderboard render` take on a board the size of the full-split board?

The board is built, not run: the oracle and the baseline run every task on their first
``--limit`` docs (real runs, real per-doc columns); each task's docs are then tiled to the
task's full test size (``n_full``, as the runs record it: 2,000 rjdb_match docs, 3,570 SkillSpan
sentences, ...), each copy with its own doc id and cluster, and ``--entries`` entries are made
by taking every doc's row from the oracle with a probability that grows from entry to entry
(so neighbours are close and the rank groups have real work: paired McNemar tests and cluster
bootstraps over every column and suite). Values are recomputed from the columns with each
metric's own reduction. Then the page is rendered ``--repeat`` times, timed end to end (read,
verify every items file, rank every column, Vega-Lite charts, Jinja2), and the peak RSS noted.

Usage: python benchmarks/bench_render.py [--entries 10] [--limit 20] [--repeat 3] [--json out.json]
Target (issue 19): a full-split board renders in at most 5 s.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
TARGET_SECONDS = 5.0


def _tiled(run: Any, other: Any, share: float, rng: Any, full: dict[str, int]) -> Any:
    """A run whose every task has ``full[task]`` docs: the runs' docs tiled, each doc's row
    from ``run`` with probability ``share``, else from ``other`` (same doc, same cluster)."""
    import numpy as np

    from rjdb_bench.metrics.statistic import Reduction
    from rjdb_bench.results.run_dir import Run

    results = copy.deepcopy(run.results)
    samples = {}
    for task, mine in run.samples.items():
        theirs = {json.dumps(s["doc_id"]): s for s in other.samples[task]}
        rows = []
        for k in range(full[task]):
            base = mine[k % len(mine)]
            source = base if rng.random() < share else theirs[json.dumps(base["doc_id"])]
            rows.append(
                {
                    "doc_id": f"{base['doc_id']}#{k // len(mine)}",
                    "cluster": f"{base['cluster']}#{k // len(mine)}",
                    "columns": source["columns"],
                }
            )
        samples[task] = rows
        record = results["tasks"][task]
        for metric, info in record["metric_info"].items():
            columns = np.array(
                [[np.nan if v is None else v for v in r["columns"][info["columns"]]] for r in rows]
            )
            with np.errstate(all="ignore"):
                value = float(Reduction.from_description(info["reduce"])(columns.sum(axis=0)))
            value = None if not np.isfinite(value) else value
            record["metrics"][metric] = value
            record["metrics"][f"{metric}_ci"] = [value, value] if value is not None else None
        record["n"], record["n_full"] = full[task], full[task]
    for suite in (results.get("suites") or {}).values():
        heads = {
            t: results["tasks"][t]["metrics"][results["tasks"][t]["headline"]]
            for t in suite["tasks"]
        }
        suite["tasks"] = heads
        known = [v for v in heads.values() if v is not None]
        suite["score"] = sum(known) / len(known) if len(known) == len(heads) else None
    results["limit"] = None
    return Run(run.path, results, samples)


def build_board(board: Path, work: Path, entries: int, limit: int) -> dict[str, int]:
    """Write a board of ``entries`` full-size entries to ``board``; returns the task sizes."""
    import random

    from rjdb_bench.cli import main
    from rjdb_bench.leaderboard.board import _commit, locked, make_entry, read_board
    from rjdb_bench.results.run_dir import read_run

    runs = {}
    for model in ("oracle", "baseline"):
        out = work / model
        code = main(["run", f"model={model}", "tasks=[all]", f"limit={limit}", f"output_dir={out}"])
        if code != 0:
            raise SystemExit(f"the {model} run failed")
        runs[model] = read_run(out)
    full = {t: r["n_full"] for t, r in runs["oracle"].results["tasks"].items()}
    rng = random.Random(0)
    made = []
    for k in range(entries):
        share = 0.5 + 0.5 * k / max(entries - 1, 1)
        run = _tiled(runs["oracle"], runs["baseline"], share, rng, full)
        run.results["model"] = {**run.results["model"], "name": f"model-{k:02d}"}
        run.results["config"]["model"]["name"] = f"model-{k:02d}"
        run.results["config"]["model"]["backend"] = "bench"
        run.results["model"]["kind"] = "bench"
        made.append(make_entry(run))
    with locked(board):
        data = read_board(board, missing_ok=True)
        data["entries"] = [entry for entry, _ in made]
        _commit(board, data, {entry["id"]: items for entry, items in made}, ())
    return full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10, help="entries on the board")
    parser.add_argument("--limit", type=int, default=20, help="docs per task of the real runs")
    parser.add_argument("--repeat", type=int, default=3, help="renders to time")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--keep", help="build the board in this folder and keep it (reused if there)"
    )
    args = parser.parse_args()

    from rjdb_bench.leaderboard.board import read_board
    from rjdb_bench.leaderboard.render import render_board

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        board = work / "board"
        started = time.perf_counter()
        if (board / "leaderboard.json").is_file():
            entry = read_board(board)["entries"][0]
            full = {task: record["n"] for task, record in entry["tasks"].items()}
        else:
            work.mkdir(parents=True, exist_ok=True)
            full = build_board(board, work, args.entries, args.limit)
        built = time.perf_counter() - started
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            page = render_board(board, out=work / "index.html")
            seconds.append(time.perf_counter() - started)
        size = page.stat().st_size
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "entries": args.entries,
        "tasks": len(full),
        "docs_per_entry": sum(full.values()),
        "task_sizes": full,
        "board_built_seconds": round(built, 1),
        "render_seconds": [round(s, 2) for s in seconds],
        "render_median_seconds": round(statistics.median(seconds), 2),
        "page_bytes": size,
        "peak_rss_mib": round(peak_mib),
        "target_seconds": TARGET_SECONDS,
        "within_target": statistics.median(seconds) <= TARGET_SECONDS,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
