"""Where the out-of-distribution (OOD) data files come from: pins, checksums, licences, citations.

The OOD data lives in one folder laid out like ``<dataset folder>/<file>`` (for example
``skillspan/conll/skillspan_house_test.conll``, ``green/nnose/test.conll``,
``vacancy-resume-matching/CV/7.docx``). :data:`OOD_DATASETS` describes the three datasets and
every file the tasks read, each pinned to an upstream commit with its sha256 (the checksums are
in ``ood_manifest.json`` beside this module, written by
``python -m rjdb_bench.data.ood --write-manifest <ood folder>``). :func:`locate_ood` finds a
file in a local folder (``ood_dir`` or ``$RJDB_OOD_DIR``) or downloads the pinned copy.
See ``docs/data-ood.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rjdb_bench.atomic import atomic_path
from rjdb_bench.data.download import DataFile, fetch, sha256_file
from rjdb_bench.errors import InputError
from rjdb_bench.paths import cache_dir

log = logging.getLogger(__name__)

OOD_DIR_ENV = "RJDB_OOD_DIR"
"""Environment variable naming a local folder with the OOD data (used before any download)."""
URL_BASE_ENV = "RJDB_OOD_URL_BASE"
"""Environment variable replacing :data:`URL_BASE` (a mirror laid out ``<repo>/<commit>/<path>``)."""
URL_BASE = "https://raw.githubusercontent.com"
MANIFEST_PATH = Path(__file__).with_name("ood_manifest.json")
_REGENERATE = "rewrite it with: python -m rjdb_bench.data.ood --write-manifest <ood folder>"


@dataclass(frozen=True)
class Upstream:
    """A pinned upstream repository and the local folder (under the OOD folder) copying it."""

    repo: str
    commit: str
    folder: str


@dataclass(frozen=True)
class OODFile:
    """One pinned file: its path under the OOD folder and where it comes from upstream."""

    relpath: str
    dataset: str
    repo: str
    commit: str
    upstream_path: str
    sha256: str
    size: int

    def url(self, base: str | None = None) -> str:
        """Download address: ``<base>/<repo>/<commit>/<upstream path>``.

        ``base`` defaults to ``$RJDB_OOD_URL_BASE``, else :data:`URL_BASE` (raw GitHub).
        """
        base = base or os.environ.get(URL_BASE_ENV) or URL_BASE
        return f"{base.rstrip('/')}/{self.repo}/{self.commit}/{self.upstream_path}"


@dataclass(frozen=True)
class OODDataset:
    """One OOD dataset: what to show in ``tasks --info`` and the files pinned for it.

    ``upstreams`` lists every repository the files come from (Green has two: the authors'
    repository and the NNOSE train/dev/test copy); ``repo`` and ``commit`` are the first's.
    """

    key: str
    title: str
    folder: str
    licence: str
    citation: str
    upstreams: tuple[Upstream, ...]
    files: Mapping[str, OODFile]

    @property
    def repo(self) -> str:
        """The first upstream's ``owner/name``."""
        return self.upstreams[0].repo

    @property
    def commit(self) -> str:
        """The first upstream's pinned commit."""
        return self.upstreams[0].commit

    def info(self) -> dict:
        """JSON-ready ``{"key", "title", "licence", "citation", "sources"}`` for ``--info``."""
        return {
            "key": self.key,
            "title": self.title,
            "licence": self.licence,
            "citation": self.citation,
            "sources": [
                {"repo": u.repo, "commit": u.commit, "url": f"https://github.com/{u.repo}"}
                for u in self.upstreams
            ],
        }


# --------------------------------------------------------------------------- the pins

_SKILLSPAN = Upstream("kris927b/SkillSpan", "2ccf3de5b5af7a5409b8dd814fb1315dd6e0ae1b", "skillspan")
_GREEN_ORIGINAL = Upstream(
    "acp19tag/skill-extraction-dataset",
    "ca1eadd2885a277853b01f0ec96fc89094adf71e",
    "green/original",
)
_GREEN_NNOSE = Upstream("jjzha/nnose", "afc785b664a5cbec445f6ac5cac45cd97c76b3d7", "green/nnose")
_VACANCY = Upstream(
    "NataliaVanetik/vacancy-resume-matching-dataset",
    "a830fb2edf05331d16072923b96a3152a9bb8856",
    "vacancy-resume-matching",
)
_ESCO = Upstream(
    "jensjorisdecorte/Skill-Extraction-benchmark",
    "19305c85e35a74fb2a5128d8ee3798b06470b596",
    "decorte-skill-extraction-benchmark",
)
ESCO_FILES = (
    "tech_test_annotations.csv",
    "tech_validation_annotations.csv",
    "house_test_annotations.csv",
    "house_validation_annotations.csv",
    "techwolf_test_annotations.csv",
    "skills_en_label.txt",
)
"""The files of the ESCO linking benchmark (``data/<name>`` upstream)."""
CV_NUMBERS = range(1, 66)
"""The CVs of the vacancy set: ``CV/1.docx`` … ``CV/65.docx``."""

_DATASETS = {
    "skillspan": {
        "title": "SkillSpan (Zhang et al., NAACL 2022): skill and knowledge spans in English "
        "job postings (HOUSE and TECH sources)",
        "folder": "skillspan",
        "licence": "MIT (repository LICENSE, Copyright (c) 2023 Mike Zhang); the Hugging Face "
        "card of the same data (jjzha/skillspan) states CC BY 4.0",
        "citation": "Mike Zhang, Kristian Nørgaard Jensen, Sif Dam Sonniks, Barbara Plank. 2022. "
        "SkillSpan: Hard and Soft Skill Extraction from English Job Postings. NAACL 2022, "
        "pp. 4962–4984. https://aclanthology.org/2022.naacl-main.366",
        "upstreams": (_SKILLSPAN,),
    },
    "green": {
        "title": "Green et al. (LREC 2022) job-description entity corpus (authors' test set and "
        "the NNOSE train/dev/test copy)",
        "folder": "green",
        "licence": "CC BY 4.0 (authors' repository acp19tag/skill-extraction-dataset); the NNOSE "
        "copy (jjzha/nnose) is MIT (Copyright (c) 2023 Mike Zhang) and still requires "
        "attribution to Green et al.",
        "citation": "Thomas A. F. Green, Diana Maynard, Chenghua Lin. 2022. Development of a "
        "Benchmark Corpus to Support Entity Recognition in Job Descriptions. LREC 2022, "
        "pp. 1201–1208. http://www.lrec-conf.org/proceedings/lrec2022/pdf/2022.lrec-1.128.pdf\n"
        "Mike Zhang, Rob van der Goot, Min-Yen Kan, Barbara Plank. 2024. NNOSE: Nearest "
        "Neighbor Occupational Skill Extraction. EACL 2024, pp. 589–608. "
        "https://aclanthology.org/2024.eacl-long.35",
        "upstreams": (_GREEN_ORIGINAL, _GREEN_NNOSE),
    },
    "vacancy": {
        "title": "Vacancy–resume matching with human rankings (Vanetik & Kogan, 2023): 5 real "
        "vacancies, 65 anonymised real CVs, two annotators' rankings for CVs 1–30",
        "folder": "vacancy-resume-matching",
        "licence": "GNU GPL v3 (repository LICENSE); the CVs are real, anonymised personal data",
        "citation": "Natalia Vanetik, Genady Kogan. 2023. Job Vacancy Ranking with Sentence "
        "Embeddings, Keywords, and Named Entities. Information 14(8):468. "
        "https://doi.org/10.3390/info14080468",
        "upstreams": (_VACANCY,),
    },
    "esco": {
        "title": "ESCO skill linking (Decorte et al.): TECH and HOUSE (SkillSpan sentences) and "
        "TECHWOLF job-ad sentences linked to ESCO v1.1.0 skills; 13,896 candidate labels",
        "folder": "decorte-skill-extraction-benchmark",
        "licence": "the GitHub repository has no licence file; the author's Hugging Face copies "
        "state CC BY 4.0 (skill-extraction-tech, skill-extraction-techwolf) and MIT "
        "(skill-extraction-house); TECH/HOUSE sentences come from SkillSpan; the ESCO labels "
        "are the European Commission's (ESCO terms apply)",
        "citation": "Jens-Joris Decorte, Jeroen Van Hautte, Johannes Deleu, Chris Develder, "
        "Thomas Demeester. 2022. Design of Negative Sampling Strategies for Distantly Supervised "
        "Skill Extraction. RecSys-in-HR 2022, CEUR-WS Vol. 3218.\n"
        "Jens-Joris Decorte, Severine Verlinden, Jeroen Van Hautte, Johannes Deleu, Chris "
        "Develder, Thomas Demeester. 2023. Extreme Multi-Label Skill Extraction Training using "
        "Large Language Models. arXiv:2307.10778",
        "upstreams": (_ESCO,),
    },
}


def _layout() -> Iterator[tuple[str, Upstream, str, str]]:
    """``(dataset, upstream, path under the OOD folder, upstream path)`` for every pinned file."""
    for split in ("train", "dev", "test"):
        for source in ("house", "tech"):
            name = f"skillspan_{source}_{split}.conll"
            yield "skillspan", _SKILLSPAN, f"skillspan/conll/{name}", f"data/conll/{name}"
    yield "skillspan", _SKILLSPAN, "skillspan/LICENSE", "LICENSE"
    yield "green", _GREEN_ORIGINAL, "green/original/testset.txt", "raw_data/testset.txt"
    yield "green", _GREEN_ORIGINAL, "green/original/LICENSE", "LICENSE"
    for split in ("train", "dev", "test"):
        yield "green", _GREEN_NNOSE, f"green/nnose/{split}.conll", f"data/green/{split}.conll"
    yield "green", _GREEN_NNOSE, "green/nnose/LICENSE", "LICENSE"
    folder = _VACANCY.folder
    names = ["5_vacancies.csv", "annotations-for-the-first-30-vacancies.txt", "LICENSE"]
    names += [f"CV/{n}.docx" for n in CV_NUMBERS]
    for name in names:
        yield "vacancy", _VACANCY, f"{folder}/{name}", name
    for name in ESCO_FILES:
        yield "esco", _ESCO, f"{_ESCO.folder}/{name}", f"data/{name}"


def _load_datasets(*, strict: bool = True) -> dict[str, OODDataset]:
    """Join the layout with the checksums of ``ood_manifest.json``.

    ``strict=False`` (only when run as ``python -m`` to rewrite the manifest) skips files that
    have no checksum yet instead of failing.
    """
    try:
        checksums = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))["files"]
    except FileNotFoundError:
        if strict:
            raise
        checksums = {}
    files: dict[str, dict[str, OODFile]] = {key: {} for key in _DATASETS}
    for dataset, upstream, relpath, upstream_path in _layout():
        pinned = checksums.get(relpath)
        if pinned is None:
            if strict:
                raise RuntimeError(f"{relpath}: no checksum in {MANIFEST_PATH}; {_REGENERATE}")
            continue
        files[dataset][relpath] = OODFile(
            relpath=relpath,
            dataset=dataset,
            repo=upstream.repo,
            commit=upstream.commit,
            upstream_path=upstream_path,
            sha256=pinned["sha256"],
            size=pinned["size"],
        )
    return {key: OODDataset(key=key, files=files[key], **meta) for key, meta in _DATASETS.items()}


OOD_DATASETS: dict[str, OODDataset] = _load_datasets(strict=__name__ != "__main__")
"""The OOD datasets by key: ``skillspan``, ``green``, ``vacancy``, ``esco``."""
OOD_FILES: dict[str, OODFile] = {
    relpath: file for dataset in OOD_DATASETS.values() for relpath, file in dataset.files.items()
}
"""Every pinned file by its path under the OOD folder."""


# --------------------------------------------------------------------------- locating


def locate_ood(relpath: str, *, ood_dir: str | Path | None = None) -> DataFile:
    """Find an OOD file given by its path under the OOD folder.

    Precedence: ``ood_dir`` > ``$RJDB_OOD_DIR`` > download of the pinned file (checksum
    verified, written atomically) into ``cache_dir("data", "ood", <dataset>, <commit>)``. A
    local file is used even if its sha256 differs from the pin (a warning is logged; the
    returned ``DataFile`` has the actual checksum). A path that is not pinned (a user dataset)
    needs a local folder. Raises ``InputError`` for a missing local file, an unpinned path
    without a local folder, or a failed download.

    >>> locate_ood("../x.conll", ood_dir=".")
    Traceback (most recent call last):
    ...
    rjdb_bench.errors.InputError: ../x.conll: expected a relative path inside the OOD folder, \
like green/nnose/test.conll
    """
    relpath = _normalise(relpath)
    pinned = OOD_FILES.get(relpath)
    if ood_dir is not None:
        return _local_file(Path(ood_dir), relpath, pinned, "from ood_dir")
    env_dir = os.environ.get(OOD_DIR_ENV)
    if env_dir:
        return _local_file(Path(env_dir), relpath, pinned, f"from {OOD_DIR_ENV}")
    if pinned is None:
        raise InputError(
            f"{relpath}: not a pinned OOD file, so it cannot be downloaded; put it in a folder "
            f"given as ood_dir or {OOD_DIR_ENV}"
        )
    return _download_pinned(pinned)


def _normalise(relpath: str) -> str:
    """``relpath`` as a clean POSIX path inside the OOD folder, or an ``InputError``."""
    path = PurePosixPath(str(relpath).replace("\\", "/"))
    if path.is_absolute() or not path.parts or ".." in path.parts:
        raise InputError(
            f"{relpath}: expected a relative path inside the OOD folder, "
            "like green/nnose/test.conll"
        )
    return str(path)


def _local_file(folder: Path, relpath: str, pinned: OODFile | None, how: str) -> DataFile:
    """``folder/relpath`` as a local ``DataFile``; warns if it differs from the pin."""
    file = folder / relpath
    if file.is_dir():
        raise InputError.at(file, f"is a folder, expected an OOD data file ({how})")
    if not file.is_file():
        raise InputError.at(
            file,
            f"OOD file not found ({how}); {OOD_DIR_ENV} must name a folder laid out like "
            "<dataset folder>/<file>, e.g. green/nnose/test.conll",
        )
    sha256 = sha256_file(file)
    if pinned is not None and sha256 != pinned.sha256:
        log.warning(
            "%s: sha256 %s differs from the pinned %s (%s@%s:%s); using the local file",
            file,
            sha256,
            pinned.sha256,
            pinned.repo,
            pinned.commit[:7],
            pinned.upstream_path,
        )
    return DataFile(path=file, sha256=sha256, origin="local", url=None)


def _download_pinned(pinned: OODFile) -> DataFile:
    """Fetch (or find verified in the cache) a pinned file."""
    url = pinned.url()
    dest = cache_dir("data", "ood", pinned.dataset, pinned.commit) / pinned.upstream_path
    path = fetch(url, pinned.sha256, dest, local_hint=f"set {OOD_DIR_ENV} to a local copy")
    return DataFile(path=path, sha256=pinned.sha256, origin="download", url=url)


# --------------------------------------------------------------------------- the manifest


def build_manifest(ood_dir: str | Path) -> dict:
    """The checksum manifest of every pinned file, measured in a local OOD folder.

    Raises ``InputError`` naming the first pinned file missing from ``ood_dir``.
    """
    files = {}
    for _, _, relpath, _ in _layout():
        path = Path(ood_dir) / relpath
        if not path.is_file():
            raise InputError.at(path, "pinned OOD file not found")
        files[relpath] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return {
        "about": f"sha256 and size of every pinned OOD file, by path under the OOD folder; "
        f"{_REGENERATE}",
        "files": files,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m rjdb_bench.data.ood --write-manifest DIR``: rewrite ``ood_manifest.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-manifest", metavar="OOD_DIR", required=True)
    args = parser.parse_args(argv)
    manifest = build_manifest(args.write_manifest)
    with atomic_path(MANIFEST_PATH) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(manifest['files'])} checksums to {MANIFEST_PATH}")


if __name__ == "__main__":
    main()
