"""Size limits on untrusted input: decompressed bytes per file and text per document.

A 300 KB gzip can inflate to 300 MB (a "zip bomb"), and one ``<AbstractText>`` can hold all of it;
without a limit the reader holds it in memory and the pipeline chews on it for hours. Every reader
checks two limits and raises :class:`~extraction.ingest.document.IngestError` (one line naming the
file and the limit) when one is passed:

* ``max_document_bytes`` — text of one document (a text file, a PDF's text layer, one PubMed article
  as XML, one CT.gov study as rendered); default 50 MB;
* ``max_file_bytes`` — one input file after decompression; default 1 GB (a PubMed baseline file is
  about 1 GB uncompressed, and is streamed article by article).

Both are set in megabytes (10⁶ bytes) by ``SARCOMA_EVIDENCE_MAX_DOCUMENT_MB`` and
``SARCOMA_EVIDENCE_MAX_FILE_MB`` (read when a file is opened, so worker processes follow the parent).

>>> limits_from({"SARCOMA_EVIDENCE_MAX_DOCUMENT_MB": "2"}).max_document_bytes
2000000
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

from extraction.ingest.document import IngestError

DOCUMENT_ENV = "SARCOMA_EVIDENCE_MAX_DOCUMENT_MB"
FILE_ENV = "SARCOMA_EVIDENCE_MAX_FILE_MB"
DEFAULT_DOCUMENT_MB = 50
DEFAULT_FILE_MB = 1000


@dataclass(frozen=True)
class Limits:
    """Byte limits of one read."""

    max_document_bytes: int = DEFAULT_DOCUMENT_MB * 10**6
    max_file_bytes: int = DEFAULT_FILE_MB * 10**6


def _mb(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default * 10**6
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: must be a number of megabytes") from None
    if not value > 0:
        raise ValueError(f"{name}={raw!r}: must be a positive number of megabytes")
    return int(value * 10**6)


def limits_from(env: Mapping[str, str] | None = None) -> Limits:
    """The limits set in ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    return Limits(_mb(env, DOCUMENT_ENV, DEFAULT_DOCUMENT_MB), _mb(env, FILE_ENV, DEFAULT_FILE_MB))


def too_big(path: str | os.PathLike[str], what: str, size: int, limit: int, env: str) -> IngestError:
    """The error for ``what`` of ``size`` bytes over ``limit``."""
    return IngestError(path, f"{what} exceeds the limit of {limit / 10**6:g} MB ({size / 10**6:.1f} MB read; "
                             f"set {env} to change it)")


def check_document(path: str | os.PathLike[str], size: int, limits: Limits) -> None:
    """Raise when one document's text (``size`` bytes or characters) is over the limit."""
    if size > limits.max_document_bytes:
        raise too_big(path, "text of one document", size, limits.max_document_bytes, DOCUMENT_ENV)


def check_file(path: str | os.PathLike[str], size: int, limits: Limits) -> None:
    """Raise when a file (``size`` bytes) is over the limit."""
    if size > limits.max_file_bytes:
        raise too_big(path, "file", size, limits.max_file_bytes, FILE_ENV)


class LimitedReader:
    """A binary stream that raises :class:`IngestError` once more than the file limit is read, or more
    than the document limit since :meth:`mark` (the end of the last document)."""

    def __init__(self, raw: IO[bytes], path: str, limits: Limits):
        self.raw, self.path, self.limits = raw, path, limits
        self.total = 0
        self.since = 0

    def mark(self) -> None:
        """A document ended here."""
        self.since = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n if n is not None and n >= 0 else 1 << 20)
        self.total += len(data)
        self.since += len(data)
        check_file(self.path, self.total, self.limits)
        check_document(self.path, self.since, self.limits)
        return data

    def close(self) -> None:
        self.raw.close()
