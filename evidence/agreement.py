"""Agreement between the two reviewers of a blinded dual review, and each reviewer's progress.

Cohen's kappa for two raters on nominal categories (Cohen J. A coefficient of agreement for nominal
scales. Educational and Psychological Measurement 1960;20:37-46):

    κ = (p_o − p_e) / (1 − p_e),   p_o = share of items on which the two agree,
                                   p_e = Σ_c p_A(c) · p_B(c)  (agreement expected by chance),

where p_A(c) is the share of items rater A put in category c. κ is undefined (NaN) when p_e = 1 (both
raters gave every item the same single category: nothing to tell chance from skill).

Per field: the *decision* (accepted / edited / rejected) and each curatable field's resulting value
(the record as first extracted with the reviewer's edits laid over it) are the categories; the items
are the records both reviewers of a pair decided. Nothing is shown while a source is still blinded:
only sources both reviewers have finished count (:meth:`evidence.curation.Curation.others_visible`).

>>> round(cohen_kappa(["y"] * 25 + ["n"] * 25, ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15), 3)
0.4
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from evidence.field_values import show
from evidence.schema import CURATABLE_FIELDS
from evidence.tables import audit_log, reviews

__all__ = ["agreement_table", "cohen_kappa", "progress_table"]


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's κ of two raters' labels of the same items (equal lengths; NaN when undefined)."""
    if len(a) != len(b):
        raise ValueError(f"Invalid ratings: {len(a)} and {len(b)} labels; both raters must label the same items")
    n = len(a)
    if n == 0:
        return math.nan
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[c] * cb[c] for c in ca) / (n * n)
    if p_e >= 1.0:
        return math.nan
    return (p_o - p_e) / (1.0 - p_e)


def _latest(cur: Any) -> dict[str, dict[str, Any]]:
    """record_id → reviewer → latest review row."""
    out: dict[str, dict[str, Any]] = {}
    with cur.store.engine.connect() as c:
        for r in c.execute(select(reviews).order_by(reviews.c.id)).mappings():
            out.setdefault(r["record_id"], {})[r["reviewer"]] = dict(r)
    return out


def agreement_table(cur: Any, fields: Sequence[str] = CURATABLE_FIELDS) -> pd.DataFrame:
    """Cohen's κ per reviewer pair and field, over the records both decided on finished sources.

    Returns
    -------
    DataFrame
        Columns reviewer_a, reviewer_b, field (``decision`` first), records, agreed, p_o, kappa; fields
        nobody changed are left out (every record agrees, κ undefined).
    """
    cols = ["reviewer_a", "reviewer_b", "field", "records", "agreed", "p_o", "kappa"]
    items: dict[tuple[str, str], list[tuple[dict, dict, dict]]] = {}
    finished: dict[str, bool] = {}
    for rid, by in _latest(cur).items():
        if len(by) != 2:
            continue
        a, b = sorted(by)
        ra, rb = by[a], by[b]
        sid = ra["source_id"]
        if sid not in finished:
            with cur.store.engine.connect() as c:
                finished[sid] = cur._both_done(c, sid)
        if not finished[sid]:
            continue  # still blinded
        items.setdefault((a, b), []).append((cur.store.original(rid), ra, rb))
    rows = []
    for (a, b), its in sorted(items.items()):
        da, db = [x[1]["decision"] for x in its], [x[2]["decision"] for x in its]
        rows.append({"reviewer_a": a, "reviewer_b": b, "field": "decision", "records": len(its),
                     "agreed": sum(x == y for x, y in zip(da, db, strict=True)), "kappa": cohen_kappa(da, db)})
        for f in fields:
            va = [show({**o, **(ra["values"] or {})}.get(f)) for o, ra, _ in its]
            vb = [show({**o, **(rb["values"] or {})}.get(f)) for o, _, rb in its]
            if len(set(va) | set(vb)) < 2:
                continue
            rows.append({"reviewer_a": a, "reviewer_b": b, "field": f, "records": len(its),
                         "agreed": sum(x == y for x, y in zip(va, vb, strict=True)), "kappa": cohen_kappa(va, vb)})
    out = pd.DataFrame(rows, columns=cols)
    out["p_o"] = out["agreed"] / out["records"]
    return out


def progress_table(cur: Any) -> pd.DataFrame:
    """Per reviewer: records decided (latest decision each), still pending for them, in an open
    conflict, and adjudicated by them."""
    latest = _latest(cur)
    decided = Counter(who for by in latest.values() for who in by)
    conflicts = cur.conflicts()
    open_ids = conflicts.drop_duplicates("record_id") if len(conflicts) else conflicts
    in_conflict: Counter[str] = Counter()
    for r in open_ids.to_dict("records"):
        in_conflict[r["reviewer_a"]] += 1
        in_conflict[r["reviewer_b"]] += 1
    with cur.store.engine.connect() as c:
        done = c.execute(select(audit_log.c.reviewer, audit_log.c.record_id)
                         .where(audit_log.c.action == "adjudicate").distinct()).all()
    adj = Counter(r.reviewer for r in done)
    names = sorted(set(decided) | set(adj))
    rows = [{"reviewer": n, "decided": decided.get(n, 0), "pending": len(cur.pending(n)),
             "in_conflict": in_conflict.get(n, 0), "adjudicated": adj.get(n, 0)} for n in names]
    return pd.DataFrame(rows, columns=["reviewer", "decided", "pending", "in_conflict", "adjudicated"])
