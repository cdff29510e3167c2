"""``model=tagger``: a BIO token classifier trained by ``rjdb-bench weak train-tagger``.

Span tasks (``ood_skillspan_*``, ``ood_green_*``, any CoNLL span task): the sentence's own
tokens are tagged (in windows of ``max_words`` words; a word's tag is its first subword's)
and each predicted chunk (seqeval chunking) is answered as its tokens joined by spaces, in
sentence order, which the task's projection places back on exactly those tokens.
``rjdb_skills``: the resume is cut into word tokens and line windows
(:mod:`rjdb_bench.data.words`), as the weak labels were, and each distinct predicted span
is answered as the resume's text between its first and last character.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rjdb_bench.backends import typed_settings
from rjdb_bench.backends.tagger_backend import TaggerSettings
from rjdb_bench.data.words import chunks, first_subwords, line_windows
from rjdb_bench.metrics.bio import bio_spans
from rjdb_bench.metrics.spans import match_key
from rjdb_bench.models.encoders import Answerer, EncoderLM, build_trained
from rjdb_bench.models.registry import LoadedModel


class TaggerLM(EncoderLM):
    """Answers span tasks and ``rjdb_skills`` with a token classifier (module docstring)."""

    backend = "tagger"
    auto_class = "AutoModelForTokenClassification"

    def __init__(self, *args: Any, max_words: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels = {int(k): v for k, v in self.model.config.id2label.items()}
        self.max_words = max_words

    def answerers(self) -> dict[str, Answerer]:
        """Span tasks by family, ``rjdb_skills`` by name."""
        return {"spans": self._spans, "rjdb_skills": self._skills}

    def tag(self, windows: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIO tags of each window of words (``O`` for words cut off by ``max_length``)."""
        out: list[list[str]] = [["O"] * len(words) for words in windows]
        todo = [i for i, words in enumerate(windows) if words]
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            encoded, logits = self.forward([list(windows[i]) for i in batch], words=True)
            predicted = logits.argmax(-1).tolist()
            for row, index in enumerate(batch):
                for position, word in first_subwords(encoded.word_ids(row)).items():
                    out[index][word] = self.labels[predicted[row][position]]
        return out

    def spans(self, documents: Sequence[Sequence[str]]) -> list[list[tuple[int, int]]]:
        """Predicted spans of each document's words (tagged in ``max_words`` windows)."""
        return self.window_spans([chunks(words, self.max_words) for words in documents])

    def window_spans(
        self, documents: Sequence[Sequence[Sequence[str]]]
    ) -> list[list[tuple[int, int]]]:
        """Predicted spans of each document given as its windows of words (all documents'
        windows tagged in one batch); offsets count the document's words in order."""
        windows = [window for document in documents for window in document]
        tagged = iter(self.tag(windows))
        return [
            bio_spans([tag for _ in document for tag in next(tagged)]) for document in documents
        ]

    def _spans(self, docs: list[dict[str, Any]]) -> list[str]:
        found = self.spans([doc["tokens"] for doc in docs])
        return [
            json.dumps([" ".join(doc["tokens"][s:e]) for s, e in spans], ensure_ascii=False)
            for doc, spans in zip(docs, found, strict=True)
        ]

    def _skills(self, docs: list[dict[str, Any]]) -> list[str]:
        # The resume's line windows, as the weak labels cut them (not re-chunked).
        windows = [line_windows(doc["resume"], self.max_words) for doc in docs]
        words = [
            [[doc["resume"][s:e] for s, e in window] for window in doc_windows]
            for doc, doc_windows in zip(docs, windows, strict=True)
        ]
        answers = []
        for doc, doc_windows, spans in zip(docs, windows, self.window_spans(words), strict=True):
            text = doc["resume"]
            offsets = [o for window in doc_windows for o in window]
            skills = {
                match_key(skill): skill
                for skill in (text[offsets[s][0] : offsets[e - 1][1]] for s, e in spans)
            }
            answers.append(json.dumps(list(skills.values()), ensure_ascii=False))
        return answers


def build_tagger(
    config: TaggerSettings | Mapping[str, Any], task_metadata: Mapping[str, Any]
) -> LoadedModel:
    """``model=tagger model.pretrained=DIR`` (window sizes default to the training ones)."""
    config = typed_settings(TaggerSettings, config)
    return build_trained(
        config,
        task_metadata,
        TaggerLM,
        extra=lambda record: {
            "max_words": int(config.max_words or record["labels_settings"]["max_words"])
        },
    )
