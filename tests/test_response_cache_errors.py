"""A damaged or unusable response cache is refused with one line, and left as it was."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rjdb_bench.errors import InputError
from rjdb_bench.models.response_cache import ResponseCache

DELETE_HINT = "delete it or set cache.path to another file"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def real_cache(path: Path, rows: int = 300) -> dict[str, object]:
    """A cache written through ResponseCache (WAL mode, then closed); the answers stored."""
    answers: dict[str, object] = {f"k{i}": f"answer {i} " + "x" * 200 for i in range(rows)}
    answers["ll"] = [float("-inf"), False]  # json.dumps writes -Infinity: still an answer
    cache = ResponseCache(path)
    for key, answer in answers.items():
        cache.put(key, "generate_until", answer)
    cache.close()
    return answers


def refused(path: Path) -> str:
    """The one-line message opening ``path`` fails with; checks that nothing was written."""
    before = sha256(path) if path.is_file() else None
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(InputError) as error:
        ResponseCache(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    if before is not None:
        assert sha256(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == siblings  # no -wal/-shm left
    return message


def test_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "responses.sqlite"
    folder.mkdir()
    (folder / "inside.txt").write_text("keep me")
    message = refused(folder)
    assert message == f"{folder}: not a response cache (it is a folder); set cache.path to a file"
    assert (folder / "inside.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "content",
    [os.urandom(8192), b"key,answer\nk1,Yes\n" * 50, b"SQLite format 2\x00" + b"\x00" * 200],
    ids=["random-bytes", "text", "other-header"],
)
def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "responses.sqlite"
    path.write_bytes(content)
    assert refused(path) == (
        f"{path}: not a response cache (file is not a database); {DELETE_HINT}"
    )


@pytest.mark.parametrize("keep", [0.5, 0.1, 100 / 4096])
def test_a_truncated_cache_is_refused(tmp_path: Path, keep: float) -> None:
    whole = tmp_path / "whole.sqlite"
    real_cache(whole)
    path = tmp_path / "responses.sqlite"
    data = whole.read_bytes()
    assert len(data) > 20 * 4096  # all rows are in the main file after close
    path.write_bytes(data[: int(len(data) * keep)])
    message = refused(path)
    assert message.startswith(f"{path}: damaged response cache (")
    assert message.endswith(f"); {DELETE_HINT}")


def test_a_cache_with_a_damaged_page_fails_the_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    real_cache(path)
    data = bytearray(path.read_bytes())
    page = 4096 * 5  # a page of the table, in the middle of the file
    data[page : page + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    message = refused(path)
    assert message.startswith(f"{path}: damaged response cache (integrity check: ")
    assert "Page 6" in message and message.endswith(f"); {DELETE_HINT}")


def test_a_row_whose_answer_is_not_json_is_refused_by_key(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    real_cache(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE responses SET answer = ? WHERE key = 'k7'", ('{"cut": "off',))
        db.execute("UPDATE responses SET answer = NULL WHERE key = 'k9'")
    message = refused(path)
    assert message == (
        f"{path}: damaged response cache (row with key 'k7': answer is not valid JSON); "
        "delete that row or the file, or set cache.path to another file"
    )
    # After deleting the row, as the message says, the other answers are all there.
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM responses WHERE key IN ('k7', 'k9')")
    cache = ResponseCache(path)
    assert cache.get_many(["k0", "k7", "k8", "ll"]) == {
        "k0": "answer 0 " + "x" * 200,
        "k8": "answer 8 " + "x" * 200,
        "ll": [float("-inf"), False],
    }
    assert len(cache) == 300 - 1
    cache.close()


def test_an_answer_stored_as_a_number_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    real_cache(path, rows=3)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE responses SET answer = x'00ff' WHERE key = 'k1'")
    assert "row with key 'k1': answer is not valid JSON" in refused(path)


def test_a_table_with_other_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, answer TEXT)")
        db.execute("INSERT INTO responses VALUES ('k', '\"Yes\"')")
    db.close()
    assert refused(path) == (
        f"{path}: not a response cache (table 'responses' has columns key, answer; "
        f"expected key, kind, answer, created with key as primary key); {DELETE_HINT}"
    )


def test_another_database_is_refused_and_not_written(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("CREATE TABLE orders (id INTEGER)")
    db.close()
    assert refused(path) == (
        f"{path}: not a response cache (a database with tables orders, users but no "
        "'responses' table); set cache.path to another file"
    )


def test_a_folder_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file, not a folder")
    path = tmp_path / "plain" / "responses.sqlite"
    with pytest.raises(InputError) as error:
        ResponseCache(path)
    assert str(error.value) == (
        f"{path}: cannot create the response cache's folder ({tmp_path / 'plain'} is a file); "
        "set cache.path to another file"
    )


def test_a_file_without_write_permission_is_refused() -> None:
    # Root may write any file: as root, the check runs with nobody's effective uid.
    folder = Path(tempfile.mkdtemp(prefix="rjdb-cache-perm-"))
    try:
        folder.chmod(0o755)
        path = folder / "responses.sqlite"
        real_cache(path, rows=2)
        path.chmod(0o444)
        before = path.read_bytes()
        if os.geteuid() == 0:
            os.seteuid(65534)
        try:
            message = refused(path)
        finally:
            if os.getuid() == 0:
                os.seteuid(0)
        assert message == (
            f"{path}: cannot open the response cache (permission denied); "
            "check its permissions or set cache.path to another file"
        )
        assert path.read_bytes() == before
    finally:
        shutil.rmtree(folder)


def test_new_empty_and_valid_caches_open_and_keep_their_answers(tmp_path: Path) -> None:
    new = tmp_path / "sub" / "new.sqlite"
    cache = ResponseCache(new)
    cache.put("a", "generate_until", {"skills": ["SQL"]})
    assert cache.get_many(["a", "b"]) == {"a": {"skills": ["SQL"]}}
    cache.close()

    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    cache = ResponseCache(empty)
    assert len(cache) == 0
    cache.put("a", "loglikelihood", [-0.5, True])
    cache.close()
    assert ResponseCache(empty).get_many(["a"]) == {"a": [-0.5, True]}

    valid = tmp_path / "valid.sqlite"
    answers = real_cache(valid)
    cache = ResponseCache(valid)
    assert cache.get_many(answers) == answers
    assert len(cache) == len(answers)
    cache.close()


def test_answers_of_a_killed_run_still_in_the_wal_are_read(tmp_path: Path) -> None:
    # The writer is SIGKILLed: its last answers live only in the -wal file.
    path = tmp_path / "responses.sqlite"
    script = (
        "import os, signal, sys\n"
        "from rjdb_bench.models.response_cache import ResponseCache\n"
        "cache = ResponseCache(sys.argv[1])\n"
        "for i in range(50):\n"
        "    cache.put(f'k{i}', 'generate_until', f'answer {i}')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert done.returncode == -9
    assert Path(f"{path}-wal").stat().st_size > 0
    cache = ResponseCache(path)
    assert cache.get_many([f"k{i}" for i in range(50)]) == {
        f"k{i}": f"answer {i}" for i in range(50)
    }
    cache.close()


def test_errors_after_opening_are_one_line_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    cache = ResponseCache(path)
    cache.put("k1", "generate_until", "Yes")
    # Another process breaks a row while the run is going.
    with sqlite3.connect(path) as other:
        other.execute("UPDATE responses SET answer = 'not json' WHERE key = 'k1'")
    other.close()
    with pytest.raises(InputError) as error:
        cache.get_many(["k1"])
    assert str(error.value) == (
        f"{path}: damaged response cache (row with key 'k1': answer is not valid JSON); "
        "delete that row or the file, or set cache.path to another file"
    )
    # ... or drops the table.
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE responses")
    other.close()
    with pytest.raises(InputError) as error:
        cache.put("k2", "generate_until", "No")
    assert str(error.value) == (
        f"{path}: cannot write the response cache (no such table: responses); {DELETE_HINT}"
    )
    with pytest.raises(InputError, match=r"cannot read the response cache \(no such table"):
        cache.get_many(["k2"])
    cache.close()


def test_a_full_disk_is_reported_with_its_own_hint(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    cache = ResponseCache(path)
    cache.put("k0", "generate_until", "Yes")
    page_size = cache._db.execute("PRAGMA page_size").fetchone()[0]
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count={pages}")  # sqlite's own "disk full"
    with pytest.raises(InputError) as error:
        for i in range(100):
            cache.put(f"k{i + 1}", "generate_until", "x" * page_size)
    assert str(error.value) == (
        f"{path}: cannot write the response cache (database or disk is full); "
        "free disk space or set cache.path to another file"
    )
    assert cache.get_many(["k0"]) == {"k0": "Yes"}
    cache.close()
    assert json.loads(json.dumps(ResponseCache(path).get_many(["k0"]))) == {"k0": "Yes"}
