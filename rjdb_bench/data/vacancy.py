"""Read the Vanetik & Kogan (2023) vacancy–resume matching set: vacancies, CVs and rankings.

The folder (``vacancy-resume-matching/`` of the OOD data, see ``docs/data-ood.md``) holds
``5_vacancies.csv`` (five real software-developer vacancies), ``CV/1.docx`` … ``CV/65.docx``
(anonymised real CVs) and ``annotations-for-the-first-30-vacancies.txt``, in which two annotators
rank the five vacancies for CVs 1–30. :func:`read_rankings` reads each ranking array as vacancy
numbers from the best to the worst and reports, rather than raises on, the file's known
defects (a short annotator block, arrays that are not permutations).
"""

from __future__ import annotations

import ast
import csv
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from lxml import etree

from rjdb_bench.errors import InputError

VACANCIES = 5
"""Number of vacancies (rows of ``5_vacancies.csv``) every CV is ranked against."""
ANNOTATORS = (1, 2)
"""Annotator numbers whose ``ANNOTATOR_<n>_RANKINGS`` block must be present."""
ANNOTATED_CVS = 30
"""CVs 1..30 are meant to be ranked by every annotator (the file's header says so)."""

_CSV_COLUMNS = ("id", "job_title", "job_description")
_ASSIGNMENT = re.compile(r"\bANNOTATOR_(\d+)_RANKINGS\s*=")


# --------------------------------------------------------------------------- vacancies


@dataclass(frozen=True)
class Vacancy:
    """One vacancy: ``number`` 1..5 is its row order in the CSV, ``source_id`` the CSV's id."""

    number: int
    title: str
    description: str
    source_id: str


def read_vacancies(path: str | Path) -> list[Vacancy]:
    """The vacancies of ``5_vacancies.csv`` in row order, numbered from 1.

    Title and description are stripped. Raises ``InputError`` naming the file if it cannot be
    read, lacks one of the columns ``id``, ``job_title``, ``job_description``, has a row with an
    empty title or description, or does not have exactly :data:`VACANCIES` rows.
    """
    file = Path(path)
    try:
        with open(file, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in _CSV_COLUMNS if c not in header]
            if missing:
                raise InputError.at(file, f"missing column(s) {', '.join(missing)} in the header")
            rows = list(reader)
    except FileNotFoundError:
        raise InputError.at(file, "vacancy file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError.at(file, f"cannot read as UTF-8 CSV ({e})") from None
    if len(rows) != VACANCIES:
        raise InputError.at(file, f"expected {VACANCIES} vacancy rows, got {len(rows)}")
    vacancies = []
    for number, row in enumerate(rows, start=1):
        title = (row["job_title"] or "").strip()
        description = (row["job_description"] or "").strip()
        for name, value in (("job_title", title), ("job_description", description)):
            if not value:
                raise InputError.at(file, f"vacancy {number}: empty value", field=name)
        vacancies.append(Vacancy(number, title, description, (row["id"] or "").strip()))
    return vacancies


# --------------------------------------------------------------------------- CVs


def read_cv_text(path: str | Path) -> str:
    """The text of a ``.docx`` CV: paragraphs and table cells in document order, one per line.

    Block items are walked in body order (tables stay where they are; cells row by row, each
    cell's paragraphs and nested tables in order; content controls are entered). A paragraph's
    text is the text of its runs, including runs inside hyperlinks and tracked insertions but
    not deleted text; line breaks split it into lines. Whitespace inside a line is collapsed to
    one space and empty lines are dropped. Raises ``InputError`` naming the file if it is not
    a readable ``.docx``.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError.at(file, "CV file not found" if not file.exists() else "not a file")
    try:
        document = docx.Document(str(file))
    except _DOCX_ERRORS as e:
        why = " ".join(f"{type(e).__name__}: {e}".split())
        raise InputError.at(file, f"not a readable .docx file ({why})") from None
    lines = []
    for text in _block_texts(document.element.body):
        for line in text.splitlines():
            line = " ".join(line.split())
            if line:
                lines.append(line)
    return "\n".join(lines)


def read_cvs(folder: str | Path, numbers: Iterable[int]) -> dict[int, str]:
    """``{n: read_cv_text(folder / "CV" / f"{n}.docx")}`` for each CV number ``n``."""
    return {n: read_cv_text(Path(folder) / "CV" / f"{n}.docx") for n in numbers}


_DOCX_ERRORS = (
    PackageNotFoundError,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    etree.XMLSyntaxError,
    OSError,
)
_P, _TBL, _TR, _TC = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
_CONTAINERS = {qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")}
_RUN_PIECES = ".//w:r/w:t | .//w:r/w:tab | .//w:r/w:br | .//w:r/w:cr"


def _block_texts(element: Any) -> Iterator[str]:
    """The text of each paragraph under a body or cell element, in document order."""
    for child in element.iterchildren():
        if child.tag == _P:
            yield _paragraph_text(child)
        elif child.tag == _TBL:
            for row in child.iterchildren(_TR):
                for cell in row.iterchildren(_TC):
                    yield from _block_texts(cell)
        elif child.tag in _CONTAINERS:
            yield from _block_texts(child)


def _paragraph_text(paragraph: Any) -> str:
    """The text of a ``w:p`` element: run text, tabs as tab, breaks as newlines."""
    parts = []
    for piece in paragraph.xpath(_RUN_PIECES):
        if piece.tag == qn("w:t"):
            parts.append(piece.text or "")
        elif piece.tag == qn("w:tab"):
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


# --------------------------------------------------------------------------- rankings


@dataclass(frozen=True)
class AnnotatorRankings:
    """One annotator's rankings: for each CV, vacancy numbers from the best to the worst.

    ``orderings`` holds only the valid arrays (permutations of 1..5); ``defects`` has one
    human-readable line per problem found in this annotator's block.
    """

    annotator: int
    orderings: dict[int, tuple[int, ...]]
    defects: tuple[str, ...]

    @property
    def cvs(self) -> list[int]:
        """The CV numbers with a valid ordering, ascending."""
        return sorted(self.orderings)

    def ranks(self, cv: int) -> dict[int, int]:
        """Vacancy number -> place (1 = best) for CV ``cv``; ``KeyError`` if it has none.

        >>> AnnotatorRankings(1, {1: (2, 1, 4, 3, 5)}, ()).ranks(1)
        {2: 1, 1: 2, 4: 3, 3: 4, 5: 5}
        """
        if cv not in self.orderings:
            raise KeyError(f"annotator {self.annotator} has no valid ranking for CV {cv}")
        return {vacancy: place for place, vacancy in enumerate(self.orderings[cv], start=1)}


def read_rankings(path: str | Path) -> dict[int, AnnotatorRankings]:
    """Annotator number -> rankings, from ``annotations-for-the-first-30-vacancies.txt``.

    The file holds ``ANNOTATOR_<n>_RANKINGS=[[...], ...]`` blocks spanning several lines with
    ``#`` comments. Each block is parsed with ``ast.literal_eval`` (comments stripped, never
    evaluated as code). Array ``i`` (0-based) belongs to CV ``i + 1`` and lists vacancy numbers
    from the best (element 0) to the worst. An array that is not a permutation of 1..5 is left
    out of ``orderings`` and described in ``defects``, as is a block with fewer (or more) than
    :data:`ANNOTATED_CVS` arrays. Raises ``InputError`` naming the file (and the line of the
    block) for anything else: a missing or repeated block of :data:`ANNOTATORS`, a value that
    is not a list of lists of five integers in 1..5.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError.at(file, "annotation file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError.at(file, f"cannot read as UTF-8 text ({e})") from None
    code = "\n".join(line.split("#", 1)[0] for line in text.split("\n"))
    rankings: dict[int, AnnotatorRankings] = {}
    for match in _ASSIGNMENT.finditer(code):
        annotator, line = int(match.group(1)), code.count("\n", 0, match.start()) + 1
        if annotator in rankings:
            raise InputError.at(file, f"ANNOTATOR_{annotator}_RANKINGS given twice", line=line)
        arrays = _literal_list(code, match.end(), file, line, annotator)
        rankings[annotator] = _annotator_rankings(annotator, arrays)
    missing = [n for n in ANNOTATORS if n not in rankings]
    if missing:
        names = ", ".join(f"ANNOTATOR_{n}_RANKINGS" for n in missing)
        raise InputError.at(file, f"no {names} block")
    return dict(sorted(rankings.items()))


def _literal_list(code: str, start: int, file: Path, line: int, annotator: int) -> list[list[int]]:
    """The bracketed literal after an assignment, checked to be a list of 5-int lists."""
    name = f"ANNOTATOR_{annotator}_RANKINGS"
    opening = code.find("[", start)
    if opening < 0 or code[start:opening].strip():
        raise InputError.at(file, f"{name}: expected a list after '='", line=line)
    depth = 0
    for end in range(opening, len(code)):
        depth += {"[": 1, "]": -1}.get(code[end], 0)
        if depth == 0:
            break
    else:
        raise InputError.at(file, f"{name}: unclosed '['", line=line)
    try:
        value = ast.literal_eval(code[opening : end + 1])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
        why = e.msg if isinstance(e, SyntaxError) else type(e).__name__
        raise InputError.at(file, f"{name}: not a Python literal ({why})", line=line) from None
    if not isinstance(value, list) or not value:
        raise InputError.at(file, f"{name}: expected a non-empty list of lists", line=line)
    for cv, array in enumerate(value, start=1):
        ok = (
            isinstance(array, list)
            and len(array) == VACANCIES
            and all(type(v) is int and 1 <= v <= VACANCIES for v in array)
        )
        if not ok:
            raise InputError.at(
                file,
                f"{name}: array {cv} (CV {cv}) is {array!r}, expected {VACANCIES} integers "
                f"in 1..{VACANCIES}",
                line=line,
            )
    return value


def _annotator_rankings(annotator: int, arrays: list[list[int]]) -> AnnotatorRankings:
    """Keep the permutations; describe the other arrays and a wrong array count as defects."""
    defects = []
    if len(arrays) < ANNOTATED_CVS:
        defects.append(
            f"annotator {annotator}: {len(arrays)} arrays, expected {ANNOTATED_CVS}; "
            f"CVs {len(arrays) + 1}-{ANNOTATED_CVS} have no ranking"
        )
    elif len(arrays) > ANNOTATED_CVS:
        defects.append(
            f"annotator {annotator}: {len(arrays)} arrays, expected {ANNOTATED_CVS}; "
            f"kept all of them"
        )
    orderings = {}
    for cv, array in enumerate(arrays, start=1):
        counts = Counter(array)
        repeated = sorted(v for v, n in counts.items() if n > 1)
        if repeated:
            absent = [v for v in range(1, VACANCIES + 1) if v not in counts]
            defects.append(
                f"annotator {annotator}, CV {cv}: {array} is not a permutation of "
                f"1..{VACANCIES} (vacancy {_numbers(repeated)} listed twice or more, "
                f"vacancy {_numbers(absent)} missing); excluded"
            )
        else:
            orderings[cv] = tuple(array)
    return AnnotatorRankings(annotator, orderings, tuple(defects))


def _numbers(values: list[int]) -> str:
    """``[3]`` -> ``"3"``; ``[1, 4]`` -> ``"1, 4"``."""
    return ", ".join(map(str, values))
