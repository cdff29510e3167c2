"""Trainable weak supervision from RJDB: weak labels, a token-classifier tagger and a
cross-encoder matcher (``rjdb-bench weak ...``; docs/weak-supervision.md).

``labels`` builds the weak BIO labels and match pairs, ``card`` their data card, ``rows``
picks the RJDB rows they come from, ``train`` fine-tunes an encoder on them, ``config``
reads the Hydra configs under ``configs/weak/`` and ``cli`` wires the sub-commands. The
trained checkpoints are evaluated as ordinary models (backends ``tagger`` and ``matcher``
in :mod:`rjdb_bench.models`).
"""
