"""``sarcoma-evidence curate …``: reviewers' commands (registered in :mod:`evidence.cli`).

Single-reviewer mode changes the record at once; ``--dual`` records an independent decision that
changes the record only when both reviewers agree (:mod:`evidence.curation`). Lists print as
tab-separated text (header first), so they can be piped to ``cut`` or read by a spreadsheet. A
conflict (someone saved the record since you read it) or a refused step prints one line on stderr
and exits with code 2.

Every step that writes (accept, edit, reject, adjudicate) needs a reviewer account
(``sarcoma-evidence reviewers add NAME``): the password is asked at a terminal, else read from
``$SARCOMA_EVIDENCE_REVIEWER_PASSWORD``; the audit log carries the account's name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console

from evidence.curation import DECISIONS, STUDY_FIELDS, Curation, study_values
from evidence.errors import EvidenceError
from evidence.field_values import parse_assignments
from evidence.reviewers_cli import signed_in
from evidence.store import Store, resolve_url

curate_app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                         help="Reviewers: pending records, accept/edit/reject, conflicts, adjudication, history.")
_err = Console(stderr=True, soft_wrap=True)

Db = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store "
                                        "(default: $SARCOMA_EVIDENCE_DB, else sqlite:///evidence.db)")]
RecordId = Annotated[str, typer.Argument(help="the record's id (see `curate pending`)")]
Reviewer = Annotated[str, typer.Option("--reviewer", help="your reviewer account (password: asked at a terminal, "
                                        "else $SARCOMA_EVIDENCE_REVIEWER_PASSWORD)")]
Name = Annotated[str, typer.Option("--reviewer", help="whose pending records to list")]
Version = Annotated[int | None, typer.Option("--version", help="the version you read (from `curate pending`); "
                                             "a newer one in the store is a conflict")]
Reason = Annotated[str | None, typer.Option("--reason", help="why (required for edit, reject, adjudicate)")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="field=value, repeatable (e.g. --set value=0.78)")]
Dual = Annotated[bool, typer.Option("--dual", help="record an independent (blinded) review instead of "
                                    "changing the record")]

PENDING_COLUMNS = ("record_id", "version", "source_id", "trial", "endpoint", "measure", "arm", "value", "ci_low",
                   "ci_high", "n", "intervention", "comparator", "histotypes", "flags", "evidence_text")


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn a refused step, a conflict or a bad value into one stderr line and exit code 2."""
    try:
        yield
    except (EvidenceError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _err.print(f"error: {msg}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def _tsv(frame: pd.DataFrame) -> None:
    def cell(v: Any) -> str:
        if isinstance(v, list | tuple):
            return ",".join(map(str, v))
        return "" if v is None or (isinstance(v, float) and v != v) else " ".join(str(v).split())

    sys.stdout.write("\t".join(frame.columns) + "\n")
    for row in frame.itertuples(index=False):
        sys.stdout.write("\t".join(cell(v) for v in row) + "\n")


def _run(db: str | None, step: Callable[[Curation], Any], account: str | None = None) -> Any:
    """Run ``step`` on the store; with ``account``, only once that reviewer has signed in. A SQLite
    store that does not exist is an error (exit 2): curating never creates an empty store."""
    url = resolve_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        _err.print(f"error: no store at {url}; pass --db URL (or set $SARCOMA_EVIDENCE_DB), or build one with "
                   "`sarcoma-evidence demo` or `import`", markup=False, highlight=False)
        raise typer.Exit(2)
    with _one_line_errors():
        store = Store(url)
        try:
            if account is not None:
                signed_in(store, account)
            return step(Curation(store))
        finally:
            store.close()


def _done(rec: Any, what: str) -> None:
    _err.print(f"{what} {rec.record_id}: status {rec.status}, reviewer {rec.reviewer}", markup=False)


@curate_app.command()
def pending(reviewer: Name, source: Annotated[str | None, typer.Option("--source", help="only this source")]
            = None, db: Db = None):
    """Records still waiting for REVIEWER (never another reviewer's choices)."""
    frame = _run(db, lambda cur: cur.pending(reviewer, source))
    _tsv(frame[list(PENDING_COLUMNS)])
    _err.print(f"{len(frame)} records pending for {reviewer}", markup=False)


def _decide(db: str | None, record_id: str, decision: str, reviewer: str, reason: str | None,
            sets: list[str] | None, version: int | None, dual: bool) -> None:
    def step(cur: Curation) -> None:
        values = parse_assignments(sets or [])
        if dual:
            r = cur.review(record_id, decision, reviewer=reviewer, values=values, reason=reason, version=version)
            _err.print(f"recorded {reviewer}'s decision on {r.record_id}: {r.decision} (blinded until both "
                       "reviewers finish the source)", markup=False)
        elif decision == "accepted":
            _done(cur.accept(record_id, reviewer=reviewer, version=version), "accepted")
        elif decision == "rejected":
            _done(cur.reject(record_id, reviewer=reviewer, reason=reason, version=version), "rejected")
        else:
            _done(cur.edit(record_id, values, reviewer=reviewer, reason=reason, version=version), "edited")

    _run(db, step, account=reviewer)


@curate_app.command()
def accept(record_id: RecordId, reviewer: Reviewer, version: Version = None, dual: Dual = False, db: Db = None):
    """Accept a record as extracted."""
    _decide(db, record_id, "accepted", reviewer, None, None, version, dual)


@curate_app.command()
def reject(record_id: RecordId, reviewer: Reviewer, reason: Reason = None, version: Version = None,
           dual: Dual = False, db: Db = None):
    """Reject a record (kept with status rejected; a reason is required)."""
    _decide(db, record_id, "rejected", reviewer, reason, None, version, dual)


@curate_app.command()
def edit(record_id: RecordId, reviewer: Reviewer, sets: Sets = None, reason: Reason = None,
         version: Version = None, dual: Dual = False, db: Db = None):
    """Correct values of a record (the extracted ones are kept; a reason is required)."""
    _decide(db, record_id, "edited", reviewer, reason, sets, version, dual)


@curate_app.command()
def conflicts(source: Annotated[str | None, typer.Option("--source", help="only this source")] = None,
              db: Db = None):
    """Disagreements between the two reviewers of finished sources (one line per field)."""
    frame = _run(db, lambda cur: cur.conflicts(source))
    _tsv(frame)
    _err.print(f"{frame['record_id'].nunique()} records in conflict", markup=False)


@curate_app.command()
def adjudicate(record_id: RecordId,
               adjudicator: Annotated[str, typer.Option("--adjudicator", help="your reviewer account (password as "
                                                         "for --reviewer)")],
               decision: Annotated[str, typer.Option("--decision", help=" | ".join(DECISIONS))],
               sets: Sets = None, reason: Reason = None, version: Version = None, db: Db = None):
    """Decide a record for good (final; audited as 'adjudicate')."""
    def step(cur: Curation) -> None:
        rec = cur.adjudicate(record_id, decision, parse_assignments(sets or []), adjudicator, reason,
                             version=version)
        _done(rec, "adjudicated")

    _run(db, step, account=adjudicator)


@curate_app.command("source")
def source_(source_id: Annotated[str, typer.Argument(help="the source whose records all get the values")],
            reviewer: Reviewer,
            sets: Annotated[list[str], typer.Option("--set", help=f"field=value, repeatable; fields: "
                                                    f"{', '.join(STUDY_FIELDS)} (e.g. --set trial='EORTC 62012')")],
            reason: Reason = None, db: Db = None):
    """Set study-level fields (trial, year, source_id, registry_ids) once for every record of a source."""
    def step(cur: Curation) -> None:
        texts = {}
        for item in sets:
            field, sep, text = item.partition("=")
            if not sep:
                raise ValueError(f"--set {item!r}: write field=value, e.g. year=2014")
            texts[field.strip()] = text
        recs = cur.curate_source(source_id, study_values(texts), reviewer=reviewer, reason=reason)
        _err.print(f"source {source_id}: {len(recs)} records now carry {', '.join(sorted(texts))}", markup=False)

    _run(db, step, account=reviewer)


@curate_app.command()
def history(record_id: RecordId, db: Db = None):
    """Everything that happened to a record, oldest first."""
    frame = _run(db, lambda cur: cur.history(record_id))
    _tsv(frame[["at", "reviewer", "action", "field", "old", "new", "reason"]])
