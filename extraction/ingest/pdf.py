"""PDF reader (pypdf): the text layer of every page, with page offsets.

Pages are joined with :data:`PAGE_SEPARATOR` (``"\\n\\f\\n"``: a form feed, the conventional page
break of ``pdftotext``, on a line of its own). ``Document.pages`` holds ``(page_number, char_start,
char_end)`` of each page's text, separator excluded; :func:`page_of` maps any offset to its page.
Line ends inside a page are normalised to ``\\n`` as for plain text.

Title is the metadata ``/Title`` when set, else the first non-empty line. Year and DOI are read from
the first page with the plain-text rules (:func:`~extraction.ingest.text.year_from_text`,
:func:`~extraction.ingest.text.doi_from_text`); a PMID or DOI line there becomes the ``source_id``
(:func:`~extraction.ingest.text.header_source_id`).

pypdf reports recoverable problems through ``logging`` and ``PdfReadWarning``; both are captured
while the file is read and listed in ``meta["warnings"]`` instead (the capture swaps global warning
filters, so read PDFs from one thread at a time, or in processes). Anything pypdf raises on a
corrupt file becomes :class:`IngestError` — pypdf raises many exception types on bad input, so the
reader catches them all at the boundary and names the cause.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from extraction.ingest.document import Document, IngestError, PageSpan, file_source_id, page_of
from extraction.ingest.limits import check_document, check_file, limits_from
from extraction.ingest.text import doi_from_text, first_line, header_source_id, normalize_newlines, year_from_text

if TYPE_CHECKING:  # pypdf is imported on the first PDF read: text-only runs start without it
    from pypdf import PdfReader

__all__ = ["PAGE_SEPARATOR", "page_of", "read_pdf"]

PAGE_SEPARATOR = "\n\f\n"
_MAGIC = b"%PDF-"


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


@contextlib.contextmanager
def _captured(sink: list[str]) -> Iterator[None]:
    """Collect pypdf's log messages and warnings into ``sink`` instead of emitting them."""
    logger = logging.getLogger("pypdf")
    handler = _ListHandler(sink)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        sink.extend(str(w.message) for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _reason(exc: BaseException) -> str:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, RecursionError):
        detail = "structure nested too deeply"
    return f"not a readable PDF ({detail})"


def _open(path: str | os.PathLike[str], data: bytes) -> PdfReader:
    if _MAGIC not in data[:1024]:
        raise IngestError(path, "not a readable PDF (no %PDF- header)")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except (DependencyError, NotImplementedError) as exc:
        raise IngestError(path, f"unsupported PDF ({exc})") from None
    except Exception as exc:  # pypdf raises many types on corrupt input; see module docstring
        raise IngestError(path, _reason(exc)) from None
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except (DependencyError, NotImplementedError) as exc:
            raise IngestError(path, f"encrypted PDF that cannot be decrypted here ({exc})") from None
        except Exception as exc:
            raise IngestError(path, _reason(exc)) from None
        if not ok:
            raise IngestError(path, "encrypted PDF (a password is required)")
    return reader


def _page_texts(path: str | os.PathLike[str], reader: PdfReader) -> list[str]:
    from pypdf.errors import FileNotDecryptedError

    try:
        n = len(reader.pages)
    except FileNotDecryptedError:
        raise IngestError(path, "encrypted PDF (a password is required)") from None
    except Exception as exc:
        raise IngestError(path, _reason(exc)) from None
    if n == 0:
        raise IngestError(path, "PDF has no pages")
    texts = []
    limits, size = limits_from(), 0
    for i in range(n):
        try:
            # a NUL is not text (PostgreSQL refuses it): U+FFFD keeps every offset
            texts.append(normalize_newlines(reader.pages[i].extract_text() or "").replace("\x00", "\ufffd"))
        except Exception as exc:  # see module docstring
            raise IngestError(path, f"page {i + 1}: {_reason(exc)}") from None
        size += len(texts[-1])
        check_document(path, size, limits)
    return texts


def _metadata_title(reader: PdfReader) -> str:
    try:
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except Exception:  # a broken /Info dictionary only costs us the title
        return ""
    return " ".join(str(title).split()) if title else ""


def read_pdf(path: str | os.PathLike[str]) -> Document:
    """Read a PDF's text layer into one :class:`Document`.

    Parameters
    ----------
    path : str or os.PathLike
        The file; kept as given in ``Document.source_file``.

    Raises
    ------
    IngestError
        For a corrupt, truncated, encrypted (without an empty user password) or zero-page PDF, and
        for a PDF without extractable text ("no extractable text (scanned PDF? OCR is not
        supported)").

    Examples
    --------
    >>> import tempfile, os
    >>> from fpdf import FPDF
    >>> pdf = FPDF(); pdf.add_page(); pdf.set_font("helvetica", size=12)
    >>> _ = pdf.cell(text="Median OS 13.5 months"); pdf.add_page(); _ = pdf.cell(text="Page two")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "t.pdf"); pdf.output(p); doc = read_pdf(p)
    >>> doc.pages, doc.text[doc.pages[1][1]:doc.pages[1][2]], page_of(doc, 3)
    (((1, 0, 21), (2, 24, 32)), 'Page two', 1)
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from None
    check_file(path, len(data), limits_from())
    captured: list[str] = []
    with _captured(captured):
        reader = _open(path, data)
        texts = _page_texts(path, reader)
        title = _metadata_title(reader)
    if not any(t.strip() for t in texts):
        raise IngestError(path, "no extractable text (scanned PDF? OCR is not supported)")
    pages: list[PageSpan] = []
    pos = 0
    for i, t in enumerate(texts):
        if i:
            pos += len(PAGE_SEPARATOR)
        pages.append((i + 1, pos, pos + len(t)))
        pos += len(t)
    text = PAGE_SEPARATOR.join(texts)
    first = next(t for t in texts if t.strip())
    doi = doi_from_text(first)
    return Document(
        source_id=header_source_id(first) or file_source_id(data),
        source_file=os.fspath(path),
        title=title or first_line(first),
        year=year_from_text(first),
        text=text,
        pages=tuple(pages),
        doi=doi,
        meta={"format": "pdf", "n_pages": len(texts), "warnings": list(dict.fromkeys(captured))},
    )
