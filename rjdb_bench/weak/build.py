"""``rjdb-bench weak build-labels``: the labels folder, written as a whole.

Layout: ``tagger/``, ``matcher/`` and ``linker/`` (``datasets.Dataset.save_to_disk``), ``data_card.json``
and ``DATA_CARD.md`` (:mod:`rjdb_bench.weak.card`), and ``heldout.jsonl``: the rows of the
source file not used, as the file holds them, to evaluate in-distribution tasks with
``data.path=<labels>/heldout.jsonl``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import datasets
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from rjdb_bench.atomic import atomic_path
from rjdb_bench.data.row_range import fingerprints_checksum, row_fingerprint
from rjdb_bench.errors import InputError
from rjdb_bench.weak.card import (
    CARD_FORMAT,
    CARD_JSON,
    CARD_MARKDOWN,
    linker_statistics,
    matcher_statistics,
    records_sha256,
    render_markdown,
    tagger_statistics,
)
from rjdb_bench.weak.labels import (
    MATCHER_FEATURES,
    TAGGER_FEATURES,
    match_pairs,
    tag_row,
    tagger_records,
)
from rjdb_bench.weak.linker_pairs import LINKER_FEATURES, linker_records
from rjdb_bench.weak.rows import held_out_path, select_training_rows
from rjdb_bench.writable import check_new_folder, probe_writable


def build_labels(settings: Any) -> dict[str, Any]:
    """Build and write the labels that ``settings`` (:class:`~rjdb_bench.weak.config.LabelSettings`)
    describe; returns the data card."""
    plain: dict[str, Any] = OmegaConf.to_container(settings, resolve=True)  # type: ignore[assignment]
    out = Path(plain["output_dir"])
    if out.exists() and not (out / CARD_JSON).is_file():
        raise InputError.at(out, "exists and is not a labels folder; choose another output_dir")
    check_new_folder(out, "output_dir")  # before the work, not after it
    if out.exists():
        probe_writable(out.resolve().parent, "output_dir")  # where the new folder is staged
    selection = select_training_rows(plain["data"])
    rows = [dict(row) for row in selection.rows]
    tagger, located = [], []
    for row in tqdm(rows, desc="weak labels", unit="row"):
        labels = tag_row(row, plain["sources"], plain["max_words"])
        tagger.extend(tagger_records(row["row_id"], labels))
        located.append(labels.located)
    pairs = match_pairs(rows, plain["negatives"], plain["seed"])
    linker = [record for row in rows for record in linker_records(row, plain["sources"])]
    fingerprints = [row_fingerprint(row) for row in rows]
    held_lines = selection.held_out_lines()
    card = {
        "format": CARD_FORMAT,
        "rows": selection.describe(),
        "held_out": {
            "n_rows": len(held_lines),
            "rows": _ranges(selection.held_out),
            "file": str(held_out_path(out).resolve()) if held_lines else None,
        },
        "settings": {k: v for k, v in plain.items() if k not in ("output_dir", "data")},
        "tagger": tagger_statistics(
            tagger, located, [r["skills"] for r in rows], [r["row_id"] for r in rows]
        ),
        "matcher": matcher_statistics(pairs),
        "linker": linker_statistics(linker),
        "checksums": {
            "tagger": records_sha256(tagger),
            "matcher": records_sha256(pairs),
            "linker": records_sha256(linker),
            "train_rows": fingerprints_checksum(fingerprints),
        },
        "train_row_fingerprints": fingerprints,
    }
    try:
        with atomic_path(out, directory=True) as tmp:
            datasets.Dataset.from_list(tagger, features=TAGGER_FEATURES).save_to_disk(
                tmp / "tagger"
            )
            datasets.Dataset.from_list(pairs, features=MATCHER_FEATURES).save_to_disk(
                tmp / "matcher"
            )
            if linker:  # datasets cannot save an empty dataset; the card says 0 pairs
                datasets.Dataset.from_list(linker, features=LINKER_FEATURES).save_to_disk(
                    tmp / "linker"
                )
            if held_lines:
                (tmp / held_out_path(out).name).write_bytes(b"".join(held_lines))
            card_text = json.dumps(card, indent=1, allow_nan=False) + "\n"
            (tmp / CARD_JSON).write_text(card_text, encoding="utf-8")
            (tmp / CARD_MARKDOWN).write_text(render_markdown(card), encoding="utf-8")
    except OSError as error:
        # A full disk or a file-size limit: name the labels folder, not the staging folder.
        raise InputError.at(out, f"cannot write the labels ({error.strerror or error})") from None
    return card


def _ranges(rows: list[int]) -> list[str]:
    """Row ids as ``START:STOP`` ranges.

    >>> _ranges([0, 1, 2, 5, 7, 8])
    ['0:3', '5:6', '7:9']
    """
    out: list[str] = []
    for row in rows:
        if out and int(out[-1].split(":")[1]) == row:
            out[-1] = f"{out[-1].split(':')[0]}:{row + 1}"
        else:
            out.append(f"{row}:{row + 1}")
    return out


def summary(card: Mapping[str, Any], out: str) -> str:
    """The few lines ``build-labels`` prints."""
    rows, tagger, matcher = card["rows"], card["tagger"], card["matcher"]
    return (
        f"weak labels in {out}: RJDB {rows['split']} rows {rows['rows']} ({rows['n_rows']} rows)\n"
        f"  tagger: {tagger['windows']} windows, {tagger['spans']} spans, label coverage "
        f"{tagger['label_coverage']:.1%}, gold skills located "
        f"{tagger['gold_skills_located_anywhere']:.1%}\n"
        f"  matcher: {matcher['pairs']} pairs {json.dumps(matcher['pairs_by_kind'])}\n"
        f"  linker: {card['linker']['pairs']} (sentence, skill) pairs, "
        f"{card['linker']['skills']} skills {json.dumps(card['linker']['pairs_by_kind'])}\n"
        f"  held out: {card['held_out']['n_rows']} rows"
        + (f" -> {card['held_out']['file']}" if card["held_out"]["file"] else "")
    )
