"""The one error type users see: bad input (config, data file, CLI argument).

The CLI prints ``InputError`` as a single line and exits with code 2; every other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path

import yaml


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


def yaml_error(path: str | Path, error: yaml.YAMLError, data: bytes) -> InputError:
    r"""A YAML parse ``error`` of the file ``path`` (content ``data``) as one line at its line.

    >>> try:
    ...     yaml.safe_load(b"a: [1\n")
    ... except yaml.YAMLError as e:
    ...     print(yaml_error("x.yaml", e, b"a: [1\n"))
    x.yaml:2: invalid YAML: expected ',' or ']', but got '<stream end>' (column 1), while parsing a flow sequence at line 1, column 4
    """
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or type(error).__name__
        where = f" (column {mark.column + 1})" if mark else ""
        if error.problem and error.context and error.context_mark:
            start = error.context_mark
            where += f", {error.context} at line {start.line + 1}, column {start.column + 1}"
        line = mark.line + 1 if mark else None
        return InputError.at(path, f"invalid YAML: {problem}{where}", line=line)
    if isinstance(error, yaml.reader.ReaderError):
        line = data[: error.position].count(b"\n") + 1
        return InputError.at(path, f"invalid YAML: {error.reason}", line=line)
    return InputError.at(path, f"invalid YAML: {one_line(error)}")
