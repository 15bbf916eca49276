"""Exports for the field: a RevMan 5 generic-inverse-variance CSV, and the audit log as CSV.

RevMan imports one ratio measure per outcome, on the log scale with its standard error. The SE is
recovered from the reported confidence interval (Cochrane Handbook 6.3.2; Altman & Bland, BMJ 2011):

    SE = (ln(ci_high) − ln(ci_low)) / (2 · z),   z = Φ⁻¹((1 + ci_level) / 2)   (1.959964 for 95%)

Only curated results (``accepted``, ``edited``) between arms with a complete CI are exported; each row
keeps the ratio and CI as reported and the record id it came from.

How an edit travels (export → import into a fresh store): the records file carries the curated
values with ``status``, ``reviewer`` and ``note`` (the reason), so ``sarcoma-evidence import``
restores the edit and its reason. The values as first extracted travel in the audit CSV
(``export --audit``): :func:`originals_from_audit` rebuilds them (the ``old`` of each field's first
change), e.g. to show what the extractor said beside the imported edit.

>>> round(se_from_ci(0.62, 0.95), 6)
0.108865
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from statistics import NormalDist
from typing import Any, TextIO

import pandas as pd

from evidence.csv_cells import frame_csv, restore
from evidence.schema import EvidenceRecord

MEASURE_NAMES = {"HR": "Hazard Ratio", "OR": "Odds Ratio", "RR": "Risk Ratio"}
CURATED = ("accepted", "edited")
AUDIT_COLUMNS = ("id", "at", "reviewer", "record_id", "action", "field", "old", "new", "reason", "batch")
#: audit actions that change a record's values (their ``old`` is what the field held before)
CHANGE_ACTIONS = ("edit", "accept", "reject", "consensus", "adjudicate", "import")


def se_from_ci(ci_low: float, ci_high: float, level: float = 0.95) -> float:
    """Standard error of a log ratio from its confidence interval.

    Parameters
    ----------
    ci_low, ci_high : float
        The interval on the ratio scale (both > 0).
    level : float
        Its confidence level, in (0, 1).
    """
    if not (ci_low > 0 and ci_high > 0 and 0 < level < 1):
        raise ValueError(f"CI [{ci_low}, {ci_high}] at level {level}: needs positive bounds and a level in (0, 1)")
    z = NormalDist().inv_cdf((1 + level) / 2)
    return (math.log(ci_high) - math.log(ci_low)) / (2 * z)


def study_id(rec: EvidenceRecord, first_author: str | None = None) -> str:
    """RevMan's Study ID: first author (when known), else the trial name, else the source id; then the year.

    >>> from evidence.schema import validate_record
    >>> study_id(validate_record({"source_id": "PMID:1", "trial": "PALETTE", "year": 2012, "endpoint": "PFS",
    ...                          "measure": "HR", "arm": "contrast", "value": 0.31}))
    'PALETTE 2012'
    """
    who = first_author or rec.trial or rec.source_id
    return f"{who} {rec.year}" if rec.year else who


def revman_columns(measure: str = "HR") -> list[str]:
    """Column names of the RevMan CSV for one ratio measure."""
    name = MEASURE_NAMES[measure]
    return ["Study ID", "Subgroup", "Comparison", "Outcome", f"Log [{name}]", "SE", name, "CI Lower", "CI Upper",
            "CI Level", "Record ID"]


def revman_frame(recs: Iterable[EvidenceRecord], *, measure: str = "HR",
                 first_authors: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Curated between-arm results of one ratio measure in RevMan's generic-inverse-variance layout.

    Parameters
    ----------
    recs : iterable of EvidenceRecord
        Records of any status; only ``accepted``/``edited`` contrasts of ``measure`` with a CI are kept.
    measure : {"HR", "OR", "RR"}
        RevMan takes one measure per outcome.
    first_authors : mapping, optional
        source_id → first author's surname, for the Study ID.

    Returns
    -------
    DataFrame
        One row per trial, outcome, subgroup and comparison (the latest report of a trial, as
        ``meta.pool_table`` counts it), columns :func:`revman_columns`, sorted by outcome, subgroup
        and study; a CI of no width or one that misses its value is left out. ``attrs["skipped"]``
        names what was left out and why.
    """
    if measure not in MEASURE_NAMES:
        raise ValueError(f"measure {measure!r}: RevMan's inverse-variance export takes one of "
                         f"{', '.join(MEASURE_NAMES)}")
    first_authors = first_authors or {}
    cols = revman_columns(measure)
    latest: dict[tuple[str, ...], tuple[int, int, EvidenceRecord]] = {}
    skipped: list[dict[str, str]] = []
    for order, r in enumerate(recs):
        if r.status not in CURATED or r.measure != measure or r.ci_low is None or r.ci_high is None:
            continue
        if not r.ci_low < r.ci_high or not r.ci_low <= r.value <= r.ci_high:
            skipped.append({"record_id": r.record_id, "reason": "CI of no width or not containing the value"})
            continue
        comparison = f"{r.intervention or '?'} vs {r.comparator}" if r.comparator else (r.intervention or "?")
        key = ("+".join(sorted(r.histotypes)), comparison, r.endpoint, _trial_identity(r))
        rank = (r.year or -1, order)  # one row per trial and outcome: the latest report (as meta.pool_table)
        prev = latest.get(key)
        loser = None if prev is None else prev[2] if rank > prev[:2] else r
        if loser is not None:
            skipped.append({"record_id": loser.record_id, "reason": "superseded by a later report of the trial"})
        if loser is not r:
            latest[key] = (*rank, r)
    rows = []
    for _, _, r in latest.values():
        comparison = f"{r.intervention or '?'} vs {r.comparator}" if r.comparator else (r.intervention or "?")
        rows.append(dict(zip(cols, [
            study_id(r, first_authors.get(r.source_id)), "+".join(sorted(r.histotypes)), comparison,
            f"{r.endpoint} ({MEASURE_NAMES[measure]})", round(math.log(r.value), 6),
            round(se_from_ci(r.ci_low, r.ci_high, r.ci_level), 6), r.value, r.ci_low, r.ci_high, r.ci_level,
            r.record_id], strict=True)))
    frame = pd.DataFrame(rows, columns=cols)
    frame = frame.sort_values(["Outcome", "Subgroup", "Comparison", "Study ID"], kind="stable").reset_index(drop=True)
    frame.attrs["skipped"] = skipped
    return frame


_NCT = re.compile(r"NCT\d{8}", re.IGNORECASE)


def _trial_identity(r: EvidenceRecord) -> str:
    """A registry id in source_id or trial, else the trial's name, else the source (meta.table's rule)."""
    for field in (r.source_id, r.trial):
        m = _NCT.search(field or "")
        if m:
            return m.group(0).upper()
    return f"trial:{r.trial}" if r.trial else f"source:{r.source_id}"


def _write(frame: pd.DataFrame, out: str | Path | TextIO) -> int:
    """CSV with text cells neutralised against spreadsheet formulas (:mod:`evidence.csv_cells`)."""
    text = frame_csv(frame)
    if isinstance(out, str | Path):
        Path(out).write_bytes(text.encode("utf-8"))
    else:
        out.write(text)
    return len(frame)


def write_revman(recs: Iterable[EvidenceRecord], out: str | Path | TextIO, *, measure: str = "HR",
                 first_authors: Mapping[str, str] | None = None) -> int:
    """Write :func:`revman_frame` as CSV to a path or a text stream; returns the number of rows."""
    return _write(revman_frame(recs, measure=measure, first_authors=first_authors), out)


def audit_frame(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit log (``Store.audit()``) with fixed columns and ISO 8601 times."""
    frame = audit.reindex(columns=list(AUDIT_COLUMNS)).copy()
    frame["at"] = [a.isoformat() if hasattr(a, "isoformat") else a for a in frame["at"]]
    return frame


def write_audit(audit: pd.DataFrame, out: str | Path | TextIO) -> int:
    """Write the audit log as CSV (old/new are JSON text, as stored); returns the number of rows."""
    return _write(audit_frame(audit), out)


def read_audit(path: str | Path | TextIO) -> pd.DataFrame:
    """Read an audit CSV written by :func:`write_audit` (empty cells are null, text stays text)."""
    text = path.read() if hasattr(path, "read") else Path(path).read_text(encoding="utf-8")  # type: ignore[union-attr]
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return pd.DataFrame([{k: (restore(v) if v != "" else None) for k, v in r.items()} for r in rows],
                        columns=list(AUDIT_COLUMNS))


def originals_from_audit(audit: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The value each field held before its first recorded change, per record.

    This is the value as extracted (or first imported) for every field a reviewer changed; fields
    never changed keep their current value, which is the original.
    """
    out: dict[str, dict[str, Any]] = {}
    for row in audit.itertuples(index=False):
        if row.action not in CHANGE_ACTIONS or not row.field or row.field == "status":
            continue
        fields = out.setdefault(row.record_id, {})
        if row.field not in fields:
            fields[row.field] = None if row.old is None or row.old != row.old else json.loads(row.old)
    return out
