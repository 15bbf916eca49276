"""The document every reader produces, and the one error every reader raises.

A :class:`Document` is the output of the *ingest* stage (DESIGN.md, "The flow"): an identified text
with the offsets downstream needs to split it (``sections``) and to cite it (``pages``). All offsets
are Python ``str`` indices into ``Document.text``.

>>> doc = Document(source_id="file:0123456789ab", source_file="a.txt", title="A", year=None,
...                text="A\\n\\f\\nB", pages=((1, 0, 1), (2, 4, 5)))
>>> page_of(doc, 0), page_of(doc, 2), page_of(doc, 4), page_of(doc, 99)
(1, 1, 2, None)
"""

from __future__ import annotations

import hashlib
import os
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from evidence.safe_text import escaped

#: A page span: (1-based page number, char_start, char_end) with ``text[char_start:char_end]`` the page.
PageSpan = tuple[int, int, int]
#: A section span: (label, char_start, char_end) with ``text[char_start:char_end]`` the section.
SectionSpan = tuple[str, int, int]


@dataclass(frozen=True)
class Document:
    """One source document, as read from one input file.

    Attributes
    ----------
    source_id : str
        ``PMID:…``, ``DOI:…``, ``NCT…`` or ``file:`` + the first 12 hex digits of the sha256 of the
        file's bytes (DESIGN.md, ``source_id``).
    source_file : str
        The input path as given by the caller (not resolved), so records cite what the user typed.
    title : str
        The document title ("" when the source has none).
    year : int or None
        Publication year when the source states it.
    text : str
        The full text; every offset in ``pages``, ``sections`` and downstream records points into it.
    pages : tuple of (int, int, int)
        For PDFs, ``(page_number, char_start, char_end)`` of each page; empty otherwise.
    sections : tuple of (str, int, int)
        ``(label, char_start, char_end)`` of labelled parts (abstract sections, outcome measures), so a
        long text can be split by section with offsets kept relative to the whole document.
    doi, pmid, nct_id : str or None
        Identifiers found in the source (``doi`` without a ``doi:`` prefix, ``pmid`` digits only).
    meta : dict
        Reader-specific extras (``encoding``, ``journal``, ``mesh``, ``warnings``, …). Not compared and
        not hashed.
    """

    source_id: str
    source_file: str
    title: str
    year: int | None
    text: str
    pages: tuple[PageSpan, ...] = ()
    sections: tuple[SectionSpan, ...] = ()
    doi: str | None = None
    pmid: str | None = None
    nct_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class IngestError(Exception):
    """An input that cannot be read, with a one-line message naming the file.

    Parameters
    ----------
    path : str or os.PathLike
        The input file, as given by the caller.
    reason : str
        What is wrong, human-readable; newlines are folded so the message stays on one line, and the
        path is shown escaped (a newline or control character in a file name cannot forge a log line).

    Examples
    --------
    >>> str(IngestError("trial.pdf", "not a readable PDF (EOF marker not found)"))
    'trial.pdf: not a readable PDF (EOF marker not found)'
    """

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = os.fspath(path)
        self.reason = escaped(" ".join(str(reason).split()))
        super().__init__(f"{escaped(self.path)}: {self.reason}")


def file_source_id(data: bytes) -> str:
    """``file:`` + the first 12 hex digits of the sha256 of ``data``.

    >>> file_source_id(b"")
    'file:e3b0c44298fc'
    """
    return "file:" + hashlib.sha256(data).hexdigest()[:12]


def page_of(doc: Document, offset: int) -> int | None:
    """The page number that holds character ``offset`` of ``doc.text``.

    A page owns its text and the page separator that follows it, so every offset in
    ``[0, len(doc.text))`` maps to a page. Returns None for documents without pages (non-PDF) and
    for offsets outside the text.
    """
    if not doc.pages or offset < 0 or offset >= len(doc.text):
        return None
    starts = [start for _, start, _ in doc.pages]
    i = bisect_right(starts, offset) - 1
    return doc.pages[max(i, 0)][0]
