"""Every view is also an export: the filtered evidence table, the pooled results, a cell's studies.

CSV follows DESIGN.md: the schema's columns in order, a list as a JSON array, an empty cell for null;
text cells are neutralised against spreadsheet formulas (:mod:`evidence.csv_cells`).
Pooled results carry the estimator, the test and the ``meta`` version that made them, and the
record_ids behind each number, so every exported number traces back to its source sentences.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from dashboards.analysis import CellPool
from dashboards.sources import source_url
from evidence.csv_cells import frame_csv
from evidence.schema import FIELDS, LIST_FIELDS

POOLED_COLUMNS = (
    "histotype", "intervention", "comparator", "endpoint", "measure", "arm", "rollup", "k", "n_total",
    "pooled", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2", "tau2", "q_p", "p_value",
    "converged", "method", "test", "version", "record_ids", "trials", "cell",
)  # fmt: skip


def _json_list(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return json.dumps(list(v), ensure_ascii=False)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def records_csv(df: pd.DataFrame) -> bytes:
    """The records as CSV (schema columns, lists as JSON arrays) plus a ``source_url`` column."""
    out = df.reindex(columns=list(FIELDS)).copy()
    for col in LIST_FIELDS:
        out[col] = [_json_list(v) for v in out[col]]
    out["source_url"] = [source_url(s) for s in out["source_id"]]
    return frame_csv(out).encode("utf-8")


def pooled_csv(table: pd.DataFrame, *, method: str, test: str, version: str) -> bytes:
    """The evidence-map table of pooled results as CSV (reporting scale; record_ids as a JSON array)."""
    out = table.copy()
    out["method"], out["test"], out["version"] = method, test, version
    out = out.reindex(columns=list(POOLED_COLUMNS))
    for col in ("record_ids", "trials"):
        out[col] = [_json_list(v) for v in out[col]]
    return frame_csv(out).encode("utf-8")


def cell_csv(cp: CellPool, *, cell: str) -> bytes:
    """A cell's studies (reported value, CI, weight, inclusion, source) and its pooled row, as CSV."""
    s = cp.studies.reindex(columns=["record_id", "label", "source_id", "url", "year", "n", "value", "ci_low",
                                    "ci_high", "unit", "yi", "vi", "included", "reason", "weight"]).copy()
    s.insert(0, "row", "study")
    if cp.result is not None:
        r = cp.result
        pooled = {"row": "pooled", "label": f"random effects ({r.method}, {r.test})",
                  "value": cp.reporting("estimate"), "ci_low": cp.reporting("ci_low"),
                  "ci_high": cp.reporting("ci_high"), "yi": r.estimate, "vi": r.se**2, "included": True,
                  "weight": 100.0, "reason": ""}
        pi = {"row": "prediction_interval", "label": f"{100 * r.level:g}% prediction interval",
              "ci_low": cp.reporting("pi_low"), "ci_high": cp.reporting("pi_high")}
        het = {"row": "heterogeneity", "label": f"tau2={r.tau2:.6g}; Q={r.q:.6g}; df={r.q_df:g}; "
               f"p_Q={r.q_p:.6g}; I2={r.i2:.6g}%; stat={r.stat:.6g}; p={r.p_value:.6g}; version={r.version}"}
        s = pd.concat([s, pd.DataFrame([pooled, pi, het])], ignore_index=True)
    s["cell"] = cell
    return frame_csv(s).encode("utf-8")
