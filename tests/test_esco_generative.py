"""Generative models on ESCO linking: generate-then-retrieve and rerank, checked on values.

The nearest labels of a free-text skill are recomputed here with sentence-transformers on the
query side and a plain NumPy stable sort over the cached label embeddings (whose equality with
sentence-transformers' own is checked in ``test_esco_cache.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from rjdb_bench.cli import main
from rjdb_bench.data.esco import LABEL_FILE, pinned_label_sha256
from rjdb_bench.metrics.label_index import bundled_minilm
from rjdb_bench.tasks.esco import (
    DEPTH,
    RERANK_SCHEMA,
    EscoLinkingTask,
    make_esco_item,
    stock_index,
)


@pytest.fixture(scope="module")
def labels_file(ood_data_dir: Path) -> str:
    return str(ood_data_dir / LABEL_FILE)


def nearest(labels_file: str, text: str, depth: int) -> list[str]:
    index = stock_index(labels_file, pinned_label_sha256())
    model = SentenceTransformer(str(bundled_minilm()[0]), device="cpu")
    query = model.encode([text], normalize_embeddings=True)[0]
    order = np.argsort(-(index.embeddings @ query), kind="stable")[:depth]
    return [index.labels[j] for j in order]


def doc_for(labels_file: str, retrieved: list[str], mode: str = "generate") -> dict:
    return {
        "task": "ood_esco_test",
        "doc_key": "q0",
        "sentence": "Experience with SQL databases and leading a small team",
        "relevant": ["use databases", "manage staff"],
        "labels_file": labels_file,
        "labels_sha256": pinned_label_sha256(),
        "retrieved": retrieved,
        "mode": mode,
    }


def test_generated_skills_are_interleaved_in_order_then_backfilled(labels_file: str) -> None:
    free = nearest(labels_file, "writing SQL queries", DEPTH)
    backfill = ["bake bread", "use databases", "SQL"]
    doc = doc_for(labels_file, backfill)
    # An exact label stands for itself; free text for its nearest labels, taken in turns.
    item = make_esco_item(doc, json.dumps(["manage staff", "writing SQL queries"]))
    ranking = item["prediction"]
    expected: list[str] = ["manage staff"]
    for label in free:
        if label not in expected:
            expected.append(label)
    for label in backfill:
        if label not in expected:
            expected.append(label)
    assert ranking == expected[:DEPTH]
    assert ranking[0] == "manage staff" and ranking[1] == free[0]
    assert item["gold"] == ["use databases", "manage staff"] and item["parsed_ok"] is True


def test_two_free_text_skills_alternate(labels_file: str) -> None:
    first = nearest(labels_file, "writing SQL queries", 3)
    second = nearest(labels_file, "leading a team", 3)
    item = make_esco_item(doc_for(labels_file, []), '["writing SQL queries", "leading a team"]')
    expected: list[str] = []
    for pair in zip(first, second, strict=True):
        for label in pair:
            if label not in expected:
                expected.append(label)
    assert item["prediction"][: len(expected)] == expected


def test_rerank_numbers_pick_candidates_and_the_rest_follow(labels_file: str) -> None:
    retrieved = ["SQL", "use databases", "bake bread", "manage staff"]
    item = make_esco_item(doc_for(labels_file, retrieved, "rerank"), "[4, 2, 4, 99]")
    assert item["prediction"] == ["manage staff", "use databases", "SQL", "bake bread"]
    assert item["parsed_ok"] is False  # 99 is no candidate
    unusable = make_esco_item(doc_for(labels_file, retrieved, "rerank"), "{}")
    assert unusable["prediction"] == retrieved and unusable["parsed_ok"] is False


def _samples(out: Path, task: str) -> list[dict]:
    lines = (out / "samples" / f"{task}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_small_causal_lm_end_to_end_on_two_queries(
    tiny_causal_lm: Path, labels_file: str, tmp_path: Path
) -> None:
    """hf backend, generate mode, 2 HOUSE queries: each ranking follows from the raw output."""
    base = ["tasks=[ood_esco_house]", "limit=2", "cache.enabled=false"]
    assert main(["run", "model=baseline", *base, f"output_dir={tmp_path / 'b'}"]) == 0
    baseline = {s["sentence"]: s["prediction"] for s in _samples(tmp_path / "b", "ood_esco_house")}
    out = tmp_path / "hf"
    code = main(
        [
            "run",
            "model=hf",
            f"model.pretrained={tiny_causal_lm}",
            "generation.max_gen_toks=16",
            *base,
            f"output_dir={out}",
        ]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    record = results["tasks"]["ood_esco_house"]
    assert record["n"] == 2 and record["data_notes"]["mode"] == "generate"
    assert results["config"]["ood"]["esco_mode"] == "generate"
    for sample in _samples(out, "ood_esco_house"):
        ranking, answer = sample["prediction"], sample["answer"]
        assert len(ranking) == DEPTH == len(set(ranking))
        if not answer:  # nothing usable: exactly the bi-encoder's ranking of the sentence
            assert ranking == baseline[sample["sentence"]]
        else:  # the first string is a label, or its nearest label comes first
            first = str(answer[0])
            known = set(stock_index(labels_file, pinned_label_sha256()).labels)
            assert ranking[0] == (first if first in known else nearest(labels_file, first, 1)[0])


def test_the_rerank_prompt_lists_the_top_20_and_asks_for_numbers(labels_file: str) -> None:
    config = {
        "task": "ood_esco_rerank_probe",
        "dataset_kwargs": {"subset": "tech", "dataset": "esco"},
        "metadata": {"esco_mode": "rerank", "limit": 1},
    }
    task = EscoLinkingTask(config=config)
    assert task.spec.structured_output == {"json": RERANK_SCHEMA}
    doc = task.dataset["eval"][0]
    prompt = task.doc_to_text(doc)
    top = nearest(labels_file, doc["sentence"], 20)
    listed = "\n".join(f"{n}. {label}" for n, label in enumerate(top, start=1))
    assert prompt.endswith(f"Sentence: {doc['sentence']}\nCandidates:\n{listed}\nJSON:")
    assert "Reply with a JSON array of the chosen candidates' numbers" in prompt
    assert task.data_notes["mode"] == "rerank"


def test_labels_with_surrounding_whitespace_stand_for_themselves(labels_file: str) -> None:
    # Three ESCO labels carry a leading or trailing (no-break) space in the label file.
    item = make_esco_item(
        doc_for(labels_file, ["SQL"]), json.dumps([" procurement legislation", "manage staff "])
    )
    assert item["prediction"] == [" procurement legislation", "manage staff", "SQL"]
