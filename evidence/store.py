"""The evidence store: SQLAlchemy over SQLite (a file, the default) or PostgreSQL (by URL).

Every write is one transaction: an import that fails half-way leaves the store as it was. The schema
is created and upgraded by Alembic migrations (``evidence/migrations``) when a store is opened.

>>> s = Store("sqlite://")
>>> s.count()
0
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import ExceptionContext

from evidence.errors import ConflictError, NotFoundError, StoreBusyError, StoreSchemaError
from evidence.schema import CURATABLE_FIELDS, FIELDS, LIST_FIELDS, EvidenceRecord, validate_record
from evidence.tables import audit_log, records, reviews, sources

DEFAULT_URL = "sqlite:///evidence.db"
#: Seconds a write waits (retrying) for another writer's lock before "the store is busy"
LOCK_TIMEOUT_ENV = "SARCOMA_EVIDENCE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 15.0


def lock_timeout() -> float:
    """The bounded wait for a lock, in seconds (``$SARCOMA_EVIDENCE_LOCK_TIMEOUT``, default 15)."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


def _is_lock_error(exc: BaseException | None) -> bool:
    """SQLite's "database is locked"/"busy", PostgreSQL's lock_not_available (55P03)."""
    if exc is None:
        return False
    if getattr(exc, "sqlstate", None) == "55P03":
        return True
    msg = str(exc).lower()
    return type(exc).__name__ == "OperationalError" and ("database is locked" in msg or "database is busy" in msg)


def _busy(context: ExceptionContext) -> BaseException | None:
    """SQLAlchemy ``handle_error`` hook: a lock wait that ran out becomes :class:`StoreBusyError`."""
    if _is_lock_error(context.original_exception):
        return StoreBusyError()
    return None


def head_revision() -> str:
    """The newest schema revision this program knows."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("evidence") / "migrations"))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def _known_revisions() -> set[str]:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("evidence") / "migrations"))
    return {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}


def resolve_url(url: str | None = None) -> str:
    """The store URL: the argument, else ``$SARCOMA_EVIDENCE_DB``, else ``sqlite:///evidence.db``.

    A bare file path is taken as a SQLite file.
    """
    url = url or os.environ.get("SARCOMA_EVIDENCE_DB") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def now() -> datetime:
    return datetime.now(UTC)


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("evidence") / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (a no-op when it is already there)."""
    with engine.begin() as conn:
        script = ScriptDirectory.from_config(_alembic_config(conn))
        current = MigrationContext.configure(conn).get_current_revision()
        if revision == "head" and current == script.get_current_head():
            return
        _check_known(current)
        command.upgrade(_alembic_config(conn), revision)


def _check_known(current: str | None) -> None:
    """Refuse a store written by a newer program (a schema revision this one does not know)."""
    if current is not None and current not in _known_revisions():
        raise StoreSchemaError(f"the store's schema is at revision {current}, newer than this program "
                               f"supports (revisions up to {head_revision()}); upgrade sarcoma-evidence")


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the store is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def _text(v: Any) -> str | None:
    """A value as stored in the audit log (JSON text; None stays NULL)."""
    return None if v is None else json.dumps(_jsonable(v), ensure_ascii=False)


class Store:
    """A connection to one evidence store.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL (``sqlite:///demo.db``, ``postgresql+psycopg://user@host/db``); see
        :func:`resolve_url` for the default.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True, read_only: bool = False):
        self.url = resolve_url(url)
        self.read_only = read_only
        self.skipped: list[str] = []  # rows the last import_records refused, each with its reason
        kwargs: dict[str, Any] = {"future": True}
        wait = lock_timeout()
        engine_url = self.url
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": wait}  # SQLite's busy handler retries for this long
            if read_only and self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:":
                path = self.url.removeprefix("sqlite:///")
                engine_url = f"sqlite:///file:{path}?mode=ro&uri=true"
        elif self.url.startswith("postgresql"):
            kwargs["connect_args"] = {"options": f"-c lock_timeout={int(wait * 1000)}"
                                      + (" -c default_transaction_read_only=on" if read_only else "")}
        self.engine = create_engine(engine_url, **kwargs)
        event.listen(self.engine, "handle_error", _busy)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_read_only if read_only else _sqlite_pragmas)
        if read_only:
            self._check_read_only_schema()
        elif migrate:
            upgrade(self.engine)

    def _check_read_only_schema(self) -> None:
        """A read-only store must already be at this program's schema (it cannot be migrated)."""
        try:
            current = schema_revision(self.engine)
        except Exception as exc:
            if self.url.startswith("sqlite:///"):  # a WAL file on a read-only file system: open it immutable
                self.engine.dispose()
                path = self.url.removeprefix("sqlite:///")
                self.engine = create_engine(f"sqlite:///file:{path}?immutable=1&uri=true", future=True)
                event.listen(self.engine, "handle_error", _busy)
                current = schema_revision(self.engine)
            else:
                raise StoreSchemaError(f"cannot read the store {self!r} ({type(exc).__name__})") from None
        _check_known(current)
        if current != head_revision():
            raise StoreSchemaError(f"the store's schema is at revision {current}, older than this program's "
                                   f"{head_revision()}, and it is opened read-only so it cannot be upgraded; "
                                   "open it once with write access (e.g. `sarcoma-evidence import`)")

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    # -- sources ----------------------------------------------------------------------------------
    def add_sources(self, docs: Iterable[dict[str, Any]], *, conn: Connection | None = None) -> int:
        """Insert or refresh documents (dicts with source_id, text, title, year, source_file, meta)."""
        rows = [{"source_id": d["source_id"], "source_file": d.get("source_file"),
                 "title": d.get("title"), "year": d.get("year"), "text": d.get("text") or "",
                 "sha256": hashlib.sha256((d.get("text") or "").encode("utf-8")).hexdigest(),
                 "meta": d.get("meta") or {}, "ingested_at": now()} for d in docs]
        if not rows:
            return 0
        with self._tx(conn) as c:
            ids = [r["source_id"] for r in rows]
            have = set(c.scalars(select(sources.c.source_id).where(sources.c.source_id.in_(ids))))
            new = [r for r in rows if r["source_id"] not in have]
            for r in rows:
                if r["source_id"] in have:
                    c.execute(update(sources).where(sources.c.source_id == r["source_id"]).values(**r))
            if new:
                c.execute(insert(sources), new)
        return len(rows)

    def add_source(self, doc: dict[str, Any], *, conn: Connection | None = None) -> str:
        """Store one ingested document under its own identity; returns the source_id it is stored under.

        The document's id (its PMID/DOI header line, or its file hash) is used when no source holds
        it, or when the source holding it has the same text (a re-ingest refreshes it). A source with
        that id and a *different* text is another document claiming the same identity (two texts
        citing one DOI): this one is stored under ``file:`` + the sha256 of its text instead, with
        ``meta["source_id_clash"]`` naming the id it claimed — two documents never share a row.
        """
        text = doc.get("text") or ""
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        sid = doc["source_id"]
        meta = dict(doc.get("meta") or {})
        with self._tx(conn) as c:
            held = c.scalar(select(sources.c.sha256).where(sources.c.source_id == sid))
            if held is not None and held != sha:
                meta["source_id_clash"] = sid
                sid = "file:" + sha[:12]
            row = {"source_id": sid, "source_file": doc.get("source_file"), "title": doc.get("title"),
                   "year": doc.get("year"), "text": text, "sha256": sha, "meta": meta, "ingested_at": now()}
            if c.scalar(select(sources.c.source_id).where(sources.c.source_id == sid)) is None:
                c.execute(insert(sources).values(**row))
            else:
                c.execute(update(sources).where(sources.c.source_id == sid).values(**row))
        return sid

    def source(self, source_id: str) -> dict[str, Any]:
        """One document (text included); :class:`NotFoundError` when absent."""
        with self.engine.connect() as c:
            row = c.execute(select(sources).where(sources.c.source_id == source_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no source {source_id!r} in {self!r}")
        return dict(row)

    def sources_frame(self) -> pd.DataFrame:
        """All documents without their text."""
        cols = [c for c in sources.c if c.name != "text"]
        with self.engine.connect() as c:
            return pd.DataFrame(c.execute(select(*cols)).mappings().all(), columns=[c.name for c in cols])

    # -- records ----------------------------------------------------------------------------------
    def add_records(self, recs: Iterable[EvidenceRecord | dict[str, Any]], *, reviewer: str = "extractor",
                    batch: str | None = None, conn: Connection | None = None) -> dict[str, int]:
        """Store records in one transaction and audit each insert.

        A record already present is refreshed (and each changed field audited, action ``refresh``)
        only while it is still ``extracted``, unedited and unreviewed; a curated record (accepted,
        edited, rejected) or one a reviewer has decided on is never changed by a re-run of the
        extractor. Curated imports go through :meth:`import_records` instead.

        Returns counts ``{"inserted": …, "refreshed": …, "kept_curated": …}``.
        """
        batch = batch or uuid.uuid4().hex[:12]
        counts = {"inserted": 0, "refreshed": 0, "kept_curated": 0}
        validated = [r if isinstance(r, EvidenceRecord) else validate_record(r) for r in recs]
        with self._tx(conn) as c:
            existing = self._existing(c, [r.record_id for r in validated])
            reviewed = self._reviewed(c, list(existing))
            new_rows: dict[str, dict[str, Any]] = {}  # record_id → row, inserted together at the end
            for rec in validated:
                row = _row(rec)
                old = existing.get(rec.record_id)
                if rec.record_id in new_rows:  # a repeat within this batch: the later one wins
                    new_rows[rec.record_id] = {**row, "version": 1, "original": _original(rec), "batch": batch}
                    counts["refreshed"] += 1
                elif old is None:
                    new_rows[rec.record_id] = {**row, "version": 1, "original": _original(rec), "batch": batch}
                    counts["inserted"] += 1
                elif old["status"] == "extracted" and old["version"] == 1 and rec.record_id not in reviewed:
                    row.update(version=1, original=_original(rec), batch=batch)
                    c.execute(update(records).where(records.c.record_id == rec.record_id).values(**row))
                    for k in CURATABLE_FIELDS:  # a refresh is a change too: audited field by field
                        if _jsonable(old.get(k)) != _jsonable(row[k]):
                            self._audit(c, reviewer, rec.record_id, "refresh", k, old.get(k), row[k], batch=batch)
                    counts["refreshed"] += 1
                else:
                    counts["kept_curated"] += 1
            if new_rows:  # one executemany each: bulk loads (extract output folders) stay fast
                ts = now()
                c.execute(insert(records), list(new_rows.values()))
                c.execute(insert(audit_log), [
                    {"at": ts, "reviewer": reviewer, "record_id": rid, "action": "insert", "field": None,
                     "old": None, "new": None, "reason": None, "batch": batch} for rid in new_rows])
        return counts

    def import_records(self, recs: Sequence[EvidenceRecord], *, reviewer: str,
                       batch: str | None = None) -> dict[str, int]:
        """Import curated records (from a file) all-or-nothing; every changed field is audited.

        A record new to the store is inserted as given (its status, reviewer, note kept); a record
        already present takes the imported values, its version is bumped, and each changed field is
        written to the audit log with the importing reviewer and the record's note as reason. A row
        that would undo curation (a curated record imported as ``extracted``, e.g. an old extraction
        file) or change an adjudicated record is skipped and named in ``self.skipped``.
        """
        batch = batch or uuid.uuid4().hex[:12]
        counts = {"inserted": 0, "updated": 0, "unchanged": 0, "skipped": 0}
        self.skipped = []
        with self.engine.begin() as c:
            existing = self._existing(c, [r.record_id for r in recs])
            final = set(c.scalars(select(audit_log.c.record_id).where(audit_log.c.action == "adjudicate")
                                  .where(audit_log.c.record_id.in_(list(existing) or [""]))))
            for rec in recs:
                row = _row(rec)
                old = existing.get(rec.record_id)
                why = _import_refusal(old, rec, rec.record_id in final)
                if why:
                    counts["skipped"] += 1
                    self.skipped.append(f"{rec.record_id}: {why}")
                    continue
                if old is None:
                    row.update(version=1, original=_original(rec), batch=batch)
                    c.execute(insert(records).values(**row))
                    self._audit(c, reviewer, rec.record_id, "import", batch=batch, reason=rec.note)
                    counts["inserted"] += 1
                    continue
                changed = {k: v for k, v in row.items()
                           if k != "updated_at" and _jsonable(old.get(k)) != _jsonable(v)}
                if not changed:
                    counts["unchanged"] += 1
                    continue
                changed["version"] = old["version"] + 1
                c.execute(update(records).where(records.c.record_id == rec.record_id).values(**changed))
                for k, v in changed.items():
                    if k != "version":
                        self._audit(c, reviewer, rec.record_id, "import", k, old.get(k), v,
                                    reason=rec.note, batch=batch)
                counts["updated"] += 1
        return counts

    def _existing(self, c: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for row in c.execute(select(records).where(records.c.record_id.in_(chunk))).mappings():
                out[row["record_id"]] = dict(row)
        return out

    def _reviewed(self, c: Connection, ids: list[str]) -> set[str]:
        """Ids among ``ids`` that a reviewer has decided on (dual review): never refreshed under them."""
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            out.update(c.scalars(select(reviews.c.record_id).where(reviews.c.record_id.in_(ids[i:i + 500]))))
        return out

    def count(self, **where: Any) -> int:
        """Number of records, optionally filtered by equality on columns."""
        q = select(func.count()).select_from(records)
        for k, v in where.items():
            q = q.where(records.c[k] == v)
        with self.engine.connect() as c:
            return int(c.scalar(q) or 0)

    def get(self, record_id: str) -> tuple[EvidenceRecord, int]:
        """A record and its version (for optimistic locking)."""
        with self.engine.connect() as c:
            row = c.execute(select(records).where(records.c.record_id == record_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no record {record_id!r}")
        return _record(row), int(row["version"])

    def original(self, record_id: str) -> dict[str, Any]:
        """The values as first extracted/imported (kept beside any edit)."""
        with self.engine.connect() as c:
            v = c.scalar(select(records.c.original).where(records.c.record_id == record_id))
        if v is None:
            raise NotFoundError(f"no record {record_id!r}")
        return dict(v)

    def records(self, *, status: str | Sequence[str] | None = None, source_id: str | None = None,
                endpoint: str | None = None) -> list[EvidenceRecord]:
        """Records as validated models, ordered by source and position."""
        return [_record(r) for r in self._select(status, source_id, endpoint)]

    def records_frame(self, *, status: str | Sequence[str] | None = None, source_id: str | None = None,
                      endpoint: str | None = None, with_version: bool = False) -> pd.DataFrame:
        """Records as a DataFrame with the schema's columns (lists stay lists)."""
        rows = self._select(status, source_id, endpoint)
        cols = list(FIELDS) + (["version"] if with_version else [])
        return pd.DataFrame([{k: r[k] for k in cols} for r in rows], columns=cols)

    def _select(self, status: Any, source_id: str | None, endpoint: str | None) -> list[dict[str, Any]]:
        q = select(records)
        if status is not None:
            q = q.where(records.c.status.in_([status] if isinstance(status, str) else list(status)))
        if source_id is not None:
            q = q.where(records.c.source_id == source_id)
        if endpoint is not None:
            q = q.where(records.c.endpoint == endpoint)
        q = q.order_by(records.c.source_id, records.c.char_start, records.c.value_start, records.c.record_id)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    # -- curation primitives ----------------------------------------------------------------------
    def update_record(self, record_id: str, changes: dict[str, Any], *, reviewer: str, version: int,
                      reason: str | None = None, status: str | None = None,
                      action: str = "edit", conn: Connection | None = None,
                      extra_fields: Sequence[str] = ()) -> EvidenceRecord:
        """Change fields of one record under optimistic locking, auditing each change.

        ``version`` is the version the reviewer read; if someone saved the record since, a
        :class:`ConflictError` says who changed what, and nothing is written. With ``conn`` the
        change joins the caller's transaction (who commits or rolls back). ``extra_fields`` allows
        fields beyond CURATABLE_FIELDS (the study-level ``year`` and ``source_id``, changed only for a
        whole source by :meth:`evidence.curation.Curation.curate_source`).
        """
        bad = sorted(set(changes) - set(CURATABLE_FIELDS) - set(extra_fields))
        if bad:
            raise ValueError(f"field {bad[0]!r} cannot be curated; curatable: {', '.join(CURATABLE_FIELDS)}")
        with self._tx(conn) as c:
            row = c.execute(select(records).where(records.c.record_id == record_id)).mappings().first()
            if row is None:
                raise NotFoundError(f"no record {record_id!r}")
            current = _record(row)
            ts = now()
            new_status = status or ("edited" if changes else current.status)
            merged = {**current.to_dict(), **changes, "status": new_status, "reviewer": reviewer,
                      "note": reason if reason is not None else current.note, "updated_at": ts,
                      "flags": current.flags}
            rec = validate_record(merged)
            values = {k: v for k, v in _row(rec).items() if _jsonable(row[k]) != _jsonable(v)}
            values["version"] = version + 1
            res = c.execute(update(records).where(records.c.record_id == record_id)
                            .where(records.c.version == version).values(**values))
            if res.rowcount != 1:
                theirs = self._last_change(c, record_id)
                raise ConflictError(
                    f"record {record_id} was changed by {theirs.get('reviewer', 'someone')} at "
                    f"{theirs.get('at', '?')} (version {row['version']}, you read {version}): "
                    f"{theirs.get('summary', '')}; reload it and apply your change again",
                    record_id=record_id, theirs=theirs)
            for k in changes:
                if _jsonable(row[k]) != _jsonable(getattr(rec, k)):
                    self._audit(c, reviewer, record_id, action, k, row[k], getattr(rec, k), reason=reason,
                                at=ts)
            if row["status"] != new_status or not changes:
                self._audit(c, reviewer, record_id, action, "status", row["status"], new_status, reason=reason,
                            at=ts)
        return rec

    def _last_change(self, c: Connection, record_id: str) -> dict[str, Any]:
        rows = c.execute(select(audit_log).where(audit_log.c.record_id == record_id)
                         .order_by(audit_log.c.id.desc()).limit(20)).mappings().all()
        if not rows:
            return {}
        last = rows[0]
        same = [r for r in rows if r["at"] == last["at"] and r["reviewer"] == last["reviewer"]]
        summary = ", ".join(f"{r['field']}: {r['old']} → {r['new']}" for r in same if r["field"])
        return {"reviewer": last["reviewer"], "at": last["at"], "summary": summary,
                "changes": [dict(r) for r in same]}

    def audit(self, record_id: str | None = None) -> pd.DataFrame:
        """The audit log (all of it, or one record's history), oldest first."""
        q = select(audit_log).order_by(audit_log.c.id)
        if record_id is not None:
            q = q.where(audit_log.c.record_id == record_id)
        with self.engine.connect() as c:
            return pd.DataFrame(c.execute(q).mappings().all(), columns=[c.name for c in audit_log.c])

    def _audit(self, c: Connection, reviewer: str, record_id: str, action: str, field: str | None = None,
               old: Any = None, new: Any = None, *, reason: str | None = None,
               batch: str | None = None, at: datetime | None = None) -> None:
        c.execute(insert(audit_log).values(at=at or now(), reviewer=reviewer, record_id=record_id, action=action,
                                           field=field, old=_text(old), new=_text(new), reason=reason,
                                           batch=batch))

    def _tx(self, conn: Connection | None):
        """A transaction of our own, or the caller's (who then commits)."""
        if conn is not None:
            from contextlib import nullcontext
            return nullcontext(conn)
        return self.engine.begin()


def _import_refusal(old: dict[str, Any] | None, rec: EvidenceRecord, adjudicated: bool) -> str:
    """Why an imported row must not replace the stored record ('' when it may)."""
    if old is None:
        return ""
    changed = any(_jsonable(old.get(k)) != _jsonable(v) for k, v in _row(rec).items() if k != "updated_at")
    if not changed:
        return ""
    if adjudicated:
        return "adjudicated: the adjudicator's decision is final (curate it through an adjudication)"
    if old["status"] != "extracted" and rec.status == "extracted":
        return f"would undo curation (stored status {old['status']!r}, imported 'extracted')"
    return ""


def _sqlite_read_only(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _row(rec: EvidenceRecord) -> dict[str, Any]:
    d = rec.to_dict()
    for key in LIST_FIELDS:
        d[key] = list(d[key])
    return d


def _original(rec: EvidenceRecord) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in rec.to_dict().items() if k in CURATABLE_FIELDS or k == "status"}


def _record(row: Any) -> EvidenceRecord:
    d = {k: row[k] for k in FIELDS}
    if d["updated_at"] is not None and d["updated_at"].tzinfo is None:
        d["updated_at"] = d["updated_at"].replace(tzinfo=UTC)  # SQLite drops the zone; we store UTC
    return EvidenceRecord.model_validate(d)
