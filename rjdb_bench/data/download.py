"""Fetch a pinned data file once, verify its sha256, and cache it atomically."""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rjdb_bench.atomic import atomic_path
from rjdb_bench.errors import InputError

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DataFile:
    """A data file ready to read, with where it came from.

    ``origin`` is ``"local"`` (a file or folder the user gave) or ``"download"`` (fetched now
    or found verified in the cache, with ``url`` the upstream address).
    """

    path: Path
    sha256: str
    origin: str
    url: str | None = None

    def provenance(self) -> dict:
        """JSON-ready ``{"path", "sha256", "origin", "url"}`` for results files."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "origin": self.origin,
            "url": self.url,
        }


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    url: str,
    sha256: str,
    dest: str | Path,
    *,
    timeout: float = 60,
    local_hint: str = "set RJDB_DATA_DIR to a local copy",
) -> Path:
    """Return ``dest`` holding the file at ``url`` whose sha256 is ``sha256``.

    A ``dest`` that already has that checksum is returned without network access; one with
    another checksum is removed and downloaded again. The download goes to a temporary file
    beside ``dest`` and is moved into place only once verified, so ``dest`` is never
    half-written. Raises ``InputError`` (one line) on a network failure or a checksum mismatch;
    a network failure's message ends with ``local_hint`` (how to use a local copy instead).
    """
    dest = Path(dest)
    if dest.is_file():
        if sha256_file(dest) == sha256:
            return dest
        log.warning("%s does not have sha256 %s; downloading it again", dest, sha256)
        dest.unlink()
    log.info("downloading %s to %s", url, dest)
    with atomic_path(dest) as tmp:
        actual = _download(url, tmp, timeout=timeout, local_hint=local_hint)
        if actual != sha256:
            raise InputError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual}; "
                "the upstream file changed or the download was corrupted"
            )
    return dest


def _download(url: str, target: Path, *, timeout: float, local_hint: str) -> str:
    """Stream ``url`` into ``target`` and return the sha256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as e:
        raise _network_error(url, f"HTTP {e.code} {e.reason}", local_hint) from e
    except urllib.error.URLError as e:
        raise _network_error(url, str(e.reason), local_hint) from e
    except (TimeoutError, OSError) as e:
        raise _network_error(url, str(e) or type(e).__name__, local_hint) from e
    return digest.hexdigest()


def _network_error(url: str, why: str, local_hint: str) -> InputError:
    """The one-line error for a download that failed."""
    why = " ".join(why.split())
    return InputError(f"could not download {url} ({why}); {local_hint}")
