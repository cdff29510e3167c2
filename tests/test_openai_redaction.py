"""No part of the API key, nor any other credential, in the one-line errors of ``model=openai``.

The errors are the SDK's own exception types around real HTTP request and response objects
(``httpx2``, the HTTP library this ``openai`` SDK is built on); the last test gets them from
a real HTTP server on 127.0.0.1 that echoes the key it is sent. No model server is needed.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx2
import openai
import pytest

from rjdb_bench.errors import InputError
from rjdb_bench.models.openai_compat import OpenAICompatibleLM, describe_api_error, redact

URL = "http://127.0.0.1:8000/v1/chat/completions"
WHERE = f"POST {URL}"
LIMIT = 200  # characters of the server's message that are shown
KEY_HINT = " (check the key in the environment variable named by model.api_key_env)"


def new_key() -> str:
    return f"sk-rjdb-{secrets.token_hex(20)}"


def status_error(status: int, body: Any, url: str = URL) -> openai.APIStatusError:
    """The error the SDK raises for ``status`` with ``body`` (JSON if not a str)."""
    request = httpx2.Request("POST", url)
    text = body if isinstance(body, str) else json.dumps(body)
    response = httpx2.Response(status, request=request, text=text)
    try:
        parsed: object = json.loads(text)
    except ValueError:
        parsed = text
    kind = {401: openai.AuthenticationError, 400: openai.BadRequestError}.get(
        status, openai.APIStatusError
    )
    return kind(f"Error code: {status}", response=response, body=parsed)


def leaked(text: str, key: str, shortest: int = 6) -> list[str]:
    """The prefixes of ``key`` of ``shortest`` or more characters found in ``text``."""
    return [key[:n] for n in range(shortest, len(key) + 1) if key[:n] in text]


def describe(error: openai.APIError, key: str) -> str:
    return describe_api_error(error, attempts=3, timeout=5, secret=key)


def message_part(line: str, status: int, hint: str = "") -> str:
    """The server's message within ``line``; checks the fixed text around it."""
    head = f"{WHERE}: HTTP {status}: "
    assert line.startswith(head) and line.endswith(hint)
    return line[len(head) : len(line) - len(hint)]


@pytest.mark.parametrize("position", [0, 150, 185, 190, 196, 199, 300, 460])
def test_a_key_anywhere_in_a_long_message_leaves_no_prefix(position: int) -> None:
    key = new_key()
    filler = "The request was refused by the upstream gateway policy. " * 10
    text = filler[:position] + key + filler[position:]
    text = text[: max(500, position + len(key))]
    line = describe(status_error(401, {"error": {"message": text}}), key)
    assert leaked(line, key) == []
    assert "\n" not in line
    message = message_part(line, 401, KEY_HINT)
    assert len(message) <= LIMIT
    assert message.startswith(filler[: min(position, 20)])
    if position == 300:  # redacted, then cut: the message ends well before the key
        assert message == text[: LIMIT - 3] + "..."


def test_the_key_at_position_300_of_500_characters() -> None:
    key = new_key()
    text = ("x" * 300 + key + "y" * 500)[:500]
    line = describe(status_error(401, {"error": {"message": text}}), key)
    assert line == f"{WHERE}: HTTP 401: {'x' * 197}...{KEY_HINT}"
    assert leaked(line, key) == []


def test_the_key_url_encoded_json_escaped_or_cut_short_by_the_server_is_redacted() -> None:
    key = "Ab+c/d=e" + secrets.token_urlsafe(24) + '"q'
    text = (
        f"url=/v1?k={quote(key, safe='')} json={json.dumps(key)} "
        f"truncated={key[:12]}... tail {key[:7]}"
    )
    line = describe(status_error(400, text), key)
    assert leaked(line, key) == []
    assert leaked(line, quote(key, safe="")) == []
    assert message_part(line, 400) == 'url=/v1?k=*** json="***" truncated=***... tail ***'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Invalid header Authorization: Bearer sk-other-0123456789abcdef (rejected)",
            "Invalid header Authorization: *** (rejected)",
        ),
        ("got 'Bearer eyJhbGciOi.J9eyJzdWIi.OiIxMjM0' from client", "got 'Bearer ***' from client"),
        (
            'headers: {"authorization": "Basic dXNlcjpwYXNz", "x-api-key": "k-778899"}',
            'headers: {"authorization": "***", "x-api-key": "***"}',
        ),
        ("unknown key sk-proj-AbCdEf0123456789xyz for org", "unknown key *** for org"),
        ("query ?api_key=secretvalue42&model=m", "query ?api_key=***&model=m"),
        # Words that only talk about credentials stay readable.
        (
            "Missing bearer token in the Authorization header",
            "Missing bearer token in the Authorization header",
        ),
    ],
)
def test_credentials_that_are_not_the_key_are_redacted(text: str, expected: str) -> None:
    line = describe(status_error(401, {"error": {"message": text}}), new_key())
    assert message_part(line, 401, KEY_HINT) == expected


def test_a_long_html_page_becomes_one_short_line() -> None:
    key = new_key()
    page = "<html>\n<body>\n" + "<p>Bad gateway</p>\r\n" * 40 + f"<!-- {key} -->\n</body></html>"
    line = describe(status_error(502, page), key)
    assert "\n" not in line and "\r" not in line
    head = f"{WHERE}: HTTP 502 after 3 attempts: "
    assert line.startswith(head)
    assert len(line) == len(head) + LIMIT
    assert line.endswith("...")
    assert leaked(line, key) == []


def test_the_request_url_and_a_connection_error_are_redacted() -> None:
    key = new_key()
    request = httpx2.Request("GET", f"http://127.0.0.1:9/v1/models?api-key={key}")
    error = openai.APIConnectionError(request=request)
    error.__cause__ = httpx2.ConnectError(f"connection refused while sending Bearer {key}")
    line = describe(error, key)
    assert line == (
        "GET http://127.0.0.1:9/v1/models?api-key=***: cannot connect "
        "(connection refused while sending Bearer ***) after 3 attempts; check model.base_url"
    )


def test_redact_without_a_key_keeps_ordinary_text() -> None:
    text = "The model `m` does not exist (max_tokens=8, temperature=0.0)."
    assert redact(text) == text
    assert redact(text, "EMPTY1") == text


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers 401 with a long message that echoes the request's Authorization header."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass

    def do_GET(self) -> None:
        sent = self.headers.get("Authorization", "").removeprefix("Bearer ")
        message = ("Access denied. " * 20)[:300] + f"Your key {sent} is not valid." + "." * 200
        body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_echoes_the_key_gets_no_part_of_it_printed(
    echo_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    monkeypatch.setenv("RJDB_TEST_ECHO_KEY", key)
    lm = OpenAICompatibleLM(
        base_url=echo_server, model="m", api_key_env="RJDB_TEST_ECHO_KEY", max_retries=0
    )
    with pytest.raises(InputError) as error:
        lm.served_model_card()
    line = str(error.value)
    assert leaked(line, key) == []
    assert line == (
        f"GET {echo_server}/models: HTTP 401: {('Access denied. ' * 20)[:197]}...{KEY_HINT}"
    )
