"""OOD data loaders: CoNLL span layers, the vacancy–resume set, pinned files and downloads.

Tests on the real files need ``$RJDB_OOD_DIR`` (the folder laid out like ``skillspan/``,
``green/``, ``vacancy-resume-matching/``) and are skipped without it. Downloads are tested
against an HTTP server on 127.0.0.1; nothing here touches the network.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import logging
import os
import shutil
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest

from rjdb_bench.data import ood
from rjdb_bench.data.conll import LabelledSentence, merge_overlaps, read_conll
from rjdb_bench.data.ood import OOD_DATASETS, OOD_FILES, OODFile, build_manifest, locate_ood
from rjdb_bench.data.vacancy import (
    AnnotatorRankings,
    read_cv_text,
    read_cvs,
    read_rankings,
    read_vacancies,
)
from rjdb_bench.errors import InputError

SKILLSPAN_TEST = (
    "skillspan/conll/skillspan_house_test.conll",
    "skillspan/conll/skillspan_tech_test.conll",
)
GREEN_NNOSE_TEST = "green/nnose/test.conll"
GREEN_ORIGINAL_TEST = "green/original/testset.txt"
VACANCY = "vacancy-resume-matching"
RANKINGS = f"{VACANCY}/annotations-for-the-first-30-vacancies.txt"


@pytest.fixture(scope="module")
def ood_dir() -> Path:
    """The real OOD folder from ``$RJDB_OOD_DIR``; tests that need it are skipped without it."""
    value = os.environ.get("RJDB_OOD_DIR")
    if not value:
        pytest.skip("RJDB_OOD_DIR is not set")
    return Path(value)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- CoNLL, by hand


def test_overlapping_columns_are_merged_into_their_union(tmp_path: Path) -> None:
    file = write(
        tmp_path / "a.conll",
        "Experience\tO\tO\n"
        "with\tB-Skill\tO\n"
        "Python\tI-Skill\tB-Knowledge\n"
        "and\tI-Skill\tO\n"
        "SQL\tO\tB-Knowledge\n"
        "databases\tO\tI-Knowledge\n"
        "Git\tB-Skill\tB-Knowledge\n",
    )
    [sentence], report = read_conll([file], tag_columns=(1, 2))
    assert sentence == LabelledSentence(
        sentence_id="a.conll:0",
        tokens=("Experience", "with", "Python", "and", "SQL", "databases", "Git"),
        tags=("O", "B", "I", "I", "B", "I", "B"),
    )
    assert sentence.spans == [(1, 4), (4, 6), (6, 7)]
    # Skill (1,4) absorbs Knowledge (2,3); Skill (6,7) and Knowledge (6,7) are identical;
    # Knowledge (4,6) only touches Skill (1,4) and stays apart.
    assert report.as_dict() == {
        "files": 1,
        "sentences": 1,
        "tokens": 7,
        "spans": 3,
        "chunks": 5,
        "merged_overlaps": 2,
        "chunks_starting_with_I": 0,
        "ignored_types": {},
    }
    # One column alone: no merging.
    [only_skill], report = read_conll([file], tag_columns=(1,))
    assert only_skill.tags == ("O", "B", "I", "I", "O", "O", "B")
    assert (report.spans, report.merged_overlaps) == (2, 0)


def test_partial_overlap_becomes_the_union(tmp_path: Path) -> None:
    file = write(
        tmp_path / "p.conll", "a\tB-Skill\tO\nb\tI-Skill\tB-Knowledge\nc\tO\tI-Knowledge\nd\tO\tO\n"
    )
    [sentence], report = read_conll([file], tag_columns=(2, 1))
    assert sentence.tags == ("B", "I", "I", "O")
    assert (report.chunks, report.spans, report.merged_overlaps) == (2, 1, 1)


def test_merge_overlaps() -> None:
    assert merge_overlaps([]) == ([], 0)
    assert merge_overlaps([(2, 5), (0, 1), (3, 4), (4, 7), (1, 2)]) == ([(0, 1), (1, 2), (2, 7)], 1)


def test_types_filter_keeps_wanted_and_untyped_chunks(tmp_path: Path) -> None:
    file = write(
        tmp_path / "typed.txt",
        "Senior B-Occupation \nengineer I-Occupation \nwith O \nJava B-Skill \n"
        "and O \na B-Qualification \ndegree I-Qualification \nplus O \nmore B \n",
    )
    [sentence], report = read_conll([file], types=["Skill"], delimiter=" ")
    assert sentence.tokens[3] == "Java"
    assert sentence.tags == ("O", "O", "O", "B", "O", "O", "O", "O", "B")
    assert report.ignored_types == Counter({"Occupation": 1, "Qualification": 1})
    assert report.as_dict()["ignored_types"] == {"Occupation": 1, "Qualification": 1}
    [everything], report = read_conll([file], delimiter=" ")
    assert everything.tags == ("B", "I", "O", "B", "O", "B", "I", "O", "B")
    assert (report.spans, report.ignored_types) == (4, Counter())
    [none_wanted], report = read_conll([file], types=[], delimiter=" ")
    assert none_wanted.spans == [(8, 9)]
    assert sum(report.ignored_types.values()) == 3


def test_i_after_o_or_another_type_starts_a_chunk(tmp_path: Path) -> None:
    file = write(
        tmp_path / "i.conll",
        "a\tO\nb\tI-Skill\nc\tI-Skill\nd\tI-Knowledge\ne\tO\nf\tI\ng\tB\nh\tI\n",
    )
    [sentence], report = read_conll([file])
    assert sentence.tags == ("O", "B", "I", "B", "O", "B", "B", "I")
    assert report.chunks_starting_with_I == 3
    assert report.spans == 4


def test_blank_lines_docstart_trailing_spaces_and_ids(tmp_path: Path) -> None:
    text = (
        "\n\n-DOCSTART-\tO\n\n"
        "We\tO  \nuse\tO\nGo\tB-Skill \n"
        "\n   \n\n"
        "-DOCSTART-\tO\n"
        "Rust\tB-Skill\r\n"
        "\n\n\n"
    )
    first = write(tmp_path / "one.conll", text)
    second = write(tmp_path / "two.conll", "Only\tO\nline\tO")  # no final newline
    sentences, report = read_conll([first, second])
    assert [(s.sentence_id, s.tokens, s.tags) for s in sentences] == [
        ("one.conll:0", ("We", "use", "Go"), ("O", "O", "B")),
        ("one.conll:1", ("Rust",), ("B",)),
        ("two.conll:0", ("Only", "line"), ("O", "O")),
    ]
    assert (report.files, report.sentences, report.tokens, report.spans) == (2, 3, 6, 2)


def test_whitespace_delimiter_and_other_columns(tmp_path: Path) -> None:
    file = write(tmp_path / "ws.txt", "1  big   NN  B-Skill\n2 data\tNNS I-Skill  \n")
    [sentence], _ = read_conll([file], token_column=1, tag_columns=(3,), delimiter=None)
    assert (sentence.tokens, sentence.tags) == (("big", "data"), ("B", "I"))
    # With a tab delimiter a token keeps its inner spaces.
    tabbed = write(tmp_path / "tab.conll", "New York\tB\nCity\tI\n")
    [sentence], _ = read_conll([tabbed])
    assert sentence.tokens == ("New York", "City")


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        (
            "a\tO\tO\nb\tB-Skill\tO\nc\tO\n",
            {"tag_columns": (1, 2)},
            "bad.conll:3: expected at least 3 columns, got 2",
        ),
        ("a\tO\n\nb\tS-Skill\n", {}, "bad.conll:3: column 1: 'S-Skill' is not a BIO tag"),
        ("a\tO\nb\tB-\n", {}, "bad.conll:2: column 1: 'B-' is not a BIO tag"),
        (
            "a O\nb b-skill\n",
            {"delimiter": " "},
            "bad.conll:2: column 1: 'b-skill' is not a BIO tag",
        ),
        ("\n\n-DOCSTART-\tO\n\n", {}, "bad.conll: no sentences"),
        ("", {}, "bad.conll: no sentences"),
    ],
)
def test_malformed_conll_names_file_and_line(
    tmp_path: Path, text: str, kwargs: dict, message: str
) -> None:
    file = write(tmp_path / "bad.conll", text)
    with pytest.raises(InputError) as error:
        read_conll([file], **kwargs)
    assert str(error.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(error.value)


def test_missing_and_non_utf8_conll_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.conll: CoNLL file not found$"):
        read_conll([tmp_path / "nope.conll"])
    (tmp_path / "latin1.conll").write_bytes(b"a\tO\n\ncaf\xe9\tO\n")
    with pytest.raises(InputError, match=r"latin1\.conll:3: not valid UTF-8"):
        read_conll([tmp_path / "latin1.conll"])


# --------------------------------------------------------------------------- CoNLL, real files


def test_skillspan_test_house_and_tech(ood_dir: Path) -> None:
    house, house_report = read_conll([ood_dir / SKILLSPAN_TEST[0]], tag_columns=(1, 2))
    tech, tech_report = read_conll([ood_dir / SKILLSPAN_TEST[1]], tag_columns=(1, 2))
    assert (len(house), len(tech)) == (1221, 2349)
    both, report = read_conll([ood_dir / p for p in SKILLSPAN_TEST], tag_columns=(1, 2))
    assert [s.sentence_id for s in both] == [s.sentence_id for s in house + tech]
    assert report.as_dict() == {
        "files": 2,
        "sentences": 3570,
        "tokens": 42808,
        "spans": 2248,
        "chunks": 2265,
        "merged_overlaps": 12,
        "chunks_starting_with_I": 1,
        "ignored_types": {},
    }
    assert (house_report.spans, tech_report.spans) == (971, 1277)
    assert (house_report.merged_overlaps, tech_report.merged_overlaps) == (6, 6)
    # Knowledge "GMP" nested in the Skill span: one span in the merged layer.
    gmp = house[529]
    assert gmp.sentence_id == "skillspan_house_test.conll:529"
    [(start, end)] = gmp.spans
    assert " ".join(gmp.tokens[start:end]) == "ensure that production runs in accordance with GMP"
    # Skill (column 1) and Knowledge (column 2) chunk counts match the published B- counts.
    skill = read_conll([ood_dir / p for p in SKILLSPAN_TEST], tag_columns=(1,))[1]
    knowledge = read_conll([ood_dir / p for p in SKILLSPAN_TEST], tag_columns=(2,))[1]
    assert (skill.spans, knowledge.spans) == (1091, 1174)


def test_green_nnose_test(ood_dir: Path) -> None:
    sentences, report = read_conll([ood_dir / GREEN_NNOSE_TEST])
    assert (report.sentences, report.tokens, report.spans) == (336, 8049, 762)
    assert (report.merged_overlaps, report.chunks_starting_with_I) == (0, 0)
    assert sentences[0].tokens[:3] == ("ability", "to", "influence")
    assert sentences[0].tags[:4] == ("O", "O", "B", "I")


def test_green_original_test_set(ood_dir: Path) -> None:
    path = ood_dir / GREEN_ORIGINAL_TEST
    everything, report = read_conll([path], delimiter=" ")
    assert (report.sentences, report.tokens, report.spans) == (336, 8050, 908)
    assert everything[0].tokens[:4] == ("Proven", "ability", "to", "influence")
    skills, report = read_conll([path], delimiter=" ", types=["Skill"])
    assert report.spans == 676
    assert report.ignored_types == {
        "Occupation": 137,
        "Domain": 60,
        "Qualification": 26,
        "Experience": 9,
    }
    # The NNOSE copy's B/I layer has as many spans as Skill + Qualification + Domain here.
    _, report = read_conll([path], delimiter=None, types=["Skill", "Qualification", "Domain"])
    assert report.spans == 762


# --------------------------------------------------------------------------- vacancies and CVs


def test_read_vacancies(ood_dir: Path) -> None:
    vacancies = read_vacancies(ood_dir / VACANCY / "5_vacancies.csv")
    assert [(v.number, v.source_id, v.title) for v in vacancies] == [
        (1, "8", "Software Developer - .Net"),
        (2, "37", "Remote Software Developer"),
        (3, "90", "Junior Level Software Developer (1-4 years experience)"),
        (4, "207", "Backend Software Developer"),
        (5, "499", "Software Developer"),
    ]
    assert vacancies[0].description.startswith("Primary Purpose: Development and maintenance")
    assert vacancies[3].description.startswith("Minimum Required Skills: LAMP, Drupal")


def test_malformed_vacancy_csv(tmp_path: Path) -> None:
    rows = "".join(f'{i},"d{i}",t{i},u{i}\n' for i in range(5))
    good = write(tmp_path / "ok.csv", "id,job_description,job_title,uid\n" + rows)
    assert [v.title for v in read_vacancies(good)] == ["t0", "t1", "t2", "t3", "t4"]
    no_title = write(tmp_path / "cols.csv", "id,job_description,uid\n" + rows)
    with pytest.raises(InputError, match=r"cols\.csv: missing column\(s\) job_title"):
        read_vacancies(no_title)
    short = write(
        tmp_path / "short.csv",
        "id,job_description,job_title,uid\n" + "".join(rows.splitlines(keepends=True)[:4]),
    )
    with pytest.raises(InputError, match=r"short\.csv: expected 5 vacancy rows, got 4"):
        read_vacancies(short)
    empty = write(
        tmp_path / "empty.csv", "id,job_description,job_title,uid\n" + rows.replace(",t2,", ", ,")
    )
    with pytest.raises(InputError, match=r"empty\.csv: field 'job_title': vacancy 3: empty value"):
        read_vacancies(empty)
    with pytest.raises(InputError, match=r"gone\.csv: vacancy file not found"):
        read_vacancies(tmp_path / "gone.csv")


def test_cv_text_keeps_tables_in_place(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("  Jane   Doe\t- developer ")
    document.add_paragraph("")
    run = document.add_paragraph("Skills:").add_run()
    run.add_break()
    run.add_text("Python,   SQL")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "2019-2023"
    table.cell(0, 1).text = "Backend developer"
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "Languages: English, Hebrew"
    merged.add_paragraph("   ")
    document.add_paragraph("Education")
    path = tmp_path / "cv.docx"
    document.save(str(path))
    assert read_cv_text(path) == (
        "Jane Doe - developer\n"
        "Skills:\n"
        "Python, SQL\n"
        "2019-2023\n"
        "Backend developer\n"
        "Languages: English, Hebrew\n"
        "Education"
    )


def test_cv_reader_errors(tmp_path: Path) -> None:
    (tmp_path / "CV").mkdir()
    write(tmp_path / "CV" / "1.docx", "plain text")
    with pytest.raises(InputError, match=r"CV/1\.docx: not a readable \.docx file"):
        read_cvs(tmp_path, [1])
    with pytest.raises(InputError, match=r"CV/2\.docx: CV file not found"):
        read_cvs(tmp_path, [2])


def test_real_cvs(ood_dir: Path) -> None:
    cvs = read_cvs(ood_dir / VACANCY, [1, 11, 12])
    assert "Programming languages: Java, JavaScript." in cvs[1].split("\n")
    # CV 11 has a table between "SKILLS SUMMARY" and "EDUCATION and TRAINING" whose merged
    # cells python-docx's row.cells would repeat; each cell's text appears once, in place.
    lines = cvs[11].split("\n")
    table_line = "C++, C, C#, SQL, UniVerse BASIC, Java"
    assert lines.count(table_line) == 1
    assert (
        lines.index("SKILLS SUMMARY")
        < lines.index(table_line)
        < lines.index("EDUCATION and TRAINING")
    )
    # CV 12 is one table (the body has a single empty paragraph besides it).
    assert cvs[12].startswith("Haifa, Israel Languages Personal qualities")
    assert "Front End developer Summary A senior web developer with 10+ years" in cvs[12]


# --------------------------------------------------------------------------- rankings


def test_real_rankings(ood_dir: Path) -> None:
    rankings = read_rankings(ood_dir / RANKINGS)
    assert sorted(rankings) == [1, 2]
    first, second = rankings[1], rankings[2]
    assert len(first.orderings) == 28
    assert first.cvs == [cv for cv in range(1, 31) if cv not in (9, 28)]
    assert first.defects == (
        "annotator 1, CV 9: [1, 5, 2, 1, 4] is not a permutation of 1..5 "
        "(vacancy 1 listed twice or more, vacancy 3 missing); excluded",
        "annotator 1, CV 28: [2, 4, 3, 2, 5] is not a permutation of 1..5 "
        "(vacancy 2 listed twice or more, vacancy 1 missing); excluded",
    )
    assert first.orderings[1] == (2, 1, 4, 3, 5)
    assert first.ranks(1) == {2: 1, 1: 2, 4: 3, 3: 4, 5: 5}
    assert first.orderings[30] == (2, 1, 4, 3, 5)
    assert second.cvs == list(range(1, 21))
    assert second.defects == ("annotator 2: 20 arrays, expected 30; CVs 21-30 have no ranking",)
    assert second.orderings[1] == (4, 3, 1, 5, 2)
    assert second.ranks(20) == {1: 1, 5: 2, 2: 3, 4: 4, 3: 5}
    both = set(first.cvs) & set(second.cvs)
    assert sorted(both) == [cv for cv in range(1, 21) if cv != 9]
    assert set(range(1, 31)) - (set(first.cvs) | set(second.cvs)) == {28}
    with pytest.raises(KeyError, match="annotator 1 has no valid ranking for CV 9"):
        first.ranks(9)
    with pytest.raises(KeyError):
        second.ranks(21)


def block(annotator: int, arrays: str) -> str:
    return f"ANNOTATOR_{annotator}_RANKINGS = {arrays}\n"


PERMS = "[" + ",".join(["[1,2,3,4,5]"] * 30) + "]"


def test_rankings_parser_on_written_text(tmp_path: Path) -> None:
    text = (
        "Header prose with [brackets] and = signs.\n"
        "ANNOTATOR_1_RANKINGS=[[5,4,3,2,1], # CV 1\n   [1,1,1,2,3],  # CV 2 # twice\n"
        "[2,3,4,5,1]] #1-3\n\n" + block(2, PERMS)
    )
    rankings = read_rankings(write(tmp_path / "r.txt", text))
    assert rankings[1] == AnnotatorRankings(
        annotator=1,
        orderings={1: (5, 4, 3, 2, 1), 3: (2, 3, 4, 5, 1)},
        defects=(
            "annotator 1: 3 arrays, expected 30; CVs 4-30 have no ranking",
            "annotator 1, CV 2: [1, 1, 1, 2, 3] is not a permutation of 1..5 "
            "(vacancy 1 listed twice or more, vacancy 4, 5 missing); excluded",
        ),
    )
    assert rankings[2].defects == ()
    assert len(rankings[2].orderings) == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (block(1, PERMS), r"r\.txt: no ANNOTATOR_2_RANKINGS block$"),
        ("nothing here\n", r"r\.txt: no ANNOTATOR_1_RANKINGS, ANNOTATOR_2_RANKINGS block$"),
        (
            block(1, PERMS) + block(2, PERMS) + block(2, PERMS),
            r"r\.txt:3: ANNOTATOR_2_RANKINGS given twice",
        ),
        (
            block(1, PERMS) + block(2, "[[1,2,3,4]]"),
            r"r\.txt:2: ANNOTATOR_2_RANKINGS: array 1 \(CV 1\) is \[1, 2, 3, 4\], expected 5 integers in 1\.\.5",
        ),
        (
            block(1, "[[1,2,3,4,6]]") + block(2, PERMS),
            r"r\.txt:1: .*array 1 \(CV 1\) is \[1, 2, 3, 4, 6\]",
        ),
        (
            block(1, "[[1,2,3,4,5],[1,2,3,4,True]]") + block(2, PERMS),
            r"r\.txt:1: .*array 2 \(CV 2\)",
        ),
        (block(1, "[[1,2,3,4,5], 7]") + block(2, PERMS), r"r\.txt:1: .*array 2 \(CV 2\) is 7"),
        (
            block(1, "[]") + block(2, PERMS),
            r"r\.txt:1: ANNOTATOR_1_RANKINGS: expected a non-empty list",
        ),
        (
            block(1, "(1, 2)") + block(2, PERMS),
            r"r\.txt:1: ANNOTATOR_1_RANKINGS: expected a list after '='",
        ),
        (
            block(1, "[[1,2,3,4,5]") + "\n" + "x = 1\n",
            r"r\.txt:1: ANNOTATOR_1_RANKINGS: unclosed '\['",
        ),
        (
            block(1, "[__import__('os').system('false')]") + block(2, PERMS),
            r"r\.txt:1: ANNOTATOR_1_RANKINGS: not a Python literal",
        ),
    ],
)
def test_malformed_rankings_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        read_rankings(write(tmp_path / "r.txt", text))
    assert "\n" not in str(error.value)


def test_missing_rankings_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"gone\.txt: annotation file not found"):
        read_rankings(tmp_path / "gone.txt")


# --------------------------------------------------------------------------- manifest and pins


def test_manifest_matches_the_real_folder(ood_dir: Path) -> None:
    pinned = json.loads(ood.MANIFEST_PATH.read_text(encoding="utf-8"))
    assert build_manifest(ood_dir) == pinned
    assert len(pinned["files"]) == len(OOD_FILES) == 87


def test_datasets_and_files_are_described() -> None:
    assert sorted(OOD_DATASETS) == ["esco", "green", "skillspan", "vacancy"]
    for key, dataset in OOD_DATASETS.items():
        assert dataset.key == key
        assert dataset.title and dataset.licence and dataset.citation
        assert all(
            f.dataset == key and f.relpath.startswith(dataset.folder + "/")
            for f in dataset.files.values()
        )
        assert all(len(f.sha256) == 64 and f.size > 0 for f in dataset.files.values())
        assert json.loads(json.dumps(dataset.info()))["sources"][0]["repo"] == dataset.repo
    assert "GPL" in OOD_DATASETS["vacancy"].licence
    assert "Zhang" in OOD_DATASETS["skillspan"].citation
    assert [u.repo for u in OOD_DATASETS["green"].upstreams] == [
        "acp19tag/skill-extraction-dataset",
        "jjzha/nnose",
    ]
    house = OOD_FILES[SKILLSPAN_TEST[0]]
    assert house.url(ood.URL_BASE) == (
        "https://raw.githubusercontent.com/kris927b/SkillSpan/"
        "2ccf3de5b5af7a5409b8dd814fb1315dd6e0ae1b/data/conll/skillspan_house_test.conll"
    )
    nnose = OOD_FILES[GREEN_NNOSE_TEST]
    assert (nnose.repo, nnose.commit[:7], nnose.upstream_path) == (
        "jjzha/nnose",
        "afc785b",
        "data/green/test.conll",
    )
    original = OOD_FILES[GREEN_ORIGINAL_TEST]
    assert (original.repo, original.upstream_path) == (
        "acp19tag/skill-extraction-dataset",
        "raw_data/testset.txt",
    )
    cv = OOD_FILES[f"{VACANCY}/CV/7.docx"]
    assert (cv.dataset, cv.upstream_path, cv.commit) == (
        "vacancy",
        "CV/7.docx",
        "a830fb2edf05331d16072923b96a3152a9bb8856",
    )
    assert sum(f.relpath.startswith(f"{VACANCY}/CV/") for f in OOD_FILES.values()) == 65


# --------------------------------------------------------------------------- locate_ood, local


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ``$RJDB_OOD_DIR`` / ``$RJDB_OOD_URL_BASE``; an empty cache under ``tmp_path``."""
    monkeypatch.delenv("RJDB_OOD_DIR", raising=False)
    monkeypatch.delenv("RJDB_OOD_URL_BASE", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("RJDB_BENCH_CACHE", str(cache))
    return cache


def test_locate_local_file_from_argument_and_env(
    ood_dir: Path, no_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found = locate_ood(GREEN_NNOSE_TEST, ood_dir=ood_dir)
    assert found.provenance() == {
        "path": str(ood_dir / GREEN_NNOSE_TEST),
        "sha256": OOD_FILES[GREEN_NNOSE_TEST].sha256,
        "origin": "local",
        "url": None,
    }
    monkeypatch.setenv("RJDB_OOD_DIR", str(ood_dir))
    assert locate_ood("./" + GREEN_NNOSE_TEST) == found
    # The argument wins over the environment.
    other = tmp_path / "other"
    (other / "green" / "nnose").mkdir(parents=True)
    shutil.copy(ood_dir / GREEN_NNOSE_TEST, other / GREEN_NNOSE_TEST)
    assert locate_ood(GREEN_NNOSE_TEST, ood_dir=other).path == other / GREEN_NNOSE_TEST
    assert not list(no_env.rglob("*.conll"))


def test_locate_local_copy_that_differs_warns(
    no_env: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corrected = write_tree(tmp_path / "mine", {GREEN_NNOSE_TEST: "fixed\tO\n"})
    with caplog.at_level(logging.WARNING, logger="rjdb_bench.data.ood"):
        found = locate_ood(GREEN_NNOSE_TEST, ood_dir=corrected)
    assert (
        found.sha256
        == hashlib.sha256(b"fixed\tO\n").hexdigest()
        != OOD_FILES[GREEN_NNOSE_TEST].sha256
    )
    assert found.origin == "local"
    [record] = caplog.records
    assert "differs from the pinned" in record.getMessage()
    assert "jjzha/nnose@afc785b:data/green/test.conll" in record.getMessage()


def test_locate_user_file_needs_a_local_folder(no_env: Path, tmp_path: Path) -> None:
    mine = write_tree(tmp_path / "mine", {"myspans/test.conll": "x\tB\n"})
    found = locate_ood("myspans/test.conll", ood_dir=mine)
    assert (found.origin, found.path) == ("local", mine / "myspans" / "test.conll")
    with pytest.raises(
        InputError, match=r"^myspans/test\.conll: not a pinned OOD file.*RJDB_OOD_DIR"
    ):
        locate_ood("myspans/test.conll")


def test_locate_missing_local_file_names_path_and_variable(
    no_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RJDB_OOD_DIR", str(tmp_path / "empty"))
    with pytest.raises(InputError) as error:
        locate_ood(GREEN_NNOSE_TEST)
    assert str(error.value).startswith(
        f"{tmp_path}/empty/green/nnose/test.conll: OOD file not found (from RJDB_OOD_DIR); "
        "RJDB_OOD_DIR must name a folder"
    )
    (tmp_path / "empty" / "green" / "nnose" / "test.conll").mkdir(parents=True)
    with pytest.raises(InputError, match=r"test\.conll: is a folder"):
        locate_ood(GREEN_NNOSE_TEST)
    for bad in ("/etc/passwd", "green/../../x", ""):
        with pytest.raises(InputError, match="expected a relative path inside the OOD folder"):
            locate_ood(bad, ood_dir=tmp_path)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text, encoding="utf-8")
    return root


# --------------------------------------------------------------------------- locate_ood, download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: Path) -> Iterator[Path]:
    """A static HTTP server on 127.0.0.1 over the returned folder, set as the OOD URL base."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("RJDB_OOD_URL_BASE", f"http://127.0.0.1:{httpd.server_address[1]}/")
    yield root
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_pin(monkeypatch: pytest.MonkeyPatch, payload: bytes) -> OODFile:
    """Pin a made-up file ``fake/data/x.conll`` with the sha256 of ``payload``."""
    pinned = OODFile(
        relpath="fake/x.conll",
        dataset="fake",
        repo="someone/fake",
        commit="0" * 40,
        upstream_path="data/x.conll",
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
    )
    monkeypatch.setitem(OOD_FILES, pinned.relpath, pinned)
    return pinned


def test_download_verifies_caches_and_reuses(
    served: Path, no_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = b"Go\tB-Skill\n\nRust\tB-Skill\n"
    pinned = fake_pin(monkeypatch, payload)
    write_tree(served, {f"someone/fake/{'0' * 40}/data/x.conll": payload.decode()})
    found = locate_ood("fake/x.conll")
    cached = no_env / "data" / "ood" / "fake" / ("0" * 40) / "data" / "x.conll"
    assert found.path == cached and cached.read_bytes() == payload
    assert (found.origin, found.sha256) == ("download", pinned.sha256)
    assert found.url == pinned.url() and found.url.startswith("http://127.0.0.1:")
    assert [s.tokens for s in read_conll([found.path])[0]] == [("Go",), ("Rust",)]
    # The verified cache is used without the server.
    shutil.rmtree(served / "someone")
    assert locate_ood("fake/x.conll") == found


def test_download_checksum_mismatch_and_unreachable_server(
    served: Path, no_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pin(monkeypatch, b"the pinned bytes\n")
    write_tree(served, {f"someone/fake/{'0' * 40}/data/x.conll": "other bytes\n"})
    with pytest.raises(InputError, match="checksum mismatch for http://127.0.0.1:"):
        locate_ood("fake/x.conll")
    folder = no_env / "data" / "ood" / "fake" / ("0" * 40) / "data"
    assert list(folder.iterdir()) == []
    port = closed_port()
    monkeypatch.setenv("RJDB_OOD_URL_BASE", f"http://127.0.0.1:{port}")
    with pytest.raises(InputError) as error:
        locate_ood("fake/x.conll")
    assert f"could not download http://127.0.0.1:{port}/someone/fake/" in str(error.value)
    assert "RJDB_OOD_DIR" in str(error.value) and "RJDB_DATA_DIR" not in str(error.value)


def test_download_of_a_real_pinned_file(served: Path, ood_dir: Path, no_env: Path) -> None:
    pinned = OOD_FILES[GREEN_NNOSE_TEST]
    target = served / pinned.repo / pinned.commit / pinned.upstream_path
    target.parent.mkdir(parents=True)
    shutil.copy(ood_dir / GREEN_NNOSE_TEST, target)
    found = locate_ood(GREEN_NNOSE_TEST)
    assert found.path == no_env / "data" / "ood" / "green" / pinned.commit / "data/green/test.conll"
    assert (found.origin, found.sha256) == ("download", pinned.sha256)
    assert read_conll([found.path])[1].sentences == 336
