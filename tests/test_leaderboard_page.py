"""`rjdb-bench leaderboard render`: the static page, opened in a real headless Chromium.

Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it) is driven by
Playwright for Python with the browser's path given explicitly (``$RJDB_CHROMIUM``, default
``/usr/bin/chromium``): ``playwright install`` cannot download browsers here.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from rjdb_bench.cli import main
from rjdb_bench.leaderboard.board import items_path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("RJDB_CHROMIUM", "/usr/bin/chromium"))
# Chromium as root in a container, with nothing that phones home (the machine has no network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
IMG_NAME = "<img src=x onerror=alert(1)>"
SCRIPT_NAME = "</script><script>"
TASKS = "tasks=[rjdb_match,rjdb_skills]"


def _run(out: Path, *overrides: str) -> Path:
    assert main(["run", *overrides, TASKS, "limit=12", f"output_dir={out}"]) == 0
    return out


@pytest.fixture(scope="module")
def board(
    tmp_path_factory: pytest.TempPathFactory, tiny_causal_lm: Path, rjdb_data_dir: Path
) -> Path:
    """A board of five entries: the oracle and the baseline (references) and three runs of a
    tiny random model, two of them named to attack the page, one with other generation
    settings; and its rendered page."""
    runs = tmp_path_factory.mktemp("page-runs")
    tiny = ["model=hf", f"model.pretrained={tiny_causal_lm}", "model.dtype=float32"]
    made = [
        _run(runs / "oracle", "model=oracle"),
        _run(runs / "baseline", "model=baseline"),
        _run(runs / "img", *tiny, f"model.name='{IMG_NAME}'", "generation.max_gen_toks=6"),
        _run(runs / "script", *tiny, f"model.name='{SCRIPT_NAME}'", "generation.max_gen_toks=7"),
        _run(runs / "plain", *tiny, "generation.max_gen_toks=8"),
    ]
    board = tmp_path_factory.mktemp("page") / "board"
    assert main(["leaderboard", "add", *map(str, made), "--board", str(board)]) == 0
    assert main(["leaderboard", "render", "--board", str(board)]) == 0
    return board


def _entries(board: Path) -> list[dict]:
    return json.loads((board / "leaderboard.json").read_text())["entries"]


# ----------------------------------------------------------------------------- no browser
def test_the_page_is_self_contained_and_escapes_run_strings(board: Path) -> None:
    html = (board / "index.html").read_text()
    # Nothing to fetch: no external script, style, image or font, no http(s) URL but the SVG
    # namespaces and the Vega-Lite $schema text that never reaches the page.
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", html)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    # The attack names appear only escaped; one <script> element (the page's own).
    assert IMG_NAME not in html and SCRIPT_NAME not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/script&gt;&lt;script&gt;" in html
    assert html.count("<script>") == 1 and html.count("</script>") == 1
    # The CSP allows exactly that script, by its hash.
    script = re.search(r"<script>(.*)</script>", html, re.S).group(1)
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    assert "default-src 'none'" in html


def test_rendering_is_deterministic(board: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.html"
    assert main(["leaderboard", "render", "--board", str(board), "--out", str(again)]) == 0
    assert again.read_bytes() == (board / "index.html").read_bytes()


def test_a_new_task_appears_with_no_change_to_html_or_python(
    board: Path, tmp_path: Path, rjdb_data_dir: Path
) -> None:
    """A user's CoNLL task (one YAML, an f1 headline) shows up in the F1 view by its raw name."""
    copy = tmp_path / "board"
    shutil.copytree(board, copy)
    spans = REPO / "tests" / "fixtures" / "synthetic_spans"
    run = tmp_path / "spans-run"
    code = main(
        [
            "run",
            "model=oracle",
            "tasks=[synthetic_spans]",
            f"include_path={spans}",
            f"output_dir={run}",
        ]
    )
    assert code == 0
    assert main(["leaderboard", "add", str(run), "--board", str(copy)]) == 0
    assert main(["leaderboard", "render", "--board", str(copy)]) == 0
    html = (copy / "index.html").read_text()
    f1 = html[html.index('id="view-f1"') : html.index('id="view-accuracy"')]
    assert 'data-key="synthetic_spans:strict_f1"' in f1
    assert 'data-key="synthetic_spans:loose_f1"' in f1


def test_a_damaged_items_file_is_refused_and_the_page_left_alone(
    board: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "board"
    shutil.copytree(board, copy)
    before = (copy / "index.html").read_bytes()
    victim = _entries(copy)[-1]
    path = items_path(copy, victim["id"])
    data = json.loads(gzip.decompress(path.read_bytes()))
    data["rjdb_match"]["columns"][next(iter(data["rjdb_match"]["columns"]))][0][0] = 1
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    capsys.readouterr()
    assert main(["leaderboard", "render", "--board", str(copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "sha256" in err[0]
    assert (copy / "index.html").read_bytes() == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\ntitle: x\nviews: []\n", "views: [] should be non-empty"),
        (
            "version: 1\ntitle: x\nviews:\n- {id: a, title: A, select: {family: speed}}\n",
            "views.0.select.family: 'speed' is not one of",
        ),
        (
            "version: 1\ntitle: x\nviews:\n- {id: a, title: A, select: {suite: rjdb}, colour: red}\n",
            "views.0: Additional properties are not allowed ('colour' was unexpected)",
        ),
        ("version: 1\ntitle: [x\n", "invalid YAML"),
    ],
)
def test_a_bad_presentation_file_is_one_line_naming_file_and_field(
    board: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    presentation = tmp_path / "presentation.yaml"
    presentation.write_text(text)
    out = tmp_path / "page.html"
    capsys.readouterr()
    code = main(
        [
            "leaderboard",
            "render",
            "--board",
            str(board),
            "--presentation",
            str(presentation),
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert str(presentation) in err[0] and expected in err[0], err[0]
    assert not out.exists()


def test_the_published_presentation_file_is_the_packaged_default() -> None:
    from rjdb_bench.leaderboard.presentation import load_presentation

    shown = load_presentation(REPO / "leaderboard" / "presentation.yaml")
    assert [v["id"] for v in shown.views] == [
        "f1", "accuracy", "rouge", "bertscore", "ranking", "esco", "rjdb", "ood_zeroshot", "ood_weak",
        "all",
    ]  # fmt: skip
    assert load_presentation().source == REPO / "leaderboard" / "presentation.yaml"


# ----------------------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set RJDB_CHROMIUM)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, board: Path):
    """The page opened from file://, recording every request, dialog and console message."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.requests, page.dialogs, page.console = [], [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))
    page.goto((board / "index.html").as_uri())
    yield page
    context.close()


def _rows(page, view: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#view-{view} table.board tbody tr", "rows => rows.map(r => r.dataset.entry)"
    )


def _column_values(page, view: str, column: int) -> list[float | None]:
    return page.eval_on_selector_all(
        f"#view-{view} table.board tbody tr",
        f"""rows => rows.map(r => {{
            const v = r.querySelector('[data-col="{column}"]').dataset.value;
            return v === '' ? null : Number(v);
        }})""",
    )


def test_the_table_renders_every_entry(page, board: Path) -> None:
    ids = {e["id"] for e in _entries(board)}
    assert len(ids) == 5
    assert set(_rows(page, "accuracy")) == ids
    assert page.is_visible("#view-f1 table.board")
    names = page.eval_on_selector_all(
        "#view-f1 table.board tbody a.entry-name", "links => links.map(a => a.textContent)"
    )
    assert sorted(names) == sorted(e["name"] for e in _entries(board))
    # References are marked on their rows.
    assert page.locator("#view-f1 tr.reference").count() == 2
    assert page.console == []  # no CSP violation, no script error


def test_sorting_by_a_column_reorders_rows(page) -> None:
    page.click("#tab-accuracy")
    header = '#view-accuracy th[data-key="rjdb_match:accuracy"]'
    column = page.get_attribute(header, "data-col")
    page.click(f"{header} button.sort")
    descending = _column_values(page, "accuracy", int(column))
    assert page.get_attribute(header, "aria-sort") == "descending"
    present = [v for v in descending if v is not None]
    assert present == sorted(present, reverse=True) and len(set(present)) > 1
    page.click(f"{header} button.sort")
    ascending = _column_values(page, "accuracy", int(column))
    assert [v for v in ascending if v is not None] == sorted(present)
    # By name, alphabetically.
    page.click("#view-accuracy th[data-col=name] button.sort")
    page.click("#view-accuracy th[data-col=name] button.sort")
    names = page.eval_on_selector_all(
        "#view-accuracy tbody a.entry-name", "links => links.map(a => a.textContent.toLowerCase())"
    )
    assert names == sorted(names)


def test_switching_views(page) -> None:
    assert page.get_attribute("#tab-f1", "aria-selected") == "true"
    assert page.is_visible("#view-f1") and not page.is_visible("#view-rjdb")
    page.click("#tab-rjdb")
    assert page.get_attribute("#tab-rjdb", "aria-selected") == "true"
    assert page.get_attribute("#tab-f1", "aria-selected") == "false"
    assert page.is_visible("#view-rjdb") and not page.is_visible("#view-f1")
    # No entry ran the whole rjdb suite: the view says so instead of an empty table.
    assert "No entry on the board has a score" in page.inner_text("#view-rjdb")
    page.click("#tab-accuracy")
    assert page.is_visible("#view-accuracy") and not page.is_visible("#view-rjdb")
    # Every score shows its interval.
    cells = page.eval_on_selector_all(
        "#view-accuracy td[data-value]:not([data-col=name])", "cells => cells.map(c => c.innerText)"
    )
    scored = [c for c in cells if c != "—"]
    assert scored and all(re.search(r"\d\.\d{3}\s*\[\d\.\d{3}, \d\.\d{3}\]", c) for c in scored)


def test_attack_names_render_as_text_and_run_nothing(page, board: Path) -> None:
    texts = page.eval_on_selector_all(
        "#view-f1 a.entry-name", "links => links.map(a => a.textContent)"
    )
    assert IMG_NAME in texts and SCRIPT_NAME in texts
    assert page.locator("img").count() == 0
    assert page.evaluate("document.scripts.length") == 1
    page.wait_for_timeout(300)
    assert page.dialogs == []
    # The detail view shows the name, the recorded command and the model as text too.
    entry = next(e for e in _entries(board) if e["name"] == IMG_NAME)
    page.click(f'#view-f1 a[href="#entry-{entry["id"]}"]')
    # The page opens the entry on "hashchange", an event that may fire after click() returns.
    page.wait_for_selector(f"#entry-{entry['id']}[open]", timeout=5000)
    command = page.inner_text(f"#entry-{entry['id']} pre.command")
    assert command == entry["command"] and IMG_NAME in command


def test_rank_groups_are_marked(page, board: Path) -> None:
    statuses = page.eval_on_selector_all(
        '#view-accuracy td[data-status]:not([data-status=""])',
        "cells => cells.map(c => c.dataset.status)",
    )
    assert "best" in statuses and "reference" in statuses
    # Exactly one best per column of one comparability group.
    bests = page.locator('#view-accuracy td[data-col="0"].best').count()
    assert bests == 1


def test_no_network_request_and_a_screenshot(page, board: Path, tmp_path: Path) -> None:
    page.click("#tab-rjdb")
    page.wait_for_timeout(200)
    assert page.requests == [(board / "index.html").as_uri()]
    shot = tmp_path / "leaderboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_published_board_is_valid_and_its_committed_page_is_current(tmp_path: Path) -> None:
    """leaderboard/ validates, every entry's per-item data matches its sha256, the references
    and the embedded model (through vLLM) are there, and index.html is what render makes."""
    from rjdb_bench.leaderboard.board import read_board, read_items

    published = REPO / "leaderboard"
    entries = read_board(published)["entries"]
    runs = [e for e in entries if e.get("kind") != "reported"]
    for entry in runs:
        assert read_items(published, entry).keys() == entry["tasks"].keys()
        assert entry["command"].startswith("rjdb-bench run ")
    backends = {e["name"]: (e["reference"], e["backend"]) for e in runs}
    assert backends == {
        "oracle": ("oracle", "oracle"),
        "oracle-extractive": ("oracle", "oracle"),
        "baseline": ("baseline", "baseline"),
        "smollm2-135m-instruct": (None, "vllm"),
        "weak-tagger-minilm": (None, "tagger"),
        "weak-matcher-minilm": (None, "matcher"),
        "weak-linker-minilm": (None, "linker"),
    }
    # Issue 19: every entry ran its tasks' full test splits, except the embedded model's
    # `tasks=[all]` entry, published at limit=750, the largest common limit within about three
    # hours on 2 cores (docs/benchmarks.md); the ESCO sets are smaller, so they ran in full.
    for entry in runs:
        for task, record in entry["tasks"].items():
            if entry["name"] == "smollm2-135m-instruct":
                assert record["n"] == min(750, record["n_full"]), task
                assert entry["limit"] == 750 and "limit=750" in entry["command"]
            else:
                assert record["n"] == record["n_full"], (entry["name"], task)
                assert entry["limit"] is None and "limit=" not in entry["command"]
    reported = [e for e in entries if e.get("kind") == "reported"]
    assert [sorted(e["tasks"]) for e in reported] == [
        ["ood_esco_house", "ood_esco_tech", "ood_esco_techwolf"]
    ]
    page = tmp_path / "index.html"
    assert main(["leaderboard", "render", "--board", str(published), "--out", str(page)]) == 0

    # The charts' SVG text layout may depend on the fonts a machine has: compare the page
    # around them, and how many there are.
    def without_charts(html: str) -> tuple[str, int]:
        return re.subn(r"<svg\b.*?</svg>", "<svg/>", html, flags=re.S)

    assert without_charts(page.read_text()) == without_charts(
        (published / "index.html").read_text()
    ), "leaderboard/index.html is stale: run `rjdb-bench leaderboard render`"
    # Issue 19's "done when": a column ranks two non-reference entries, not both "best".
    ids = {e["name"]: e["id"] for e in runs}
    key = 'data-key="ood_esco_tech:rp_at_5"'
    html = page.read_text()
    table = next(t for t in html.split("<table") if key in t).split("</table>")[0]
    column = re.search(rf'data-col="(\d+)" {key}', table).group(1)

    def status(name: str) -> str:
        row = table.split(f'<tr data-entry="{ids[name]}"')[1].split("</tr>")[0]
        return re.search(rf'data-col="{column}" [^>]*data-status="(\w+)"', row).group(1)

    assert (status("weak-linker-minilm"), status("smollm2-135m-instruct")) == ("best", "below")


def test_entries_from_before_commands_were_recorded_render(board: Path, tmp_path: Path) -> None:
    copy = tmp_path / "board"
    shutil.copytree(board, copy)
    data = json.loads((copy / "leaderboard.json").read_text())
    for entry in data["entries"]:
        del entry["command"], entry["seed"]
    (copy / "leaderboard.json").write_text(json.dumps(data))
    assert main(["leaderboard", "render", "--board", str(copy)]) == 0
    html = (copy / "index.html").read_text()
    assert html.count("Not recorded (a run started from Python") == len(data["entries"])


def test_each_header_shows_n_and_partial_entries_say_n_of_n(board: Path) -> None:
    """Every entry ran the first 12 docs (limit=12) of tasks whose full test split is known
    independently: rjdb_match and rjdb_skills have two docs per RJDB test row (1,000 rows;
    docs/tasks.md)."""
    html = (board / "index.html").read_text()
    accuracy = html[html.index('id="view-accuracy"') :]
    header = accuracy[accuracy.index('data-key="rjdb_match:accuracy"') :].split("</th>")[0]
    assert '<span class="sub n">n = 12 of 2000</span>' in header
    f1 = html[html.index('id="view-f1"') :]
    header = f1[f1.index('data-key="rjdb_skills:micro_f1"') :].split("</th>")[0]
    assert '<span class="sub n">n = 12 of 2000</span>' in header
    # Each scored cell of a partial entry says so.
    table = accuracy.split("</table>")[0]
    assert table.count('<span class="partial"') == table.count('data-status="')


@pytest.fixture()
def narrow_page(browser, board: Path):
    """The page at a phone's width (390 px), recording console messages and requests."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.requests, page.console = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))
    page.goto((board / "index.html").as_uri())
    yield page
    context.close()


def test_a_wide_table_scrolls_sideways_with_the_model_column_kept(narrow_page, board: Path) -> None:
    page = narrow_page
    page.click("#tab-f1")
    wrap = "#view-f1 .table-wrap"
    sizes = page.eval_on_selector(wrap, "w => [w.scrollWidth, w.clientWidth]")
    assert sizes[0] > sizes[1] + 100, sizes  # wider than the viewport: it scrolls
    # The page itself does not scroll sideways; the table does.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = "#view-f1 tbody tr:first-child"
    page.locator(f"{row} td[data-col=name]").scroll_into_view_if_needed()
    name_before = page.locator(f"{row} td[data-col=name]").bounding_box()
    first_score = page.locator(f'{row} td[data-col="0"]').bounding_box()
    last = page.eval_on_selector(f"{wrap} thead tr", "r => r.cells.length - 2")
    last_header = page.locator(f'#view-f1 th[data-col="{last}"]')
    assert last_header.bounding_box()["x"] >= 390  # off to the right at first
    page.eval_on_selector(wrap, "w => { w.scrollLeft = w.scrollWidth; }")
    page.wait_for_timeout(100)
    name_after = page.locator(f"{row} td[data-col=name]").bounding_box()
    # The model column stays where it was, fully in view ...
    assert name_after["x"] == pytest.approx(name_before["x"], abs=1)
    assert name_after["x"] >= 0 and name_after["x"] + name_after["width"] <= 390
    # ... while the scores moved under it and the last column came into view.
    assert page.locator(f'{row} td[data-col="0"]').bounding_box()["x"] < first_score["x"] - 50
    box = last_header.bounding_box()
    assert box["x"] + box["width"] <= 390 + 1
    # The model's name is what is on top at its place (not a score cell scrolled over it).
    hit = page.evaluate(
        f"""() => {{
            const b = document.querySelector('{row} td[data-col=name]').getBoundingClientRect();
            const el = document.elementFromPoint(b.left + 5, b.top + b.height / 2);
            return el.closest('td') && el.closest('td').dataset.col;
        }}"""
    )
    assert hit == "name"
    assert page.console == []
    assert page.requests == [(board / "index.html").as_uri()]
