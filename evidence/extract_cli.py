"""The ``extract`` command, in a module of its own so that it starts fast.

``sarcoma-evidence extract`` goes through :mod:`evidence.launcher`, which imports this module and not
:mod:`evidence.cli`: the extract path needs neither the store (SQLAlchemy, Alembic) nor pandas. The
command is also registered on :data:`evidence.cli.app`, so ``sarcoma-evidence --help`` lists it.
``--processes`` defaults to the machine's cores (``os.sched_getaffinity``, else ``os.cpu_count``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


#: ``--processes`` default: every core this process may run on.
DEFAULT_PROCESSES = _cores()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    """Print one clear line on stderr and exit with ``code``."""
    err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code)


def check_out(out_file: Path | None) -> None:
    """Exit 2 before any work when ``--out`` cannot be written (its folder is missing)."""
    if out_file is not None and not Path(out_file).resolve().parent.is_dir():
        fail(f"--out {out_file}: folder {Path(out_file).resolve().parent} does not exist")


FollowLinks = Annotated[bool, typer.Option("--follow-links", help="follow symbolic links met inside folders "
                                           "(default: skip them)")]


def expand_paths(paths: list[Path], follow_links: bool = False) -> list[Path]:
    """Files named on the command line, folders expanded to their files (:mod:`evidence.inputs`: links inside
    folders skipped unless ``follow_links``, hidden files skipped; each skipped link named, escaped)."""
    from evidence.inputs import expand_paths as walk
    from evidence.safe_text import escaped

    def skipped(path: Path, reason: str) -> None:
        err.print(f"note: {escaped(path)}: {reason}", markup=False, highlight=False)

    return walk(paths, follow_links=follow_links, on_skip=skipped)


def progress(total: int, desc: str):
    """A tqdm bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    # no monitor thread: extraction workers are forked only from a process without other threads
    tqdm.monitor_interval = 0
    return tqdm(total=total, desc=desc, unit="file", file=sys.stderr, disable=None, dynamic_ncols=True)


def bar_callback(bar):
    """A ``progress(done, total)`` callback that drives a tqdm bar."""
    def update(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()
    return update


def _extract_folder(paths: list[Path], out_dir: Path | None, engine: str, scheduler: str | None,
                    workers: int | None, n_process: int) -> None:
    """``extract --engine dask`` or ``--format parquet --out DIR``: a partitioned Parquet folder + manifest."""
    from extraction.engine import run_extraction

    if out_dir is None or (out_dir.exists() and not out_dir.is_dir()):
        fail("--engine dask and --format parquet write a folder: give --out DIR (not a file)")
    with progress(0, "extracting") as bar:
        bar.unit = "part"
        try:
            manifest = run_extraction(paths, out_dir, engine=engine, scheduler=scheduler, workers=workers,
                                      n_process=n_process, progress=bar_callback(bar))
        except (ValueError, OSError) as exc:
            fail(str(exc))
    for f in manifest.failures:
        err.print(f"error: {f['path']}: {f['reason']}", markup=False, highlight=False)
    t = manifest.totals()
    err.print(f"{t['extracted']} records from {t['kept']} of {t['scanned']} documents kept by the pre-filter; "
              f"{t['done']} of {t['parts']} parts in {out_dir} (manifest.json)", markup=False)
    if manifest.failed_paths:
        raise typer.Exit(2 if len(manifest.failed_paths) >= len(manifest.inputs) else 1)


def extract(paths: Annotated[list[Path], typer.Argument(help="documents or folders: text, PDF, PubMed XML, "
                                                        "ClinicalTrials.gov JSON")],
            out_file: Annotated[Path | None, typer.Option("--out", help="FILE (jsonl/csv) or DIR (parquet)")] = None,
            fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet")] = None,
            n_process: Annotated[int, typer.Option(
                "--processes", help="processes that run the pipeline, this one included (default: the machine's cores)"
            )] = DEFAULT_PROCESSES,
            engine: Annotated[str, typer.Option("--engine", help="local or dask (dask writes a Parquet folder)")]
            = "local",
            scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler ADDRESS "
                                                          "(default: a LocalCluster)")] = None,
            workers: Annotated[int | None, typer.Option("--workers", help="LocalCluster worker processes")] = None,
            follow_links: FollowLinks = False):
    """Documents → evidence records (stdout JSONL by default)."""
    from evidence.io import FORMATS, write_records
    from extraction.extract import extract_paths, jsonl_line

    if engine not in ("local", "dask"):
        fail(f"unknown engine {engine!r}; choose local or dask")
    if engine == "dask" and fmt not in (None, "parquet"):
        fail("--engine dask writes a Parquet folder; use --format parquet --out DIR")
    if engine == "dask" or (fmt == "parquet" and out_file is not None and out_file.suffix.lower() != ".parquet"):
        _extract_folder(paths, out_file, engine, scheduler, workers, n_process)
        return
    check_out(out_file)
    fmt = fmt or (Path(out_file).suffix.lstrip(".") if out_file and Path(out_file).suffix else "jsonl")
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    from evidence.safe_text import escaped, one_line

    files = expand_paths(paths, follow_links)
    if not files or not any(f.exists() for f in files):
        fail("no input file: " + (", ".join(map(escaped, files)) or "none given"))
    failed: list[str] = []

    def on_error(path: object, exc: BaseException) -> None:
        failed.append(str(path))
        msg = one_line(str(exc))
        named = escaped(str(path))
        err.print(f"error: {msg if msg.startswith(named) else f'{named}: {msg}'}", markup=False, highlight=False)

    # JSONL: each record is encoded where it is made (in the worker processes too), so that workers send
    # back lines rather than dicts and this process only writes them (the lines write_records would write)
    transform = jsonl_line if fmt == "jsonl" else None
    recs = []
    with progress(len(files), "extracting") as bar:
        def counted():  # the bar moves as extract_paths takes the next file
            for i, f in enumerate(files):
                if i:
                    bar.update(1)
                yield str(f)
            bar.update(1)

        for rec in extract_paths(counted(), n_process=n_process, on_error=on_error, transform=transform):
            recs.append(rec)
    if fmt == "parquet" and out_file is None:
        fail("--format parquet needs --out FILE")
    if transform is None:
        write_records(recs, out_file, fmt, stream=None if out_file else sys.stdout)
    elif out_file is None:
        sys.stdout.writelines(recs)
    else:
        with open(out_file, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(recs)
    err.print(f"{len(recs)} records from {len(files) - len(failed)} of {len(files)} files", markup=False)
    if failed:
        raise typer.Exit(2 if len(failed) == len(files) else 1)
