"""Files from strangers (issue 16): a board, a run, a sweep index or a gate report made by
someone else is data. Each case: the exit code, exactly one stderr line naming the culprit,
no traceback, and nothing outside the intended place changed (the tree hashed before and
after); the gate's markdown is rendered by GitHub's own cmark-gfm and checked for raw HTML,
images, links, mentions and forged headings; a board change is failed midway (a file-size
limit, a SIGKILL at each rename) and the board and its items are found unchanged."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from rjdb_bench.cli import main
from rjdb_bench.leaderboard.board import items_path, read_items
from rjdb_bench.results.run_dir import read_run, results_digest, write_run

ESC = "\x1b]0;PWN\x07\x1b[2J"  # retitle the terminal, clear the screen
HOSTILE = "@all <img src=https://e.example/x.png> [click](https://e.example) https://e.example"
# A task name is a file name in a run (no slash, no control character): its attack has none.
HOSTILE_TASK = "@all <img src=x onerror=alert(1)> [click](javascript:x) www.e.example"


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (symlinks by their target)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def one_error_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "\x1b" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def cli(*args: str, limits: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    """``rjdb-bench ARGS`` in a child process, after ``limits`` (Python run there first)."""
    code = f"import resource, sys\n{limits}\nfrom rjdb_bench.cli import main\nsys.exit(main({list(args)!r}))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path) -> dict[str, Path]:
    """An oracle run, the same run with half its rjdb_match answers flipped (same entry id,
    other items), and a run whose model name carries terminal escapes."""
    base = tmp_path_factory.mktemp("strangers")
    out = {"oracle": base / "oracle", "escape": base / "escape", "worse": base / "worse"}
    args = ["run", "model=oracle", "tasks=[rjdb_match,rjdb_skills]", "limit=20"]
    assert main([*args, f"output_dir={out['oracle']}"]) == 0
    run = read_run(out["oracle"])
    run.results["config"]["model"]["name"] = f"x{ESC}y"
    write_run(out["escape"], run.results, run.samples)
    run = read_run(out["oracle"])
    for index, sample in enumerate(run.samples["rjdb_match"]):
        if index % 2 == 0:
            sample["output"] = "No" if sample["output"] == "Yes" else "Yes"
    write_run(out["worse"], run.results, run.samples)
    assert main(["score", str(out["worse"])]) == 0
    return out


@pytest.fixture()
def board(runs: dict[str, Path], tmp_path: Path) -> Path:
    board = tmp_path / "board"
    assert main(["leaderboard", "add", str(runs["oracle"]), "--board", str(board)]) == 0
    return board


def edit_board(board: Path, edit) -> dict:
    data = json.loads((board / "leaderboard.json").read_text())
    edit(data)
    (board / "leaderboard.json").write_text(json.dumps(data, indent=2))
    return data


# ------------------------------------------------------------------- 1: paths from ids only
@pytest.mark.parametrize("path", ["../victim/x.txt", "ABSOLUTE"])
def test_remove_never_follows_an_items_path_from_the_file(
    path: str, board: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim" / "x.txt"
    victim.parent.mkdir()
    victim.write_text("keep me")
    path = str(victim) if path == "ABSOLUTE" else path

    def version_one(data: dict) -> None:  # a board written before ids made the paths
        data["schema_version"] = 1
        data["entries"][0]["items"]["path"] = path

    entry = edit_board(board, version_one)["entries"][0]
    assert main(["leaderboard", "remove", entry["id"], "--board", str(board)]) == 0
    assert victim.read_text() == "keep me"
    assert not items_path(board, entry["id"]).exists()
    data = json.loads((board / "leaderboard.json").read_text())
    assert data["schema_version"] == 2 and data["entries"] == []


@pytest.mark.parametrize("action", ["remove", "export-eee", "add"])
def test_an_items_folder_linked_outside_the_board_is_refused(
    action: str, runs: dict[str, Path], board: Path, tmp_path: Path, capsys
) -> None:
    outside = tmp_path / "outside"
    shutil.move(board / "items", outside)
    (board / "items").symlink_to(outside)
    entry = json.loads((board / "leaderboard.json").read_text())["entries"][0]
    before, before_outside = tree(board), tree(outside)
    args = {
        "remove": ["remove", entry["id"]],
        "export-eee": ["export-eee", str(tmp_path / "eee")],
        "add": ["add", str(runs["escape"])],
    }[action]
    capsys.readouterr()
    assert main(["leaderboard", *args, "--board", str(board)]) == 2
    one_error_line(capsys, "resolves outside the board")
    assert tree(board) == before and tree(outside) == before_outside


@pytest.mark.parametrize("entry_id", ["../../../etc/x", "0123456789ABCDEF", "/tmp/x"])
def test_an_entry_id_that_is_not_16_hex_digits_is_refused(
    entry_id: str, board: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_board(board, lambda data: data["entries"][0].update(id=entry_id))
    before = tree(board)
    for args in (["list"], ["render"], ["remove", entry_id]):
        assert main(["leaderboard", *args, "--board", str(board)]) == 2
        one_error_line(capsys, "leaderboard.json", "entries.0.id", "does not match")
    assert tree(board) == before


# ------------------------------------------------------------------- 2: one transaction
def test_a_board_write_that_fails_midway_leaves_board_and_items_unchanged(
    runs: dict[str, Path], board: Path
) -> None:
    """Re-adding an entry (same id, other items) under a file-size limit that the new items
    file fits and the new board does not: the add fails at the board write."""
    before = tree(board)
    assert read_run(runs["worse"]).results["model"] == read_run(runs["oracle"]).results["model"]
    board_size = (board / "leaderboard.json").stat().st_size
    items_size = max(p.stat().st_size for p in (board / "items").iterdir())
    limit = (board_size + items_size) // 2
    assert items_size * 1.5 < limit < board_size
    result = cli(
        "leaderboard", "add", str(runs["worse"]), "--board", str(board),
        limits=f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"rjdb-bench: error: {board / 'leaderboard.json'}: cannot write the board "
        "(File too large)\n"
    )
    after = tree(board)
    after.pop(".lock", None)
    assert after == {k: v for k, v in before.items() if k != ".lock"}
    assert not (board / ".pending").exists()
    # Without the limit the same add succeeds and replaces the items with the new ones.
    assert main(["leaderboard", "add", str(runs["worse"]), "--board", str(board)]) == 0
    entry = json.loads((board / "leaderboard.json").read_text())["entries"][0]
    assert read_items(board, entry)["rjdb_match"]["columns"]["accuracy"][0] == [0.0, 1.0]


_KILL_AT = """
import os, signal
_replace, _calls = os.replace, [0]
def replace(src, dst, *a, **k):
    _calls[0] += 1
    if _calls[0] == {at} and not {after}:
        os.kill(os.getpid(), signal.SIGKILL)
    _replace(src, dst, *a, **k)
    if _calls[0] == {at} and {after}:
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
"""


@pytest.mark.parametrize(
    ("at", "after"),
    [(1, False), (2, False), (3, False), (4, False), (4, True)],
    ids=["before-plan", "before-displacing", "before-placing", "before-commit", "after-commit"],
)
def test_an_add_killed_at_any_rename_is_rolled_back_or_finished_by_the_next_command(
    at: int, after: bool, runs: dict[str, Path], board: Path, capsys
) -> None:
    """The renames of a re-add: the plan (1), the old items aside (2), the new items in (3),
    the board (4, the commit). Killed before the commit: the next command (a reader here)
    finds the old board and items; after it: the new ones. No leftovers either way."""
    old = tree(board)
    old.pop(".lock", None)
    result = cli(
        "leaderboard", "add", str(runs["worse"]), "--board", str(board),
        limits=_KILL_AT.format(at=at, after=after),
    )  # fmt: skip
    assert result.returncode == -signal.SIGKILL
    assert (board / ".pending").exists()
    capsys.readouterr()
    assert main(["leaderboard", "list", "--board", str(board)]) == 0
    assert not (board / ".pending").exists()
    entry = json.loads((board / "leaderboard.json").read_text())["entries"][0]
    flipped = read_items(board, entry)["rjdb_match"]["columns"]["accuracy"][0] == [0.0, 1.0]
    assert flipped is after
    if not after:
        now = tree(board)
        now.pop(".lock", None)
        assert now == old


def test_remove_and_list_of_a_missing_board_refuse_and_create_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = tmp_path / "nowhere"
    for args in (["list"], ["remove", "0123456789abcdef"], ["render"]):
        assert main(["leaderboard", *args, "--board", str(board)]) == 2
        one_error_line(capsys, f"{board / 'leaderboard.json'}: no board here")
    assert not board.exists()


# ------------------------------------------------------------------- 3: terminal output
def test_add_and_list_print_a_name_with_terminal_escapes_as_text(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = tmp_path / "board"
    capsys.readouterr()
    assert main(["leaderboard", "add", str(runs["escape"]), "--board", str(board)]) == 0
    assert main(["leaderboard", "list", "--board", str(board)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert out.count("x\\x1b]0;PWN\\x07\\x1b[2Jy") == 2


# ------------------------------------------------------------------- 5: finite numbers
def _refused_by_every_board_command(
    board: Path, runs: dict[str, Path], tmp_path: Path, capsys, *expected: str
) -> None:
    """list, render, add and export-eee each exit 2 with one line holding ``expected``, and
    leave the board as it was (and write no export)."""
    before = tree(board)
    for args in (
        ["list"],
        ["render"],
        ["add", str(runs["escape"])],
        ["export-eee", str(tmp_path / "eee")],
    ):
        assert main(["leaderboard", *args[:1], "--board", str(board), *args[1:]]) == 2
        one_error_line(capsys, *expected)
    assert tree(board) == before and not (tmp_path / "eee").exists()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_number_in_a_board_is_refused_by_every_command(
    number: str, runs: dict[str, Path], board: Path, tmp_path: Path, capsys
) -> None:
    path = board / "leaderboard.json"
    text = path.read_text()
    text = re.sub(r'("value": )1\.0', rf"\g<1>{number}", text, count=1)
    path.write_text(text)
    _refused_by_every_board_command(
        board, runs, tmp_path, capsys, f"{path}:", "only finite numbers"
    )


def test_a_key_given_twice_in_a_board_is_refused_by_every_command(
    runs: dict[str, Path], board: Path, tmp_path: Path, capsys
) -> None:
    """A hand-merged board with two ``entries`` lists: JSON keeps the last one silently."""
    path = board / "leaderboard.json"
    text = path.read_text()
    assert text.count('"entries": [') == 1
    path.write_text(text.replace('"entries": [', '"entries": [], "entries": [', 1))
    _refused_by_every_board_command(
        board, runs, tmp_path, capsys, f"{path}:", "key 'entries' appears twice in one object"
    )


def test_a_non_finite_number_in_a_run_is_refused(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A results.json with NaN and a seal that matches it (made to pass every other check)."""
    run = tmp_path / "nan-run"
    shutil.copytree(runs["oracle"], run)
    results = json.loads((run / "results.json").read_text())
    results["tasks"]["rjdb_match"]["metrics"]["accuracy"] = float("nan")
    results["results_sha256"] = results_digest(results)
    (run / "results.json").write_text(json.dumps(results))
    before = tree(run)
    for args in (
        ["score", str(run)],
        ["compare", str(runs["oracle"]), str(run)],
        ["leaderboard", "add", str(run), "--board", str(tmp_path / "board")],
    ):
        assert main(args) == 2
        one_error_line(capsys, f"{run / 'results.json'}:", "non-finite number NaN")
    assert tree(run) == before and not (tmp_path / "board").exists()


# --------------------------------------------------------------- items: shape, not only sha
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"not gzip at all", "not a gzip file"),
        (gzip.compress(b'{"rjdb_match": {"doc_ids": [[1]]}}'), "not an items file"),
        (gzip.compress(b"[1, 2"), "invalid JSON"),
        (gzip.compress(b'{"rjdb_match": NaN}'), "non-finite number NaN"),
        (
            gzip.compress(
                b'{"rjdb_match": {"doc_ids": [1, true], "clusters": [1, 2], "columns": {},'
                b' "metrics": {}}}'
            ),
            "not an items file at rjdb_match.doc_ids.1: True is not of type 'string', 'integer'",
        ),
        (
            gzip.compress(
                b'{"rjdb_match": {"doc_ids": [1, 2], "clusters": [1, 2], "columns":'
                b' {"c": [[1, 1], [1, "1"]]}, "metrics": {}}}'
            ),
            "not an items file at rjdb_match.columns.c.1: expected a non-empty list of numbers",
        ),
    ],
    ids=["not-gzip", "wrong-shape", "truncated-json", "nan", "bool-doc-id", "string-value"],
)
def test_an_items_file_of_the_wrong_kind_is_one_line_even_when_its_sha_matches(
    content: bytes, fragment: str, board: Path, tmp_path: Path, capsys
) -> None:
    data = json.loads((board / "leaderboard.json").read_text())
    entry = data["entries"][0]
    path = items_path(board, entry["id"])
    path.write_bytes(content)
    edit_board(
        board, lambda d: d["entries"][0]["items"].update(sha256=hashlib.sha256(content).hexdigest())
    )
    before = tree(board)
    for args in (["render"], ["export-eee", str(tmp_path / "eee")]):
        assert main(["leaderboard", args[0], "--board", str(board), *args[1:]]) == 2
        one_error_line(capsys, f"{path}:", fragment)
    assert tree(board) == before and not (tmp_path / "eee").exists()


def test_an_items_file_that_inflates_beyond_the_limit_is_refused(
    board: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rjdb_bench.leaderboard import board as board_module

    monkeypatch.setattr(board_module, "MAX_ITEMS_BYTES", 1000)  # a bomb, at a small scale
    assert main(["leaderboard", "render", "--board", str(board)]) == 2
    one_error_line(capsys, ".json.gz:", "decompresses to more than 1000 bytes")


# ------------------------------------------------------------------- 6: sizes
def test_a_model_name_over_the_limit_is_refused_at_run_and_add(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_name = "n" * 2000
    out = tmp_path / "run"
    args = ["run", "model=oracle", "tasks=[rjdb_match]", "limit=2", f"output_dir={out}"]
    assert main([*args, f"model.name={long_name}"]) == 2
    one_error_line(capsys, "config: model.name: expected a name of at most 1024 characters")
    assert not out.exists()
    # A run made before the limit (or by hand) with such a name: add refuses it.
    run = tmp_path / "long-run"
    loaded = read_run(runs["oracle"])
    loaded.results["config"]["model"]["name"] = long_name
    write_run(run, loaded.results, loaded.samples)
    board = tmp_path / "board"
    assert main(["leaderboard", "add", str(run), "--board", str(board)]) == 2
    one_error_line(capsys, f"{run / 'results.json'}:", "2000 characters long")
    assert not (board / "leaderboard.json").exists()


def test_a_board_with_a_1mb_model_name_renders_bounded(board: Path, tmp_path: Path) -> None:
    """Under a 2 GiB data limit (RLIMIT_DATA: V8 inside vl-convert reserves far more address
    space than RLIMIT_AS allows, but never touches it) and a generous hang guard; the time
    and peak memory are printed (docs/leaderboard.md), not asserted."""
    name = "M" * (1 << 20)

    def rename(data: dict) -> None:
        data["entries"][0]["name"] = name
        data["entries"][0]["model"]["name"] = name
        data["entries"][0]["command"] = name

    edit_board(board, rename)
    page = tmp_path / "page.html"
    code = (
        "import resource, sys, time\n"
        "resource.setrlimit(resource.RLIMIT_DATA, (2 << 30, 2 << 30))\n"
        "from rjdb_bench.cli import main\n"
        "started = time.perf_counter()\n"
        f"code = main(['leaderboard', 'render', '--board', {str(board)!r}, '--out', {str(page)!r}])\n"
        "seconds = time.perf_counter() - started\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(f'render of a board with a 1 MB model name: {seconds:.1f} s, peak RSS {peak:.0f} MiB')\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    print(result.stdout.strip().splitlines()[-1])
    html = page.read_text()
    assert name not in html and "M" * 199 + "…" in html
    assert len(html) < 600_000


def test_a_name_with_control_characters_renders_as_text(board: Path, tmp_path: Path) -> None:
    """The chart renderer (vl-convert) aborted the whole process (SIGABRT, exit 134) on a
    label holding ESC or BEL; in a child process, so such an abort fails this test."""
    name = "lnk \x1b]0;PWN\x07 x"
    edit_board(board, lambda data: data["entries"][0].update(name=name))
    page = tmp_path / "page.html"
    result = cli("leaderboard", "render", "--board", str(board), "--out", str(page))
    assert result.returncode == 0, result.stderr[-2000:]
    html = page.read_text()
    # The chart's label shows the control characters as escapes, as a terminal would.
    assert "lnk \\x1b]0;PWN\\x07 x" in html


# ------------------------------------------------------------------- 3: the gate's markdown
def _rename_task(run_dir: Path, target: Path, old: str, new: str, edit=None) -> Path:
    run = read_run(run_dir)
    run.results["tasks"][new] = run.results["tasks"].pop(old)
    run.samples[new] = run.samples.pop(old)
    for sample in run.samples[new]:
        if edit:
            edit(sample)
    write_run(target, run.results, run.samples)
    return target


def test_the_gate_comment_is_inert_markdown(
    runs: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A task named like an attack, golds and answers holding a mention, an image, a link and
    an autolink, and a candidate folder whose name has a backtick and a newline followed by
    a forged heading: rendered by cmark-gfm (GitHub's renderer) the comment has no image, no
    link, no raw HTML, no heading but its own two, and no mention outside code."""
    task = HOSTILE_TASK

    def hostile(sample: dict) -> None:
        sample["gold"] = f"{HOSTILE} ``` {ESC}"
        sample["prediction"] = f"{HOSTILE}\n## pass\n<script>x</script> |"

    baseline = _rename_task(runs["oracle"], tmp_path / "baseline", "rjdb_match", task)
    folder = tmp_path / "cand`\n## pass `x"
    candidate = _rename_task(runs["worse"], folder, "rjdb_match", task, hostile)
    gate_md, gate_json = tmp_path / "gate.md", tmp_path / "gate.json"
    capfd.readouterr()
    code = main(
        ["compare", str(baseline), str(candidate), "--markdown", str(gate_md), "--json", str(gate_json)]
    )  # fmt: skip
    assert code == 1
    out, err = capfd.readouterr()
    assert gate_md.read_text() == out
    assert "\x1b" not in out + err and len(err.strip().splitlines()) == 1
    html = cmarkgfm.github_flavored_markdown_to_html(out, options=Options.CMARK_OPT_UNSAFE)
    assert "<img" not in html and "<a " not in html and "<script" not in html
    assert html.count("<h1>") == 1 and html.count("<h2>") == 1
    assert "<h2>FAIL: <code>" in html
    outside_code = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    assert "@all" not in outside_code and "https://" not in outside_code
    tags = set(re.findall(r"</?([a-z0-9]+)", outside_code))
    assert tags <= {"h1", "h2", "p", "table", "thead", "tbody", "tr", "th", "td", "strong"}
    # Each table row keeps its ten (or four) cells: no | inside a span split one.
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        assert row.count("<td") + row.count("<th") in (4, 10)
    assert "@all" in html  # the text is there, inert, in code
    json.loads(gate_json.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


# ------------------------------------------------------------------- 4: numeric options
@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        (["--min-effect", "nan"], "--min-effect: expected a number from 0 to 1.0"),
        (["--min-effect", "inf"], "--min-effect: expected"),
        (["--min-effect", "1e308"], "--min-effect: expected"),
        (["--min-effect", "-0.5"], "--min-effect: expected"),
        (["--min-effect-for", "rjdb_match:accuracy=nan"], "--min-effect-for: rjdb_match:accuracy"),
        (
            ["--min-effect-for", "rjdb_match:accuracy=1e308"],
            "--min-effect-for: rjdb_match:accuracy",
        ),
        (["--min-effect-for", "rjdb_match:nosuch=0.1"], "is not a gated metric"),
        (["--min-effect-for", "a:b=0.1", "--min-effect-for", "a:b=0.2"], "given twice"),
        (["--alpha", "nan"], "--alpha: expected a number strictly between 0 and 1"),
        (["--seed", "-1"], "--seed: expected an integer from 0 to 4294967295, got -1"),
        (["--resamples", "2000000000"], "--resamples: expected an integer from 100 to 100000"),
        (["--examples", "-1"], "--examples: expected 0 to 100"),
    ],
)
def test_a_number_cannot_switch_the_gate_off(
    option: list[str], fragment: str, runs: dict[str, Path], tmp_path: Path, capsys
) -> None:
    report = tmp_path / "gate.json"
    capsys.readouterr()
    code = main(
        ["compare", str(runs["oracle"]), str(runs["worse"]), "--json", str(report), *option]
    )
    assert code == 2
    one_error_line(capsys, fragment)
    assert not report.exists()


def test_without_the_bad_number_the_same_comparison_fails_the_gate(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    report = tmp_path / "gate.json"
    args = ["compare", str(runs["oracle"]), str(runs["worse"]), "--json", str(report)]
    assert main([*args, "--min-effect-for", "rjdb_match:accuracy=0.2"]) == 1
    data = json.loads(report.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data["settings"]["min_effects"] == {"rjdb_match:accuracy": 0.2}


def test_resamples_that_would_not_fit_in_memory_are_refused(
    runs: dict[str, Path], capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rjdb_bench.compare import gate

    monkeypatch.setattr(gate, "MAX_RESAMPLE_CELLS", 20 * 1000 - 1)  # 20 docs x 1000 resamples
    args = ["compare", str(runs["oracle"]), str(runs["worse"]), "--resamples", "1000"]
    assert main(args) == 2
    one_error_line(capsys, "--resamples: 1000 resamples of rjdb_match's 20 docs need")


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_a_report_that_cannot_be_written_names_the_report(
    where: str, runs: dict[str, Path], tmp_path: Path, capsys
) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path if where == "folder" else tmp_path / "file" / "gate.md"
    before = tree(tmp_path)
    capsys.readouterr()
    assert (
        main(["compare", str(runs["oracle"]), str(runs["oracle"]), "--markdown", str(target)]) == 2
    )
    line = one_error_line(capsys, f"{target}: cannot write the report (")
    assert "None" not in line and ".tmp" not in line
    assert tree(tmp_path) == before


# ------------------------------------------------------------------- tracebacks -> one line
def test_a_doc_id_that_is_not_a_scalar_is_one_line(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    loaded = read_run(runs["oracle"])
    loaded.samples["rjdb_match"][1]["doc_id"] = ["a", 1]
    write_run(run, loaded.results, loaded.samples)
    before = tree(run)
    for args in (["score", str(run)], ["compare", str(runs["oracle"]), str(run)]):
        assert main(args) == 2
        one_error_line(
            capsys,
            f"{run / 'samples' / 'rjdb_match.jsonl'}:2: field 'doc_id'",
            "a string or an integer",
        )
    assert tree(run) == before


@pytest.mark.parametrize(
    ("jobs", "field"),
    [
        ([1], "jobs.0.num"),
        ([{"num": 0, "status": "ok", "run_dir": 5, "overrides": []}], "jobs.0.run_dir"),
    ],
)
def test_a_hand_edited_sweep_index_is_one_line(
    jobs: list, field: str, runs: dict[str, Path], tmp_path: Path, capsys
) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.json").write_text(json.dumps({"format": 1, "jobs": jobs}))
    assert main(["compare", str(runs["oracle"]), str(sweep)]) == 2
    one_error_line(capsys, f"{sweep / 'sweep.json'}: field '{field}'")
