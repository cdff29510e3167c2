"""Downloading pinned data from a real HTTP server on 127.0.0.1: caching, checksums, failures."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rjdb_bench.data.download import DataFile, fetch, sha256_file
from rjdb_bench.data.rjdb import RJDB_COMMIT, RJDB_PINNED, locate_rjdb, read_rjdb
from rjdb_bench.errors import InputError

PAYLOAD = b'{"hello": "world"}\n' * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Server:
    """A static file server over ``root``; ``stop()`` shuts it down for good."""

    root: Path
    url: str
    httpd: http.server.ThreadingHTTPServer
    thread: threading.Thread

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    running = Server(root, f"http://127.0.0.1:{httpd.server_address[1]}/", httpd, thread)
    yield running
    running.stop()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``RJDB_BENCH_CACHE`` and no ``RJDB_DATA_DIR``, so locate_rjdb downloads."""
    root = tmp_path / "cache"
    monkeypatch.setenv("RJDB_BENCH_CACHE", str(root))
    monkeypatch.delenv("RJDB_DATA_DIR", raising=False)
    return root


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- fetch


def test_fetch_downloads_and_verifies(server: Server, tmp_path: Path) -> None:
    (server.root / "data.jsonl").write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "data.jsonl"
    assert fetch(server.url + "data.jsonl", PAYLOAD_SHA, dest) == dest
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["data.jsonl"]  # no temporary file left beside it


def test_fetch_uses_a_verified_file_without_network(server: Server, tmp_path: Path) -> None:
    (server.root / "data.jsonl").write_bytes(PAYLOAD)
    dest = tmp_path / "data.jsonl"
    fetch(server.url + "data.jsonl", PAYLOAD_SHA, dest)
    server.stop()
    assert fetch(server.url + "data.jsonl", PAYLOAD_SHA, dest, timeout=2) == dest
    assert dest.read_bytes() == PAYLOAD


def test_fetch_with_wrong_checksum_leaves_nothing(server: Server, tmp_path: Path) -> None:
    (server.root / "data.jsonl").write_bytes(PAYLOAD)
    url = server.url + "data.jsonl"
    dest = tmp_path / "out" / "data.jsonl"
    with pytest.raises(InputError) as info:
        fetch(url, "0" * 64, dest)
    assert str(info.value).startswith(
        f"checksum mismatch for {url}: expected sha256 {'0' * 64}, got {PAYLOAD_SHA}; "
    )
    assert not dest.exists()
    assert leftovers(dest.parent) == []


def test_fetch_replaces_a_corrupted_cached_file(server: Server, tmp_path: Path) -> None:
    (server.root / "data.jsonl").write_bytes(PAYLOAD)
    dest = tmp_path / "data.jsonl"
    dest.write_bytes(PAYLOAD[:10])
    fetch(server.url + "data.jsonl", PAYLOAD_SHA, dest)
    assert sha256_file(dest) == PAYLOAD_SHA


def test_fetch_connection_refused_is_one_line_and_names_rjdb_data_dir(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/data.jsonl"
    dest = tmp_path / "data.jsonl"
    with pytest.raises(InputError) as info:
        fetch(url, PAYLOAD_SHA, dest, timeout=5)
    message = str(info.value)
    assert message.startswith(f"could not download {url} (")
    assert "refused" in message.lower()
    assert message.endswith("; set RJDB_DATA_DIR to a local copy")
    assert "\n" not in message
    assert leftovers(tmp_path) == []


def test_fetch_http_error_names_the_status(server: Server, tmp_path: Path) -> None:
    url = server.url + "missing.jsonl"
    with pytest.raises(InputError) as info:
        fetch(url, PAYLOAD_SHA, tmp_path / "data.jsonl")
    assert str(info.value) == (
        f"could not download {url} (HTTP 404 File not found); set RJDB_DATA_DIR to a local copy"
    )
    assert leftovers(tmp_path) == ["served"]


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(PAYLOAD)
    assert sha256_file(path) == PAYLOAD_SHA


# --------------------------------------------------------------------------- locate_rjdb downloads


def serve_real_test_split(server: Server, rjdb_data_dir: Path) -> None:
    """Serve the real test split at ``<url>/data/test.jsonl`` (a symlink, not a copy)."""
    (server.root / "data").mkdir()
    (server.root / "data" / "test.jsonl").symlink_to(rjdb_data_dir / "test.jsonl")


def test_locate_downloads_the_pinned_test_split_then_reuses_the_cache(
    server: Server, cache: Path, rjdb_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_real_test_split(server, rjdb_data_dir)
    monkeypatch.setenv("RJDB_DATA_URL_BASE", server.url)
    found = locate_rjdb("test")
    expected_path = cache / "data" / "rjdb" / RJDB_COMMIT / "test.jsonl"
    assert found == DataFile(
        path=expected_path,
        sha256=RJDB_PINNED["test"][1],
        origin="download",
        url=server.url + "data/test.jsonl",
    )
    assert sha256_file(expected_path) == RJDB_PINNED["test"][1]

    server.stop()
    again = locate_rjdb("test")
    assert again == found
    assert again.provenance()["origin"] == "download"
    assert read_rjdb(again).num_rows == 1000


def test_locate_download_with_wrong_checksum_caches_nothing(
    server: Server, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (server.root / "data").mkdir()
    (server.root / "data" / "test.jsonl").write_bytes(PAYLOAD)
    monkeypatch.setenv("RJDB_DATA_URL_BASE", server.url.rstrip("/"))  # no trailing slash is fine
    with pytest.raises(InputError, match="checksum mismatch for http://127.0.0.1:"):
        locate_rjdb("test")
    assert leftovers(cache / "data" / "rjdb" / RJDB_COMMIT) == []


def test_locate_download_failure_points_to_rjdb_data_dir(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = f"http://127.0.0.1:{closed_port()}/"
    monkeypatch.setenv("RJDB_DATA_URL_BASE", base)
    with pytest.raises(InputError) as info:
        locate_rjdb("test")
    message = str(info.value)
    assert message.startswith(f"could not download {base}data/test.jsonl (")
    assert message.endswith("set RJDB_DATA_DIR to a local copy")
    assert "\n" not in message
