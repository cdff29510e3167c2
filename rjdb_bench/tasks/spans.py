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
``delimiter`` (``"\\t"``; ``whitespace`` for any run of spaces), ``skip_malformed`` (false:
the first malformed line is an error; true: drop the sentences containing one, noted in
``data_notes`` and on stderr), ``setting`` (``zeroshot`` or ``weak``: k RJDB demonstrations,
metadata ``ood_k``), ``dataset`` (a key of :data:`rjdb_bench.data.ood.OOD_DATASETS`, for
licence and citation), ``licence`` and ``citation`` (for user datasets, shown by
``rjdb-bench tasks --info``). Any other key, or a value of the wrong type, is an
``InputError`` naming the YAML file and the field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from rjdb_bench.data.conll import read_conll
from rjdb_bench.metrics.bio import bio_spans
from rjdb_bench.metrics.spans import Projection, project_strings, span_counts, span_statistics
from rjdb_bench.tasks.base import (
    PARSE_FAILURE_RATE,
    Doc,
    Item,
    Scored,
    ScoringSettings,
    TaskSpec,
    f1_metric,
    make_item,
    parse_failure_statistic,
    rate_metric,
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
                "cluster": sentence.sentence_id,
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
        f1_metric("strict_f1", "Strict span F1"),
        f1_metric("strict_precision", "Strict span precision", kind="precision"),
        f1_metric("strict_recall", "Strict span recall", kind="recall"),
        f1_metric("loose_f1", "Loose span F1"),
        f1_metric("loose_precision", "Loose span precision", kind="precision"),
        f1_metric("loose_recall", "Loose span recall", kind="recall"),
        rate_metric("unplaced_rate", "Unplaced-string rate"),
        PARSE_FAILURE_RATE,
    ),
    cluster_unit="sentence",
    sample_fields=("tokens", "gold_tags", "placed", "unplaced"),
    build_docs=None,
    make_item=make_span_item,
    score=score_spans,
    description="Copy the skill spans of a job-posting sentence (JSON list); span F1.",
    structured_output={"json": SKILLS_SCHEMA},
)


class SpanExtractionTask(SpecTask):
    """A span-extraction task over CoNLL files (options in the module docstring)."""

    SPEC = SPANS
    OPTIONS = frozenset(
        {
            "files",
            "tag_columns",
            "token_column",
            "types",
            "delimiter",
            "skip_malformed",
            "setting",
            "dataset",
            "licence",
            "citation",
        }
    )

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
        self.check_text_options()
        weak = self.weak  # checks setting before any file is read
        files = self.files_option()
        token_column = self.column_option("token_column", 0)
        tag_columns = self.columns_option()
        if token_column in tag_columns:
            raise self.option_error(
                "tag_columns", f"column {token_column} is the token_column, not a tag column"
            )
        skip = self.option("skip_malformed", False)
        if not isinstance(skip, bool):
            raise self.option_error("skip_malformed", f"expected true or false, got {skip!r}")
        sentences, report = read_conll(
            [self.source(f).path for f in files],
            token_column=token_column,
            tag_columns=tag_columns,
            types=self.types_option(),
            delimiter=self.delimiter_option(),
            skip_malformed=skip,
        )
        self.data_notes = report.as_dict()
        for skipped in report.skipped or ():
            if skipped.lines:
                print(f"rjdb-bench: warning: {skipped.warning()}", file=sys.stderr)
        examples = ""
        if weak:
            examples = render_span_examples(span_examples(*self.demonstration_rows()))
        self.sentences_in_files = len(sentences)
        limit = self.metadata.get("limit")  # rjdb-bench run limit=N: one doc per sentence
        if limit:
            sentences = sentences[: int(limit)]
        return build_span_docs(self.spec.name, sentences, examples)

    def full_size(self) -> int:
        """Docs without the run's ``limit``: one per sentence read (after :meth:`build`)."""
        return self.sentences_in_files

    def files_option(self) -> list[str]:
        """``files``: one file name or a non-empty list of them."""
        files = self.option("files")
        if isinstance(files, str):
            files = [files]
        if not files:
            raise self.option_error("files", "list the CoNLL files, e.g. files: [test.conll]")
        if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
            raise self.option_error("files", f"expected a list of file names, got {files!r}")
        return files

    def column_option(self, key: str, default: int) -> int:
        """A 0-based column number."""
        value = self.option(key, default)
        if not _is_column(value):
            raise self.option_error(key, f"expected a column number (0, 1, ...), got {value!r}")
        return value

    def columns_option(self) -> list[int]:
        """``tag_columns``: a non-empty list of 0-based column numbers (or one number)."""
        value = self.option("tag_columns", [1])
        columns = [value] if _is_column(value) else value
        if not isinstance(columns, list) or not columns or not all(map(_is_column, columns)):
            raise self.option_error(
                "tag_columns", f"expected a list of column numbers (0, 1, ...), got {value!r}"
            )
        return columns

    def types_option(self) -> list[str] | None:
        """``types``: null (every type), one type name, or a list of them."""
        types = self.options.get("types")
        if types is None:
            return None
        types = [types] if isinstance(types, str) else types
        if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
            raise self.option_error("types", f"expected a list of span types, got {types!r}")
        return types

    def delimiter_option(self) -> str | None:
        """``delimiter``: a non-empty string; ``whitespace`` means any run of whitespace."""
        delimiter = self.option("delimiter", "\t")
        if not isinstance(delimiter, str) or not delimiter:
            raise self.option_error(
                "delimiter", f"expected a non-empty string or whitespace, got {delimiter!r}"
            )
        return None if delimiter == "whitespace" else delimiter

    def check_text_options(self) -> None:
        """``dataset``, ``licence``, ``citation``, when given, are strings."""
        for key in ("dataset", "licence", "citation"):
            value = self.options.get(key)
            if value is not None and not isinstance(value, str):
                raise self.option_error(key, f"expected a string, got {value!r}")


def _is_column(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
