"""Where does a harness run spend its time besides the engine? A cProfile of one run.

The engine is started once and warmed up by one run; then one `rjdb-bench run` on the same
requests is profiled: the functions with the most cumulative time are printed, then the wall
time split into the engine's share (``LLM.enqueue`` and ``LLMEngine.step``, which the harness
drives directly), scoring, and what is left: the harness's own cost (`make bench`'s
overhead_ratio measures the same run against the bare engine).

Usage: python benchmarks/profile_harness.py [--model embedded|tiny|<folder>] [--limit 8]
       [--max-gen-toks 48] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_harness import _model_overrides  # noqa: E402  (sets the engine's environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--max-gen-toks", type=int, default=48)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    from rjdb_bench.cli import compose_config
    from rjdb_bench.models.registry import build_model
    from rjdb_bench.plan import plan_run
    from rjdb_bench.runner import run

    workdir = Path(tempfile.mkdtemp(prefix="rjdb-bench-profile-"))
    overrides = [
        *_model_overrides(args.model, workdir),
        "tasks=[rjdb]",
        f"limit={args.limit}",
        f"generation.max_gen_toks={args.max_gen_toks}",
        "cache.enabled=false",
    ]
    model = build_model(plan_run(compose_config([*overrides, "output_dir=x"])).model, {})
    run(compose_config([*overrides, f"output_dir={workdir / 'warmup'}"]), model)

    config = compose_config([*overrides, f"output_dir={workdir / 'profiled'}"])
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    results = run(config, model)
    profile.disable()
    wall = time.perf_counter() - started

    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    # The harness drives vLLM directly (LLM.enqueue, then LLMEngine.step until done), so the
    # engine's share is the cumulative time of those two calls.
    generate = sum(
        value[3]
        for (file, _, name), value in stats.stats.items()  # type: ignore[attr-defined]
        if (name == "enqueue" and file.endswith("vllm/entrypoints/llm.py"))
        or (name == "step" and file.endswith("vllm/v1/engine/llm_engine.py"))
    )
    stats.sort_stats("cumulative").print_stats(args.top)
    print(stream.getvalue())
    timing = results["timing_seconds"]
    print(
        f"wall={wall:.3f}s engine_generate={generate:.3f}s scoring={timing['scoring']:.3f}s "
        f"harness_without_engine_and_scoring={wall - generate - timing['scoring']:.3f}s"
    )


if __name__ == "__main__":
    main()
