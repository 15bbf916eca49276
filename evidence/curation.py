"""Curation for review teams: single-reviewer decisions, blinded dual extraction, adjudication.

Every record starts ``extracted`` (the extractor counts as the first extractor) and ends
``accepted``, ``edited`` or ``rejected``; nothing is deleted (a rejection is a state) and every
change lands in the append-only audit log. An edit keeps the extracted value beside the curated
one (``Store.original``) and needs a reason; so does a rejection.

Two ways to work:

* **single reviewer** (small teams): :meth:`Curation.accept`, :meth:`~Curation.edit`,
  :meth:`~Curation.reject` change the record at once, under optimistic locking.
* **dual extraction**: two reviewers decide each record of a source independently with
  :meth:`Curation.review`. A decision goes to the ``reviews`` table and leaves the record alone. While
  either reviewer is still working on the source, neither sees the other's choices
  (:meth:`~Curation.pending`, :meth:`~Curation.decisions`, :meth:`~Curation.others_visible`). Once
  both have decided every record of the source, each agreement is applied to the record (audit
  action ``consensus``) and each disagreement is listed by :meth:`~Curation.conflicts` until an
  adjudicator decides it (:meth:`~Curation.adjudicate`, audit action ``adjudicate``, final).

A reviewer is *done* with a source when no record of it that is still ``extracted`` lacks their
decision; a record added to the source later makes both reviewers unfinished again.

>>> from evidence.store import Store
>>> from evidence.schema import validate_record
>>> store = Store("sqlite://")
>>> rec = validate_record({"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast",
...                        "value": 0.77, "ci_low": 0.62, "ci_high": 0.95})
>>> _ = store.add_records([rec])
>>> cur = Curation(store)
>>> cur.review(rec.record_id, "edited", reviewer="ana", values={"value": 0.78}, reason="table 2").decision
'edited'
>>> cur.others_visible("bo", rec.record_id), store.get(rec.record_id)[0].status
(False, 'extracted')
>>> _ = cur.review(rec.record_id, "edited", reviewer="bo", values={"value": 0.78}, reason="see table 2")
>>> store.get(rec.record_id)[0].status, store.get(rec.record_id)[0].value
('edited', 0.78)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from evidence.errors import ConflictError, EvidenceError, NotFoundError
from evidence.field_values import differing, parse_value, same_value, show
from evidence.schema import CURATABLE_FIELDS, FIELDS, EvidenceRecord, validate_record
from evidence.store import Store, now
from evidence.tables import audit_log, records, reviews, sources

DECISIONS = ("accepted", "edited", "rejected")
#: Fields that describe the study, not one result: curated once per source, applied to all its records.
STUDY_FIELDS = ("trial", "year", "source_id", "registry_ids")
#: The identifiers a source may be given (DESIGN.md source ids): a PubMed id, a DOI, a registry id.
SOURCE_ID = re.compile(r"^(PMID:\d{1,9}|DOI:10\.\d{4,9}/\S+|NCT\d{8})$")


def study_values(texts: Mapping[str, str]) -> dict[str, Any]:
    """Typed study-level values from their text forms (``{"year": "2014", "registry_ids": "NCT1, NCT2"}``);
    an empty text is null (an empty list for registry ids).

    >>> study_values({"trial": " EORTC 62012 ", "year": "2014", "registry_ids": "NCT00061984"})
    {'trial': 'EORTC 62012', 'year': 2014, 'registry_ids': ['NCT00061984']}
    """
    out: dict[str, Any] = {}
    for field, text in texts.items():
        if field not in STUDY_FIELDS:
            raise CurationError(f"field {field!r} is not study-level; study-level: {', '.join(STUDY_FIELDS)}")
        t = str(text).strip()
        if field == "registry_ids":
            out[field] = parse_value("registry_ids", t)
        elif field == "year":
            if t and not (t.isdigit() and 1900 <= int(t) <= 2100):
                raise CurationError(f"year={t!r}: must be a year such as 2014")
            out[field] = int(t) if t else None
        else:
            out[field] = t or None
    return out


class CurationError(EvidenceError, ValueError):
    """A curation step that the workflow does not allow (missing reason, final record, third reviewer)."""


@dataclass(frozen=True)
class Review:
    """One reviewer's latest decision on one record (a row of ``reviews``)."""

    record_id: str
    source_id: str
    reviewer: str
    decision: str
    changes: dict[str, Any]  # the "values" column: field → curated value (empty unless edited)
    reason: str | None
    at: datetime
    version: int


def _review(row: Mapping[str, Any]) -> Review:
    return Review(row["record_id"], row["source_id"], row["reviewer"], row["decision"], dict(row["values"] or {}),
                  row["reason"], row["at"], int(row["version"]))


def check_decision(rec: EvidenceRecord, decision: str, values: Mapping[str, Any] | None,
                   reason: str | None) -> dict[str, Any]:
    """The changes a decision makes, after checking it is complete and valid.

    Raises
    ------
    CurationError
        For an unknown decision, values on an accept/reject, an edit that changes nothing, or a
        missing reason on an edit or a rejection.
    RecordError
        When the edited record would violate the schema.
    """
    values = dict(values or {})
    if decision not in DECISIONS:
        raise CurationError(f"decision {decision!r}: choose one of {', '.join(DECISIONS)}")
    bad = sorted(set(values) - set(CURATABLE_FIELDS))
    if bad:
        raise CurationError(f"field {bad[0]!r} cannot be curated; curatable: {', '.join(CURATABLE_FIELDS)}")
    if decision != "edited" and values:
        raise CurationError(f"a decision {decision!r} takes no values; use 'edited' to change {sorted(values)[0]}")
    current = rec.to_dict()
    values = {k: v for k, v in values.items() if not same_value(current[k], v)}
    if decision == "edited" and not values:
        raise CurationError(f"record {rec.record_id}: the edit changes no value; accept it instead")
    if decision in ("edited", "rejected") and not (reason and reason.strip()):
        what = "an edit" if decision == "edited" else "a rejection"
        raise CurationError(f"record {rec.record_id}: {what} needs a reason (say why, e.g. 'table 2 gives 0.78')")
    if values:
        validate_record({**current, **values, "status": "edited"})
    return values


class Curation:
    """The curation workflow over one :class:`~evidence.store.Store`.

    Parameters
    ----------
    store : Store
        The evidence store (SQLite or PostgreSQL).
    """

    def __init__(self, store: Store):
        self.store = store

    # -- single reviewer --------------------------------------------------------------------------
    def accept(self, record_id: str, *, reviewer: str, version: int | None = None) -> EvidenceRecord:
        """Accept a record as extracted (single-reviewer mode)."""
        return self._decide(record_id, "accepted", {}, reviewer, None, version, "accept")

    def reject(self, record_id: str, *, reviewer: str, reason: str | None,
               version: int | None = None) -> EvidenceRecord:
        """Reject a record (it stays in the store with status ``rejected``); a reason is required."""
        return self._decide(record_id, "rejected", {}, reviewer, reason, version, "reject")

    def edit(self, record_id: str, changes: Mapping[str, Any], *, reviewer: str, reason: str | None,
             version: int | None = None) -> EvidenceRecord:
        """Change values of a record (the extracted ones are kept beside); a reason is required."""
        return self._decide(record_id, "edited", changes, reviewer, reason, version, "edit")

    def _decide(self, record_id: str, decision: str, values: Mapping[str, Any], reviewer: str,
                reason: str | None, version: int | None, action: str) -> EvidenceRecord:
        rec, current = self.store.get(record_id)
        with self.store.engine.connect() as c:
            self._refuse_if_final(c, record_id)
            under = self._reviewers(c, rec.source_id)
        if under and rec.status == "extracted":
            raise CurationError(f"record {record_id} is under dual review by {' and '.join(under)}; "
                                "decide it with review or adjudicate")
        changes = check_decision(rec, decision, values, reason)
        return self.store.update_record(record_id, changes, reviewer=reviewer,
                                        version=current if version is None else version,
                                        reason=reason, status=decision, action=action)

    # -- dual extraction --------------------------------------------------------------------------
    def review(self, record_id: str, decision: str, *, reviewer: str, values: Mapping[str, Any] | None = None,
               reason: str | None = None, version: int | None = None) -> Review:
        """Record one reviewer's independent decision; the record changes only on agreement.

        A reviewer may change their mind (a new row; the latest counts) until the record is decided.
        When this decision completes the source for both reviewers, every agreement is applied.

        Raises
        ------
        ConflictError
            When ``version`` is older than the record's (someone changed it since it was read).
        CurationError
            When the record is already decided, the source has two other reviewers, or the decision
            is incomplete (see :func:`check_decision`).
        """
        rec, current = self.store.get(record_id)
        changes = check_decision(rec, decision, values, reason)
        with self.store.engine.begin() as c:
            self._lock_source(c, rec.source_id)
            c.execute(insert(reviews).values(record_id=record_id, source_id=rec.source_id, reviewer=reviewer,
                                             decision=decision, values=changes, reason=reason, at=now(),
                                             version=current if version is None else version))
            # checks after the insert: on SQLite the insert holds the write lock, so they see the latest
            row = c.execute(select(records).where(records.c.record_id == record_id)).mappings().one()
            self._refuse_if_final(c, record_id)
            if row["status"] != "extracted":
                raise CurationError(f"record {record_id} is already {row['status']} (by {row['reviewer']}); "
                                    "ask an adjudicator to change it")
            if version is not None and version != row["version"]:
                raise ConflictError(
                    f"record {record_id} was changed by {row['reviewer'] or 'someone'} since you read it "
                    f"(version {row['version']}, you read {version}); reload it and decide again",
                    record_id=record_id, theirs={"reviewer": row["reviewer"], "version": row["version"]})
            pair = self._reviewers(c, rec.source_id)
            if len(pair) > 2:
                raise CurationError(f"source {rec.source_id} is already reviewed by {pair[0]} and {pair[1]}; "
                                    "a third person adjudicates instead")
            self._apply_agreements(c, rec.source_id)
        return self._latest(record_id)[reviewer]

    def pending(self, reviewer: str, source_id: str | None = None) -> pd.DataFrame:
        """Records still waiting for ``reviewer``: extracted, not yet decided by them.

        Shows the record as extracted (schema columns and ``version``), never another reviewer's
        choice; sources already taken by two other reviewers are left out.
        """
        frame = self.store.records_frame(status="extracted", source_id=source_id, with_version=True)
        with self.store.engine.connect() as c:
            q = select(reviews.c.record_id, reviews.c.source_id, reviews.c.reviewer)
            if source_id is not None:
                q = q.where(reviews.c.source_id == source_id)
            rows = c.execute(q.order_by(reviews.c.id)).all()
        mine = {r.record_id for r in rows if r.reviewer == reviewer}
        pairs: dict[str, list[str]] = {}
        for r in rows:
            pairs.setdefault(r.source_id, [])
            if r.reviewer not in pairs[r.source_id]:
                pairs[r.source_id].append(r.reviewer)
        taken = {s for s, who in pairs.items() if len(who) >= 2 and reviewer not in who}
        keep = ~frame["record_id"].isin(mine) & ~frame["source_id"].isin(taken)
        return frame[keep].reset_index(drop=True)

    def decisions(self, reviewer: str, source_id: str | None = None) -> pd.DataFrame:
        """``reviewer``'s own latest decisions (one row per record), never anyone else's."""
        q = select(reviews).where(reviews.c.reviewer == reviewer).order_by(reviews.c.id)
        if source_id is not None:
            q = q.where(reviews.c.source_id == source_id)
        with self.store.engine.connect() as c:
            latest = {r["record_id"]: dict(r) for r in c.execute(q).mappings()}
        cols = [c.name for c in reviews.c if c.name != "id"]
        return pd.DataFrame([{k: r[k] for k in cols} for r in latest.values()], columns=cols)

    def others_visible(self, reviewer: str, record_id: str) -> bool:
        """Whether ``reviewer`` may see the other reviewer's choices on a record: only once both are done."""
        rec, _ = self.store.get(record_id)
        with self.store.engine.connect() as c:
            return self._both_done(c, rec.source_id)

    def reviews_of(self, record_id: str, viewer: str) -> list[Review]:
        """The latest decisions on a record that ``viewer`` may see (their own until both are done)."""
        latest = self._latest(record_id)
        if self.others_visible(viewer, record_id):
            return list(latest.values())
        return [r for who, r in latest.items() if who == viewer]

    def conflicts(self, source_id: str | None = None) -> pd.DataFrame:
        """Disagreements between the two reviewers of finished sources, one row per differing field.

        Columns: record_id, source_id, field (``status`` for the decision), reviewer_a, value_a,
        reason_a, reviewer_b, value_b, reason_b. A record leaves the list once adjudicated.
        """
        cols = ["record_id", "source_id", "field", "reviewer_a", "value_a", "reason_a", "reviewer_b", "value_b",
                "reason_b"]
        out: list[dict[str, Any]] = []
        with self.store.engine.connect() as c:
            q = select(reviews.c.source_id).distinct()
            if source_id is not None:
                q = q.where(reviews.c.source_id == source_id)
            for sid in sorted(c.scalars(q)):
                if not self._both_done(c, sid):
                    continue
                for rec, a, b in self._pairs(c, sid):
                    base = {"record_id": rec.record_id, "source_id": sid, "reviewer_a": a.reviewer,
                            "reason_a": a.reason, "reviewer_b": b.reviewer, "reason_b": b.reason}
                    if a.decision != b.decision:
                        out.append({**base, "field": "status", "value_a": a.decision, "value_b": b.decision})
                    va, vb = {**rec.to_dict(), **a.changes}, {**rec.to_dict(), **b.changes}
                    for f in differing(va, vb):
                        out.append({**base, "field": f, "value_a": show(va[f]), "value_b": show(vb[f])})
        return pd.DataFrame(out, columns=cols)

    def adjudicate(self, record_id: str, decision: str, values: Mapping[str, Any] | None, adjudicator: str,
                   reason: str | None, version: int | None = None) -> EvidenceRecord:
        """Decide a disagreement for good (audit action ``adjudicate``); a reason is always required.

        Raises
        ------
        CurationError
            Without a reason, on a record already adjudicated, or on a record with no conflict (both
            reviewers of its source must have finished and disagree on it: see :meth:`conflicts`);
            a record without a conflict is decided with accept/edit/reject or by the reviewers' agreement.
        """
        rec, current = self.store.get(record_id)
        if not (reason and reason.strip()):
            raise CurationError(f"record {record_id}: an adjudication needs a reason")
        changes = check_decision(rec, decision, values, reason)
        with self.store.engine.begin() as c:
            self._lock_source(c, rec.source_id)
            self._refuse_if_final(c, record_id)
            if record_id not in self._conflicted(c, rec.source_id):
                raise CurationError(f"record {record_id} has no conflict to adjudicate (an adjudicator decides "
                                    "where two reviewers who finished the source disagree; see `curate "
                                    "conflicts`); decide it with accept, edit or reject instead")
            return self.store.update_record(record_id, changes, reviewer=adjudicator,
                                            version=current if version is None else version, reason=reason,
                                            status=decision, action="adjudicate", conn=c)

    def source_records(self, source_id: str) -> pd.DataFrame:
        """Every record of a source (any status) with its version: what :meth:`curate_source` changes."""
        return self.store.records_frame(source_id=source_id, with_version=True)

    def curate_source(self, source_id: str, changes: Mapping[str, Any], *, reviewer: str, reason: str | None,
                      versions: Mapping[str, int] | None = None) -> list[EvidenceRecord]:
        """Set study-level fields (:data:`STUDY_FIELDS`) once for a source: every record of it gets them.

        One transaction: each record is changed under optimistic locking against the version in
        ``versions`` (record_id → version read; default the current ones), each change is audited per
        record and field (action ``source``), and a record's status stays as it is (the study's name is
        not a decision on its result). A new ``source_id`` (a PMID, DOI or NCT id) moves the records;
        the source document follows when no document has that id yet. A reason is required.

        Raises
        ------
        CurationError
            Without a reason, for a field that is not study-level, an invalid source id, or a source
            with no records.
        ConflictError
            When any record changed since it was read (nothing is written).
        """
        if not (reason and reason.strip()):
            raise CurationError(f"source {source_id}: a study-level change needs a reason")
        bad = sorted(set(changes) - set(STUDY_FIELDS))
        if bad:
            raise CurationError(f"field {bad[0]!r} is not study-level; study-level: {', '.join(STUDY_FIELDS)}")
        changes = dict(changes)
        new_id = changes.get("source_id")
        if new_id is not None and not SOURCE_ID.match(str(new_id)):
            raise CurationError(f"source id {new_id!r}: give a PubMed id (PMID:123), a DOI (DOI:10.1000/x) or a "
                                "registry id (NCT01234567)")
        with self.store.engine.begin() as c:
            self._lock_source(c, source_id)
            rows = c.execute(select(records.c.record_id, records.c.version, records.c.status)
                             .where(records.c.source_id == source_id).order_by(records.c.record_id)).all()
            if not rows:
                raise CurationError(f"source {source_id!r} has no records")
            out = []
            for r in rows:
                read = r.version if versions is None or r.record_id not in versions else versions[r.record_id]
                rec, _ = self.store.get(r.record_id)
                todo = {k: v for k, v in changes.items() if not same_value(rec.to_dict()[k], v)}
                if read != r.version:
                    raise ConflictError(f"record {r.record_id} of source {source_id} was changed since you read it "
                                        f"(version {r.version}, you read {read}); reload the source and apply "
                                        "your change again", record_id=r.record_id, theirs={"version": r.version})
                if not todo:
                    out.append(rec)
                    continue
                out.append(self.store.update_record(r.record_id, todo, reviewer=reviewer, version=read, reason=reason,
                                                    status=r.status, action="source", conn=c,
                                                    extra_fields=("year", "source_id")))
            if new_id is not None and new_id != source_id:
                c.execute(reviews.update().where(reviews.c.source_id == source_id).values(source_id=new_id))
                taken = c.scalar(select(sources.c.source_id).where(sources.c.source_id == new_id))
                if taken is None:
                    c.execute(sources.update().where(sources.c.source_id == source_id).values(source_id=new_id))
        return out

    def history(self, record_id: str) -> pd.DataFrame:
        """Everything that happened to a record, oldest first: the audit log, plus each reviewer's
        decisions (action ``review``) once both reviewers are done with the source."""
        rec, _ = self.store.get(record_id)
        frame = self.store.audit(record_id)
        with self.store.engine.connect() as c:
            visible = self._both_done(c, rec.source_id)
            rows = c.execute(select(reviews).where(reviews.c.record_id == record_id)
                             .order_by(reviews.c.id)).mappings().all() if visible else []
        extra = [{"id": None, "at": r["at"], "reviewer": r["reviewer"], "record_id": record_id, "action": "review",
                  "field": field, "old": None, "new": new, "reason": r["reason"], "batch": None}
                 for r in rows
                 for field, new in [("status", r["decision"]),
                                    *((k, show(v)) for k, v in (r["values"] or {}).items())]]
        if not extra:
            return frame
        both = pd.concat([frame.astype(object), pd.DataFrame(extra, columns=frame.columns).astype(object)],
                         ignore_index=True)
        return both.sort_values("at", kind="stable").reset_index(drop=True)

    # -- internals --------------------------------------------------------------------------------
    def _lock_source(self, c: Connection, source_id: str) -> None:
        """Serialise decisions on one source (PostgreSQL row locks; SQLite has one writer anyway)."""
        if c.dialect.name == "postgresql":
            c.execute(select(records.c.record_id).where(records.c.source_id == source_id).with_for_update()).all()

    def _refuse_if_final(self, c: Connection, record_id: str) -> None:
        row = c.execute(select(audit_log.c.reviewer, audit_log.c.at)
                        .where(audit_log.c.record_id == record_id, audit_log.c.action == "adjudicate")
                        .limit(1)).first()
        if row is not None:
            raise CurationError(f"record {record_id} was adjudicated by {row.reviewer} at {row.at}; "
                                "an adjudication is final")

    def _reviewers(self, c: Connection, source_id: str) -> list[str]:
        who: list[str] = []
        for name in c.scalars(select(reviews.c.reviewer).where(reviews.c.source_id == source_id)
                              .order_by(reviews.c.id)):
            if name not in who:
                who.append(name)
        return who

    def _latest_in(self, c: Connection, source_id: str) -> dict[str, dict[str, Review]]:
        latest: dict[str, dict[str, Review]] = {}
        for r in c.execute(select(reviews).where(reviews.c.source_id == source_id).order_by(reviews.c.id)).mappings():
            latest.setdefault(r["record_id"], {})[r["reviewer"]] = _review(r)
        return latest

    def _latest(self, record_id: str) -> dict[str, Review]:
        with self.store.engine.connect() as c:
            rows = c.execute(select(reviews).where(reviews.c.record_id == record_id).order_by(reviews.c.id))
            return {r["reviewer"]: _review(r) for r in rows.mappings()}

    def _open(self, c: Connection, source_id: str) -> list[dict[str, Any]]:
        q = select(records).where(records.c.source_id == source_id, records.c.status == "extracted")
        return [dict(r) for r in c.execute(q.order_by(records.c.record_id)).mappings()]

    def _both_done(self, c: Connection, source_id: str) -> bool:
        pair = self._reviewers(c, source_id)
        if len(pair) != 2:
            return False
        latest = self._latest_in(c, source_id)
        return all(set(pair) <= set(latest.get(r["record_id"], {})) for r in self._open(c, source_id))

    def _conflicted(self, c: Connection, source_id: str) -> set[str]:
        """Ids of the records of a source on which its two finished reviewers disagree."""
        if not self._both_done(c, source_id):
            return set()
        return {rec.record_id for rec, _, _ in self._pairs(c, source_id)}

    def _pairs(self, c: Connection, source_id: str) -> list[tuple[EvidenceRecord, Review, Review]]:
        """Open records of a finished source with both reviewers' latest decisions, when they disagree."""
        a_name, b_name = self._reviewers(c, source_id)
        latest = self._latest_in(c, source_id)
        out = []
        for row in self._open(c, source_id):
            rec = EvidenceRecord.model_validate({k: row[k] for k in FIELDS})
            a, b = latest[row["record_id"]][a_name], latest[row["record_id"]][b_name]
            if not _agree(rec, a, b):
                out.append((rec, a, b))
        return out

    def _apply_agreements(self, c: Connection, source_id: str) -> None:
        """Once both reviewers are done, write every agreed decision to its record (audit ``consensus``)."""
        if not self._both_done(c, source_id):
            return
        pair = self._reviewers(c, source_id)
        latest = self._latest_in(c, source_id)
        for row in self._open(c, source_id):
            rec = EvidenceRecord.model_validate({k: row[k] for k in FIELDS})
            a, b = (latest[row["record_id"]][who] for who in pair)
            if not _agree(rec, a, b):
                continue
            reason = "; ".join(f"{r.reviewer}: {r.reason}" for r in (a, b) if r.reason) or None
            self.store.update_record(rec.record_id, a.changes, reviewer="+".join(pair), version=row["version"],
                                     reason=reason, status=a.decision, action="consensus", conn=c)


def _agree(rec: EvidenceRecord, a: Review, b: Review) -> bool:
    """Same decision and, for edits, the same resulting values."""
    base = rec.to_dict()
    return a.decision == b.decision and not differing({**base, **a.changes}, {**base, **b.changes})


def curation(store: Store | str | None = None) -> Curation:
    """A :class:`Curation` over a store or a store URL (see :func:`evidence.store.resolve_url`)."""
    if isinstance(store, Store):
        return Curation(store)
    return Curation(Store(store))


__all__ = ["DECISIONS", "Curation", "CurationError", "NotFoundError", "Review", "check_decision", "curation"]
