"""ROUGE (cross-checked against rouge-score called directly and by hand) and BERTScore.

BERTScore runs the real bundled MiniLM encoder (offline, default ``BertScoreConfig()``); the
encoder is loaded once per process and the corpus is scored in one call per fixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from rouge_score import rouge_scorer

from rjdb_bench.metrics.text import ROUGE_TYPES, BertScoreConfig, bertscore, rouge_f

PAIRS = [
    ("the cat sat on the mat", "the cat on mat"),
    ("one two six ten", "ten six two one"),
    ("one two\nsix ten", "six ten\none two"),
    ("Skills: SQL, Excel, Project Management.", "skills sql excel and project managers"),
    (
        "Data Analyst (2018 - 2021)\nManaged reporting pipelines.",
        "Data analyst 2018-2021; managing reports",
    ),
    ("Led a team of five engineers.", ""),
    ("", "some text"),
]


# --------------------------------------------------------------------------- ROUGE


def test_rouge_f_equals_rouge_score_called_directly() -> None:
    references = [r for r, _ in PAIRS]
    predictions = [p for _, p in PAIRS]
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    expected = [scorer.score(r, p) for r, p in PAIRS]
    result = rouge_f(references, predictions)
    assert set(result) == set(ROUGE_TYPES)
    for rouge_type in ROUGE_TYPES:
        assert result[rouge_type].shape == (len(PAIRS),)
        assert result[rouge_type] == pytest.approx([e[rouge_type].fmeasure for e in expected])


def test_rouge_hand_case_with_unigram_bigram_and_lcs_counts() -> None:
    result = rouge_f(["the cat sat on the mat"], ["the cat on mat"])
    # reference 6 tokens, prediction 4 tokens (all <= 3 characters: no stemming)
    # ROUGE-1: clipped overlap the:1 cat:1 on:1 mat:1 = 4 -> P=4/4 R=4/6 F=2*1*(2/3)/(1+2/3)=0.8
    assert result["rouge1"][0] == pytest.approx(0.8)
    # ROUGE-2: ref bigrams {the cat, cat sat, sat on, on the, the mat} (5), prediction
    # {the cat, cat on, on mat} (3); overlap {the cat} = 1 -> P=1/3 R=1/5 F=2/(3+5)=0.25
    assert result["rouge2"][0] == pytest.approx(0.25)
    # ROUGE-L: LCS = the cat on mat = 4 -> F = 2*4/(6+4) = 0.8
    assert result["rougeL"][0] == pytest.approx(0.8)


def test_rouge_l_uses_order_but_rouge_1_does_not() -> None:
    result = rouge_f(["one two six ten"], ["ten six two one"])
    # all 4 unigrams shared -> 1.0; no shared bigram -> 0; LCS length 1 -> F = 2*1/(4+4) = 0.25
    assert result["rouge1"][0] == pytest.approx(1.0)
    assert result["rouge2"][0] == pytest.approx(0.0)
    assert result["rougeL"][0] == pytest.approx(0.25)


def test_rouge_lsum_splits_sentences_on_newlines() -> None:
    result = rouge_f(["one two\nsix ten"], ["six ten\none two"])
    # rougeL on the whole sequence: LCS(one two six ten, six ten one two) = 2 -> F = 4/8 = 0.5
    # rougeLsum: each reference line is covered by a prediction line (2 + 2 hits) -> 1.0
    # rouge2: ref {one two, two six, six ten}, pred {six ten, ten one, one two}: 2 of 3 -> 2/3
    assert result["rougeL"][0] == pytest.approx(0.5)
    assert result["rougeLsum"][0] == pytest.approx(1.0)
    assert result["rouge2"][0] == pytest.approx(2 / 3)


def test_rouge_stems_by_default() -> None:
    stemmed = rouge_f(["running dogs"], ["run dog"], types=["rouge1"])["rouge1"][0]
    unstemmed = rouge_f(["running dogs"], ["run dog"], types=["rouge1"], use_stemmer=False)
    # Porter: running -> run, dogs -> dog: 2 of 2 shared; without stemming 0 shared
    assert stemmed == pytest.approx(1.0)
    assert unstemmed["rouge1"][0] == pytest.approx(0.0)


def test_rouge_ignores_case_and_punctuation() -> None:
    result = rouge_f(["Skills: SQL, Excel!"], ["skills sql excel"], types=["rouge1", "rougeL"])
    assert result["rouge1"][0] == pytest.approx(1.0)
    assert result["rougeL"][0] == pytest.approx(1.0)


def test_rouge_of_an_empty_prediction_is_zero() -> None:
    result = rouge_f(["Led a team of five engineers."], [""])
    for rouge_type in ROUGE_TYPES:
        assert result[rouge_type][0] == 0.0


def test_rouge_returns_only_the_requested_types() -> None:
    assert list(rouge_f(["a b"], ["a b"], types=["rougeL"])) == ["rougeL"]


def test_rouge_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError):
        rouge_f(["a", "b"], ["a"])


def test_rouge_of_no_documents_is_empty() -> None:
    assert all(len(v) == 0 for v in rouge_f([], []).values())


# --------------------------------------------------------------------------- BERTScore

REFERENCE = "The candidate has five years of experience in SQL and data analysis."
SKILLS = "Skills: SQL, Excel, Python, project management, customer service."
CASES = {
    "identical": (REFERENCE, REFERENCE),
    "paraphrase": (
        REFERENCE,
        "The applicant has worked with SQL and analysed data for five years.",
    ),
    "unrelated": (REFERENCE, "Bananas are rich in potassium and grow in tropical climates."),
    "sub_span": (SKILLS, "Skills: SQL."),
}


@pytest.fixture(scope="module")
def scores() -> dict[str, tuple[float, float, float]]:
    """One BERTScore call over all cases: name -> (precision, recall, f1)."""
    references = [r for r, _ in CASES.values()]
    predictions = [p for _, p in CASES.values()]
    precision, recall, f1 = bertscore(references, predictions)
    for array in (precision, recall, f1):
        assert isinstance(array, np.ndarray)
        assert array.shape == (len(CASES),)
    return {
        name: (float(precision[i]), float(recall[i]), float(f1[i])) for i, name in enumerate(CASES)
    }


def test_identical_texts_score_exactly_one(scores: dict) -> None:
    assert scores["identical"] == (1.0, 1.0, 1.0)


def test_paraphrase_scores_between_unrelated_and_identical(scores: dict) -> None:
    unrelated, paraphrase = scores["unrelated"][2], scores["paraphrase"][2]
    assert unrelated < paraphrase < 1.0
    # a clear margin, not a rounding difference
    assert paraphrase - unrelated > 0.3


def test_short_candidate_inside_the_reference_has_precision_above_recall(scores: dict) -> None:
    precision, recall, f1 = scores["sub_span"]
    assert precision > recall
    # F1 is the harmonic mean of P and R (to bert-score's 6 rounded decimals)
    assert f1 == pytest.approx(2 * precision * recall / (precision + recall), abs=2e-6)


def test_scores_are_rounded_to_six_decimals(scores: dict) -> None:
    for values in scores.values():
        for value in values:
            assert value == round(value, 6)


def test_bertscore_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError):
        bertscore(["a", "b"], ["a"])


def test_bertscore_of_no_documents_is_three_empty_arrays() -> None:
    precision, recall, f1 = bertscore([], [])
    assert precision.shape == recall.shape == f1.shape == (0,)


def test_empty_or_blank_texts_score_zero_and_keep_positions(scores: dict) -> None:
    unrelated = CASES["unrelated"]
    references = [REFERENCE, REFERENCE, unrelated[0], "", REFERENCE]
    predictions = ["", REFERENCE, unrelated[1], REFERENCE, "  \n "]
    precision, recall, f1 = bertscore(references, predictions)
    assert precision.shape == recall.shape == f1.shape == (5,)
    # empty candidate, empty reference, blank candidate: 0 (bert-score's rule)
    for i in (0, 3, 4):
        assert (precision[i], recall[i], f1[i]) == (0.0, 0.0, 0.0)
    # the non-empty pairs keep their own scores, in their own positions
    assert (precision[1], recall[1], f1[1]) == (1.0, 1.0, 1.0)
    assert (precision[2], recall[2], f1[2]) == pytest.approx(scores["unrelated"], abs=1e-5)


def test_default_config_describes_the_bundled_minilm() -> None:
    record = BertScoreConfig().describe()
    assert record["bundled_encoder"] is True
    assert record["num_layers"] == 6
    assert record["idf"] is False
    assert record["rescale_with_baseline"] is False
    assert "all-MiniLM-L6-v2" in record["encoder"]
