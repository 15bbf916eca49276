"""The ``sarcoma-evidence`` command line: the one place that wires all parts together.

Exit codes (DESIGN.md): 0 success; 1 some inputs failed (each named on stderr) while the rest were
processed; 2 the call itself is unusable (bad arguments, a malformed file for ``import``, every input
failed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evidence.errors import EvidenceError, ImportFileError
from evidence.io import FORMATS, read_records, write_records
from evidence.store import Store, resolve_url

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn the soft-tissue-sarcoma literature into pooled, auditable evidence.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store "
                                              "(default: $SARCOMA_EVIDENCE_DB, else sqlite:///evidence.db)")]


def fail(message: str, code: int = 2) -> None:
    """Print one clear line on stderr and exit with ``code``."""
    err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code)


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="CSV, JSONL or Parquet of curated records")],
            db: DbOption = None,
            fmt: Annotated[str | None, typer.Option("--format", help=f"one of {', '.join(FORMATS)}")] = None,
            reviewer: Annotated[str, typer.Option(help="who is importing (for the audit log)")] = "import"):
    """Import curated records into the store: all rows or none."""
    try:
        recs = read_records(file, fmt)
    except ImportFileError as exc:
        fail(str(exc))
    store = Store(db)
    counts = store.import_records(recs, reviewer=reviewer)
    out.print(f"imported {len(recs)} records from {file} into {store.url}: "
              + ", ".join(f"{v} {k}" for k, v in counts.items()), markup=False)


@app.command()
def export(db: DbOption = None,
           fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet")] = "csv",
           out_file: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")] = None,
           status: Annotated[list[str] | None, typer.Option(help="only these statuses (repeatable)")] = None):
    """Export the evidence table."""
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out_file is None:
        fail("--format parquet needs --out FILE")
    store = Store(db)
    recs = store.records(status=status or None)
    n = write_records(recs, out_file, fmt, stream=None if out_file else sys.stdout)
    if out_file:
        err.print(f"wrote {n} records to {out_file}", markup=False)


def _summary_table(store: Store, title: str) -> Table:
    df = store.records_frame()
    t = Table(title=title)
    for col in ("source", "trial", "records", "endpoints", "status"):
        t.add_column(col)
    if df.empty:
        return t
    for sid, g in df.groupby("source_id", sort=True):
        t.add_row(str(sid), str(g["trial"].dropna().iloc[0]) if g["trial"].notna().any() else "",
                  str(len(g)), ", ".join(sorted(g["endpoint"].unique())),
                  ", ".join(f"{k} {v}" for k, v in g["status"].value_counts().sort_index().items()))
    return t


@app.command()
def demo(db: DbOption = None):
    """Build the bundled corpus end to end into ./demo.db (never the working store)."""
    from evidence.corpus import corpus_documents, curated_records

    url = db or "sqlite:///demo.db"
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
    elif url == resolve_url(None):
        fail(f"refusing to rebuild the working store {url}; pass another --db")
    store = Store(url)
    docs = corpus_documents()
    store.add_sources(docs)
    counts = store.import_records(curated_records(), reviewer="demo-curator")
    out.print(_summary_table(store, f"Demo store {store.url}"))
    out.print(f"loaded {len(docs)} documents and {counts['inserted']} curated records into {store.url}",
              markup=False)


def main() -> None:
    """Console-script entry point: user-facing errors become one line and exit code 2."""
    try:
        app()
    except EvidenceError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
