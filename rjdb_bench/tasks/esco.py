"""``ood_esco_{tech,house,techwolf}[_weak]``: link job-ad sentences to ESCO skills (Decorte et al.).

One doc per query sentence (:mod:`rjdb_bench.data.esco`: a sentence with at least one ESCO
label; its relevant set is the union of its rows' labels). The candidates are the 13,896 ESCO
preferred labels. Every model's answer becomes a ranking of labels (:func:`link_answer`):

* an answer is a JSON list; each entry stands for a list of labels: a string that is an ESCO
  label exactly stands for itself, any other string for its nearest labels by the
  all-MiniLM-L6-v2 bi-encoder (normalised embeddings, cosine), and an integer ``n`` (rerank
  mode) for the ``n``-th of the doc's numbered candidates;
* the ranking takes the entries' first labels in answer order, then their second labels, and
  so on (duplicates skipped), and is backfilled by the sentence's own bi-encoder ranking
  (``retrieved``), up to :data:`DEPTH` labels.

So the ``baseline`` (which answers its own top labels) and the ``oracle`` (the relevant labels)
are ranked as they answer; a generative model either lists the skills the sentence asks for
(``ood.esco_mode=generate``, Clavié & Soulié 2023's generate-then-retrieve) or picks among the
bi-encoder's top :data:`RERANK_CANDIDATES` (``ood.esco_mode=rerank``).

Metrics per query: RP@1, RP@5 (headline), RP@10 and the reciprocal rank within the top
:data:`DEPTH` (:mod:`rjdb_bench.metrics.linking`), averaged over queries; intervals resample
query sentences. Samples keep the ranking (``prediction``) and the relevant set (``gold``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from rjdb_bench.data.esco import (
    LABEL_FILE,
    SUBSETS,
    pinned_label_sha256,
    read_esco_labels,
    read_esco_queries,
)
from rjdb_bench.errors import InputError
from rjdb_bench.metrics.label_index import LabelIndex, bundled_minilm, shared_label_index
from rjdb_bench.metrics.linking import r_precision_at, reciprocal_rank
from rjdb_bench.metrics.statistic import mean_statistic
from rjdb_bench.settings import OODSettings
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
from rjdb_bench.tasks.demonstrations import render_span_examples, span_examples
from rjdb_bench.tasks.parsing import Parsed, find_json, parse_string_list
from rjdb_bench.tasks.registry import register_task_spec
from rjdb_bench.tasks.spec_task import SpecTask

MODES = ("generate", "rerank")
DEPTH = 50
"""Labels kept in each query's ranking (the samples' ``prediction``); MRR is computed within it."""
RERANK_CANDIDATES = 20
K_VALUES = (1, 5, 10)
# Every query has at least one relevant skill, so an answer names at least one: without
# minItems the embedded SmolLM2-135M answered [] to all 926 test queries in generate mode.
GENERATE_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 100},
    "minItems": 1,
    "maxItems": 10,
}
RERANK_SCHEMA = {
    "type": "array",
    "items": {"type": "integer", "minimum": 1, "maximum": RERANK_CANDIDATES},
    "minItems": 1,
    "maxItems": RERANK_CANDIDATES,
}
SPLITS = ("test", "validation")

GENERATE_INSTRUCTION = (
    "Task: List the skills, competences or areas of knowledge that this sentence from a job "
    "posting asks for, each as a short skill name in the style of the ESCO taxonomy (for "
    'example "manage a team", "use databases", "Python (computer programming)"), most '
    "important first. Reply with a JSON array of strings only.\n\n"
)
GENERATE_PROMPT = GENERATE_INSTRUCTION + "{{examples}}Sentence: {{sentence}}\nJSON:"
RERANK_INSTRUCTION = (
    "Task: Choose the ESCO skills that this sentence from a job posting asks for, among the "
    "numbered candidates. Reply with a JSON array of the chosen candidates' numbers, most "
    "relevant first.\n\n"
)
RERANK_PROMPT = (
    RERANK_INSTRUCTION
    + "{{examples}}Sentence: {{sentence}}\nCandidates:\n{{candidate_list}}\nJSON:"
)


# --------------------------------------------------------------------------- linking


@functools.lru_cache(maxsize=4)
def stock_index(labels_file: str, labels_sha256: str) -> LabelIndex:
    """The all-MiniLM-L6-v2 index of a label file (from the disk cache once built)."""
    labels = read_esco_labels(labels_file, labels_sha256)
    folder, identity = bundled_minilm()
    return shared_label_index(str(folder), identity, labels.labels, labels.sha256)


def interleave(lists: Sequence[Sequence[str]], backfill: Sequence[str], depth: int) -> list[str]:
    """First labels of every list in order, then second labels, ...; then ``backfill``.

    >>> interleave([["a", "b"], ["c"], ["a", "d"]], ["e", "b", "f"], 5)
    ['a', 'c', 'b', 'd', 'e']
    """
    ranking: dict[str, None] = {}
    for position in range(max((len(x) for x in lists), default=0)):
        for labels in lists:
            if position < len(labels):
                ranking.setdefault(labels[position], None)
    for label in backfill:
        ranking.setdefault(label, None)
    return list(ranking)[:depth]


def answer_entries(output: str) -> Parsed:
    """The answer's entries (strings and candidate numbers) in order.

    >>> answer_entries('[3, "use SQL", 1]')
    Parsed(value=[3, 'use SQL', 1], ok=True)
    >>> answer_entries("- use SQL\\n- manage staff")
    Parsed(value=['use SQL', 'manage staff'], ok=True)
    """
    data = find_json(output)
    if isinstance(data, list) and all(
        isinstance(x, str) or (isinstance(x, int) and not isinstance(x, bool)) for x in data
    ):
        return Parsed([x for x in data if not isinstance(x, str) or x.strip()], True)
    return parse_string_list(output, keys=("skills", "labels", "choices"))


def link_answer(entries: Sequence[str | int], doc: Doc) -> tuple[list[str], bool]:
    """The ranking an answer gives (see the module docstring) and whether every entry was usable."""
    retrieved = list(doc["retrieved"])
    candidates = retrieved[:RERANK_CANDIDATES]
    index = stock_index(doc["labels_file"], doc["labels_sha256"])
    known = _label_set(index)
    lists: list[list[str]] = []
    free_text: list[tuple[int, str]] = []
    usable = True
    for entry in entries:
        if isinstance(entry, int):
            if 1 <= entry <= len(candidates):
                lists.append([candidates[entry - 1]])
            else:
                usable = False
        elif entry in known or entry.strip() in known:
            lists.append([entry if entry in known else entry.strip()])
        elif entry.strip():
            free_text.append((len(lists), entry.strip()))
            lists.append([])
    if free_text:
        nearest = index.rank([text for _, text in free_text], DEPTH)
        for (position, _), labels in zip(free_text, nearest, strict=True):
            lists[position] = labels
    return interleave(lists, retrieved, DEPTH), usable


@functools.lru_cache(maxsize=4)
def _label_set_cached(labels: tuple[str, ...]) -> frozenset[str]:
    return frozenset(labels)


def _label_set(index: LabelIndex) -> frozenset[str]:
    return _label_set_cached(index.labels)


def make_esco_item(doc: Doc, output: str) -> Item:
    """The answer turned into a ranking of labels, with the relevant set as gold."""
    parsed = answer_entries(output)
    ranking, usable = link_answer(parsed.value or [], doc)
    item = make_item(doc, output, Parsed(ranking, parsed.ok and usable), list(doc["relevant"]))
    item.update(sentence=doc["sentence"], answer=parsed.value or [], mode=doc["mode"])
    return item


def score_esco(items: Sequence[Item], settings: ScoringSettings) -> Scored:
    """RP@1/5/10 and reciprocal rank per query, averaged; the parse-failure rate."""
    values = {f"rp_at_{k}": np.zeros(len(items)) for k in K_VALUES}
    values["mrr"] = np.zeros(len(items))
    per_item: list[dict[str, float | None]] = []
    for i, item in enumerate(items):
        ranking, relevant = list(item["prediction"] or []), item["gold"]
        for k in K_VALUES:
            values[f"rp_at_{k}"][i] = r_precision_at(ranking, relevant, k)
        values["mrr"][i] = reciprocal_rank(ranking, relevant)
        per_item.append({name: float(column[i]) for name, column in values.items()})
    statistics = {name: mean_statistic(column) for name, column in values.items()}
    statistics["parse_failure_rate"] = parse_failure_statistic(items)
    return Scored(statistics, per_item)


ESCO_METRICS = (
    ranking_metric("rp_at_5", "RP@5", kind="r_precision"),
    ranking_metric("rp_at_1", "RP@1", kind="r_precision"),
    ranking_metric("rp_at_10", "RP@10", kind="r_precision"),
    ranking_metric("mrr", f"MRR (top {DEPTH})", kind="mrr"),
    PARSE_FAILURE_RATE,
)

ESCO = TaskSpec(
    name="ood_esco",
    headline="rp_at_5",
    metrics=ESCO_METRICS,
    build_docs=None,
    make_item=make_esco_item,
    score=score_esco,
    cluster_unit="sentence",
    sample_fields=("sentence", "answer", "mode"),
    description="Link job-ad sentences to ESCO skills, ranking 13,896 labels (Decorte et al.; OOD).",
    structured_output={"json": GENERATE_SCHEMA},
)


# --------------------------------------------------------------------------- the task


class EscoLinkingTask(SpecTask):
    """The ESCO linking task (see the module docstring); ``dataset_kwargs``:

    ``subset`` (``tech``, ``house``, ``techwolf``), ``setting`` (``zeroshot`` or ``weak``),
    ``labels`` and ``annotations`` (paths under the OOD folder, absolute, or beside the YAML;
    defaults: the pinned files), ``labels_sha256`` (default: the pinned label file's; another
    label file is refused). Metadata: ``esco_mode`` (``generate``, default, or ``rerank``),
    ``esco_split`` (``test``, default, or ``validation``), ``ood_data_dir``, ``ood_k``,
    ``seed``, ``limit``.
    """

    OPTIONS = frozenset(
        {
            "setting",
            "dataset",
            "licence",
            "citation",
            "subset",
            "labels",
            "annotations",
            "labels_sha256",
        }
    )

    SPEC = ESCO

    @property
    def mode(self) -> str:
        """``generate`` or ``rerank`` (metadata ``esco_mode``)."""
        mode = self.metadata.get("esco_mode") or OODSettings.esco_mode
        if mode not in MODES:
            raise InputError(f"ood.esco_mode: expected one of {', '.join(MODES)}, got {mode!r}")
        return mode

    def spec_for(self, name: str) -> TaskSpec:
        """The spec under ``name``, its output constraint that of the mode."""
        constraint = {"json": RERANK_SCHEMA if self.mode == "rerank" else GENERATE_SCHEMA}
        spec = replace(self.SPEC, name=name, structured_output=constraint)
        register_task_spec(spec)
        return spec

    @property
    def split(self) -> str:
        """``test`` or ``validation`` (metadata ``esco_split``, the run's ``ood.esco_split``)."""
        split = self.metadata.get("esco_split") or OODSettings.esco_split
        if split not in SPLITS:
            raise InputError(f"ood.esco_split: expected one of {', '.join(SPLITS)}, got {split!r}")
        return split

    def defaults(self) -> dict[str, Any]:
        """Prompt and generation settings of the mode."""
        return {
            "output_type": "generate_until",
            "doc_to_text": RERANK_PROMPT if self.mode == "rerank" else GENERATE_PROMPT,
            "generation_kwargs": {
                "until": ["\n\n"],
                "max_gen_toks": 160,
                "do_sample": False,
                "temperature": 0.0,
            },
        }

    def full_size(self) -> int:
        """Queries of the annotation file, whatever the run's ``limit`` (after :meth:`build`)."""
        return int(self.data_notes["queries"])

    def build(self) -> list[Doc]:
        """One doc per query, with the bi-encoder's ranking of the sentence (``retrieved``)."""
        weak = self.weak
        subset = self.option("subset")
        annotations = self.option("annotations")
        if annotations is None:
            if (subset, self.split) not in SUBSETS:
                known = ", ".join(sorted({s for s, _ in SUBSETS}))
                raise self.option_error(
                    "subset",
                    f"no {self.split} file for subset {subset!r} (subsets: {known}; TECHWOLF has "
                    "a test file only)",
                )
            annotations = SUBSETS[(subset, self.split)]
        expected = self.option("labels_sha256", pinned_label_sha256())
        labels_source = self.source(self.option("labels", LABEL_FILE))
        labels = read_esco_labels(labels_source.path, expected)
        queries = read_esco_queries(self.source(annotations).path, labels.labels)
        limit = self.metadata.get("limit")
        chosen = queries.queries[: int(limit)] if limit else queries.queries
        index = stock_index(str(labels.path), labels.sha256)
        retrieved = index.rank([q.sentence for q in chosen], DEPTH)
        self.data_notes = {
            "split": self.split,
            "mode": self.mode,
            "queries": len(queries.queries),
            "relevant_pairs": queries.relevant_pairs,
            "candidates": len(labels.labels),
            "labels_sha256": labels.sha256,
            "sentences_in_file": queries.sentences,
            "no_label_rows": queries.no_label_rows,
            "repaired_labels": [
                {"row": row, "as_written": gold, "label": label}
                for row, gold, label in queries.repaired
            ],
            "unreachable_labels": [
                {"row": row, "label": label} for row, label in queries.unreachable
            ],
            "missing_label_rule": "a gold label not in the label file is matched to the one label "
            "equal to it with commas dropped and whitespace collapsed (repaired); with no such "
            "label it stays relevant but unreachable (counted in min(K, n))",
            "label_cache": index.origin.get("cache"),
        }
        examples = ""
        if weak:
            examples = render_span_examples(span_examples(*self.demonstration_rows()))
        docs = []
        for number, (query, ranked) in enumerate(zip(chosen, retrieved, strict=True)):
            doc_key = f"{subset or 'custom'}-{self.split}:{number}"
            docs.append(
                {
                    "task": self.spec.name,
                    "family": "esco",
                    "doc_key": doc_key,
                    "cluster": doc_key,
                    "sentence": query.sentence,
                    "relevant": list(query.relevant),
                    "rows": list(query.rows),
                    "labels_file": str(labels.path),
                    "labels_sha256": labels.sha256,
                    "depth": DEPTH,
                    "retrieved": ranked,
                    "candidate_list": "\n".join(
                        f"{n}. {label}"
                        for n, label in enumerate(ranked[:RERANK_CANDIDATES], start=1)
                    ),
                    "mode": self.mode,
                    "examples": examples,
                    "target": json.dumps(list(query.relevant), ensure_ascii=False),
                }
            )
        return docs
