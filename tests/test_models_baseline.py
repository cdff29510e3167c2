"""The built-in baselines: cross-fitting never lets a doc's own gold in, and their numbers are real."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rouge_score import rouge_scorer

from rjdb_bench.cli import main
from rjdb_bench.data import rjdb
from rjdb_bench.data.rjdb import load_rjdb, read_rjdb_cached
from rjdb_bench.models.baseline import SkillLexicon, best_threshold, dated_experiences, tokens
from rjdb_bench.models.builders import build_baseline
from rjdb_bench.tasks import lm_eval_hooks


def test_lexicon_skips_entries_seen_only_in_the_excluded_fold() -> None:
    # rows 0 and 2 are fold 0, row 1 is fold 1 (folds=2)
    lexicon = SkillLexicon([(0, ["Kubernetes"]), (1, ["SQL"]), (2, ["SQL", "Haskell"])], folds=2)
    text = "Used Kubernetes, SQL and Haskell daily."
    assert lexicon.find(text, exclude_fold=0) == ["SQL"]
    assert lexicon.find(text, exclude_fold=1) == ["Kubernetes", "SQL", "Haskell"]


def test_lexicon_prefers_the_longest_entry_and_keeps_special_tokens() -> None:
    lexicon = SkillLexicon([(1, ["Management", "Project Management", "C++", "C"])], folds=2)
    assert lexicon.find("Project management in C++ and C.", exclude_fold=0) == [
        "Project Management",
        "C++",
        "C",
    ]
    assert tokens("C# and .NET") == ("c#", "and", "net")


def test_best_threshold_maximises_accuracy_on_the_fit_data() -> None:
    similarities = np.array([0.30, 0.35, 0.40, 0.60, 0.62, 0.50])
    labels = np.array([0, 0, 0, 1, 1, 1])
    cut = best_threshold(similarities, labels)
    assert cut == pytest.approx(0.45)  # midpoint of 0.40 and 0.50: all six right
    assert np.all((similarities > cut) == labels.astype(bool))


def test_dated_experiences_reads_ranges_and_label_lines() -> None:
    resume = "## Experience\n1. Baker (2013 - 2016)\nRole: Chef\nDuration: 2010 - 2012\n- Intern, 2008-2009"
    assert dated_experiences(resume) == [
        {"title": "Baker", "years": 3},
        {"title": "Chef", "years": 2},
        {"title": "Intern", "years": 1},
    ]


def test_the_baseline_and_the_tasks_read_the_rjdb_file_once(
    rjdb_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[object] = []
    real_read = rjdb.read_rjdb

    def counting_read(source: object) -> object:
        reads.append(source)
        return real_read(source)

    monkeypatch.setattr(rjdb, "read_rjdb", counting_read)
    read_rjdb_cached.cache_clear()
    lm_eval_hooks._row_dicts.cache_clear()
    metadata = {"rjdb_split": "test", "rjdb_data_dir": str(rjdb_data_dir), "rjdb_path": None}
    try:
        task_rows = lm_eval_hooks.load_row_dicts(metadata)  # what the tasks build docs from
        loaded = build_baseline({}, metadata)
    finally:
        read_rjdb_cached.cache_clear()  # nothing read through the counting reader stays cached
        lm_eval_hooks._row_dicts.cache_clear()
    assert len(reads) == 1
    assert list(loaded.lm.rows["row_id"]) == [row["row_id"] for row in task_rows]
    assert loaded.accepts_output_constraints is False


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("baseline")
    assert (
        main(
            [
                "run",
                "model=baseline",
                "tasks=[rjdb_skills,rjdb_edit,rjdb_experience]",
                "limit=20",
                f"output_dir={out}",
            ]
        )
        == 0
    )
    return out


def _samples(run: Path, task: str) -> list[dict]:
    return [
        json.loads(line) for line in (run / "samples" / f"{task}.jsonl").read_text().splitlines()
    ]


def test_lexicon_baseline_never_predicts_a_skill_known_only_from_the_docs_own_fold(
    baseline_run: Path, rjdb_data_dir: Path
) -> None:
    rows = load_rjdb(data_dir=rjdb_data_dir)
    folds = 5
    known_elsewhere: dict[int, set[tuple[str, ...]]] = {
        fold: {tokens(s) for r in rows if r["row_id"] % folds != fold for s in r["skills"]}
        for fold in range(folds)
    }
    predicted = 0
    for record in _samples(baseline_run, "rjdb_skills"):
        fold = int(record["doc_id"].split(":")[0]) % folds
        for skill in record["prediction"]:
            predicted += 1
            assert tokens(skill) in known_elsewhere[fold], (record["doc_id"], skill)
    assert predicted > 20


def test_copy_editor_scores_what_rouge_score_gives_for_the_unmatched_resume(
    baseline_run: Path, rjdb_data_dir: Path
) -> None:
    rows = load_rjdb(data_dir=rjdb_data_dir).select(range(20))
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    expected = np.mean(
        [scorer.score(r["resume_matched"], r["resume_unmatched"])["rougeL"].fmeasure for r in rows]
    )
    results = json.loads((baseline_run / "results.json").read_text())
    assert results["tasks"]["rjdb_edit"]["metrics"]["rougeL"] == pytest.approx(expected)
    assert 0.3 < expected < 1.0


def test_rule_based_experience_baseline_gets_a_real_nonzero_score(baseline_run: Path) -> None:
    results = json.loads((baseline_run / "results.json").read_text())
    metrics = results["tasks"]["rjdb_experience"]["metrics"]
    assert 0.2 < metrics["title_f1"] < 1.0
    assert metrics["parse_failure_rate"] == 0.0
