"""The scoring stage: a task's parsed items in, its metrics with confidence intervals out.

It runs after generation, on the items the tasks made from the model's outputs (or, for
``rjdb-bench score``, from a saved run's outputs). It imports the task specs and the metric
functions, never a model backend.
"""

from rjdb_bench.scoring.stage import TaskScores, score_task

__all__ = ["TaskScores", "score_task"]
