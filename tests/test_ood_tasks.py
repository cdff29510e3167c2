"""The OOD tasks end to end: oracle ceilings, the human ceiling, weak demonstrations, a user
CoNLL dataset defined by one YAML file, the vacancy scorer, the baseline, re-scoring."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from rjdb_bench.cli import main
from rjdb_bench.metrics.normalize import normalize
from rjdb_bench.plan import vacancy_scoring
from rjdb_bench.tasks.base import ScoringSettings
from rjdb_bench.tasks.selection import task_manager
from rjdb_bench.tasks.vacancy import score_vacancy

# The two annotators' arrays for CVs 1-20, copied by hand from
# annotations-for-the-first-30-vacancies.txt: vacancy numbers from best to worst.
ANNOTATOR_1 = [
    [2, 1, 4, 3, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [3, 1, 2, 4, 5], [1, 5, 4, 2, 3],
    [3, 2, 1, 4, 5], [3, 2, 1, 5, 4], [2, 4, 3, 1, 5], [1, 5, 2, 1, 4], [3, 2, 1, 4, 5],
    [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 3, 2, 4, 5], [1, 2, 3, 4, 5], [3, 1, 2, 4, 5],
    [3, 1, 2, 4, 5], [3, 1, 2, 4, 5], [1, 2, 5, 3, 4], [3, 2, 1, 4, 5], [3, 2, 1, 4, 5],
]  # fmt: skip
ANNOTATOR_2 = [
    [4, 3, 1, 5, 2], [2, 4, 3, 1, 5], [5, 4, 2, 3, 1], [1, 3, 2, 4, 5], [5, 1, 2, 4, 3],
    [1, 3, 2, 4, 5], [4, 2, 3, 1, 5], [2, 4, 3, 1, 5], [3, 4, 2, 1, 5], [4, 1, 2, 5, 3],
    [2, 4, 3, 5, 1], [4, 3, 2, 1, 5], [4, 2, 3, 1, 5], [3, 4, 2, 1, 5], [2, 4, 3, 1, 5],
    [3, 2, 4, 1, 5], [4, 2, 3, 1, 5], [4, 2, 5, 3, 1], [4, 2, 3, 1, 5], [1, 5, 2, 4, 3],
]  # fmt: skip


def places(ordering: list[int]) -> list[int]:
    """Place (1 = best) of vacancies 1..5 in an ordering."""
    return [ordering.index(vacancy) + 1 for vacancy in range(1, 6)]


def run_cli(*args: str) -> int:
    return main(["run", *args])


@pytest.fixture(scope="module")
def oracle_run(ood_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ood-oracle")
    assert run_cli("model=oracle", "tasks=[ood_zeroshot]", f"output_dir={out}") == 0
    return out


def results_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def samples_of(run_dir: Path, task: str) -> list[dict]:
    lines = (run_dir / "samples" / f"{task}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_oracle_scores_one_strict_f1_on_both_span_tasks(oracle_run: Path) -> None:
    tasks = results_of(oracle_run)["tasks"]
    for task, n in (("ood_skillspan_zeroshot", 3570), ("ood_green_zeroshot", 336)):
        metrics = tasks[task]["metrics"]
        assert tasks[task]["n"] == n
        assert metrics["strict_f1"] == 1.0 and metrics["loose_f1"] == 1.0
        assert metrics["unplaced_rate"] == 0.0 and metrics["parse_failure_rate"] == 0.0


def test_oracle_reproduces_annotator_1_ranking_of_every_cv(oracle_run: Path) -> None:
    record = results_of(oracle_run)["tasks"]["ood_vacancy_zeroshot"]
    # 29 CVs: CV 28 has no valid ranking from either annotator.
    assert record["n"] == 29 * 5
    assert record["metrics"]["spearman_annotator1"] == pytest.approx(1.0)
    assert record["metrics"]["ndcg_at_1_annotator1"] == pytest.approx(1.0)
    assert record["metrics"]["ndcg_at_3_annotator1"] == pytest.approx(1.0)
    ratings: dict[int, dict[int, float]] = {}
    for sample in samples_of(oracle_run, "ood_vacancy_zeroshot"):
        cv, vacancy = map(int, re.fullmatch(r"cv(\d+):vacancy(\d)", sample["doc_id"]).groups())
        ratings.setdefault(cv, {})[vacancy] = float(sample["output"])
    for cv, ordering in enumerate(ANNOTATOR_1, start=1):
        if cv == 9:  # annotator 1's array is defective: the oracle follows annotator 2
            ordering = ANNOTATOR_2[8]
        by_rating = sorted(ratings[cv], key=lambda v: -ratings[cv][v])
        assert by_rating == ordering, cv


def test_human_ceiling_matches_an_independent_computation(oracle_run: Path) -> None:
    metrics = results_of(oracle_run)["tasks"]["ood_vacancy_zeroshot"]["metrics"]
    rhos = []
    for cv, (one, two) in enumerate(zip(ANNOTATOR_1, ANNOTATOR_2, strict=True), start=1):
        if cv == 9:
            continue  # annotator 1 lists vacancy 1 twice
        d = np.array(places(one)) - np.array(places(two))
        rhos.append(1 - 6 * np.sum(d**2) / (5 * (25 - 1)))  # no ties: the closed form
    assert len(rhos) == 19
    assert metrics["human_spearman"] == pytest.approx(np.mean(rhos), abs=1e-12)
    # NDCG@1 of annotator 2's first choice against annotator 1 (relevance 5 - place), and back.
    ndcg1 = [
        ((5 - places(one)[two[0] - 1]) / 4 + (5 - places(two)[one[0] - 1]) / 4) / 2
        for cv, (one, two) in enumerate(zip(ANNOTATOR_1, ANNOTATOR_2, strict=True), start=1)
        if cv != 9
    ]
    assert metrics["human_ndcg_at_1"] == pytest.approx(np.mean(ndcg1), abs=1e-12)


def test_a_limit_that_cuts_a_cv_still_scores_it(tmp_path: Path) -> None:
    # limit=2: CV 1 with vacancies 1 and 2 only (places 2 and 1 for annotator 1).
    assert (
        run_cli("model=oracle", "tasks=[ood_vacancy_zeroshot]", "limit=2", f"output_dir={tmp_path}")
        == 0
    )
    metrics = results_of(tmp_path)["tasks"]["ood_vacancy_zeroshot"]["metrics"]
    assert metrics["spearman_annotator1"] == pytest.approx(1.0)
    assert metrics["ndcg_at_1_annotator1"] == pytest.approx(1.0)


def test_vacancy_results_report_the_ranking_defects(oracle_run: Path) -> None:
    notes = " ".join(results_of(oracle_run)["tasks"]["ood_vacancy_zeroshot"]["data_notes"])
    assert "CV 9" in notes and "CV 28" in notes and "CVs 21-30" in notes


def test_results_record_every_ood_file_with_its_checksum(
    oracle_run: Path, ood_data_dir: Path
) -> None:
    results = results_of(oracle_run)
    relpath = "green/nnose/test.conll"
    recorded = results["data"][relpath]
    expected = hashlib.sha256((ood_data_dir / relpath).read_bytes()).hexdigest()
    assert recorded["sha256"] == expected and recorded["origin"] == "local"
    assert results["tasks"]["ood_green_zeroshot"]["data"] == [relpath]
    assert "rjdb" not in results["data"]  # zero-shot OOD tasks never read RJDB


def test_rescoring_an_ood_run_gives_the_same_metrics(oracle_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(oracle_run, copy)
    before = results_of(copy)["tasks"]
    assert main(["score", str(copy)]) == 0
    after = results_of(copy)["tasks"]
    for task in before:
        assert after[task]["metrics"] == before[task]["metrics"], task


def weak_examples(task: str, **metadata: object) -> str:
    manager = task_manager({"seed": 1234, **metadata})
    loaded = manager.load([task])["tasks"][task]
    examples = {doc["examples"] for doc in loaded.eval_docs}
    assert len(examples) == 1  # the same demonstrations precede every doc
    return examples.pop()


def test_weak_span_demonstrations_come_from_rjdb_only(
    rjdb_data_dir: Path, ood_data_dir: Path
) -> None:
    examples = weak_examples("ood_green_weak")
    sentences = [
        line[len("Sentence: ") :] for line in examples.splitlines() if line.startswith("Sentence: ")
    ]
    answers = [
        json.loads(line[len("JSON: ") :])
        for line in examples.splitlines()
        if line.startswith("JSON: ")
    ]
    assert len(sentences) == len(answers) == 3
    rjdb_text = "".join((rjdb_data_dir / "test.jsonl").read_text().split()).lower()
    rjdb_skills = {
        normalize(skill)
        for line in (rjdb_data_dir / "test.jsonl").read_text().splitlines()
        for skill in json.loads(line)["Skills"]
    }
    green_text = "".join((ood_data_dir / "green/nnose/test.conll").read_text().split()).lower()
    for sentence, skills in zip(sentences, answers, strict=True):
        squeezed = "".join(sentence.split()).lower()
        assert squeezed in rjdb_text and squeezed not in green_text
        assert skills and all(normalize(skill) in rjdb_skills for skill in skills)
        assert all(skill in sentence for skill in skills)
    # Seeded: the same seed gives the same examples, k is configurable.
    assert weak_examples("ood_green_weak") == examples
    assert weak_examples("ood_green_weak", seed=7) != examples
    assert weak_examples("ood_green_weak", ood_k=5).count("Sentence: ") == 5
    assert weak_examples("ood_green_zeroshot") == ""


def test_weak_vacancy_demonstrations_are_rjdb_pairs_with_their_labels() -> None:
    examples = weak_examples("ood_vacancy_weak", vacancy_scoring="logprob")
    answers = [
        line.rsplit(" ", 1)[1] for line in examples.splitlines() if line.startswith("Answer:")
    ]
    assert sorted(answers) in (["No", "Yes", "Yes"], ["No", "No", "Yes"])
    assert answers[0] != answers[1] != answers[2]  # matched and unmatched alternate
    rating = weak_examples("ood_vacancy_weak", vacancy_scoring="rating")
    assert [
        line.rsplit(" ", 1)[1] for line in rating.splitlines() if line.startswith("Rating:")
    ] == ["5" if answer == "Yes" else "2" for answer in answers]


def test_vacancy_scoring_follows_the_backend() -> None:
    assert vacancy_scoring("auto", "hf") == "logprob"
    assert vacancy_scoring("auto", "vllm") == "logprob"
    assert vacancy_scoring("auto", "openai") == "rating"
    assert vacancy_scoring(None, "oracle") == "rating"
    assert vacancy_scoring("rating", "hf") == "rating"
    manager = task_manager({"vacancy_scoring": "logprob"})
    task = manager.load(["ood_vacancy_zeroshot"])["tasks"]["ood_vacancy_zeroshot"]
    assert task.config.output_type == "multiple_choice"
    assert task.doc_to_text(task.eval_docs[0]).endswith("Answer Yes or No.\nAnswer:")


def test_vacancy_scorer_on_a_hand_computed_case() -> None:
    def item(cv: int, vacancy: int, score: float | None, one: int | None, two: int | None) -> dict:
        return {
            "cv": cv,
            "vacancy": vacancy,
            "prediction": score,
            "parsed_ok": score is not None,
            "gold": {"annotator1": one, "annotator2": two},
        }

    items = [
        # CV 1: scores order the vacancies 1 > 2 > 3; annotator 1 agrees, annotator 2 reverses.
        item(1, 1, 0.9, 1, 3), item(1, 2, 0.5, 2, 2), item(1, 3, 0.1, 3, 1),
        # CV 2: an unparsable answer scores 0 (last); only annotator 1 ranked this CV.
        item(2, 1, None, 1, None), item(2, 2, 0.2, 3, None), item(2, 3, 0.7, 2, None),
    ]  # fmt: skip
    scored = score_vacancy(items, ScoringSettings())
    value = {name: s.value() for name, s in scored.statistics.items()}
    # CV 2 against annotator 1: model order 3 > 2 > 1 gives places (3, 2, 1) vs gold (1, 3, 2):
    # d = (2, -1, -1), rho = 1 - 6 * 6 / 24 = -0.5.
    assert value["spearman_annotator1"] == pytest.approx((1.0 - 0.5) / 2)
    assert value["spearman_annotator2"] == pytest.approx(-1.0)
    assert value["spearman"] == pytest.approx((0.25 - 1.0) / 2)
    # NDCG@1, relevance 5 - place (an annotator ranks 5 vacancies, even when fewer are scored):
    # CV 1 a1 top = vacancy 1 (place 1, rel 4; ideal 4) -> 1; CV 2 a1 top = vacancy 3 (place 2,
    # rel 3; ideal 4) -> 3/4; CV 1 a2 top = vacancy 1 (place 3, rel 2; ideal: place 1, 4) -> 1/2.
    assert value["ndcg_at_1_annotator1"] == pytest.approx((1 + 3 / 4) / 2)
    assert value["ndcg_at_1_annotator2"] == pytest.approx(1 / 2)
    assert value["human_spearman"] == pytest.approx(-1.0)  # CV 1 only: reversed rankings
    assert value["parse_failure_rate"] == pytest.approx(1 / 6)
    # Cross-check one per-CV value with scipy on the raw arrays.
    assert spearmanr([0.0, 0.2, 0.7], [-1, -3, -2]).statistic == pytest.approx(-0.5)


CONLL = """\
Experience\tO
with\tO
Python\tB-Skill
and\tO
SQL\tB-Skill
.\tO

Strong\tO
communication\tB-Skill
skills\tI-Skill
required\tO

Nothing\tO
here\tO
"""

USER_YAML = """\
# A user's own span dataset: one YAML file, no Python.
task: my_spans
class: !function rjdb_bench.tasks.spans.SpanExtractionTask
dataset_kwargs:
  files: [tiny.conll]
  tag_columns: [1]
  licence: CC0 (test data)
  citation: The rjdb-bench test suite
metadata:
  version: 1.0
"""


@pytest.fixture()
def user_task_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    (folder / "tiny.conll").write_text(CONLL)
    (folder / "my_spans.yaml").write_text(USER_YAML)
    return folder


def test_a_conll_dataset_registered_by_yaml_alone_runs_and_scores(
    user_task_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    assert (
        run_cli(
            "model=oracle", "tasks=[my_spans]", f"include_path={user_task_dir}", f"output_dir={out}"
        )
        == 0
    )
    results = results_of(out)
    record = results["tasks"]["my_spans"]
    assert record["n"] == 3 and record["metrics"]["strict_f1"] == 1.0
    assert record["config_source"] == str(user_task_dir / "my_spans.yaml")
    expected_sha = hashlib.sha256(CONLL.encode()).hexdigest()
    assert results["data"]["tiny.conll"]["sha256"] == expected_sha
    targets = [s["output"] for s in samples_of(out, "my_spans")]
    assert targets == ['["Python", "SQL"]', '["communication skills"]', "[]"]


def test_a_yaml_task_scores_hand_computed_outputs_through_lm_eval(user_task_dir: Path) -> None:
    """Plain lm-eval (simple_evaluate) with a model that gives fixed answers."""
    from lm_eval import simple_evaluate
    from lm_eval.api.model import LM
    from lm_eval.tasks import TaskManager

    answers = {
        "Experience with Python and SQL .": '["python", "Java"]',  # tp 1, unplaced 1, fn 1
        "Strong communication skills required": '["communication"]',  # loose hit, strict miss
        "Nothing here": "[]",
    }

    class FixedAnswers(LM):
        def generate_until(self, requests, disable_tqdm=False):
            return [answers[r.doc["sentence"]] for r in requests]

        def loglikelihood(self, requests, disable_tqdm=False):
            raise AssertionError("a span task asks for generations only")

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            raise AssertionError("a span task asks for generations only")

    manager = TaskManager(include_path=str(user_task_dir), include_defaults=False)
    results = simple_evaluate(
        model=FixedAnswers(), tasks=["my_spans"], task_manager=manager, bootstrap_iters=0
    )
    metrics = results["results"]["my_spans"]
    # Strict: tp 1 (Python); fp 2 ("communication", unplaced "Java"); fn 2 (SQL, "communication skills").
    assert metrics["strict_precision,none"] == pytest.approx(1 / 3)
    assert metrics["strict_recall,none"] == pytest.approx(1 / 3)
    assert metrics["strict_f1,none"] == pytest.approx(1 / 3)
    # Loose: predictions hitting gold 2 of 3; gold spans hit 2 of 3.
    assert metrics["loose_precision,none"] == pytest.approx(2 / 3)
    assert metrics["loose_recall,none"] == pytest.approx(2 / 3)
    assert metrics["unplaced_rate,none"] == pytest.approx(1 / 3)


def test_plain_lm_eval_cli_runs_a_yaml_only_task(user_task_dir: Path, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("lm_eval")),
        "--model", "dummy",
        "--tasks", "my_spans",
        "--include_path", str(user_task_dir),
        "--output_path", str(tmp_path / "lm-eval"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (results_file,) = (tmp_path / "lm-eval").rglob("results_*.json")
    metrics = json.loads(results_file.read_text())["results"]["my_spans"]
    # The dummy model answers "lol" to everything: one unplaced string per sentence.
    assert metrics["strict_f1,none"] == 0.0 and metrics["unplaced_rate,none"] == 1.0


def test_tasks_info_shows_licences_and_citations(user_task_dir: Path, capsys) -> None:
    assert main(["tasks", "--info"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    for expected in (
        "GNU GPL v3",
        "NAACL 2022",
        "LREC 2022",
        "CC BY-SA 4.0",
        "2ccf3de5b5af7a5409b8dd814fb1315dd6e0ae1b",
    ):
        assert expected in shown


def test_a_missing_user_conll_file_exits_2_naming_it(
    user_task_dir: Path, tmp_path: Path, capsys
) -> None:
    (user_task_dir / "tiny.conll").unlink()
    code = run_cli(
        "model=oracle",
        "tasks=[my_spans]",
        f"include_path={user_task_dir}",
        f"output_dir={tmp_path / 'o'}",
    )
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "tiny.conll" in error
    assert not (tmp_path / "o" / "results.json").exists()


def test_baseline_span_answers_come_from_the_rjdb_lexicon(
    rjdb_data_dir: Path, tmp_path: Path
) -> None:
    assert (
        run_cli(
            "model=baseline",
            "tasks=[ood_green_zeroshot,ood_vacancy_zeroshot]",
            "limit=40",
            f"output_dir={tmp_path}",
        )
        == 0
    )
    rjdb_skills = {
        normalize(skill)
        for line in (rjdb_data_dir / "test.jsonl").read_text().splitlines()
        for skill in json.loads(line)["Skills"]
    }
    predicted = [
        s for r in samples_of(tmp_path, "ood_green_zeroshot") for s in json.loads(r["output"])
    ]
    assert predicted and all(normalize(s) in rjdb_skills for s in predicted)
    ratings = [float(r["output"]) for r in samples_of(tmp_path, "ood_vacancy_zeroshot")]
    assert len(ratings) == 40 and all(1.0 <= r <= 5.0 for r in ratings)


@pytest.mark.slow
def test_vacancy_with_a_real_hf_model_scores_p_yes_from_log_likelihoods(
    tiny_causal_lm: Path, tmp_path: Path
) -> None:
    code = run_cli(
        "model=hf", f"model.pretrained={tiny_causal_lm}", "model.dtype=float32",
        "tasks=[ood_vacancy_zeroshot]", "limit=10", f"output_dir={tmp_path}",
    )  # fmt: skip
    assert code == 0
    record = results_of(tmp_path)["tasks"]["ood_vacancy_zeroshot"]
    assert record["n"] == 10 and record["metrics"]["parse_failure_rate"] == 0.0
    samples = samples_of(tmp_path, "ood_vacancy_zeroshot")
    by_cv: dict[int, list[tuple[float, int]]] = {}
    for sample in samples:
        loglikelihoods = json.loads(sample["output"])["loglikelihoods"]
        p_yes = 1 / (1 + np.exp(loglikelihoods["No"] - loglikelihoods["Yes"]))
        assert 0.0 < p_yes < 1.0 and sample["scores"]["score"] == pytest.approx(p_yes)
        cv = int(sample["doc_id"].split(":")[0][2:])
        by_cv.setdefault(cv, []).append((p_yes, sample["gold"]["annotator1"]))
    # Independent Spearman against annotator 1 with scipy, averaged over the two CVs.
    rhos = [
        spearmanr([p for p, _ in pairs], [-g for _, g in pairs]).statistic
        for pairs in by_cv.values()
    ]
    assert record["metrics"]["spearman_annotator1"] == pytest.approx(np.mean(rhos))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("files: [tiny.conll]", "files: []"), "dataset_kwargs.files"),
        (("tag_columns: [1]", "tag_columns: [1]\n  setting: fewshot"), "dataset_kwargs.setting"),
        (("tag_columns: [1]", "tag_columns: [4]"), "tiny.conll:1"),
    ],
)
def test_a_bad_user_yaml_exits_2_with_one_line(
    user_task_dir: Path, tmp_path: Path, capsys, change: tuple[str, str], expected: str
) -> None:
    yaml_path = user_task_dir / "my_spans.yaml"
    yaml_path.write_text(yaml_path.read_text().replace(*change))
    out = tmp_path / "o"
    code = run_cli(
        "model=oracle", "tasks=[my_spans]", f"include_path={user_task_dir}", f"output_dir={out}"
    )
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1 and expected in error, error
    assert not (out / "results.json").exists()


def test_rescoring_refuses_changed_data(user_task_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    args = (
        "model=oracle",
        "tasks=[my_spans]",
        f"include_path={user_task_dir}",
        f"output_dir={out}",
    )
    assert run_cli(*args) == 0
    before = (out / "results.json").read_bytes()
    (user_task_dir / "tiny.conll").write_text(CONLL.replace("SQL\tB-Skill", "SQL\tO"))
    assert main(["score", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert "tiny.conll" in error and "differs from the run's data" in error
    assert (out / "results.json").read_bytes() == before
