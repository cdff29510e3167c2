"""lm-eval requests built by hand, as lm-eval builds them, for backend tests."""

from __future__ import annotations

from typing import Any

from lm_eval.api.instance import Instance

from rjdb_bench.models.registry import OUTPUT_CONSTRAINT_KEY


def generation_request(
    prompt: str,
    constraint: dict[str, Any] | None = None,
    task: str | None = "rjdb_match",
    **kwargs: Any,
) -> Instance:
    """A ``generate_until`` request, the constraint (if any) in its generation kwargs."""
    gen_kwargs: dict[str, Any] = {"until": ["\n\n"], "max_gen_toks": 8, "do_sample": False}
    gen_kwargs |= kwargs
    if constraint is not None:
        gen_kwargs[OUTPUT_CONSTRAINT_KEY] = constraint
    return Instance(
        request_type="generate_until",
        doc={},
        arguments=(prompt, gen_kwargs),
        idx=0,
        metadata=(task, 0, 1),
    )
