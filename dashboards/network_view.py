"""The network meta-analysis page's logic and charts (the page ``screens/network.py`` only wires widgets).

:func:`build_network` runs :func:`meta.nma_from_records` on the filtered records (cached per
question); :func:`network_graph` draws the treatments (node area ∝ patients) and the direct
comparisons (line width ∝ trials); :func:`forest_vs_reference` shows every treatment against the
chosen reference; the table helpers format the league table, P-scores and inconsistency tests.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import safe
from evidence.csv_cells import frame_csv
from evidence.nma_cli import unknown_treatments
from evidence.trial_aliases import trial_aliases
from meta import nma
from meta.nma import NMAResult
from meta.nma_records import RecordsNetwork, nma_from_records

RATIO = ("HR", "OR", "RR")
ANY = "(any)"
NMA_METHODS = ("REML", "ML", "DL", "FE")


def _opt(x: str) -> str | None:
    return None if x in ("", ANY) else x


def question_options(df: pd.DataFrame) -> dict[str, list[str]]:
    """Endpoints, settings, lines and histotypes that between-arm ratio records of ``df`` hold."""
    ratio = df[df["measure"].isin(RATIO)] if len(df) else df
    hist = sorted({h for hs in ratio.get("histotypes", pd.Series(dtype=object)) for h in (hs or [])})

    def vals(col: str) -> list[str]:
        return sorted({str(v) for v in ratio[col].dropna() if str(v)}) if col in ratio else []

    endpoints = ratio["endpoint"].value_counts().index.tolist() if len(ratio) else []
    return {"endpoints": endpoints, "measures": vals("measure"), "settings": vals("setting"),
            "lines": vals("line"), "histotypes": hist}


@st.cache_data(ttl=60, show_spinner=False, max_entries=32)
def build_network(url: str, filters: Any, endpoint: str, measure: str, histotype: str, setting: str, line: str,
                  method: str) -> RecordsNetwork:
    """The network of one question (``(any)`` = no filter) of the filtered records, each component fitted."""
    from dashboards import data

    return nma_from_records(data.filtered(url, filters), histotype=_opt(histotype), setting=_opt(setting),
                            line=_opt(line), endpoint=endpoint, measure=measure, method=method,
                            trial_aliases=trial_aliases())


def refit(net: RecordsNetwork, component: int, reference: str) -> NMAResult:
    """The component's fit against ``reference`` (same model; only the reporting baseline changes)."""
    res = net.fits[component]
    if reference == res.reference:
        return res
    sub = net.contrasts[net.contrasts["treat1"].isin(net.components[component])]
    return nma(sub, reference=reference, method=res.method, small_values=res.small_values, level=res.level)


def component_label(net: RecordsNetwork, i: int) -> str:
    part = net.components[i]
    k = net.contrasts["treat1"].isin(part).sum()
    return f"{i}: {', '.join(part)} ({k} contrasts)"


def _layout(names: list[str]) -> dict[str, tuple[float, float]]:
    """Treatments on a circle, in alphabetical order from the top (netmeta's netgraph default)."""
    n = len(names)
    return {t: (math.sin(2 * math.pi * i / n), math.cos(2 * math.pi * i / n)) for i, t in enumerate(names)}


def network_graph(nodes: pd.DataFrame, edges: pd.DataFrame, *, title: str = "") -> go.Figure:
    """Plotly network: node area ∝ patients (marker size ∝ √patients), edge width ∝ trials, trial counts on edges."""
    names = list(nodes["treatment"])
    pos = _layout(names)
    fig = go.Figure()
    top = max(1, int(edges["trials"].max()) if len(edges) else 1)
    for e in edges.to_dict("records"):
        (x0, y0), (x1, y1) = pos[e["treat1"]], pos[e["treat2"]]
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="text",
                                 line={"width": 2 + 8 * e["trials"] / top, "color": "#7f8c8d"},
                                 text=safe.plotly(f"{e['treat1']} vs {e['treat2']}: {e['trials']} trial(s)"),
                                 showlegend=False))
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=str(e["trials"]), showarrow=False,
                           bgcolor="white", font={"size": 11})
    pts = nodes["patients"].to_numpy(dtype=float)
    big = float(np.nanmax(pts)) if len(pts) and np.nanmax(pts) > 0 else 1.0
    size = 18 + 42 * np.sqrt(np.nan_to_num(pts) / big)
    fig.add_trace(go.Scatter(
        x=[pos[t][0] for t in names], y=[pos[t][1] for t in names], mode="markers+text",
        text=[safe.plotly(t) for t in names],
        textposition=["top center" if pos[t][1] >= 0 else "bottom center" for t in names],
        marker={"size": size, "color": "#2e86c1", "line": {"width": 1, "color": "white"}},
        hovertext=[safe.plotly(f"{t}: {int(p)} patients, {k} trial(s)") for t, p, k in
                   zip(names, np.nan_to_num(pts), nodes["trials"], strict=True)],
        hoverinfo="text", showlegend=False))
    fig.update_layout(title=title, xaxis={"visible": False, "range": [-1.7, 1.7]},
                      yaxis={"visible": False, "range": [-1.6, 1.6], "scaleanchor": "x"},
                      height=460, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white")
    return fig


def forest_vs_reference(res: NMAResult, measure: str) -> go.Figure:
    """Every treatment against the reference: estimate and CI (ratio scale, log axis, for HR/OR/RR)."""
    est = res.estimates.sort_values("estimate")
    ratio = measure in RATIO
    f = np.exp if ratio else (lambda x: x)
    x, lo, hi = f(est["estimate"].to_numpy()), f(est["ci_low"].to_numpy()), f(est["ci_high"].to_numpy())
    fig = go.Figure(go.Scatter(
        x=x, y=[safe.plotly(t) for t in est["treatment"]], mode="markers",
        marker={"symbol": "square", "size": 10, "color": "#1f4e79"},
        error_x={"type": "data", "symmetric": False, "array": hi - x, "arrayminus": x - lo, "color": "#1f4e79"},
        hovertext=[safe.plotly(f"{t} vs {res.reference}: {a:.2f} ({b:.2f}, {c:.2f})") for t, a, b, c in
                   zip(est["treatment"], x, lo, hi, strict=True)], hoverinfo="text", showlegend=False))
    fig.add_vline(x=1.0 if ratio else 0.0, line_dash="dash", line_color="grey")
    fig.update_layout(title=safe.plotly(f"{measure} vs {res.reference} ({res.method}, {res.level * 100:g}% CI)"),
                      xaxis={"type": "log" if ratio else "linear", "title": measure},
                      height=120 + 40 * len(est), margin={"l": 10, "r": 10, "t": 40, "b": 40})
    return fig


def pscore_table(res: NMAResult) -> pd.DataFrame:
    return pd.DataFrame({"treatment": res.pscores.index, "P-score": res.pscores.round(3).to_numpy()})


def estimates_table(res: NMAResult, measure: str) -> pd.DataFrame:
    est = res.estimates.copy()
    if measure in RATIO:
        for c in ("estimate", "ci_low", "ci_high"):
            est[c] = np.exp(est[c])
    est.insert(1, "vs", res.reference)
    return est.round({"estimate": 3, "ci_low": 3, "ci_high": 3, "se": 4, "p_value": 4})


def decomposition_table(res: NMAResult) -> pd.DataFrame:
    d = res.decomposition.reset_index(names="part")
    d["part"] = d["part"].str.replace("_", " ")
    rnd = res.q_between_random
    extra = pd.DataFrame([{"part": f"between designs, random effects (τ²within = {rnd['tau2_within']:.4g})",
                           "q": rnd["q"], "df": rnd["df"], "p_value": rnd["p_value"]}])
    return pd.concat([d, extra], ignore_index=True).round({"q": 3, "p_value": 4})


def split_table(res: NMAResult, measure: str) -> pd.DataFrame:
    s = res.split.copy()
    if s.empty:
        return s
    f = np.exp if measure in RATIO else (lambda x: x)
    out = pd.DataFrame({"comparison": s["treat1"] + " vs " + s["treat2"], "direct trials": s["k_direct"],
                        "direct": f(s["direct"]), "indirect": f(s["indirect"]), "network": f(s["nma"]),
                        "direct share": s["direct_proportion"], "z": s["z"], "p": s["p_value"]})
    return out.round(3)


def league_csv(res: NMAResult, measure: str) -> bytes:
    """The league table of the shown component as CSV (every view is also an export)."""
    lg = res.league(exp=measure in RATIO)
    lg["measure"], lg["reference"], lg["method"] = measure, res.reference, res.method
    return frame_csv(lg).encode()  # formula cells neutralised (evidence.csv_cells)


def summary_line(res: NMAResult) -> str:
    d = res.decomposition
    return (f"{len(res.network.blocks)} trials, {len(res.treatments)} treatments, {res.method}, "
            f"τ² = {res.tau2:.4g}; Q = {d.loc['total', 'q']:.2f} (df {int(d.loc['total', 'df'])}), "
            f"of which between designs {d.loc['between_designs', 'q']:.2f} (df {int(d.loc['between_designs', 'df'])})")


def notes(net: RecordsNetwork) -> list[str]:
    """The network's notes, and one for each treatment that is no vocabulary agent (a question class)."""
    return [*net.notes, *unknown_treatments(net.contrasts)]


def excluded_table(net: RecordsNetwork) -> pd.DataFrame:
    return pd.DataFrame(net.excluded, columns=["record_id", "reason"])


def choose(options: list[str], preferred: str) -> int:
    return options.index(preferred) if preferred in options else 0


def with_any(values: list[str]) -> list[str]:
    return [ANY, *values]


def index_of(values: list[Any], value: Any) -> int:
    return values.index(value) if value in values else 0
