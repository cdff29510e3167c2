"""Training on weak labels and evaluating the checkpoints as models: a tiny encoder built
here, a few Trainer steps, then ``rjdb-bench run model=tagger|matcher`` on the OOD tasks;
the refusal to evaluate on training rows; resuming from a checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scipy.stats import spearmanr

from rjdb_bench.cli import main
from rjdb_bench.data.download import sha256_file
from rjdb_bench.metrics.spans import span_scores
from rjdb_bench.models.matcher import build_matcher
from rjdb_bench.models.tagger import build_tagger
from rjdb_bench.tasks.selection import task_manager

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "synthetic_rjdb.jsonl"
TRAIN = ["max_steps=3", "save_steps=2", "logging_steps=1", "batch_size=4", "learning_rate=1e-3"]


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("weak") / "labels"
    args = ["data.split=test", f"data.path={FIXTURE}", "data.rows=0:4", f"output_dir={out}"]
    assert main(["weak", "build-labels", *args]) == 0
    return out


def train(kind: str, labels: Path, encoder: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "weak",
            f"train-{kind}",
            *[e for e in extra if e.startswith("--")],
            f"labels={labels}",
            f"encoder={encoder}",
            f"output_dir={out}",
            *TRAIN,
            *[e for e in extra if not e.startswith("--")],
        ]
    )


@pytest.fixture(scope="module")
def tagger(labels: Path, tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tagger")
    assert train("tagger", labels, tiny_encoder, out) == 0
    return out


@pytest.fixture(scope="module")
def matcher(labels: Path, tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("matcher")
    assert train("matcher", labels, tiny_encoder, out) == 0
    return out


def log_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]


def samples_of(run_dir: Path, task: str) -> list[dict]:
    lines = (run_dir / "samples" / f"{task}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_training_writes_checkpoints_a_log_and_the_training_record(
    tagger: Path, labels: Path, tiny_encoder: Path
) -> None:
    assert sorted(p.name for p in (tagger / "checkpoints").iterdir()) == [
        "checkpoint-2",
        "checkpoint-3",
    ]
    steps = [line["step"] for line in log_lines(tagger) if "loss" in line]
    assert steps == [1, 2, 3]
    record = json.loads((tagger / "model" / "rjdb_training.json").read_text())
    card = json.loads((labels / "data_card.json").read_text())
    data = record["training_data"]
    assert (record["kind"], data["split"], data["rows"], data["n_rows"]) == (
        "tagger",
        "test",
        "0:4",
        4,
    )
    assert data["file_sha256"] == sha256_file(FIXTURE)
    assert data["examples_sha256"] == card["checksums"]["tagger"]
    assert data["train_row_fingerprints"] == card["train_row_fingerprints"]
    assert record["recipe"]["seed"] == 1234 and record["recipe"]["max_steps"] == 3
    assert record["base_encoder"]["path"] == str(tiny_encoder)
    assert record["training"]["global_step"] == 3 and record["training"]["resumed_from"] is None
    config = json.loads((tagger / "model" / "config.json").read_text())
    assert config["id2label"] == {"0": "O", "1": "B", "2": "I"}


def test_the_same_seed_trains_the_same_weights(
    labels: Path, tiny_encoder: Path, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        assert train("matcher", labels, tiny_encoder, tmp_path / name, "max_steps=2") == 0
    weights = [sha256_file(tmp_path / n / "model" / "model.safetensors") for n in ("a", "b")]
    assert weights[0] == weights[1]


def test_the_tagger_runs_on_an_ood_span_task(tagger: Path, tmp_path: Path) -> None:
    args = ["model=tagger", f"model.pretrained={tagger}", "tasks=[ood_green_zeroshot]"]
    assert main(["run", *args, "limit=12", f"output_dir={tmp_path}"]) == 0
    record = json.loads((tmp_path / "results.json").read_text())["tasks"]["ood_green_zeroshot"]
    samples = samples_of(tmp_path, "ood_green_zeroshot")
    assert record["n"] == 12 and record["metrics"]["parse_failure_rate"] == 0.0
    # The answers are the checkpoint's own predictions on the sentence tokens ...
    model = build_tagger({"pretrained": str(tagger)}, {})
    spans = model.lm.spans([s["tokens"] for s in samples])
    for sample, found in zip(samples, spans, strict=True):
        expected = [" ".join(sample["tokens"][a:b]) for a, b in found]
        assert json.loads(sample["output"]) == expected
        assert sample["unplaced"] == []  # copied from the sentence: always placed
    # ... and the metrics are the span metrics of those answers.
    scores = span_scores(
        [s["tokens"] for s in samples],
        [s["gold_tags"] for s in samples],
        [json.loads(s["output"]) for s in samples],
    )
    for name in ("strict_f1", "loose_f1", "strict_precision"):
        assert record["metrics"][name] == pytest.approx(scores[name])


def test_the_matcher_ranks_vacancies_by_its_match_probability(
    matcher: Path, tmp_path: Path
) -> None:
    args = ["model=matcher", f"model.pretrained={matcher}", "tasks=[ood_vacancy_zeroshot]"]
    assert main(["run", *args, "limit=10", f"output_dir={tmp_path}"]) == 0
    record = json.loads((tmp_path / "results.json").read_text())["tasks"]["ood_vacancy_zeroshot"]
    assert record["n"] == 10 and record["metrics"]["parse_failure_rate"] == 0.0
    manager = task_manager({"seed": 1234, "vacancy_scoring": "rating", "limit": 10})
    docs = list(manager.load(["ood_vacancy_zeroshot"])["tasks"]["ood_vacancy_zeroshot"].eval_docs)
    docs = docs[:10]
    model = build_matcher({"pretrained": str(matcher)}, {})
    p = model.lm.probability([d["vacancy_text"] for d in docs], [d["cv_text"] for d in docs])
    samples = samples_of(tmp_path, "ood_vacancy_zeroshot")
    assert [float(s["output"]) for s in samples] == pytest.approx([1 + 4 * x for x in p], abs=1e-5)
    by_cv: dict[int, list[tuple[float, int]]] = {}
    for sample in samples:
        rating = float(sample["output"])
        by_cv.setdefault(int(sample["cv"]), []).append((rating, sample["gold"]["annotator1"]))
    rhos = [spearmanr([x for x, _ in v], [-g for _, g in v]).statistic for v in by_cv.values()]
    assert record["metrics"]["spearman_annotator1"] == pytest.approx(sum(rhos) / len(rhos))


@pytest.mark.parametrize(
    ("kind", "task"), [("tagger", "rjdb_skills"), ("matcher", "rjdb_match_pairwise")]
)
def test_a_run_refuses_the_rows_the_checkpoint_was_trained_on(
    kind: str, task: str, request: pytest.FixtureRequest, labels: Path, tmp_path: Path, capsys
) -> None:
    checkpoint = request.getfixturevalue(kind)
    args = [f"model={kind}", f"model.pretrained={checkpoint}", f"tasks=[{task}]"]
    assert main(["run", *args, f"data.path={FIXTURE}", f"output_dir={tmp_path / 'all'}"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("rjdb-bench: error: ")]
    assert len(errors) == 1 and "Traceback" not in err
    assert "was trained on 4 of the RJDB rows this run evaluates (rows 0, 1, 2, 3 of" in errors[0]
    assert errors[0].endswith(f"data.path={(labels / 'heldout.jsonl').resolve()}")
    assert not (tmp_path / "all" / "results.json").exists()
    # The held-out rows (4 and 5 of the file) are evaluated.
    held = ["data.path=" + str(labels / "heldout.jsonl"), f"output_dir={tmp_path / 'held'}"]
    assert main(["run", *args, *held]) == 0
    record = json.loads((tmp_path / "held" / "results.json").read_text())["tasks"][task]
    assert record["n"] == (4 if task == "rjdb_skills" else 2)


def test_training_resumes_from_the_last_checkpoint(
    labels: Path, tiny_encoder: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    assert train("tagger", labels, tiny_encoder, out, "max_steps=2") == 0
    # Without --resume an existing run is refused; with a changed recipe too.
    assert train("tagger", labels, tiny_encoder, out, "max_steps=4") == 2
    assert "pass --resume" in capsys.readouterr().err
    assert train("tagger", labels, tiny_encoder, out, "--resume", "max_steps=4", "seed=7") == 2
    assert "changed recipe (seed)" in capsys.readouterr().err
    assert train("tagger", labels, tiny_encoder, out, "--resume", "max_steps=4") == 0
    steps = [line["step"] for line in log_lines(out) if "loss" in line]
    assert steps == [1, 2, 3, 4]  # the second session starts after checkpoint-2
    record = json.loads((out / "model" / "rjdb_training.json").read_text())
    assert record["training"]["resumed_from"] == "checkpoint-2"
    assert record["training"]["global_step"] == 4


def test_rjdb_skills_is_tagged_in_the_line_windows_the_weak_labels_use(tagger: Path) -> None:
    """The resume is tagged window by window as build-labels cut it (whole lines of at most
    max_words words), not re-chunked across line breaks."""
    model = build_tagger({"pretrained": str(tagger), "max_words": 3}, {})
    seen: list[list[str]] = []
    tag = model.lm.tag
    model.lm.tag = lambda windows: (seen.extend(map(list, windows)), tag(windows))[1]
    (answer,) = model.lm._skills([{"resume": "Python SQL\nExcel Word PowerPoint\nJava"}])
    assert seen == [["Python", "SQL"], ["Excel", "Word", "PowerPoint"], ["Java"]]
    assert isinstance(json.loads(answer), list)


def test_edited_labels_are_refused_before_training(
    labels: Path, tiny_encoder: Path, tmp_path: Path, capsys
) -> None:
    """One record of the tagger dataset changed (the card and its checksum left as they
    were): training refuses in one line, before any model loads or anything is written."""
    import datasets

    copy = tmp_path / "labels"
    shutil.copytree(labels, copy)
    dataset = datasets.load_from_disk(str(labels / "tagger"))
    edited = dataset.map(
        lambda r, i: {"tags": [0] * len(r["tags"]) if i == 0 else r["tags"]}, with_indices=True
    )
    shutil.rmtree(copy / "tagger")
    edited.save_to_disk(str(copy / "tagger"))
    out = tmp_path / "run"
    capsys.readouterr()
    assert train("tagger", copy, tiny_encoder, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{copy / 'tagger'}: its records do not match the sha256" in err[0]
    assert not out.exists()


def test_the_record_holds_the_hash_of_the_examples_read(
    labels: Path, tiny_encoder: Path, tmp_path: Path
) -> None:
    """With ``limit`` the model trains on the first examples: the record says which, by their
    own sha256 (computed here from the dataset, one sorted-key JSON line per record), beside
    the whole dataset's, which is the card's."""
    import hashlib

    import datasets

    out = tmp_path / "run"
    assert train("tagger", labels, tiny_encoder, out, "limit=3", "max_steps=1") == 0
    data = json.loads((out / "model" / "rjdb_training.json").read_text())["training_data"]
    rows = datasets.load_from_disk(str(labels / "tagger")).select(range(3)).to_list()
    text = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)
    assert data["examples"] == 3
    assert data["examples_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    card = json.loads((labels / "data_card.json").read_text())
    assert data["labels_sha256"] == card["checksums"]["tagger"] != data["examples_sha256"]


@pytest.mark.parametrize("damaged", ["model.safetensors", "trainer_state.json", "optimizer.pt"])
def test_resuming_from_a_truncated_checkpoint_is_one_line(
    damaged: str, tagger: Path, labels: Path, tiny_encoder: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    shutil.copytree(tagger, out)
    shutil.rmtree(out / "model")
    path = out / "checkpoints" / "checkpoint-3" / damaged
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert train("tagger", labels, tiny_encoder, out, "--resume", "max_steps=4") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"rjdb-bench: error: {path}: truncated or damaged")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_checkpoint_with_truncated_weights_is_one_line(
    tagger: Path, tmp_path: Path, capsys
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tagger / "model", model)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    args = ["model=tagger", f"model.pretrained={model}", "tasks=[ood_green_zeroshot]", "limit=2"]
    capsys.readouterr()
    assert main(["run", *args, f"output_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"rjdb-bench: error: {weights}: truncated or damaged weights"
    )
    assert not (tmp_path / "run").exists()
