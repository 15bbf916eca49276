"""``sarcoma-evidence update`` and ``changes``: living evidence (registered in :mod:`evidence.cli`).

``update PATH...`` ingests new sources the way ``ingest`` does (documents, PubMed XML, CT.gov JSON,
or an ``extract`` output folder), except that a document already in the store with the same text is
skipped; new records start as ``extracted`` and enter the pooled questions only once curated. It
then pools the curated records with the pooling plan's defaults (``meta.pool_table``) and records a
dated snapshot of every question — unless nothing changed since the latest snapshot: then it records
none and says so (a rerun on the same inputs adds nothing). ``update`` without a path re-pools and
snapshots the store as it is (after curation, say).

``changes`` compares a baseline snapshot (``--since``) with the store now, question by question
(:mod:`evidence.changes`), as a table, JSON or CSV.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evidence.changes import changes_frame, diff
from evidence.csv_cells import frame_csv
from evidence.errors import EvidenceError
from evidence.safe_text import escaped
from evidence.snapshots import as_snapshot, current_questions, latest_snapshot, resolve_since, save_snapshot
from evidence.store import Store, resolve_url

_out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
_err = Console(stderr=True, soft_wrap=True)

Db = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store "
                                        "(default: $SARCOMA_EVIDENCE_DB, else sqlite:///evidence.db)")]
FORMATS = ("table", "json", "csv")


def _fail(message: str, code: int = 2) -> None:
    _err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code)


def _store(db: str | None) -> Store:
    url = resolve_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        _fail(f"no store at {url}; build one with `sarcoma-evidence demo` or `ingest`, or pass --db")
    return Store(url)


def _questions(store: Store):
    from evidence.living_plan import certainty_levels, pool_plan

    return current_questions(store, pool_plan, certainty_levels)


def _nothing() -> dict:
    return {"documents": 0, "unchanged": 0, "inserted": 0, "records": 0, "failed": [], "files": 0,
            "failed_documents": 0, "bugs": 0}


def _ingest(store: Store, paths: list[Path]) -> dict:
    """Ingest ``paths`` with the ``ingest`` machinery; returns counts (``inserted`` records, …)."""
    from evidence import cli
    from evidence.bulk import is_extract_folder, load_parquet_folder

    got = _nothing()
    for folder in [p for p in paths if is_extract_folder(p)]:
        counts = load_parquet_folder(store, folder)
        got["inserted"] += counts["inserted"]
        got["records"] += counts["rows"]
        got["files"] += 1
    files = cli._expand([p for p in paths if not is_extract_folder(p)])
    missing = [f for f in files if not f.exists()]
    for f in missing:
        _err.print(f"error: {escaped(f)}: no such file", markup=False, highlight=False)
    files = [f for f in files if f.exists()]
    if files:
        rep = cli.ingest_documents(store, files, skip_unchanged=True)
        for k in ("documents", "unchanged", "inserted", "records"):
            got[k] += getattr(rep, k)
        got["failed"] += sorted(rep.failed_files)
        got["failed_documents"] += rep.failed_documents
        got["bugs"] += rep.bugs
    got["failed"] += [str(f) for f in missing]
    got["files"] += len(files) + len(missing)
    return got


def update(paths: Annotated[list[Path] | None, typer.Argument(
               help="new documents, folders or extract output folders (none: re-pool the store as it is)")] = None,
           db: Db = None,
           note: Annotated[str, typer.Option(help="a note stored with the snapshot")] = ""):
    """New sources in, extract, re-pool, and a dated snapshot of every pooled question."""
    paths = list(paths or [])
    store = _store(db)
    before = latest_snapshot(store)
    try:
        got = _ingest(store, paths) if paths else _nothing()
    except EvidenceError as exc:
        _fail(str(exc))
    if paths and got["failed"] and len(got["failed"]) >= got["files"]:
        _fail("every input failed: " + ", ".join(escaped(f) for f in got["failed"]))
    questions, unassigned = _questions(store)
    now_state = as_snapshot(questions)
    ingested = (f"{got['inserted']} new records (status extracted) from {got['documents']} new documents"
                + (f"; {got['unchanged']} documents already in the store, unchanged" if got["unchanged"] else ""))
    if before is not None and before.fingerprint == now_state.fingerprint:
        _out.print(f"nothing changed: {ingested}; the pooled questions are as in {before.name}; "
                   "no snapshot recorded", markup=False)
    else:
        inputs = [escaped(p) for p in paths]
        snap = save_snapshot(store, questions, note=note, inputs=inputs)
        pooled = sum(1 for q in questions if q.k >= 2)
        waiting = sum(q.waiting for q in questions)
        since = "" if before is None else f"; what changed since #{before.id}: `sarcoma-evidence changes`"
        unused = (f", {unassigned} more that no pooled question uses (arm-level values, no CI, flagged)"
                  if unassigned else "")
        _out.print(f"{ingested}; recorded {snap.name}: {len(questions)} questions ({pooled} pooled, k ≥ 2), "
                   f"{waiting} records waiting for review{unused}{since}", markup=False)
    store.close()
    if got["bugs"]:
        raise typer.Exit(3)  # an unexpected error (named above): as `ingest`
    if got["failed"] or got["failed_documents"]:
        raise typer.Exit(1)


def _table(frame, title: str) -> Table:
    t = Table(title=title)
    for col in ("question", "kind", "k", "before", "after", "what changed", "waiting"):
        t.add_column(col, justify="right" if col in ("k", "waiting") else "left")
    for r in frame.to_dict("records"):  # plain text: names from documents are never read as rich markup
        cells = (r["question"], r["kind"], f"{r['k_before']} → {r['k_after']}", r["shown_before"],
                 r["shown_after"], r["summary"], str(r["waiting_for_review"]))
        t.add_row(*(Text(escaped(c)) for c in cells))
    return t


def changes(db: Db = None,
            since: Annotated[str | None, typer.Option(help="baseline: a snapshot id (3) or a date (YYYY-MM-DD: the "
                                                      "latest snapshot of that day or before); default: the latest "
                                                      "snapshot, or the one before when the store still equals it")]
            = None,
            fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
            out_file: Annotated[Path | None, typer.Option("--out", help="write to FILE (default: stdout)")] = None):
    """What changed in each pooled question since a snapshot (new trials, later reports, estimates,
    flipped conclusions, method thresholds, certainty, records waiting for review)."""
    if fmt not in FORMATS:
        _fail(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if out_file is not None and not out_file.resolve().parent.is_dir():
        _fail(f"--out {out_file}: folder {out_file.resolve().parent} does not exist")
    store = _store(db)
    questions, _ = _questions(store)
    current = as_snapshot(questions)
    try:
        base = resolve_since(store, since, current)
    except EvidenceError as exc:
        _fail(str(exc))
    store.close()
    frame = changes_frame(diff(base, current))
    head = f"What changed since {base.name} — {store.url}"
    if fmt == "table":
        if out_file is not None:
            _fail("--format table prints to the terminal; use --format json or csv with --out")
        _out.print(_table(frame, head))
        _out.print(f"{len(frame)} questions changed or waiting for review", markup=False)
        return
    text = (json.dumps({"since": base.name, "snapshot": base.id, "store": store.url,
                        "changes": frame.to_dict("records")}, ensure_ascii=False, indent=2, default=str) + "\n"
            if fmt == "json" else _csv(frame))
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        _err.print(f"wrote {len(frame)} questions to {out_file}", markup=False)


def _csv(frame) -> str:
    """CSV with list and mapping cells as JSON (as the evidence table's CSV does)."""
    flat = frame.copy()
    for col in ("new_trials", "replaced_reports", "dropped_trials", "keys"):
        flat[col] = [json.dumps(v, ensure_ascii=False) for v in flat[col]]
    return frame_csv(flat)  # formula cells neutralised (evidence.csv_cells)


def register(app: typer.Typer) -> None:
    """Add ``update`` and ``changes`` to the main CLI."""
    app.command("update")(update)
    app.command("changes")(changes)
