"""Corpus-scale extraction: the same partition task on a laptop (``local``) or a Dask cluster (``dask``).

:func:`run_extraction` plans partitions (:mod:`extraction.partitions`: one per PubMed baseline file,
chunks of other documents), skips those whose part is already written for the same inputs, runs the
rest with :func:`extraction.worker.process_partition` and keeps ``manifest.json``
(:mod:`extraction.manifest`) up to date as parts finish. The output folder is a partitioned
Parquet dataset in the schema ``evidence.io.ARROW_SCHEMA``::

    out/
      manifest.json
      part-2d9459238b6d8d74.parquet     # one per input partition
      ...

``engine="dask"`` connects to ``scheduler`` (``tcp://host:8786``) or starts a
``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)``; it submits one task per
partition with ``retries=2`` (a task that raises is retried; a partition whose worker dies is
rescheduled by Dask on another worker) and collects them as they complete. Inputs and the output
folder must be visible to every worker under the same path (a shared file system).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "in").mkdir()
>>> _ = (d / "in" / "t.txt").write_text("Eribulin versus dacarbazine in leiomyosarcoma. Median overall "
...                                     "survival was 13.5 months with eribulin.", encoding="utf-8")
>>> m = run_extraction([d / "in"], d / "out")
>>> m.totals()["scanned"], m.totals()["failed"], len(list((d / "out").glob("part-*.parquet")))
(1, 0, 1)
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from evidence import __version__
from extraction.extract import EXTRACTOR
from extraction.manifest import Manifest, PartReport
from extraction.partitions import Partition, file_sha256, plan_partitions
from extraction.worker import PartOptions, process_partition

__all__ = ["ENGINES", "Progress", "run_extraction"]

ENGINES = ("local", "dask")
#: Seconds between manifest rewrites while parts complete (it is always written at the end).
MANIFEST_EVERY = 2.0
#: ``progress(done, total)``: partitions finished (skipped ones included) out of all planned.
Progress = Callable[[int, int], None]
Task = Callable[[Partition, str, PartOptions], dict[str, Any]]


def _digest(path: str) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None  # the task reports the unreadable file


def _checksum(files: Sequence[tuple[str, str | None]], prefilter: bool) -> str:
    """Over the inputs' digests and what shapes the output (extractor version, pre-filter)."""
    h = hashlib.sha256(f"{EXTRACTOR}\nprefilter={prefilter}\n".encode())
    for path, digest in files:
        h.update(f"{os.path.basename(path)}\t{digest}\n".encode())
    return h.hexdigest()


def _failed_report(partition: Partition, options: PartOptions, exc: BaseException) -> PartReport:
    reason = " ".join(f"{type(exc).__name__}: {exc}".split()) or type(exc).__name__
    return PartReport(key=partition.key, part=partition.part, checksum=options.checksum, status="failed",
                      files=[{"path": p, "sha256": d} for p, d in options.files],
                      failures=[{"path": p, "reason": reason} for p in partition.files])


def _superseded(manifest: Manifest, plan: Sequence[Partition], out: Path) -> None:
    """Drop earlier parts whose files are planned again under another key (a folder re-chunked)."""
    planned_keys = {p.key for p in plan}
    planned_files = {os.path.abspath(f) for p in plan for f in p.files}
    for key, rep in list(manifest.parts.items()):
        if key not in planned_keys and any(os.path.abspath(f["path"]) in planned_files for f in rep.files):
            (out / rep.part).unlink(missing_ok=True)
            del manifest.parts[key]


def _remove_stale_temps(out: Path) -> None:
    for tmp in out.glob(".part-*.tmp"):
        tmp.unlink(missing_ok=True)


def run_extraction(inputs: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], engine: str = "local",
                   scheduler: str | None = None, workers: int | None = None, n_process: int = 1,
                   prefilter: bool = True, *, chunk_size: int = 64, batch_size: int = 64,
                   progress: Progress | None = None, task: Task | None = None) -> Manifest:
    """Extract evidence records from many inputs into a partitioned Parquet folder.

    Parameters
    ----------
    inputs : iterable of path-like
        Files and folders (PubMed ``.xml``/``.xml.gz``, PDF, text, ClinicalTrials.gov JSON).
    out_dir : path-like
        Output folder (created): ``part-<hash>.parquet`` per partition and ``manifest.json``.
    engine : {"local", "dask"}
        ``local`` runs partitions one after another in this process (``nlp.pipe`` with
        ``n_process`` processes); ``dask`` runs one task per partition on a Dask cluster.
    scheduler : str, optional
        Address of a running Dask scheduler; without it a ``LocalCluster`` is started (``dask`` only).
    workers : int, optional
        Worker processes of that ``LocalCluster`` (default: CPU count), one thread each.
    n_process : int, default 1
        ``nlp.pipe`` processes per partition (``local`` only).
    prefilter : bool, default True
        Run only documents the sarcoma pre-filter keeps (:mod:`extraction.prefilter`).
    chunk_size, batch_size : int
        Non-PubMed files per partition; ``nlp.pipe`` batch size.
    progress : callable, optional
        ``progress(done, total)`` after each partition (skipped ones count as done at once).
    task : callable, optional
        The per-partition function (default :func:`extraction.worker.process_partition`); it must be
        importable on the workers. An extension point for instrumented runs and tests.

    Returns
    -------
    Manifest
        The folder's manifest after the run; ``last_run`` says how many parts were processed,
        skipped and failed, ``failures`` lists every failed input with its reason.

    Raises
    ------
    ValueError
        For an unknown engine, ``workers < 1`` or ``n_process < 1``.
    """
    if engine not in ENGINES:
        raise ValueError(f"Invalid engine {engine!r}; must be one of {', '.join(ENGINES)}")
    if (workers is not None and workers < 1) or n_process < 1:
        raise ValueError(f"Invalid workers={workers} / n_process={n_process}; must be >= 1")
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(out)
    plan = plan_partitions(inputs, chunk_size=chunk_size)
    manifest = Manifest.read(out) or Manifest(package_version=__version__, extractor=EXTRACTOR)
    manifest.package_version, manifest.extractor = __version__, EXTRACTOR
    _superseded(manifest, plan, out)
    todo: list[tuple[Partition, PartOptions]] = []
    for p in plan:
        files = tuple((f, _digest(f)) for f in p.files)
        opts = PartOptions(prefilter=prefilter, n_process=n_process if engine == "local" else 1,
                           batch_size=batch_size, checksum=_checksum(files, prefilter), files=files)
        old = manifest.parts.get(p.key)
        if old is None or old.status != "done" or old.checksum != opts.checksum or not (out / p.part).exists():
            todo.append((p, opts))
    total, done = len(plan), len(plan) - len(todo)
    if progress is not None:
        progress(done, total)
    run = {"engine": engine, "scheduler": scheduler, "workers": workers, "planned": total, "skipped": done,
           "processed": 0, "failed": 0}

    last_write = 0.0

    def finished(report: PartReport) -> None:
        nonlocal done, last_write
        manifest.parts[report.key] = report
        run["processed"] += 1
        run["failed"] += report.status == "failed"
        if time.monotonic() - last_write >= MANIFEST_EVERY:  # a part not yet listed is redone on rerun
            manifest.last_run = {**run, "seconds": round(time.perf_counter() - started, 3)}
            manifest.write(out)
            last_write = time.monotonic()
        done += 1
        if progress is not None:
            progress(done, total)

    runner = _run_dask if engine == "dask" else _run_local
    if todo:
        runner(todo, str(out), task or process_partition, finished, scheduler=scheduler, workers=workers)
        _remove_stale_temps(out)  # left by workers killed mid-task (their partitions were redone)
    manifest.last_run = {**run, "seconds": round(time.perf_counter() - started, 3)}
    manifest.write(out)
    return manifest


def _run_local(todo: Sequence[tuple[Partition, PartOptions]], out: str, task: Task,
               finished: Callable[[PartReport], None], **_: Any) -> None:
    """Partitions one after another in this process."""
    for partition, opts in todo:
        try:
            report = PartReport.from_dict(task(partition, out, opts))
        except Exception as exc:  # recorded; the other partitions go on
            report = _failed_report(partition, opts, exc)
        finished(report)


def _run_dask(todo: Sequence[tuple[Partition, PartOptions]], out: str, task: Task,
              finished: Callable[[PartReport], None], *, scheduler: str | None, workers: int | None) -> None:
    """One task per partition on a Dask cluster, collected as they complete."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(task, [p for p, _ in todo], [out] * len(todo), [o for _, o in todo],
                             retries=2, pure=False)
        by_key = {f.key: item for f, item in zip(futures, todo, strict=True)}
        for future in as_completed(futures):
            partition, opts = by_key[future.key]
            try:
                report = PartReport.from_dict(future.result())
            except Exception as exc:  # retries exhausted, or KilledWorker: recorded, a rerun retries
                report = _failed_report(partition, opts, exc)
            finished(report)
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
