"""What does a model cost per 1,000 docs of each task? Generation time, one engine, task by task.

The engine is started once (the embedded SmolLM2 through vLLM by default, as `make run`); then
each task runs alone on its first ``--limit`` docs through `rjdb-bench run` (the response
cache off, the prefix cache reset before each task), and its generation time is scaled to
1,000 docs. The sum over tasks, scaled to each task's full size, estimates a full-split run.

Usage: python benchmarks/bench_task_cost.py [--model embedded|<folder>] [--limit 20]
       [--tasks all] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # engine in this process
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help="embedded, or a model folder")
    parser.add_argument("--limit", type=int, default=20, help="docs per task")
    parser.add_argument("--tasks", default="all", help="a suite or a comma-separated list")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from rjdb_bench.cli import compose_config
    from rjdb_bench.models.registry import build_model
    from rjdb_bench.plan import plan_run
    from rjdb_bench.runner import run
    from rjdb_bench.stages import load_tasks

    model_overrides = (
        ["model=smollm2_vllm"]
        if args.model == "embedded"
        else ["model=vllm", f"model.pretrained={args.model}", "model.dtype=float32"]
    )
    workdir = Path(tempfile.mkdtemp(prefix="rjdb-bench-task-cost-"))
    base = [*model_overrides, "cache.enabled=false", f"limit={args.limit}"]
    selection = args.tasks.split(",")
    plan = plan_run(compose_config([*base, f"tasks=[{','.join(selection)}]", "output_dir=x"]))
    names = list(load_tasks(plan).tasks)
    started = time.perf_counter()
    model = build_model(plan.model, plan.task_metadata)
    startup = time.perf_counter() - started

    figures: dict[str, dict[str, float]] = {}
    for name in names:
        model.lm.llm.reset_prefix_cache()
        config = compose_config([*base, f"tasks=[{name}]", f"output_dir={workdir / name}"])
        results = run(config, model)
        record = results["tasks"][name]
        seconds = results["timing_seconds"]["generation"]
        figures[name] = {
            "docs": record["n"],
            "generation_s": round(seconds, 2),
            "s_per_1000_docs": round(seconds * 1000 / max(record["n"], 1), 1),
        }
        print(f"{name}: {figures[name]}", flush=True)
    out = {
        "model": args.model,
        "limit": args.limit,
        "engine_startup_s": round(startup, 1),
        "load_average": os.getloadavg(),
        "tasks": figures,
    }
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
