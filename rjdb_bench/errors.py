"""The one error type users see: bad input (config, data file, CLI argument).

The CLI prints ``InputError`` as a single line and exits with code 2; every other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input, reported as one line that names the file, row or field."""

    @classmethod
    def at(
        cls,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> InputError:
        """Build an error located at ``path[:line]`` and optionally a field.

        >>> str(InputError.at("test.jsonl", "expected a list", line=3, field="Skills"))
        "test.jsonl:3: field 'Skills': expected a list"
        """
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"field {field!r}: {message}" if field else message
        return cls(f"{where}: {what}")


ERROR_LIMIT = 400  # characters of an error line


def one_line(value: object, limit: int | None = None) -> str:
    """``value`` (an error or any text) folded onto one line, cut to ``limit`` characters.

    >>> one_line(ValueError("bad   value "))
    'bad value'
    >>> one_line(KeyError(), limit=10), one_line("x" * 12, limit=10)
    ('KeyError', 'xxxxxxx...')
    """
    text = " ".join(str(value).split())
    if not text and isinstance(value, BaseException):
        text = type(value).__name__
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."
