"""Text from strangers made inert for where it goes: a terminal, a markdown comment, a page.

A run directory, a board or a sweep index may come from anyone, and the strings in them (model
names, task names, outputs, golds, paths) reach a terminal (``leaderboard list``, error lines,
the gate's stdout), a CI comment (the gate's markdown) and a web page (the leaderboard, where
Jinja2 escapes HTML). Every place that shows such text goes through this module:

* :func:`terminal`: control characters (C0, DEL, C1, so every ANSI CSI/OSC sequence's ESC or
  CSI byte) and the bidirectional and line-separator characters are shown as their escapes
  (``\\x1b]0;x\\x07`` prints as that text, it does not retitle the window), and the length is
  capped.
* :func:`markdown_code`: a GitHub-flavoured markdown code span, where nothing is markup (no
  HTML, link, image, autolink, mention, emoji or heading), on one line (whitespace runs, line
  breaks included, become one space), capped, fenced with more backticks than any run inside,
  and with ``|`` escaped inside table cells.
* :func:`shorten`: a cap for display (charts, tables); :data:`NAME_LIMIT`: the longest model
  name that ``run`` and ``leaderboard add`` accept.
"""

from __future__ import annotations

import re

NAME_LIMIT = 1024  # characters of a model name a run or a board entry may have
DISPLAY_LIMIT = 200  # characters of a name shown in a table, a chart or a terminal line

# C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), the Unicode line and paragraph
# separators, and the bidirectional marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_BACKTICKS = re.compile("`+")


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with ``…``.

    >>> shorten("abcdef", 4), shorten("abc", 4)
    ('abc…', 'abc')
    """
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape_controls(text: str) -> str:
    r"""``text`` with every control, separator and bidi character written as its escape.

    >>> print(escape_controls("a\x1b]0;PWN\x07\x1b[2Jb\u202e"))
    a\x1b]0;PWN\x07\x1b[2Jb\u202e
    """
    return _UNSAFE.sub(_escape, text)


def terminal(value: object, limit: int | None = DISPLAY_LIMIT) -> str:
    r"""``value`` as text safe to print on a terminal: capped at ``limit`` characters (None:
    no cap), then every control character escaped (so the line stays one line).

    >>> print(terminal("model\n\x1b[31mred"))
    model\x0a\x1b[31mred
    """
    text = str(value)
    if limit is not None:
        text = shorten(text, limit)
    return escape_controls(text)


def markdown_code(value: object, limit: int = 60, *, table: bool = False) -> str:
    """``value`` as an inert GitHub-flavoured markdown code span (see the module docstring);
    ``table``: the span sits in a table cell, where ``|`` must be escaped even in code.

    >>> markdown_code("@all <img src=x> [a](b)")
    '` @all <img src=x> [a](b) `'
    >>> markdown_code("x`` y\\n## pass", table=True)
    '``` x`` y ## pass ```'
    >>> markdown_code("a|b", table=True)
    '` a\\\\|b `'
    """
    text = value if isinstance(value, str) else str(value)
    text = escape_controls(" ".join(shorten(text, 4 * limit).split()))
    text = shorten(text, limit)
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # The spaces keep a backtick at either end of the text from joining the fence; GFM
    # strips one space on each side.
    return f"{fence} {text} {fence}"
