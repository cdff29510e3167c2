"""Find, validate and normalise the RJDB JSONL splits (github.com/megagonlabs/rjdb).

``locate_rjdb`` decides which file to read (a file, a folder, ``$RJDB_DATA_DIR`` or the pinned
download); ``read_rjdb`` parses it line by line, checks every row and returns a
``datasets.Dataset`` with the columns of :data:`FEATURES`. The quirks handled here are listed
in ``docs/data.md``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import datasets

from rjdb_bench.data.download import DataFile, fetch, sha256_file
from rjdb_bench.data.experience import parse_experience_change, parse_experience_string
from rjdb_bench.errors import InputError
from rjdb_bench.paths import cache_dir
from rjdb_bench.settings import DataSettings

RJDB_REPO = "megagonlabs/rjdb"
RJDB_COMMIT = "5a8e7069f7dfc1f26ded969340ab4a1648fb0c7f"
RJDB_URL_BASE = f"https://raw.githubusercontent.com/{RJDB_REPO}/{RJDB_COMMIT}/"
RJDB_PINNED = {
    "test": ("data/test.jsonl", "82a1ca9db0785aff0aaa6990765ba95f83ca43ff91d03c04c97026f28ac0e016"),
}
SPLITS = ("train", "dev", "test")

_EXPERIENCE = {
    "title": datasets.Value("string"),
    "years": datasets.Value("int64"),
    "start": datasets.Value("int64"),
    "end": datasets.Value("int64"),
    "source": datasets.Value("string"),
}
FEATURES = datasets.Features(
    {
        "row_id": datasets.Value("int64"),
        "job_description": datasets.Value("string"),
        "resume_matched": datasets.Value("string"),
        "resume_unmatched": datasets.Value("string"),
        "skills": [datasets.Value("string")],
        "removed_skills": [datasets.Value("string")],
        "experiences": [_EXPERIENCE],
        "experience_change": {
            "kind": datasets.Value("string"),
            "title": datasets.Value("string"),
            "original": datasets.Value("string"),
            "edited": datasets.Value("string"),
        },
        "end_year": datasets.Value("int64"),
    }
)

_TEXT_FIELDS = {
    "Job-Description": "job_description",
    "Resume-matched": "resume_matched",
    "Resume-unmatched": "resume_unmatched",
}
_REQUIRED = (*_TEXT_FIELDS, "Skills", "Experiences", "Experiences-years", "Filtered-information")
_YEARS_SHAPE = "[[list of strings, list of strings], int, list of ints]"
# A JSON \u escape of a UTF-16 surrogate; only such escapes can put one into a parsed string.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_INT64 = range(-(2**63), 2**63)


# --------------------------------------------------------------------------- locating


def locate_rjdb(
    split: str = DataSettings.split,
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
) -> DataFile:
    """Find the JSONL file of an RJDB split.

    Precedence: ``path`` (a ``.jsonl`` file) > ``data_dir`` (a folder holding
    ``<split>.jsonl``) > ``$RJDB_DATA_DIR`` > download of the pinned file into
    ``cache_dir("data", "rjdb", RJDB_COMMIT)``. Only the test split is pinned for download;
    dev and train must be given as a file or folder. Raises ``InputError`` otherwise.
    """
    if split not in SPLITS:
        raise InputError(f"unknown RJDB split {split!r}; expected one of {', '.join(SPLITS)}")
    if path is not None:
        return _local_file(Path(path), "given as path")
    if data_dir is not None:
        return _local_file(Path(data_dir) / f"{split}.jsonl", "from data_dir")
    env_dir = os.environ.get("RJDB_DATA_DIR")
    if env_dir:
        return _local_file(Path(env_dir) / f"{split}.jsonl", "from RJDB_DATA_DIR")
    if split not in RJDB_PINNED:
        raise InputError(
            f"the RJDB {split} split cannot be downloaded (only "
            f"{', '.join(RJDB_PINNED)} is pinned); give it as a file (path) or a folder holding "
            f"{split}.jsonl (data_dir or RJDB_DATA_DIR)"
        )
    return _download_pinned(split)


def _local_file(file: Path, how: str) -> DataFile:
    """A user-given file as a ``DataFile``, or an ``InputError`` naming the expected path."""
    if file.is_dir():
        raise InputError.at(file, f"is a folder, expected a .jsonl file ({how})")
    if not file.is_file():
        raise InputError.at(file, f"RJDB file not found ({how})")
    return DataFile(path=file, sha256=sha256_file(file), origin="local", url=None)


def _download_pinned(split: str) -> DataFile:
    """Fetch (or find verified in the cache) the pinned file of ``split``."""
    relpath, sha256 = RJDB_PINNED[split]
    base = os.environ.get("RJDB_DATA_URL_BASE") or RJDB_URL_BASE
    url = base.rstrip("/") + "/" + relpath
    dest = cache_dir("data", "rjdb", RJDB_COMMIT) / f"{split}.jsonl"
    return DataFile(path=fetch(url, sha256, dest), sha256=sha256, origin="download", url=url)


# --------------------------------------------------------------------------- reading


def load_rjdb(
    split: str = DataSettings.split,
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
) -> datasets.Dataset:
    """``read_rjdb(locate_rjdb(split, data_dir=data_dir, path=path))``."""
    return read_rjdb(locate_rjdb(split, data_dir=data_dir, path=path))


def rjdb_source(metadata: Mapping[str, Any]) -> DataFile:
    """The RJDB file that task metadata (``rjdb_split``, ``rjdb_data_dir``, ``rjdb_path``)
    selects: what the tasks' docs, the baseline and the trained models' row check all read."""
    return locate_rjdb(
        metadata.get("rjdb_split") or DataSettings.split,
        data_dir=metadata.get("rjdb_data_dir") or None,
        path=metadata.get("rjdb_path") or None,
    )


@functools.lru_cache(maxsize=4)
def read_rjdb_cached(source: DataFile) -> datasets.Dataset:
    """:func:`read_rjdb` memoised by ``source``: path, sha256 and origin, so an edited file
    is read again. Treat the result as read-only: every caller shares it."""
    return read_rjdb(source)


def read_rjdb(source: DataFile | str | Path) -> datasets.Dataset:
    """Parse, validate and normalise an RJDB JSONL file into a ``datasets.Dataset``.

    Blank lines are skipped; ``row_id`` counts the data rows from 0 in file order. Every row
    is checked; the first problem raises ``InputError`` naming file, 1-based line and field.
    """
    file = source.path if isinstance(source, DataFile) else Path(source)
    rows = [
        normalise_row(raw, row_id=i, file=file, line=n) for i, (n, raw) in enumerate(_records(file))
    ]
    if not rows:
        raise InputError.at(file, "no RJDB rows (the file is empty)")
    return datasets.Dataset.from_list(rows, features=FEATURES)


def _data_lines(file: Path) -> Iterator[tuple[int, bytes, str]]:
    """``(line number, raw bytes, text)`` of each non-blank line: the lines that are rows, in
    ``row_id`` order (a BOM opens line 1 only)."""
    for n, data in enumerate(_read_bytes(file).split(b"\n"), start=1):
        try:
            text = data.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as e:
            raise InputError.at(file, f"not valid UTF-8 ({e.reason})", line=n) from None
        if text.strip():
            yield n, data, text


def raw_rows(file: str | Path, row_ids: Iterable[int]) -> list[bytes]:
    r"""The JSONL lines (each ending in a newline) of the given ``row_id``s, as the file holds
    them: rows are counted exactly as :func:`read_rjdb` counts them.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "rows.jsonl").write_bytes('{"a":1}\n\u00a0\n{"a":2}\r\n'.encode())
    >>> raw_rows(folder / "rows.jsonl", [1])
    [b'{"a":2}\n']
    """
    lines = [data for _, data, _ in _data_lines(Path(file))]
    return [lines[row].rstrip(b"\r") + b"\n" for row in row_ids]


def _records(file: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, parsed JSON value)`` for each non-blank line of ``file``.

    A string holding a lone surrogate (a JSON escape such as ``\\ud800`` without its pair) is
    refused here: it is not Unicode text, and Arrow could not store it.
    """
    for n, _, text in _data_lines(file):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            message = f"invalid JSON ({e.msg} at column {e.colno})"
            raise InputError.at(file, message, line=n) from None
        if _SURROGATE_ESCAPE.search(text):
            _check_no_surrogates(value, file, n)
        yield n, value


def _check_no_surrogates(value: Any, file: Path, line: int, field: str | None = None) -> None:
    """Raise ``InputError`` naming the (top-level or dotted) field of the first lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            char = f"\\u{ord(value[e.start]):04x}"
            message = f"lone surrogate {char} (half of a UTF-16 pair, not valid Unicode text)"
            raise InputError.at(file, message, line=line, field=field) from None
    elif isinstance(value, list):
        for item in value:
            _check_no_surrogates(item, file, line, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = key if field is None else f"{field}.{key}"
            _check_no_surrogates(key, file, line, field)
            _check_no_surrogates(item, file, line, inner)


def _read_bytes(file: Path) -> bytes:
    """The bytes of ``file``, or an ``InputError`` saying why it cannot be read."""
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise InputError.at(file, "RJDB file not found") from None
    except IsADirectoryError:
        raise InputError.at(file, "is a folder, expected a .jsonl file") from None
    except OSError as e:
        raise InputError.at(file, f"cannot read ({e.strerror or e})") from None


def normalise_row(raw: Any, *, row_id: int, file: str | Path, line: int) -> dict:
    """Validate one parsed JSON row and return it with the columns of :data:`FEATURES`."""
    if not isinstance(raw, dict):
        raise InputError.at(file, f"expected a JSON object, got {_type_name(raw)}", line=line)
    for name in _REQUIRED:
        if name not in raw:
            raise InputError.at(file, f"missing field {name!r}", line=line)
    filtered = raw["Filtered-information"]
    if not isinstance(filtered, dict):
        raise _field_error(file, line, "Filtered-information", "an object", filtered)
    for name in ("Skills", "Experience"):
        if name not in filtered:
            raise InputError.at(file, f"missing field 'Filtered-information.{name}'", line=line)

    row: dict[str, Any] = {"row_id": row_id}
    for name, column in _TEXT_FIELDS.items():
        row[column] = _string(raw[name], file, line, name).strip()
    row["skills"] = _strings(raw["Skills"], file, line, "Skills")
    _strings(raw["Experiences"], file, line, "Experiences")
    row["removed_skills"] = _removed_skills(filtered["Skills"], file, line)
    range_strings, end_year = _experiences_years(raw["Experiences-years"], file, line)
    row["experiences"] = [
        experience
        for s in range_strings
        for experience in _parse(parse_experience_string, s, file, line, "Experiences-years")
    ]
    change = _string(filtered["Experience"], file, line, "Filtered-information.Experience")
    row["experience_change"] = _parse(
        parse_experience_change, change, file, line, "Filtered-information.Experience"
    )
    row["end_year"] = end_year
    return row


def _removed_skills(value: Any, file: str | Path, line: int) -> list[str]:
    """``Filtered-information.Skills``: a list of strings, or a dict whose keys are the skills."""
    field = "Filtered-information.Skills"
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value
    raise _field_error(file, line, field, "a list of strings or an object", value)


def _experiences_years(value: Any, file: str | Path, line: int) -> tuple[list[str], int]:
    """Check the ``[[["N years as a T", ..], ["T (a - b)", ..]], end_year, [N, ..]]`` shape."""
    field = "Experiences-years"
    ok = (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], list)
        and len(value[0]) == 2
        and all(_is_strings(part) for part in value[0])
        and _is_int(value[1])
        and isinstance(value[2], list)
        and all(_is_int(n) for n in value[2])
    )
    if not ok:
        raise _field_error(file, line, field, _YEARS_SHAPE, value)
    if value[1] not in _INT64:
        raise InputError.at(file, f"end year {value[1]} is out of range", line=line, field=field)
    return value[0][1], value[1]


def _parse(parser: Callable[[str], Any], text: str, file: str | Path, line: int, field: str) -> Any:
    """Run an experience parser, turning its ``ValueError`` into a located ``InputError``."""
    try:
        return parser(text)
    except ValueError as e:
        raise InputError.at(file, str(e), line=line, field=field) from None


def _string(value: Any, file: str | Path, line: int, field: str) -> str:
    """``value`` if it is a string, else a located ``InputError``."""
    if not isinstance(value, str):
        raise _field_error(file, line, field, "a string", value)
    return value


def _strings(value: Any, file: str | Path, line: int, field: str) -> list[str]:
    """``value`` if it is a list of strings, else a located ``InputError``."""
    if not _is_strings(value):
        raise _field_error(file, line, field, "a list of strings", value)
    return value


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) for s in value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field_error(file: str | Path, line: int, field: str, expected: str, value: Any) -> InputError:
    """``<file>:<line>: field '<field>': expected <expected>, got <type>``."""
    return InputError.at(
        file, f"expected {expected}, got {_describe(value)}", line=line, field=field
    )


def _describe(value: Any) -> str:
    """The JSON type of ``value``; for a list, also the types of its items."""
    if isinstance(value, list):
        kinds = sorted({_type_name(v) for v in value})
        return f"list of {'/'.join(kinds)}" if kinds else "empty list"
    return _type_name(value)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
