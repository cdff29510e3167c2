"""Every bad input and every damaged run directory: exit 2, one line naming the culprit, and
the previous run directory byte-identical (or no directory created).

Each case starts from a copy of a real, complete run directory (an oracle run with a response
cache), damages something or passes a bad setting, and runs ``rjdb-bench`` in this process.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.models.response_cache import ResponseCache
from rjdb_bench.results import run_dir as run_dir_module
from rjdb_bench.results.run_dir import read_run, write_run


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path) -> Path:
    """A complete run directory (two tasks) with a response cache holding one answer."""
    out = tmp_path_factory.mktemp("previous") / "run"
    assert (
        main(
            [
                "run",
                "model=oracle",
                "tasks=[rjdb_match,rjdb_skills]",
                "limit=3",
                f"output_dir={out}",
            ]
        )
        == 0
    )
    cache = ResponseCache(out / "responses.sqlite")
    cache.put("k" * 64, "generate_until", "Yes")
    cache.close()
    return out


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (empty when it does not exist)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class Case:
    """``prepare(workspace, run)`` damages files and returns the CLI arguments; the one error
    line must contain every string of ``expect`` (with ``{run}``/``{ws}`` filled in)."""

    id: str
    prepare: Callable[[Path, Path], list[str]]
    expect: tuple[str, ...]


def run_args(*args: str) -> Callable[[Path, Path], list[str]]:
    return lambda ws, run: [
        "run",
        "model=oracle",
        "tasks=[rjdb_match]",
        "limit=2",
        f"output_dir={run}",
        *args,
    ]


def with_file(name: str, content: bytes | str, *args: str) -> Callable[[Path, Path], list[str]]:
    """Write ``content`` to ``ws/name``; ``{file}`` in ``args`` becomes its path."""

    def prepare(ws: Path, run: Path) -> list[str]:
        path = ws / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        filled = [a.replace("{file}", str(path)).replace("{ws}", str(ws)) for a in args]
        return run_args(*filled)(ws, run)

    return prepare


def rjdb_rows(count: int = 3) -> list[dict]:
    data_dir = Path(os.environ["RJDB_DATA_DIR"])
    with (data_dir / "test.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(next(handle)) for _ in range(count)]


def rjdb_file_with_row(edit: Callable[[dict], object]) -> str:
    rows = rjdb_rows()
    edit(rows[1])
    return "".join(json.dumps(r) + "\n" for r in rows)


def raw_rjdb_file(second_line: str) -> str:
    rows = rjdb_rows()
    return "\n".join([json.dumps(rows[0]), second_line, json.dumps(rows[2])]) + "\n"


SPAN_YAML = """task: my_spans
class: !function rjdb_bench.tasks.spans.SpanExtractionTask
dataset_kwargs:
  files: [{conll}]
  tag_columns: {tags}
"""
CONLL = "Python\tB\nand\tO\nSQL\tB\n\nJava\tB\n"


def span_task(yaml_text: str, conll: str = CONLL) -> Callable[[Path, Path], list[str]]:
    def prepare(ws: Path, run: Path) -> list[str]:
        folder = ws / "my_tasks"
        folder.mkdir()
        (folder / "spans.conll").write_text(conll, encoding="utf-8")
        (folder / "my_spans.yaml").write_text(
            yaml_text.replace("{conll}", str(folder / "spans.conll")), encoding="utf-8"
        )
        return [
            "run",
            "model=oracle",
            "tasks=[my_spans]",
            f"include_path={folder}",
            f"output_dir={run}",
        ]

    return prepare


def damaged_cache(damage: Callable[[Path], None]) -> Callable[[Path, Path], list[str]]:
    def prepare(ws: Path, run: Path) -> list[str]:
        damage(run / "responses.sqlite")
        return run_args()(ws, run)

    return prepare


def write_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def non_json_cache_row(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("UPDATE responses SET answer = '{not json'")
    db.commit()
    db.close()


RUN_CASES = [
    # -- output directory (checked before any model is loaded: a missing model is not reached)
    Case(
        "output_dir_under_a_file",
        lambda ws, run: [
            "run",
            "model=hf",
            "model.pretrained=/no/such/model",
            "tasks=[rjdb_match]",
            f"output_dir={run}/results.json/sub",
        ],
        ("output_dir: {run}/results.json is a file, not a folder",),
    ),
    Case(
        "output_dir_not_a_run_directory",
        with_file("notes/mine.txt", "my notes", "output_dir={ws}/notes"),
        ("output_dir: {ws}/notes is a folder that is not a run directory",),
    ),
    # -- settings
    Case(
        "seed_not_a_number", run_args("seed=abc"), ("config: seed: expected an integer, got 'abc'",)
    ),
    Case("seed_negative", run_args("seed=-1"), ("config: seed: expected a non-negative integer",)),
    Case(
        "bootstrap_not_a_number",
        run_args("metrics.bootstrap_resamples=abc"),
        ("config: metrics.bootstrap_resamples: expected an integer",),
    ),
    Case(
        "confidence_out_of_range",
        run_args("metrics.confidence=1.5"),
        ("config: metrics.confidence: expected a number strictly between 0 and 1",),
    ),
    Case(
        "ood_k_not_a_number",
        run_args("ood.k=abc"),
        ("config: ood.k: expected an integer, got 'abc'",),
    ),
    Case(
        "vacancy_scoring_unknown",
        run_args("ood.vacancy_scoring=sometimes"),
        ("config: ood.vacancy_scoring: expected auto, logprob or rating",),
    ),
    Case("limit_true", run_args("limit=true"), ("config: limit: expected an integer, got True",)),
    Case(
        "limit_zero",
        run_args("limit=0"),
        ("config: limit: expected a positive integer or null, got 0",),
    ),
    Case("limit_fraction", run_args("limit=0.5"), ("config: limit: expected an integer, got 0.5",)),
    Case(
        "unknown_task", run_args("tasks=[rjdb_nope]"), ("tasks: unknown task or suite 'rjdb_nope'",)
    ),
    Case("empty_task_list", run_args("tasks=[]"), ("tasks: select at least one task",)),
    Case("unknown_model", run_args("model=nope"), ("config: ", "nope")),
    Case(
        "missing_model_path", run_args("model=hf"), ("config: missing value for model.pretrained",)
    ),
    Case(
        "unknown_model_setting",
        run_args("+model.bogus=1"),
        ("config: model.bogus: unknown setting",),
    ),
    Case(
        "wrong_model_setting_type",
        run_args("model=hf", "model.pretrained=x", "model.batch_size=many"),
        ("config: model.batch_size: expected an integer, got 'many'",),
    ),
    Case("hydra_syntax", run_args("tasks=[rjdb"), ("config: ",)),
    Case(
        "generation_override_type",
        run_args("generation.max_gen_toks=lots"),
        ("config: generation.max_gen_toks: expected an integer",),
    ),
    Case(
        "include_path_missing",
        run_args("include_path=/no/such/folder"),
        ("include_path: /no/such/folder is not a folder",),
    ),
    Case(
        "cache_path_is_a_folder",
        lambda ws, run: run_args(f"cache.path={ws}")(ws, run),
        ("{ws}", "folder", "cache.path"),
    ),
    # -- data
    Case("rjdb_split_not_available", run_args("data.split=dev"), ("dev.jsonl",)),
    Case("rjdb_path_missing", run_args("data.path=/no/such/file.jsonl"), ("/no/such/file.jsonl",)),
    Case(
        "rjdb_row_with_wrong_type",
        with_file(
            "bad.jsonl", rjdb_file_with_row(lambda r: r.update(Skills="SQL")), "data.path={file}"
        ),
        ("{ws}/bad.jsonl:2: field 'Skills': expected a list of strings, got str",),
    ),
    Case(
        "rjdb_row_not_json",
        with_file("bad.jsonl", raw_rjdb_file('{"Job-Description": "cut off'), "data.path={file}"),
        ("{ws}/bad.jsonl:2:",),
    ),
    Case(
        "rjdb_row_with_lone_surrogate",
        with_file(
            "bad.jsonl",
            raw_rjdb_file(
                json.dumps(rjdb_rows()[1]).replace('"Skills": [', '"Skills": ["\\ud800", ', 1)
            ),
            "data.path={file}",
        ),
        ("{ws}/bad.jsonl:2", "surrogate"),
    ),
    Case(
        "rjdb_file_not_utf8",
        with_file(
            "bad.jsonl",
            raw_rjdb_file(json.dumps(rjdb_rows()[1])).encode() + b'{"x": "\xff"}\n',
            "data.path={file}",
        ),
        ("{ws}/bad.jsonl:4", "UTF-8"),
    ),
    Case(
        "rjdb_file_empty", with_file("empty.jsonl", "", "data.path={file}"), ("{ws}/empty.jsonl",)
    ),
    # -- user task YAMLs
    Case(
        "task_yaml_syntax",
        span_task("task: my_spans\nclass: [unclosed\n"),
        ("my_spans.yaml", "YAML"),
    ),
    Case(
        "task_yaml_without_task_key",
        span_task("class: !function rjdb_bench.tasks.spans.SpanExtractionTask\n"),
        ("my_spans.yaml", "task"),
    ),
    Case(
        "task_yaml_class_not_found",
        span_task("task: my_spans\nclass: !function no_such_module.NoSuch\n"),
        ("my_spans.yaml", "no_such_module"),
    ),
    Case(
        "span_yaml_tag_column_not_a_number",
        span_task(SPAN_YAML.replace("{tags}", "[abc]")),
        ("my_spans.yaml", "tag_columns"),
    ),
    Case(
        "conll_line_malformed",
        span_task(SPAN_YAML.replace("{tags}", "[1]"), "Python\tB\nand\tO\textra\tcols\n"),
        ("spans.conll:2",),
    ),
    # -- response cache inside the run directory
    Case(
        "cache_not_a_database",
        damaged_cache(write_bytes(b"this is not sqlite" * 100)),
        ("{run}/responses.sqlite", "cache.path"),
    ),
    Case(
        "cache_truncated",
        damaged_cache(lambda p: p.write_bytes(p.read_bytes()[:1000])),
        ("{run}/responses.sqlite",),
    ),
    Case(
        "cache_row_not_json", damaged_cache(non_json_cache_row), ("{run}/responses.sqlite", "JSON")
    ),
]


def samples_path(run: Path, task: str = "rjdb_match") -> Path:
    return run / "samples" / f"{task}.jsonl"


def edit_lines(
    task: str, edit: Callable[[list[str]], list[str]]
) -> Callable[[Path, Path], list[str]]:
    def prepare(ws: Path, run: Path) -> list[str]:
        path = samples_path(run, task)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(edit(lines)), encoding="utf-8")
        return ["score", str(run)]

    return prepare


def edit_results(edit: Callable[[str], str]) -> Callable[[Path, Path], list[str]]:
    def prepare(ws: Path, run: Path) -> list[str]:
        path = run / "results.json"
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        return ["score", str(run)]

    return prepare


def without_key(key: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        data = json.loads(text)
        del data[key]
        return json.dumps(data)

    return edit


def score_after(damage: Callable[[Path], object]) -> Callable[[Path, Path], list[str]]:
    def prepare(ws: Path, run: Path) -> list[str]:
        damage(run)
        return ["score", str(run)]

    return prepare


SCORE_CASES = [
    Case(
        "results_truncated",
        edit_results(lambda t: t[: len(t) // 2]),
        ("{run}/results.json:", "invalid JSON"),
    ),
    Case(
        "results_without_config",
        edit_results(without_key("config")),
        ("{run}/results.json: field 'config': missing",),
    ),
    Case(
        "results_without_tasks",
        edit_results(without_key("tasks")),
        ("{run}/results.json: field 'tasks': missing",),
    ),
    Case(
        "results_not_an_object",
        edit_results(lambda t: "[1, 2]\n"),
        ("{run}/results.json: expected a JSON object",),
    ),
    Case(
        "results_metric_edited",
        edit_results(lambda t: t.replace('"accuracy": 1.0', '"accuracy": 0.9', 1)),
        ("{run}/results.json", "results_sha256"),
    ),
    Case(
        "results_from_a_newer_format",
        edit_results(lambda t: t.replace('"run_format": 1', '"run_format": 99', 1)),
        ("{run}/results.json", "run_format 99"),
    ),
    Case(
        "results_missing",
        score_after(lambda run: (run / "results.json").unlink()),
        ("{run}/results.json", "missing"),
    ),
    Case(
        "results_not_utf8",
        score_after(lambda run: (run / "results.json").write_bytes(b'{"a": "\xff"}')),
        ("{run}/results.json:1", "UTF-8"),
    ),
    Case(
        "samples_line_deleted",
        edit_lines("rjdb_match", lambda ls: ls[:1] + ls[2:]),
        ("{run}/samples/rjdb_match.jsonl", "does not match results.json"),
    ),
    Case(
        "samples_line_duplicated",
        edit_lines("rjdb_skills", lambda ls: ls + ls[-1:]),
        ("{run}/samples/rjdb_skills.jsonl", "does not match results.json"),
    ),
    Case(
        "samples_line_edited",
        edit_lines("rjdb_match", lambda ls: [ls[0].replace('"Yes"', '"No"'), *ls[1:]]),
        ("{run}/samples/rjdb_match.jsonl", "does not match results.json"),
    ),
    Case(
        "samples_not_utf8",
        score_after(
            lambda run: samples_path(run).write_bytes(samples_path(run).read_bytes() + b"\xff\n")
        ),
        ("{run}/samples/rjdb_match.jsonl",),
    ),
    Case(
        "samples_missing",
        score_after(lambda run: samples_path(run).unlink()),
        ("{run}/samples/rjdb_match.jsonl: samples file missing",),
    ),
    Case(
        "samples_stray_file",
        score_after(lambda run: samples_path(run, "rjdb_old").write_text("{}\n")),
        ("{run}/samples/rjdb_old.jsonl: not part of this run",),
    ),
    Case(
        "run_dir_missing",
        lambda ws, run: ["score", str(ws / "nowhere")],
        ("{ws}/nowhere: not a run directory",),
    ),
    Case(
        "run_dir_is_a_file",
        lambda ws, run: ["score", str(run / "results.json")],
        ("results.json: not a run directory",),
    ),
]


@pytest.mark.parametrize("case", RUN_CASES + SCORE_CASES, ids=lambda c: c.id)
def test_bad_input_exits_2_with_one_line_and_leaves_the_run_untouched(
    case: Case, previous_run: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    run = tmp_path / "run"
    shutil.copytree(previous_run, run)
    args = case.prepare(workspace, run)
    before = snapshot(run)
    capfd.readouterr()
    assert main(args) == 2
    err = capfd.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rjdb-bench: error: "), err
    for fragment in case.expect:
        assert fragment.format(run=run, ws=workspace) in lines[0], lines[0]
    assert snapshot(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "ws"]  # no staging leftovers


def test_a_new_output_dir_is_not_created_when_the_run_fails(tmp_path: Path, capfd) -> None:
    out = tmp_path / "new" / "run"
    assert (
        main(
            [
                "run",
                "model=hf",
                "model.pretrained=/no/such/model",
                "tasks=[rjdb_match]",
                f"output_dir={out}",
            ]
        )
        == 2
    )
    assert "model.pretrained" in capfd.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_read_only_output_dir_is_refused_before_the_model_loads(
    previous_run: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Root ignores file permissions: as root, this test drops its effective uid to nobody's
    # for the duration of the command (the run needs nothing outside world-readable files).
    base = Path(tempfile.mkdtemp(prefix="rjdb-readonly-"))
    run = base / "run"
    shutil.copytree(previous_run, run)
    before = snapshot(run)
    args = [
        "run",
        "model=hf",
        "model.pretrained=/no/such/model",
        "tasks=[rjdb_match]",
        f"output_dir={run}",
    ]
    assert main([*args[:-1], f"output_dir={base}/warm-up", "limit=0"]) == 2  # imports, as root
    for folder in (run / "samples", run, base):
        folder.chmod(0o555)
    capfd.readouterr()
    try:
        if os.geteuid() == 0:
            os.seteuid(65534)
        code = main(args)
    finally:
        if os.getuid() == 0:
            os.seteuid(0)
        for folder in (base, run, run / "samples"):
            folder.chmod(0o755)
    try:
        assert code == 2
        assert capfd.readouterr().err.strip().splitlines() == [
            f"rjdb-bench: error: output_dir: cannot write in {run} (Permission denied)"
        ]
        assert snapshot(run) == before
    finally:
        shutil.rmtree(base)


def test_a_run_killed_between_two_files_leaves_the_previous_run_intact(
    previous_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    run = tmp_path / "run"
    shutil.copytree(previous_run, run)
    before = snapshot(run)
    real_write = run_dir_module._write_jsonl
    calls = []

    def disk_full_on_second_file(path: Path, records):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, records)

    monkeypatch.setattr(run_dir_module, "_write_jsonl", disk_full_on_second_file)
    capfd.readouterr()
    # A different selection and model: had anything been written, results and samples would differ.
    code = main(
        [
            "run",
            "model=oracle",
            "model.extractive=true",
            "tasks=[rjdb_skills,rjdb_match]",
            "limit=2",
            f"output_dir={run}",
        ]
    )
    assert code == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"rjdb-bench: error: {run}/samples/rjdb_match.jsonl: cannot write the run (No space left on device)"
    )
    assert calls == ["rjdb_skills.jsonl", "rjdb_match.jsonl"]
    assert snapshot(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_rerun_with_fewer_tasks_replaces_the_whole_set_and_keeps_the_cache(
    previous_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(previous_run, run)
    cache_before = (run / "responses.sqlite").read_bytes()
    assert main(["run", "model=oracle", "tasks=[rjdb_match]", "limit=2", f"output_dir={run}"]) == 0
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["rjdb_match.jsonl"]
    assert (run / "responses.sqlite").read_bytes() == cache_before
    verified = read_run(run)
    assert list(verified.results["tasks"]) == ["rjdb_match"]
    assert len(verified.samples["rjdb_match"]) == 2
    entry = verified.results["files"]["samples/rjdb_match.jsonl"]
    data = (run / "samples" / "rjdb_match.jsonl").read_bytes()
    assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "lines": 2}


def test_a_bare_task_name_is_one_task(tmp_path: Path) -> None:
    assert (
        main(["run", "model=oracle", "tasks=rjdb_match", "limit=2", f"output_dir={tmp_path}/run"])
        == 0
    )
    assert list(read_run(tmp_path / "run").results["tasks"]) == ["rjdb_match"]


def test_score_accepts_a_consistent_rewrite_by_another_writer(
    previous_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(previous_run, run)
    verified = read_run(run)
    samples = verified.samples
    samples["rjdb_match"][0]["output"] = "No"  # gold Yes: one of three now wrong
    write_run(run, verified.results, samples)
    assert main(["score", str(run)]) == 0
    rescored = read_run(run)
    assert rescored.results["tasks"]["rjdb_match"]["metrics"]["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["nope"], "invalid choice: 'nope'"),
        (["compare"], "the following arguments are required: baseline, candidates"),
        (["compare", "--alpha", "abc", "a", "b"], "argument --alpha: invalid float value: 'abc'"),
        (["score"], "the following arguments are required: run_dir"),
    ],
)
def test_command_line_usage_errors_are_one_line(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rjdb-bench: error: ") and fragment in lines[0]


def test_two_runs_writing_one_run_directory_at_once_leave_one_whole_set(
    tmp_path: Path, rjdb_data_dir: Path
) -> None:
    import subprocess
    import sys

    run = tmp_path / "run"
    commands = [
        [sys.executable, "-m", "rjdb_bench.cli", "run", "model=oracle", *extra, f"output_dir={run}"]
        for extra in (
            ["tasks=[rjdb_match]", "limit=4"],
            ["tasks=[rjdb_skills,rjdb_match]", "limit=6", "model.extractive=true"],
        )
    ]
    processes = [
        subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    verified = read_run(run)  # whichever finished last, its set is whole and verifies
    assert set(verified.results["tasks"]) in ({"rjdb_match"}, {"rjdb_skills", "rjdb_match"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
