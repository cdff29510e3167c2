"""Range and choice checks for settings fields that types cannot express.

A check is ``(test, expected)``: ``test(value)`` is true for an acceptable value and
``expected`` says in words what is acceptable (``config: <field>: expected <expected>, got
<value>``). A None value, where the field's type allows it, is never tested. The run's
settings (:mod:`rjdb_bench.settings`), each backend's registration and the weak-supervision
configs declare their checks with these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = tuple[Callable[[Any], bool], str]


def is_positive(value: Any) -> bool:
    """``value > 0``."""
    return value > 0


def is_non_negative(value: Any) -> bool:
    """``value >= 0``."""
    return value >= 0


def in_open_unit(value: Any) -> bool:
    """``0 < value < 1``."""
    return 0 < value < 1


def in_unit(value: Any) -> bool:
    """``0 <= value <= 1``."""
    return 0 <= value <= 1


def one_of(*choices: Any) -> Check:
    """A check that ``value`` is one of ``choices`` (``expected``: "a, b or c").

    >>> test, expected = one_of("chat", "completions")
    >>> test("chat"), expected
    (True, 'chat or completions')
    """
    words = [str(c) for c in choices]
    expected = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    return (lambda value: value in choices), expected


POSITIVE_INT: Check = (is_positive, "a positive integer")
POSITIVE_INT_OR_NULL: Check = (is_positive, "a positive integer or null")
NON_NEGATIVE_INT: Check = (is_non_negative, "a non-negative integer")
UNIT: Check = (in_unit, "a number between 0 and 1")
CHAT_TEMPLATE: Check = (
    lambda value: isinstance(value, bool) or value == "auto",
    "true, false or auto",
)
