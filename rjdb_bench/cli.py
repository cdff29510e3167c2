"""Command line: ``rjdb-bench run [overrides...]``, ``rjdb-bench score RUN_DIR``, ``rjdb-bench tasks``.

``run`` composes ``configs/`` with Hydra (``model=hf model.pretrained=... tasks=[...] limit=N
output_dir=DIR``). Bad input exits with code 2 and one line on stderr. ``run -m`` sweeps:
a Hydra multirun through a launcher plugin, one run directory per job (:mod:`rjdb_bench.sweep`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from rjdb_bench import __version__
from rjdb_bench.errors import ERROR_LIMIT, InputError, one_line
from rjdb_bench.settings import GateSettings
from rjdb_bench.text_safety import terminal
from rjdb_bench.weak.cli import add_weak_parser, run_weak

EXIT_BAD_INPUT = 2
EXIT_REGRESSION = 1


def compose_config(overrides: Sequence[str]):
    """The run configuration: ``configs/config.yaml`` with Hydra ``overrides`` applied, then
    checked and typed against :mod:`rjdb_bench.settings` (one-line errors naming the field)."""
    from rjdb_bench.resources import configs_dir
    from rjdb_bench.settings import compose, validate_settings

    return validate_settings(compose(configs_dir(), "config", overrides))


def command_run(overrides: Sequence[str]) -> int:
    """Compose the config, plan the run, run the evaluation, print the table."""
    from rjdb_bench.plan import plan_run
    from rjdb_bench.resources import configs_dir
    from rjdb_bench.settings import compose

    plan = plan_run(compose(configs_dir(), "config", overrides), overrides)  # validated there
    from rjdb_bench.quiet import quiet_engines

    quiet_engines(plan.verbose)  # before any engine is imported
    from rjdb_bench.results.report import print_results
    from rjdb_bench.runner import run

    results = run(plan)
    print_results(results, str(plan.output_dir))
    return 0


def command_multirun(overrides: Sequence[str]) -> int:
    """``run -m``: a Hydra multirun, one run per job (:mod:`rjdb_bench.sweep`); a summary line
    per job; exit 0 when every job succeeded, 2 when the only failures were bad input, else 1."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rjdb_bench.sweep import print_summary, run_sweep

    try:
        index = run_sweep(overrides)
    except (HydraException, OmegaConfBaseException) as error:
        raise InputError(f"config: {one_line(error, ERROR_LIMIT)}") from None
    print_summary(index)
    failed = [job for job in index["jobs"] if job.get("status") != "ok"]
    if failed:
        print(
            f"rjdb-bench: error: sweep: {len(failed)} of {len(index['jobs'])} jobs failed "
            f"(job {', '.join(str(job['num']) for job in failed)}); see {index['sweep_dir']}/sweep.json",
            file=sys.stderr,
        )
    return int(index["exit_code"])


def command_score(run_dir: str) -> int:
    """Recompute the metrics of a finished run from its saved samples."""
    from rjdb_bench.rescore import rescore
    from rjdb_bench.results.report import print_results

    results = rescore(run_dir)
    print_results(results, run_dir)
    return 0


def command_tasks(info: bool = False) -> int:
    """List tasks (headline metric, dataset, description) and suites; ``--info``: licences and citations."""
    from rich.table import Table

    from rjdb_bench.results.report import make_console
    from rjdb_bench.tasks.catalogue import dataset_info, task_rows
    from rjdb_bench.tasks.selection import suites, task_manager

    manager = task_manager({})
    rows = task_rows(manager)
    table = Table(title="rjdb-bench tasks")
    for column in ("task", "headline", "data", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, row.headline, row.dataset, row.description)
    console = make_console()
    console.print(table)
    for suite, members in suites(manager).items():
        console.print(f"suite [bold]{suite}[/bold]: {', '.join(members)}", soft_wrap=True)
    if info:
        for entry in dataset_info(rows):
            console.print()
            console.print(f"[bold]{entry['key']}[/bold]: {entry['title']}", soft_wrap=True)
            console.print(f"  licence: {entry['licence']}", soft_wrap=True, markup=False)
            for source in entry["sources"]:
                where = f"{source['url']} at commit {source['commit']}"
                console.print(f"  source: {where}", soft_wrap=True, markup=False)
            console.print(f"  cite: {entry['citation']}", soft_wrap=True, markup=False)
    return 0


def _min_effects(entries: Sequence[str]) -> dict[str, float]:
    out = {}
    for entry in entries:
        key, sep, value = entry.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            sep = ""
        if not sep or key.count(":") != 1:
            raise InputError(
                f"--min-effect-for: expected task:metric=NUMBER, got {terminal(repr(entry), 80)}"
            )
        if key in out:
            raise InputError(f"--min-effect-for: {terminal(key, 80)} is given twice")
        out[key] = number  # finite and in range: checked by the gate
    return out


def command_compare(args: argparse.Namespace) -> int:
    """The regression gate: exit 1 on a regression, 0 otherwise, 2 when runs cannot be compared."""
    from rjdb_bench.atomic import atomic_write_text
    from rjdb_bench.compare.gate import compare_runs
    from rjdb_bench.compare.report import as_json, markdown

    settings = GateSettings(
        alpha=args.alpha,
        min_effect=args.min_effect,
        min_effects=_min_effects(args.min_effect_for),
        metrics=tuple(args.metric),
        resamples=args.resamples,
        seed=args.seed,
        examples=args.examples,
    )
    comparisons = compare_runs(args.baseline, args.candidates, settings)
    text = markdown(comparisons, settings)
    sys.stdout.write(text)
    report = as_json(comparisons, settings)
    for target, content in (
        (args.markdown, text),
        (args.json, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"),
    ):
        if not target:
            continue
        try:
            atomic_write_text(target, content)
        except OSError as error:
            # Name the report, never atomic_write_text's temporary file beside it.
            raise InputError(
                f"{target}: cannot write the report ({error.strerror or error})"
            ) from None
    failed = [c for c in comparisons if c.regressions]
    if failed:
        names = ", ".join(f"{r.task}:{r.metric}" for c in failed for r in c.regressions)
        print(f"rjdb-bench: regression: {terminal(names, 2000)}", file=sys.stderr)
        return EXIT_REGRESSION
    return 0


def command_leaderboard(args: argparse.Namespace) -> int:
    """``leaderboard add RUN...``, ``remove ID``, ``list``, ``render``, ``model-card RUN``."""
    from rjdb_bench.leaderboard.board import add_runs, read_board, reading, remove_entry

    if args.action == "add":
        for entry in add_runs(args.run_dirs, args.board):
            print(f"added {entry['id']}  {terminal(entry['name'])}  ({len(entry['tasks'])} tasks)")
    elif args.action == "add-reported":
        from rjdb_bench.leaderboard.reported import add_reported, source_line

        for entry in add_reported(args.files, args.board):
            tasks = terminal(", ".join(sorted(entry["tasks"])), 2000)
            print(
                f"added {entry['id']}  {terminal(entry['name'])}  [reported: "
                f"{terminal(source_line(entry), 300)}]  ({tasks})"
            )
    elif args.action == "model-card":
        from rjdb_bench.leaderboard.model_card import model_index

        sys.stdout.write(model_index(args.run_dir, model_name=args.model_name))
    elif args.action == "export-eee":
        from rjdb_bench.leaderboard.eee import export_board, export_run

        if args.board is not None:
            if len(args.paths) != 1:
                raise InputError("leaderboard export-eee --board DIR: expected one OUT folder")
            written = export_board(args.board, args.paths[0])
        else:
            if len(args.paths) != 2:
                raise InputError(
                    "leaderboard export-eee: expected RUN_DIR OUT (or --board DIR OUT)"
                )
            written = export_run(args.paths[0], args.paths[1])
        for path in written:
            print(f"wrote {path}")
    elif args.action == "render":
        from rjdb_bench.leaderboard.render import render_board

        page = render_board(args.board, out=args.out, presentation=args.presentation)
        print(f"wrote {page}")
    elif args.action == "remove":
        entry = remove_entry(args.entry, args.board)
        print(f"removed {entry['id']}  {terminal(entry['name'])}")
    else:
        with reading(args.board):
            board = read_board(args.board)
        for entry in board["entries"]:
            tasks = terminal(", ".join(sorted(entry["tasks"])), 2000)
            if entry.get("kind") == "reported":
                print(
                    f"{entry['id']}  {terminal(entry['name'])} [reported]  "
                    f"{terminal(entry['date'], 40)}  {tasks}"
                )
                continue
            reference = f" [{entry['reference']}]" if entry["reference"] else ""
            print(
                f"{entry['id']}  {terminal(entry['name'])}{reference}  {terminal(entry['date'], 40)}"
                f"  limit={entry['limit']}  {tasks}"
            )
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``rjdb-bench: error: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"rjdb-bench: error: {self.prog}: {message} (see --help)\n")


def _add_run_parsers(commands: Any) -> None:
    """``run`` (and ``run -m``) and ``score``."""
    run = commands.add_parser(
        "run",
        help="evaluate a model (Hydra overrides: model=..., tasks=[...], limit=N, output_dir=DIR)",
    )
    run.add_argument(
        "-m",
        "--multirun",
        action="store_true",
        help="sweep: one run per combination of comma-separated values (Hydra multirun), "
        "e.g. -m model.pretrained=ckpt/a,ckpt/b; hydra/launcher=joblib|submitit_local|submitit_slurm",
    )
    run.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the engines' own logs (vLLM's INFO lines) and library warnings "
        "(the same as verbose=true); errors always show",
    )
    run.add_argument(
        "overrides", nargs="*", help="Hydra overrides, e.g. model=oracle tasks=[rjdb] limit=10"
    )
    score = commands.add_parser(
        "score", help="recompute every metric of a run from its saved samples (no model)"
    )
    score.add_argument("run_dir", help="a run's output_dir (holds results.json and samples/)")


def _add_compare_parser(commands: Any) -> None:
    """``compare``: the regression gate; every default is :class:`GateSettings`'."""
    defaults = GateSettings()
    compare = commands.add_parser(
        "compare",
        help="regression gate: paired tests of candidate runs against a baseline run "
        "(exit 1 on a regression, 2 when the runs cannot be compared)",
    )
    compare.add_argument("baseline", help="the baseline run directory")
    compare.add_argument(
        "candidates", nargs="+", help="candidate run directories, or a sweep directory (run -m)"
    )
    compare.add_argument(
        "--alpha",
        type=float,
        default=defaults.alpha,
        help="false discovery rate (BH-adjusted p < alpha; default %(default)s)",
    )
    compare.add_argument(
        "--min-effect",
        type=float,
        default=defaults.min_effect,
        help="smallest drop, in the metric's units, that fails the gate (default %(default)s)",
    )
    compare.add_argument(
        "--min-effect-for",
        action="append",
        default=[],
        metavar="TASK:METRIC=DROP",
        help="a per-metric minimum effect (repeatable)",
    )
    compare.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="TASK:METRIC",
        help="gate this metric (repeatable; default: every task's headline metric)",
    )
    compare.add_argument(
        "--resamples", type=int, default=defaults.resamples, help="bootstrap resamples"
    )
    compare.add_argument("--seed", type=int, default=defaults.seed, help="seed of the resamples")
    compare.add_argument(
        "--examples",
        type=int,
        default=defaults.examples,
        help="items that got worse to show per regression",
    )
    compare.add_argument("--markdown", help="also write the markdown table to this file")
    compare.add_argument("--json", help="write the full report as JSON to this file")


_BOARD_ACTIONS = (
    ("add", "add (or replace) the entries of verified run directories"),
    (
        "add-reported",
        "add (or replace) literature rows from small YAML/JSON files (docs/leaderboard.md)",
    ),
    ("remove", "remove one entry by its id"),
    ("list", "list the entries"),
    ("render", "write the board's static page (index.html)"),
    ("model-card", "print a Hugging Face model-index block for a run"),
    (
        "export-eee",
        "write Every Eval Ever records of a run (RUN_DIR OUT) or a board (--board DIR OUT)",
    ),
)


def _add_leaderboard_parser(commands: Any) -> None:
    """``leaderboard add|remove|list|render|model-card|export-eee``."""
    board = commands.add_parser(
        "leaderboard", help="add runs to, remove from, list and render the leaderboard"
    )
    actions = board.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, text in _BOARD_ACTIONS:
        action = actions.add_parser(name, help=text)
        if name == "model-card":
            action.add_argument("run_dir", help="a run directory")
            action.add_argument("--model-name", help="the name in the card (default: the run's)")
            continue
        if name == "export-eee":
            action.add_argument(
                "paths", nargs="+", metavar="PATH", help="RUN_DIR OUT, or OUT with --board"
            )
            action.add_argument("--board", help="export every entry of this board instead of a run")
            continue
        action.add_argument("--board", default="leaderboard", help="the board's folder")
        if name == "add":
            action.add_argument("run_dirs", nargs="+", help="run directories")
        if name == "add-reported":
            action.add_argument("files", nargs="+", help="reported-scores files (YAML or JSON)")
        if name == "remove":
            action.add_argument("entry", help="the entry's id (leaderboard list)")
        if name == "render":
            action.add_argument("--out", help="the page to write (default: <board>/index.html)")
            action.add_argument(
                "--presentation",
                help="views and names (default: <board>/presentation.yaml, else the packaged one)",
            )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: ``run``, ``score``, ``compare``, ``leaderboard``, ``weak``, ``tasks``."""
    parser = _Parser(prog="rjdb-bench", description="Evaluate models on the RJDB benchmark.")
    parser.add_argument("--version", action="version", version=f"rjdb-bench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run_parsers(commands)
    _add_compare_parser(commands)
    _add_leaderboard_parser(commands)
    add_weak_parser(commands)
    tasks = commands.add_parser("tasks", help="list tasks and suites")
    tasks.add_argument(
        "--info", action="store_true", help="also show each dataset's licence, source and citation"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rjdb-bench`` console script."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            overrides = [*args.overrides, *(["verbose=true"] if args.verbose else [])]
            if args.multirun:
                return command_multirun(overrides)
            return command_run(overrides)
        if args.command == "score":
            return command_score(args.run_dir)
        if args.command == "compare":
            return command_compare(args)
        if args.command == "leaderboard":
            return command_leaderboard(args)
        if args.command == "weak":
            return run_weak(args)
        return command_tasks(info=args.info)
    except InputError as error:
        # Error lines quote file names and values from strangers' files: no control characters.
        print(f"rjdb-bench: error: {terminal(one_line(error, ERROR_LIMIT), None)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("rjdb-bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
