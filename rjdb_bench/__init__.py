"""rjdb-bench: an lm-evaluation-harness based harness for the RJDB benchmark."""

__version__ = "0.2.0"
