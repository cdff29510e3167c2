"""Span projection and strict/loose span P/R/F1 for the OOD skill-extraction tasks.

Expected values are hand-computed (arithmetic in the comments) or come from seqeval on the
same BIO layers, never from the code under test.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from seqeval.metrics import f1_score, precision_score, recall_score

from rjdb_bench.metrics.bio import bio_spans, spans_to_bio
from rjdb_bench.metrics.bootstrap import bootstrap_ci
from rjdb_bench.metrics.spans import (
    Projection,
    loose_counts,
    project_strings,
    span_counts,
    span_scores,
    span_statistics,
    strict_counts,
    strip_punctuation,
)

METRICS = [
    "strict_f1",
    "strict_precision",
    "strict_recall",
    "loose_f1",
    "loose_precision",
    "loose_recall",
    "unplaced_rate",
]


def project(sentence: str, strings: list[str]) -> Projection:
    """Project ``strings`` onto a whitespace-tokenised ``sentence``."""
    return project_strings(sentence.split(), strings)


# --------------------------------------------------------------------------- projection


def test_a_string_listed_twice_claims_two_occurrences() -> None:
    assert project("Python and Python", ["Python", "Python"]) == Projection(((0, 1), (2, 3)))


def test_a_string_listed_twice_with_one_occurrence_is_one_duplicate() -> None:
    assert project("Python and SQL", ["Python", "python"]) == Projection(((0, 1),), (), 1)


def test_three_listings_two_occurrences() -> None:
    # data, data, data over two free "data" tokens: two placed, the third a duplicate.
    assert project("data , data", ["data"] * 3) == Projection(((0, 1), (2, 3)), (), 1)


@pytest.mark.parametrize("strings", [["data", "data analysis"], ["data analysis", "data"]])
def test_nested_strings_wait_for_the_strings_containing_them(strings: list[str]) -> None:
    # "data analysis" takes tokens 0-1; "data" takes the next free "data" (token 3).
    assert project("data analysis and data entry", strings) == Projection(((0, 2), (3, 4)))
    # Only one "data": the nested string finds no free occurrence and was never placed itself,
    # so it is unplaced (a false positive), not a duplicate.
    assert project("strong data analysis skills", strings) == Projection(((1, 3),), ("data",))


def test_strings_are_placed_in_reading_order_after_the_previous_one() -> None:
    sentence = "a marketing education ; relevant marketing experience"
    # "marketing" follows "relevant" in the list, so it takes the occurrence after it (token 5),
    # not the unannotated first one (token 1).
    assert project(sentence, ["relevant", "marketing"]).spans == ((4, 5), (5, 6))
    # Listed alone, it takes the first occurrence.
    assert project(sentence, ["marketing"]).spans == ((1, 2),)
    # Listed before "relevant", the cursor is at the start: first occurrence again.
    assert project(sentence, ["marketing", "relevant"]).spans == ((1, 2), (4, 5))


def test_an_occurrence_with_the_same_casing_is_preferred() -> None:
    sentence = "Mgi Recruitment , among leading recruitment agencies"
    assert project(sentence, ["recruitment"]).spans == ((5, 6),)
    assert project(sentence, ["Recruitment"]).spans == ((1, 2),)
    assert project(sentence, ["RECRUITMENT"]).spans == ((1, 2),)  # neither matches: leftmost


def test_a_gold_list_in_sentence_order_lands_on_the_gold_spans() -> None:
    sentence = "data analysis , data entry , big data analysis and data"
    gold = [(0, 2), (3, 5), (6, 8), (10, 11)]
    tokens = sentence.split()
    strings = [" ".join(tokens[a:b]) for a, b in gold]
    assert project(sentence, strings).spans == tuple(gold)


def test_matching_is_case_insensitive() -> None:
    assert project("Knowledge of SQL and python", ["sql", "PYTHON"]).spans == ((2, 3), (4, 5))


@pytest.mark.parametrize(
    ("sentence", "string", "span"),
    [
        # As written first: the sentence has the full stop token, so it is part of the span...
        ("good communication skills .", "communication skills.", (1, 4)),
        # ... and only when the string as written occurs nowhere is its core tried.
        ("good communication skills", "communication skills.", (1, 3)),
        ("good communication skills .", "communication skills", (1, 3)),
        ("uses PostCSS ) and", "PostCSS )", (1, 3)),  # a gold span ending in punctuation
        ("use Excel , Word", '"Excel",', (1, 2)),
        ("the ( PALS ) model", "(PALS)", (1, 4)),  # as written: "(" "PALS" ")"
        ("the PALS model", "(PALS)", (1, 2)),  # core
        ("the (PALS) model", "PALS", None),  # token-aligned: "PALS" is not the token "(PALS)"
        ("the (PALS) model", "(PALS)", (1, 2)),  # ... but the string as written is
        ("a e.g. b", "e.g.", (1, 2)),  # core "e.g" occurs nowhere: tried as written
        ("a e.g . b", "e.g.", (1, 3)),  # as written: "e.g" "."
        ("\u2022 Excel", "\u2022 Excel", (0, 2)),  # as written, the bullet is a token
        ("Excel", "\u2022 Excel", (0, 1)),  # bullet (Po) stripped from the core
    ],
)
def test_surrounding_punctuation(sentence: str, string: str, span: tuple | None) -> None:
    expected = Projection((span,)) if span else Projection((), (string,))
    assert project(sentence, [string]) == expected


@pytest.mark.parametrize(
    ("tokens", "string", "span"),
    [
        (["with", "Node", ".", "js"], "Node.js", (1, 4)),
        (["with", "Node.js"], "Node.js", (1, 2)),
        (["with", "Node.js"], "node . js", (1, 2)),  # whitespace in the string is ignored
        (["good", "problem", "-", "solving"], "problem-solving", (1, 4)),
        (["good", "problem-solving"], "problem - solving", (1, 2)),
        (["C", "and", "C#"], "C#", (2, 3)),  # not the standalone "C"
        (["C", "and", "C", "#"], "C#", (2, 4)),
        (["C", "and", "C#"], "C#.", (2, 3)),
        (["C", "and", "C#"], "(C#)", (2, 3)),
        (["NET", "and", ".NET"], ".NET", (2, 3)),  # the leading dot is kept
        (["NET", "and", ".", "NET"], ".NET", (2, 4)),
        (["NET", "and", ".NET"], "(.NET),", (2, 3)),
        (["C", "and", "C++"], "C++", (2, 3)),
        (["C", "and", "C", "+", "+"], "C++", (2, 5)),
        (["C", "and", "C++"], "C++.", (2, 3)),
        (["JavaScript", "and", "Java"], "Java", (2, 3)),
    ],
)
def test_inner_punctuation_and_symbols(tokens: list[str], string: str, span: tuple) -> None:
    assert project_strings(tokens, [string]) == Projection((span,))


def test_a_string_never_matches_inside_a_token() -> None:
    assert project("JavaScript developer", ["Java"]) == Projection((), ("Java",))
    assert project("MySQL databases", ["SQL", "databases"]) == Projection(((1, 2),), ("SQL",))


def test_strings_not_in_the_sentence_are_unplaced_in_the_order_given() -> None:
    projection = project("Python and SQL", ["Rust", "Python", "machine learning"])
    assert projection == Projection(((0, 1),), ("Rust", "machine learning"))
    assert projection.n_predicted == 3


@pytest.mark.parametrize("strings", [[], [""], ["   "], ["...", "-", "#", "\u00a0", "()"]])
def test_empty_strings_are_ignored(strings: list[str]) -> None:
    assert project("Python and SQL . . .", strings) == Projection()


@pytest.mark.parametrize(
    ("tokens", "string", "span"),
    [
        (["Python", "and", "SQL"], "\uff30\uff59\uff54\uff48\uff4f\uff4e", (0, 1)),  # full-width
        (["\uff30\uff59\uff54\uff48\uff4f\uff4e", "and", "SQL"], "python", (0, 1)),
        (["project", "management"], "project\u00a0management", (0, 2)),  # no-break space
        (["project", "management"], "\u00a0project management\u3000", (0, 2)),
        (["corporate", "finance"], "corporate \ufb01nance", (0, 2)),  # "fi" ligature
        (["STRASSE", "bau"], "Stra\u00dfe", (0, 1)),  # casefold: "ß" -> "ss"
        (["C", "\uff03"], "C#", (0, 2)),  # full-width number sign -> "#"
    ],
)
def test_unicode_nfkc_and_casefold(tokens: list[str], string: str, span: tuple) -> None:
    assert project_strings(tokens, [string]) == Projection((span,))


def test_unplaced_strings_are_reported_nfkc_normalised_and_trimmed() -> None:
    assert project("a b", ["  \uff27\uff4f  "]).unplaced == ("Go",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("communication skills.", "communication skills"),
        ("(PALS)", "PALS"),
        ("C#.", "C#"),
        ("C#", "C#"),
        ("#teamwork", "teamwork"),
        (".NET", ".NET"),
        ("(.NET)", ".NET"),
        ("...and more", "and more"),  # an ellipsis is not a ".NET" dot
        ("C++", "C++"),
        ("Node.js,", "Node.js"),
        ("e.g.", "e.g"),
        ("  - Customer Service;", "Customer Service"),
        ("...", ""),
    ],
)
def test_strip_punctuation(raw: str, expected: str) -> None:
    assert strip_punctuation(raw) == expected


# --------------------------------------------------------------------------- counts

# A four-sentence corpus, every count worked out by hand.
SENTENCES = [
    "Strong communication skills and Python , SQL .",
    "Experience in data analysis using Excel",
    "Team player",
    "Knowledge of Java and JavaScript",
]
GOLD = [
    # communication skills (1, 3), Python (4, 5), SQL (6, 7)
    ["O", "B", "I", "O", "B", "O", "B", "O"],
    # data analysis (2, 4), Excel (5, 6)
    ["O", "O", "B", "I", "O", "B"],
    ["O", "O"],
    # Java (2, 3), JavaScript (4, 5)
    ["O", "O", "B", "O", "B"],
]
PREDICTIONS = [
    # (1, 3) and (4, 5) placed, "Java" unplaced
    ["communication skills.", "Python", "Java"],
    # longest first: "Excel spreadsheets" unplaced, "using Excel" (4, 6), "data" (2, 3)
    ["data", "Excel spreadsheets", "using Excel"],
    [],
    # "Java" (2, 3), then a duplicate; "C++" unplaced
    ["Java", "Java", "C++"],
]
# strict (tp, fp, fn): sentence 2 predicts (2, 3) and (4, 6), neither equal to a gold span.
STRICT = [(2, 1, 1), (0, 3, 2), (0, 0, 0), (1, 1, 1)]
# loose (pred_hits, n_pred, gold_hits, n_gold): in sentence 2, (2, 3) overlaps (2, 4) and
# (4, 6) overlaps (5, 6), so both predicted spans and both gold spans are hits.
LOOSE = [(2, 3, 2, 3), (2, 3, 2, 2), (0, 0, 0, 0), (1, 2, 1, 2)]


def corpus_projections() -> list[Projection]:
    return [project(s, p) for s, p in zip(SENTENCES, PREDICTIONS, strict=True)]


def test_projections_of_the_hand_corpus() -> None:
    assert corpus_projections() == [
        Projection(((1, 3), (4, 5)), ("Java",)),
        Projection(((2, 3), (4, 6)), ("Excel spreadsheets",)),
        Projection(),
        Projection(((2, 3),), ("C++",), 1),
    ]


def test_strict_and_loose_counts_of_the_hand_corpus() -> None:
    projections = corpus_projections()
    assert [strict_counts(g, p) for g, p in zip(GOLD, projections, strict=True)] == STRICT
    assert [loose_counts(g, p) for g, p in zip(GOLD, projections, strict=True)] == LOOSE
    counts = span_counts(GOLD, projections)
    assert counts.strict.tolist() == [list(row) for row in STRICT]
    assert counts.loose.tolist() == [list(row) for row in LOOSE]
    assert counts.unplaced.tolist() == [1, 1, 0, 1]


def test_span_metrics_of_the_hand_corpus() -> None:
    # strict: tp = 2+0+0+1 = 3, fp = 1+3+0+1 = 5, fn = 1+2+0+1 = 4
    #   P = 3/8, R = 3/7, F1 = 2*3 / (2*3 + 5 + 4) = 6/15 = 2/5
    # loose: pred_hits 5 of n_pred 8, gold_hits 5 of n_gold 7
    #   P = 5/8, R = 5/7, F1 = 2*(5/8)*(5/7) / (5/8 + 5/7) = (50/56) / (75/56) = 2/3
    # unplaced: 1+1+0+1 = 3 of 8 predictions
    expected = {
        "strict_f1": Fraction(2, 5),
        "strict_precision": Fraction(3, 8),
        "strict_recall": Fraction(3, 7),
        "loose_f1": Fraction(2, 3),
        "loose_precision": Fraction(5, 8),
        "loose_recall": Fraction(5, 7),
        "unplaced_rate": Fraction(3, 8),
    }
    scores = span_scores([s.split() for s in SENTENCES], GOLD, PREDICTIONS)
    assert list(scores) == METRICS
    assert scores == pytest.approx({k: float(v) for k, v in expected.items()}, abs=1e-12)


def test_statistics_reduce_many_column_sums_at_once() -> None:
    # The reducers accept a stack of column sums (what the bootstrap feeds them).
    stats = span_statistics(*span_counts(GOLD, corpus_projections()))
    for stat in stats.values():
        sums = stat.columns.sum(axis=0)
        values = stat.reduce(np.stack([sums, 2 * sums]))
        assert values.shape == (2,)
        assert values[0] == pytest.approx(stat.value())
        assert values[1] == pytest.approx(stat.value())
    intervals = bootstrap_ci(stats, n_resamples=50)
    assert set(intervals) == set(METRICS)


def test_strict_matches_are_exact_boundaries_and_loose_needs_one_shared_token() -> None:
    gold = ["B", "I", "I", "O", "B", "O"]  # (0, 3), (4, 5)
    projection = Projection(((0, 2), (3, 4), (4, 5)))
    # strict: only (4, 5) equals a gold span -> tp 1, fp 2, fn 1
    assert strict_counts(gold, projection) == (1, 2, 1)
    # loose: (0, 2) and (4, 5) hit, (3, 4) touches nothing; both gold spans are hit
    assert loose_counts(gold, projection) == (2, 3, 2, 2)


def test_gold_chunks_like_seqeval() -> None:
    # An I after O opens a chunk; typed tags of different types are different chunks
    # (types are dropped only after chunking, as seqeval reads them).
    assert strict_counts(["O", "I", "I"], Projection(((1, 3),))) == (1, 0, 0)
    assert strict_counts(["B-Skill", "I-Knowledge"], Projection(((0, 2),))) == (0, 1, 2)


@pytest.mark.parametrize(
    ("gold", "projection", "expected"),
    [
        # nothing gold, nothing predicted: every metric 1, nothing unplaced
        (["O", "O"], Projection(), dict.fromkeys(METRICS[:-1], 1.0) | {"unplaced_rate": 0.0}),
        # gold but no prediction: P = 0 (a miss), R = 0, F1 = 0
        (["B", "O"], Projection(), dict.fromkeys(METRICS[:-1], 0.0) | {"unplaced_rate": 0.0}),
        # predictions (unplaced) but no gold: P = 0, R = 0 (fp != 0), F1 = 0
        (["O", "O"], Projection((), ("Go",)), dict.fromkeys(METRICS, 0.0) | {"unplaced_rate": 1.0}),
    ],
)
def test_empty_denominators_follow_prf_from_counts(
    gold: list[str], projection: Projection, expected: dict[str, float]
) -> None:
    stats = span_statistics(*span_counts([gold], [projection]))
    assert {name: stat.value() for name, stat in stats.items()} == expected


def test_length_mismatches_raise() -> None:
    with pytest.raises(ValueError, match="documents"):
        span_counts([["O"]], [])
    with pytest.raises(ValueError, match="outside"):
        strict_counts(["O", "O"], Projection(((1, 3),)))
    with pytest.raises(ValueError, match="same number"):
        span_scores([["a"]], [["O"]], [])


# --------------------------------------------------------------------------- seqeval


def random_tags(rng: np.random.Generator, length: int) -> list[str]:
    """Random B/I/O tags, ill-formed ones included (an I after O)."""
    return list(rng.choice(["B", "I", "O", "O"], size=length))


def test_strict_micro_scores_equal_seqeval_when_everything_projects() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(100):
        n_docs = int(rng.integers(1, 12))
        tokens, gold, pred_tags, strings = [], [], [], []
        for _ in range(n_docs):
            length = int(rng.integers(1, 15))
            # distinct tokens, so each span's text occurs exactly once in its sentence
            sentence = [f"w{i}" for i in range(length)]
            tags = random_tags(rng, length)
            texts = [" ".join(sentence[start:end]) for start, end in bio_spans(tags)]
            tokens.append(sentence)
            gold.append(random_tags(rng, length))
            pred_tags.append(tags)
            strings.append([texts[i] for i in rng.permutation(len(texts))])
        for sentence, tags, texts in zip(tokens, pred_tags, strings, strict=True):
            # every string lands on the chunk it was cut from, whatever the listing order
            assert project_strings(sentence, texts) == Projection(tuple(bio_spans(tags)))
        if not any(bio_spans(tags) for tags in gold) or not any(strings):
            continue  # seqeval's empty-denominator convention is not ours
        scores = span_scores(tokens, gold, strings)
        assert scores["strict_precision"] == pytest.approx(
            precision_score(gold, pred_tags), abs=1e-12
        )
        assert scores["strict_recall"] == pytest.approx(recall_score(gold, pred_tags), abs=1e-12)
        assert scores["strict_f1"] == pytest.approx(f1_score(gold, pred_tags), abs=1e-12)
        assert scores["unplaced_rate"] == 0.0


def test_unplaced_strings_lower_strict_precision_below_seqeval() -> None:
    # seqeval only sees the projected layer; "Java" (not in the sentence) is invisible to it.
    tokens = SENTENCES[0].split()
    gold = [GOLD[0]]
    projection = project_strings(tokens, PREDICTIONS[0])
    layer = [spans_to_bio(projection.spans, len(tokens))]
    # seqeval: tp 2 of 2 predicted spans -> P = 1; R = 2/3; F1 = 2*1*(2/3) / (5/3) = 4/5
    assert precision_score(gold, layer) == pytest.approx(1.0)
    assert recall_score(gold, layer) == pytest.approx(2 / 3)
    assert f1_score(gold, layer) == pytest.approx(4 / 5)
    # ours: fp also counts "Java" -> P = 2/3; R unchanged = 2/3; F1 = 2*2 / (4 + 1 + 1) = 2/3
    scores = span_scores([tokens], gold, [PREDICTIONS[0]])
    assert scores["strict_precision"] == pytest.approx(2 / 3, abs=1e-12)
    assert scores["strict_recall"] == pytest.approx(recall_score(gold, layer), abs=1e-12)
    assert scores["strict_f1"] == pytest.approx(2 / 3, abs=1e-12)
