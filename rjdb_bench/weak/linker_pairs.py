"""Weak (sentence, skill) pairs from RJDB rows for the skill linker (``weak train-linker``).

A pair says "this sentence asks for / shows this skill". Each line of a row's ``sources``
texts (job description and matched resume by default) is one candidate sentence, its list
marker (``1.``, ``-``, ``*``) removed. For every skill of the row's ``Skills`` that occurs in
the line (the tagger's rules: :func:`rjdb_bench.weak.labels.skill_mentions`, casing and
punctuation ignored):

* a line that *starts* with the skill and a colon (``Networking: TCP/IP networking skills
  and LAN/WAN operation.``, the job descriptions' "Required Skills" lists) gives the text after
  the colon: the sentence describes the skill without the header naming it;
* any other line gives the whole line (``Use of project management techniques ...``);
* a line that is nothing but the skill (a resume's skills list) gives no pair, nor does a
  description shorter than :data:`MIN_WORDS` words.

Pairs are unique per row (a sentence repeated in a row's texts counts once). Nothing comes
from ESCO: the skill side is RJDB's own skill name, so the linker learns to map a sentence
to the name of the skill it is about from RJDB alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import datasets

from rjdb_bench.data.words import word_offsets
from rjdb_bench.metrics.spans import match_key
from rjdb_bench.weak.labels import skill_core, skill_mentions

MIN_WORDS = 3
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")

LINKER_FEATURES = datasets.Features(
    {
        "row_id": datasets.Value("int64"),
        "source": datasets.Value("string"),
        "kind": datasets.Value("string"),
        "sentence": datasets.Value("string"),
        "skill": datasets.Value("string"),
    }
)


def _words(text: str) -> list[str]:
    return [text[s:e] for s, e in word_offsets(text)]


def line_pairs(line: str, skills: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(kind, sentence, skill)`` pairs of one line (rules in the module docstring).

    >>> line_pairs("2. Networking: TCP/IP networking skills and LAN operation.", ["Networking", "SQL"])
    [('described', 'TCP/IP networking skills and LAN operation.', 'Networking')]
    >>> line_pairs("- Built dashboards with sql and Python", ["SQL", "python", "R"])
    [('mentioned', 'Built dashboards with sql and Python', 'SQL'), ('mentioned', 'Built dashboards with sql and Python', 'python')]
    >>> line_pairs("3. VMware", ["VMware"])
    []
    """
    text = _LIST_MARKER.sub("", line).strip()
    words = _words(text)
    pairs = []
    for skill in skills:
        core = skill_core(skill)
        if not core or not skill_mentions(words, core):
            continue
        head, colon, rest = text.partition(":")
        if colon and match_key(head) == match_key(core):
            kind, sentence = "described", rest.strip()
        else:
            kind, sentence = "mentioned", text
        if len(_words(sentence)) >= MIN_WORDS and match_key(sentence) != match_key(core):
            pairs.append((kind, sentence, core))
    return pairs


def linker_records(row: Mapping[str, Any], sources: Sequence[str]) -> list[dict[str, Any]]:
    """The linker dataset's records of one row (features :data:`LINKER_FEATURES`)."""
    seen: set[tuple[str, str]] = set()
    records = []
    for source in sources:
        for line in row[source].splitlines():
            for kind, sentence, skill in line_pairs(line, row["skills"]):
                if (sentence, skill) in seen:
                    continue
                seen.add((sentence, skill))
                records.append(
                    {
                        "row_id": row["row_id"],
                        "source": source,
                        "kind": kind,
                        "sentence": sentence,
                        "skill": skill,
                    }
                )
    return records
