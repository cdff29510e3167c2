"""Start child interpreters with Ctrl-C at its default, whatever the test runner inherited.

A shell without job control starts background commands (``make test &``, ``nohup``, many CI
runners' wrappers) with SIGINT ignored, and an ignored signal stays ignored across ``exec``:
Python then never installs its KeyboardInterrupt handler, so a test that sends SIGINT to a
child would see it shrug the signal off. Tests about interrupts start their children through
:func:`sigint_at_default` so they test the product, not how pytest was launched.
"""

from __future__ import annotations

import signal


def sigint_at_default() -> None:
    """``preexec_fn`` for :mod:`subprocess`: SIGINT back to SIG_DFL before the child execs."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
