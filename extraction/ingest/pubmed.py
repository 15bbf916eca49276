"""PubMed XML reader: efetch output and annual baseline files, streamed.

Both are a ``<PubmedArticleSet>`` of ``<PubmedArticle>``; baseline files are gzipped and hold 30k+
articles (up to 1 GB uncompressed). :func:`iter_articles` parses with ``lxml.etree.iterparse`` and
clears each article (and its already-read siblings) once it is turned into a :class:`Document`, so
memory stays flat whatever the file size. ``<PubmedBookArticle>`` entries are skipped.

One Document per article:

* ``source_id`` ``PMID:<pmid>`` (``DOI:…`` if an article has no PMID);
* ``text`` = title + ``"\\n\\n"`` + the abstract paragraphs, separated by ``"\\n\\n"``; a structured
  abstract keeps its labels as ``"Label: text"`` paragraphs; an article without abstract has
  ``text == title``. Inline markup (``<i>``, ``<sup>``…) is flattened and runs of whitespace are
  folded to one space;
* ``sections``: ``("TITLE", …)`` then one span per ``AbstractText`` (its label, or ``"ABSTRACT"``),
  each covering its whole paragraph;
* ``meta``: ``journal``, ``journal_abbrev``, ``mesh`` (descriptor names), ``publication_types``,
  ``keywords``, ``format``; ``warnings`` when a value was left out (a ``<Year>`` that is not one).

Limits (:mod:`~extraction.ingest.limits`): the decompressed bytes of the file and of each article are
counted as they are parsed; past either limit the reader raises :class:`IngestError`.

Broken input (truncated file, malformed XML, corrupt gzip): the articles parsed before the break are
yielded, then :class:`IngestError` is raised ("…: malformed XML at line N: <lxml message>"). The
caller decides whether to keep what it got.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterator
from typing import IO

from lxml import etree

from extraction.ingest.document import Document, IngestError, SectionSpan, file_source_id
from extraction.ingest.limits import LimitedReader, limits_from

_GZIP_MAGIC = b"\x1f\x8b"
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
#: Years outside this range are not publication years (a 20-digit <Year> is hostile input)
YEAR_RANGE = (1500, 2999)
_NCT = re.compile(r"NCT\d{8}")
_POSITION = re.compile(r",\s*line \d+, column \d+\s*$")


def _flat(elem: etree._Element | None) -> str:
    """All text under ``elem`` (inline markup flattened), whitespace folded."""
    if elem is None:
        return ""
    return " ".join("".join(elem.itertext()).split())


def _as_year(text: str | None) -> int | None:
    """A ``<Year>`` text as a year: ASCII digits only (``²⁰¹⁶`` is not a year) within :data:`YEAR_RANGE`."""
    t = (text or "").strip()
    if not (t.isascii() and t.isdigit() and len(t) <= 4):
        return None
    year = int(t)
    return year if YEAR_RANGE[0] <= year <= YEAR_RANGE[1] else None


def _year(article: etree._Element, warnings: list[str]) -> int | None:
    pub = article.find("Journal/JournalIssue/PubDate")
    candidates = []
    if pub is not None:
        candidates.append(pub.findtext("Year"))
        m = _YEAR.search(pub.findtext("MedlineDate") or "")
        if m:
            candidates.append(m.group())
    candidates.append(article.findtext("ArticleDate/Year"))
    for raw in candidates:
        if raw is None or not raw.strip():
            continue
        year = _as_year(raw)
        if year is not None:
            return year
        warnings.append(f"year {raw.strip()[:40]!r} is not a publication year; left empty")
    return None


def _doi(elem: etree._Element, article: etree._Element | None) -> str | None:
    for node in elem.iterfind("PubmedData/ArticleIdList/ArticleId"):
        if node.get("IdType") == "doi" and (node.text or "").strip():
            return node.text.strip()
    if article is not None:
        for node in article.iterfind("ELocationID"):
            if node.get("EIdType") == "doi" and (node.text or "").strip():
                return node.text.strip()
    return None


def _nct_id(article: etree._Element | None) -> str | None:
    if article is None:
        return None
    for bank in article.iterfind("DataBankList/DataBank"):
        if (bank.findtext("DataBankName") or "").strip() == "ClinicalTrials.gov":
            for acc in bank.iterfind("AccessionNumberList/AccessionNumber"):
                m = _NCT.search(acc.text or "")
                if m:
                    return m.group()
    return None


def article_document(elem: etree._Element, source_file: str) -> Document:
    """Turn one ``<PubmedArticle>`` element into a :class:`Document`."""
    citation = elem.find("MedlineCitation")
    article = citation.find("Article") if citation is not None else None
    pmid = (citation.findtext("PMID") or "").strip() if citation is not None else ""
    title = _flat(article.find("ArticleTitle")) if article is not None else ""
    if not title and article is not None:
        title = _flat(article.find("VernacularTitle"))
    parts = [title]
    sections: list[SectionSpan] = [("TITLE", 0, len(title))]
    pos = len(title)
    for node in article.iterfind("Abstract/AbstractText") if article is not None else ():
        body = _flat(node)
        if not body:
            continue
        label = (node.get("Label") or "").strip()
        para = f"{label}: {body}" if label else body
        pos += 2
        sections.append((label or "ABSTRACT", pos, pos + len(para)))
        parts.append(para)
        pos += len(para)
    text = "\n\n".join(parts)
    doi = _doi(elem, article)
    if pmid:
        source_id = f"PMID:{pmid}"
    elif doi:
        source_id = f"DOI:{doi}"
    else:
        source_id = file_source_id(etree.tostring(elem))
    warnings: list[str] = []
    year = _year(article, warnings) if article is not None else None
    meta: dict[str, object] = {"format": "pubmed"}
    if warnings:
        meta["warnings"] = warnings
    if article is not None:
        meta["journal"] = _flat(article.find("Journal/Title"))
        meta["journal_abbrev"] = _flat(article.find("Journal/ISOAbbreviation"))
        meta["publication_types"] = [_flat(p) for p in article.iterfind("PublicationTypeList/PublicationType")]
    if citation is not None:
        meta["mesh"] = [_flat(d) for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")]
        meta["keywords"] = [_flat(k) for k in citation.iterfind("KeywordList/Keyword")]
    return Document(
        source_id=source_id, source_file=source_file, title=title,
        year=year, text=text, sections=tuple(sections),
        doi=doi, pmid=pmid or None, nct_id=_nct_id(article), meta=meta,
    )


def _open(path_or_fileobj: str | os.PathLike[str] | IO[bytes]) -> tuple[IO[bytes], str, list[IO[bytes]]]:
    """(binary stream, name, streams we opened and must close) — gunzipping gzip content."""
    opened: list[IO[bytes]] = []
    if hasattr(path_or_fileobj, "read"):
        stream = path_or_fileobj
        name = str(getattr(stream, "name", "<stream>"))
    else:
        name = os.fspath(path_or_fileobj)
        try:
            stream = open(name, "rb")  # closed by iter_articles' finally
        except OSError as exc:
            raise IngestError(name, f"cannot read file ({exc.strerror or exc})") from None
        opened.append(stream)
    peek = getattr(stream, "peek", None)
    head = peek(2)[:2] if peek else b""
    if head == _GZIP_MAGIC or (not peek and name.endswith(".gz")):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
        opened.insert(0, stream)
    # decompressed bytes are counted: a gzip bomb stops at the file or the article limit
    limited = LimitedReader(stream, name, limits_from())
    return limited, name, opened


def iter_articles(path_or_fileobj: str | os.PathLike[str] | IO[bytes]) -> Iterator[Document]:
    """Stream the articles of a PubMed XML file (plain or gzipped) as Documents.

    Parameters
    ----------
    path_or_fileobj : str, os.PathLike or binary file object
        A path (``.xml`` or ``.xml.gz``; gzip is recognised by content) or an open binary stream.

    Yields
    ------
    Document
        One per ``<PubmedArticle>``, in file order.

    Raises
    ------
    IngestError
        After yielding every article before the break, for malformed or truncated XML or a corrupt
        gzip stream; or when the file holds no ``<PubmedArticle>`` at all.
    """
    stream, name, opened = _open(path_or_fileobj)
    count = 0
    try:
        parser = etree.iterparse(stream, events=("end",), tag="PubmedArticle",
                                 resolve_entities=False, no_network=True, huge_tree=True)
        try:
            for _, elem in parser:
                doc = article_document(elem, name)
                stream.mark()
                elem.clear(keep_tail=True)
                parent = elem.getparent()
                if parent is not None:
                    while elem.getprevious() is not None:
                        del parent[0]
                count += 1
                yield doc
        except etree.XMLSyntaxError as exc:
            line = exc.position[0] if exc.position else exc.lineno
            msg = _POSITION.sub("", exc.msg or str(exc))
            raise IngestError(name, f"malformed XML at line {line}: {msg}") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(name, f"corrupt or truncated gzip stream ({exc})") from None
    finally:
        for f in opened:
            f.close()
    if count == 0:
        raise IngestError(name, "no <PubmedArticle> records (not PubMed XML?)")


def read_pubmed(path: str | os.PathLike[str]) -> Iterator[Document]:
    """Read a PubMed XML file; same as :func:`iter_articles` on a path."""
    return iter_articles(path)
