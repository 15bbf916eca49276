"""Load an extraction output folder (partitioned Parquet) into the store, in batches.

``sarcoma-evidence extract … --engine dask --out DIR`` writes ``DIR/part-*.parquet`` (schema
``evidence.io.ARROW_SCHEMA``) and ``DIR/manifest.json``. :func:`load_parquet_folder` streams the parts
with pyarrow, ``batch_size`` rows at a time, and stores each batch with :meth:`Store.add_records` in
its own transaction: a failure loses at most the batch in flight, and a rerun is idempotent (a record
already stored is refreshed while still uncurated, a curated one is never overwritten).

Only the parts the manifest lists as ``done`` are read when there is a manifest; otherwise every
``part-*.parquet`` of the folder. Temporary files of an unfinished run (``.part-*.tmp``) are never read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evidence.errors import ImportFileError
from evidence.store import Store

__all__ = ["is_extract_folder", "load_parquet_folder", "part_files"]

MANIFEST_NAME = "manifest.json"


def is_extract_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an extraction output folder (a folder with ``manifest.json`` or part files)."""
    p = Path(path)
    return p.is_dir() and ((p / MANIFEST_NAME).is_file() or any(p.glob("part-*.parquet")))


def part_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The part files to load, in manifest order (else sorted by name).

    Raises
    ------
    ImportFileError
        When the manifest is unreadable or names a part that is missing.
    """
    folder = Path(folder)
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return sorted(folder.glob("part-*.parquet"))
    try:
        parts = json.loads(manifest.read_text(encoding="utf-8"))["parts"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImportFileError(f"{manifest}: not a readable extraction manifest ({exc})") from None
    files = [folder / p["part"] for p in parts if p.get("status") == "done"]
    outside = [str(p["part"]) for p in parts if Path(str(p["part"])).name != str(p["part"])]
    if outside:  # a manifest names files inside its own folder only
        raise ImportFileError(f"{manifest}: part {outside[0]!r} is not a file name inside {folder}")
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ImportFileError(f"{folder}: manifest lists {len(missing)} missing part(s), e.g. {missing[0]}; "
                              "rerun the extraction to rebuild them")
    return files


def load_parquet_folder(store: Store, folder: str | os.PathLike[str], batch_size: int = 5000,
                        progress: Callable[[int, int], None] | None = None, *,
                        reviewer: str = "extractor") -> dict[str, int]:
    """Store every record of an extraction output folder, one transaction per batch.

    Parameters
    ----------
    store : Store
        The target store.
    folder : path-like
        An output folder of :func:`extraction.engine.run_extraction`.
    batch_size : int, default 5000
        Rows per batch (and per transaction); a batch never spans two part files.
    progress : callable, optional
        ``progress(rows_done, rows_total)`` after each batch.
    reviewer : str, default "extractor"
        Who the audit log names for the inserts.

    Returns
    -------
    dict
        ``parts``, ``batches``, ``rows`` and the summed :meth:`Store.add_records` counts
        (``inserted``, ``refreshed``, ``kept_curated``).

    Raises
    ------
    ImportFileError
        For a folder without parts, an unreadable manifest or part file, or ``batch_size < 1``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evidence.io import write_records
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_records([{"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast",
    ...                     "value": 0.77, "ci_low": 0.62, "ci_high": 0.95}], d / "part-0.parquet", "parquet")
    >>> store = Store(f"sqlite:///{d / 'e.db'}")
    >>> load_parquet_folder(store, d)["inserted"]
    1
    >>> load_parquet_folder(store, d)["refreshed"], store.count()
    (1, 1)
    >>> store.close()
    """
    if batch_size < 1:
        raise ImportFileError(f"Invalid batch_size {batch_size}; must be >= 1")
    if not Path(folder).is_dir():
        raise ImportFileError(f"{folder}: not a folder")
    files = part_files(folder)
    if not files:
        raise ImportFileError(f"{folder}: no part-*.parquet files (not an extraction output folder?)")
    try:
        readers = [pq.ParquetFile(f) for f in files]
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFileError(f"{folder}: a part is not a readable Parquet file ({exc})") from None
    total = sum(r.metadata.num_rows for r in readers)
    counts: dict[str, Any] = {"parts": len(files), "batches": 0, "rows": 0, "inserted": 0, "refreshed": 0,
                              "kept_curated": 0}
    if progress is not None:
        progress(0, total)
    for path, reader in zip(files, readers, strict=True):
        try:
            for i, batch in enumerate(reader.iter_batches(batch_size=batch_size)):
                rows = batch.to_pylist()
                got = store.add_records(rows, reviewer=reviewer, batch=f"{path.stem[:50]}:{i}")
                for k, v in got.items():
                    counts[k] = counts.get(k, 0) + v
                counts["batches"] += 1
                counts["rows"] += len(rows)
                if progress is not None:
                    progress(counts["rows"], total)
        finally:
            reader.close()
    return counts
