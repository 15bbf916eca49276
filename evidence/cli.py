"""The ``sarcoma-evidence`` command line: the one place that wires all parts together.

Exit codes (DESIGN.md): 0 success; 1 some inputs failed (each named on stderr) while the rest were
processed; 2 the call itself is unusable (bad arguments, a malformed file for ``import``, every input
failed); 3 an unexpected error (a bug): one line, and ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evidence.curation_cli import curate_app
from evidence.errors import EvidenceError, ImportFileError
from evidence.extract_cli import FollowLinks, check_out, err, extract, fail
from evidence.extract_cli import bar_callback as _bar_callback
from evidence.extract_cli import expand_paths as _expand
from evidence.extract_cli import progress as _progress
from evidence.io import FORMATS, read_records, write_records
from evidence.living_cli import register as register_living
from evidence.nma_cli import register as register_nma
from evidence.pool_cli import POOL_DEFAULT_BY, POOL_KEYS, PROGNOSTIC_BY, pool_records  # noqa: F401 - POOL_KEYS re-exported
from evidence.pool_cli import pooled_table as _pooled_table
from evidence.pool_cli import register as register_pool
from evidence.reviewers_cli import reviewers_app
from evidence.sof_cli import register as register_sof
from evidence.store import Store, resolve_url

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn the soft-tissue-sarcoma literature into pooled, auditable evidence.")
app.add_typer(curate_app, name="curate")
app.add_typer(reviewers_app, name="reviewers")
register_living(app)  # update, changes (evidence/living_cli.py)
EXIT_UNEXPECTED = 3
_debug = {"on": False}


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="show the traceback of an unexpected error")]
             = False) -> None:
    """Turn the soft-tissue-sarcoma literature into pooled, auditable evidence."""
    _debug["on"] = debug


app.command("extract")(extract)  # its own light module: `extract` starts without the store (evidence/launcher.py)
register_nma(app)  # nma (evidence/nma_cli.py)
register_sof(app)  # sof (evidence/sof_cli.py)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)  # logs and pipes: wide tables

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store "
                                              "(default: $SARCOMA_EVIDENCE_DB, else sqlite:///evidence.db)")]


def existing_store_url(db: str | None, alternative: str = "--db") -> str:
    """The store URL of ``db``; exit 2 when it names a SQLite file that does not exist (never create one)."""
    url = resolve_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        fail(f"no store at {url}; build one with `sarcoma-evidence demo` or `import`, or pass {alternative}")
    return url


def existing_store(db: str | None) -> Store:
    """The store at ``db`` (see :func:`existing_store_url`), for reading only: opened read-only, without
    migration, when it is at this program's schema (a read-only file or file system still exports)."""
    return read_store(existing_store_url(db))


def read_store(url: str) -> Store:
    """A store to read from: read-only when its schema is current, else opened normally (migrated)."""
    from evidence.errors import StoreSchemaError

    try:
        return Store(url, read_only=True)
    except StoreSchemaError as exc:
        if "newer than this program" in str(exc):
            raise
        return Store(url)


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
    for line in store.skipped:
        err.print(f"skipped {line}", markup=False, highlight=False)
    store.close()
    out.print(f"imported {len(recs)} records from {file} into {store.url}: "
              + ", ".join(f"{v} {k}" for k, v in counts.items()), markup=False)


@app.command()
def export(db: DbOption = None,
           fmt: Annotated[str, typer.Option("--format", help="csv, jsonl, parquet or revman (RevMan 5 "
                                             "inverse-variance CSV of curated hazard ratios)")] = "csv",
           out_file: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")] = None,
           status: Annotated[list[str] | None, typer.Option(help="only these statuses (repeatable)")] = None,
           audit: Annotated[bool, typer.Option("--audit", help="export the audit log (CSV) instead")] = False):
    """Export the evidence table (or, with --audit, the audit log)."""
    check_out(out_file)
    if audit or fmt == "revman":
        from evidence.exports import write_audit, write_revman

        store = existing_store(db)
        target = out_file or sys.stdout
        n = (write_audit(store.audit(), target) if audit
             else write_revman(store.records(status=status or ["accepted", "edited"]), target))
        store.close()
        err.print(f"wrote {n} {'audit rows' if audit else 'RevMan rows (curated HRs with a CI)'}"
                  + (f" to {out_file}" if out_file else ""), markup=False)
        return
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out_file is None:
        fail("--format parquet needs --out FILE")
    store = existing_store(db)
    recs = store.records(status=status or None)
    store.close()
    n = write_records(recs, out_file, fmt, stream=None if out_file else sys.stdout)
    if out_file:
        err.print(f"wrote {n} records to {out_file}", markup=False)


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="documents or folders")],
           db: DbOption = None, follow_links: FollowLinks = False):
    """Documents → the store: each document and its extracted records, one transaction per document.

    Documents are streamed from each file; a file or document that cannot be used is named on stderr
    and the rest stored (evidence/ingest_cli.py). An ``extract`` output folder (part-*.parquet +
    manifest.json) is loaded in batches of records instead."""
    from evidence.bulk import is_extract_folder, load_parquet_folder

    for folder in [p for p in paths if is_extract_folder(p)]:
        paths = [p for p in paths if p != folder]
        with _progress(0, f"loading {folder.name}") as bar:
            bar.unit = "record"
            counts = load_parquet_folder(Store(db), folder, progress=_bar_callback(bar))
        out.print(f"loaded {counts['rows']} records from {counts['parts']} parts of {folder}: "
                  + ", ".join(f"{counts[k]} {k}" for k in ("inserted", "refreshed", "kept_curated")), markup=False)
    if not paths:
        return
    files = _expand(paths, follow_links)
    if not files:
        fail("no input file given")
    store = Store(db)
    rep = ingest_documents(store, files)
    out.print(f"stored {rep.documents} documents and {rep.records} records from {len(files) - len(rep.failed_files)}"
              f" of {len(files)} files in {store.url}"
              + (f"; {rep.failed_documents} documents not stored" if rep.failed_documents else ""), markup=False)
    if rep.exit_code:
        raise typer.Exit(rep.exit_code)


def ingest_documents(store: Store, files: list[Path], *, skip_unchanged: bool = False):
    """Read, extract and store each document, one transaction per document (``ingest``, ``update``).

    With ``skip_unchanged`` a document already in the store with the same text is neither re-extracted nor
    stored again. Returns the :class:`evidence.ingest_cli.IngestReport`; each failure is named on stderr.
    """
    from evidence.ingest_cli import ingest_files
    from extraction.extract import extract_document
    from extraction.pipeline import build_pipeline

    nlp = build_pipeline()
    with _progress(len(files), "ingesting") as bar:
        return ingest_files(files, store, say=lambda line: err.print(line, markup=False, highlight=False),
                            extract=lambda doc: extract_document(nlp, doc), step=lambda: bar.update(1),
                            skip_unchanged=skip_unchanged)


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

    url = resolve_url(db or "sqlite:///demo.db")
    if _same_store(url, resolve_url(None)):
        fail(f"refusing to rebuild the working store {url}; pass another --db")
    is_file = url.startswith("sqlite:///") and url != "sqlite:///:memory:"
    if not _is_demo_store(url):
        if not is_file:
            fail(f"refusing to rebuild {url}: it holds records or curation that are not the demo's; "
                 "pass another --db")
        from datetime import UTC, datetime

        path = Path(url.removeprefix("sqlite:///"))
        kept = path.with_name(f"{path.name}.{datetime.now(UTC):%Y%m%dT%H%M%SZ}.bak")
        Store(url).close()  # checkpoint the WAL into the file before moving it
        path.rename(kept)
        err.print(f"note: {path} held curation that is not the demo's; kept it as {kept}", markup=False)
    if is_file:
        path = Path(url.removeprefix("sqlite:///"))
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
    store = Store(url)
    if store.count():  # a server database that held an earlier demo: start afresh
        fail(f"{url} already holds a demo store; drop and recreate that database, or pass another --db")
    docs = corpus_documents() + corpus_documents(practice=True)  # practice reports: left for the Curation page
    store.add_sources(docs)
    counts = store.import_records(curated_records(), reviewer="demo-curator")
    extracted = _demo_extract(store, docs)
    out.print(_summary_table(store, f"Demo store {store.url}"))
    out.print(f"loaded {len(docs)} documents and {counts['inserted']} curated records into {store.url}; "
              f"the extractor matched {extracted['matched']} of {counts['inserted']} curated values and "
              f"added {extracted['pending']} records for curation", markup=False)
    frame = store.records_frame(status=["accepted", "edited"])
    table = pool_records(frame)
    out.print(_pooled_table(table, POOL_DEFAULT_BY.split(","),
                            f"Pooled estimates (few-study defaults, 95% CI) — {store.url}"))
    from evidence.pool_cli import class_members

    members = class_members(table, POOL_DEFAULT_BY.split(","))
    if members:
        out.print("Comparison classes (evidence/vocab/comparison_classes.json), the trials' real comparisons:",
                  markup=False, highlight=False)
        for line in members:
            out.print("  " + line, markup=False, highlight=False)
    # prognostic-factor questions pool apart from treatment cells (pool --by PROGNOSTIC_BY): adjusted and
    # crude estimates, and HR and RR, never share a question
    prognostic = pool_records(frame, by=PROGNOSTIC_BY.split(","))
    out.print(_pooled_table(prognostic, PROGNOSTIC_BY.split(","),
                            f"Pooled prognostic-factor questions (few-study defaults, 95% CI) — {store.url}"))



def _same_store(a: str, b: str) -> bool:
    """Whether two store URLs name one database (SQLite file paths compared resolved)."""
    if a.startswith("sqlite:///") and b.startswith("sqlite:///"):
        return Path(a.removeprefix("sqlite:///")).resolve() == Path(b.removeprefix("sqlite:///")).resolve()
    return a == b


def _is_demo_store(url: str) -> bool:
    """True when ``url`` holds nothing or only what ``demo`` puts there (safe to rebuild)."""
    from sqlalchemy import create_engine, inspect, text

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return True
    engine = create_engine(url)
    try:
        if "audit_log" not in inspect(engine).get_table_names():
            return not inspect(engine).get_table_names()
        with engine.connect() as c:
            others = c.scalar(text("SELECT count(*) FROM audit_log WHERE reviewer NOT IN "
                                   "('demo-curator', 'extractor')"))
        return not others
    finally:
        engine.dispose()


def _demo_extract(store: Store, docs: list[dict]) -> dict[str, int]:
    """Run the extractor over the bundled texts; store what the curated table lacks as ``extracted``.

    The texts' records get the documents' registry/PMID source ids (the extractor names a text file by
    its checksum). An extracted value that the curated table already holds (same source, endpoint,
    measure, arm, timepoint, value, histotypes) is counted as matched and not stored twice.
    """
    from evidence.corpus import corpus_dir
    from evidence.schema import validate_record
    from extraction.extract import extract_paths

    by_file_id = {d["meta"]["file_id"]: d for d in docs}
    key = lambda r: (r["source_id"], r["endpoint"], r["measure"], r["arm"],  # noqa: E731
                     r.get("timepoint_months"), round(float(r["value"]), 6), tuple(sorted(r["histotypes"])))
    curated = {key(r.to_dict()) for r in store.records(status=["accepted", "edited"])}
    files = [str(corpus_dir() / d["source_file"].removeprefix("texts/")) for d in docs]
    matched, pending = set(), []
    for r in extract_paths(files):
        d = by_file_id.get(r["source_id"])
        if d is not None:
            r.update(source_id=d["source_id"], source_file=d["source_file"], year=d["year"], record_id="",
                     trial=d["meta"]["trial"] or r.get("trial"))
        if key(r) in curated:
            matched.add(key(r))
        else:
            pending.append(validate_record(r))
    store.add_records(pending, reviewer="extractor")
    return {"matched": len(matched), "pending": len(pending)}

# -- pool ------------------------------------------------------------------------------------------
# `pool` lives in evidence/pool_cli.py (the pooling plan's defaults, exclusions, --subgroup)
register_pool(app)


# -- dashboard -------------------------------------------------------------------------------------
@app.command()
def dashboard(db: DbOption = None,
              host: Annotated[str, typer.Option(help="address to bind (default: this machine only; 0.0.0.0 "
                                                     "exposes the dashboard to the network)")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="port of the web server (0: any free port)")] = 8501):
    """Start the Streamlit dashboard on the store (runs until Ctrl+C or SIGTERM); read-only until a
    reviewer signs in."""
    from importlib import resources

    from sqlalchemy.engine import make_url

    from evidence.dashboard_server import free_port, serve, streamlit_command

    url = existing_store_url(db)
    if not 0 <= port < 65536:
        fail(f"--port {port} must lie in 0..65535")
    try:
        port = port or free_port(host)
    except OSError as exc:
        fail(f"--host {host}: cannot bind there ({exc.strerror or exc})")
    app_path = Path(str(resources.files("dashboards") / "app.py"))
    shown = make_url(url).render_as_string(hide_password=True)

    def announce(address: str) -> None:
        out.print(f"dashboard of {shown} at {address}/  (Ctrl+C to stop)", markup=False, highlight=False)
        sys.stdout.flush()

    try:
        code = serve(streamlit_command(app_path, url, host, port), announce,
                     lambda line: err.print(line, markup=False, highlight=False))
    except RuntimeError as exc:
        fail(str(exc))
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point: user-facing errors become one line and exit code 2; anything else
    (a bug) one line, a hint to rerun with ``--debug`` (which prints the traceback) and exit code 3."""
    from evidence.safe_text import one_line

    try:
        app()
    except EvidenceError as exc:
        err.print(f"error: {one_line(str(exc))}", markup=False, highlight=False)
        sys.exit(2)
    except Exception as exc:  # the boundary: no traceback unless asked for
        if _debug["on"] or "--debug" in sys.argv[1:]:
            import traceback

            traceback.print_exc()
        err.print(f"error: unexpected {type(exc).__name__}: {one_line(str(exc))[:300]} (a bug, please report it; "
                  "rerun with --debug for the traceback)", markup=False, highlight=False)
        sys.exit(EXIT_UNEXPECTED)


if __name__ == "__main__":
    main()
