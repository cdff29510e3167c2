"""The response cache's keys and storage."""

from __future__ import annotations

from pathlib import Path

from rjdb_bench.models.response_cache import ResponseCache

NAMESPACE = {
    "identity": {"name": "m", "commit": "abc"},
    "settings": {"dtype": "float32"},
    "chat_template": True,
}
ARGS = ("prompt text", {"until": ["\n\n"], "max_gen_toks": 8})


def test_keys_change_with_everything_that_can_change_an_answer() -> None:
    base = ResponseCache.key(NAMESPACE, "generate_until", "rjdb_match", ARGS)
    other_commit = {**NAMESPACE, "identity": {"name": "m", "commit": "def"}}
    assert ResponseCache.key(other_commit, "generate_until", "rjdb_match", ARGS) != base
    assert (
        ResponseCache.key(
            {**NAMESPACE, "settings": {"dtype": "bfloat16"}}, "generate_until", "rjdb_match", ARGS
        )
        != base
    )
    assert ResponseCache.key(NAMESPACE, "generate_until", "rjdb_skills", ARGS) != base
    assert (
        ResponseCache.key(NAMESPACE, "generate_until", "rjdb_match", ("prompt text ", ARGS[1]))
        != base
    )
    assert (
        ResponseCache.key(
            NAMESPACE,
            "generate_until",
            "rjdb_match",
            (ARGS[0], {"until": ["\n\n"], "max_gen_toks": 9}),
        )
        != base
    )
    # Dict order does not matter.
    reordered = (ARGS[0], {"max_gen_toks": 8, "until": ["\n\n"]})
    assert ResponseCache.key(NAMESPACE, "generate_until", "rjdb_match", reordered) == base


def test_answers_persist_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    cache = ResponseCache(path)
    cache.put("k1", "generate_until", "Yes")
    cache.put("k2", "loglikelihood", [-1.5, True])
    cache.close()
    reopened = ResponseCache(path)
    assert reopened.get_many(["k1", "k2", "missing"]) == {"k1": "Yes", "k2": [-1.5, True]}
    assert len(reopened) == 2
