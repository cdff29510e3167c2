"""User task YAMLs (``include_path``): every bad one is a one-line error naming the file.

The include check (``rjdb_bench.tasks.include``) must accept exactly what lm-eval 0.4.13
accepts: the cases it refuses are checked against lm-eval itself (it skips the file, so the
task is unknown, or it fails when building the task).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lm_eval.tasks import TaskManager

from rjdb_bench.cli import main
from rjdb_bench.errors import InputError
from rjdb_bench.resources import tasks_dir
from rjdb_bench.tasks.include import check_include_paths
from rjdb_bench.tasks.selection import task_manager

CONLL = "Experience\tO\nwith\tO\nPython\tB-Skill\n\nStrong\tO\nteamwork\tB-Skill\n"

SPAN_YAML = """\
task: my_spans
class: !function rjdb_bench.tasks.spans.SpanExtractionTask
dataset_kwargs:
  files: [tiny.conll]
  tag_columns: [1]
metadata:
  version: 1.0
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def error_of(folder: Path) -> str:
    with pytest.raises(InputError) as info:
        check_include_paths([folder])
    message = str(info.value)
    assert "\n" not in message
    return message


def lm_eval_index(folder: Path) -> list[str]:
    return TaskManager(include_path=str(folder), include_defaults=False).all_tasks


# --------------------------------------------------------------------------- accepted


def test_the_built_in_task_folder_passes_the_check() -> None:
    check_include_paths([tasks_dir()])


def test_what_lm_eval_accepts_passes(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "tasks",
        {
            "tiny.conll": CONLL,
            "my_spans.yaml": SPAN_YAML,
            "sub/tiny.conll": CONLL,
            # include: of a template without the .yaml ending (lm-eval never indexes it) ...
            "_span_template_yaml": "class: !function rjdb_bench.tasks.spans.SpanExtractionTask\n"
            "dataset_kwargs: {files: [tiny.conll]}\n",
            "sub/from_template.yaml": "include: ../_span_template_yaml\ntask: from_template\n",
            # ... and of a *.yaml template without task: (fine because it is included)
            "sub/_base.yaml": "dataset_kwargs: {files: [../tiny.conll], tag_columns: 1}\n",
            "sub/two_includes.yaml": "include: [../_span_template_yaml, _base.yaml]\n"
            "task: two_includes\n",
            # a group, and !function to a utils.py beside the YAML
            "group.yaml": "group: my_group\ntask: [my_spans, from_template]\n",
            "with_utils/task.yaml": "task: with_utils\n"
            "class: !function utils.MyTask\n"
            "dataset_kwargs: {files: [../tiny.conll]}\n"
            "process_results: !function helpers.deep.process\n",
            "with_utils/utils.py": "from rjdb_bench.tasks.spans import SpanExtractionTask\n"
            "\nclass MyTask(SpanExtractionTask):\n    pass\n",
            "with_utils/helpers/deep.py": "def process(doc, results):\n    return {}\n",
            # files lm-eval never reads as tasks
            "notes.yml": "not: [a task\n",
            "__pycache__/stale.yaml": "task: [broken\n",
            ".ipynb_checkpoints/old.yaml": "- not a mapping\n",
            "README.md": "# my tasks\n",
        },
    )
    check_include_paths([folder])
    assert {
        "my_spans",
        "from_template",
        "two_includes",
        "my_group",
        "with_utils",
    } == set(lm_eval_index(folder))
    loaded = task_manager({}, [folder]).load(["my_group", "two_includes", "with_utils"])
    assert sorted(loaded["tasks"]) == ["from_template", "my_spans", "two_includes", "with_utils"]
    assert [len(task.eval_docs) for task in loaded["tasks"].values()] == [2, 2, 2, 2]


# --------------------------------------------------------------------------- refused


REFUSED_BY_INDEX = [
    # (files, the file named, the rest of the message); lm-eval skips these files silently.
    (
        {"t.yaml": "task: my_spans\nclass: [oops\n"},
        "t.yaml:3",
        "invalid YAML: did not find expected ',' or ']' (column 1), "
        "while parsing a flow sequence at line 2, column 8",
    ),
    (
        {"t.yaml": "task: my_spans\n  dataset_kwargs: 1\n"},
        "t.yaml:2",
        "invalid YAML: mapping values are not allowed in this context (column 17)",
    ),
    ({"t.yaml": "task: x\nclass: !func a.b\n"}, "t.yaml:2", "invalid YAML: could not determine"),
    ({"t.yaml": b"task: caf\xe9\n"}, "t.yaml:1", "invalid YAML: incomplete UTF-8 octet sequence"),
    (
        {"t.yaml": "class: !function rjdb_bench.tasks.spans.SpanExtractionTask\n"},
        "t.yaml",
        "class: given but no task: name, so lm-eval would skip this file",
    ),
    ({"t.yaml": "dataset_kwargs: {}\n"}, "t.yaml", "no task: or group: key, so lm-eval would"),
    ({"t.yaml": "tag: my_tag\n"}, "t.yaml", "no task: or group: key"),
    (
        {"t.yaml": ""},
        "t.yaml",
        "expected a task config (a YAML mapping with task: or group:), got an empty file",
    ),  # fmt: skip
    (
        {"t.yaml": "- task: x\n"},
        "t.yaml",
        "expected a task config (a YAML mapping with task: or group:), got a list",
    ),  # fmt: skip
    (
        {"t.yaml": "task: [a, b]\n"},
        "t.yaml",
        "field 'task': expected a task name, got a list; a list of tasks needs a group: name",
    ),
    (
        {"t.yaml": "include: _missing.yaml\ntask: x\n"},
        "t.yaml",
        "field 'include': _missing.yaml: file not found",
    ),
    (
        {"t.yaml": "include: _b.yaml\ntask: x\n", "_b.yaml": "include: t.yaml\n"},
        "t.yaml",
        "field 'include': _b.yaml: include cycle",
    ),
    (
        {"t.yaml": "include: _b_yaml\ntask: x\n", "_b_yaml": "dataset_kwargs: [oops\n"},
        "_b_yaml:2",
        "invalid YAML",
    ),
    (
        {"t.yaml": "include: _b_yaml\ntask: x\n", "_b_yaml": "- a\n"},
        "_b_yaml",
        "expected a YAML mapping, got a list",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("files", "where", "message"), REFUSED_BY_INDEX)
def test_a_yaml_that_lm_eval_skips_is_an_error(
    tmp_path: Path, files: dict[str, str | bytes], where: str, message: str
) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)
    assert error_of(folder).startswith(f"{folder / where}: {message}")
    # lm-eval itself indexes nothing from the folder: the user would only see "unknown task".
    assert lm_eval_index(folder) == []


FAILING_AT_BUILD = [
    # (files, the file named, message, what lm-eval raises when the task is built)
    (
        {"t.yaml": "task: t\nclass: !function module.NoSuch\n"},
        "t.yaml:2",
        "!function module.NoSuch: cannot import module 'module' (No module named 'module'; "
        "nor is there a module.py beside the YAML)",
        ImportError,
    ),
    (
        {"t.yaml": "task: t\nclass: !function rjdb_bench.tasks.spans.NoSuch\n"},
        "t.yaml:2",
        "!function rjdb_bench.tasks.spans.NoSuch: module 'rjdb_bench.tasks.spans' has no 'NoSuch'",
        AttributeError,
    ),
    (
        {
            "t.yaml": "task: t\nclass: !function rjdb_bench.tasks.spans.SpanExtractionTask\n"
            "process_results: !function utils.nosuch\n",
            "utils.py": "def process(doc, results):\n    return {}\n",
        },
        "t.yaml:3",
        "!function utils.nosuch: {folder}/utils.py has no 'nosuch'",
        AttributeError,
    ),
    (
        {
            "t.yaml": "task: t\nclass: !function utils.MyTask\n",
            "utils.py": "import no_such_dependency\n",
        },
        "t.yaml:2",
        "!function utils.MyTask: importing {folder}/utils.py failed "
        "(ModuleNotFoundError: No module named 'no_such_dependency')",
        ImportError,
    ),
    (
        {"t.yaml": "task: t\nclass: !function utils.MyTask\n", "utils.py": "def broken(:\n"},
        "t.yaml:2",
        "!function utils.MyTask: importing {folder}/utils.py failed (SyntaxError: ",
        SyntaxError,
    ),
    (
        {"t.yaml": "task: t\nclass: !function nodots\n"},
        "t.yaml:2",
        "!function nodots: expected <module>.<name>",
        ValueError,
    ),  # fmt: skip
    (
        {"t.yaml": "task: t\nclass: !function utils.VALUE\n", "utils.py": "VALUE = 3\n"},
        "t.yaml:2",
        "!function utils.VALUE: not a class (got int)",
        TypeError,
    ),
    (
        {"t.yaml": "task: t\nclass: rjdb_bench.tasks.spans.SpanExtractionTask\n"},
        "t.yaml",
        "field 'class': expected !function <module>.<Class>, got a string",
        Exception,
    ),
]


@pytest.mark.parametrize(("files", "where", "message", "lm_eval_error"), FAILING_AT_BUILD)
def test_a_function_that_does_not_resolve_is_an_error(
    tmp_path: Path,
    files: dict[str, str],
    where: str,
    message: str,
    lm_eval_error: type[Exception],
) -> None:
    folder = write(tmp_path / "tasks", files)
    expected = message.format(folder=folder.resolve())
    assert error_of(folder).startswith(f"{folder / where}: {expected}")
    # lm-eval indexes the task and fails with a traceback when it builds it.
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    assert manager.all_tasks == ["t"]
    with pytest.raises(lm_eval_error):
        manager.load(["t"])


def test_include_path_that_is_not_a_folder_of_yamls(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nowhere") == (
        f"{tmp_path / 'nowhere'}: include_path: not found, expected a folder of task YAMLs"
    )
    (tmp_path / "my.yml").write_text(SPAN_YAML)
    assert error_of(tmp_path) == (
        f"{tmp_path}: include_path: no task YAML in this folder "
        "(lm-eval reads only files ending in .yaml)"
    )
    assert error_of(tmp_path / "my.yml").endswith("include_path: not a folder, expected a folder of task YAMLs")  # fmt: skip


# --------------------------------------------------------------------------- dataset_kwargs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("tag_columns: [1]", "tag_columns: [abc]"),
            "field 'dataset_kwargs.tag_columns': expected a list of column numbers (0, 1, ...), got ['abc']",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: []"),
            "field 'dataset_kwargs.tag_columns': expected a list of column numbers (0, 1, ...), got []",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [true]"),
            "field 'dataset_kwargs.tag_columns': expected a list of column numbers (0, 1, ...), got [True]",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [0]"),
            "field 'dataset_kwargs.tag_columns': column 0 is the token_column, not a tag column",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [1]\n  token_column: -1"),
            "field 'dataset_kwargs.token_column': expected a column number (0, 1, ...), got -1",
        ),  # fmt: skip
        (
            ("  files: [tiny.conll]\n", ""),
            "field 'dataset_kwargs.files': list the CoNLL files, e.g. files: [test.conll]",
        ),  # fmt: skip
        (
            ("files: [tiny.conll]", "files: 3"),
            "field 'dataset_kwargs.files': expected a list of file names, got 3",
        ),  # fmt: skip
        (
            ("files: [tiny.conll]", "files: {a: b}"),
            "field 'dataset_kwargs.files': expected a list of file names, got {'a': 'b'}",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_column: [1]"),
            "field 'dataset_kwargs.tag_column': unknown setting (did you mean 'tag_columns'?); known: citation, dataset, delimiter, files, licence, setting, skip_malformed, tag_columns, token_column, types",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [1]\n  skip_malformed: maybe"),
            "field 'dataset_kwargs.skip_malformed': expected true or false, got 'maybe'",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [1]\n  types: 3"),
            "field 'dataset_kwargs.types': expected a list of span types, got 3",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [1]\n  delimiter: ''"),
            "field 'dataset_kwargs.delimiter': expected a non-empty string or whitespace, got ''",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [1]\n  setting: fewshot"),
            "field 'dataset_kwargs.setting': expected zeroshot or weak, got 'fewshot'",
        ),  # fmt: skip
        (
            ("tag_columns: [1]", "tag_columns: [1]\n  licence: [MIT]"),
            "field 'dataset_kwargs.licence': expected a string, got ['MIT']",
        ),  # fmt: skip
        (
            (
                "dataset_kwargs:\n  files: [tiny.conll]\n  tag_columns: [1]",
                "dataset_kwargs: [tiny.conll]",
            ),
            "field 'dataset_kwargs': expected a mapping of settings, got a list",
        ),  # fmt: skip
    ],
)
def test_a_bad_span_setting_names_the_yaml_and_the_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    assert change[0] in SPAN_YAML
    folder = write(
        tmp_path / "tasks", {"tiny.conll": CONLL, "my_spans.yaml": SPAN_YAML.replace(*change)}
    )
    manager = task_manager({}, [folder])
    with pytest.raises(InputError) as info:
        manager.load(["my_spans"])
    assert str(info.value) == f"{folder / 'my_spans.yaml'}: {message}"


def test_a_single_tag_column_and_a_single_type_are_accepted(tmp_path: Path) -> None:
    yaml_text = SPAN_YAML.replace("tag_columns: [1]", "tag_columns: 1\n  types: Skill")
    folder = write(
        tmp_path / "tasks",
        {"tiny.conll": CONLL.replace("teamwork\tB-Skill", "teamwork\tB-Soft"), "s.yaml": yaml_text},
    )
    task = task_manager({}, [folder]).load(["my_spans"])["tasks"]["my_spans"]
    assert [doc["target"] for doc in task.eval_docs] == ['["Python"]', "[]"]
    assert task.data_notes["ignored_types"] == {"Soft": 1}


# --------------------------------------------------------------------------- through the CLI


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"my_spans.yaml": SPAN_YAML.replace("tag_columns: [1]", "tag_columns: [1")},
            "my_spans.yaml:",
        ),  # fmt: skip
        (
            {"my_spans.yaml": SPAN_YAML.replace("task: my_spans\n", "")},
            "my_spans.yaml: class: given but no task: name",
        ),  # fmt: skip
        (
            {"my_spans.yaml": SPAN_YAML.replace("spans.SpanExtractionTask", "spans.NoSuch")},
            "my_spans.yaml:2: !function",
        ),  # fmt: skip
        (
            {"my_spans.yaml": SPAN_YAML.replace("tag_columns: [1]", "tag_columns: [abc]")},
            "my_spans.yaml: field 'dataset_kwargs.tag_columns'",
        ),  # fmt: skip
    ],
)
def test_the_cli_exits_2_with_one_line_naming_the_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], files: dict[str, str], expected: str
) -> None:
    folder = write(tmp_path / "tasks", {"tiny.conll": CONLL, **files})
    out = tmp_path / "out"
    code = main(
        ["run", "model=oracle", f"include_path={folder}", "tasks=[my_spans]", f"output_dir={out}"]
    )
    error = capfd.readouterr().err
    assert code == 2, error
    assert error.count("\n") == 1 and error.startswith("rjdb-bench: error: "), error
    assert f"{folder}/{expected}" in error
    assert not (out / "results.json").exists()
