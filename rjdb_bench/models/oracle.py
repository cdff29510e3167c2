"""The oracle: answers every request with the doc's gold answer in the task's output format.

Its scores are each metric's ceiling. With ``extractive=True`` it returns only the gold
strings that occur verbatim (case-insensitively) in the text the model is shown, which
measures the ceiling of a model that copies from its input (e.g. the 81.7% of RJDB gold
skills that appear in the resume).
"""

from __future__ import annotations

import json
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from rjdb_bench.backends.oracle_backend import OracleSettings
from rjdb_bench.errors import InputError


def _in_text(text: str, candidates: list[str]) -> list[str]:
    haystack = text.lower()
    return [c for c in candidates if c.lower() in haystack]


def extractive_target(doc: dict[str, Any]) -> str:
    """The gold answer restricted to strings a copying model could find in its input."""
    task = doc["task"]
    if task == "rjdb_skills":
        return json.dumps(_in_text(doc["resume"], doc["gold_skills"]))
    if task == "rjdb_explain":
        gold = json.loads(doc["target"])
        gold["missing_skills"] = _in_text(doc["job_description"], gold["missing_skills"])
        return json.dumps(gold)
    if task == "rjdb_experience":
        entries = json.loads(doc["target"])
        return json.dumps([e for e in entries if e["title"].lower() in doc["resume"].lower()])
    return doc["target"]


@register_model("rjdb-oracle")
class OracleLM(LM):
    """Returns gold answers; see the module docstring."""

    def __init__(self, extractive: bool = OracleSettings.extractive, **_: Any) -> None:
        super().__init__()
        self.extractive = bool(extractive)

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """The gold answer of each request's doc."""
        return [extractive_target(r.doc) if self.extractive else r.doc["target"] for r in requests]

    def loglikelihood(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """Not offered: no RJDB task in this version is scored by log-likelihood."""
        raise InputError(
            "model 'oracle' answers generation tasks only (got loglikelihood requests)"
        )

    def loglikelihood_rolling(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[float]:
        """Not offered, as :meth:`loglikelihood`."""
        raise InputError(
            "model 'oracle' answers generation tasks only (got loglikelihood_rolling requests)"
        )
