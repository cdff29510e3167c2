"""The ESCO skill-linking benchmark of Decorte et al. (TECH, HOUSE, TECHWOLF): labels and queries.

Files (``decorte-skill-extraction-benchmark/`` under the OOD folder, pinned in
:mod:`rjdb_bench.data.ood`):

* ``skills_en_label.txt``: the ESCO v1.1.0 preferred labels, one per line (13,896 labels;
  the last line has no newline, so ``wc -l`` says 13,895). These are the candidates.
* ``{tech,house}_{validation,test}_annotations.csv`` (``sentence,span,sub_span,label``) and
  ``techwolf_test_annotations.csv`` (``sentence,label``): one row per (sentence, label); a row
  labelled ``LABEL NOT PRESENT`` or ``UNDERSPECIFIED`` carries no ESCO label.

Protocol (Decorte et al. 2023): one query per sentence with at least one ESCO label, its
relevant set the union of its rows' labels. Five gold labels of the test files are not in the
label file as written: three carry a trailing space (``plan ``), two a comma the label file
lacks (``data extraction, transformation and loading tools``). A gold label absent from the
file is *repaired* to the one file label with the same :func:`label_key` (whitespace collapsed,
commas dropped) and listed in :attr:`EscoQueries.repaired`; a label with no such match stays in
the relevant set as relevant-but-unreachable (it counts in min(K, n)) and is listed in
:attr:`EscoQueries.unreachable`. Repairing reproduces the published stock MiniLM row exactly
(``docs/tasks-ood.md`` has the evidence).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rjdb_bench.data.download import sha256_file
from rjdb_bench.errors import InputError

FOLDER = "decorte-skill-extraction-benchmark"
LABEL_FILE = f"{FOLDER}/skills_en_label.txt"
NO_LABEL = frozenset({"LABEL NOT PRESENT", "UNDERSPECIFIED"})
"""Annotations that mean "no ESCO label for this span"."""
SUBSETS = {
    ("tech", "test"): f"{FOLDER}/tech_test_annotations.csv",
    ("tech", "validation"): f"{FOLDER}/tech_validation_annotations.csv",
    ("house", "test"): f"{FOLDER}/house_test_annotations.csv",
    ("house", "validation"): f"{FOLDER}/house_validation_annotations.csv",
    ("techwolf", "test"): f"{FOLDER}/techwolf_test_annotations.csv",
}
"""(subset, split) -> annotation file under the OOD folder."""
REQUIRED_COLUMNS = ("sentence", "label")


@dataclass(frozen=True)
class EscoLabels:
    """The candidate labels in file order and the label file's sha256."""

    labels: tuple[str, ...]
    sha256: str
    path: Path


@dataclass(frozen=True)
class EscoQuery:
    """One query: a sentence and its relevant ESCO labels (sorted), with the CSV rows it came from."""

    sentence: str
    relevant: tuple[str, ...]
    rows: tuple[int, ...]


@dataclass(frozen=True)
class EscoQueries:
    """The queries of one annotation file and what the protocol left out.

    ``repaired`` lists ``(row, gold as written, file label)`` for gold labels matched through
    :func:`label_key`, ``unreachable`` lists ``(row, label)`` for gold labels with no match
    (kept as relevant); ``no_label_rows`` counts the rows marked :data:`NO_LABEL`;
    ``sentences`` counts distinct sentences in the file.
    """

    queries: tuple[EscoQuery, ...]
    repaired: tuple[tuple[int, str, str], ...]
    unreachable: tuple[tuple[int, str], ...]
    no_label_rows: int
    sentences: int

    @property
    def relevant_pairs(self) -> int:
        """Number of (query, relevant label) pairs."""
        return sum(len(q.relevant) for q in self.queries)


def label_key(label: str) -> str:
    """The form in which a gold label is matched to the label file when not found as written.

    >>> label_key(" data extraction, transformation and  loading tools ")
    'data extraction transformation and loading tools'
    """
    return " ".join(label.replace(",", " ").split())


def pinned_label_sha256() -> str:
    """The sha256 of the pinned ``skills_en_label.txt`` (ESCO v1.1.0), from the OOD manifest."""
    from rjdb_bench.data.ood import OOD_FILES

    return OOD_FILES[LABEL_FILE].sha256


def read_esco_labels(path: str | Path, expected_sha256: str | None = None) -> EscoLabels:
    """The labels of ``skills_en_label.txt``, one per line, checked.

    Raises ``InputError`` naming the file for: a missing or unreadable file, no labels, a blank
    line, a label given twice (both lines named), or (with ``expected_sha256``) a file whose
    sha256 differs from the pinned one (another ESCO version or a damaged copy).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError.at(file, "ESCO label file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError.at(file, f"cannot read as UTF-8 text ({error})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not any(line.strip() for line in lines):
        raise InputError.at(file, "empty ESCO label file (expected one label per line)")
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        label = line.rstrip("\r")
        if not label.strip():
            raise InputError.at(file, "blank line where a label was expected", line=number)
        if label in seen:
            raise InputError.at(
                file, f"duplicate label {label!r} (first on line {seen[label]})", line=number
            )
        seen[label] = number
    sha256 = sha256_file(file)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise InputError.at(
            file,
            f"sha256 {sha256} differs from the pinned ESCO v1.1.0 label file ({expected_sha256}): "
            "another ESCO version or a changed copy; the published numbers need the pinned file",
        )
    return EscoLabels(tuple(seen), sha256, file)


def read_esco_queries(path: str | Path, labels: Sequence[str]) -> EscoQueries:
    """One query per sentence with at least one label of ``labels`` (see the module docstring).

    Queries keep the order of their sentence's first row. Raises ``InputError`` naming the file
    (and row) for a missing file, a header without ``sentence`` or ``label``, an empty sentence or
    label cell, or a file with no query.
    """
    file = Path(path)
    known = set(labels)
    by_key: dict[str, list[str]] = {}
    for label in labels:
        by_key.setdefault(label_key(label), []).append(label)
    relevant: dict[str, set[str]] = {}
    rows_of: dict[str, list[int]] = {}
    sentences: set[str] = set()
    repaired: list[tuple[int, str, str]] = []
    unreachable: list[tuple[int, str]] = []
    no_label = 0
    try:
        with open(file, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InputError.at(
                    file,
                    f"missing column(s) {', '.join(missing)} in the header "
                    f"(expected {', '.join(REQUIRED_COLUMNS)})",
                )
            for row_number, row in enumerate(reader, start=2):
                sentence, label = row.get("sentence"), row.get("label")
                for name, value in (("sentence", sentence), ("label", label)):
                    if value is None or not value.strip():
                        raise InputError.at(file, "empty value", line=row_number, field=name)
                assert sentence is not None and label is not None
                sentences.add(sentence)
                if label in NO_LABEL:
                    no_label += 1
                    continue
                if label not in known:
                    matches = by_key.get(label_key(label), [])
                    if len(matches) == 1:
                        repaired.append((row_number, label, matches[0]))
                        label = matches[0]
                    else:
                        unreachable.append((row_number, label))
                relevant.setdefault(sentence, set()).add(label)
                rows_of.setdefault(sentence, []).append(row_number)
    except FileNotFoundError:
        raise InputError.at(file, "annotation file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError.at(file, f"cannot read as UTF-8 CSV ({error})") from None
    if not relevant:
        raise InputError.at(file, "no sentence with an ESCO label")
    queries = tuple(
        EscoQuery(sentence, tuple(sorted(found)), tuple(rows_of[sentence]))
        for sentence, found in relevant.items()
    )
    return EscoQueries(queries, tuple(repaired), tuple(unreachable), no_label, len(sentences))
