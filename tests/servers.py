"""Real HTTP servers for tests: a vLLM OpenAI-compatible API server and a fault-injecting proxy.

Both bind to 127.0.0.1 only. :func:`start_vllm_server` runs
``python -m vllm.entrypoints.openai.api_server`` on a tiny local model in its own process group
(about 3 GiB of memory, ready after ~35 s on two cores) and :meth:`VLLMServer.stop` ends it by
PID. :class:`FaultProxy` forwards every request to that server, answers the first N POSTs with
an error status instead, and records what it saw (paths, Authorization headers, bodies,
statuses) so tests can check the client's behaviour on the wire.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
SERVER_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
STRUCTURED_OUTPUTS_CONFIG = '{"backend": "xgrammar", "disable_any_whitespace": true}'
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class VLLMServer:
    """A running vLLM API server: its process, URL, served model name and log file."""

    process: subprocess.Popen[bytes]
    port: int
    served_model: str
    log_path: Path

    @property
    def url(self) -> str:
        """The server's root URL (``http://127.0.0.1:PORT``)."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``.../v1``)."""
        return f"{self.url}/v1"

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's combined stdout/stderr."""
        return _tail(self.log_path, lines)

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM the server's PID, then SIGKILL its process group after ``grace_s``."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            # The group was created for this server alone (start_new_session), so this ends
            # only the API server and the engine process it spawned.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=grace_s)


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that asks Linux to SIGTERM the child when the test process dies, so a
    killed pytest never leaves a 3 GiB server behind. ctypes is loaded here, in the parent:
    the child only makes the call (importing after fork could deadlock)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_vllm_server(
    model_dir: Path,
    log_path: Path,
    *,
    served_model: str = "tiny-llama",
    ready_timeout_s: float = 240.0,
    extra_args: tuple[str, ...] = (),
) -> VLLMServer:
    """Start vLLM's OpenAI-compatible server on ``model_dir`` and wait until ``/health`` is OK.

    Raises ``RuntimeError`` with the tail of the server log if it exits or is not ready in
    ``ready_timeout_s`` seconds (it is stopped first).
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        served_model,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--max-model-len",
        "4096",
        "--structured-outputs-config",
        STRUCTURED_OUTPUTS_CONFIG,
        *extra_args,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **SERVER_ENV},
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    server = VLLMServer(process, port, served_model, log_path)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"vLLM server exited with code {process.returncode}:\n{server.log_tail()}"
            )
        if _healthy(server.url):
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"vLLM server not ready after {ready_timeout_s:.0f} s:\n{server.log_tail()}")


@dataclass
class Exchange:
    """One request the proxy received and what it answered."""

    method: str
    path: str
    authorization: str | None
    request: Any
    status: int
    response: Any
    injected: bool


@dataclass
class _ProxyState:
    upstream: str
    fail_first: int
    fail_status: int
    stall_first: int
    stall_s: float
    fail_after: int | None
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    posts_seen: int = 0
    posts_forwarded: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


class _ProxyHandler(BaseHTTPRequestHandler):
    """Forwards to ``state.upstream``, disturbing the first POSTs as :class:`FaultProxy` says."""

    state: _ProxyState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        """Silence the per-request access log."""

    def do_GET(self) -> None:
        """Forward a GET."""
        self._handle(b"")

    def do_POST(self) -> None:
        """Forward a POST, or stall / reject it while faults remain."""
        state = self.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with state.lock:
            number = state.posts_seen
            state.posts_seen += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if number < state.stall_first:
                self._stall(body)
            else:
                self._handle(body, inject=self._inject(number))
        finally:
            with state.lock:
                state.in_flight -= 1

    def _inject(self, number: int) -> bool:
        """Whether POST ``number`` (0-based) gets the fault status instead of an answer."""
        state = self.state
        if number < state.stall_first + state.fail_first:
            return True
        with state.lock:
            if state.fail_after is not None and state.posts_forwarded >= state.fail_after:
                return True
            state.posts_forwarded += 1
            return False

    def _stall(self, body: bytes) -> None:
        """Answer nothing for ``stall_s`` seconds, then drop the connection."""
        time.sleep(self.state.stall_s)
        self._record(body, 0, b"", True)
        self.close_connection = True

    def _handle(self, body: bytes, inject: bool = False) -> None:
        state = self.state
        if inject:
            status, headers = state.fail_status, {"Retry-After": "0"}
            payload = json.dumps(
                {"error": {"message": "injected fault", "code": state.fail_status}}
            ).encode()
        else:
            status, headers, payload = self._forward(body)
        self._record(body, status, payload, inject)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout): nothing to answer

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        target = urlsplit(self.state.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
        try:
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-type"
            }
            headers["Content-Type"] = self.headers.get("Content-Type", "application/json")
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-type"
            }
            return response.status, kept, payload
        finally:
            connection.close()

    def _record(self, body: bytes, status: int, payload: bytes, injected: bool) -> None:
        exchange = Exchange(
            method=self.command,
            path=self.path,
            authorization=self.headers.get("Authorization"),
            request=_json_or_text(body) if body else None,
            status=status,
            response=_json_or_text(payload),
            injected=injected,
        )
        with self.state.lock:
            self.state.exchanges.append(exchange)


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of ``upstream`` that can disturb the first POSTs.

    The first ``stall_first`` POSTs get no answer for ``stall_s`` seconds and then a closed
    connection (a client timeout shorter than that sees a timeout); the next ``fail_first``
    POSTs are answered with ``fail_status`` (429 or a 5xx) and a ``Retry-After: 0`` header
    without reaching the upstream; with ``fail_after`` set, every POST after that many have
    been forwarded gets ``fail_status`` too (e.g. 400, which clients do not retry: a run that
    breaks half-way); everything else is forwarded. Use as a context manager;
    :attr:`exchanges` lists what it saw in completion order (a stalled POST has status 0),
    :attr:`max_in_flight` the most POSTs it was handling at once.
    """

    def __init__(
        self,
        upstream: str,
        *,
        fail_first: int = 0,
        fail_status: int = 429,
        stall_first: int = 0,
        stall_s: float = 0.0,
        fail_after: int | None = None,
    ) -> None:
        self._state = _ProxyState(
            upstream.rstrip("/"), fail_first, fail_status, stall_first, stall_s, fail_after
        )
        handler = type("Handler", (_ProxyHandler,), {"state": self._state})
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's root URL."""
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The proxy's OpenAI-compatible base URL (``.../v1``)."""
        return f"{self.url}/v1"

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request seen so far with its answer (a copy)."""
        with self._state.lock:
            return list(self._state.exchanges)

    def heal(self) -> None:
        """Stop injecting faults: forward everything from now on."""
        with self._state.lock:
            self._state.stall_first = self._state.fail_first = 0
            self._state.fail_after = None

    @property
    def max_in_flight(self) -> int:
        """The most POSTs the proxy was handling at the same time."""
        with self._state.lock:
            return self._state.max_in_flight

    def posts(self) -> list[Exchange]:
        """The POSTs seen so far (generation requests)."""
        return [e for e in self.exchanges if e.method == "POST"]

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
