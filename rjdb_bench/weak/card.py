"""The data card of a weak-label folder: what the labels are made of, in numbers.

``data_card.json`` is what commands read (the training rows, their fingerprints, the
datasets' checksums); ``DATA_CARD.md`` is the same for people.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rjdb_bench.errors import InputError

CARD_JSON = "data_card.json"
CARD_MARKDOWN = "DATA_CARD.md"
CARD_FORMAT = 1


def records_sha256(records: Iterable[Mapping[str, Any]]) -> str:
    """sha256 of the records as sorted-key JSON lines: the content of a labels dataset."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def tagger_statistics(
    tagger: Sequence[Mapping[str, Any]],
    located: Sequence[Mapping[str, set[int]]],
    skills: Sequence[Sequence[str]],
    row_ids: Sequence[int],
) -> dict[str, Any]:
    """Counts, label coverage and the share of gold skills located, per text and overall.

    ``located[i][source]`` holds the indices of row ``i``'s ``skills[i]`` found in that text.
    """
    n_tokens = sum(len(r["tokens"]) for r in tagger)
    tagged = sum(sum(1 for tag in r["tags"] if tag != 0) for r in tagger)
    spans = sum(sum(1 for tag in r["tags"] if tag == 1) for r in tagger)
    gold = sum(len(s) for s in skills)
    sources = sorted({source for row in located for source in row})
    per_source = {source: sum(len(row.get(source, set())) for row in located) for source in sources}
    anywhere = [set().union(*row.values()) if row else set() for row in located]
    missed = [
        {"row_id": row_id, "skill": skill}
        for row_id, row_skills, found in zip(row_ids, skills, anywhere, strict=True)
        for index, skill in enumerate(row_skills)
        if index not in found
    ]
    return {
        "windows": len(tagger),
        "windows_by_source": dict(Counter(r["source"] for r in tagger)),
        "windows_with_spans": sum(1 for r in tagger if any(tag == 1 for tag in r["tags"])),
        "tokens": n_tokens,
        "tagged_tokens": tagged,
        "label_coverage": tagged / n_tokens if n_tokens else 0.0,
        "spans": spans,
        "gold_skills": gold,
        "gold_skills_located": {
            source: (count / gold if gold else 0.0) for source, count in per_source.items()
        },
        "gold_skills_located_anywhere": (
            sum(len(found) for found in anywhere) / gold if gold else 0.0
        ),
        "rows_without_skills": sum(1 for s in skills if not s),
        "not_located": len(missed),
        "not_located_examples": missed[:10],
    }


def matcher_statistics(pairs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Pairs by kind and the share of positives."""
    return {
        "pairs": len(pairs),
        "pairs_by_kind": dict(Counter(p["kind"] for p in pairs)),
        "positive_share": sum(p["label"] for p in pairs) / len(pairs) if pairs else 0.0,
    }


def linker_statistics(pairs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Pairs by kind and source, and how many distinct skills (casefolded) they name."""
    return {
        "pairs": len(pairs),
        "pairs_by_kind": dict(Counter(p["kind"] for p in pairs)),
        "pairs_by_source": dict(Counter(p["source"] for p in pairs)),
        "skills": len({p["skill"].casefold() for p in pairs}),
    }


def render_markdown(card: Mapping[str, Any]) -> str:
    """``DATA_CARD.md``: the card's numbers for a reader."""
    rows, tagger, matcher, linker = card["rows"], card["tagger"], card["matcher"], card["linker"]
    located = ", ".join(f"{k} {v:.1%}" for k, v in tagger["gold_skills_located"].items())
    lines = [
        "# Weak labels from RJDB (rjdb-bench weak build-labels)",
        "",
        f"- Rows: RJDB {rows['split']} rows {rows['rows']} ({rows['n_rows']} of "
        f"{rows['n_file_rows']}), file `{rows['file']}` (sha256 `{rows['file_sha256']}`); "
        f"{rows['why']}.",
        f"- Held out: {card['held_out']['n_rows']} rows"
        + (f", written to `{card['held_out']['file']}`" if card["held_out"]["file"] else "")
        + ".",
        f"- Settings: {json.dumps(card['settings'], sort_keys=True)}",
        "",
        "## Tagger (BIO skill tags)",
        "",
        f"- {tagger['windows']} windows ({json.dumps(tagger['windows_by_source'])}), "
        f"{tagger['windows_with_spans']} with at least one span; {tagger['tokens']} tokens, "
        f"{tagger['spans']} spans.",
        f"- Label coverage (tokens tagged B or I): {tagger['label_coverage']:.1%}.",
        f"- Gold skills located: {located}; in any text {tagger['gold_skills_located_anywhere']:.1%} "
        f"of {tagger['gold_skills']} ({tagger['not_located']} not located; "
        f"{tagger['rows_without_skills']} rows without skills).",
        f"- Checksum of the records: `{card['checksums']['tagger']}`.",
        "",
        "## Matcher (job description, resume) pairs",
        "",
        f"- {matcher['pairs']} pairs ({json.dumps(matcher['pairs_by_kind'])}), "
        f"{matcher['positive_share']:.1%} positive.",
        f"- Checksum of the records: `{card['checksums']['matcher']}`.",
        "",
        "## Linker (sentence, skill) pairs",
        "",
        f"- {linker['pairs']} pairs ({json.dumps(linker['pairs_by_kind'])}, "
        f"{json.dumps(linker['pairs_by_source'])}) naming {linker['skills']} distinct skills.",
        f"- Checksum of the records: `{card['checksums']['linker']}`.",
        "",
        "Labelling rules: `rjdb_bench/weak/labels.py` and docs/weak-supervision.md.",
        "",
    ]
    return "\n".join(lines)


def read_card(labels_dir: str | Path) -> dict[str, Any]:
    """The ``data_card.json`` of a labels folder, or a one-line error naming it."""
    path = Path(labels_dir) / CARD_JSON
    if not path.is_file():
        raise InputError.at(
            path, "not found: build the labels first (rjdb-bench weak build-labels)"
        )
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError.at(path, f"not a data card ({error})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise InputError.at(path, f"not a data card of format {CARD_FORMAT}")
    return card
