"""A response cache that two models can never share, and an lm-eval wrapper that uses it.

lm-eval's own ``--use_cache`` keys answers by request only (upstream issue #4063), so a second
model reading the same cache file gets the first model's answers. Here every key also holds a
*namespace*: the model's identity and revision, the backend, the settings that change outputs
(dtype, structured outputs, chat template) and the task. Answers are written one by one as
the backend produces them (through lm-eval's cache hook), so a run interrupted by SIGINT or
SIGKILL restarts without asking the model again for anything it had already answered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM

from rjdb_bench.errors import InputError, one_line


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


_COLUMNS = ("key", "kind", "answer", "created")
_DELETE = "delete it or set cache.path to another file"
# What to tell the user for an sqlite error, by its primary result code.
_HINTS = {
    "SQLITE_FULL": "free disk space or set cache.path to another file",
    "SQLITE_READONLY": "check its permissions or set cache.path to another file",
    "SQLITE_PERM": "check its permissions or set cache.path to another file",
    "SQLITE_CANTOPEN": "check its permissions or set cache.path to another file",
    "SQLITE_AUTH": "check its permissions or set cache.path to another file",
    "SQLITE_BUSY": "another process holds it locked; wait for it or set cache.path to another file",
    "SQLITE_LOCKED": "another process holds it locked; wait for it or set cache.path to another file",
}


def _sqlite_hint(error: sqlite3.Error) -> str:
    name = getattr(error, "sqlite_errorname", "") or ""
    primary = "_".join(name.split("_")[:2])  # SQLITE_READONLY_DBMOVED -> SQLITE_READONLY
    return _HINTS.get(primary, _DELETE)


def _bad_answer(answer: Any) -> bool:
    """True unless ``answer`` is JSON text that :func:`json.loads` reads."""
    if not isinstance(answer, str):
        return True
    try:
        json.loads(answer)
    except ValueError:
        return True
    return False


def _problem(db: sqlite3.Connection) -> str | None:
    """What makes the database behind ``db`` unusable as a response cache; None if nothing.

    Reads only. Raises :class:`sqlite3.Error` for a file that is no sqlite database.
    """
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
    if check != "ok":
        return f"damaged response cache (integrity check: {one_line(check)}); {_DELETE}"
    if not tables:
        return None
    if "responses" not in tables:
        return (
            f"not a response cache (a database with tables {', '.join(sorted(tables))} "
            f"but no 'responses' table); set cache.path to another file"
        )
    info = db.execute("PRAGMA table_info(responses)").fetchall()
    columns = tuple(row[1] for row in info)
    if columns != _COLUMNS or not info[0][5]:
        return (
            f"not a response cache (table 'responses' has columns {', '.join(columns)}; "
            f"expected {', '.join(_COLUMNS)} with key as primary key); {_DELETE}"
        )
    # json_valid() in SQL keeps this fast on big caches; it refuses NaN and Infinity, which
    # json.dumps writes for some log-likelihoods, so what it flags is checked again in Python.
    try:
        flagged = db.execute(
            "SELECT key, answer FROM responses "
            "WHERE typeof(answer) != 'text' OR NOT json_valid(answer) ORDER BY rowid"
        )
    except sqlite3.OperationalError:  # an sqlite built without the JSON functions
        flagged = db.execute("SELECT key, answer FROM responses ORDER BY rowid")
    for key, answer in flagged:
        if _bad_answer(answer):
            return (
                f"damaged response cache (row with key {key!r}: answer is not valid JSON); "
                f"delete that row or the file, or set cache.path to another file"
            )
    return None


class ResponseCache:
    """A sqlite file of ``key -> JSON answer``; safe to use from several threads.

    The file is checked when the cache is opened; a file that is not a usable response cache
    (a folder, not an sqlite database, damaged, another table layout, an answer that is not
    JSON) is refused with an :class:`InputError` and left as it was.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise InputError.at(
                self.path, "not a response cache (it is a folder); set cache.path to a file"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            blocker = next((p for p in self.path.parents if p.exists()), None)
            reason = (
                f"{blocker} is a file"
                if blocker is not None and not blocker.is_dir()
                else one_line(error.strerror or error)
            )
            raise InputError.at(
                self.path,
                f"cannot create the response cache's folder ({reason}); "
                "set cache.path to another file",
            ) from None
        self._check_existing()
        db = None
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS responses "
                "(key TEXT PRIMARY KEY, kind TEXT, answer TEXT, created REAL)"
            )
        except sqlite3.Error as error:
            if db is not None:
                db.close()
            raise self._failure("open", error) from None
        self._db = db

    def _check_existing(self) -> None:
        """Refuse an existing file that is not a usable response cache, without writing to it."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        if not os.access(self.path, os.R_OK | os.W_OK, effective_ids=True):
            raise InputError.at(
                self.path,
                "cannot open the response cache (permission denied); "
                "check its permissions or set cache.path to another file",
            )
        sidecars = [Path(f"{self.path}{suffix}") for suffix in ("-wal", "-shm")]
        existed = [sidecar.exists() for sidecar in sidecars]
        problem = None
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                problem = _problem(db)
            finally:
                db.close()
        except sqlite3.DatabaseError as error:
            name = getattr(error, "sqlite_errorname", "")
            if name == "SQLITE_NOTADB":
                problem = f"not a response cache (file is not a database); {_DELETE}"
            elif name.startswith("SQLITE_CORRUPT"):
                problem = f"damaged response cache ({one_line(error)}); {_DELETE}"
            else:
                problem = (
                    f"cannot open the response cache ({one_line(error)}); {_sqlite_hint(error)}"
                )
        if problem is None:
            return
        # A read-only look at a WAL-mode file creates its -wal and -shm files: remove those.
        for sidecar, was_there in zip(sidecars, existed, strict=True):
            if not was_there:
                with contextlib.suppress(OSError):
                    sidecar.unlink()
        raise InputError.at(self.path, problem)

    def _failure(self, action: str, error: sqlite3.Error) -> InputError:
        return InputError.at(
            self.path,
            f"cannot {action} the response cache ({one_line(error)}); {_sqlite_hint(error)}",
        )

    @staticmethod
    def key(namespace: Mapping[str, Any], kind: str, task: str | None, args: Sequence[Any]) -> str:
        """The cache key of one request: sha256 over namespace, request type, task and arguments."""
        return hashlib.sha256(
            _canonical([dict(namespace), kind, task, list(args)]).encode("utf-8")
        ).hexdigest()

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Answers found for ``keys``; :class:`InputError` if the file cannot be read."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._lock:
            try:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        f"SELECT key, answer FROM responses WHERE key IN ({marks})", chunk
                    ).fetchall()
                    for key, answer in rows:
                        if _bad_answer(answer):
                            raise InputError.at(
                                self.path,
                                f"damaged response cache (row with key {key!r}: answer is not "
                                "valid JSON); delete that row or the file, or set cache.path "
                                "to another file",
                            )
                        found[key] = json.loads(answer)
            except sqlite3.Error as error:
                raise self._failure("read", error) from None
        return found

    def put(self, key: str, kind: str, answer: Any) -> None:
        """Store one answer (committed at once: it survives a kill right after)."""
        row = (key, kind, json.dumps(answer, ensure_ascii=False), time.time())
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", row)
            except sqlite3.Error as error:
                raise self._failure("write", error) from None

    def __len__(self) -> int:
        with self._lock:
            try:
                return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
            except sqlite3.Error as error:
                raise self._failure("read", error) from None

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


class _Hook:
    """lm-eval cache hook: backends report each answer here as soon as they have it."""

    def __init__(self, owner: CachedLM) -> None:
        self.owner = owner

    def add_partial(self, attr: str, req: Iterable[Any], res: Any) -> None:
        self.owner.store_partial(attr, tuple(req), res)


class CachedLM(LM):
    """Wrap an lm-eval model: answer from the cache, ask the model only for the rest."""

    def __init__(self, lm: LM, cache: ResponseCache, namespace: Mapping[str, Any]) -> None:
        super().__init__()
        self.lm = lm
        self.cache = cache
        self.namespace = dict(namespace)
        self.model_calls = 0
        self.cache_hits = 0
        self._pending: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        lm.set_cache_hook(_Hook(self))

    # lm-eval reads these from the model it is given.
    @property
    def rank(self) -> int:
        return self.lm.rank

    @property
    def world_size(self) -> int:
        return self.lm.world_size

    @property
    def tokenizer_name(self) -> str:
        return self.lm.tokenizer_name

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        """Delegate to the wrapped model."""
        return self.lm.apply_chat_template(chat_history, add_generation_prompt)

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Cached ``generate_until``."""
        return self._answer("generate_until", requests)

    def loglikelihood(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """Cached ``loglikelihood``."""
        return [tuple(answer) for answer in self._answer("loglikelihood", requests)]

    def loglikelihood_rolling(
        self, requests: list[Instance], disable_tqdm: bool = False
    ) -> list[float]:
        """Cached ``loglikelihood_rolling``."""
        return self._answer("loglikelihood_rolling", requests)

    def store_partial(self, kind: str, args: tuple[Any, ...], answer: Any) -> None:
        """Persist an answer the wrapped model just produced for pending request ``args``."""
        for key, stored_kind in self._pending.pop((kind, _canonical(list(args))), []):
            self.cache.put(key, stored_kind, answer)

    def _answer(self, kind: str, requests: list[Instance]) -> list[Any]:
        keys = [
            self.cache.key(self.namespace, kind, getattr(r, "task_name", None), r.args)
            for r in requests
        ]
        answers = self.cache.get_many(keys)
        missing = [i for i, key in enumerate(keys) if key not in answers]
        self.cache_hits += len(requests) - len(missing)
        if missing:
            for i in missing:
                self._pending[(kind, _canonical(list(requests[i].args)))].append((keys[i], kind))
            self.model_calls += len(missing)
            fresh = getattr(self.lm, kind)([requests[i] for i in missing])
            for i, answer in zip(missing, fresh, strict=True):
                answers[keys[i]] = answer
                self.cache.put(keys[i], kind, answer)  # backends that do not call the hook
            self._pending.clear()
        return [answers[key] for key in keys]
