"""Span extraction from BIO-tagged sentences, defined by YAML alone (``SpanExtractionTask``).

The model reads one tokenised sentence (tokens joined by spaces) and answers a JSON list of
the skill strings it contains, copied from the sentence. The strings are projected back
onto the tokens (:func:`~rjdb_bench.metrics.spans.project_strings`) and the resulting
untyped BIO layer is scored against the gold layer: strict span P/R/F1 (exact boundaries,
chunked like seqeval; strings that occur nowhere in the sentence are false positives),
loose P/R/F1 (token overlap) and the share of unplaceable strings.

Any CoNLL dataset becomes a task with one YAML file (``docs/tasks-ood.md``)::

    task: my_skill_spans
    class: !function rjdb_bench.tasks.spans.SpanExtractionTask
    dataset_kwargs:
      files: [test.conll]          # relative to this YAML, absolute, or under the OOD folder
      tag_columns: [1, 2]          # BIO columns merged into one untyped layer
    metadata:
      version: 1.0

``dataset_kwargs`` also takes ``token_column`` (0), ``types`` (span types to keep; null: all),
``delimiter`` (``"\\t"``; ``whitespace`` for any run of spaces), ``setting`` (``zeroshot`` or
``weak``: k RJDB demonstrations, metadata ``ood_k``), ``dataset`` (a key of
:data:`rjdb_bench.data.ood.OOD_DATASETS`, for licence and citation), ``licence`` and
``citation`` (for user datasets, shown by ``rjdb-bench tasks --info``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from rjdb_bench.data.conll import read_conll
from rjdb_bench.errors import InputError
from rjdb_bench.metrics.bio import bio_spans
from rjdb_bench.metrics.spans import Projection, project_strings, span_counts, span_statistics
from rjdb_bench.tasks.base import (
    Doc,
    Item,
    Scored,
    ScoringSettings,
    TaskSpec,
    make_item,
    parse_failure_statistic,
)
from rjdb_bench.tasks.demonstrations import render_span_examples, span_examples
from rjdb_bench.tasks.parsing import parse_string_list
from rjdb_bench.tasks.skills import SKILLS_SCHEMA
from rjdb_bench.tasks.spec_task import SpecTask

INSTRUCTION = (
    "Task: List every skill, competence or area of knowledge that this sentence from a job "
    "posting mentions, copying each one exactly as it is written in the sentence, in the order "
    "they appear. Reply with a JSON array of strings only ([] if there is none).\n\n"
)
PROMPT = INSTRUCTION + "{{examples}}Sentence: {{sentence}}\nJSON:"


def build_span_docs(task: str, sentences: Sequence[Any], examples: str) -> list[Doc]:
    """One doc per sentence; ``target`` (the oracle's answer) lists the gold strings in order."""
    docs = []
    for sentence in sentences:
        tokens = list(sentence.tokens)
        gold = [" ".join(tokens[start:end]) for start, end in bio_spans(sentence.tags)]
        docs.append(
            {
                "task": task,
                "family": "spans",
                "doc_key": sentence.sentence_id,
                "tokens": tokens,
                "gold_tags": list(sentence.tags),
                "sentence": " ".join(tokens),
                "examples": examples,
                "target": json.dumps(gold, ensure_ascii=False),
            }
        )
    return docs


def make_span_item(doc: Doc, output: str) -> Item:
    """Parse the list of strings and project it onto the sentence tokens."""
    parsed = parse_string_list(output, keys=("skills", "spans"))
    strings = parsed.value or []
    projection = project_strings(doc["tokens"], strings)
    item = make_item(doc, output, parsed, bio_spans(doc["gold_tags"]))
    item.update(
        tokens=doc["tokens"],
        gold_tags=doc["gold_tags"],
        placed=[list(span) for span in projection.spans],
        unplaced=list(projection.unplaced),
        duplicates=projection.duplicates,
    )
    return item


def score_spans(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """Strict and loose span P/R/F1, unplaced-string rate, parse-failure rate."""
    projections = [
        Projection(tuple(map(tuple, item["placed"])), tuple(item["unplaced"]), item["duplicates"])
        for item in items
    ]
    counts = span_counts([item["gold_tags"] for item in items], projections)
    statistics = span_statistics(counts.strict, counts.loose, counts.unplaced)
    statistics["parse_failure_rate"] = parse_failure_statistic(items)
    per_item = [
        {
            "tp": float(strict[0]),
            "fp": float(strict[1]),
            "fn": float(strict[2]),
            "loose_pred_hits": float(loose[0]),
            "loose_gold_hits": float(loose[2]),
            "unplaced": float(unplaced),
        }
        for strict, loose, unplaced in zip(
            counts.strict, counts.loose, np.asarray(counts.unplaced), strict=True
        )
    ]
    return Scored(statistics, per_item)


SPANS = TaskSpec(
    name="spans",
    headline="strict_f1",
    metrics=(
        "strict_f1",
        "strict_precision",
        "strict_recall",
        "loose_f1",
        "loose_precision",
        "loose_recall",
        "unplaced_rate",
        "parse_failure_rate",
    ),
    build_docs=None,
    make_item=make_span_item,
    score=score_spans,
    description="Copy the skill spans of a job-posting sentence (JSON list); span F1.",
    structured_output={"json": SKILLS_SCHEMA},
)


class SpanExtractionTask(SpecTask):
    """A span-extraction task over CoNLL files (options in the module docstring)."""

    SPEC = SPANS

    def defaults(self) -> dict[str, Any]:
        """Generation task with the prompt above."""
        return {
            "output_type": "generate_until",
            "doc_to_text": PROMPT,
            "generation_kwargs": {
                "until": ["\n\n"],
                "max_gen_toks": 128,
                "do_sample": False,
                "temperature": 0.0,
            },
        }

    def build(self) -> list[Doc]:
        """Read the CoNLL files, merge the tag columns, add the demonstrations if weak."""
        files = self.option("files")
        if isinstance(files, str):
            files = [files]
        if not files:
            raise InputError(f"task {self.spec.name}: dataset_kwargs.files: list the CoNLL files")
        delimiter = self.option("delimiter", "\t")
        sentences, report = read_conll(
            [self.source(str(f)).path for f in files],
            token_column=int(self.option("token_column", 0)),
            tag_columns=[int(c) for c in self.option("tag_columns", [1])],
            types=self.option("types"),
            delimiter=None if delimiter == "whitespace" else delimiter,
        )
        self.data_notes = report.as_dict()
        examples = ""
        if self.weak:
            examples = render_span_examples(span_examples(*self.demonstration_rows()))
        return build_span_docs(self.spec.name, sentences, examples)
