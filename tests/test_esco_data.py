"""The ESCO linking data: the protocol's counts on the real files, and every bad input refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.data.esco import (
    FOLDER,
    LABEL_FILE,
    SUBSETS,
    label_key,
    pinned_label_sha256,
    read_esco_labels,
    read_esco_queries,
)
from rjdb_bench.errors import InputError


@pytest.fixture(scope="module")
def labels(ood_data_dir: Path):
    return read_esco_labels(ood_data_dir / LABEL_FILE, pinned_label_sha256())


def test_the_label_file_holds_13896_distinct_labels(labels) -> None:
    # 13,895 newline characters: the last label has none.
    assert len(labels.labels) == 13896 == len(set(labels.labels))
    assert labels.labels[0] == "manage musical staff"
    assert labels.labels[-1] == "position guardrails and toeboards"


@pytest.mark.parametrize(
    ("subset", "split", "queries", "pairs", "repaired"),
    [
        ("tech", "test", 338, 583, 3),
        ("house", "test", 262, 529, 1),
        ("techwolf", "test", 326, 584, 2),
        ("tech", "validation", 75, 131, 0),
        ("house", "validation", 61, 131, 0),
    ],
)
def test_query_counts_of_the_protocol(
    ood_data_dir: Path, labels, subset: str, split: str, queries: int, pairs: int, repaired: int
) -> None:
    found = read_esco_queries(ood_data_dir / SUBSETS[(subset, split)], labels.labels)
    assert len(found.queries) == queries
    assert found.relevant_pairs == pairs
    assert len(found.repaired) == repaired  # rows; 5 distinct (sentence, label) pairs on test
    assert found.unreachable == ()
    assert all(set(q.relevant) <= set(labels.labels) for q in found.queries)


def test_the_five_misspelt_gold_labels_are_repaired(ood_data_dir: Path, labels) -> None:
    house = read_esco_queries(ood_data_dir / SUBSETS[("house", "test")], labels.labels)
    assert house.repaired == ((722, "plan ", "plan"),)
    techwolf = read_esco_queries(ood_data_dir / SUBSETS[("techwolf", "test")], labels.labels)
    assert [(g, lab) for _, g, lab in techwolf.repaired] == [
        ("handle knives ", "handle knives"),
        (
            "provide care for a particular patient group ",
            "provide care for a particular patient group",
        ),
    ]
    tech = read_esco_queries(ood_data_dir / SUBSETS[("tech", "test")], labels.labels)
    assert {lab for _, _, lab in tech.repaired} == {
        "data extraction transformation and loading tools"
    }
    assert label_key("data extraction, transformation and loading tools") == (
        "data extraction transformation and loading tools"
    )


def test_a_gold_label_with_no_match_stays_relevant_but_unreachable(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text(
        "sentence,label\nS1,alpha\nS1,no such skill\nS2,LABEL NOT PRESENT\nS3,no such skill\n"
    )
    found = read_esco_queries(csv, ["alpha", "beta"])
    assert [(q.sentence, q.relevant) for q in found.queries] == [
        ("S1", ("alpha", "no such skill")),
        ("S3", ("no such skill",)),
    ]
    assert found.unreachable == ((3, "no such skill"), (5, "no such skill"))
    assert found.no_label_rows == 1 and found.sentences == 3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty ESCO label file"),
        ("\n", "empty ESCO label file"),
        ("alpha\n\nbeta\n", ":2: blank line"),
        ("alpha\nbeta\nalpha\n", ":3: duplicate label 'alpha' (first on line 1)"),
    ],
)
def test_bad_label_files_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=None) as error:
        read_esco_labels(path)
    assert fragment in str(error.value)


def test_a_label_file_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_text("alpha\nbeta\n")
    with pytest.raises(InputError) as error:
        read_esco_labels(path, pinned_label_sha256())
    assert "differs from the pinned ESCO v1.1.0 label file" in str(error.value)
    assert pinned_label_sha256() in str(error.value)
    with pytest.raises(InputError, match="ESCO label file not found"):
        read_esco_labels(tmp_path / "none.txt")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("sentence,span\nS1,x\n", "missing column(s) label in the header"),
        ("text,label\nS1,x\n", "missing column(s) sentence in the header"),
        ("sentence,label\nS1,\n", ":2: field 'label': empty value"),
        ("sentence,label\nS1,LABEL NOT PRESENT\n", "no sentence with an ESCO label"),
    ],
)
def test_bad_annotation_files_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_esco_queries(path, ["x"])
    assert fragment in str(error.value)


def _ood_copy(ood_data_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ood"
    shutil.copytree(ood_data_dir / FOLDER, root / FOLDER)
    for file in (root / FOLDER).iterdir():
        file.chmod(0o644)
    return root


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        ("duplicate", "duplicate label 'manage musical staff' (first on line 1)"),
        ("version", "differs from the pinned ESCO v1.1.0 label file"),
        ("column", "tech_test_annotations.csv: missing column(s) label"),
        ("empty", "empty ESCO label file"),
        ("missing", "skills_en_label.txt: OOD file not found"),
    ],
)
def test_the_run_exits_2_with_one_line(
    ood_data_dir: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    damage: str,
    fragment: str,
) -> None:
    root = _ood_copy(ood_data_dir, tmp_path)
    labels = root / LABEL_FILE
    text = labels.read_text(encoding="utf-8")
    if damage == "duplicate":
        labels.write_text(text + "\nmanage musical staff", encoding="utf-8")
    elif damage == "version":
        labels.write_text(text.replace("manage musical staff", "manage music staff"), "utf-8")
    elif damage == "column":
        csv = root / SUBSETS[("tech", "test")]
        csv.write_text(csv.read_text().replace("sentence,span,sub_span,label", "sentence,span,x,y"))
    elif damage == "empty":
        labels.write_text("")
    else:
        labels.unlink()
    out = tmp_path / "run"
    capfd.readouterr()
    code = main(
        [
            "run",
            "model=oracle",
            "tasks=[ood_esco_tech]",
            f"data.ood_dir={root}",
            f"output_dir={out}",
        ]
    )
    err = capfd.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1, err
    assert lines[0].startswith("rjdb-bench: error: ") and fragment in lines[0], lines[0]
    assert not (out / "results.json").exists()


def test_techwolf_has_no_validation_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    code = main(
        [
            "run",
            "model=oracle",
            "tasks=[ood_esco_techwolf]",
            "ood.esco_split=validation",
            f"output_dir={tmp_path / 'run'}",
        ]
    )
    lines = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "no validation file for subset 'techwolf'" in lines[0]


def test_a_limited_run_records_n_of_the_full_query_count(
    ood_data_dir: Path, tmp_path: Path
) -> None:
    """A partial ESCO run says n of N (N: the protocol's query count), so the board shows it
    as partial and never ranks it against full runs."""
    import json

    out = tmp_path / "run"
    args = ["run", "model=oracle", "tasks=[ood_esco_house]", "limit=5", f"output_dir={out}"]
    assert main(args) == 0
    task = json.loads((out / "results.json").read_text())["tasks"]["ood_esco_house"]
    assert task["n_full"] == 262
    assert task["protocol"] == "decorte2023-esco-linking/house-test/rp-at-k"
    samples = (out / "samples" / "ood_esco_house.jsonl").read_text().splitlines()
    assert len(samples) == 5
