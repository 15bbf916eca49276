"""Public API: documents in, validated evidence records (dicts with exactly the schema FIELDS) out.

>>> from extraction.pipeline import build_pipeline
>>> nlp = build_pipeline()
>>> doc = SimpleDocument(text="Drug A versus placebo in leiomyosarcoma: a randomised phase 3 trial\\n\\n"
...                           "Overall survival was longer with drug A (HR 0.77, 95% CI 0.62-0.95; p=0.017).",
...                      source_id="file:000000000000", source_file="a.txt")
>>> [r["value"] for r in extract_document(nlp, doc)]
[]
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from evidence import __version__
from evidence.errors import RecordError
from evidence.schema import FIELDS, validate_record

EXTRACTOR = f"sarcoma-evidence-spacy/{__version__}"
#: Texts longer than this are split (spaCy refuses texts over ``nlp.max_length``, 1,000,000 by default).
CHUNK_LIMIT = 900_000


@dataclass
class SimpleDocument:
    """The Document fields extraction needs (used when :mod:`extraction.ingest` is not available)."""

    text: str
    source_id: str
    source_file: str = ""
    title: str = ""
    year: int | None = None
    pages: tuple[tuple[int, int, int], ...] = ()
    sections: tuple[tuple[str, int, int], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def read_text_file(path: str) -> SimpleDocument:
    """A UTF-8 text file as a document; ``source_id`` is ``file:`` + sha256[:12] of the bytes."""
    with open(path, "rb") as fh:
        data = fh.read()
    text = data.decode("utf-8", errors="replace")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return SimpleDocument(text=text, source_id="file:" + hashlib.sha256(data).hexdigest()[:12],
                          source_file=str(path), title=first)


def read_path(path: str) -> Iterator[Any]:
    """Documents of one input file: through :mod:`extraction.ingest` when present, else as UTF-8 text."""
    try:
        from extraction.ingest import read_documents
    except ImportError:  # the ingest package is optional for the pipeline
        yield read_text_file(path)
        return
    yield from read_documents(path)


def chunk_bounds(text: str, limit: int = CHUNK_LIMIT, pages: Iterable[tuple[int, int, int]] = (),
                 sections: Iterable[tuple[str, int, int]] = ()) -> list[tuple[int, int]]:
    """Split ``[0, len(text))`` into pieces of at most ``limit`` characters.

    Cuts prefer page ends, then section ends, then paragraph breaks, then sentence ends, then any
    whitespace; a piece is never empty.

    >>> chunk_bounds("aaaa\\n\\nbbbb\\n\\ncccc", limit=8)
    [(0, 6), (6, 12), (12, 16)]
    """
    n = len(text)
    if n <= limit:
        return [(0, n)]
    preferred = sorted({e for _, _, e in pages} | {e for _, _, e in sections})
    out = []
    start = 0
    while n - start > limit:
        hi = start + limit
        cut = next((p for p in reversed(preferred) if start < p <= hi and p - start > limit // 2), None)
        if cut is None:
            window = text[start + limit // 2:hi]
            for pat in (r"\n\s*\n", r"[.!?]\s", r"\s"):
                ms = list(re.finditer(pat, window))
                if ms:
                    cut = start + limit // 2 + ms[-1].end()
                    break
        if cut is None or cut <= start:
            cut = hi
        out.append((start, cut))
        start = cut
    out.append((start, n))
    return out


def _page(document: Any, offset: int) -> int | None:
    pages = getattr(document, "pages", ()) or ()
    page = None
    for num, s, _e in pages:
        if s <= offset:
            page = num
        else:
            break
    return page


def finalize(stats: list[dict[str, Any]], document: Any, trial: dict[str, Any] | None,
             offset: int = 0) -> list[dict[str, Any]]:
    """Add the source fields to statistic dicts, validate them and return schema-ordered dicts.

    A statistic the schema rejects is dropped (precision first), except a value outside its printed CI,
    which is kept with the ``value_outside_ci`` flag.
    """
    trial = trial or {}
    text = document.text
    out = []
    for st in stats:
        cs, ce = st["char_start"] + offset, st["char_end"] + offset
        rec = {k: v for k, v in st.items() if k in FIELDS}
        rec.update(
            source_id=document.source_id, source_file=getattr(document, "source_file", None) or None,
            source_title=(getattr(document, "title", "") or trial.get("title") or None),
            year=getattr(document, "year", None), trial=trial.get("trial") or None,
            phase=trial.get("phase", ""), randomized=trial.get("randomized"),
            setting=trial.get("setting", ""), line=trial.get("line", ""),
            char_start=cs, char_end=ce, value_start=st["value_start"] + offset,
            value_end=st["value_end"] + offset, evidence_text=text[cs:ce], page=_page(document, cs),
            extractor=EXTRACTOR, status="extracted")
        lo, hi = rec.get("ci_low"), rec.get("ci_high")
        if lo is not None and hi is not None and not lo <= rec["value"] <= hi:
            rec["flags"] = [*rec.get("flags", []), "value_outside_ci"]
        if trial.get("arm_n_sum"):
            rec["flags"] = [*rec.get("flags", []), "arm_n_sum"]
        try:
            out.append(validate_record(rec).to_dict())
        except RecordError:
            continue
    return out


def extract_document(nlp: Language, document: Any) -> list[dict[str, Any]]:
    """Evidence records of one document (offsets relative to the whole ``document.text``)."""
    text = document.text or ""
    limit = min(CHUNK_LIMIT, nlp.max_length)
    out: list[dict[str, Any]] = []
    for s, e in chunk_bounds(text, limit, getattr(document, "pages", ()), getattr(document, "sections", ())):
        doc = nlp(text[s:e])
        out.extend(finalize(doc._.statistics or [], document, doc._.trial, offset=s))
    return out


def _items(paths: Iterable[str], on_error: Callable[[str, BaseException], None] | None,
           docs: dict[int, Any], structured: list[dict[str, Any]]) -> Iterator[tuple[str, tuple[int, int, bool]]]:
    key = 0
    for path in paths:
        try:
            documents = list(read_path(os.fspath(path)))
        except Exception as exc:  # a per-file failure must not stop the batch
            if on_error is not None:
                on_error(os.fspath(path), exc)
            continue
        for document in documents:
            meta = getattr(document, "meta", None)
            if isinstance(meta, dict) and meta.get("records"):
                # ClinicalTrials.gov results are already structured: their records skip the NLP
                structured.extend(document.meta["records"])
                continue
            key += 1
            docs[key] = document
            bounds = chunk_bounds(document.text or "", CHUNK_LIMIT, getattr(document, "pages", ()),
                                  getattr(document, "sections", ()))
            for i, (s, e) in enumerate(bounds):
                yield document.text[s:e], (key, s, i == len(bounds) - 1)


def extract_paths(paths: Iterable[str], nlp: Language | None = None, *, n_process: int = 1,
                  batch_size: int = 32, on_error: Callable[[str, BaseException], None] | None = None
                  ) -> Iterator[dict[str, Any]]:
    """Stream records for many input files with ``nlp.pipe`` (``as_tuples``; ``n_process`` workers).

    ``on_error(path, exception)`` is called for a file that cannot be read or processed; the batch
    goes on. Records of a document are yielded as soon as its last chunk is processed.
    """
    if nlp is None:
        from extraction.pipeline import build_pipeline

        nlp = build_pipeline()
    docs: dict[int, Any] = {}
    structured: list[dict[str, Any]] = []
    stream: Iterator[tuple[Doc, tuple[int, int, bool]]] = nlp.pipe(
        _items(paths, on_error, docs, structured), as_tuples=True, n_process=n_process, batch_size=batch_size)
    for doc, (key, offset, last) in stream:
        if structured:
            yield from structured
            structured.clear()
        document = docs[key]
        try:
            yield from finalize(doc._.statistics or [], document, doc._.trial, offset=offset)
        except Exception as exc:
            if on_error is not None:
                on_error(getattr(document, "source_file", str(key)), exc)
        if last:
            docs.pop(key, None)
    yield from structured  # structured records of files after the last text document
