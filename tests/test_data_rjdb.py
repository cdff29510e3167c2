"""The RJDB loader: the real test split, each data quirk in isolation, broken files, locating."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rjdb_bench.data.download import sha256_file
from rjdb_bench.data.experience import (
    experience_title,
    parse_experience_change,
    parse_experience_string,
)
from rjdb_bench.data.rjdb import (
    FEATURES,
    RJDB_PINNED,
    load_rjdb,
    locate_rjdb,
    read_rjdb,
)
from rjdb_bench.errors import InputError

COLUMNS = [
    "row_id",
    "job_description",
    "resume_matched",
    "resume_unmatched",
    "skills",
    "removed_skills",
    "experiences",
    "experience_change",
    "end_year",
]


# --------------------------------------------------------------------------- the real test split


@pytest.fixture(scope="module")
def test_file(rjdb_data_dir: Path) -> Path:
    return rjdb_data_dir / "test.jsonl"


@pytest.fixture(scope="module")
def raw_rows(test_file: Path) -> list[dict]:
    with open(test_file, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def test_split(test_file: Path):
    return read_rjdb(test_file)


def test_real_test_split_is_the_pinned_file(test_file: Path) -> None:
    assert sha256_file(test_file) == RJDB_PINNED["test"][1]


def test_test_split_has_1000_rows_numbered_in_file_order(test_split) -> None:
    assert test_split.num_rows == 1000
    assert test_split["row_id"] == list(range(1000))
    assert list(test_split.features) == COLUMNS
    assert test_split.features == FEATURES


def test_dict_removed_skills_become_their_keys(test_split, raw_rows: list[dict]) -> None:
    dict_rows = [
        i
        for i, raw in enumerate(raw_rows)
        if isinstance(raw["Filtered-information"]["Skills"], dict)
    ]
    assert dict_rows == [304, 379, 502, 638, 699, 732]
    assert test_split[304]["removed_skills"] == ["Communication Skills"]
    assert test_split[379]["removed_skills"] == ["Pediatric Advanced Life Support (PALS)"]
    assert test_split[502]["removed_skills"] == ["Angular"]
    assert test_split[638]["removed_skills"] == ["Product Knowledge"]
    assert test_split[699]["removed_skills"] == ["Customer Service Skills"]
    assert test_split[732]["removed_skills"] == []


def test_list_removed_skills_are_kept_in_order(test_split) -> None:
    assert test_split[0]["removed_skills"] == ["Customer Service", "Networking"]


def test_only_row_732_has_empty_skills(test_split) -> None:
    empty = [i for i, skills in enumerate(test_split["skills"]) if not skills]
    assert empty == [732]


def test_row_0_skills(test_split) -> None:
    assert test_split[0]["skills"] == [
        "Analysis",
        "Audio Visual",
        "Customer Service",
        "Diagnostic",
        "Networking",
        "Project Management",
        "Supervisor",
        "VMware",
        "Windows",
    ]


def test_merged_experience_strings_are_split_into_titles(test_split) -> None:
    titles_per_source: dict[tuple[int, str], int] = {}
    for row_id, row in enumerate(test_split["experiences"]):
        for e in row:
            key = (row_id, e["source"])
            titles_per_source[key] = titles_per_source.get(key, 0) + 1
    merged = [s for (_, s), n in titles_per_source.items() if n > 1]
    assert len(merged) == 19
    assert sorted({row_id for row_id, s in titles_per_source if "\n" in s})[:7] == [
        167,
        195,
        326,
        342,
        358,
        374,
        375,
    ]
    experiences = [e for row in test_split["experiences"] for e in row]
    assert all(s.startswith("1. ") and "\n2. " in s for s in merged)
    # 18 strings merge two titles and one (row 974) three: 20 titles have no years of their own.
    assert sum(e["years"] is None for e in experiences) == 20
    assert len(experiences) == 2515 + 20
    assert not any(e["title"][:1].isdigit() and ". " in e["title"][:4] for e in experiences)


def test_row_167_merged_string_gives_two_titles(test_split) -> None:
    first, second = test_split[167]["experiences"][:2]
    assert first["title"] == "Desktop Support with Mac Experience"
    assert (first["years"], first["start"], first["end"]) == (None, None, None)
    assert second["title"] == "Communications Specialist / Writer"
    assert (second["years"], second["start"], second["end"]) == (2, 2014, 2016)
    assert (
        first["source"]
        == second["source"]
        == (
            "1. Desktop Support with Mac Experience\n2. Communications Specialist / Writer (2014 - 2016)"
        )
    )


def test_row_974_merged_string_gives_three_titles(test_split) -> None:
    titles = [(e["title"], e["years"]) for e in test_split[974]["experiences"]][:3]
    assert titles == [
        ("Helpers--pipelayers - plumbers - pipefitters - and steamfitters", None),
        ("Control and valve installers and repairers", None),
        ("Highway maintenance workers", 1),
    ]


def test_titles_keep_their_own_parentheses(test_split) -> None:
    titles = [e["title"] for e in test_split[374]["experiences"]]
    assert "Junior NOC Analyst (10:30 PM to 7:30 AM Shift)" in titles


def test_every_range_matches_the_years_list(test_split, raw_rows: list[dict]) -> None:
    checked = 0
    for row, raw in zip(test_split, raw_rows, strict=True):
        strings, years_list = raw["Experiences-years"][0][1], raw["Experiences-years"][2]
        for source, years in zip(strings, years_list, strict=True):
            ranged = [
                e for e in row["experiences"] if e["source"] == source and e["years"] is not None
            ]
            assert len(ranged) == 1
            assert ranged[0]["years"] == ranged[0]["end"] - ranged[0]["start"] == years
            checked += 1
    assert checked == 2515


def test_end_year_is_the_second_element_of_experiences_years(test_split, raw_rows) -> None:
    assert test_split["end_year"] == [raw["Experiences-years"][1] for raw in raw_rows]
    assert test_split[0]["end_year"] == 2023


def test_experience_change_template_counts(test_split) -> None:
    kinds = [c["kind"] for c in test_split["experience_change"]]
    assert (kinds.count("reduced"), kinds.count("removed"), kinds.count("none")) == (537, 340, 123)


def test_row_0_experience_change_is_reduced(test_split) -> None:
    assert test_split[0]["experience_change"] == {
        "kind": "reduced",
        "title": "Junior Systems Admin/Engineer",
        "original": "Junior Systems Admin/Engineer (2019 - 2023)",
        "edited": "Junior Systems Admin/Engineer (2019 - 2021)",
    }


def test_changed_experience_is_one_of_the_rows_experiences(test_split) -> None:
    for row in test_split:
        change = row["experience_change"]
        if change["kind"] == "none":
            assert change["title"] is change["original"] is change["edited"] is None
            continue
        assert change["original"] in {e["source"] for e in row["experiences"]}


def test_merged_change_titles_are_joined(test_split) -> None:
    assert test_split[167]["experience_change"]["title"] == (
        "Desktop Support with Mac Experience; Communications Specialist / Writer"
    )


def test_texts_are_stripped(test_split, raw_rows: list[dict]) -> None:
    assert raw_rows[0]["Job-Description"].startswith("\n\n")
    for column in ("job_description", "resume_matched", "resume_unmatched"):
        texts = test_split[column]
        assert all(text == text.strip() and text for text in texts)
    assert test_split[0]["job_description"].startswith(
        "## Job title\nJunior Systems Admin/Engineer"
    )


# --------------------------------------------------------------------------- experience parsing


def test_experience_string_with_range() -> None:
    assert parse_experience_string("Bakers (2013 - 2016)") == [
        {
            "title": "Bakers",
            "years": 3,
            "start": 2013,
            "end": 2016,
            "source": "Bakers (2013 - 2016)",
        }
    ]


def test_experience_string_without_range_has_no_years() -> None:
    assert parse_experience_string("Bakers") == [
        {"title": "Bakers", "years": None, "start": None, "end": None, "source": "Bakers"}
    ]


def test_only_a_trailing_range_counts() -> None:
    (e,) = parse_experience_string("Analyst (2010 - 2012) lead (2014 - 2017)")
    assert (e["title"], e["start"], e["end"]) == ("Analyst (2010 - 2012) lead", 2014, 2017)


def test_merged_lines_each_keep_their_own_range() -> None:
    parsed = parse_experience_string("1. Cook (2010 - 2012)\n2. Baker (2014 - 2016)")
    assert [(e["title"], e["years"]) for e in parsed] == [("Cook", 2), ("Baker", 2)]


def test_single_line_numbering_is_kept() -> None:
    assert experience_title("1. Cook (2010 - 2012)") == "1. Cook"


def test_backwards_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_experience_string("Cook (2016 - 2012)")


@pytest.mark.parametrize("text", ["", "  \n ", "(2014 - 2016)"])
def test_experience_string_without_title_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_experience_string(text)


def test_removed_template() -> None:
    assert parse_experience_change('without including "Cook (2014 - 2016)"') == {
        "kind": "removed",
        "title": "Cook",
        "original": "Cook (2014 - 2016)",
        "edited": None,
    }


def test_unchanged_template_tolerates_whitespace_and_a_period() -> None:
    expected = {"kind": "none", "title": None, "original": None, "edited": None}
    assert parse_experience_change("  the same job experience as before.\n") == expected


def test_reduced_template_with_newlines_in_quotes() -> None:
    change = parse_experience_change(
        'instead of "1. A\n2. B (2014 - 2016)" use "1. A\n2. B (2014 - 2015)" '
    )
    assert change == {
        "kind": "reduced",
        "title": "A; B",
        "original": "1. A\n2. B (2014 - 2016)",
        "edited": "1. A\n2. B (2014 - 2015)",
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "the same experience",
        'instead of "Cook (2014 - 2016)"',
        'Instead of "Cook (2014 - 2016)" use "Cook (2014 - 2015)"',
        "without including Cook (2014 - 2016)",
        'without including "Cook (2014 - 2016)" and more',
    ],
)
def test_unknown_experience_template_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="unrecognised template"):
        parse_experience_change(text)


# --------------------------------------------------------------------------- hand-made files


def make_row(**changes) -> dict:
    """A valid RJDB row; ``changes`` replace fields (``None`` removes one)."""
    row = {
        "Job-Description": "\n\n## Job title\nCook\n",
        "Resume-matched": "\n\n## Experience\n1. Cook (2014 - 2016)\n",
        "Resume-unmatched": "\n\n## Experience\n1. Cook (2014 - 2015)\n",
        "Skills": ["Baking", "Grilling"],
        "Experiences": ["Cook"],
        "Experiences-years": [[["2 years as a Cook"], ["Cook (2014 - 2016)"]], 2016, [2]],
        "Filtered-information": {
            "Skills": ["Grilling"],
            "Experience": 'instead of "Cook (2014 - 2016)" use "Cook (2014 - 2015)"',
        },
    }
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            del row[name]
        else:
            row[name] = value
    return row


def with_filtered(**changes) -> dict:
    """A valid row whose ``Filtered-information`` has ``changes`` (``None`` removes a key)."""
    filtered = make_row()["Filtered-information"]
    for name, value in changes.items():
        if value is None:
            del filtered[name]
        else:
            filtered[name] = value
    return make_row(Filtered_information=filtered)


def write_lines(tmp_path: Path, lines: list[str], name: str = "test.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_rows(tmp_path: Path, *rows: dict, name: str = "test.jsonl") -> Path:
    return write_lines(tmp_path, [json.dumps(row) for row in rows], name)


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_rjdb(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_valid_row_is_normalised(tmp_path: Path) -> None:
    (row,) = read_rjdb(write_rows(tmp_path, make_row()))
    assert row == {
        "row_id": 0,
        "job_description": "## Job title\nCook",
        "resume_matched": "## Experience\n1. Cook (2014 - 2016)",
        "resume_unmatched": "## Experience\n1. Cook (2014 - 2015)",
        "skills": ["Baking", "Grilling"],
        "removed_skills": ["Grilling"],
        "experiences": [
            {
                "title": "Cook",
                "years": 2,
                "start": 2014,
                "end": 2016,
                "source": "Cook (2014 - 2016)",
            }
        ],
        "experience_change": {
            "kind": "reduced",
            "title": "Cook",
            "original": "Cook (2014 - 2016)",
            "edited": "Cook (2014 - 2015)",
        },
        "end_year": 2016,
    }


def test_dict_removed_skills_use_keys_in_order(tmp_path: Path) -> None:
    rows = read_rjdb(
        write_rows(
            tmp_path,
            with_filtered(Skills={"Grilling": 1, "Baking": 1}),
            with_filtered(Skills={}),
        )
    )
    assert rows["removed_skills"] == [["Grilling", "Baking"], []]


def test_empty_skills_list_is_a_row(tmp_path: Path) -> None:
    rows = read_rjdb(write_rows(tmp_path, make_row(Skills=[]), make_row()))
    assert rows["skills"] == [[], ["Baking", "Grilling"]]


def test_misaligned_experiences_list_is_ignored(tmp_path: Path) -> None:
    row = make_row(Experiences=["Cook, Baker", "Something else"])
    (parsed,) = read_rjdb(write_rows(tmp_path, row))
    assert [e["title"] for e in parsed["experiences"]] == ["Cook"]


def test_merged_experience_string_in_a_file(tmp_path: Path) -> None:
    merged = "1. Cook\n2. Baker (2014 - 2016)"
    years = [[["2 years as a 1. Cook\n2. Baker"], [merged]], 2016, [2]]
    row = make_row(Experiences_years=years)
    row["Filtered-information"]["Experience"] = f'without including "{merged}"'
    (parsed,) = read_rjdb(write_rows(tmp_path, row))
    assert [(e["title"], e["years"]) for e in parsed["experiences"]] == [
        ("Cook", None),
        ("Baker", 2),
    ]
    assert parsed["experience_change"]["title"] == "Cook; Baker"
    assert parsed["experience_change"]["kind"] == "removed"


def test_blank_lines_are_skipped_and_row_ids_count_data_rows(tmp_path: Path) -> None:
    first, second = json.dumps(make_row()), json.dumps(make_row(Skills=["X"]))
    path = write_lines(tmp_path, ["", first, "   ", "", second, ""])
    rows = read_rjdb(path)
    assert rows["row_id"] == [0, 1]
    assert rows["skills"] == [["Baking", "Grilling"], ["X"]]


def test_read_rjdb_accepts_a_string_path(tmp_path: Path) -> None:
    assert read_rjdb(str(write_rows(tmp_path, make_row()))).num_rows == 1


def test_bad_json_names_the_physical_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path, [json.dumps(make_row()), "", "{not json"])
    message = error_of(path)
    assert message.startswith(f"{path}:3: invalid JSON (")
    assert "Expecting property name enclosed in double quotes" in message


def test_truncated_jsonl_names_the_line(tmp_path: Path) -> None:
    line = json.dumps(make_row())
    path = write_lines(tmp_path, [line, line[: len(line) // 2]])
    assert error_of(path).startswith(f"{path}:2: invalid JSON (")


def test_row_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path, [json.dumps(make_row()), "[1, 2]"])
    assert error_of(path) == f"{path}:2: expected a JSON object, got list"


@pytest.mark.parametrize(
    "field",
    [
        "Job-Description",
        "Resume-matched",
        "Resume-unmatched",
        "Skills",
        "Experiences",
        "Experiences-years",
        "Filtered-information",
    ],
)
def test_missing_field_is_named(tmp_path: Path, field: str) -> None:
    row = make_row()
    del row[field]
    path = write_rows(tmp_path, make_row(), row)
    assert error_of(path) == f"{path}:2: missing field {field!r}"


@pytest.mark.parametrize("field", ["Skills", "Experience"])
def test_missing_filtered_field_is_named(tmp_path: Path, field: str) -> None:
    path = write_rows(tmp_path, with_filtered(**{field: None}))
    assert error_of(path) == f"{path}:1: missing field 'Filtered-information.{field}'"


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"Skills": 5}, "Skills", "a list of strings, got int"),
        ({"Skills": ["a", 3]}, "Skills", "a list of strings, got list of int/str"),
        ({"Skills": {"Baking": 1}}, "Skills", "a list of strings, got dict"),
        ({"Experiences": "Cook"}, "Experiences", "a list of strings, got str"),
        ({"Resume_matched": ["text"]}, "Resume-matched", "a string, got list of str"),
        ({"Filtered_information": []}, "Filtered-information", "an object, got empty list"),
    ],
)
def test_wrong_type_names_field_and_type(
    tmp_path: Path, changes: dict, field: str, expected: str
) -> None:
    path = write_rows(tmp_path, make_row(**changes))
    assert error_of(path) == f"{path}:1: field {field!r}: expected {expected}"


def test_removed_skills_of_the_wrong_type_are_rejected(tmp_path: Path) -> None:
    path = write_rows(tmp_path, with_filtered(Skills="Grilling"))
    assert error_of(path) == (
        f"{path}:1: field 'Filtered-information.Skills': "
        "expected a list of strings or an object, got str"
    )


def test_removed_skills_list_of_numbers_is_rejected(tmp_path: Path) -> None:
    path = write_rows(tmp_path, with_filtered(Skills=[1]))
    assert error_of(path) == (
        f"{path}:1: field 'Filtered-information.Skills': "
        "expected a list of strings or an object, got list of int"
    )


@pytest.mark.parametrize(
    "years",
    [
        [["Cook (2014 - 2016)"], 2016, [2]],
        [[["2 years as a Cook"], ["Cook (2014 - 2016)"]], "2016", [2]],
        [[["2 years as a Cook"], ["Cook (2014 - 2016)"]], 2016],
        [[["2 years as a Cook"], ["Cook (2014 - 2016)"]], True, [2]],
        [[["2 years as a Cook"], [7]], 2016, [2]],
        {"years": 2},
    ],
)
def test_experiences_years_of_the_wrong_shape_are_rejected(tmp_path: Path, years) -> None:
    path = write_rows(tmp_path, make_row(Experiences_years=years))
    assert error_of(path).startswith(
        f"{path}:1: field 'Experiences-years': expected "
        "[[list of strings, list of strings], int, list of ints], got "
    )


def test_backwards_year_range_names_the_field(tmp_path: Path) -> None:
    years = [[["2 years as a Cook"], ["Cook (2016 - 2014)"]], 2016, [2]]
    path = write_rows(tmp_path, make_row(Experiences_years=years))
    assert error_of(path) == (
        f"{path}:1: field 'Experiences-years': year range ends before it starts in "
        "'Cook (2016 - 2014)'"
    )


def test_unknown_experience_template_names_line_and_field(tmp_path: Path) -> None:
    path = write_rows(tmp_path, make_row(), with_filtered(Experience="dropped the cook job"))
    assert error_of(path).startswith(
        f"{path}:2: field 'Filtered-information.Experience': unrecognised template "
        "'dropped the cook job'"
    )


def test_experience_change_that_is_not_a_string_is_rejected(tmp_path: Path) -> None:
    row = make_row()
    row["Filtered-information"]["Experience"] = None
    path = write_rows(tmp_path, row)
    assert error_of(path) == (
        f"{path}:1: field 'Filtered-information.Experience': expected a string, got null"
    )


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file_is_rejected(tmp_path: Path, content: str) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(content)
    assert error_of(path) == f"{path}: no RJDB rows (the file is empty)"


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.jsonl"
    assert error_of(path) == f"{path}: RJDB file not found"


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_bytes(json.dumps(make_row()).encode() + b"\n\xff\xfe\n")
    assert error_of(path).startswith(f"{path}:2: not valid UTF-8 (")


# --------------------------------------------------------------------------- locating


@pytest.fixture
def no_env_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RJDB_DATA_DIR", raising=False)


def make_dir(tmp_path: Path, name: str, skills: list[str], split: str = "test") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    write_rows(folder, make_row(Skills=skills), name=f"{split}.jsonl")
    return folder


def test_explicit_path_beats_data_dir_and_env(tmp_path: Path, monkeypatch) -> None:
    env_dir = make_dir(tmp_path, "env", ["env"])
    arg_dir = make_dir(tmp_path, "arg", ["arg"])
    file = write_rows(tmp_path, make_row(Skills=["file"]), name="mine.jsonl")
    monkeypatch.setenv("RJDB_DATA_DIR", str(env_dir))
    found = locate_rjdb("test", data_dir=arg_dir, path=file)
    assert found.path == file
    assert found.provenance() == {
        "path": str(file),
        "sha256": sha256_file(file),
        "origin": "local",
        "url": None,
    }
    assert load_rjdb(data_dir=arg_dir, path=file)["skills"] == [["file"]]


def test_data_dir_beats_env(tmp_path: Path, monkeypatch) -> None:
    env_dir = make_dir(tmp_path, "env", ["env"])
    arg_dir = make_dir(tmp_path, "arg", ["arg"])
    monkeypatch.setenv("RJDB_DATA_DIR", str(env_dir))
    assert locate_rjdb("test", data_dir=arg_dir).path == arg_dir / "test.jsonl"
    assert load_rjdb(data_dir=arg_dir)["skills"] == [["arg"]]


def test_env_data_dir_is_used_without_arguments(tmp_path: Path, monkeypatch) -> None:
    env_dir = make_dir(tmp_path, "env", ["env"], split="dev")
    monkeypatch.setenv("RJDB_DATA_DIR", str(env_dir))
    found = locate_rjdb("dev")
    assert (found.path, found.origin, found.url) == (env_dir / "dev.jsonl", "local", None)
    assert load_rjdb("dev")["skills"] == [["env"]]


def test_missing_split_in_data_dir_names_the_expected_path(tmp_path: Path, no_env_dir) -> None:
    with pytest.raises(InputError) as info:
        locate_rjdb("test", data_dir=tmp_path)
    assert str(info.value) == f"{tmp_path / 'test.jsonl'}: RJDB file not found (from data_dir)"


def test_missing_split_in_env_dir_says_it_came_from_env(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RJDB_DATA_DIR", str(tmp_path))
    with pytest.raises(InputError, match="RJDB file not found \\(from RJDB_DATA_DIR\\)"):
        locate_rjdb("dev")


def test_missing_explicit_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        locate_rjdb(path=tmp_path / "gone.jsonl")
    assert str(info.value) == f"{tmp_path / 'gone.jsonl'}: RJDB file not found (given as path)"


def test_folder_given_as_path_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder, expected a .jsonl file"):
        locate_rjdb(path=tmp_path)


@pytest.mark.parametrize("split", ["dev", "train"])
def test_unpinned_split_must_be_given(split: str, no_env_dir) -> None:
    with pytest.raises(InputError) as info:
        locate_rjdb(split)
    message = str(info.value)
    assert f"the RJDB {split} split cannot be downloaded" in message
    assert f"give it as a file (path) or a folder holding {split}.jsonl" in message


def test_unknown_split_is_rejected() -> None:
    with pytest.raises(InputError, match="unknown RJDB split 'validation'"):
        locate_rjdb("validation")
