"""What ``rjdb-bench run`` shows by default: progress bars, its own messages and table, and
every error; the engines' own logs and the libraries' deprecation notices only on request.

vLLM logs dozens of INFO lines (and WARNING lines about its CPU build) at engine start and
shutdown, torch and Triton print deprecation and C++ warnings: none of them is about the run.
:func:`quiet_engines` turns them down before any engine is imported, through the environment
variables the libraries read at import (so the vLLM engine's own processes are quiet too) and
the loggers and warning filters of this process. ``verbose=true`` (``rjdb-bench run -v``)
leaves everything as the libraries set it. Errors always show: every logger keeps its ERROR
records, and exceptions are never caught here.
"""

from __future__ import annotations

import logging
import os
import warnings

# Read by the libraries when they are imported (and inherited by the engine's processes); a
# value the user set is kept.
QUIET_ENVIRONMENT = {
    "VLLM_LOGGING_LEVEL": "ERROR",
    "TORCH_CPP_LOG_LEVEL": "ERROR",
    "TORCH_LOGS": "-torch",  # torch's Python loggers at ERROR ("Triton not available")
    "TRANSFORMERS_VERBOSITY": "error",
    # Python's own filters in the engine's processes: library deprecations, and the notice of
    # shared memory that multiprocessing's resource tracker prints at vLLM's shutdown.
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::FutureWarning,"
    "ignore:resource_tracker:UserWarning",
}
# Loggers of libraries whose INFO and WARNING records are about themselves, not the run.
ENGINE_LOGGERS = ("vllm", "lm_eval", "transformers", "torch", "datasets", "xgrammar")


def quiet_engines(verbose: bool) -> None:
    """Turn the engines' and libraries' own logs down to errors, unless ``verbose``."""
    if verbose:
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for name in ENGINE_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
