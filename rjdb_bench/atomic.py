"""Write files and folders so that readers never see a half-written one; lock them.

The one way rjdb-bench replaces a file or a folder (:func:`atomic_path`,
:func:`atomic_write_text`): the new content is written beside the target, flushed to disk,
and swapped in with one rename (a folder with Linux's ``renameat2(RENAME_EXCHANGE)``, or two
renames where the system has no exchange), so a crash at any point leaves either the old
target or the new one. And the one way it serialises writers across processes
(:func:`file_lock`, an advisory ``flock``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def default_mode(*, directory: bool = False) -> int:
    """The permissions a plain ``open``/``mkdir`` would give under this process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entries to disk (a folder that cannot be opened is left)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and flush it to disk before returning; an OSError names
    ``path`` (a failed ``write()`` itself names no file)."""
    try:
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None


_RENAME_EXCHANGE = 2


@functools.lru_cache(maxsize=1)
def _renameat2() -> Any:
    """libc's ``renameat2``, or None (looking libc up runs ``ldconfig``: once per process)."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    return getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where the system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(staging: Path, target: Path) -> None:
    """Put the folder ``staging`` at ``target``; the folder that was there is deleted after."""
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now the old folder
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, old / target.name)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(old / target.name, target)
        raise
    finally:
        if (old / target.name).exists() and target.exists() and not staging.exists():
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(target: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success flush it to disk and swap it in.

    A file is renamed onto ``target``; a folder is exchanged with the one at ``target`` (see
    the module docstring). On an exception the temporary file or folder is removed and
    ``target`` is left as it was. The result gets the permissions of a plain write (a folder:
    those of the folder it replaces).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        mode = target.stat().st_mode & 0o7777 if target.is_dir() else default_mode(directory=True)
        os.chmod(tmp, mode)  # mkdtemp makes a private folder
    else:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, default_mode())  # mkstemp makes the file private
    try:
        yield tmp
        fsync_path(tmp)
        if directory:
            _swap_in(tmp, target)
        else:
            os.replace(tmp, target)
        fsync_path(target.parent)
    except BaseException:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def file_lock(path: str | Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock on ``path`` across processes: exclusive (the file is created if
    missing), or ``shared`` with other shared holders (the file must exist; it is only read, so
    a read-only folder can be locked). Released when the block ends, or the process dies."""
    with Path(path).open("r" if shared else "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
