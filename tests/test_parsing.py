"""Lenient parsing of model output: JSON (whole, fenced, embedded), lists, labels, failures."""

from __future__ import annotations

import pytest

from rjdb_bench.tasks.parsing import (
    Parsed,
    bullet_lines,
    find_json,
    parse_experience_list,
    parse_explanation,
    parse_label,
    parse_string_list,
    years_from_text,
)

YES_NO = ["Yes", "No"]
A_B = ["A", "B"]

# --------------------------------------------------------------------------- find_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["SQL", "Excel"]', ["SQL", "Excel"]),
        ('  {"answer": "Yes"}\n', {"answer": "Yes"}),
        ('Sure!\n```json\n["a", "b"]\n```\nHope it helps.', ["a", "b"]),
        ('```\n{"k": 1}\n```', {"k": 1}),
        ("```JSON\n[1, 2]\n```", [1, 2]),
        ('The answer: {"answer": "No"}. Done.', {"answer": "No"}),
        ('Skills found: ["SQL", "Excel"] -- end', ["SQL", "Excel"]),
        ('Broken [here but then {"ok": true}', {"ok": True}),
        ("42", 42),
    ],
)
def test_find_json_finds_whole_fenced_and_embedded_values(text: str, expected: object) -> None:
    assert find_json(text) == expected


@pytest.mark.parametrize("text", ["no json here", "", "[unclosed", "{'single': 'quotes'}"])
def test_find_json_returns_none_without_json(text: str) -> None:
    assert find_json(text) is None


def test_find_json_returns_the_first_embedded_value() -> None:
    assert find_json('first ["a"] then {"b": 1}') == ["a"]


# --------------------------------------------------------------------------- parse_label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes", "Yes"),
        ("yes.", "Yes"),
        ("YES", "Yes"),
        ("**No**", "No"),
        ("  no \n", "No"),
        ("No, the resume lacks SQL.", "No"),
        ("Yes, the resume covers every skill.", "Yes"),
        ("Answer: No", "No"),
        ("After reviewing, I would say yes.", "Yes"),
        ('{"answer": "No"}', "No"),
        ('{"answer": "no"}', "No"),
        ('Here is my answer: {"answer": "Yes"}', "Yes"),
        ('```json\n{"match": "No"}\n```', "No"),
    ],
)
def test_parse_label_yes_no(text: str, expected: str) -> None:
    assert parse_label(text, YES_NO) == Parsed(expected, True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A", "A"),
        ("b", "B"),
        ("B.", "B"),
        ("Resume B", "B"),
        ("Option A", "A"),
        ("Option A is the better match.", "A"),
        ("Candidate B", "B"),
        ("The better match is resume B.", "B"),
        ("answer: a", "A"),
        ('{"answer": "B"}', "B"),
        ("I pick B", "B"),
        # "A" the article comes first, but "resume B" is an explicit choice and wins
        ("A better fit is resume B", "B"),
    ],
)
def test_parse_label_a_b(text: str, expected: str) -> None:
    assert parse_label(text, A_B) == Parsed(expected, True)


def test_first_stated_label_wins() -> None:
    assert parse_label("Yes. Although one might say no, the answer is yes.", YES_NO).value == "Yes"
    assert parse_label("No, not yes.", YES_NO).value == "No"
    assert parse_label("Resume A, not resume B", A_B).value == "A"


@pytest.mark.parametrize(
    "text",
    ["Maybe", "", "   ", "Not a match", "Nothing is missing", "Nope", "Noted", "Yesterday", "None"],
)
def test_yes_no_failures_are_not_ok(text: str) -> None:
    # in particular "Not", "Nothing", "None" are not the word "No"
    assert parse_label(text, YES_NO) == Parsed(None, False)


@pytest.mark.parametrize("text", ["Neither", "AB", "", "both are fine", '{"answer": "C"}'])
def test_a_b_failures_are_not_ok(text: str) -> None:
    assert parse_label(text, A_B) == Parsed(None, False)


def test_json_answer_without_a_label_falls_back_to_the_text() -> None:
    # the JSON value says nothing; the label is in the surrounding prose
    assert parse_label('Yes. {"reason": "covers all skills"}', YES_NO) == Parsed("Yes", True)


# --------------------------------------------------------------------------- bullet_lines


def test_bullet_lines_reads_every_bullet_and_number_style() -> None:
    text = (
        "Skills:\n- SQL\n* Excel\n\u2022 Go\n1. Python\n2) R\n(3) SAS\na. Java\n+ C++\nnot a bullet"
    )
    assert bullet_lines(text) == ["SQL", "Excel", "Go", "Python", "R", "SAS", "Java", "C++"]


def test_bullet_lines_strips_trailing_whitespace_and_skips_empty_bullets() -> None:
    assert bullet_lines("-   SQL   \n- \n-Excel") == ["SQL"]


# --------------------------------------------------------------------------- parse_string_list


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["SQL", "Excel"]', ["SQL", "Excel"]),
        ('[" SQL ", "", "Excel"]', ["SQL", "Excel"]),
        ('{"skills": ["SQL"]}', ["SQL"]),
        ('{"items": ["SQL", "R"]}', ["SQL", "R"]),  # one list in the object: take it
        ('Here you go:\n```json\n["SQL", "Excel"]\n```\nDone.', ["SQL", "Excel"]),
        ('The skills are ["SQL", "Excel"] in total.', ["SQL", "Excel"]),
        ('[{"name": "SQL"}, {"title": "Excel"}, {"skills": "R"}]', ["SQL", "Excel", "R"]),
        ("[1, 2.5]", ["1", "2.5"]),
        ("[]", []),
        ('{"skills": []}', []),
        ("- SQL\n- Excel", ["SQL", "Excel"]),
        ("Skills:\n1. SQL\n2. Project Management", ["SQL", "Project Management"]),
        ("SQL, Excel, Python", ["SQL", "Excel", "Python"]),
        ("SQL, , Excel,", ["SQL", "Excel"]),
    ],
)
def test_parse_string_list_recovers_lists(text: str, expected: list[str]) -> None:
    assert parse_string_list(text) == Parsed(expected, True)


def test_parse_string_list_keys_choose_the_list_in_an_object() -> None:
    text = '{"missing_skills": ["SQL"], "present_skills": ["Excel"]}'
    assert parse_string_list(text, keys=("missing_skills",)) == Parsed(["SQL"], True)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "The resume shows SQL, Excel and Python.",  # a sentence, not a comma list
        "SQL, Excel\nPython",  # commas on one of several lines
        "[true]",
        '[["nested"]]',
        "null",
        "None",
        "N/A",
    ],
)
def test_parse_string_list_failures_are_empty_and_not_ok(text: str) -> None:
    assert parse_string_list(text) == Parsed([], False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SQL", ["SQL"]),  # one short bare item
        ("Project Management", ["Project Management"]),
        ('"SQL"', ["SQL"]),  # a JSON string is read as its comma-separated items
        ('"SQL, Excel"', ["SQL", "Excel"]),
    ],
)
def test_a_single_short_item_is_a_one_element_list(text: str, expected: list[str]) -> None:
    assert parse_string_list(text) == Parsed(expected, True)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": ["SQL"], "b": ["Excel"]}',
        '[{"skill": "SQL"}, {"skill": "Excel"}]',
        "[true, false]",
    ],
)
def test_json_of_an_unexpected_shape_is_never_split_as_a_comma_list(text: str) -> None:
    parsed = parse_string_list(text)
    # either a failure or real skill strings; never fragments of JSON syntax
    assert not any(ch in item for item in parsed.value for ch in '{}[]"')


# --------------------------------------------------------------------------- parse_explanation


def test_parse_explanation_full_answer() -> None:
    text = '{"missing_skills": ["SQL", "Excel"], "experience_gap": {"kind": "reduced", "title": "Analyst"}}'
    assert parse_explanation(text) == Parsed(
        {"missing_skills": ["SQL", "Excel"], "kind": "reduced", "title": "Analyst"}, True
    )


def test_parse_explanation_lower_cases_kind_and_strips_fields() -> None:
    text = '{"missing_skills": [" SQL ", " "], "experience_gap": {"kind": " REMOVED ", "title": " Baker "}}'
    assert parse_explanation(text) == Parsed(
        {"missing_skills": ["SQL"], "kind": "removed", "title": "Baker"}, True
    )


def test_parse_explanation_in_a_fenced_block_after_prose() -> None:
    text = 'Sure:\n```json\n{"missing_skills": [], "experience_gap": {"kind": "None", "title": ""}}\n```'
    assert parse_explanation(text) == Parsed(
        {"missing_skills": [], "kind": "none", "title": ""}, True
    )


def test_parse_explanation_accepts_gap_as_a_bare_kind_string() -> None:
    text = '{"missing_skills": ["R"], "experience_gap": "Removed"}'
    assert parse_explanation(text) == Parsed(
        {"missing_skills": ["R"], "kind": "removed", "title": ""}, True
    )


def test_parse_explanation_null_title_becomes_empty() -> None:
    text = '{"missing_skills": [], "experience_gap": {"kind": "removed", "title": null}}'
    assert parse_explanation(text).value["title"] == ""


def test_invalid_gap_kind_is_none_and_not_ok() -> None:
    text = '{"missing_skills": ["SQL"], "experience_gap": {"kind": "shorter", "title": "Analyst"}}'
    parsed = parse_explanation(text)
    assert parsed.ok is False
    # what was readable is kept, the kind is not invented
    assert parsed.value == {"missing_skills": ["SQL"], "kind": None, "title": "Analyst"}


def test_missing_experience_gap_is_not_ok() -> None:
    parsed = parse_explanation('{"missing_skills": ["SQL"]}')
    assert parsed == Parsed({"missing_skills": ["SQL"], "kind": None, "title": ""}, False)


def test_missing_missing_skills_key_is_not_ok() -> None:
    parsed = parse_explanation('{"experience_gap": {"kind": "none", "title": ""}}')
    assert parsed == Parsed({"missing_skills": [], "kind": "none", "title": ""}, False)


@pytest.mark.parametrize("text", ["I cannot tell", '["SQL"]', "", '"none"'])
def test_non_object_explanation_is_empty_and_not_ok(text: str) -> None:
    assert parse_explanation(text) == Parsed(
        {"missing_skills": [], "kind": None, "title": ""}, False
    )


# --------------------------------------------------------------------------- years_from_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Junior Systems Admin (2019 - 2023)", ("Junior Systems Admin", 4)),
        ("Data Analyst (2018-2021)", ("Data Analyst", 3)),
        ("Data Analyst (2018 \u2013 2021)", ("Data Analyst", 3)),
        ("Data Analyst (2018 to 2021)", ("Data Analyst", 3)),
        ("Level 2 Support (2019 - 2021)", ("Level 2 Support", 2)),
        ("Baker (2016 - 2016)", ("Baker", 0)),
        ("4 years as a Data Analyst", ("Data Analyst", 4)),
        ("4 years as an Engineer", ("Engineer", 4)),
        ("5+ years of experience as a Welder", ("Welder", 5)),
        ("Data Analyst: 3 years", ("Data Analyst", 3)),
        ("Data Analyst (3 years)", ("Data Analyst", 3)),
        ("Data Analyst - 1 year", ("Data Analyst", 1)),
        ("Data Analyst - 2.5 yrs", ("Data Analyst", 2)),
        ("  Baker  ", ("Baker", None)),
    ],
)
def test_years_from_text(text: str, expected: tuple[str, int | None]) -> None:
    assert years_from_text(text) == expected


# --------------------------------------------------------------------------- parse_experience_list


@pytest.mark.parametrize(
    ("years_json", "expected"),
    [
        ("3", 3),
        ('"3"', 3),
        ('"3 years"', 3),
        ("2.7", 2),
        ("0", 0),
        ('"three"', None),
        ("true", None),
        ("null", None),
    ],
)
def test_experience_years_as_int_string_or_text(years_json: str, expected: int | None) -> None:
    text = f'[{{"title": "Data Analyst", "years": {years_json}}}]'
    assert parse_experience_list(text) == Parsed(
        [{"title": "Data Analyst", "years": expected}], True
    )


def test_experience_without_years_key_has_no_years() -> None:
    assert parse_experience_list('[{"title": " Baker "}]') == Parsed(
        [{"title": "Baker", "years": None}], True
    )


def test_experience_accepts_role_and_duration_keys() -> None:
    assert parse_experience_list('[{"role": "Baker", "duration": "2 years"}]') == Parsed(
        [{"title": "Baker", "years": 2}], True
    )


def test_experience_list_of_resume_style_strings() -> None:
    text = '["Data Analyst (2018 - 2021)", "4 years as a Baker", "Cook"]'
    assert parse_experience_list(text) == Parsed(
        [
            {"title": "Data Analyst", "years": 3},
            {"title": "Baker", "years": 4},
            {"title": "Cook", "years": None},
        ],
        True,
    )


def test_experience_object_holding_the_list_prefers_an_experience_key() -> None:
    text = '{"experiences": [{"title": "Baker", "years": 1}], "skills": ["Baking"]}'
    assert parse_experience_list(text) == Parsed([{"title": "Baker", "years": 1}], True)
    assert parse_experience_list('{"jobs": [{"title": "Baker", "years": 1}]}') == Parsed(
        [{"title": "Baker", "years": 1}], True
    )


def test_experience_in_fenced_block_and_in_prose() -> None:
    expected = Parsed([{"title": "Baker", "years": 2}], True)
    assert parse_experience_list('```json\n[{"title": "Baker", "years": 2}]\n```') == expected
    assert parse_experience_list('Experiences: [{"title": "Baker", "years": 2}] end') == expected


def test_experience_bullets() -> None:
    text = "Experience:\n- Data Analyst (2018 - 2021)\n- Baker: 2 years\n3. Cook"
    assert parse_experience_list(text) == Parsed(
        [
            {"title": "Data Analyst", "years": 3},
            {"title": "Baker", "years": 2},
            {"title": "Cook", "years": None},
        ],
        True,
    )


def test_experience_entries_with_blank_titles_are_dropped() -> None:
    text = '[{"title": "  ", "years": 1}, {"title": "Cook", "years": 0}]'
    assert parse_experience_list(text) == Parsed([{"title": "Cook", "years": 0}], True)


def test_empty_json_experience_list_is_ok() -> None:
    assert parse_experience_list("[]") == Parsed([], True)


@pytest.mark.parametrize(
    "text",
    [
        "No relevant experience.",
        "",
        "[3]",
        '[{"company": "Acme", "years": 2}]',  # an object without any title-like key
        '{"a": [], "b": []}',  # two candidate lists, none named like experience
    ],
)
def test_experience_failures_are_empty_and_not_ok(text: str) -> None:
    assert parse_experience_list(text) == Parsed([], False)
