"""A response cache that two models can never share, and an lm-eval wrapper that uses it.

lm-eval's own ``--use_cache`` keys answers by request only (upstream issue #4063), so a second
model reading the same cache file gets the first model's answers. Here every key also holds a
*namespace*: the model's identity and revision, the backend, the settings that change outputs
(dtype, structured outputs, chat template) and the task. Answers are written one by one as
the backend produces them (through lm-eval's cache hook), so a run interrupted by SIGINT or
SIGKILL restarts without asking the model again for anything it had already answered.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM

REQUEST_TYPES = ("generate_until", "loglikelihood", "loglikelihood_rolling")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


class ResponseCache:
    """A sqlite file of ``key -> JSON answer``; safe to use from several threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, kind TEXT, answer TEXT, created REAL)"
        )

    @staticmethod
    def key(namespace: Mapping[str, Any], kind: str, task: str | None, args: Sequence[Any]) -> str:
        """The cache key of one request: sha256 over namespace, request type, task and arguments."""
        return hashlib.sha256(
            _canonical([dict(namespace), kind, task, list(args)]).encode("utf-8")
        ).hexdigest()

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Answers found for ``keys``."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, answer in self._db.execute(
                    f"SELECT key, answer FROM responses WHERE key IN ({marks})", chunk
                ):
                    found[key] = json.loads(answer)
        return found

    def put(self, key: str, kind: str, answer: Any) -> None:
        """Store one answer (committed at once: it survives a kill right after)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                (key, kind, json.dumps(answer, ensure_ascii=False), time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

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
