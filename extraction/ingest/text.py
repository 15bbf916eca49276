"""Plain-text reader: bytes in any common encoding to one :class:`Document`.

Decoding, in order:

1. a UTF-8 BOM, or a UTF-16/32 BOM, decides the encoding (the BOM is dropped);
2. a NUL byte (without a UTF-16/32 BOM) or more than 2 % ASCII control bytes (other than tab, line
   feed, vertical tab, form feed, carriage return and escape) means a binary file;
3. valid UTF-8 is UTF-8;
4. otherwise charset-normalizer picks a legacy encoding (cp1252, latin-1, …); among its equally good
   guesses cp1252 wins, as the literature this project reads is Western European. Nothing decodable
   means a binary file. The encoding used is recorded in ``meta["encoding"]``.

Offsets rule: ``\\r\\n`` and a lone ``\\r`` become ``\\n``; every other character is kept as decoded
(tabs, form feeds, non-breaking spaces, …), so an offset into ``Document.text`` is an offset into
the decoded file with its line ends normalised.

Title is the first non-empty line (stripped). Year and DOI are read only from the head of the file
(first 60 lines), never from a reference list: see :func:`year_from_text` and :func:`doi_from_text`.
The ``source_id`` is the document's own identity: a PMID or DOI *line* of the header
(:func:`header_source_id`), else the file hash — a DOI cited in a sentence is not the document's.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

from charset_normalizer import from_bytes

from extraction.ingest.document import Document, IngestError, file_source_id

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# ASCII control bytes that do not occur in text (tab, LF, VT, FF, CR and ESC do).
_CONTROL_BYTES = bytes([*range(0, 9), 14, *range(16, 27), *range(28, 32), 127])
_MAX_CONTROL_RATIO = 0.02
_HEAD_LINES = 60
_PREFERRED = "cp1252"

_YEAR_LINE = re.compile(
    r"^\s*(?:publication\s+year|year(?:\s+of\s+publication)?|published|publication\s+date|date)\s*[:=]"
    r"\s*(?:\d{1,2}\s+\w+\s+|\w+\s+)?((?:19|20)\d{2})\b", re.IGNORECASE | re.MULTILINE)
# A citation line: "J Clin Oncol. 2016;34(8):786-93" or "Lancet 2012; 379: 1879-86".
# (``(?:19|20)(?<!\w\d\d)`` is ``\b(?:19|20)``, written digit-first so the regex engine skips to 1s and 2s)
_CITATION = re.compile(r"((?:19|20)(?<!\w\d\d)\d{2})(?:\s+\w{3}(?:\s+\d{1,2})?)?\s*;\s*\d+\s*(?:\(\s*\w+\s*\))?\s*:")
# The document's own identifier: a header line that *is* a DOI or PMID line ("doi: 10.…", "https://doi.org/
# 10.…", "PMID: 123"), never a DOI cited inside a sentence ("see doi:…", "Comment on …")
_DOI_LINE = re.compile(r"^[ \t]*(?:doi\s*[:=]?\s*|https?://(?:dx\.)?doi\.org/)(10\.[0-9]{4,9}/[^\s\"<>]+)[ \t]*$",
                       re.IGNORECASE | re.MULTILINE)
_PMID_LINE = re.compile(r"^[ \t]*PMID\s*[:=]?\s*([0-9]{1,9})[ \t.]*$", re.IGNORECASE | re.MULTILINE)
_DOI = re.compile(r"(?:\bdoi\s*[:=]?\s*|https?://(?:dx\.)?doi\.org/)(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def decode_bytes(data: bytes, path: str | os.PathLike[str]) -> tuple[str, str]:
    """Decode a text file's bytes following the module's rules.

    Returns
    -------
    (text, encoding) : tuple of str
        The decoded text (BOM dropped, line ends not yet normalised) and the codec name used.

    Raises
    ------
    IngestError
        "binary file, not text" for NUL bytes, many control bytes or undecodable bytes.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                break
    binary = IngestError(path, "binary file, not text")
    if b"\x00" in data:
        raise binary
    n_control = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if n_control > _MAX_CONTROL_RATIO * len(data):
        raise binary
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise binary
    for m in matches:
        if m.percent_chaos <= best.percent_chaos and _PREFERRED in m.could_be_from_charset:
            return data.decode(_PREFERRED), _PREFERRED
    return str(best), best.encoding


def normalize_newlines(text: str) -> str:
    r"""``\r\n`` and lone ``\r`` to ``\n``; nothing else changes.

    >>> normalize_newlines("a\r\nb\rc\n")
    'a\nb\nc\n'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _head(text: str) -> str:
    end = -1
    for _ in range(_HEAD_LINES):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[:end]


def year_from_text(text: str) -> int | None:
    """A publication year stated in the head of ``text``, else None.

    Only two patterns count: a labelled line (``Year: 2016``, ``Published: 12 March 2016``,
    ``Publication year = 2016``) and a journal citation (``J Clin Oncol. 2016;34(8):786-93``).
    A bare year in prose is ignored: it is as likely an accrual or follow-up date.

    >>> year_from_text("Title\\nJ Clin Oncol. 2016;34(8):786-93\\n"), year_from_text("Enrolled 2009-2012")
    (2016, None)
    """
    head = _head(text)
    low = head.lower()
    # the patterns need one of these words, or both ";" and ":" (a cheap test first: most texts have none)
    m = _YEAR_LINE.search(head) if ("year" in low or "ubl" in low or "date" in low) else None
    if m is None and ";" in head and ":" in head:
        m = _CITATION.search(head)
    return int(m.group(1)) if m else None


def doi_from_text(text: str) -> str | None:
    """The first DOI written as ``doi: 10.…`` or ``https://doi.org/10.…`` in the head of ``text``.

    >>> doi_from_text("Lancet. doi:10.1016/S0140-6736(12)60651-5.\\n")
    '10.1016/S0140-6736(12)60651-5'
    """
    head = _head(text)
    m = _DOI.search(head) if "10." in head and "/" in head else None
    if not m:
        return None
    doi = m.group(1).rstrip(".,;]")
    while doi.endswith(")") and doi.count(")") > doi.count("("):
        doi = doi[:-1].rstrip(".,;]")
    return doi


def _clean_doi(doi: str) -> str:
    doi = doi.rstrip(".,;]")
    while doi.endswith(")") and doi.count(")") > doi.count("("):
        doi = doi[:-1].rstrip(".,;]")
    return doi


def header_source_id(text: str) -> str | None:
    """The document's own id from its header: ``PMID:…`` from a PMID line, else ``DOI:…`` from a DOI line.

    A DOI inside a sentence of the header (a comment citing the paper it comments on) is *not* the
    document's identity: two such documents would share one ``sources`` row.

    >>> header_source_id("A trial\\ndoi: 10.1016/S0140-6736(15)01283-0\\n"), header_source_id("see doi:10.1/x y")
    ('DOI:10.1016/S0140-6736(15)01283-0', None)
    >>> header_source_id("Title\\nPMID: 26874885\\ndoi: 10.1/x\\n")
    'PMID:26874885'
    """
    head = _head(text)
    if "PMID" in head or "pmid" in head.lower():
        m = _PMID_LINE.search(head)
        if m:
            return f"PMID:{int(m.group(1))}"
    if "10." not in head:
        return None
    m = _DOI_LINE.search(head)
    return f"DOI:{_clean_doi(m.group(1))}" if m else None


def first_line(text: str) -> str:
    """The first non-empty line, stripped ("" when there is none)."""
    for line in text.split("\n", _HEAD_LINES)[:_HEAD_LINES]:
        if line.strip():
            return line.strip()
    return ""


def read_text(path: str | os.PathLike[str]) -> Document:
    """Read a plain-text file into one :class:`Document`.

    Parameters
    ----------
    path : str or os.PathLike
        The file; kept as given in ``Document.source_file``.

    Raises
    ------
    IngestError
        For an unreadable, empty (or whitespace-only) or binary file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "a.txt"
    ...     _ = p.write_bytes("Trial of doxorubicin\\r\\nYear: 2014\\r\\n".encode("cp1252"))
    ...     doc = read_text(p)
    >>> doc.title, doc.year, doc.text
    ('Trial of doxorubicin', 2014, 'Trial of doxorubicin\\nYear: 2014\\n')
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from None
    return text_document(path, data)


def text_document(path: str | os.PathLike[str], data: bytes) -> Document:
    """The :class:`Document` of a text file whose bytes are ``data`` (see :func:`read_text`)."""
    text, encoding = decode_bytes(data, path)
    text = normalize_newlines(text)
    if not text.strip():
        raise IngestError(path, "empty file")
    doi = doi_from_text(text)
    return Document(
        source_id=header_source_id(text) or file_source_id(data),
        source_file=os.fspath(path),
        title=first_line(text),
        year=year_from_text(text),
        text=text,
        doi=doi,
        meta={"encoding": encoding, "format": "text"},
    )
