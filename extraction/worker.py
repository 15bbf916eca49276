"""What runs on a worker: one partition of input files → one Parquet part file.

:func:`process_partition` is the task both engines run (in the driver process for ``local``, on a
Dask worker for ``dask``), so the two produce the same parts. It reads the documents of the
partition, keeps those the pre-filter lets through, runs them through the spaCy pipeline with
``nlp.pipe`` and writes the records to a temporary file in the output folder that is ``os.replace``d
onto ``part-<hash>.parquet`` only when complete: a worker killed mid-task never leaves half a part.

The pipeline is built once per process (:func:`get_pipeline` caches it in this module), so a Dask
worker pays the build cost on its first task only.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spacy.language import Language

from evidence.io import write_records
from extraction.extract import CHUNK_LIMIT, chunk_bounds, finalize
from extraction.ingest import IngestError, read_documents
from extraction.manifest import PartReport
from extraction.partitions import Partition
from extraction.prefilter import document_is_relevant

__all__ = ["PartOptions", "extract_stream", "get_pipeline", "process_partition"]

_PIPELINES: dict[tuple[tuple[str, Any], ...], Language] = {}


@dataclass(frozen=True)
class PartOptions:
    """Options of one partition task (picklable, sent with every task).

    Attributes
    ----------
    prefilter : bool
        Run only documents :func:`~extraction.prefilter.document_is_relevant` accepts.
    n_process : int
        ``nlp.pipe`` processes (``local`` engine; 1 on Dask workers, which are processes already).
    batch_size : int
        ``nlp.pipe`` batch size.
    checksum : str
        The partition's checksum, copied into its report.
    files : tuple of (str, str or None)
        ``(path, sha256)`` of the partition's inputs, copied into its report.
    """

    prefilter: bool = True
    n_process: int = 1
    batch_size: int = 64
    checksum: str = ""
    files: tuple[tuple[str, str | None], ...] = ()


def get_pipeline(overrides: dict[str, Any] | None = None) -> Language:
    """The extraction pipeline, built once per process and per set of config overrides."""
    key = tuple(sorted((overrides or {}).items()))
    nlp = _PIPELINES.get(key)
    if nlp is None:
        from extraction.pipeline import build_pipeline

        nlp = _PIPELINES[key] = build_pipeline(dict(key))
    return nlp


def extract_stream(nlp: Language, documents: Iterable[Any], *, n_process: int = 1, batch_size: int = 64,
                   on_error: Callable[[Any, BaseException], None] | None = None) -> Iterator[dict[str, Any]]:
    """Records of many documents through ``nlp.pipe`` (long texts split as :func:`extract_document` does).

    Parameters
    ----------
    nlp : Language
        The extraction pipeline.
    documents : iterable of Document
        Consumed lazily, so a PubMed file streams through without being held in memory.
    n_process, batch_size : int
        Passed to ``nlp.pipe``.
    on_error : callable, optional
        ``on_error(document, exception)`` when a document's statistics cannot be turned into records;
        the stream goes on.

    Yields
    ------
    dict
        Validated records in the schema, in document order.
    """
    pending: dict[int, Any] = {}

    def items() -> Iterator[tuple[str, tuple[int, int, bool]]]:
        for key, document in enumerate(documents):
            text = document.text or ""
            bounds = chunk_bounds(text, min(CHUNK_LIMIT, nlp.max_length), getattr(document, "pages", ()),
                                  getattr(document, "sections", ()))
            pending[key] = document
            for i, (s, e) in enumerate(bounds):
                yield text[s:e], (key, s, i == len(bounds) - 1)

    for doc, (key, offset, last) in nlp.pipe(items(), as_tuples=True, n_process=n_process, batch_size=batch_size):
        document = pending[key]
        try:
            yield from finalize(doc._.statistics or [], document, doc._.trial, offset=offset)
        except Exception as exc:  # one bad document must not sink a 30,000-article partition
            if on_error is None:
                raise
            on_error(document, exc)
        if last:
            pending.pop(key, None)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, IngestError):
        return exc.reason
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def process_partition(partition: Partition, out_dir: str, options: PartOptions) -> dict[str, Any]:
    """Extract one partition into ``out_dir/<partition.part>``; returns its :class:`PartReport` as a dict.

    A file that cannot be read (or breaks midway: the articles before the break are kept) is listed
    in ``failures`` and the partition goes on; any other exception propagates, so the engine can
    retry the task or record the partition as failed.
    """
    started = time.perf_counter()
    counts = {"scanned": 0, "kept": 0}
    failures: list[dict[str, Any]] = []

    def documents() -> Iterator[Any]:
        for path in partition.files:
            try:
                for document in read_documents(path):
                    counts["scanned"] += 1
                    if not options.prefilter or document_is_relevant(document):
                        counts["kept"] += 1
                        yield document
            except IngestError as exc:
                failures.append({"path": path, "reason": _reason(exc)})

    def on_error(document: Any, exc: BaseException) -> None:
        failures.append({"path": getattr(document, "source_file", ""),
                         "source_id": getattr(document, "source_id", ""), "reason": _reason(exc)})

    records = list(extract_stream(get_pipeline(), documents(), n_process=options.n_process,
                                  batch_size=options.batch_size, on_error=on_error))
    folder = Path(out_dir)
    tmp = folder / f".{partition.part}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        write_records(records, tmp, "parquet")
        os.replace(tmp, folder / partition.part)
    finally:
        tmp.unlink(missing_ok=True)
    report = PartReport(key=partition.key, part=partition.part, checksum=options.checksum, status="done",
                        files=[{"path": p, "sha256": d} for p, d in options.files], scanned=counts["scanned"],
                        kept=counts["kept"], extracted=len(records), failures=failures,
                        seconds=round(time.perf_counter() - started, 3))
    return asdict(report)
