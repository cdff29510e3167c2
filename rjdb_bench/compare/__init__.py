"""The regression gate: paired comparisons of run directories (reads runs, never task code)."""
