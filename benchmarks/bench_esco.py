"""ESCO linking speed: the label-embedding build, and the baseline over the three test sets.

1. ``label_build_s``: the 13,896 ESCO labels embedded by the packaged all-MiniLM-L6-v2 into an
   empty cache folder (what the first ESCO run of a machine pays once).
2. ``baseline_s``: ``rjdb-bench run model=baseline tasks=[ood_esco_tech,ood_esco_house,
   ood_esco_techwolf]`` as a fresh process with the label cache warm (926 queries x 13,896
   labels, scoring and the bootstrap included; the response cache off), wall clock.

Usage: python benchmarks/bench_esco.py [--json out.json]   (needs $RJDB_OOD_DIR or a download)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TASKS = ("ood_esco_tech", "ood_esco_house", "ood_esco_techwolf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from rjdb_bench.data.esco import LABEL_FILE, pinned_label_sha256, read_esco_labels
    from rjdb_bench.data.ood import locate_ood
    from rjdb_bench.metrics.label_index import bundled_minilm, label_index

    labels = read_esco_labels(locate_ood(LABEL_FILE).path, pinned_label_sha256())
    folder, identity = bundled_minilm()
    with tempfile.TemporaryDirectory() as empty:
        start = time.perf_counter()
        label_index(folder, identity, labels.labels, labels.sha256, cache_root=empty)
        build_s = time.perf_counter() - start
    warm = label_index(folder, identity, labels.labels, labels.sha256)  # the run's own cache
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "rjdb_bench.cli",
            "run",
            "model=baseline",
            f"tasks=[{','.join(TASKS)}]",
            "cache.enabled=false",
            f"output_dir={out}",
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        baseline_s = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"baseline run failed: {done.stderr[-2000:]}")
        results = json.loads((Path(out) / "results.json").read_text())
    figures = {
        "labels": len(labels.labels),
        "label_build_s": round(build_s, 1),
        "label_cache": warm.origin["cache"],
        "baseline_s": round(baseline_s, 1),
        "queries": sum(results["tasks"][t]["n"] for t in TASKS),
        "rp_at_5": {t: round(100 * results["tasks"][t]["metrics"]["rp_at_5"], 2) for t in TASKS},
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(f"ESCO label-embedding build: {figures['label_build_s']} s ({figures['labels']} labels)")
    print(
        f"ESCO baseline, 3 test sets ({figures['queries']} queries), warm label cache: "
        f"{figures['baseline_s']} s; RP@5 {figures['rp_at_5']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
