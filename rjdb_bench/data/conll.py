"""Read CoNLL-style span annotations into one untyped BIO layer per sentence.

:func:`read_conll` reads token lines (one token per line, columns split by ``delimiter``, a blank
line between sentences), takes the BIO chunks of every tag column with
:func:`~rjdb_bench.metrics.bio.typed_spans`, keeps the chunks of the wanted types, merges chunks
that overlap (across columns) into their union and writes the result with
:func:`~rjdb_bench.metrics.bio.spans_to_bio`. What it had to repair or drop is counted in a
:class:`ConllReport`. The SkillSpan and Green files it was checked on are described in
``docs/data-ood.md``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rjdb_bench.errors import InputError
from rjdb_bench.metrics.bio import Span, spans_to_bio, typed_spans

UNTYPED_KIND = "_"
"""The chunk type :func:`~rjdb_bench.metrics.bio.typed_spans` gives untyped ``B``/``I`` tags."""

_BIO_TAG = re.compile(r"O|[BI](-\S+)?")
_DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class LabelledSentence:
    """One sentence: its tokens and their untyped BIO tags (``"B"``, ``"I"`` or ``"O"``).

    ``sentence_id`` is ``"<file name>:<0-based sentence index in that file>"``.
    """

    sentence_id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def spans(self) -> list[Span]:
        """The ``(start, end)`` token spans of the sentence's chunks, in order."""
        return [span for _, span in typed_spans(self.tags)]


@dataclass(frozen=True)
class ConllReport:
    """What :func:`read_conll` read and what it noticed on the way.

    ``spans`` counts the spans of the merged untyped layer; ``chunks`` the kept chunks before
    merging. ``merged_overlaps`` counts the output spans that were made from two or more
    overlapping chunks (so ``chunks - spans`` chunks disappeared into them).
    ``chunks_starting_with_I`` counts kept chunks whose first tag is ``I`` (an ``I`` after
    ``O`` or after another type), which are read as starting a chunk, as seqeval does.
    ``ignored_types`` counts the chunks dropped by the ``types`` filter, per type.
    """

    files: int
    sentences: int
    tokens: int
    spans: int
    chunks: int
    merged_overlaps: int
    chunks_starting_with_I: int
    ignored_types: Counter[str] = field(default_factory=Counter)
    skipped: tuple[SkippedLines, ...] | None = None

    def as_dict(self) -> dict:
        """The report as a JSON-ready dict (``ignored_types`` sorted by type).

        ``skipped_malformed`` (one entry per file) is there only when ``skip_malformed`` was on.
        """
        out = {
            "files": self.files,
            "sentences": self.sentences,
            "tokens": self.tokens,
            "spans": self.spans,
            "chunks": self.chunks,
            "merged_overlaps": self.merged_overlaps,
            "chunks_starting_with_I": self.chunks_starting_with_I,
            "ignored_types": dict(sorted(self.ignored_types.items())),
        }
        if self.skipped is not None:
            out["skipped_malformed"] = [s.as_dict() for s in self.skipped]
        return out


@dataclass(frozen=True)
class SkippedLines:
    """What ``skip_malformed`` dropped from one file.

    ``lines`` malformed lines in all; ``first_lines`` the first :data:`FIRST_SKIPPED` of their
    1-based numbers; ``sentences`` the sentences dropped because they contain one;
    ``first_problem`` the first line's problem, as the error would have said it.
    """

    file: str
    lines: int
    first_lines: tuple[int, ...]
    sentences: int
    first_problem: str

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            "file": self.file,
            "lines": self.lines,
            "first_lines": list(self.first_lines),
            "sentences": self.sentences,
            "first_problem": self.first_problem,
        }

    def warning(self) -> str:
        """One line for stderr: ``<file>: skipped N malformed lines (first: a, b, ...), ...``."""
        numbers = ", ".join(map(str, self.first_lines))
        more = ", ..." if self.lines > len(self.first_lines) else ""
        plural = "s" if self.lines != 1 else ""
        dropped = "sentence" if self.sentences == 1 else "sentences"
        return (
            f"{self.file}: skipped {self.lines} malformed line{plural} (first: {numbers}{more}) "
            f"and dropped the {self.sentences} {dropped} containing them; first problem: "
            f"{self.first_problem}"
        )


FIRST_SKIPPED = 10
"""How many line numbers of skipped malformed lines a :class:`SkippedLines` keeps."""


def read_conll(
    paths: Sequence[str | Path],
    *,
    token_column: int = 0,
    tag_columns: Sequence[int] = (1,),
    types: Sequence[str] | None = None,
    delimiter: str | None = "\t",
    skip_malformed: bool = False,
) -> tuple[list[LabelledSentence], ConllReport]:
    """Read CoNLL files into sentences with one untyped BIO layer, and a report.

    Lines are split on ``delimiter`` (``None``: on any whitespace) after trailing whitespace is
    removed; blank lines end a sentence (any number of them, anywhere) and ``-DOCSTART-`` lines
    are skipped. Tags are BIO, typed (``B-Skill``) or untyped (``B``). For each tag column the
    chunks are found with ``typed_spans``; a chunk is kept if its type is in ``types`` (``None``:
    all types; untyped chunks are always kept). The kept chunks of all columns are united,
    overlapping ones merged into their union span, and the result written as untyped BIO.

    A token line is *malformed* if it has fewer columns than the ones read, more columns than
    most lines of its file (a token containing the delimiter shifts every column after it), or
    a tag that is not BIO (an empty tag column included). By default the first one raises
    ``InputError`` naming ``<file>:<line>``. With ``skip_malformed`` every sentence containing
    a malformed line is dropped whole (so no sentence is silently altered: dropping only the
    line would remove a token and could cut a span), and the report's ``skipped`` counts them
    per file; sentence ids keep counting the dropped sentences, so they still give a
    sentence's position in its file. A file that is missing, not UTF-8, or left without any
    sentence is an ``InputError`` either way.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.conll"
    >>> _ = f.write_text("use\\tO\\tO\\nPython\\tB-Skill\\tB-Knowledge\\ncode\\tI-Skill\\tO\\n")
    >>> sentences, report = read_conll([f], tag_columns=(1, 2))
    >>> sentences[0].tags, report.spans, report.merged_overlaps
    (('O', 'B', 'I'), 1, 1)
    """
    if not tag_columns:
        raise ValueError("tag_columns is empty")
    layer = _Layer(None if types is None else set(types))
    n_columns = max(token_column, *tag_columns) + 1
    sentences: list[LabelledSentence] = []
    skipped: list[SkippedLines] = []
    for path in paths:
        file = Path(path)
        read = _sentences(file, token_column, tag_columns, n_columns, delimiter)
        kept, dropped = _read_file(file, read, layer, skip_malformed)
        sentences.extend(kept)
        if skip_malformed:
            skipped.append(dropped)
    skips = tuple(skipped) if skip_malformed else None
    return sentences, layer.report(len(paths), len(sentences), skips)


class _Layer:
    """Turns a sentence's tag columns into its one untyped BIO layer, counting as it goes."""

    def __init__(self, wanted: set[str] | None) -> None:
        self.wanted = wanted
        self.counts: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()

    def tags(self, n_tokens: int, columns: Sequence[Sequence[str]]) -> tuple[str, ...]:
        """The kept chunks of every column, united (overlaps merged), as untyped BIO."""
        chunks: list[Span] = []
        for tags in columns:
            for kind, span in typed_spans(tags):
                if self.wanted is not None and kind != UNTYPED_KIND and kind not in self.wanted:
                    self.ignored[kind] += 1
                    continue
                chunks.append(span)
                self.counts["starting_with_I"] += tags[span[0]].startswith("I")
        merged, n_merged = merge_overlaps(chunks)
        self.counts["chunks"] += len(chunks)
        self.counts["spans"] += len(merged)
        self.counts["merged"] += n_merged
        self.counts["tokens"] += n_tokens
        return tuple(spans_to_bio(merged, n_tokens))

    def report(
        self, files: int, sentences: int, skipped: tuple[SkippedLines, ...] | None
    ) -> ConllReport:
        """What was read, from the counts so far."""
        return ConllReport(
            files=files,
            sentences=sentences,
            tokens=self.counts["tokens"],
            spans=self.counts["spans"],
            chunks=self.counts["chunks"],
            merged_overlaps=self.counts["merged"],
            chunks_starting_with_I=self.counts["starting_with_I"],
            ignored_types=self.ignored,
            skipped=skipped,
        )


def _read_file(
    file: Path, read: Iterable[Any], layer: _Layer, skip_malformed: bool
) -> tuple[list[LabelledSentence], SkippedLines]:
    """One file's sentences (``read``: :func:`_sentences`), and what was skipped in it."""
    sentences: list[LabelledSentence] = []
    bad_lines: list[int] = []
    first_problem = ""
    dropped = 0
    for index, (tokens, columns, problems) in enumerate(read):
        if problems:
            if not skip_malformed:
                line, message = problems[0]
                raise InputError.at(file, message, line=line)
            first_problem = first_problem or f"line {problems[0][0]}: {problems[0][1]}"
            bad_lines.extend(line for line, _ in problems)
            dropped += 1
            continue
        sentences.append(
            LabelledSentence(
                sentence_id=f"{file.name}:{index}",
                tokens=tuple(tokens),
                tags=layer.tags(len(tokens), columns),
            )
        )
    if not sentences:
        if dropped:
            raise InputError.at(
                file,
                f"no sentences left: all {dropped} contain malformed lines (skip_malformed); "
                f"first: {first_problem}",
            )
        raise InputError.at(file, "no sentences (the file has no token lines)")
    skipped = SkippedLines(
        file=str(file),
        lines=len(bad_lines),
        first_lines=tuple(bad_lines[:FIRST_SKIPPED]),
        sentences=dropped,
        first_problem=first_problem,
    )
    return sentences, skipped


def merge_overlaps(spans: Sequence[Span]) -> tuple[list[Span], int]:
    """Sorted union of ``spans`` where overlapping ones become one, and how many did.

    The count is the number of output spans made from two or more input spans (identical
    spans count as overlapping). Spans that only touch (one ends where the next starts) stay
    apart.

    >>> merge_overlaps([(4, 6), (0, 2), (1, 3), (3, 4), (4, 6)])
    ([(0, 3), (3, 4), (4, 6)], 2)
    """
    merged: list[list[int]] = []
    sizes: list[int] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            sizes[-1] += 1
        else:
            merged.append([start, end])
            sizes.append(1)
    return [(start, end) for start, end in merged], sum(size > 1 for size in sizes)


def _sentences(
    file: Path,
    token_column: int,
    tag_columns: Sequence[int],
    n_columns: int,
    delimiter: str | None,
) -> Iterator[tuple[list[str], list[list[str]], list[tuple[int, str]]]]:
    """Yield ``(tokens, one tag list per tag column, malformed lines)`` for each sentence.

    The malformed lines are ``(1-based line number, problem)``; a sentence with any is yielded
    with whatever tokens could be read, for the caller to refuse or drop.
    """
    rows: list[tuple[int, list[str] | None]] = []  # (line number, fields or None if blank)
    for n, line in enumerate(_lines(file), start=1):
        line = line.rstrip()
        fields = line.split(delimiter) if line.strip() else None
        if fields is None or fields[0] != _DOCSTART:
            rows.append((n, fields))
    widths = Counter(len(fields) for _, fields in rows if fields is not None)
    # The file's usual width: the most frequent one (the narrowest of equally frequent ones).
    usual = max(widths, key=lambda w: (widths[w], -w)) if widths else 0
    tokens: list[str] = []
    columns: list[list[str]] = [[] for _ in tag_columns]
    problems: list[tuple[int, str]] = []
    for n, fields in rows:
        if fields is None:
            if tokens or problems:
                yield tokens, columns, problems
                tokens, columns, problems = [], [[] for _ in tag_columns], []
            continue
        problem = _problem(fields, tag_columns, n_columns, usual)
        if problem:
            problems.append((n, problem))
            continue
        tokens.append(fields[token_column])
        for tags, column in zip(columns, tag_columns, strict=True):
            tags.append(fields[column].strip())
    if tokens or problems:
        yield tokens, columns, problems


def _problem(fields: list[str], tag_columns: Sequence[int], n_columns: int, usual: int) -> str:
    """Why a token line is malformed, or ``""``."""
    if len(fields) < n_columns:
        return f"expected at least {n_columns} columns, got {len(fields)}"
    if len(fields) > usual:
        return (
            f"{len(fields)} columns where the file's lines have {usual} "
            "(a token containing the delimiter?)"
        )
    for column in tag_columns:
        tag = fields[column].strip()
        if not _BIO_TAG.fullmatch(tag):
            return f"column {column}: {tag!r} is not a BIO tag (O, B, I, B-X, I-X)"
    return ""


def _lines(file: Path) -> list[str]:
    """The lines of a UTF-8 file, or an ``InputError`` saying why it cannot be read."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError.at(file, "CoNLL file not found") from None
    except IsADirectoryError:
        raise InputError.at(file, "is a folder, expected a CoNLL file") from None
    except OSError as e:
        raise InputError.at(file, f"cannot read ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError.at(file, f"not valid UTF-8 ({e.reason})", line=line) from None
    return text.split("\n")
