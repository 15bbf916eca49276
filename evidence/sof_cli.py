"""``sarcoma-evidence sof``: GRADE summary-of-findings tables of the pooled questions (DOCX or CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

_err = Console(stderr=True, soft_wrap=True)
DEFAULT_BY = "histotype,intervention,comparator,endpoint,measure,setting,line"  # evidence.questions.QUESTION_BY


def sof(out: Annotated[Path, typer.Option("--out", help="FILE.docx or FILE.csv")],
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store")] = None,
        by: Annotated[str, typer.Option("--by", help="grouping keys of a question, comma-separated")] = DEFAULT_BY,
        title: Annotated[str, typer.Option(help="the table's title (DOCX)")] = "Summary of findings"):
    """A GRADE summary-of-findings table: per pooled question the relative and absolute effect and certainty."""
    from evidence.cli import existing_store, fail
    from evidence.grading import Judgements
    from evidence.sof import sof_rows, write_csv, write_docx
    from meta import pool_table

    suffix = out.suffix.lower()
    if suffix not in (".docx", ".csv"):
        fail(f"--out {out}: write a .docx or a .csv file")
    if not out.resolve().parent.is_dir():
        fail(f"--out {out}: folder {out.resolve().parent} does not exist")
    keys = [k.strip() for k in by.split(",") if k.strip()]
    store = existing_store(db)
    records = store.records_frame(status=["accepted", "edited"])
    from evidence.comparison_classes import plan_options

    pooled = pool_table(records, by=keys, studies=True, **plan_options()) if len(records) else records
    rows = sof_rows(records, pooled, keys, Judgements(store))
    store.close()
    n = write_docx(rows, out, title=title) if suffix == ".docx" else write_csv(rows, out)
    _err.print(f"wrote {n} summary-of-findings rows (pooled questions with k ≥ 2) to {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``sof`` to the CLI."""
    app.command("sof")(sof)
