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
import itertools
import json
import multiprocessing as mp
import os
import pickle
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spacy.language import Language

from evidence import __version__
from evidence.errors import RecordError
from evidence.schema import FIELDS, validate_record_dict
from evidence.vocabulary import VOCAB

EXTRACTOR = f"sarcoma-evidence-spacy/{__version__}"
_FIELD_SET = frozenset(FIELDS)
_NOT_TRIALS = frozenset({"meta_analysis", "pooled_analysis", "observational"})
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
        rec = dict(st) if _FIELD_SET.issuperset(st) else {k: v for k, v in st.items() if k in _FIELD_SET}
        rec.update(
            source_id=document.source_id, source_file=getattr(document, "source_file", None) or None,
            source_title=(getattr(document, "title", "") or trial.get("title") or None),
            year=getattr(document, "year", None) or trial.get("year"), trial=trial.get("trial") or None,
            design=trial.get("design") or None, registry_ids=list(trial.get("registry_ids") or ()),
            phase=trial.get("phase") or None,
            # a synthesis (meta-analysis, pooled analysis) or a cohort study is not itself a randomised trial
            randomized=None if trial.get("design") in _NOT_TRIALS else False if trial.get("design") == "single_arm"
            else trial.get("randomized"),
            setting=trial.get("setting") or None, line=trial.get("line") or None,
            char_start=cs, char_end=ce, value_start=st["value_start"] + offset,
            value_end=st["value_end"] + offset, evidence_text=text[cs:ce], page=_page(document, cs),
            extractor=EXTRACTOR, status="extracted")
        lo, hi = rec.get("ci_low"), rec.get("ci_high")
        if lo is not None and hi is not None and not lo <= rec["value"] <= hi:
            rec["flags"] = [*rec.get("flags", []), "value_outside_ci"]
        if any(a and a not in VOCAB.agents for f in ("intervention", "comparator")
               for a in str(rec.get(f) or "").split("+")):
            rec["flags"] = [*rec.get("flags", []), "unknown_agent"]
        if trial.get("arm_n_sum"):
            rec["flags"] = [*rec.get("flags", []), "arm_n_sum"]
        try:
            out.append(validate_record_dict(rec))
        except RecordError:
            continue
    return out


def jsonl_line(rec: dict[str, Any]) -> str:
    """A record as one line of JSONL, exactly as :func:`evidence.io.write_records` writes it (fields in
    FIELDS order, datetimes in ISO form, UTF-8 kept), ending in a newline.

    >>> jsonl_line({"source_id": "PMID:1"})[:41]
    '{"record_id": null, "source_id": "PMID:1"'
    """
    r = rec if type(rec) is dict and tuple(rec) == FIELDS else {f: rec.get(f) for f in FIELDS}
    try:  # a record without datetimes (json refuses them: then it is written as below)
        return _JSON.encode(r) + "\n"
    except TypeError:
        pass
    return json.dumps({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()},
                      ensure_ascii=False) + "\n"


#: ``json.dumps(obj, ensure_ascii=False)`` is ``JSONEncoder(ensure_ascii=False).encode(obj)``, kept built;
#: without the circular-reference check (it only turns a self-containing value into an error: a record's
#: values are scalars and lists of strings), which saves a tenth of the encoding time.
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)


def extract_document(nlp: Language, document: Any) -> list[dict[str, Any]]:
    """Evidence records of one document (offsets relative to the whole ``document.text``)."""
    text = document.text or ""
    limit = min(CHUNK_LIMIT, nlp.max_length)
    out: list[dict[str, Any]] = []
    for s, e in chunk_bounds(text, limit, getattr(document, "pages", ()), getattr(document, "sections", ())):
        doc = nlp(text[s:e])
        out.extend(finalize(doc._.statistics or [], document, doc._.trial, offset=s))
    return out


_WORKER_NLP: Language | None = None


def _init_worker(nlp: Language | None) -> None:
    """Pool initializer: build (or receive) the pipeline once per worker process."""
    global _WORKER_NLP
    if nlp is None:
        from extraction.pipeline import build_pipeline

        nlp = build_pipeline()
    _WORKER_NLP = nlp


@dataclass
class _PackedError:
    """An exception whose class cannot be pickled as usual (``__init__`` with other arguments)."""

    cls: type
    args: tuple
    state: dict


def _portable(exc: BaseException) -> Any:
    """``exc`` in a form that crosses the process boundary (:func:`_unpack` restores it)."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        pass
    packed = _PackedError(type(exc), exc.args, dict(vars(exc)))
    try:
        _unpack(pickle.loads(pickle.dumps(packed)))
        return packed
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _unpack(exc: Any) -> BaseException:
    if isinstance(exc, _PackedError):
        out = exc.cls.__new__(exc.cls, *exc.args)
        out.args = exc.args
        out.__dict__.update(exc.state)
        return out
    return exc


#: What extracting one path gives: ``("records", list)``, ``("error", source, exception, fatal)``.
Event = tuple[Any, ...]


def extract_path_events(nlp: Language, path: str, transform: Callable[[dict[str, Any]], Any] | None = None
                        ) -> list[Event]:
    """Records of one input file, in document order, with its failures as events (nothing raised).

    A file that cannot be read gives one ``("error", path, exc, False)``; a document the pipeline fails
    on gives ``("error", source_file, exc, True)`` (*fatal*: raised when there is no ``on_error``); a
    document whose records cannot be finalised gives ``("error", source_file, exc, False)``.
    ClinicalTrials.gov documents (``document.meta["records"]``) are already structured and skip the NLP.
    ``transform``, when given, maps each record (``("records", [transform(r), ...])``).
    """
    path = os.fspath(path)
    try:
        documents = list(read_path(path))
    except Exception as exc:  # a per-file failure must not stop the batch
        return [("error", path, exc, False)]
    out: list[Event] = []
    limit = min(CHUNK_LIMIT, nlp.max_length)
    for document in documents:
        meta = getattr(document, "meta", None)
        if isinstance(meta, dict) and meta.get("records"):
            recs = list(meta["records"])
            out.append(("records", recs if transform is None else [transform(r) for r in recs]))
            continue
        text = document.text or ""
        source = getattr(document, "source_file", None) or path
        for s, e in chunk_bounds(text, limit, getattr(document, "pages", ()), getattr(document, "sections", ())):
            try:
                doc = nlp(text[s:e])
            except Exception as exc:
                out.append(("error", source, exc, True))
                break
            try:
                recs = finalize(doc._.statistics or [], document, doc._.trial, offset=s)
                out.append(("records", recs if transform is None else [transform(r) for r in recs]))
            except Exception as exc:
                out.append(("error", source, exc, False))
                break
    return out


def _worker_task(paths: list[str], transform: Callable[[dict[str, Any]], Any] | None = None
                 ) -> list[list[Event]]:
    assert _WORKER_NLP is not None, "pool worker without a pipeline"
    out = []
    for path in paths:
        events = extract_path_events(_WORKER_NLP, path, transform)
        out.append([ev if ev[0] != "error" else (ev[0], ev[1], _portable(ev[2]), ev[3]) for ev in events])
    return out


def _batches(paths: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for path in paths:
        batch.append(os.fspath(path))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def start_method() -> str:
    """How worker processes start: ``fork`` when this process runs no other thread (a worker is ready
    in milliseconds and shares the built pipeline copy-on-write), else ``spawn`` (a clean interpreter
    that builds its own pipeline in about a second), as forking a threaded process can deadlock."""
    forced = os.environ.get("SARCOMA_EVIDENCE_START_METHOD")
    if forced in ("fork", "spawn", "forkserver"):
        return forced
    if "fork" in mp.get_all_start_methods() and sys.platform.startswith("linux") \
            and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _pool_events(paths: Iterable[str], nlp: Language | None, n_process: int, batch_size: int,
                 transform: Callable[[dict[str, Any]], Any] | None = None) -> Iterator[list[Event]]:
    """Events per path from this process and ``n_process - 1`` worker processes, in input order.

    Tasks are ``batch_size`` paths. A task goes to the workers while fewer than two per worker are
    running there; otherwise this process does it itself, so no core waits while a worker starts
    (:func:`start_method`) and the records made here are never pickled; when all the paths make one
    task, no worker is started. Finished tasks are
    handed on in input order; at most ``_AHEAD`` tasks wait for an earlier one, so a long list of
    files is never read ahead whole. When a worker dies (killed, out of memory), the workers' tasks
    not yet handed on, and all later ones, are done here: nothing is lost and nothing hangs.
    """
    n_workers = n_process - 1
    method = start_method()
    given = nlp
    if nlp is None:
        from extraction.pipeline import build_pipeline

        nlp = build_pipeline()
    local = nlp
    batches = _batches(paths, batch_size)
    head = list(itertools.islice(batches, 2))
    if len(head) < 2:  # one task (or none): done here, without starting a worker
        for path in itertools.chain.from_iterable(head):
            yield extract_path_events(local, path, transform)
        return
    # a forked worker inherits this process's pipeline; a spawned one builds (or unpickles) its own
    pool = ProcessPoolExecutor(n_workers, mp_context=mp.get_context(method), initializer=_init_worker,
                               initargs=(nlp if method == "fork" else given,))
    pending: deque[Any] = deque()  # a finished task's events (list), or (future, paths) of a worker's task
    limit = _AHEAD * n_process
    broken = False

    def ready(item: Any) -> bool:
        return isinstance(item, list) or item[0].done()

    def take() -> list[list[Event]]:
        nonlocal broken
        item = pending.popleft()
        if isinstance(item, list):
            return item
        future, batch = item
        try:
            return future.result()
        except BrokenProcessPool:
            broken = True
            return [extract_path_events(local, path, transform) for path in batch]

    try:
        for batch in itertools.chain(head, batches):
            submitted = False
            if not broken and sum(1 for item in pending if not ready(item)) < 2 * n_workers:
                try:
                    pending.append((pool.submit(_worker_task, batch, transform), batch))
                    submitted = True
                except BrokenProcessPool:
                    broken = True
            if not submitted:
                pending.append([extract_path_events(local, path, transform) for path in batch])
            while pending and (ready(pending[0]) or len(pending) > limit):
                yield from take()
        while pending:
            yield from take()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: Tasks per process that may wait, finished, for an earlier task (bounds memory).
_AHEAD = 8


def extract_paths(paths: Iterable[str], nlp: Language | None = None, *, n_process: int = 1,
                  batch_size: int = 32, on_error: Callable[[str, BaseException], None] | None = None,
                  transform: Callable[[dict[str, Any]], Any] | None = None) -> Iterator[Any]:
    """Stream records for many input files, in input order (the same for any ``n_process``).

    With ``n_process > 1`` the paths go in tasks of ``batch_size`` files to this process and to
    ``n_process - 1`` worker processes (forked with this process's pipeline when it runs no other
    thread, else spawned, each building the pipeline once or unpickling ``nlp`` when given), each
    reading its files and sending back only finished records. Spawned workers import the main
    module: a script calling this with ``n_process > 1`` needs the ``if __name__ == "__main__":``
    guard.

    ``on_error(path, exception)`` is called for a file that cannot be read or processed; the batch goes
    on. Without ``on_error`` a pipeline failure is raised and other failures are skipped.

    ``transform(record)``, when given, is applied to each record where it is made (in the worker
    process), and the stream yields what it returns: a picklable module-level function, e.g. one that
    encodes a record as its output line, so that workers send back text rather than dicts.
    """
    if n_process > 1:
        events: Iterator[list[Event]] = _pool_events(paths, nlp, n_process, max(1, batch_size), transform)
    else:
        if nlp is None:
            from extraction.pipeline import build_pipeline

            nlp = build_pipeline()
        local = nlp
        events = (extract_path_events(local, os.fspath(p), transform) for p in paths)
    for path_events in events:
        for event in path_events:
            if event[0] == "records":
                yield from event[1]
                continue
            _, source, exc, fatal = event
            exc = _unpack(exc)
            if on_error is not None:
                on_error(source, exc)
            elif fatal:
                raise exc
