"""Split extraction inputs into partitions: the unit of work, of output and of resumption.

A PubMed file (``.xml``/``.xml.gz``: one annual-baseline file holds ~30,000 articles) is a partition
of its own; other documents (PDF, text, ClinicalTrials.gov JSON) are grouped, folder by folder in
sorted order, into chunks of ``chunk_size`` files. Each partition has a stable ``key`` (its file, or
``<folder>[<first>..<last>]``), the name of its output part (``part-<sha256(key)[:16]>.parquet``)
and a checksum over its inputs' SHA-256 digests, which decides whether a finished part is still
current.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("a.txt", "b.txt", "c.txt", "pubmed24n0001.xml.gz"):
...     _ = (d / name).write_bytes(b"x")
>>> [len(p.files) for p in plan_partitions([d], chunk_size=2)]
[1, 2, 1]
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Partition", "expand_inputs", "file_sha256", "is_pubmed_file", "part_name", "plan_partitions"]

_BLOCK = 1 << 20


@dataclass(frozen=True)
class Partition:
    """One unit of work.

    Attributes
    ----------
    key : str
        Stable identity: the absolute path of a PubMed file, or ``<folder>[<first>..<last>]`` (absolute
        folder) for a chunk of other documents. Moving the inputs elsewhere makes new partitions.
    files : tuple of str
        The input paths, as given by the caller (records cite them as ``source_file``).
    """

    key: str
    files: tuple[str, ...]

    @property
    def part(self) -> str:
        """File name of the partition's output part."""
        return part_name(self.key)


def part_name(key: str) -> str:
    """``part-<first 16 hex digits of sha256(key)>.parquet``.

    >>> part_name("baseline/pubmed24n0001.xml.gz")
    'part-2d9459238b6d8d74.parquet'
    """
    return f"part-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}.parquet"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def is_pubmed_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is PubMed XML by its name (``.xml``, ``.xml.gz``): one partition per file."""
    name = os.fspath(path).lower()
    return name.endswith((".xml", ".xml.gz"))


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files named, folders expanded to their files (recursively, sorted, hidden files skipped).

    Paths keep the form the caller gave (a relative folder yields relative paths).
    """
    files: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files.extend(str(f) for f in sorted(p.rglob("*"))
                         if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts))
        else:
            files.append(os.fspath(item))
    return files


def _chunk_key(folder: str, chunk: Sequence[str]) -> str:
    first, last = os.path.basename(chunk[0]), os.path.basename(chunk[-1])
    return f"{folder or '.'}[{first}..{last}]"


def plan_partitions(inputs: Iterable[str | os.PathLike[str]], chunk_size: int = 64) -> list[Partition]:
    """Partitions for the given files and folders, in input order.

    Parameters
    ----------
    inputs : iterable of path-like
        Files and folders (folders are expanded, see :func:`expand_inputs`).
    chunk_size : int, default 64
        Number of non-PubMed documents per partition.

    Returns
    -------
    list of Partition
        One per PubMed file, then chunks of the other files grouped by folder; a file named twice is
        planned once.

    Raises
    ------
    ValueError
        When ``chunk_size < 1``.
    """
    if chunk_size < 1:
        raise ValueError(f"Invalid chunk_size {chunk_size}; must be >= 1")
    seen: set[str] = set()
    pubmed: list[Partition] = []
    by_folder: dict[str, list[str]] = {}
    for f in expand_inputs(inputs):
        norm = os.path.abspath(f)
        if norm in seen:
            continue
        seen.add(norm)
        if is_pubmed_file(f):
            pubmed.append(Partition(key=norm, files=(f,)))
        else:
            by_folder.setdefault(os.path.dirname(norm), []).append(f)
    chunks = [Partition(key=_chunk_key(folder, files[i:i + chunk_size]), files=tuple(files[i:i + chunk_size]))
              for folder, files in by_folder.items() for i in range(0, len(files), chunk_size)]
    return pubmed + chunks
