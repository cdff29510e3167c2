"""JSON read from files anyone may have written (runs, boards, items, sweep indexes, cards):
numbers must be finite, an object's keys unique, and anything else is one :class:`InputError`
line naming the file.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e400`` (which becomes ``inf``) and
raises ``ValueError`` or ``RecursionError`` (not ``JSONDecodeError``) for a 5,000-digit
integer or arrays nested 100,000 deep; :func:`loads` refuses all of them in one line. Writers
pass ``allow_nan=False`` to ``json.dumps`` so what we write is strict JSON too. A key given
twice in one object (``{"entries": [...], "entries": [...]}``, a hand-merged board) would
silently keep only the last value; it is refused instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rjdb_bench.errors import InputError, one_line

INT_LIMIT = 2**63  # integers beyond a signed 64-bit range are no count, seed or id of ours


class _Refused(ValueError):
    """What strict JSON (RFC 8259, finite numbers, unique keys) does not allow."""


def _constant(name: str) -> Any:
    raise _Refused(f"non-finite number {name} (only finite numbers are allowed)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:40]} is out of range (only finite numbers are allowed)")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"key {one_line(repr(key), 60)} appears twice in one object")
            seen.add(key)
    return value


def _int(text: str) -> int:
    if len(text) > 20 or abs(int(text)) > INT_LIMIT:
        shown = f"{text[:40]}{'...' if len(text) > 40 else ''}"
        raise _Refused(f"integer {shown} is out of range (only finite numbers are allowed)")
    return int(text)


def loads(text: str | bytes, where: str | Path, *, line: int | None = None) -> Any:
    """``text`` parsed as JSON with finite numbers only; errors name ``where`` (and ``line``,
    for one line of a JSON Lines file, else the line of the error).

    >>> loads('{"a": [1, 2.5]}', "x.json")
    {'a': [1, 2.5]}
    >>> loads('{"a": NaN}', "x.json")
    Traceback (most recent call last):
    ...
    rjdb_bench.errors.InputError: x.json: non-finite number NaN (only finite numbers are allowed)
    """
    try:
        return json.loads(
            text,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as error:
        at = line if line is not None else error.lineno
        raise InputError.at(where, f"invalid JSON ({error.msg})", line=at) from None
    except _Refused as error:
        raise InputError.at(where, str(error), line=line) from None
    except UnicodeDecodeError as error:
        raise InputError.at(where, f"not UTF-8 ({error.reason})", line=line) from None
    except (ValueError, RecursionError) as error:
        what = "nested too deeply" if isinstance(error, RecursionError) else str(error)[:80]
        raise InputError.at(where, f"invalid JSON ({what})", line=line) from None


def read(path: str | Path) -> Any:
    """The JSON file ``path`` (UTF-8, finite numbers), or one line naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError.at(path, f"cannot read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError.at(path, f"not UTF-8 (byte 0x{data[error.start]:02x})") from None
    return loads(text, path)


def non_finite(value: Any, where: str = "") -> str | None:
    """The dotted path of the first NaN or infinity in ``value`` (e.g. parsed YAML), or None.

    >>> non_finite({"ranks": {"alpha": float("nan")}}), non_finite([1.0, 2])
    ('ranks.alpha', None)
    """
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(top level)"
    items: Any = ()
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    for key, item in items:
        found = non_finite(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None
