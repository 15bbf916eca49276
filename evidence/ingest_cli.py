"""``sarcoma-evidence ingest``: documents → the store, one document at a time, one transaction each.

A batch of downloaded documents is untrusted input, and one hostile file must never stop it:

* documents are streamed from each file (a 30,000-article baseline file is never held as a list);
* a file or a document that cannot be used — unreadable, over a size limit, a lone surrogate or a
  NUL character in its text, an id longer than the store holds — gives one ``error:`` line naming
  the file (escaped, :mod:`evidence.safe_text`) and the reason; the rest of the batch is stored;
* a document claiming an id that another stored text already holds is stored under its own text
  hash, flagged (:meth:`evidence.store.Store.add_source`);
* an unexpected exception in one file is named the same way and the batch goes on, but the exit code
  says a bug was met (3).

Exit codes: 0 all stored; 1 some files or documents failed; 2 every file failed; 3 a bug was met.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from evidence.errors import EvidenceError, RecordError, StoreBusyError
from evidence.safe_text import escaped, one_line
from evidence.schema import validate_record
from evidence.store import Store
from evidence.tables import sources

#: Longest source id the store holds (``sources.source_id`` is ``String(200)``; PostgreSQL enforces it)
MAX_SOURCE_ID = sources.c.source_id.type.length or 200
CLASH_FLAG = "source_id_clash"


@dataclass
class IngestReport:
    """What one ingest run did."""

    files: int = 0
    failed_files: set[str] = field(default_factory=set)
    documents: int = 0
    records: int = 0
    failed_documents: int = 0
    bugs: int = 0
    inserted: int = 0  # records new to the store
    unchanged: int = 0  # documents skipped because the store holds the same text (``skip_unchanged``)

    @property
    def exit_code(self) -> int:
        if self.bugs:
            return 3
        if self.failed_files and len(self.failed_files) >= self.files:
            return 2
        return 1 if self.failed_files or self.failed_documents else 0


def unstorable(values: dict[str, Any]) -> str:
    """Why a document (or record) cannot be stored as it is ('' when it can)."""
    sid = values.get("source_id") or ""
    if len(sid) > MAX_SOURCE_ID:
        return f"source id of {len(sid)} characters ({sid[:40]}…); the store holds at most {MAX_SOURCE_ID}"
    for k, v in values.items():
        for s in v if isinstance(v, list | tuple) else [v]:
            if not isinstance(s, str):
                continue
            if "\x00" in s:
                return f"{k} holds a NUL character, which is not text"
            try:
                s.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"{k} holds a lone surrogate (U+{ord(s[exc.start]):04X}), which is not text"
    return ""


def _db_reason(exc: SQLAlchemyError) -> str:
    """A database error in one line, without the SQL statement."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"the store refused it ({type(orig).__name__}: {first[:200]})"


def ingest_files(files: Sequence[Path], store: Store, *, say: Callable[[str], None],
                 extract: Callable[[Any], list[dict[str, Any]]], step: Callable[[], None] = lambda: None,
                 skip_unchanged: bool = False) -> IngestReport:
    """Store every document of ``files`` with its records; ``say`` prints one stderr line.

    ``extract(document)`` gives a document's records (ClinicalTrials.gov documents bring theirs in
    ``meta["records"]``). :class:`~evidence.errors.StoreBusyError` is not caught: a locked store stops
    the run with the one message that says so. With ``skip_unchanged`` (``update``), a document whose
    text the store already holds under its id is skipped and counted in ``unchanged``.
    """
    from extraction.ingest import IngestError, read_documents

    rep = IngestReport(files=len(files))
    for f in files:
        name = escaped(f)
        try:
            for doc in read_documents(f):
                if skip_unchanged and _stored_unchanged(store, doc):
                    rep.unchanged += 1
                    continue
                _ingest_document(doc, name, store, say, extract, rep)
        except IngestError as exc:
            rep.failed_files.add(str(f))
            say(f"error: {exc}")
        except (StoreBusyError, KeyboardInterrupt):
            raise
        except EvidenceError as exc:
            rep.failed_files.add(str(f))
            say(f"error: {name}: {one_line(str(exc))}")
        except Exception as exc:  # a reader bug: named, the batch goes on, the exit code says so
            rep.failed_files.add(str(f))
            rep.bugs += 1
            say(f"error: {name}: unexpected {type(exc).__name__}: {one_line(str(exc))[:300]} "
                "(a bug, please report it; rerun with --debug for the traceback)")
        step()
    return rep


def _stored_unchanged(store: Store, doc: Any) -> bool:
    """Whether the store holds this document's text under its id already."""
    import hashlib

    from sqlalchemy import select

    with store.engine.connect() as conn:
        sha = conn.scalar(select(sources.c.sha256).where(sources.c.source_id == doc.source_id))
    return sha is not None and sha == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()


def _ingest_document(doc: Any, name: str, store: Store, say: Callable[[str], None],
                     extract: Callable[[Any], list[dict[str, Any]]], rep: IngestReport) -> None:
    where = f"{name}: {escaped(doc.source_id[:60])}"
    source = {"source_id": doc.source_id, "source_file": doc.source_file, "title": doc.title,
              "year": doc.year, "text": doc.text, "meta": {k: v for k, v in doc.meta.items() if k != "records"}}
    why = unstorable({k: v for k, v in source.items() if k != "meta"})
    if why:
        rep.failed_documents += 1
        say(f"error: {where}: {why}; not stored")
        return
    if doc.meta.get("format") == "pubmed":
        for w in doc.meta.get("warnings") or ():
            say(f"warning: {where}: {one_line(str(w))}")
    try:
        recs = list(doc.meta.get("records") or extract(doc))
    except Exception as exc:  # the pipeline failed on this document: named, the others go on
        rep.failed_documents += 1
        say(f"error: {where}: extraction failed ({type(exc).__name__}: {one_line(str(exc))[:200]}); not stored")
        return
    try:
        with store.engine.begin() as conn:
            sid = store.add_source(source, conn=conn)
            if sid != doc.source_id:
                say(f"warning: {where}: another stored document has this id with a different text; "
                    f"stored as {sid} (flagged {CLASH_FLAG})")
                plain = [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in recs]
                recs = [validate_record({**r, "source_id": sid, "record_id": "",
                                         "flags": [*(r.get("flags") or []), CLASH_FLAG]}) for r in plain]
            rep.inserted += store.add_records(recs, conn=conn)["inserted"]
    except StoreBusyError:
        raise
    except RecordError as exc:
        rep.failed_documents += 1
        say(f"error: {where}: {one_line(str(exc))}; not stored")
        return
    except SQLAlchemyError as exc:
        rep.failed_documents += 1
        say(f"error: {where}: {_db_reason(exc)}; not stored")
        return
    rep.documents += 1
    rep.records += len(recs)
