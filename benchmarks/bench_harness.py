"""How much does rjdb-bench add on top of the engine? Measured against references in one process.

Figures (each against a reference measured in the same process, runs interleaved, medians):

(a)  overhead_ratio = wall time of `rjdb-bench run` (engine already started, scoring
     excluded) / bare `LLM.generate` on exactly the prompts and sampling settings the harness
     sent. The bare call gets the prompts in lm-eval's order; the prefix cache is reset
     before every measured run.
(a2) prefix_ratio = the harness's generation time with vLLM prefix caching on / off.
(b)  scoring time for the full test split, every metric (the oracle's outputs), in seconds
     per 1000 docs, BERTScore separately, and as a ratio to (a)'s bare generate time.
(c)  a cached rerun: wall time and model calls of a second identical run.
(d)  `rjdb-bench compare` of two full-test-split runs of the `rjdb` suite (the oracle, and a
     copy with every fourth answer replaced and re-scored): wall time of the gate.
(e)  `rjdb-bench leaderboard render` of a board holding those two runs as ranked entries:
     wall time of the page (rank groups for every column of every view, charts), and its
     ratio to (d), the same paired tests run once.

The last line reads `overhead_ratio=<x> prefix_ratio=<y> cached_model_calls=<n>`.

Usage: python benchmarks/bench_harness.py [--model embedded|tiny|<folder>] [--limit 8]
       [--max-gen-toks 48] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # engine in this process
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]


def _model_overrides(model: str, workdir: Path) -> list[str]:
    if model == "tiny":
        sys.path.insert(0, str(REPO / "tests"))
        from tiny_models import build_tiny_causal_lm

        model = str(build_tiny_causal_lm(workdir / "tiny-model"))
    return [
        "model=vllm",
        f"model.pretrained={model}",
        "model.dtype=float32",
        "model.enforce_eager=true",
        "model.max_model_len=4096",
    ]


class RecordingLM:
    """Pass requests through to a model and keep them (to replay them against bare vLLM)."""

    def __init__(self, lm: Any) -> None:
        self.lm = lm
        self.requests: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lm, name)

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        self.requests.extend(requests)
        return self.lm.generate_until(requests, disable_tqdm=disable_tqdm)


def timed_harness_run(overrides: list[str], model: Any, out: Path) -> tuple[float, dict[str, Any]]:
    """Wall time of one harness run, minus its scoring, and its results."""
    from rjdb_bench.cli import compose_config
    from rjdb_bench.runner import run

    model.lm.llm.reset_prefix_cache()
    config = compose_config([*overrides, f"output_dir={out}"])
    started = time.perf_counter()
    results = run(config, model)
    wall = time.perf_counter() - started
    return wall - results["timing_seconds"]["scoring"], results


def timed_bare_generate(model: Any, requests: list[Any]) -> float:
    """`LLM.generate` on the harness's prompts and sampling settings, in one call."""
    from vllm import TokensPrompt

    lm = model.lm
    prompts = [TokensPrompt(prompt_token_ids=lm.tok_encode(r.args[0])) for r in requests]
    params = [lm.sampling_params(r) for r in requests]
    lm.llm.reset_prefix_cache()
    started = time.perf_counter()
    lm.llm.generate(prompts, params, use_tqdm=False)
    return time.perf_counter() - started


def scoring_cost(data_dir: str | None) -> dict[str, float]:
    """Score the oracle's answers on the full test split: all metrics, and BERTScore alone."""
    from rjdb_bench.metrics.text import bertscore
    from rjdb_bench.scoring import score_task
    from rjdb_bench.tasks.base import ScoringSettings
    from rjdb_bench.tasks.lm_eval_hooks import load_row_dicts
    from rjdb_bench.tasks.registry import TASK_SPECS

    settings = ScoringSettings()
    bertscore([" warm-up "], [" warm-up "], config=settings.bertscore)  # load the encoder once
    docs_total, scoring_seconds, bert_seconds = 0, 0.0, 0.0
    rows = load_row_dicts({"rjdb_data_dir": data_dir})
    for name, spec in TASK_SPECS.items():
        docs = spec.build_docs(rows, 1234)
        items = [spec.make_item(doc, doc["target"]) for doc in docs]
        started = time.perf_counter()
        score_task(spec, items, settings)
        scoring_seconds += time.perf_counter() - started
        docs_total += len(items)
        if name in ("rjdb_explain", "rjdb_edit"):
            references = [i["reference"] if name == "rjdb_explain" else i["gold"] for i in items]
            predictions = [
                i["rendered"] if name == "rjdb_explain" else i["prediction"] for i in items
            ]
            started = time.perf_counter()
            bertscore(references, predictions, config=settings.bertscore)
            bert_seconds += time.perf_counter() - started
    return {
        "docs": docs_total,
        "scoring_seconds": scoring_seconds,
        "bertscore_seconds": bert_seconds,
    }


def compare_cost(workdir: Path) -> dict[str, float]:
    """(d): the gate on two full-split runs of the rjdb suite; seconds of `compare` alone."""
    from rjdb_bench.cli import main as cli
    from rjdb_bench.compare.gate import GateSettings, compare_runs
    from rjdb_bench.results.run_dir import read_run, write_run

    oracle, changed = workdir / "gate-oracle", workdir / "gate-changed"
    assert cli(["run", "model=oracle", "tasks=[rjdb]", f"output_dir={oracle}"]) == 0
    run = read_run(oracle)
    for samples in run.samples.values():
        for sample in samples[::4]:
            sample["output"] = "No" if sample["output"] == "Yes" else "[]"
    write_run(changed, run.results, run.samples)
    assert cli(["score", str(changed)]) == 0
    started = time.perf_counter()
    comparisons = compare_runs(oracle, [changed], GateSettings())
    seconds = time.perf_counter() - started
    docs = sum(row.n for row in comparisons[0].rows)
    return {"compare_docs": docs, "compare_s": round(seconds, 2)} | render_cost(
        workdir, [oracle, changed], seconds
    )


def render_cost(workdir: Path, run_dirs: list[Path], compare_s: float) -> dict[str, float]:
    """(e): the page of a board holding ``run_dirs`` as ranked (non-reference) entries."""
    from rjdb_bench.cli import main as cli
    from rjdb_bench.leaderboard.render import render_board
    from rjdb_bench.results.run_dir import read_run, write_run

    board = workdir / "board"
    for index, run_dir in enumerate(run_dirs):
        run = read_run(run_dir)
        # Another model identity than the oracle's, so the entries are ranked, not references.
        run.results["model"] = {"name": f"model-{index}", "kind": "bench"}
        ranked = workdir / f"ranked-{index}"
        write_run(ranked, run.results, run.samples)
        assert cli(["leaderboard", "add", str(ranked), "--board", str(board)]) == 0
    started = time.perf_counter()
    render_board(board)
    seconds = time.perf_counter() - started
    return {"render_s": round(seconds, 2), "render_to_compare_ratio": round(seconds / compare_s, 2)}


def main() -> None:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="embedded", help="embedded (SmolLM2), tiny, or a model folder"
    )
    parser.add_argument("--limit", type=int, default=8, help="docs per task")
    parser.add_argument("--max-gen-toks", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip-scoring", action="store_true", help="skip (b), the full-split scoring"
    )
    parser.add_argument(
        "--skip-compare", action="store_true", help="skip (d), the gate on two full-split runs"
    )
    args = parser.parse_args()

    from omegaconf import OmegaConf

    from rjdb_bench.cli import compose_config
    from rjdb_bench.models.registry import build_model

    workdir = Path(tempfile.mkdtemp(prefix="rjdb-bench-bench-"))
    model_overrides = _model_overrides(args.model, workdir)
    run_overrides = [
        *model_overrides,
        "tasks=[rjdb]",
        f"limit={args.limit}",
        f"generation.max_gen_toks={args.max_gen_toks}",
        "cache.enabled=false",
    ]

    def engine(prefix_caching: bool) -> tuple[Any, float]:
        config = compose_config(
            [*model_overrides, f"model.enable_prefix_caching={str(prefix_caching).lower()}"]
        )
        started = time.perf_counter()
        model = build_model(OmegaConf.to_container(config.model, resolve=True), {})
        return model, time.perf_counter() - started

    with_prefix, startup = engine(True)
    without_prefix, _ = engine(False)

    # Warm-up (first-call costs: tokenizer, task loading, compilation of kernels) and capture.
    recorder = RecordingLM(with_prefix.lm)
    recorded = dataclasses.replace(with_prefix, lm=recorder)
    timed_harness_run(run_overrides, recorded, workdir / "warmup")
    requests = recorder.requests
    timed_bare_generate(with_prefix, requests)

    harness, bare, prefix_off = [], [], []
    for k in range(args.repeats):
        harness.append(timed_harness_run(run_overrides, with_prefix, workdir / f"harness-{k}")[0])
        bare.append(timed_bare_generate(with_prefix, requests))
        prefix_off.append(
            timed_harness_run(run_overrides, without_prefix, workdir / f"no-prefix-{k}")[0]
        )

    cached_dir = workdir / "cached"
    cached_overrides = [*run_overrides[:-1], "cache.enabled=true"]
    timed_harness_run(cached_overrides, with_prefix, cached_dir)
    started = time.perf_counter()
    _, cached_results = timed_harness_run(cached_overrides, with_prefix, cached_dir)
    cached_wall = time.perf_counter() - started

    figures: dict[str, Any] = {
        "model": args.model,
        "requests": len(requests),
        "engine_startup_s": round(startup, 2),
        "harness_s": [round(x, 3) for x in harness],
        "bare_generate_s": [round(x, 3) for x in bare],
        "harness_no_prefix_cache_s": [round(x, 3) for x in prefix_off],
        "cached_rerun_wall_s": round(cached_wall, 3),
    }
    overhead_ratio = statistics.median(harness) / statistics.median(bare)
    prefix_ratio = statistics.median(harness) / statistics.median(prefix_off)
    if not args.skip_scoring:
        cost = scoring_cost(os.environ.get("RJDB_DATA_DIR"))
        per_1000 = 1000 / cost["docs"]
        figures |= {
            "full_split_docs": cost["docs"],
            "scoring_s": round(cost["scoring_seconds"], 1),
            "scoring_s_per_1000_docs": round(cost["scoring_seconds"] * per_1000, 2),
            "bertscore_s": round(cost["bertscore_seconds"], 1),
            "bertscore_s_per_1000_docs": round(cost["bertscore_seconds"] * per_1000, 2),
            "scoring_to_bare_generate_ratio": round(
                cost["scoring_seconds"] / statistics.median(bare), 2
            ),
        }
    if not args.skip_compare:
        figures |= compare_cost(workdir)
    print(json.dumps(figures, indent=2))
    print(
        f"overhead_ratio={overhead_ratio:.3f} prefix_ratio={prefix_ratio:.3f} "
        f"cached_model_calls={cached_results['model_calls']}"
    )


if __name__ == "__main__":
    main()
