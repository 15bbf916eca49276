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


def _ci_text(v: float, lo: float, hi: float) -> str:
    """``0.71 (0.32–1.59)``, the way a paper prints an estimate; ``—`` when missing."""
    if v is None or pd.isna(v):
        return "—"
    if lo is None or pd.isna(lo) or hi is None or pd.isna(hi):
        return f"{v:.2f}"
    return f"{v:.2f} ({lo:.2f}–{hi:.2f})"


def cell_table(cp: CellPool, measure: str) -> pd.DataFrame:
    """A cell's forest as a formatted table: study, N (events/N), estimate (CI), weights, and the
    common-effect, random-effects and prediction-interval rows (as the forest plot shows them)."""
    binary = measure in ("OR", "RR", "rate")
    level = f"{100 * (cp.result.level if cp.result is not None else 0.95):g}%"
    col = f"{measure} ({level} CI)"
    rows = []
    for r in cp.studies.to_dict("records"):
        n = r.get("n")
        ev = r.get("events")
        count = "" if n is None or pd.isna(n) else (f"{int(ev)}/{int(n)}" if binary and ev is not None
                                                     and not pd.isna(ev) else f"{int(n)}")
        wc, wr = r.get("weight_common"), r.get("weight")
        rows.append({"Study": r["label"], "Events/N" if binary else "N": count,
                     col: _ci_text(r["value"], r["ci_low"], r["ci_high"]),
                     "Weight (common)": "" if wc is None or pd.isna(wc) else f"{wc:.1f}%",
                     "Weight (random)": (f"{wr:.1f}%" if r["included"] and not pd.isna(wr) else r["reason"])})
    key = "Events/N" if binary else "N"
    if cp.result is not None:
        if cp.common is not None:
            rows.append({"Study": "Common-effect model", key: "", "Weight (common)": "100%", "Weight (random)": "",
                         col: _ci_text(*(cp.reporting_common(n) for n in ("estimate", "ci_low", "ci_high")))})
        r = cp.result
        rows.append({"Study": f"Random-effects model ({r.method}, {r.test})", key: "", "Weight (common)": "",
                     "Weight (random)": "100%",
                     col: _ci_text(*(cp.reporting(n) for n in ("estimate", "ci_low", "ci_high")))})
        if math.isfinite(r.pi_low) and math.isfinite(r.pi_high):
            lo, hi = cp.reporting("pi_low"), cp.reporting("pi_high")
            rows.append({"Study": "Prediction interval", key: "", "Weight (common)": "", "Weight (random)": "",
                         col: f"({lo:.2f}–{hi:.2f})"})
    return pd.DataFrame(rows, columns=["Study", key, col, "Weight (common)", "Weight (random)"])


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """Any table as CSV, its text cells neutralised against spreadsheet formulas."""
    return frame_csv(frame).encode("utf-8")


def view_link(page_url: str | None, params: dict[str, str], host: str | None = None) -> str:
    """The absolute address of a view: the page's URL in the browser (its own query string dropped)
    with the view's query string, so a committee member can paste it into minutes or an e-mail.

    >>> view_link("http://example.org:8501/pooled?x=1", {"cell": "a|b", "method": "REML"})
    'http://example.org:8501/pooled?cell=a%7Cb&method=REML'
    >>> view_link(None, {"test": "z"}, host="10.0.0.5:8501")
    'http://10.0.0.5:8501/?test=z'
    """
    from urllib.parse import urlencode, urlsplit, urlunsplit

    query = urlencode(params)
    if page_url:
        u = urlsplit(page_url)
        return urlunsplit((u.scheme or "http", u.netloc, u.path or "/", query, ""))
    return f"http://{host or 'localhost:8501'}/?{query}"
