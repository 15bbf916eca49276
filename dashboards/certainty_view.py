"""The certainty page's logic: summary-of-findings rows of the store and the judgements behind them.

The rows come from :func:`evidence.sof.sof_rows` on the curated records and :func:`meta.pool_table` (the same
numbers as ``sarcoma-evidence sof``); risk-of-bias and certainty judgements are read and written through
:class:`evidence.grading.Judgements` under the signed-in reviewer's account.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from evidence.comparison_classes import comparison_classes, records_of_cell
from evidence.grading import ROB_DOMAINS, ROB_LABELS, Judgements
from evidence.questions import QUESTION_BY
from evidence.sof import SofRow, sof_rows, study_of, write_csv, write_docx
from evidence.store import Store
from evidence.trial_aliases import trial_aliases
from meta import pool_table

BY = QUESTION_BY  # one key per question for the Certainty page, the Question page, `sof` and snapshots
CURATED = ["accepted", "edited"]


def rows_of(store: Store) -> tuple[pd.DataFrame, list[SofRow]]:
    """The curated records and the SoF rows of every pooled question."""
    records = store.records_frame(status=CURATED)
    if records.empty:
        return records, []
    pooled = pool_table(records, by=list(BY), trial_aliases=trial_aliases(), classes=comparison_classes(),
                        studies=True)
    return records, sof_rows(records, pooled, BY, Judgements(store))


def sof_frame(rows: list[SofRow]) -> pd.DataFrame:
    """The rows as a display table."""
    return pd.DataFrame([r.as_dict() for r in rows]).drop(columns=["question"], errors="ignore")


def docx_bytes(rows: list[SofRow]) -> bytes:
    """The SoF table as a DOCX file's bytes."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "sof.docx"
        write_docx(rows, path)
        return path.read_bytes()


def csv_bytes(rows: list[SofRow]) -> bytes:
    """The SoF table as CSV bytes (formula cells neutralised)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "sof.csv"
        write_csv(rows, path)
        return path.read_bytes()


def domain_frame(row: SofRow) -> pd.DataFrame:
    """One question's GRADE domains: judgement and reason."""
    assert row.certainty is not None
    return pd.DataFrame([{"domain": d.name.replace("_", " "), "judgement": d.judgement, "reason": d.reason}
                         for d in row.certainty.domains])


def studies_of(records: pd.DataFrame, row: SofRow) -> list[str]:
    """The studies (trial names, else source ids) behind a question, sorted."""
    keys = row.question.split("|")
    sub = records_of_cell(records, row.intervention, row.comparator)  # a class question: records under it
    for col, val in zip(BY, keys, strict=True):
        if col == "histotype":
            sub = sub[["+".join(sorted(h)) == val for h in sub["histotypes"]]]
        else:
            sub = sub[sub[col].fillna("").astype(str) == val]
    return sorted({study_of(r) for r in sub.to_dict("records")})


def rob_table(store: Store, studies: list[str], endpoint: str) -> pd.DataFrame:
    """Each study's latest RoB 2 judgement per domain and its overall judgement, for one outcome."""
    j = Judgements(store)
    out = []
    for s in studies:
        got = j.rob(s, endpoint)
        out.append({"study": s, **{d: got[d].judgement if d in got else "" for d in ROB_DOMAINS},
                    "overall": j.rob_overall(s, endpoint) or "not assessed"})
    return pd.DataFrame(out, columns=["study", *ROB_DOMAINS, "overall"])


__all__ = ["BY", "ROB_LABELS", "csv_bytes", "docx_bytes", "domain_frame", "rob_table", "rows_of",
           "sof_frame", "studies_of"]
