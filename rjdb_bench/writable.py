"""Check, before any work, that a folder can be written where a command will write it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rjdb_bench.errors import InputError


def probe_writable(folder: Path, label: str) -> None:
    """One line (``<label>: cannot write in <folder> (...)``) unless this process can create a
    file in ``folder``; the probe file is removed."""
    try:
        fd, name = tempfile.mkstemp(prefix=".rjdb-bench-probe-", dir=folder)
    except OSError as error:
        raise InputError(f"{label}: cannot write in {folder} ({error.strerror or error})") from None
    os.close(fd)
    os.unlink(name)


def check_new_folder(target: str | Path, label: str) -> Path:
    """The absolute ``target``, once it is known that it can be made: no file on its path,
    and, when it does not exist yet, its nearest existing folder writable (a caller that
    replaces an existing folder probes where it stages the replacement). Nothing is created."""
    target = Path(target).expanduser().absolute()
    for ancestor in [target, *target.parents]:
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                raise InputError(f"{label}: {ancestor} is a file, not a folder")
            break
    if ancestor != target:
        probe_writable(ancestor, label)
    return target
