"""Weak labels: hand-derived BIO tags for hand-made rows, match pairs, the data card and
``rjdb-bench weak build-labels`` on the synthetic RJDB rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pytest

from rjdb_bench.cli import main
from rjdb_bench.data.rjdb import read_rjdb
from rjdb_bench.data.row_range import row_fingerprint
from rjdb_bench.data.words import word_offsets
from rjdb_bench.weak.card import tagger_statistics
from rjdb_bench.weak.labels import TAGS, match_pairs, tag_row, tag_tokens

FIXTURE = Path(__file__).parent / "fixtures" / "synthetic_rjdb.jsonl"

TEXT = (
    "Python and data analysis; PYTHON, node.js and data.\n"
    "\n"
    "Experience with machine learning algorithms .\n"
)
SKILLS = [
    "Data Analysis",  # casing: tags "data analysis"
    "data",  # nested in "Data Analysis": only the free, later "data"
    "Python.",  # punctuation stripped; repeated with other casing: both mentions
    "machine learning",  # overlaps "learning algorithms" and is listed first: wins
    "learning algorithms",  # its only occurrence is taken: not located
    "Node.js",  # three tokens: node . js
    "Cobol",  # nowhere in the text
]
# Tokens:   Python and data analysis ; PYTHON , node . js and data .
EXPECTED = ["B", "O", "B", "I", "O", "B", "O", "B", "I", "I", "O", "B", "O"]
# Tokens:   Experience with machine learning algorithms .
EXPECTED += ["O", "O", "B", "I", "O", "O"]


def words(text: str) -> list[str]:
    return [text[s:e] for s, e in word_offsets(text)]


def test_hand_derived_bio_tags_for_overlaps_repeats_case_and_punctuation() -> None:
    tagged = tag_tokens(words(TEXT), SKILLS)
    assert tagged.tokens[:4] == ["Python", "and", "data", "analysis"]
    assert tagged.tags == EXPECTED
    assert sorted(SKILLS[i] for i in tagged.located) == sorted(
        ["Data Analysis", "data", "Python.", "machine learning", "Node.js"]
    )


def test_a_skill_never_tags_inside_a_longer_token() -> None:
    tagged = tag_tokens(["JavaScript", "and", "Java", "EE"], ["Java"])
    assert tagged.tags == ["O", "O", "B", "O"]


def test_rows_are_tagged_per_text_and_window_with_located_skills_per_text() -> None:
    row = {
        "skills": SKILLS,
        "resume_matched": TEXT,
        "job_description": "We need Cobol and python\nand more Cobol",
    }
    labels = tag_row(row, ["resume_matched", "job_description"], max_words=15)
    sources = [source for source, _ in labels.windows]
    # 13 + 6 words do not fit 15: one window per line; the job description fits one window
    assert sources == ["resume_matched", "resume_matched", "job_description"]
    assert labels.windows[0][1].tags == EXPECTED[:13]
    assert labels.windows[2][1].tags == ["O", "O", "B", "O", "B", "O", "O", "B"]
    assert labels.located["job_description"] == {2, 6}
    stats = tagger_statistics(
        [
            {"source": s, "tokens": t.tokens, "tags": [TAGS.index(x) for x in t.tags]}
            for s, t in labels.windows
        ],
        [labels.located],
        [SKILLS],
        [7],
    )
    assert stats["gold_skills"] == 7
    assert stats["gold_skills_located"] == {"job_description": 2 / 7, "resume_matched": 5 / 7}
    # Cobol is found in the job description: only "learning algorithms" is nowhere
    assert stats["gold_skills_located_anywhere"] == 6 / 7
    assert stats["not_located_examples"] == [{"row_id": 7, "skill": "learning algorithms"}]
    assert stats["spans"] == 5 + 1 + 3
    assert stats["tokens"] == 13 + 6 + 8


def test_match_pairs_label_matched_unmatched_and_another_rows_resume() -> None:
    rows = [
        {
            "row_id": i,
            "job_description": f"JD{i}",
            "resume_matched": f"M{i}",
            "resume_unmatched": f"U{i}",
        }
        for i in range(3)
    ]
    pairs = match_pairs(rows, ["unmatched", "other_row"], seed=5)
    assert [(p["kind"], p["label"]) for p in pairs[:3]] == [
        ("matched", 1),
        ("unmatched", 0),
        ("other_row", 0),
    ]
    for pair in pairs:
        if pair["kind"] == "other_row":
            assert pair["resume"] != f"M{pair['row_id']}" and pair["resume"].startswith("M")
    assert pairs == match_pairs(rows, ["unmatched", "other_row"], seed=5)  # seeded
    assert [p["kind"] for p in match_pairs(rows, [], seed=5)] == ["matched"] * 3


def build(tmp_path: Path, *overrides: str) -> int:
    return main(["weak", "build-labels", f"output_dir={tmp_path / 'labels'}", *overrides])


def test_build_labels_writes_datasets_card_and_held_out_rows(tmp_path: Path, capsys) -> None:
    assert build(tmp_path, "data.split=test", f"data.path={FIXTURE}", "data.rows=0:4") == 0
    out = tmp_path / "labels"
    card = json.loads((out / "data_card.json").read_text())
    assert card["rows"]["split"] == "test" and card["rows"]["rows"] == "0:4"
    assert card["rows"]["n_rows"] == 4 and card["rows"]["n_file_rows"] == 6
    assert card["held_out"]["rows"] == ["4:6"] and card["held_out"]["n_rows"] == 2
    lines = [line for line in FIXTURE.read_text().split("\n") if line.strip()]
    assert (out / "heldout.jsonl").read_text() == lines[4] + "\n" + lines[5] + "\n"
    rows = [json.loads(line) for line in lines]
    assert card["tagger"]["gold_skills"] == sum(len(r["Skills"]) for r in rows[:4])
    assert 0 < card["tagger"]["gold_skills_located_anywhere"] <= 1
    assert 0 < card["tagger"]["label_coverage"] < 1
    assert card["matcher"]["pairs_by_kind"] == {"matched": 4, "unmatched": 4, "other_row": 4}
    assert len(card["train_row_fingerprints"]) == 4
    assert card["train_row_fingerprints"] == [row_fingerprint(r) for r in read_rjdb(FIXTURE)][:4]
    tagger = datasets.load_from_disk(str(out / "tagger"))
    assert tagger.features["tags"].feature.names == list(TAGS)
    assert set(tagger["row_id"]) == {0, 1, 2, 3}
    assert len(tagger) == card["tagger"]["windows"]
    matcher = datasets.load_from_disk(str(out / "matcher"))
    assert sum(matcher["label"]) == 4 and len(matcher) == 12
    assert "gold skills located" in (out / "DATA_CARD.md").read_text().lower()
    assert "held out: 2 rows" in capsys.readouterr().out


def test_split_auto_takes_the_train_split_when_there_is_one(tmp_path: Path) -> None:
    data = tmp_path / "rjdb"
    data.mkdir()
    shutil.copy(FIXTURE, data / "train.jsonl")
    assert build(tmp_path, f"data.data_dir={data}") == 0
    card = json.loads((tmp_path / "labels" / "data_card.json").read_text())
    assert card["rows"]["split"] == "train" and card["rows"]["n_rows"] == 6
    assert card["held_out"] == {"n_rows": 0, "rows": [], "file": None}
    assert not (tmp_path / "labels" / "heldout.jsonl").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.rows=5:2", "config: data.rows: expected START:STOP with 0 <= START < STOP <= 6"),
        ("max_words=0", "config: max_words: expected a positive integer, got 0"),
        ("negatives=[typo]", "config: negatives: expected a list of unmatched, other_row"),
        ("sorces=[x]", "config: "),
    ],
)
def test_bad_label_settings_are_one_line_errors(
    tmp_path: Path, capsys, override: str, message: str
) -> None:
    assert build(tmp_path, "data.split=test", f"data.path={FIXTURE}", override) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "labels").exists()


def test_a_folder_that_is_not_a_labels_folder_is_not_overwritten(tmp_path: Path, capsys) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "keep.txt").write_text("mine")
    assert build(tmp_path, "data.split=test", f"data.path={FIXTURE}") == 2
    assert "is not a labels folder" in capsys.readouterr().err
    assert (tmp_path / "labels" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["labels={tmp}/none"], "{tmp}/none/data_card.json: not found: build the labels first"),
        (["epochs=0"], "config: epochs: expected a positive number, got 0.0"),
        (["--resume"], "data_card.json: not found"),
    ],
)
def test_bad_training_input_is_one_line_before_any_model_loads(
    tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    args = [a.format(tmp=tmp_path) for a in args]
    flags = [a for a in args if a.startswith("--")]
    rest = [a for a in args if not a.startswith("--")]
    out = f"output_dir={tmp_path / 'run'}"
    assert main(["weak", "train-tagger", *flags, f"labels={tmp_path}/none", out, *rest]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.format(tmp=tmp_path) in err
    assert not (tmp_path / "run").exists()


def test_an_encoder_that_cannot_be_loaded_is_one_line(tmp_path: Path, capsys) -> None:
    assert build(tmp_path, "data.split=test", f"data.path={FIXTURE}", "data.rows=0:4") == 0
    args = [f"labels={tmp_path / 'labels'}", f"encoder={tmp_path / 'nothing'}"]
    assert main(["weak", "train-matcher", *args, f"output_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("rjdb-bench: error: ")]
    assert len(errors) == 1 and f"config: encoder: cannot load {tmp_path / 'nothing'}" in errors[0]
    assert not (tmp_path / "run").exists()  # nothing written before the encoder loaded


def test_an_output_dir_under_a_file_is_refused_before_the_work(tmp_path: Path, capsys) -> None:
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "sub"
    args = ["weak", "build-labels", f"data.path={FIXTURE}", "data.split=test", f"output_dir={out}"]
    assert main(args) == 2
    err = capsys.readouterr()
    assert (
        err.err == f"rjdb-bench: error: output_dir: {tmp_path / 'afile'} is a file, not a folder\n"
    )
    assert "weak labels" not in err.out  # refused before any row was tagged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_full_disk_is_one_line_naming_the_labels_folder(tmp_path: Path) -> None:
    """A file-size limit (what a full disk looks like to a writer): the staged folder is
    removed and nothing is left beside the target."""
    import subprocess
    import sys

    out = tmp_path / "labels"
    args = ["weak", "build-labels", f"data.path={FIXTURE}", "data.split=test", f"output_dir={out}"]
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))\n"
        "from rjdb_bench.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("rjdb-bench")]
    assert lines == [f"rjdb-bench: error: {out}: cannot write the labels (File too large)"]
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
