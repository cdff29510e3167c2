"""RP@K and MRR of the ESCO linking tasks against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from rjdb_bench.metrics.label_index import LabelIndex
from rjdb_bench.metrics.linking import r_precision_at, reciprocal_rank
from rjdb_bench.tasks.base import ScoringSettings
from rjdb_bench.tasks.esco import ESCO, interleave, score_esco


def test_r_precision_counts_hits_over_min_of_k_and_relevant() -> None:
    ranking = ["x", "a", "y", "b", "z", "c", "w", "v", "u", "t", "d"]
    relevant = {"a", "b", "c", "d"}
    assert r_precision_at(ranking, relevant, 1) == 0.0
    assert r_precision_at(ranking, relevant, 5) == 2 / 4  # a, b in the top 5; min(5, 4) = 4
    assert r_precision_at(ranking, relevant, 10) == 3 / 4  # d is 11th
    assert reciprocal_rank(ranking, relevant) == 1 / 2


def test_k_larger_than_the_relevant_set() -> None:
    # One relevant label at rank 3: RP@5 = 1/min(5, 1) = 1, RP@1 = 0, RR = 1/3.
    assert r_precision_at(["x", "y", "a", "z"], ["a"], 5) == 1.0
    assert r_precision_at(["x", "y", "a", "z"], ["a"], 1) == 0.0
    assert reciprocal_rank(["x", "y", "a", "z"], ["a"]) == pytest.approx(1 / 3)
    # Seven relevant labels, all five of the top 5 relevant: 5 / min(5, 7) = 1.
    assert r_precision_at(list("abcde"), set("abcdefg"), 5) == 1.0
    # ... and in a top 10 of which 6 are relevant: 6 / min(10, 7).
    assert r_precision_at(list("abcdefxyzw"), set("abcdefg"), 10) == 6 / 7


def test_a_relevant_label_absent_from_the_candidates_lowers_the_ceiling() -> None:
    # "gone" can never be ranked: with relevant {a, gone} the best ranking gets RP@5 = 1/2.
    assert r_precision_at(["a", "b", "c", "d", "e"], {"a", "gone"}, 5) == 0.5
    assert r_precision_at(["a"], {"a", "gone"}, 1) == 1.0
    assert reciprocal_rank(["b", "c"], {"gone"}) == 0.0


def test_ties_in_the_cosine_keep_the_label_file_order() -> None:
    # Labels 1 and 2 have the same embedding, so the same score for every query.
    embeddings = np.array([[1.0, 0.0], [0.6, 0.8], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    index = LabelIndex(("p", "q", "r", "s"), embeddings, encoder_folder=None, identity="t")  # type: ignore[arg-type]
    top = index.top(np.array([[0.6, 0.8]], dtype=np.float32), 4)
    assert top.tolist() == [[1, 2, 3, 0]]  # cos: q 1.0, r 1.0 (tie, file order), s 0.8, p 0.6
    top = index.top(np.array([[0.0, 1.0]], dtype=np.float32), 2)
    assert top.tolist() == [[3, 1]]  # s 1.0, then q and r tie at 0.8: q first


def test_interleave_takes_first_choices_in_answer_order_then_backfills() -> None:
    lists = [["a", "b", "c"], ["d"], ["b", "e"]]
    # round 1: a, d, b; round 2: b (seen), e; round 3: c; then backfill f, a (seen), g
    assert interleave(lists, ["f", "a", "g"], 10) == ["a", "d", "b", "e", "c", "f", "g"]
    assert interleave(lists, ["f"], 3) == ["a", "d", "b"]
    assert interleave([], ["f", "g"], 5) == ["f", "g"]


def test_score_esco_averages_per_query_values() -> None:
    items = [
        {"prediction": ["a", "x", "b"], "gold": ["a", "b"], "parsed_ok": True},
        {"prediction": ["x", "y", "z", "w", "v", "c"], "gold": ["c"], "parsed_ok": False},
    ]
    scored = score_esco(items, ScoringSettings())
    values = scored.point_values()
    # query 1: RP@1 1, RP@5 2/2, RP@10 2/2, RR 1; query 2: RP@1 0, RP@5 0, RP@10 1/1, RR 1/6.
    assert values["rp_at_1"] == pytest.approx(0.5)
    assert values["rp_at_5"] == pytest.approx(0.5)
    assert values["rp_at_10"] == pytest.approx(1.0)
    assert values["mrr"] == pytest.approx((1 + 1 / 6) / 2)
    assert values["parse_failure_rate"] == pytest.approx(0.5)
    assert scored.per_item[1] == {"rp_at_1": 0.0, "rp_at_5": 0.0, "rp_at_10": 1.0, "mrr": 1 / 6}


def test_the_spec_declares_ranking_metrics_with_bounds() -> None:
    assert ESCO.headline == "rp_at_5" and ESCO.cluster_unit == "sentence"
    for name, kind in (("rp_at_1", "r_precision"), ("rp_at_5", "r_precision"), ("mrr", "mrr")):
        facts = ESCO.metric(name).describe()
        assert facts["family"] == "ranking" and facts["kind"] == kind
        assert facts["bounds"] == [0.0, 1.0] and facts["higher_is_better"] is True


def test_top_equals_a_stable_sort_of_every_label_with_many_ties() -> None:
    rng = np.random.default_rng(0)
    # Coarse values make many exact ties among 500 labels.
    embeddings = rng.integers(-2, 3, size=(500, 4)).astype(np.float32)
    queries = rng.integers(-2, 3, size=(40, 4)).astype(np.float32)
    index = LabelIndex(tuple(map(str, range(500))), embeddings, None, "t")  # type: ignore[arg-type]
    expected = np.argsort(-(queries @ embeddings.T), axis=1, kind="stable")
    for depth in (1, 7, 50):
        np.testing.assert_array_equal(index.top(queries, depth), expected[:, :depth])
