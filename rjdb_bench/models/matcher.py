"""``model=matcher``: a cross-encoder trained by ``rjdb-bench weak train-matcher``.

It scores a (job description, resume) pair with P(match), the softmax of its two logits.
``ood_vacancy_*`` (rating mode): ``1 + 4 * P`` as a
decimal, so each CV's five vacancies are strictly ranked; ``rjdb_match``: ``Yes`` when
P >= ``threshold``; ``rjdb_match_pairwise``: the resume with the higher P (``A`` on a tie).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rjdb_bench.backends import typed_settings
from rjdb_bench.backends.matcher_backend import MatcherSettings
from rjdb_bench.models.encoders import Answerer, EncoderLM, build_trained
from rjdb_bench.models.registry import LoadedModel


class MatcherLM(EncoderLM):
    """Answers the match and vacancy tasks with a cross-encoder (module docstring)."""

    backend = "matcher"
    auto_class = "AutoModelForSequenceClassification"

    def __init__(self, *args: Any, threshold: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threshold = threshold

    def answerers(self) -> dict[str, Answerer]:
        """The vacancy family, ``rjdb_match`` and ``rjdb_match_pairwise``."""
        return {
            "vacancy": self._vacancy,
            "rjdb_match": self._match,
            "rjdb_match_pairwise": self._pairwise,
        }

    def probability(self, left: Sequence[str], right: Sequence[str]) -> list[float]:
        """P(match) of each pair ``(left[i], right[i])``."""
        import torch

        out: list[float] = []
        for start in range(0, len(left), self.batch_size):
            end = start + self.batch_size
            _, logits = self.forward(list(left[start:end]), list(right[start:end]))
            # train-matcher always trains two labels (no, yes): P(match) is the last one's.
            out.extend(torch.softmax(logits, dim=-1)[:, -1].tolist())
        return out

    def _vacancy(self, docs: list[dict[str, Any]]) -> list[str]:
        scores = self.probability([d["vacancy_text"] for d in docs], [d["cv_text"] for d in docs])
        return [f"{1 + 4 * p:.6f}" for p in scores]

    def _match(self, docs: list[dict[str, Any]]) -> list[str]:
        scores = self.probability([d["job_description"] for d in docs], [d["resume"] for d in docs])
        return ["Yes" if p >= self.threshold else "No" for p in scores]

    def _pairwise(self, docs: list[dict[str, Any]]) -> list[str]:
        jds = [d["job_description"] for d in docs]
        a = self.probability(jds, [d["resume_a"] for d in docs])
        b = self.probability(jds, [d["resume_b"] for d in docs])
        return ["A" if x >= y else "B" for x, y in zip(a, b, strict=True)]


def build_matcher(
    config: MatcherSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """``model=matcher model.pretrained=DIR`` (``max_length`` defaults to the training one)."""
    config = typed_settings(MatcherSettings, config)
    return build_trained(
        config, task_metadata, MatcherLM, extra=lambda record: {"threshold": config.threshold}
    )
