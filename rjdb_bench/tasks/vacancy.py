"""``ood_vacancy_{zeroshot,weak}``: rank five real vacancies for each real CV (Vanetik & Kogan 2023).

One doc per (CV, vacancy) pair, CV by CV (so ``limit=10`` keeps two whole CVs). The model
gives each pair a match score, in one of two ways (metadata ``vacancy_scoring``):

* ``logprob``: the prompt asks "Is this candidate a good match for this vacancy?" and the score
  is P(Yes) = exp(ll(Yes)) / (exp(ll(Yes)) + exp(ll(No))) from the two answers'
  log-likelihoods (backends that give log-likelihoods: ``hf``, ``vllm``);
* ``rating``: the prompt asks for a rating from 1 to 5 and the score is the number parsed
  from the answer (HTTP backends, the oracle, the baseline). An unparsable answer scores 0,
  below every rating, and counts in ``parse_failure_rate``.

The scores of a CV's vacancies give the model's ranking, compared with each annotator's
ranking (:mod:`rjdb_bench.metrics.ranking`): Spearman ρ and NDCG@1/@3 per CV, averaged over
the CVs that annotator ranked, then over the two annotators (``spearman`` is the headline).
``human_*`` compares the two annotators with each other on the CVs both ranked: the human
ceiling. Resampling for intervals is by CV (each CV's values sit on its first doc).

The oracle's answer (``target``) is annotator 1's ranking as ratings (place 1 → 5, place 5 →
1), or annotator 2's for a CV whose annotator-1 ranking is defective.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from rjdb_bench.data.vacancy import (
    ANNOTATORS,
    VACANCIES,
    read_cv_text,
    read_rankings,
    read_vacancies,
)
from rjdb_bench.errors import InputError
from rjdb_bench.metrics.ranking import mean_defined, ndcg_at, places_as_scores, spearman_rho
from rjdb_bench.metrics.statistic import Statistic, group_mean_statistic
from rjdb_bench.tasks.base import (
    PARSE_FAILURE_RATE,
    Doc,
    Item,
    Scored,
    ScoringSettings,
    TaskSpec,
    make_item,
    parse_failure_statistic,
    ranking_metric,
)
from rjdb_bench.tasks.demonstrations import match_examples
from rjdb_bench.tasks.parsing import Parsed, find_json, parse_rating
from rjdb_bench.tasks.spec_task import SpecTask

SCORING_MODES = ("logprob", "rating")
CHOICES = ["Yes", "No"]
RATINGS = ["1", "2", "3", "4", "5"]
DEFAULT_FILES = {
    "vacancies": "vacancy-resume-matching/5_vacancies.csv",
    "rankings": "vacancy-resume-matching/annotations-for-the-first-30-vacancies.txt",
    "cv_folder": "vacancy-resume-matching/CV",
}
_K_VALUES = (1, 3)

_QUESTION = "Question: Is this candidate a good match for this vacancy? Answer Yes or No.\nAnswer:"
_RATING = (
    "Task: Rate how well this candidate matches the vacancy, from 1 (poor match) to 5 "
    "(excellent match). Reply with the digit only.\nRating:"
)


def _pair_text(vacancy: str, cv: str) -> str:
    return f"Job vacancy:\n{vacancy}\n\nCandidate's CV:\n{cv}\n\n"


def render_examples(examples: Sequence[dict[str, Any]], scoring: str) -> str:
    """Weak-setting examples as prompt text, answered the way the doc will be."""
    parts = []
    for example in examples:
        text = _pair_text(example["job_description"], example["resume"])
        if scoring == "logprob":
            answer = "Yes" if example["matched"] else "No"
            parts.append(f"{text}{_QUESTION} {answer}\n\n")
        else:
            answer = "5" if example["matched"] else "2"
            parts.append(f"{text}{_RATING} {answer}\n\n")
    return "".join(parts)


def place_to_rating(place: int) -> int:
    """Place 1 (best of five) → rating 5, place 5 → rating 1."""
    return 6 - place


def read_score(output: str, scoring: str) -> tuple[float | None, bool]:
    """The match score in a raw output: P(Yes) from stored log-likelihoods, or a parsed rating.

    >>> read_score('{"loglikelihoods": {"Yes": -1.0, "No": -1.0}}', "logprob")
    (0.5, True)
    >>> read_score("4", "rating")
    (4.0, True)
    """
    if scoring == "logprob":
        data = find_json(output)
        values = data.get("loglikelihoods") if isinstance(data, dict) else None
        if not isinstance(values, dict) or not {"Yes", "No"} <= set(values):
            return None, False
        return 1.0 / (1.0 + math.exp(float(values["No"]) - float(values["Yes"]))), True
    parsed = parse_rating(output)
    return parsed.value, parsed.ok


def make_vacancy_item(doc: Doc, output: str) -> Item:
    """The pair's score (None if unparsable) with both annotators' places as gold."""
    score, ok = read_score(output, doc["scoring"])
    item = make_item(doc, output, Parsed(score, ok), dict(doc["places"]))
    item.update(cv=doc["cv"], vacancy=doc["vacancy"])
    return item


def score_vacancy(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """Per-CV Spearman ρ and NDCG@1/@3 against each annotator, their means, the human ceiling."""
    by_cv: dict[int, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        by_cv[int(item["cv"])].append(index)
    n = len(items)
    rho = np.zeros((n, len(ANNOTATORS)))
    ndcg = {k: np.zeros((n, len(ANNOTATORS))) for k in _K_VALUES}
    present = np.zeros((n, len(ANNOTATORS)))
    human = {name: np.zeros(n) for name in ("spearman", "ndcg_at_1", "ndcg_at_3")}
    human_present = np.zeros(n)
    per_item: list[dict[str, float | None]] = [{} for _ in items]
    for indices in by_cv.values():
        first = indices[0]
        scores = {
            int(items[i]["vacancy"]): 0.0
            if items[i]["prediction"] is None
            else items[i]["prediction"]
            for i in indices
        }
        places = {}
        for a, annotator in enumerate(ANNOTATORS):
            places[annotator] = {
                int(items[i]["vacancy"]): items[i]["gold"][f"annotator{annotator}"]
                for i in indices
                if items[i]["gold"][f"annotator{annotator}"] is not None
            }
            value = spearman_rho(scores, places[annotator])
            if value is None:
                continue
            rho[first, a] = value
            present[first, a] = 1.0
            for k in _K_VALUES:
                ndcg[k][first, a] = ndcg_at(scores, places[annotator], k, VACANCIES)
        one, two = places[1], places[2]
        agreement = spearman_rho(places_as_scores(two), one) if one and two else None
        if agreement is not None:
            human_present[first] = 1.0
            human["spearman"][first] = agreement
            for k in _K_VALUES:
                human[f"ndcg_at_{k}"][first] = mean_defined(
                    [
                        ndcg_at(places_as_scores(two), one, k, VACANCIES),
                        ndcg_at(places_as_scores(one), two, k, VACANCIES),
                    ]
                )
        for i in indices:
            per_item[i] = {
                "score": scores[int(items[i]["vacancy"])],
                **{
                    f"cv_spearman_annotator{annotator}": rho[first, a]
                    if present[first, a]
                    else None
                    for a, annotator in enumerate(ANNOTATORS)
                },
            }
    statistics: dict[str, Statistic] = {"spearman": group_mean_statistic(rho, present)}
    for a, annotator in enumerate(ANNOTATORS):
        statistics[f"spearman_annotator{annotator}"] = group_mean_statistic(
            rho[:, [a]], present[:, [a]]
        )
    for k in _K_VALUES:
        statistics[f"ndcg_at_{k}"] = group_mean_statistic(ndcg[k], present)
        for a, annotator in enumerate(ANNOTATORS):
            statistics[f"ndcg_at_{k}_annotator{annotator}"] = group_mean_statistic(
                ndcg[k][:, [a]], present[:, [a]]
            )
    for name, values in human.items():
        statistics[f"human_{name}"] = group_mean_statistic(values[:, None], human_present[:, None])
    statistics["parse_failure_rate"] = parse_failure_statistic(items)
    return Scored(statistics, per_item)


VACANCY_METRICS = (
    ranking_metric("spearman", "Spearman rho", kind="correlation"),
    ranking_metric("spearman_annotator1", "Spearman rho (annotator 1)", kind="correlation"),
    ranking_metric("spearman_annotator2", "Spearman rho (annotator 2)", kind="correlation"),
    ranking_metric("ndcg_at_1", "NDCG@1", kind="ndcg"),
    ranking_metric("ndcg_at_3", "NDCG@3", kind="ndcg"),
    ranking_metric("ndcg_at_1_annotator1", "NDCG@1 (annotator 1)", kind="ndcg"),
    ranking_metric("ndcg_at_1_annotator2", "NDCG@1 (annotator 2)", kind="ndcg"),
    ranking_metric("ndcg_at_3_annotator1", "NDCG@3 (annotator 1)", kind="ndcg"),
    ranking_metric("ndcg_at_3_annotator2", "NDCG@3 (annotator 2)", kind="ndcg"),
    ranking_metric("human_spearman", "Human Spearman rho (inter-annotator)", kind="correlation"),
    ranking_metric("human_ndcg_at_1", "Human NDCG@1 (inter-annotator)", kind="ndcg"),
    ranking_metric("human_ndcg_at_3", "Human NDCG@3 (inter-annotator)", kind="ndcg"),
    PARSE_FAILURE_RATE,
)

VACANCY = TaskSpec(
    name="ood_vacancy",
    headline="spearman",
    metrics=VACANCY_METRICS,
    build_docs=None,
    make_item=make_vacancy_item,
    score=score_vacancy,
    cluster_unit="cv",
    sample_fields=("cv", "vacancy"),
    description="Rank 5 real vacancies for each of 29 real CVs against two annotators (OOD).",
    structured_output={"choice": RATINGS},
)


class VacancyMatchTask(SpecTask):
    """The vacancy–CV ranking task (see the module docstring); ``dataset_kwargs``:

    ``setting`` (``zeroshot`` or ``weak``), ``vacancies``, ``rankings``, ``cv_folder`` (paths
    under the OOD data folder; defaults: the upstream layout). Metadata: ``vacancy_scoring``
    (``logprob``, default, or ``rating``), ``ood_data_dir``, ``ood_k`` (3), ``seed``, and for
    the weak setting the RJDB selection (``rjdb_split`` ...).
    """

    OPTIONS = frozenset({"setting", "dataset", "licence", "citation", *DEFAULT_FILES})

    SPEC = VACANCY

    @property
    def scoring(self) -> str:
        """``logprob`` or ``rating`` (from metadata ``vacancy_scoring``)."""
        mode = self.metadata.get("vacancy_scoring") or "logprob"
        if mode not in SCORING_MODES:
            raise InputError(
                f"ood.vacancy_scoring: expected one of {', '.join(SCORING_MODES)} or auto, got {mode!r}"
            )
        return mode

    def defaults(self) -> dict[str, Any]:
        """Prompt and output type for the scoring mode."""
        prompt = "{{examples}}" + _pair_text("{{vacancy_text}}", "{{cv_text}}")
        if self.scoring == "logprob":
            return {
                "output_type": "multiple_choice",
                "doc_to_text": prompt + _QUESTION,
                "doc_to_choice": CHOICES,
                "doc_to_target": 0,
                "target_delimiter": " ",
            }
        return {
            "output_type": "generate_until",
            "doc_to_text": prompt + _RATING,
            "generation_kwargs": {
                "until": ["\n"],
                "max_gen_toks": 8,
                "do_sample": False,
                "temperature": 0.0,
            },
        }

    def build(self) -> list[Doc]:
        """One doc per (CV, vacancy) for the CVs with a valid ranking; defects go to ``data_notes``."""
        files = {key: self.option(key, default) for key, default in DEFAULT_FILES.items()}
        vacancies = read_vacancies(self.source(files["vacancies"]).path)
        rankings = read_rankings(self.source(files["rankings"]).path)
        self.data_notes = [line for r in rankings.values() for line in r.defects]
        cvs = sorted({cv for r in rankings.values() for cv in r.orderings})
        examples = ""
        if self.weak:
            examples = render_examples(match_examples(*self.demonstration_rows()), self.scoring)
        docs = []
        for cv in cvs:
            text = read_cv_text(self.source(f"{files['cv_folder']}/{cv}.docx").path)
            places = {
                f"annotator{a}": (rankings[a].ranks(cv) if cv in rankings[a].orderings else None)
                for a in ANNOTATORS
            }
            gold_places = places["annotator1"] or places["annotator2"]
            for vacancy in vacancies:
                docs.append(
                    {
                        "task": self.spec.name,
                        "family": "vacancy",
                        "doc_key": f"cv{cv}:vacancy{vacancy.number}",
                        "cv": cv,
                        "cluster": f"cv{cv}",
                        "vacancy": vacancy.number,
                        "vacancy_text": f"{vacancy.title}\n{vacancy.description}",
                        "cv_text": text,
                        "places": {
                            name: (ranks[vacancy.number] if ranks else None)
                            for name, ranks in places.items()
                        },
                        "scoring": self.scoring,
                        "choices": CHOICES,
                        "examples": examples,
                        "target": str(place_to_rating(gold_places[vacancy.number])),
                    }
                )
        return docs
