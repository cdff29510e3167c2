"""String normalisation and set-level P/R/F1 (exact and one-to-one fuzzy) for extraction tasks.

Expected values are hand-computed (arithmetic in the comments) or come from scikit-learn's
multilabel ``f1_score`` on the same sets, never from the code under test.
"""

from __future__ import annotations

import difflib

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from rjdb_bench.metrics.normalize import normalize, normalized_list, normalized_set
from rjdb_bench.metrics.sets import (
    PRF,
    match_one_to_one,
    prf_from_counts,
    set_counts,
    set_prf,
    soft_set_counts,
    soft_set_prf,
    string_similarity,
)


def ratio(a: str, b: str) -> float:
    """difflib's ratio, computed directly (the similarity the contract documents)."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# --------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＳＱＬ", "sql"),  # full-width letters -> ASCII under NFKC
        ("\ufb01nance", "finance"),  # the "fi" ligature -> "f" + "i" under NFKC
        ("Ｃ＋＋", "c++"),  # full-width plus signs -> "+" under NFKC, then kept
        ("PROJECT Management", "project management"),
        ("  Project \t\n  Management  ", "project management"),
        ("Project\u00a0Management", "project management"),  # no-break space -> " "
        ("**Python**", "python"),
        ("(PALS)", "pals"),
        ('"Excel",', "excel"),
        ("\u2022 Excel", "excel"),
        ("\u201cTeamwork\u201d", "teamwork"),
        ("- Customer Service.", "customer service"),
        ("Node.js.", "node.js"),  # inner punctuation is kept, the trailing full stop is not
        ("R&D", "r&d"),
        ("e-mail", "e-mail"),
        ("...", ""),
        ("", ""),
    ],
)
def test_normalize_applies_nfkc_case_punctuation_and_whitespace(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C++", "c++"),
        ("c++.", "c++"),
        ("(C#)", "c#"),
        ("F#", "f#"),
        ("A+", "a+"),
        ("(A+)", "a+"),
        (".NET", ".net"),
        ("...NET", ".net"),
        (".NET Core", ".net core"),
        ("C/C++", "c/c++"),
    ],
)
def test_normalize_keeps_plus_hash_and_leading_dot_of_skill_names(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_c_cpp_and_csharp_stay_three_distinct_skills() -> None:
    assert len({normalize(s) for s in ("C", "C++", "C#", "c.", "(c++)", "C#,")}) == 3


@pytest.mark.parametrize("raw", ["+", "#", "++", ".", " + ", "a +"])
def test_lone_plus_hash_and_dot_are_still_stripped(raw: str) -> None:
    # "a +": the "+" follows a space, not a letter, so it is punctuation, not part of a name
    assert normalize(raw) == ("a" if raw == "a +" else "")


def test_normalize_is_idempotent() -> None:
    for raw in ("  **C++**. ", ".NET", "(Project  Management)", "Ｃ＃", "A+,"):
        once = normalize(raw)
        assert normalize(once) == once


def test_normalized_set_drops_empty_items_and_duplicates() -> None:
    assert normalized_set(["SQL", "sql ", "  ", "**", "Excel", "EXCEL."]) == {"sql", "excel"}


def test_normalized_list_keeps_first_seen_order() -> None:
    assert normalized_list(["Excel", "SQL", "excel", "", "Python", "sql."]) == [
        "excel",
        "sql",
        "python",
    ]


# --------------------------------------------------------------------------- prf_from_counts


def test_prf_from_counts_is_vectorised_with_the_contract_conventions() -> None:
    tp = np.array([2, 0, 0, 0, 3])
    fp = np.array([1, 0, 0, 2, 0])
    fn = np.array([3, 0, 4, 0, 0])
    precision, recall, f1 = prf_from_counts(tp, fp, fn)
    # row 0: P=2/3 R=2/5 F1=2*2/(2*2+1+3)=0.5
    # row 1: nothing gold, nothing predicted -> 1, 1, 1
    # row 2: nothing predicted, gold present -> P=0 R=0 F1=0
    # row 3: gold empty, something predicted -> P=0 R=0 F1=0
    # row 4: perfect -> 1, 1, 1
    assert precision == pytest.approx([2 / 3, 1.0, 0.0, 0.0, 1.0])
    assert recall == pytest.approx([2 / 5, 1.0, 0.0, 0.0, 1.0])
    assert f1 == pytest.approx([0.5, 1.0, 0.0, 0.0, 1.0])
    assert precision.shape == recall.shape == f1.shape == (5,)


def test_prf_from_counts_accepts_scalars_and_batched_matrices() -> None:
    precision, recall, f1 = prf_from_counts(1, 1, 0)
    assert (float(precision), float(recall), float(f1)) == pytest.approx((0.5, 1.0, 2 / 3))
    tp = np.array([[1, 0], [2, 0]])
    fp = np.array([[0, 0], [2, 1]])
    fn = np.array([[1, 0], [0, 0]])
    _, _, f1 = prf_from_counts(tp, fp, fn)
    # [[2/(2+0+1), 1], [4/(4+2+0), 0]]
    assert f1 == pytest.approx(np.array([[2 / 3, 1.0], [2 / 3, 0.0]]))


# --------------------------------------------------------------------------- set_counts / set_prf


def test_set_counts_per_document() -> None:
    counts = set_counts(
        [["SQL", "Excel"], ["Python"], [], ["Go"]],
        [["sql", "R"], [], [], ["Go", "Rust", "Java"]],
    )
    # doc 0: tp={sql} fp={r} fn={excel}; doc 1: fn={python}; doc 2: nothing; doc 3: tp=1 fp=2
    assert counts.tolist() == [[1, 1, 1], [0, 0, 1], [0, 0, 0], [1, 2, 0]]
    assert counts.shape == (4, 3)


def test_duplicates_in_one_prediction_count_once() -> None:
    counts = set_counts([["SQL"]], [["SQL", "sql", " SQL.", "Excel", "excel"]])
    # predicted set {sql, excel}: tp=1 fp=1 fn=0 (not tp=3, fp=2)
    assert counts.tolist() == [[1, 1, 0]]


def test_duplicates_in_gold_count_once() -> None:
    assert set_counts([["SQL", "sql"]], [["Excel"]]).tolist() == [[0, 1, 1]]


def test_matching_is_on_normalised_strings() -> None:
    counts = set_counts(
        [["Project Management", "C++", ".NET", "ＳＱＬ"]],
        [["  project   management. ", "(c++)", ".net", "sql", "C"]],
    )
    # 4 normalised matches; "c" is not "c++" -> fp=1
    assert counts.tolist() == [[4, 1, 0]]


def test_cpp_prediction_does_not_match_c_gold() -> None:
    assert set_counts([["C"]], [["C++", "C#"]]).tolist() == [[0, 2, 1]]


def test_micro_pools_counts_over_documents() -> None:
    gold = [["a", "b", "c", "d"], ["e"], ["f", "g"]]
    pred = [["a", "b", "x"], ["e", "y", "z"], []]
    # doc counts: (2,1,2), (1,2,0), (0,0,2) -> pooled tp=3 fp=3 fn=4
    # P=3/6 R=3/7 F1=2*3/(2*3+3+4)=6/13
    assert set_prf(gold, pred, average="micro") == pytest.approx((3 / 6, 3 / 7, 6 / 13))


def test_macro_is_mean_of_per_document_scores() -> None:
    gold = [["a", "b", "c", "d"], ["e"], ["f", "g"]]
    pred = [["a", "b", "x"], ["e", "y", "z"], []]
    # doc 0: P=2/3 R=2/4 F1=4/7; doc 1: P=1/3 R=1 F1=2/4; doc 2: P=0 R=0 F1=0
    expected = ((2 / 3 + 1 / 3 + 0) / 3, (2 / 4 + 1 + 0) / 3, (4 / 7 + 2 / 4 + 0) / 3)
    result = set_prf(gold, pred, average="macro")
    assert result == pytest.approx(expected)
    assert isinstance(result, PRF)
    assert result.f1 == pytest.approx(15 / 42)


def test_empty_gold_and_empty_prediction_scores_one_in_macro() -> None:
    assert set_prf([[]], [[]], average="macro") == pytest.approx((1.0, 1.0, 1.0))
    # one perfect-empty doc and one doc with gold but nothing predicted: F1 (1 + 0) / 2
    assert set_prf([[], ["sql"]], [[], []], average="macro").f1 == pytest.approx(0.5)


def test_empty_gold_doc_does_not_change_micro() -> None:
    gold, pred = [["sql", "excel"]], [["sql"]]
    # tp=1 fp=0 fn=1 -> P=1 R=1/2 F1=2/3, with or without an extra all-empty document
    assert set_prf(gold, pred) == pytest.approx((1.0, 0.5, 2 / 3))
    assert set_prf([*gold, []], [*pred, []]) == pytest.approx((1.0, 0.5, 2 / 3))


def test_nothing_predicted_with_gold_present_has_precision_zero() -> None:
    assert set_prf([["sql", "excel"]], [[]], average="micro") == pytest.approx((0.0, 0.0, 0.0))
    assert set_prf([["sql", "excel"]], [[]], average="macro") == pytest.approx((0.0, 0.0, 0.0))


def test_prediction_with_empty_gold_has_recall_zero() -> None:
    assert set_prf([[]], [["sql"]], average="macro") == pytest.approx((0.0, 0.0, 0.0))


def test_prediction_items_that_normalise_to_nothing_are_ignored() -> None:
    # "**" and "" are not predictions: the doc is empty/empty and scores 1 in macro
    assert set_prf([[]], [["**", "", " - "]], average="macro").f1 == pytest.approx(1.0)


def test_unknown_average_raises() -> None:
    with pytest.raises(ValueError, match="average"):
        set_prf([["a"]], [["a"]], average="weighted")


def test_mismatched_document_counts_raise() -> None:
    with pytest.raises(ValueError):
        set_counts([["a"], ["b"]], [["a"]])
    with pytest.raises(ValueError):
        soft_set_counts([["a"]], [])


def test_no_documents_gives_empty_counts() -> None:
    assert set_counts([], []).shape == (0, 3)


def _random_sets(seed: int, n_docs: int) -> tuple[list[list[str]], list[list[str]]]:
    rng = np.random.default_rng(seed)
    vocab = [f"skill{i}" for i in range(12)]
    gold, pred = [], []
    for _ in range(n_docs):
        gold.append(list(rng.choice(vocab, size=rng.integers(0, 5), replace=False)))
        pred.append(list(rng.choice(vocab, size=rng.integers(0, 5), replace=False)))
    return gold, pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_micro_f1_equals_sklearn_multilabel_micro_f1(seed: int) -> None:
    gold, pred = _random_sets(seed, 60)
    binarizer = MultiLabelBinarizer().fit(gold + pred)
    y_true, y_pred = binarizer.transform(gold), binarizer.transform(pred)
    expected = f1_score(y_true, y_pred, average="micro", zero_division=0)
    assert set_prf(gold, pred, average="micro").f1 == pytest.approx(expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_macro_f1_equals_sklearn_samples_f1_with_empty_empty_scoring_one(seed: int) -> None:
    gold, pred = _random_sets(seed, 60)
    gold[0], pred[0] = [], []  # make sure the empty/empty case occurs
    gold[1], pred[1] = ["skill1"], []  # and nothing predicted with gold present
    binarizer = MultiLabelBinarizer().fit(gold + pred)
    y_true, y_pred = binarizer.transform(gold), binarizer.transform(pred)
    # sklearn's per-sample F1 = 2tp/(2tp+fp+fn); zero_division only fires for empty/empty docs
    expected = f1_score(y_true, y_pred, average="samples", zero_division=1.0)
    assert set_prf(gold, pred, average="macro").f1 == pytest.approx(expected)


# --------------------------------------------------------------------------- soft matching


def test_string_similarity_is_difflib_ratio() -> None:
    # "project management" (18) vs "project management skills" (25): 18 matching chars
    # -> 2*18/(18+25) = 36/43
    assert string_similarity("project management", "project management skills") == pytest.approx(
        36 / 43
    )
    assert string_similarity("sql", "sql") == 1.0
    assert string_similarity("abc", "xyz") == 0.0


def test_two_near_duplicate_predictions_cannot_both_match_one_gold() -> None:
    gold = ["project management"]
    pred = ["project managment", "project management skills"]
    assert ratio(gold[0], pred[0]) >= 0.8 and ratio(gold[0], pred[1]) >= 0.8
    # one-to-one: tp=1, the other near-duplicate is a false positive
    assert soft_set_counts([gold], [pred]).tolist() == [[1, 1, 0]]
    pairs = match_one_to_one(gold, pred, threshold=0.8)
    # the closer one wins: 2*17/(18+17)=34/35 beats 36/43
    assert [(g, p) for g, p, _ in pairs] == [(0, 0)]
    assert pairs[0][2] == pytest.approx(34 / 35)


def test_one_prediction_cannot_match_two_gold_strings() -> None:
    gold = ["data analyst", "data analysts"]
    pred = ["data analyst"]
    assert soft_set_counts([gold], [pred]).tolist() == [[1, 0, 1]]


def test_soft_threshold_boundary_is_inclusive() -> None:
    # "abcde" vs "abcdf": 4 matching characters, 2*4/(5+5) = 0.8 exactly
    assert ratio("abcde", "abcdf") == 0.8
    assert match_one_to_one(["abcde"], ["abcdf"], threshold=0.8) == [(0, 0, 0.8)]
    assert match_one_to_one(["abcde"], ["abcdf"], threshold=0.8000001) == []
    assert soft_set_counts([["abcde"]], [["abcdf"]], threshold=0.8).tolist() == [[1, 0, 0]]
    assert soft_set_counts([["abcde"]], [["abcdf"]], threshold=0.81).tolist() == [[0, 1, 1]]


def test_soft_matching_maximises_total_similarity_where_greedy_matches_fewer() -> None:
    gold = ["project management", "project manager"]
    pred = ["project managment", "product management"]
    # similarities (difflib: 2*matching chars / total length):
    #   g0-p0 = 2*17/(18+17) = 0.971   g0-p1 = 2*16/(18+18) = 0.889
    #   g1-p0 = 2*14/(15+17) = 0.875   g1-p1 = 2*12/(15+18) = 0.727 (< 0.8)
    assert ratio(gold[0], pred[0]) == pytest.approx(34 / 35)
    assert ratio(gold[0], pred[1]) == pytest.approx(32 / 36)
    assert ratio(gold[1], pred[0]) == pytest.approx(28 / 32)
    assert ratio(gold[1], pred[1]) == pytest.approx(24 / 33)
    # greedy (best pair first) takes g0-p0 and is then left with g1-p1 below threshold: 1 match.
    # optimal: g0-p1 + g1-p0 = 0.889 + 0.875 = 1.764 > 0.971, two matches.
    pairs = match_one_to_one(gold, pred, threshold=0.8)
    assert sorted((g, p) for g, p, _ in pairs) == [(0, 1), (1, 0)]
    assert sum(s for _, _, s in pairs) == pytest.approx(32 / 36 + 28 / 32)
    assert soft_set_counts([gold], [pred]).tolist() == [[2, 0, 0]]


def test_soft_matching_prefers_higher_total_among_equally_many_matches() -> None:
    gold = ["data analysis", "data analytics"]
    pred = ["data analytic", "data analysis"]
    # g0-p1 exact (1.0) + g1-p0 = 2*13/(14+13) = 26/27  -> total 1.963
    # g0-p0 = 2*11/(13+13) = 11/13 + g1-p1 = 2*12/(14+13) = 24/27 -> total 1.735
    assert ratio(gold[0], pred[0]) == pytest.approx(11 / 13)
    assert ratio(gold[1], pred[1]) == pytest.approx(24 / 27)
    pairs = sorted(match_one_to_one(gold, pred, threshold=0.5))
    assert [(g, p) for g, p, _ in pairs] == [(0, 1), (1, 0)]
    assert pairs[0][2] == 1.0
    assert pairs[1][2] == pytest.approx(26 / 27)


def test_soft_counts_normalise_before_matching() -> None:
    # "PROJECT MANAGEMENT." normalises to the gold exactly; "SQL" == "sql"
    counts = soft_set_counts(
        [["Project Management", "sql"]], [["PROJECT MANAGEMENT.", "SQL", "SQL"]]
    )
    assert counts.tolist() == [[2, 0, 0]]


def test_soft_micro_prf_pools_fuzzy_true_positives() -> None:
    gold = [["project management", "sql"], ["customer service"]]
    pred = [["Project management skills", "python"], ["customer services", "sales"]]
    # doc 0: pm ~ pm skills (36/43 >= 0.8) -> tp=1, fp=1 (python), fn=1 (sql)
    # doc 1: customer service ~ services (2*16/33 = 0.97) -> tp=1, fp=1 (sales), fn=0
    # pooled tp=2 fp=2 fn=1 -> P=1/2 R=2/3 F1=4/(4+2+1)=4/7
    assert soft_set_prf(gold, pred) == pytest.approx((0.5, 2 / 3, 4 / 7))
    # exact matching finds none of these
    assert set_prf(gold, pred).f1 == 0.0


def test_soft_prf_is_at_least_exact_prf() -> None:
    gold, pred = _random_sets(5, 40)
    assert soft_set_prf(gold, pred).f1 >= set_prf(gold, pred).f1


def test_match_one_to_one_with_an_empty_side_is_empty() -> None:
    assert match_one_to_one([], ["sql"]) == []
    assert match_one_to_one(["sql"], []) == []
    assert soft_set_counts([["sql"], []], [[], ["sql"]]).tolist() == [[0, 0, 1], [0, 1, 0]]
