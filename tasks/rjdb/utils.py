"""Glue between these task YAMLs and rjdb-bench (docs, parsing and metrics live in rjdb_bench.tasks)."""

from rjdb_bench.tasks.lm_eval_hooks import aggregation, load_docs, process_results

__all__ = ["load_docs", "process_results"]

# One aggregation per metric name; each reads the task's memoised corpus scores.
accuracy = aggregation("accuracy")
macro_f1 = aggregation("macro_f1")
yes_precision = aggregation("yes_precision")
yes_recall = aggregation("yes_recall")
yes_f1 = aggregation("yes_f1")
parse_failure_rate = aggregation("parse_failure_rate")
micro_f1 = aggregation("micro_f1")
micro_precision = aggregation("micro_precision")
micro_recall = aggregation("micro_recall")
macro_precision = aggregation("macro_precision")
macro_recall = aggregation("macro_recall")
soft_micro_f1 = aggregation("soft_micro_f1")
title_f1 = aggregation("title_f1")
title_precision = aggregation("title_precision")
title_recall = aggregation("title_recall")
joint_f1 = aggregation("joint_f1")
years_accuracy = aggregation("years_accuracy")
missing_skills_f1 = aggregation("missing_skills_f1")
missing_skills_precision = aggregation("missing_skills_precision")
missing_skills_recall = aggregation("missing_skills_recall")
gap_kind_accuracy = aggregation("gap_kind_accuracy")
rougeL = aggregation("rougeL")
rouge1 = aggregation("rouge1")
rouge2 = aggregation("rouge2")
rougeLsum = aggregation("rougeLsum")
bertscore_precision = aggregation("bertscore_precision")
bertscore_recall = aggregation("bertscore_recall")
bertscore_f1 = aggregation("bertscore_f1")
restored_skill_recall = aggregation("restored_skill_recall")
