"""Per-task scorers on small hand-written docs and outputs, checked against hand arithmetic.

Items are built through each task's public ``make_*_item(doc, output)``, so parsing is part of
what is checked; docs carry only the fields ``make_*_item`` reads (see ``build_*_docs``).
BERTScore uses the real bundled MiniLM encoder (loaded once per process).
"""

from __future__ import annotations

import math

import pytest
from rouge_score import rouge_scorer
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from rjdb_bench.errors import InputError
from rjdb_bench.scoring import score_task
from rjdb_bench.tasks.base import ScoringSettings
from rjdb_bench.tasks.edit import make_edit_item, restored_skills, score_edit
from rjdb_bench.tasks.experience import experience_counts, make_experience_item, score_experience
from rjdb_bench.tasks.explain import make_explain_item, render_explanation, score_explain
from rjdb_bench.tasks.match import (
    make_match_item,
    make_pairwise_item,
    score_match,
    score_pairwise,
)
from rjdb_bench.tasks.registry import task_spec
from rjdb_bench.tasks.skills import make_skill_item, score_skills

SETTINGS = ScoringSettings()


def values_of(scored) -> dict[str, float]:
    """Point values as the scoring stage reports them: library value, else statistic value."""
    return scored.point_values()


def score_items(task: str, items, settings: ScoringSettings):
    return score_task(task_spec(task), items, settings)


# --------------------------------------------------------------------------- rjdb_match


def match_doc(key: str, label: str) -> dict:
    return {"task": "rjdb_match", "doc_key": key, "label": label}


MATCH_CASES = [  # (gold, output) -> parsed prediction
    ("Yes", "Yes"),  # Yes
    ("Yes", "No"),  # No
    ("Yes", "garbage"),  # None (parse failure)
    ("No", "yes."),  # Yes
    ("No", "No, it lacks SQL."),  # No
]


def match_items() -> list[dict]:
    return [make_match_item(match_doc(str(i), g), out) for i, (g, out) in enumerate(MATCH_CASES)]


def test_make_match_item_parses_and_keeps_gold() -> None:
    items = match_items()
    assert [i["prediction"] for i in items] == ["Yes", "No", None, "Yes", "No"]
    assert [i["parsed_ok"] for i in items] == [True, True, False, True, True]
    assert [i["gold"] for i in items] == ["Yes", "Yes", "Yes", "No", "No"]
    assert items[3]["output"] == "yes." and items[3]["doc_key"] == "3"


def test_score_match_by_hand() -> None:
    values = values_of(score_match(match_items(), SETTINGS))
    # correct: docs 0 and 4 -> accuracy 2/5
    # Yes: tp=1 (doc 0), predicted=2 (docs 0, 3), true=3 (docs 0, 1, 2; doc 2 unparsed = FN)
    #      P=1/2 R=1/3 F1=2*1/(2+3)=2/5
    # No:  tp=1 (doc 4), predicted=2 (docs 1, 4), true=2 (docs 3, 4) -> F1=2/4=1/2
    # macro-F1 = (2/5 + 1/2)/2 = 9/20; parse failures 1/5
    assert values == pytest.approx(
        {
            "accuracy": 2 / 5,
            "macro_f1": 9 / 20,
            "yes_precision": 1 / 2,
            "yes_recall": 1 / 3,
            "yes_f1": 2 / 5,
            "parse_failure_rate": 1 / 5,
        }
    )


def test_score_match_statistics_agree_with_sklearn_values() -> None:
    scored = score_match(match_items(), SETTINGS)
    gold = [g for g, _ in MATCH_CASES]
    pred = ["Yes", "No", "<unparsed>", "Yes", "No"]
    p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=["Yes"], zero_division=0)
    expected = {
        "accuracy": accuracy_score(gold, pred),
        "macro_f1": f1_score(gold, pred, labels=["Yes", "No"], average="macro", zero_division=0),
        "yes_precision": p[0],
        "yes_recall": r[0],
        "yes_f1": f[0],
    }
    for name, value in expected.items():
        # the bootstrap uses the statistic, so its full-sample value must be sklearn's too
        assert scored.statistics[name].value() == pytest.approx(value)


def test_score_match_per_item() -> None:
    per_item = score_match(match_items(), SETTINGS).per_item
    assert [p["correct"] for p in per_item] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert [p["parsed"] for p in per_item] == [1.0, 1.0, 0.0, 1.0, 1.0]


def test_score_pairwise_by_hand() -> None:
    docs = [
        {"task": "rjdb_match_pairwise", "doc_key": str(i), "label": label}
        for i, label in enumerate(["A", "B", "A", "B"])
    ]
    outputs = ["Resume A", "Option A", "Neither", '{"answer": "B"}']
    items = [make_pairwise_item(d, o) for d, o in zip(docs, outputs, strict=True)]
    assert [i["prediction"] for i in items] == ["A", "A", None, "B"]
    # correct: docs 0 and 3 -> 2/4; one parse failure -> 1/4
    assert values_of(score_pairwise(items, SETTINGS)) == pytest.approx(
        {"accuracy": 0.5, "parse_failure_rate": 0.25}
    )


# --------------------------------------------------------------------------- rjdb_skills


def skill_doc(key: str, gold: list[str]) -> dict:
    return {"task": "rjdb_skills", "doc_key": key, "gold_skills": gold}


SKILL_CASES = [
    # exact: {sql, excel} tp=2, {project managment, r} fp=2, {project management} fn=1
    # soft: "project managment" ~ "project management" (34/35) -> tp=3 fp=1 fn=0
    (["SQL", "Excel", "Project Management"], '["sql", "Excel", "Project Managment", "R", "SQL"]'),
    # bullets: c# tp; "c" is not "c++" (fp); c++ and java fn -> tp=1 fp=1 fn=2 (soft: c~c++ = 0.5)
    (["C++", "C#", "Java"], "- C\n- C#"),
    # empty gold, empty JSON list -> 0, 0, 0 (macro F1 = 1)
    ([], "[]"),
    # comma list: tp=2 (customer service, sales), fp=2 (marketing, retail), fn=0
    (["Customer Service", "Sales"], "Customer service, Marketing, Sales, Retail"),
    # parse failure: nothing predicted -> tp=0 fp=0 fn=1
    (["Welding"], "I am not sure."),
]


def skill_items() -> list[dict]:
    return [make_skill_item(skill_doc(str(i), g), out) for i, (g, out) in enumerate(SKILL_CASES)]


def test_make_skill_item_parses_json_bullets_and_comma_lists() -> None:
    items = skill_items()
    assert items[1]["prediction"] == ["C", "C#"]
    assert items[3]["prediction"] == ["Customer service", "Marketing", "Sales", "Retail"]
    assert items[4]["prediction"] == [] and items[4]["parsed_ok"] is False
    assert items[0]["gold"] == ["SQL", "Excel", "Project Management"]


def test_score_skills_by_hand() -> None:
    scored = score_skills(skill_items(), SETTINGS)
    values = values_of(scored)
    # micro: tp=2+1+0+2+0=5, fp=2+1+0+2+0=5, fn=1+2+0+0+1=4 -> P=5/10 R=5/9 F1=10/19
    # per-doc P: 1/2, 1/2, 1, 1/2, 0 -> macro P = 2.5/5 = 1/2
    # per-doc R: 2/3, 1/3, 1, 1, 0   -> macro R = 3/5
    # per-doc F1: 4/7, 2/5, 1, 2/3, 0 -> macro F1 = (60+42+105+70)/105/5 = 277/525
    # soft: doc 0 tp=3 fp=1 fn=0, others as exact -> tp=6 fp=4 fn=3 -> F1=12/19
    assert values == pytest.approx(
        {
            "micro_f1": 10 / 19,
            "micro_precision": 1 / 2,
            "micro_recall": 5 / 9,
            "macro_f1": 277 / 525,
            "macro_precision": 1 / 2,
            "macro_recall": 3 / 5,
            "soft_micro_f1": 12 / 19,
            "parse_failure_rate": 1 / 5,
        }
    )
    assert [p["f1"] for p in scored.per_item] == pytest.approx([4 / 7, 2 / 5, 1.0, 2 / 3, 0.0])
    assert [p["soft_tp"] for p in scored.per_item] == [3.0, 1.0, 0.0, 2.0, 0.0]


def test_score_skills_soft_threshold_comes_from_settings() -> None:
    # at threshold 0.5 "c" ~ "c++" (2*1/4 = 0.5) also matches: soft tp=7 fp=3 fn=2 -> 14/19
    strict = score_skills(skill_items(), ScoringSettings(soft_threshold=0.5))
    assert strict.statistics["soft_micro_f1"].value() == pytest.approx(14 / 19)


# --------------------------------------------------------------------------- rjdb_experience


def experience_doc(key: str, gold: list[dict]) -> dict:
    return {"task": "rjdb_experience", "doc_key": key, "gold_experiences": gold}


EXPERIENCE_DOCS = [
    experience_doc(
        "0",
        [
            {"title": "Data Analyst", "years": 2},
            {"title": "Project Manager", "years": 3},
            {"title": "Cashier", "years": None},
        ],
    ),
    experience_doc("1", [{"title": "Baker", "years": 3}]),
]
EXPERIENCE_OUTPUTS = [
    '[{"title": "Data Analysts", "years": 2}, {"title": "project manager", "years": "4 years"},'
    ' {"title": "Cashier"}, {"title": "Astronaut", "years": 1}]',
    "I could not find any experience.",
]


def experience_items() -> list[dict]:
    return [
        make_experience_item(d, o) for d, o in zip(EXPERIENCE_DOCS, EXPERIENCE_OUTPUTS, strict=True)
    ]


def test_score_experience_joint_f1_and_years_accuracy_by_hand() -> None:
    items = experience_items()
    assert items[1]["parsed_ok"] is False
    scored = score_experience(items, SETTINGS)
    # doc 0 titles: "data analysts" ~ "data analyst" (2*12/25 = 0.96, fuzzy), "project manager"
    #   and "cashier" exact; "astronaut" unmatched -> tp=3 fp=1 fn=0
    #   joint (title and years equal): data analyst 2=2 yes, project manager 4!=3 no,
    #   cashier None=None yes -> joint tp=2, fp=4-2=2, fn=3-2=1
    #   years on matched titles with gold years: data analyst ok, project manager wrong -> 1/2
    # doc 1: parse failure -> tp=0 fp=0 fn=1, joint fn=1, no years counted
    # pooled titles: tp=3 fp=1 fn=1 -> P=3/4 R=3/4 F1=6/8
    # pooled joint: tp=2 fp=2 fn=2 -> F1=4/8; years accuracy 1/2
    assert values_of(scored) == pytest.approx(
        {
            "title_f1": 0.75,
            "title_precision": 0.75,
            "title_recall": 0.75,
            "joint_f1": 0.5,
            "years_accuracy": 0.5,
            "parse_failure_rate": 0.5,
        }
    )
    assert scored.per_item[0] == {
        "tp": 3.0,
        "fp": 1.0,
        "fn": 0.0,
        "joint_tp": 2.0,
        "years_correct": 1.0,
        "years_total": 2.0,
    }


def test_experience_titles_match_one_to_one_and_deduplicate() -> None:
    gold = [{"title": "Data Analyst", "years": 2}]
    pred = [
        {"title": "Data Analysts", "years": 2},
        {"title": "data analyst.", "years": 5},
        {"title": "DATA ANALYST", "years": 2},  # same normalised title as the one above: dropped
    ]
    # normalised predictions {data analysts: 2, data analyst: 5}; the exact one wins the gold,
    # the near-duplicate is a false positive; years 5 != 2
    assert experience_counts(gold, pred, threshold=0.8) == {
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "joint_tp": 0,
        "years_correct": 0,
        "years_total": 1,
    }


def test_years_accuracy_without_any_matched_years_is_undefined() -> None:
    doc = experience_doc("0", [{"title": "Baker", "years": None}])
    scored = score_experience([make_experience_item(doc, '[{"title": "Baker"}]')], SETTINGS)
    assert math.isnan(scored.statistics["years_accuracy"].value())
    # title and joint (None = None) still perfect
    assert scored.statistics["joint_f1"].value() == 1.0


# --------------------------------------------------------------------------- rjdb_explain


def test_render_explanation_template() -> None:
    assert (
        render_explanation(["SQL", "Excel"], "reduced", "Data Analyst")
        == "Missing skills: SQL, Excel. Experience gap: the experience as Data Analyst is "
        "shorter than required."
    )
    assert render_explanation([], "none", "") == "Missing skills: none. Experience gap: none."
    assert (
        render_explanation(["Python"], "removed", "Baker")
        == "Missing skills: Python. Experience gap: the experience as Baker is missing."
    )


EXPLAIN_DOCS = [
    {
        "task": "rjdb_explain",
        "doc_key": "0",
        "gold_missing_skills": ["SQL", "Excel"],
        "gold_gap_kind": "reduced",
        "gold_gap_title": "Data Analyst",
        "reference": "Missing skills: SQL, Excel. Experience gap: the experience as Data Analyst "
        "is shorter than required.",
    },
    {
        "task": "rjdb_explain",
        "doc_key": "1",
        "gold_missing_skills": ["Python"],
        "gold_gap_kind": "removed",
        "gold_gap_title": "Baker",
        "reference": "Missing skills: Python. Experience gap: the experience as Baker is missing.",
    },
    {
        "task": "rjdb_explain",
        "doc_key": "2",
        "gold_missing_skills": ["Go", "Rust"],
        "gold_gap_kind": "none",
        "gold_gap_title": "",
        "reference": "Missing skills: Go, Rust. Experience gap: none.",
    },
]
EXPLAIN_OUTPUTS = [
    '{"missing_skills": ["SQL", "Excel"], "experience_gap": {"kind": "reduced", "title": "Data Analyst"}}',
    '```json\n{"missing_skills": ["python", "Java"], "experience_gap": {"kind": "none", "title": ""}}\n```',
    "I cannot tell.",
]


@pytest.fixture(scope="module")
def explain_scored():
    items = [make_explain_item(d, o) for d, o in zip(EXPLAIN_DOCS, EXPLAIN_OUTPUTS, strict=True)]
    return items, score_explain(items, SETTINGS)


def test_make_explain_item_renders_parsed_answers_and_blanks_failures(explain_scored) -> None:
    items, _ = explain_scored
    assert items[0]["rendered"] == EXPLAIN_DOCS[0]["reference"]
    assert items[1]["rendered"] == "Missing skills: python, Java. Experience gap: none."
    assert items[2]["parsed_ok"] is False
    assert items[2]["rendered"] == ""


def test_score_explain_by_hand(explain_scored) -> None:
    _, scored = explain_scored
    values = values_of(scored)
    # missing skills: doc 0 tp=2; doc 1 tp=1 (python) fp=1 (java); doc 2 fn=2 (unparsed)
    #   pooled tp=3 fp=1 fn=2 -> P=3/4 R=3/5 F1=6/(6+1+2)=2/3
    # gap kind: doc 0 right, doc 1 none != removed, doc 2 None != none -> 1/3
    # ROUGE-L: doc 0 identical = 1; doc 1 reference tokens
    #   [missing skills python experience gap the experience as baker is missing] (11),
    #   prediction [missing skills python java experience gap none] (7), LCS 5 -> 2*5/18 = 5/9;
    #   doc 2 empty rendering -> 0; mean (1 + 5/9 + 0)/3 = 14/27
    expected = {
        "missing_skills_f1": 2 / 3,
        "missing_skills_precision": 3 / 4,
        "missing_skills_recall": 3 / 5,
        "gap_kind_accuracy": 1 / 3,
        "rougeL": 14 / 27,
        "parse_failure_rate": 1 / 3,
    }
    assert {k: values[k] for k in expected} == pytest.approx(expected)
    assert [p["rougeL"] for p in scored.per_item] == pytest.approx([1.0, 5 / 9, 0.0])


def test_score_explain_rouge_l_equals_rouge_score(explain_scored) -> None:
    items, scored = explain_scored
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    expected = [scorer.score(i["reference"], i["rendered"])["rougeL"].fmeasure for i in items]
    assert [p["rougeL"] for p in scored.per_item] == pytest.approx(expected)


def test_score_explain_bertscore_is_one_for_exact_and_zero_for_unparsed(explain_scored) -> None:
    _, scored = explain_scored
    bert = [p["bertscore_f1"] for p in scored.per_item]
    assert bert[0] == 1.0
    assert 0.0 < bert[1] < 1.0
    assert bert[2] == 0.0
    assert scored.statistics["bertscore_f1"].value() == pytest.approx(sum(bert) / 3)


# --------------------------------------------------------------------------- rjdb_edit

EDIT_DOCS = [
    {
        "task": "rjdb_edit",
        "doc_key": "0",
        "removed_skills": ["SQL"],
        "target": "Skills: SQL, Excel.\nData Analyst (2018 - 2021)",
    },
    {
        "task": "rjdb_edit",
        "doc_key": "1",
        "removed_skills": ["Customer Service", "Excel", "Welding"],
        "target": "Skills: Customer Service, Excel, Welding, Python.\nCook (2015 - 2019)",
    },
    {
        "task": "rjdb_edit",
        "doc_key": "2",
        "removed_skills": ["Go"],
        "target": "Skills: Go.\nDeveloper (2020 - 2022)",
    },
]
EDIT_OUTPUTS = [
    "\n  Skills: SQL, Excel.\nData Analyst (2018 - 2021)  \n",  # the gold, padded
    "Skills: customer  service, Python.\nCook (2015 - 2019)",  # 1 of 3 removed skills back
    "",  # nothing
]


@pytest.fixture(scope="module")
def edit_scored():
    items = [make_edit_item(d, o) for d, o in zip(EDIT_DOCS, EDIT_OUTPUTS, strict=True)]
    return items, score_edit(items, SETTINGS)


def test_make_edit_item_strips_the_output(edit_scored) -> None:
    items, _ = edit_scored
    assert items[0]["prediction"] == EDIT_DOCS[0]["target"]
    assert items[1]["removed_skills"] == ["Customer Service", "Excel", "Welding"]


def test_restored_skill_recall_is_pooled_over_skills(edit_scored) -> None:
    _, scored = edit_scored
    # restored: doc 0 1/1 (sql), doc 1 1/3 (customer service, normalised), doc 2 0/1
    # pooled (1 + 1 + 0) / (1 + 3 + 1) = 2/5; the mean of per-doc shares would be 4/9
    assert scored.statistics["restored_skill_recall"].value() == pytest.approx(2 / 5)
    assert [(p["restored"], p["removed"]) for p in scored.per_item] == [
        (1.0, 1.0),
        (1.0, 3.0),
        (0.0, 1.0),
    ]


def test_score_edit_rouge_equals_rouge_score_and_is_one_for_the_gold(edit_scored) -> None:
    items, scored = edit_scored
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    for t in types:
        expected = [scorer.score(i["gold"], i["prediction"])[t].fmeasure for i in items]
        assert expected[0] == pytest.approx(1.0) and expected[2] == 0.0
        assert [p[t] for p in scored.per_item] == pytest.approx(expected)
        assert scored.statistics[t].value() == pytest.approx(sum(expected) / 3)


def test_score_edit_bertscore_one_for_gold_zero_for_empty(edit_scored) -> None:
    _, scored = edit_scored
    bert = [p["bertscore_f1"] for p in scored.per_item]
    assert bert[0] == 1.0 and bert[2] == 0.0 and 0.0 < bert[1] < 1.0
    for name in ("bertscore_precision", "bertscore_recall", "bertscore_f1"):
        value = scored.statistics[name].value()
        assert 1 / 3 < value < 2 / 3  # (1 + x + 0) / 3 with 0 < x < 1


def test_restored_skills_counts_normalised_occurrences() -> None:
    # "customer  service" matches after whitespace collapse; "c++" is absent
    assert restored_skills(["Customer Service", "C++"], "Skills: customer  service, Python") == 1
    assert restored_skills(["C++", "SQL"], "Skills: C++ and sql.") == 2


def test_a_skill_inside_another_word_is_not_restored() -> None:
    assert restored_skills(["Java"], "Skills: JavaScript, HTML") == 0
    assert restored_skills(["R"], "Experienced Python developer") == 0


# --------------------------------------------------------------------------- score_items


def test_score_items_reports_the_spec_metrics_in_order_with_intervals() -> None:
    spec = task_spec("rjdb_match")
    scores = score_items("rjdb_match", match_items(), SETTINGS)
    assert scores.task == "rjdb_match" and scores.n == 5
    assert list(scores.values) == list(spec.metric_names)
    assert scores.values["accuracy"] == pytest.approx(2 / 5)
    assert scores.values["macro_f1"] == pytest.approx(9 / 20)
    for name in spec.metric_names:
        low, high = scores.intervals[name]
        assert low <= high
        assert low >= 0.0 and high <= 1.0
    assert len(scores.per_item) == 5


def test_score_items_for_skills_uses_spec_order_and_hand_values() -> None:
    spec = task_spec("rjdb_skills")
    scores = score_items("rjdb_skills", skill_items(), SETTINGS)
    assert list(scores.values) == list(spec.metric_names)
    assert scores.values["micro_f1"] == pytest.approx(10 / 19)
    assert set(spec.metric_names) <= set(scores.intervals)


def test_scoring_is_deterministic_and_intervals_follow_the_seed() -> None:
    first = score_items("rjdb_match", match_items(), SETTINGS)
    again = score_items("rjdb_match", match_items(), SETTINGS)
    other = score_items("rjdb_match", match_items(), ScoringSettings(seed=1))
    assert again.values == first.values and again.intervals == first.intervals
    assert again.per_item == first.per_item
    assert other.values == pytest.approx(first.values)


def test_score_items_as_dict_adds_ci_and_turns_nan_into_none() -> None:
    doc = experience_doc("0", [{"title": "Baker", "years": None}])
    scores = score_items(
        "rjdb_experience", [make_experience_item(doc, '[{"title": "Baker"}]')], SETTINGS
    )
    record = scores.as_dict()
    assert record["title_f1"] == 1.0
    assert record["title_f1_ci"] == [1.0, 1.0]
    assert record["years_accuracy"] is None
    assert record["years_accuracy_ci"] == [None, None]


def test_score_items_unknown_task_raises() -> None:
    with pytest.raises(InputError):
        score_items("rjdb_nope", [], SETTINGS)
