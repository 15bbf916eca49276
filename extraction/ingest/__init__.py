"""Ingest: one reader per source format, each turning an input file into :class:`Document` objects.

:func:`read_documents` picks the reader by content first, then by extension:

======================  ==========================================  ===================================
format                  recognised by                               reader
======================  ==========================================  ===================================
PDF                     ``%PDF-`` in the first 1 KB, or ``.pdf``    :func:`~.pdf.read_pdf`
PubMed XML (efetch,     gzip magic, ``<PubmedArticleSet``/          :func:`~.pubmed.iter_articles`
annual baseline)        ``<PubmedArticle`` in the head, ``.xml``,   (streamed, one Document per article)
                        ``.xml.gz``
ClinicalTrials.gov v2   ``.json``, or a head starting with ``{``    :func:`~.ctgov.read_ctgov`
study JSON              that mentions ``protocolSection`` or        (records in ``meta["records"]``)
                        ``studies``
plain text              everything else                             :func:`~.text.read_text`
======================  ==========================================  ===================================

Every reader raises :class:`IngestError` (one line, naming the file) for input it cannot use, and
nothing else; a streamed PubMed file yields the articles before a break and then raises. Input past
the size limits of :mod:`~extraction.ingest.limits` (50 MB of text per document, 1 GB per file after
decompression, by default) is refused the same way.

The PDF, PubMed and ClinicalTrials.gov readers (pypdf, lxml) are imported on first use, so that a run
over text files does not load them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from extraction.ingest.document import Document, IngestError, page_of
from extraction.ingest.limits import check_document, check_file, limits_from
from extraction.ingest.text import read_text, text_document

__all__ = ["SUPPORTED", "Document", "IngestError", "iter_articles", "page_of", "read_documents", "read_text",
           "records_from_study", "sniff_format"]

#: Supported formats: name → how it is recognised (for ``--help`` texts and error messages).
SUPPORTED: dict[str, str] = {
    "pdf": "PDF with a text layer (%PDF- header or .pdf); scanned PDFs need OCR first",
    "pubmed": "PubMed XML from efetch or the annual baseline (.xml, .xml.gz)",
    "ctgov": "ClinicalTrials.gov API v2 study JSON, one study or {\"studies\": [...]} (.json)",
    "text": "plain text in UTF-8 or a legacy encoding (anything else)",
}

_HEAD = 4096
#: Names this package offers from the readers imported on first use.
_LAZY = {"iter_articles": "pubmed", "records_from_study": "ctgov"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"extraction.ingest.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The format name (a key of :data:`SUPPORTED`) for ``path``, by content then extension.

    Raises
    ------
    IngestError
        When the file cannot be opened.
    """
    return _sniff(path, keep_text=False)[0]


def _sniff(path: str | os.PathLike[str], *, keep_text: bool) -> tuple[str, bytes]:
    """The format of ``path`` and, for a text file when ``keep_text``, all its bytes (read once)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
            fmt = _format_of(path, head)
            if fmt == "pubmed":  # streamed, counted as it inflates (extraction.ingest.limits)
                return fmt, b""
            size = os.fstat(fh.fileno()).st_size
            limits = limits_from()
            check_file(path, size, limits)
            if fmt == "text":
                check_document(path, size, limits)  # one text file is one document
            return fmt, (head + fh.read() if keep_text and fmt == "text" else b"")
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from None


def _format_of(path: str | os.PathLike[str], head: bytes) -> str:
    name = os.fspath(path).lower()
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x1f\x8b") or b"<PubmedArticle" in head:
        return "pubmed"
    if stripped.startswith(b"{") and (b'"protocolSection"' in head or b'"studies"' in head):
        return "ctgov"
    for ext, fmt in ((".pdf", "pdf"), (".xml", "pubmed"), (".xml.gz", "pubmed"), (".json", "ctgov")):
        if name.endswith(ext):
            return fmt
    return "text"


def read_documents(path: str | os.PathLike[str]) -> Iterator[Document]:
    """Yield the Documents of one input file, whatever its format (see :data:`SUPPORTED`).

    Parameters
    ----------
    path : str or os.PathLike
        The input file; ``Document.source_file`` keeps it as given.

    Yields
    ------
    Document
        One for a PDF or a text file; one per article (PubMed) or per study (ClinicalTrials.gov).

    Raises
    ------
    IngestError
        For any input that cannot be read — and only IngestError.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "note.txt"
    ...     _ = p.write_text("Eribulin in liposarcoma\\n", encoding="utf-8")
    ...     [doc.title for doc in read_documents(p)]
    ['Eribulin in liposarcoma']
    """
    fmt, data = _sniff(path, keep_text=True)
    if fmt == "pdf":
        from extraction.ingest.pdf import read_pdf

        yield read_pdf(path)
    elif fmt == "pubmed":
        from extraction.ingest.pubmed import iter_articles

        yield from iter_articles(path)
    elif fmt == "ctgov":
        from extraction.ingest.ctgov import read_ctgov

        yield from read_ctgov(path)
    else:
        yield text_document(path, data)
