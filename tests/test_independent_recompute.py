"""An outside auditor's check: every headline metric recomputed from the samples files alone.

This module never imports rjdb_bench. The runs are made by the command line in other
processes; the metrics are then recomputed from ``samples/<task>.jsonl`` with the reference
libraries (scikit-learn, seqeval, rouge-score, scipy) and a normaliser written from the task
contract's words, and must agree with ``results.json`` to 1e-6.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from rouge_score import rouge_scorer
from scipy.stats import spearmanr
from seqeval.metrics.sequence_labeling import get_entities
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

FIXTURES = Path(__file__).parent / "fixtures"
TOLERANCE = 1e-6

# Rewrites the stored run's paths to this checkout through the run-directory writer and
# re-scores it: wrong, partial and unparsable outputs on the six RJDB tasks and a span task.
RESCORE_STORED_RUN = """
import shutil, sys
from pathlib import Path
from rjdb_bench.cli import main
from rjdb_bench.results.run_dir import read_run, write_run
fixtures, target = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(fixtures / "stored_run", target)
run = read_run(target)
run.results["config"]["data"]["path"] = str(fixtures / "synthetic_rjdb.jsonl")
run.results["config"]["include_path"] = str(fixtures / "synthetic_spans")
write_run(target, run.results, run.samples)
sys.exit(main(["score", str(target)]))
"""


def cli(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=dict(os.environ), timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path, ood_data_dir: Path) -> dict:
    """task -> (results.json task record, samples records), from two runs."""
    base = tmp_path_factory.mktemp("audit")
    cli("-c", RESCORE_STORED_RUN, str(FIXTURES), str(base / "rjdb"))
    cli(
        "-m", "rjdb_bench.cli", "run", "model=baseline",
        "tasks=[ood_skillspan_zeroshot,ood_green_zeroshot,ood_vacancy_zeroshot]",
        "limit=150", f"output_dir={base / 'ood'}",
    )  # fmt: skip
    out = {}
    for name in ("rjdb", "ood"):
        results = json.loads((base / name / "results.json").read_text(encoding="utf-8"))
        for task, record in results["tasks"].items():
            path = base / name / "samples" / f"{task}.jsonl"
            out[task] = (record, [json.loads(line) for line in path.read_text().splitlines()])
    return out


# ------------------------------------------------------------------- the contract, re-written


def normalise(text: str) -> str:
    """Contract: Unicode NFKC, lower-case, strip surrounding punctuation, collapse whitespace."""
    text = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    while text and unicodedata.category(text[0]).startswith("P"):
        text = text[1:].strip()
    while text and unicodedata.category(text[-1]).startswith("P"):
        text = text[:-1].strip()
    return text


def normalised_set(strings: list[str] | None) -> set[str]:
    return {n for n in (normalise(s) for s in strings or []) if n}


def micro_f1(gold: list[set[str]], predicted: list[set[str]]) -> float:
    binarizer = MultiLabelBinarizer().fit([g | p for g, p in zip(gold, predicted, strict=True)])
    return f1_score(
        binarizer.transform(gold), binarizer.transform(predicted), average="micro", zero_division=0
    )


def label_accuracy(samples: list[dict]) -> float:
    gold = [s["gold"] for s in samples]
    predicted = [s["prediction"] if s["prediction"] is not None else "<unparsed>" for s in samples]
    return accuracy_score(gold, predicted)


def pooled_f1(samples: list[dict]) -> float:
    tp, fp, fn = (sum(s["scores"][k] for s in samples) for k in ("tp", "fp", "fn"))
    return 2 * tp / (2 * tp + fp + fn)


def strict_span_f1(samples: list[dict]) -> float:
    """seqeval chunks the gold layer; predictions are the placed spans plus unplaced strings."""
    tp = n_gold = n_predicted = 0
    for s in samples:
        assert len(s["tokens"]) == len(s["gold_tags"])
        gold = {(start, end + 1) for _, start, end in get_entities(list(s["gold_tags"]))}
        placed = {tuple(span) for span in s["placed"]}
        tp += len(gold & placed)
        n_gold += len(gold)
        n_predicted += len(placed) + len(s["unplaced"])
    return 2 * tp / (n_gold + n_predicted)


def vacancy_spearman(samples: list[dict]) -> float:
    """Per CV and annotator, Spearman ρ of the model's scores against the annotator's places
    (place 1 = best); mean over CVs, then over annotators."""
    by_cv = defaultdict(list)
    for s in samples:
        by_cv[s["cluster"]].append(s)
    means = []
    for annotator in ("annotator1", "annotator2"):
        rhos = []
        for docs in by_cv.values():
            ranked = [d for d in docs if d["gold"][annotator] is not None]
            if len(ranked) < 2:
                continue
            scores = [d["prediction"] if d["prediction"] is not None else 0.0 for d in ranked]
            places = [-d["gold"][annotator] for d in ranked]
            rho = spearmanr(scores, places).statistic
            rhos.append(0.0 if np.isnan(rho) else rho)
        if rhos:
            means.append(np.mean(rhos))
    return float(np.mean(means))


def recompute(task: str, samples: list[dict]) -> float:
    if task in ("rjdb_match", "rjdb_match_pairwise"):
        return label_accuracy(samples)
    if task == "rjdb_skills":
        return micro_f1(
            [normalised_set(s["gold"]) for s in samples],
            [normalised_set(s["prediction"]) for s in samples],
        )
    if task == "rjdb_explain":
        return micro_f1(
            [normalised_set(s["gold"]["missing_skills"]) for s in samples],
            [normalised_set((s["prediction"] or {}).get("missing_skills")) for s in samples],
        )
    if task == "rjdb_experience":  # fuzzy one-to-one title matches, counted per doc
        return pooled_f1(samples)
    if task == "rjdb_edit":
        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
        return float(
            np.mean([scorer.score(s["gold"], s["prediction"])["rougeL"].fmeasure for s in samples])
        )
    if task in ("synthetic_spans", "ood_skillspan_zeroshot", "ood_green_zeroshot"):
        return strict_span_f1(samples)
    if task == "ood_vacancy_zeroshot":
        return vacancy_spearman(samples)
    raise AssertionError(f"no recomputation for {task}")


TASKS = [
    "rjdb_match",
    "rjdb_match_pairwise",
    "rjdb_explain",
    "rjdb_skills",
    "rjdb_experience",
    "rjdb_edit",
    "synthetic_spans",
    "ood_skillspan_zeroshot",
    "ood_green_zeroshot",
    "ood_vacancy_zeroshot",
]


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_headline_metric_recomputed_from_samples_alone(runs: dict, task: str) -> None:
    record, samples = runs[task]
    assert len(samples) == record["n"]
    reported = record["metrics"][record["headline"]]
    assert 0.0 < reported < 1.0 or task == "ood_vacancy_zeroshot"  # no ceiling: a real check
    assert recompute(task, samples) == pytest.approx(reported, abs=TOLERANCE)


@pytest.mark.slow
def test_results_describe_every_metric_and_the_cluster_unit(runs: dict) -> None:
    units = {"ood_vacancy_zeroshot": "cv", "ood_skillspan_zeroshot": "sentence"}
    for task, (record, samples) in runs.items():
        assert set(record["metric_info"]) == {m for m in record["metrics"] if not m.endswith("_ci")}
        for name, info in record["metric_info"].items():
            assert info["higher_is_better"] is (not re.search(r"_rate$", name)), (task, name)
        assert record["cluster_unit"] == units.get(task, record["cluster_unit"])
        assert all("cluster" in s for s in samples)
    # Two docs per RJDB row share the row's cluster.
    _, match = runs["rjdb_match"]
    assert [s["cluster"] for s in match[:4]] == [0, 0, 1, 1]
