"""Pure logic of the curation page's team tasks: conflicts side by side and their adjudication, agreement
(Cohen's κ) and progress per reviewer, and study-level fields set once per source.

Nothing here draws widgets (:mod:`dashboards.screens.curation` does); every write goes through
:class:`evidence.curation.Curation`, so the page obeys the command line's rules (a reason for each
adjudication and study-level change, optimistic locking, an audit entry per record and field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashboards.curation_view import SaveResult
from evidence.agreement import agreement_table, progress_table
from evidence.curation import STUDY_FIELDS, Curation, study_values
from evidence.errors import EvidenceError
from evidence.field_values import show

__all__ = ["Conflict", "adjudicate_with", "agreement_frame", "apply_study_fields", "conflicts", "progress_frame",
           "source_options", "study_form"]


@dataclass(frozen=True)
class Conflict:
    """One record the two reviewers disagree on: both decisions side by side, one row per differing field."""

    record_id: str
    source_id: str
    reviewer_a: str
    reviewer_b: str
    table: pd.DataFrame  # field, value of A, value of B
    reasons: dict[str, str] = field(default_factory=dict)

    def choice_label(self, who: str) -> str:
        """``"ana's decision: edited (value 0.78, ci_high 0.96)"``."""
        col = self.table.set_index("field")[who] if len(self.table) else pd.Series(dtype=object)
        decision = col.get("status", "")
        changed = [f"{f} {v}" for f, v in col.items() if f != "status"]
        return f"{who}'s decision: {decision}" + (f" ({', '.join(changed)})" if changed and decision == "edited"
                                                  else "")


def conflicts(cur: Curation) -> list[Conflict]:
    """Every open conflict (finished sources only: the reviews are no longer blinded), oldest source first."""
    frame = cur.conflicts()
    out = []
    for rid, g in frame.groupby("record_id", sort=False):
        first = g.iloc[0]
        a, b = str(first["reviewer_a"]), str(first["reviewer_b"])
        table = pd.DataFrame({"field": g["field"].tolist(), a: g["value_a"].tolist(), b: g["value_b"].tolist()})
        reasons = {a: str(first["reason_a"] or ""), b: str(first["reason_b"] or "")}
        out.append(Conflict(str(rid), str(first["source_id"]), a, b, table, reasons))
    return out


def adjudicate_with(cur: Curation, record_id: str, pick: str, *, adjudicator: str, reason: str) -> SaveResult:
    """Decide a conflict by taking reviewer ``pick``'s decision (and edits) for good; audited ``adjudicate``.

    A reviewer of the record never adjudicates it (a third person resolves a dual review); every
    refusal becomes ``SaveResult(False, message)``.
    """
    if not adjudicator.strip():
        return SaveResult(False, "sign in with a reviewer account first")
    try:
        reviews = {r.reviewer: r for r in cur.reviews_of(record_id, adjudicator)}
        if adjudicator in reviews:
            return SaveResult(False, f"you reviewed {record_id}; a third reviewer adjudicates it")
        if pick not in reviews:
            return SaveResult(False, f"{pick!r} did not review {record_id}")
        r = reviews[pick]
        rec = cur.adjudicate(record_id, r.decision, r.changes or None, adjudicator, reason)
    except (EvidenceError, ValueError) as exc:
        return SaveResult(False, str(exc).splitlines()[0])
    return SaveResult(True, f"{rec.record_id}: adjudicated as {rec.status} by {adjudicator} ({pick}'s decision)")


def agreement_frame(cur: Curation) -> pd.DataFrame:
    """Cohen's κ per reviewer pair and field, for display (κ to 2 decimals, ``—`` when undefined)."""
    t = agreement_table(cur)
    out = t[["reviewer_a", "reviewer_b", "field", "records", "agreed"]].copy()
    out["agreement"] = [f"{100 * p:.0f}%" for p in t["p_o"]]
    out["kappa"] = ["—" if pd.isna(k) else f"{k:.2f}" for k in t["kappa"]]
    return out


def progress_frame(cur: Curation) -> pd.DataFrame:
    """Records decided, pending, in conflict and adjudicated, per reviewer."""
    return progress_table(cur)


def source_options(cur: Curation) -> dict[str, str]:
    """source_id → a label for the picker: the source, its trial (when named) and how many records it has."""
    frame = cur.store.records_frame()
    out = {}
    for sid, g in frame.groupby("source_id", sort=True):
        names = sorted({t for t in g["trial"] if isinstance(t, str) and t})
        out[str(sid)] = f"{sid} · {' / '.join(names) or 'no trial name'} · {len(g)} records"
    return out


def _common(values: list[Any]) -> Any:
    shown = [show(v) for v in values]
    return max(set(shown), key=lambda s: (shown.count(s), s)) if shown else ""


def study_form(cur: Curation, source_id: str) -> tuple[dict[str, str], dict[str, int], bool]:
    """The study-level form of a source: each field's value as text (the most common among its records),
    the versions read (record_id → version, for the optimistic lock) and whether the records disagree."""
    frame = cur.source_records(source_id)
    texts, mixed = {}, False
    for f in STUDY_FIELDS:
        vals = frame[f].tolist()
        texts[f] = _common(vals)
        mixed |= len({show(v) for v in vals}) > 1
    versions = {str(r): int(v) for r, v in zip(frame["record_id"], frame["version"], strict=True)}
    return texts, versions, mixed


def apply_study_fields(cur: Curation, source_id: str, shown: Mapping[str, str], submitted: Mapping[str, str], *,
                       reviewer: str, reason: str, versions: Mapping[str, int]) -> SaveResult:
    """Send the study-level fields the reviewer changed from what the form showed to every record of the
    source (:meth:`evidence.curation.Curation.curate_source`)."""
    if not reviewer.strip():
        return SaveResult(False, "sign in with a reviewer account first")
    changed = {f: t for f, t in submitted.items() if t.strip() != str(shown.get(f, "")).strip()}
    if not changed:
        return SaveResult(False, "nothing changed: edit a field first")
    try:
        recs = cur.curate_source(source_id, study_values(changed), reviewer=reviewer, reason=reason,
                                 versions=versions)
    except (EvidenceError, ValueError) as exc:
        return SaveResult(False, str(exc).splitlines()[0])
    return SaveResult(True, f"{source_id}: {', '.join(sorted(changed))} set on {len(recs)} records")
