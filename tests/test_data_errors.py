"""Bad data files: one-line errors naming file and line; ``skip_malformed`` for messy CoNLL.

RJDB rows with a lone surrogate (which Arrow cannot store), unreadable files, and the CoNLL
reader's strict and skipping modes, down to what a task records and prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.data.conll import read_conll
from rjdb_bench.data.rjdb import read_rjdb
from rjdb_bench.errors import InputError
from rjdb_bench.tasks.selection import task_manager

ROW = {
    "Job-Description": "Cook wanted",
    "Resume-matched": "Cook (2014 - 2016)",
    "Resume-unmatched": "Cook (2014 - 2015)",
    "Skills": ["Baking"],
    "Experiences": ["Cook"],
    "Experiences-years": [[["2 years as a Cook"], ["Cook (2014 - 2016)"]], 2016, [2]],
    "Filtered-information": {
        "Skills": ["Baking"],
        "Experience": "the same job experience as before",
    },
}


def rjdb_error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_rjdb(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def conll_error(path: Path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        read_conll([path], **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


# --------------------------------------------------------------------------- RJDB


@pytest.mark.parametrize(
    ("raw_field", "escaped", "field"),
    [
        ('"Skills": ["Baking"]', '"Skills": ["Baking", "\\ud800"]', "Skills"),
        ('"Cook wanted"', '"Cook \\udfff wanted"', "Job-Description"),
        (
            '"Skills": ["Baking"], "Experience"',
            '"Skills": {"\\ud83d": 1}, "Experience"',
            "Filtered-information.Skills",
        ),  # fmt: skip
        ('"Experiences": ["Cook"]', '"Experiences": ["\\uDC00"]', "Experiences"),
    ],
)
def test_a_lone_surrogate_names_file_line_and_field(
    tmp_path: Path, raw_field: str, escaped: str, field: str
) -> None:
    good = json.dumps(ROW)
    assert raw_field in good
    path = tmp_path / "test.jsonl"
    path.write_text(f"{good}\n\n{good.replace(raw_field, escaped)}\n", encoding="ascii")
    message = rjdb_error(path)
    assert message.startswith(f"{path}:3: field {field!r}: lone surrogate \\u")
    assert message.endswith("(half of a UTF-16 pair, not valid Unicode text)")


def test_surrogate_pairs_and_escaped_backslashes_are_fine(tmp_path: Path) -> None:
    row = json.dumps(ROW).replace('"Baking"]', '"Baking \\ud83c\\udf5e", "\\\\ud800"]', 1)
    path = tmp_path / "test.jsonl"
    path.write_text(row + "\n")
    assert read_rjdb(path)["skills"] == [["Baking \N{BREAD}", "\\ud800"]]


def test_an_end_year_arrow_cannot_store_is_an_error(tmp_path: Path) -> None:
    row = dict(ROW, **{"Experiences-years": [ROW["Experiences-years"][0], 10**20, [2]]})
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert rjdb_error(path) == (
        f"{path}:1: field 'Experiences-years': end year 100000000000000000000 is out of range"
    )


def test_unreadable_rjdb_files(tmp_path: Path) -> None:
    folder = tmp_path / "test.jsonl"
    folder.mkdir()
    assert rjdb_error(folder) == f"{folder}: is a folder, expected a .jsonl file"
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert rjdb_error(empty) == f"{empty}: no RJDB rows (the file is empty)"
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(json.dumps(ROW).encode() + b'\n{"Job-Description": "caf\xe9"}\n')
    assert rjdb_error(latin1) == f"{latin1}:2: not valid UTF-8 (invalid continuation byte)"


# --------------------------------------------------------------------------- CoNLL, strict


def test_a_surrogate_in_conll_bytes_is_invalid_utf8_and_an_escape_is_text(tmp_path: Path) -> None:
    encoded = tmp_path / "cesu.conll"
    encoded.write_bytes(b"a\tO\n\n\xed\xa0\x80\tO\n")  # U+D800 encoded as if it were a character
    assert conll_error(encoded) == f"{encoded}:3: not valid UTF-8 (invalid continuation byte)"
    escaped = tmp_path / "escaped.conll"
    escaped.write_text("\\ud800\tB\n")
    [sentence], _ = read_conll([escaped])
    assert sentence.tokens == ("\\ud800",)


def test_unreadable_conll_files(tmp_path: Path) -> None:
    assert conll_error(tmp_path) == f"{tmp_path}: is a folder, expected a CoNLL file"
    empty = tmp_path / "empty.conll"
    empty.write_bytes(b"")
    assert conll_error(empty) == f"{empty}: no sentences (the file has no token lines)"


MESSY = """\
We\tO\tO
use\tO\tO
Python\tB-Skill\tO

New\tYork\tB-Skill\tO
office\tO\tO

Strong\tO\tO
SQL\t\tB-Knowledge

Git\tB-Skill\tB-Knowledge
"""
# Line 5: a token split by a tab (4 columns); line 9: an empty tag column.


def test_the_first_malformed_line_is_an_error_by_default(tmp_path: Path) -> None:
    path = tmp_path / "messy.conll"
    path.write_text(MESSY)
    assert conll_error(path, tag_columns=(1, 2)) == (
        f"{path}:5: 4 columns where the file's lines have 3 (a token containing the delimiter?)"
    )
    path.write_text(MESSY.replace("New\tYork", "New York"))
    assert conll_error(path, tag_columns=(1, 2)) == (
        f"{path}:9: column 1: '' is not a BIO tag (O, B, I, B-X, I-X)"
    )


def test_a_split_token_that_looks_like_a_tag_is_still_caught(tmp_path: Path) -> None:
    path = tmp_path / "split.conll"
    path.write_text("Windows\tO\nC\tO\tB\nx\tO\n")  # "C\tO" was one token; its tag is B
    assert conll_error(path).startswith(f"{path}:2: 3 columns where the file's lines have 2")
    # Equally frequent widths: the narrower is the file's (the wider line is the odd one).
    path.write_text("Python\tB\nand\tO\textra\tcols\n")
    assert conll_error(path).startswith(f"{path}:2: 4 columns where the file's lines have 2")


# --------------------------------------------------------------------------- CoNLL, skipping


def test_skip_malformed_drops_whole_sentences_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "messy.conll"
    path.write_text(MESSY)
    sentences, report = read_conll([path], tag_columns=(1, 2), skip_malformed=True)
    # Sentences 1 and 2 (0-based) hold a bad line and are dropped whole; ids keep their places.
    assert [(s.sentence_id, s.tokens, s.tags) for s in sentences] == [
        ("messy.conll:0", ("We", "use", "Python"), ("O", "O", "B")),
        ("messy.conll:3", ("Git",), ("B",)),
    ]
    assert (report.sentences, report.tokens, report.spans) == (2, 4, 2)
    assert report.as_dict()["skipped_malformed"] == [
        {
            "file": str(path),
            "lines": 2,
            "first_lines": [5, 9],
            "sentences": 2,
            "first_problem": "line 5: 4 columns where the file's lines have 3 "
            "(a token containing the delimiter?)",
        }
    ]
    # Without the option the report has no such key; a clean file with it reports zero.
    clean = tmp_path / "clean.conll"
    clean.write_text("a\tO\n")
    assert "skipped_malformed" not in read_conll([clean])[1].as_dict()
    assert (
        read_conll([clean], skip_malformed=True)[1].as_dict()["skipped_malformed"][0]["lines"] == 0
    )


def test_the_warning_lists_the_first_ten_lines(tmp_path: Path) -> None:
    # 12 one-token sentences with a bad tag, each followed by a good sentence.
    text = "".join(f"bad{i}\tX\n\ngood{i}\tO\n\n" for i in range(12))
    path = tmp_path / "many.conll"
    path.write_text(text)
    sentences, report = read_conll([path], skip_malformed=True)
    assert len(sentences) == 12
    [skipped] = report.skipped
    assert skipped.lines == 12 and skipped.first_lines == tuple(range(1, 40, 4))
    assert skipped.warning() == (
        f"{path}: skipped 12 malformed lines (first: 1, 5, 9, 13, 17, 21, 25, 29, 33, 37, ...) "
        "and dropped the 12 sentences containing them; first problem: line 1: column 1: 'X' is "
        "not a BIO tag (O, B, I, B-X, I-X)"
    )


def test_a_file_left_without_sentences_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "allbad.conll"
    path.write_text("a\tX\n\nb\n\nc\tY\n")
    assert conll_error(path, skip_malformed=True) == (
        f"{path}: no sentences left: all 3 contain malformed lines (skip_malformed); first: "
        "line 1: column 1: 'X' is not a BIO tag (O, B, I, B-X, I-X)"
    )


# --------------------------------------------------------------------------- a span task


SPAN_YAML = """\
task: messy_spans
class: !function rjdb_bench.tasks.spans.SpanExtractionTask
dataset_kwargs:
  files: [messy.conll]
  tag_columns: [1, 2]
  skip_malformed: true
metadata:
  version: 1.0
"""


def test_a_task_with_skip_malformed_records_and_warns(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "messy.conll").write_text(MESSY)
    (folder / "messy.yaml").write_text(SPAN_YAML)
    out = tmp_path / "out"
    args = ["run", "model=oracle", f"include_path={folder}", "tasks=[messy_spans]"]
    assert main([*args, f"output_dir={out}"]) == 0
    warnings = [
        line for line in capfd.readouterr().err.splitlines() if line.startswith("rjdb-bench:")
    ]
    assert warnings == [
        f"rjdb-bench: warning: {folder / 'messy.conll'}: skipped 2 malformed lines (first: 5, 9) "
        "and dropped the 2 sentences containing them; first problem: line 5: 4 columns where "
        "the file's lines have 3 (a token containing the delimiter?)"
    ]
    record = json.loads((out / "results.json").read_text())["tasks"]["messy_spans"]
    assert record["n"] == 2 and record["metrics"]["strict_f1"] == 1.0
    assert record["data_notes"]["skipped_malformed"][0]["first_lines"] == [5, 9]
    # Without the option the same task stops at line 5.
    (folder / "messy.yaml").write_text(SPAN_YAML.replace("  skip_malformed: true\n", ""))
    assert main([*args, f"output_dir={tmp_path / 'strict'}"]) == 2
    assert capfd.readouterr().err == (
        f"rjdb-bench: error: {folder / 'messy.conll'}:5: 4 columns where the file's lines have 3 "
        "(a token containing the delimiter?)\n"
    )


def test_the_task_data_notes_match_the_reader(tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "messy.conll").write_text(MESSY)
    (folder / "messy.yaml").write_text(SPAN_YAML)
    task = task_manager({}, [folder]).load(["messy_spans"])["tasks"]["messy_spans"]
    _, report = read_conll([folder / "messy.conll"], tag_columns=(1, 2), skip_malformed=True)
    assert task.data_notes == report.as_dict()
    assert [doc["doc_key"] for doc in task.eval_docs] == ["messy.conll:0", "messy.conll:3"]
