"""The skill linker's weak pairs and its training (``rjdb-bench weak train-linker``): pairs
checked against hand-written rows, a few steps of a tiny bi-encoder end to end, seeded and
resumable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pytest

from rjdb_bench.cli import main
from rjdb_bench.data.download import sha256_file
from rjdb_bench.weak.card import records_sha256
from rjdb_bench.weak.linker_pairs import linker_records

FIXTURE = Path(__file__).parent / "fixtures" / "synthetic_rjdb.jsonl"
TRAIN = ["save_steps=2", "logging_steps=1", "batch_size=4", "learning_rate=1e-3"]

ROW = {
    "row_id": 7,
    "skills": ["Networking", "SQL", "Python", "Go"],
    "job_description": (
        "## Required Skills\n"
        "1. Networking: TCP/IP networking skills and LAN/WAN operation.\n"
        "2. SQL: SQL\n"
        "You will write sql and Python every day.\n"
        "You will write sql and Python every day.\n"
    ),
    "resume_matched": "## Skills\n1. Networking\n2. Python\n- Automated reports in python (pandas)",
}


def test_pairs_follow_the_rules_on_a_hand_written_row() -> None:
    pairs = [
        (r["source"], r["kind"], r["sentence"], r["skill"])
        for r in linker_records(ROW, ["job_description", "resume_matched"])
    ]
    assert pairs == [
        (
            "job_description",
            "described",
            "TCP/IP networking skills and LAN/WAN operation.",
            "Networking",
        ),
        # "2. SQL: SQL" describes SQL by its own name only (one word): no pair.
        ("job_description", "mentioned", "You will write sql and Python every day.", "SQL"),
        ("job_description", "mentioned", "You will write sql and Python every day.", "Python"),
        # the repeated line counts once; the resume's skills list gives nothing
        ("resume_matched", "mentioned", "Automated reports in python (pandas)", "Python"),
    ]
    assert {r["row_id"] for r in linker_records(ROW, ["job_description"])} == {7}


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path) -> Path:
    """Labels of the first three real RJDB test rows (the synthetic fixture names its skills
    only in lists, which give no pairs)."""
    out = tmp_path_factory.mktemp("weak") / "labels"
    path = rjdb_data_dir / "test.jsonl"
    args = ["data.split=test", f"data.path={path}", "data.rows=0:3", f"output_dir={out}"]
    assert main(["weak", "build-labels", *args]) == 0
    return out


def test_labels_without_pairs_refuse_linker_training_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "labels"
    args = ["data.split=test", f"data.path={FIXTURE}", "data.rows=0:2", f"output_dir={out}"]
    assert main(["weak", "build-labels", *args]) == 0
    assert json.loads((out / "data_card.json").read_text())["linker"]["pairs"] == 0
    capsys.readouterr()
    assert main(["weak", "train-linker", f"labels={out}", f"output_dir={tmp_path / 'l'}"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and str(out) in error[0] and "no linker pairs" in error[0]
    assert not (tmp_path / "l").exists()


def test_the_labels_folder_holds_the_linker_pairs_its_card_describes(labels: Path) -> None:
    card = json.loads((labels / "data_card.json").read_text())
    records = list(datasets.load_from_disk(str(labels / "linker")))
    assert card["linker"]["pairs"] == len(records) > 4
    assert card["checksums"]["linker"] == records_sha256(records)
    assert card["linker"]["skills"] == len({r["skill"].casefold() for r in records})
    assert {r["row_id"] for r in records} <= {0, 1, 2}
    assert "## Linker (sentence, skill) pairs" in (labels / "DATA_CARD.md").read_text()


def train(labels: Path, encoder: Path, out: Path, *extra: str) -> int:
    flags = [e for e in extra if e.startswith("--")]
    rest = [e for e in extra if not e.startswith("--")]
    common = [f"labels={labels}", f"encoder={encoder}", f"output_dir={out}", *TRAIN]
    return main(["weak", "train-linker", *flags, *common, *rest])


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="module")
def tiny_linker(labels: Path, tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("linker")
    assert train(labels, tiny_encoder, out, "max_steps=3") == 0
    return out


@pytest.mark.slow
def test_a_tiny_linker_trains_end_to_end_seeded_and_resumable(
    labels: Path, tiny_encoder: Path, tiny_linker: Path, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    encoder = tiny_encoder
    shutil.copytree(tiny_linker, tmp_path / "a")
    model = tmp_path / "a" / "model"
    record = json.loads((model / "rjdb_training.json").read_text())
    card = json.loads((labels / "data_card.json").read_text())
    assert record["kind"] == "linker" and record["training"]["global_step"] == 3
    assert record["training_data"]["examples_sha256"] == card["checksums"]["linker"]
    assert record["training_data"]["rows"] == "0:3"
    assert (model / "modules.json").is_file()  # a sentence-transformers folder
    vectors = SentenceTransformer(str(model), device="cpu").encode(["SQL", "Python"])
    assert vectors.shape == (2, 32)
    losses = [
        json.loads(x) for x in (tmp_path / "a" / "training_log.jsonl").read_text().splitlines()
    ]
    assert [x["step"] for x in losses if "loss" in x] == [1, 2, 3]

    assert train(labels, encoder, tmp_path / "b", "max_steps=3") == 0
    weights = [sha256_file(tmp_path / n / "model" / "model.safetensors") for n in ("a", "b")]
    assert weights[0] == weights[1]

    assert train(labels, encoder, tmp_path / "c", "max_steps=2") == 0
    assert train(labels, encoder, tmp_path / "c", "max_steps=3") == 2  # needs --resume
    assert train(labels, encoder, tmp_path / "c", "--resume", "max_steps=3") == 0
    resumed = json.loads((tmp_path / "c" / "model" / "rjdb_training.json").read_text())
    assert resumed["training"]["resumed_from"] == "checkpoint-2"
    assert resumed["training"]["global_step"] == 3


@pytest.mark.slow
def test_model_linker_ranks_esco_labels_by_its_own_embeddings(
    tiny_linker: Path, ood_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trained encoder's nearest label, recomputed with sentence-transformers directly,
    is each sample's first label; the run records the checkpoint; other tasks are refused."""
    from sentence_transformers import SentenceTransformer

    args = ["run", "model=linker", f"model.pretrained={tiny_linker}", "cache.enabled=false"]
    out = tmp_path / "run"
    assert main([*args, "tasks=[ood_esco_house]", "limit=4", f"output_dir={out}"]) == 0
    results = json.loads((out / "results.json").read_text())
    identity = results["model"]["identity"] if "identity" in results["model"] else results["model"]
    assert "weak-linker" in json.dumps(identity)
    records = [
        json.loads(x) for x in (out / "samples" / "ood_esco_house.jsonl").read_text().splitlines()
    ]
    assert len(records) == 4
    folder = ood_data_dir / "decorte-skill-extraction-benchmark"
    labels = (folder / "skills_en_label.txt").read_text(encoding="utf-8").split("\n")
    labels = [label for label in labels if label.strip()]
    model = SentenceTransformer(str(tiny_linker / "model"), device="cpu")
    vectors = model.encode(labels, normalize_embeddings=True, batch_size=256)
    for record in records:
        query = model.encode([record["sentence"]], normalize_embeddings=True)[0]
        cosine = vectors @ query
        top = labels.index(record["prediction"][0])
        assert cosine[top] >= cosine.max() - 1e-5
        assert len(record["prediction"]) >= 10
    capsys.readouterr()
    bad = [*args, "tasks=[ood_green_zeroshot]", "limit=2", f"output_dir={tmp_path / 'bad'}"]
    assert main(bad) == 2
    error = [x for x in capsys.readouterr().err.splitlines() if "error" in x]
    assert len(error) == 1 and "'linker'" in error[0] and "ood_green_zeroshot" in error[0]
