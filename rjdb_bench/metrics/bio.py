"""Token spans and BIO tag sequences: the one place that converts between them.

A :data:`Span` is ``(start, end)`` over token indices, ``end`` exclusive. Chunking follows
seqeval (``get_entities``): an ``I`` tag after ``O`` or after another type starts a new
chunk, which is also how seqeval scores predictions, so gold and predicted layers are read
the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from seqeval.metrics.sequence_labeling import get_entities

Span = tuple[int, int]


def typed_spans(tags: Sequence[str]) -> list[tuple[str, Span]]:
    """``(type, span)`` for every chunk of a BIO sequence (``"_"`` for untyped tags).

    >>> typed_spans(["B-Skill", "I-Skill", "O", "I-Knowledge", "B"])
    [('Skill', (0, 2)), ('Knowledge', (3, 4)), ('_', (4, 5))]
    """
    return [(kind, (start, end + 1)) for kind, start, end in get_entities(list(tags))]


def bio_spans(tags: Sequence[str]) -> list[Span]:
    """The chunks of a BIO sequence as spans, types ignored, in order.

    >>> bio_spans(["B", "I", "O", "I", "B", "B", "I"])
    [(0, 2), (3, 4), (4, 5), (5, 7)]
    """
    return [span for _, span in typed_spans(tags)]


def spans_to_bio(spans: Sequence[Span], length: int) -> list[str]:
    """The untyped BIO layer of non-overlapping ``spans`` over ``length`` tokens.

    >>> spans_to_bio([(0, 2), (3, 4)], 5)
    ['B', 'I', 'O', 'B', 'O']
    """
    tags = ["O"] * length
    for start, end in sorted(spans):
        if not 0 <= start < end <= length:
            raise ValueError(f"span {(start, end)} outside 0..{length}")
        if any(tag != "O" for tag in tags[start:end]):
            raise ValueError(f"span {(start, end)} overlaps another span")
        tags[start] = "B"
        tags[start + 1 : end] = ["I"] * (end - start - 1)
    return tags
