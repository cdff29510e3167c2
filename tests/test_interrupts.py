"""A SIGINT during a run stops it even where CPython drops the KeyboardInterrupt.

Each case runs in a child interpreter so the signals and handlers never touch pytest's own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from child_signals import sigint_at_default

# A generator closed by the garbage collector runs its ``finally`` as a finalizer: a
# KeyboardInterrupt raised there is printed as "Exception ignored" and lost.
LOST_IN_A_FINALIZER = """
import os, signal
def answers():
    try:
        yield
    finally:
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(1000))
def generate():
    stream = answers()
    next(stream)
    del stream
    sum(range(1000))
"""


def _child(body: str) -> subprocess.CompletedProcess[str]:
    code = "import signal, sys\nfrom rjdb_bench.interrupts import stop_on_interrupt\n"
    code += textwrap.dedent(LOST_IN_A_FINALIZER) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=sigint_at_default,
    )


def test_without_the_guard_the_interrupt_is_lost() -> None:
    """The premise: this is a real way for Ctrl-C to vanish, not a made-up one."""
    child = _child("generate()\nprint('finished')\n")
    assert child.returncode == 0
    assert child.stdout == "finished\n"
    assert "Exception ignored" in child.stderr and "KeyboardInterrupt" in child.stderr


def test_an_interrupt_lost_in_a_finalizer_still_stops_the_block() -> None:
    child = _child(
        """
        try:
            with stop_on_interrupt():
                generate()
                print('block ran to its end')
            print('results written')
        except KeyboardInterrupt:
            print('stopped')
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        """
    )
    assert child.stdout.split("\n") == ["block ran to its end", "stopped", "True", ""]


def test_an_interrupt_raised_normally_propagates_at_once() -> None:
    child = _child(
        """
        import os
        try:
            with stop_on_interrupt():
                os.kill(os.getpid(), signal.SIGINT)
                sum(range(1000))
                print('not reached')
        except KeyboardInterrupt:
            print('stopped')
        """
    )
    assert child.stdout == "stopped\n"


def test_a_block_without_interrupt_ends_normally() -> None:
    child = _child(
        """
        with stop_on_interrupt():
            sum(range(1000))
        print('results written')
        """
    )
    assert (child.returncode, child.stdout) == (0, "results written\n")


@pytest.mark.parametrize(
    "handler", ["signal.SIG_IGN", "lambda signum, frame: print('their handler')"]
)
def test_someone_elses_sigint_handling_is_left_alone(handler: str) -> None:
    """``nohup`` and background jobs ignore SIGINT; a handler someone installed stays theirs."""
    child = _child(
        f"""
        import os
        mine = {handler}
        signal.signal(signal.SIGINT, mine)
        with stop_on_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(1000))
        print('results written', signal.getsignal(signal.SIGINT) is mine)
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.endswith("results written True\n")
    assert child.stdout.count("their handler") == (0 if handler == "signal.SIG_IGN" else 1)
