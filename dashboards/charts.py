"""Every chart of the dashboard: forest, funnel and sensitivity plots (matplotlib, so they export as
PNG and SVG) and the evidence map (plotly, so a click selects a cell).

The forest plot follows the Cochrane/RevMan convention: one row per study with a square whose *area*
is proportional to its weight and a line for its CI, the pooled estimate as a diamond spanning its
CI, the prediction interval on its own row, the line of no effect, a log axis for ratios, "favours"
labels under the axis and a footer with τ², Q (df, p), I² and the test of the overall effect.
Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state; safe in Streamlit threads).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from dashboards.analysis import BiasReport, CellPool, fmt_num, summary_lines, to_reporting
from dashboards.safe import plotly

INK, MUTED, ACCENT, POOLED = "#222222", "#8a8a8a", "#1f4e79", "#b22222"
RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20, 50, 100)
FINE_TICKS = (0.6, 0.7, 0.8, 0.9, 1.25, 1.5, 0.75, 1.1, 0.95, 1.05)


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as ``png`` (150 dpi) or ``svg`` bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight")
    return buf.getvalue()


def _finite(*xs: Any) -> list[float]:
    out = []
    for x in xs:
        for v in np.atleast_1d(np.asarray(x, dtype=float)):
            if math.isfinite(v):
                out.append(float(v))
    return out


def _set_axis(ax: Any, scale: str, lo: float, hi: float) -> None:
    """x limits with a margin; log axis with readable ratio ticks for ratios."""
    if scale == "log":
        lo, hi = min(lo, 1.0), max(hi, 1.0)
        pad = (math.log(hi) - math.log(lo)) * 0.08 or 0.2
        lo, hi = math.exp(math.log(lo) - pad), math.exp(math.log(hi) + pad)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
        for t in FINE_TICKS:  # a narrow axis gets finer ticks, at least three
            if len(ticks) >= 4:
                break
            if lo <= t <= hi and all(abs(math.log(t / u)) > 0.09 for u in ticks):
                ticks.append(t)
        ticks.sort()
        if len(ticks) > 8:
            ticks = [t for t in ticks if t in (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20, 100)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        if scale == "logit":
            lo, hi = max(0.0, min(lo, 0.0)), min(1.0, max(hi, 0.0))
        pad = (hi - lo) * 0.06 or 0.5
        ax.set_xlim(max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad)


def forest_plot(cp: CellPool, *, measure: str, favours: tuple[str, str] | None = None,
                title: str = "") -> Figure:
    """A forest plot of a cell's studies and pooled estimate.

    Parameters
    ----------
    cp : CellPool
        From :func:`dashboards.analysis.pool_studies`; studies not included are drawn grey with
        their reason, without weight.
    measure : str
        HR, OR, RR (log axis, line of no effect at 1), rate or median (linear axis).
    favours : (str, str), optional
        Labels left and right of the line of no effect.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = cp.studies.reset_index(drop=True)
    res = cp.result
    scale = cp.scale
    k = len(s)
    n_rows = k + (3 if res is not None else 0)
    height = 1.5 + 0.36 * (n_rows + 1) + (0.9 if res is not None else 0)
    fig = Figure(figsize=(10.5, height), layout="constrained")
    gs = fig.add_gridspec(1, 3, width_ratios=[3.1, 4.2, 2.6], wspace=0.0)
    left, ax, right = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    for a in (left, right):
        a.set_xlim(0, 1)
        a.axis("off")
    ylim = (k + (2.5 if res is not None else 0.2), -1.2)
    for a in (left, ax, right):
        a.set_ylim(*ylim)
    unit = measure if measure in ("HR", "OR", "RR") else ("Proportion" if measure == "rate" else "Median, months")
    pct = f"{100 * (res.level if res else 0.95):g}%"
    left.text(0, -0.9, "Study", fontweight="bold", va="center", fontsize=9.5)
    right.text(0.02, -0.9, f"{unit} [{pct} CI]", fontweight="bold", va="center", fontsize=9.5)
    right.text(0.98, -0.9, "Weight", fontweight="bold", va="center", ha="right", fontsize=9.5)

    xs = _finite(s["value"], s["ci_low"], s["ci_high"])
    wmax = float(np.nanmax(s["weight"])) if s["weight"].notna().any() else 1.0
    for i, r in s.iterrows():
        color = INK if r["included"] else MUTED
        left.text(0, i, str(r["label"]), va="center", fontsize=9, color=color, parse_math=False)
        ci = f"[{fmt_num(r['ci_low'])}, {fmt_num(r['ci_high'])}]" if not pd.isna(r["ci_low"]) else "[no CI]"
        lvl, header_level = r.get("ci_level"), res.level if res else 0.95
        if not pd.isna(r["ci_low"]) and lvl is not None and not pd.isna(lvl) and abs(lvl - header_level) > 1e-9:
            ci += f" ({100 * lvl:g}%)"  # reported at another level than the header says: say so
        right.text(0.02, i, f"{fmt_num(r['value'])} {ci}", va="center", fontsize=9, color=color)
        wtxt = f"{r['weight']:.1f}%" if r["included"] and not pd.isna(r["weight"]) else str(r["reason"])[:22]
        right.text(0.98, i, wtxt, va="center", ha="right", fontsize=8.5 if r["included"] else 7.5, color=color)
        if not pd.isna(r["ci_low"]) and not pd.isna(r["ci_high"]):
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=color, lw=1.3, solid_capstyle="butt")
        if not pd.isna(r["value"]):
            w = r["weight"] if r["included"] and not pd.isna(r["weight"]) else wmax * 0.15
            ax.scatter([r["value"]], [i], marker="s", s=260.0 * w / wmax, color=color if r["included"] else "white",
                       edgecolors=color, zorder=3, linewidths=1.0)
    if res is not None:
        y_pool, y_pi = k + 0.8, k + 1.8
        est, lo, hi = (cp.reporting(n) for n in ("estimate", "ci_low", "ci_high"))
        pi_lo, pi_hi = cp.reporting("pi_low"), cp.reporting("pi_high")
        xs += _finite(est, lo, hi, pi_lo, pi_hi)
        ax.fill([lo, est, hi, est], [y_pool, y_pool - 0.32, y_pool, y_pool + 0.32], color=POOLED, zorder=3)
        left.text(0, y_pool, f"Random-effects model ({res.method}, {res.test})", va="center", fontsize=9,
                  fontweight="bold")
        right.text(0.02, y_pool, f"{fmt_num(est)} [{fmt_num(lo)}, {fmt_num(hi)}]", va="center", fontsize=9,
                   fontweight="bold")
        right.text(0.98, y_pool, "100%", va="center", ha="right", fontsize=8.5, fontweight="bold")
        left.text(0, y_pi, f"{pct} prediction interval" + (" (k < 5: unreliable)" if res.k < 5 else ""),
                  va="center", fontsize=8.5, style="italic", color=ACCENT)
        if math.isfinite(pi_lo) and math.isfinite(pi_hi):
            ax.plot([pi_lo, pi_hi], [y_pi, y_pi], color=ACCENT, lw=2.2, solid_capstyle="butt")
            ax.plot([pi_lo, pi_lo], [y_pi - 0.18, y_pi + 0.18], color=ACCENT, lw=1.2)
            ax.plot([pi_hi, pi_hi], [y_pi - 0.18, y_pi + 0.18], color=ACCENT, lw=1.2)
            right.text(0.02, y_pi, f"[{fmt_num(pi_lo)}, {fmt_num(pi_hi)}]", va="center", fontsize=8.5,
                       color=ACCENT, style="italic")
        ax.axvline(est, color=POOLED, lw=0.8, ls=":", zorder=1)
        for a in (left, ax, right):
            a.axhline(k + 0.2, color=MUTED, lw=0.6)
    if xs:
        _set_axis(ax, scale, min(xs), max(xs))
    if scale == "log":
        ax.axvline(1.0, color=INK, lw=0.9, zorder=1)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=8.5)
    if favours:
        ax.set_xlabel(f"◀ {favours[0]}          {favours[1]} ▶", fontsize=8.5, color=INK)
    elif scale == "logit":
        ax.set_xlabel("Proportion", fontsize=8.5)
    elif scale == "months":
        ax.set_xlabel("Months", fontsize=8.5)
    if res is not None:
        lines = summary_lines(cp, measure)
        foot = f"{lines['heterogeneity']}\n{lines['overall']}\n{lines['model']}"
        fig.text(0.01, 0.0, foot, fontsize=8, va="top", ha="left", color=INK, transform=fig.transFigure)
    if title:
        fig.suptitle(title, fontsize=11, x=0.01, ha="left", fontweight="bold", parse_math=False)
    return fig


def funnel_plot(cp: CellPool, bias: BiasReport, *, title: str = "") -> Figure:
    """Funnel plot: effect (x; log axis for ratios) against standard error (y, inverted), the pooled
    estimate with its pseudo-95% confidence region, and trim-and-fill's imputed studies as open circles."""
    s = cp.studies[cp.studies["included"]]
    fig = Figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    if cp.result is None or s.empty:
        ax.text(0.5, 0.5, "Not enough studies for a funnel plot", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return fig
    yi, se = s["yi"].to_numpy(float), np.sqrt(s["vi"].to_numpy(float))
    est = cp.result.estimate
    se_max = float(se.max()) * 1.15
    grid = np.linspace(0, se_max, 50)
    tx = (lambda a: to_reporting(a, cp.scale)) if cp.scale != "months" else (lambda a: np.asarray(a, float))
    ax.fill_betweenx(grid, tx(est - 1.96 * grid), tx(est + 1.96 * grid), color="#eef2f7", zorder=0)
    ax.plot(tx(est - 1.96 * grid), grid, color=MUTED, lw=0.8, ls="--")
    ax.plot(tx(est + 1.96 * grid), grid, color=MUTED, lw=0.8, ls="--")
    ax.axvline(float(tx(est)), color=POOLED, lw=1.0, label=f"pooled {fmt_num(float(tx(est)))}")
    ax.scatter(tx(yi), se, color=ACCENT, zorder=3, s=36, label="studies")
    tf = bias.trimfill
    if tf is not None and tf.k0 > 0:
        fy, fv = tf.yi[tf.filled], tf.vi[tf.filled]
        ax.scatter(tx(fy), np.sqrt(fv), facecolors="white", edgecolors=ACCENT, zorder=3, s=36,
                   label=f"imputed by trim-and-fill (k0 = {tf.k0})")
        ax.axvline(float(tx(tf.estimate)), color=ACCENT, lw=1.0, ls=":",
                   label=f"trim-and-fill {fmt_num(float(tx(tf.estimate)))}")
    xs = _finite(tx(yi), tx(est - 1.96 * se_max), tx(est + 1.96 * se_max))
    _set_axis(ax, cp.scale, min(xs), max(xs))
    ax.set_ylim(se_max, 0)
    ax.set_ylabel("Standard error")
    ax.set_xlabel({"log": "Ratio (log scale)", "logit": "Proportion", "months": "Months"}[cp.scale])
    eg = bias.egger
    note = (f"Egger's test: t = {eg.stat:.2f} (df = {eg.df}), p = {eg.p_value:.3f}" if eg is not None
            else "Egger's test: " + (bias.notes[0] if bias.notes else "not available"))
    ax.set_title((title + "\n" if title else "") + note, fontsize=9.5, loc="left", parse_math=False)
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    return fig


def sensitivity_plot(df: pd.DataFrame, *, scale: str, full: float, title: str, label_header: str) -> Figure:
    """Leave-one-out or cumulative estimates with their CIs, one row per refit, the full estimate dotted."""
    n = len(df)
    fig = Figure(figsize=(10.0, 1.3 + 0.36 * (n + 1)), layout="constrained")
    gs = fig.add_gridspec(1, 3, width_ratios=[2.6, 4.6, 2.6], wspace=0.0)
    left, ax, right = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    for a in (left, right):
        a.set_xlim(0, 1)
        a.axis("off")
    for a in (left, ax, right):
        a.set_ylim(n - 0.4, -1.2)
    left.text(0, -0.9, label_header, fontweight="bold", va="center", fontsize=9)
    right.text(0.02, -0.9, "Estimate [95% CI]", fontweight="bold", va="center", fontsize=9)
    right.text(0.98, -0.9, "I²", fontweight="bold", va="center", ha="right", fontsize=9)
    for i, r in enumerate(df.itertuples()):
        left.text(0, i, str(r.study), va="center", fontsize=8.5, parse_math=False)
        right.text(0.02, i, f"{fmt_num(r.estimate)} [{fmt_num(r.ci_low)}, {fmt_num(r.ci_high)}]", va="center",
                   fontsize=8.5)
        right.text(0.98, i, f"{fmt_num(r.i2, 0)}%", va="center", ha="right", fontsize=8.5)
        ax.plot([r.ci_low, r.ci_high], [i, i], color=INK, lw=1.2)
        ax.scatter([r.estimate], [i], marker="o", s=30, color=ACCENT, zorder=3)
    xs = _finite(df["ci_low"], df["ci_high"], full)
    if xs:
        _set_axis(ax, scale, min(xs), max(xs))
    if scale == "log":
        ax.axvline(1.0, color=INK, lw=0.9)
    if math.isfinite(full):
        ax.axvline(full, color=POOLED, lw=0.8, ls=":")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.suptitle(title, fontsize=10, x=0.01, ha="left", parse_math=False)
    return fig


def evidence_map(table: pd.DataFrame, *, measure: str, favours: tuple[str, str] | None = None,
                 selected: str = "") -> go.Figure:
    """The evidence map: histotype (rows) × comparison (columns); bubble area ∝ patients, colour = the
    pooled (or single-study) effect, the number of trials written in the bubble. ``customdata[0]`` is
    the cell key, so a selection names the cell."""
    t = table.copy()
    fig = go.Figure()
    if t.empty:
        fig.update_layout(height=240, annotations=[dict(text="No evidence for this question under these filters",
                                                        showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")])
        return fig
    n = pd.to_numeric(t["n_total"], errors="coerce")
    size = np.sqrt(n.fillna(n.min() if n.notna().any() else 50).clip(lower=20).to_numpy(float))
    size = 14 + 34 * (size - size.min()) / (np.ptp(size) or 1.0)
    ratio = measure in ("HR", "OR", "RR")
    est = pd.to_numeric(t["estimate"], errors="coerce").to_numpy(float)
    if ratio:
        color = np.log2(np.clip(est, 1 / 8, 8))
        # the same colour always means "favours the intervention": flip when a ratio > 1 is good
        flip = favours is not None and favours[1] == "Favours intervention"
        tickv = [-2, -1, 0, 1, 2]
        good = "high" if flip else "low"
        colorbar = dict(title=dict(text=f"{measure}<br>blue: favours<br>intervention", side="top"), tickvals=tickv,
                        ticktext=["0.25", "0.5", "1", "2", "4"], len=0.8)
        colorbar["title"]["text"] += f" ({good})"
        scale = "RdBu" if flip else "RdBu_r"
        cmid: float | None = 0.0
        cmin, cmax = -2.0, 2.0
    else:
        color = est
        colorbar = dict(title=dict(text="proportion" if measure == "rate" else "months", side="top"), len=0.8)
        scale, cmid, cmin, cmax = "Viridis", None, None, None
    hover = [
        f"<b>{plotly(r.histotype_label)}</b><br>{plotly(r.comparison)}<br>{r.endpoint} {r.measure}"
        f"{' (' + r.arm + ' arm)' if r.measure in ('rate', 'median') else ''}<br>"
        f"trials k = {r.k}; patients = {fmt_num(r.n_total, 0)}<br>"
        f"{'pooled' if r.pooled else 'single study'}: {fmt_num(r.estimate)} "
        f"[{fmt_num(r.ci_low)}, {fmt_num(r.ci_high)}]"
        + (f"<br>I² = {fmt_num(r.i2, 0)}%" if r.pooled else "")
        for r in t.itertuples()
    ]  # fmt: skip
    line_w = [3.0 if c == selected else 0.8 for c in t["cell"]]
    fig.add_trace(go.Scatter(
        x=[plotly(c) for c in t["comparison"]], y=[plotly(h) for h in t["histotype_label"]],
        mode="markers+text", text=[f"{k}" for k in t["k"]],
        textfont=dict(color="black", size=11), customdata=np.stack([t["cell"]], axis=1),
        hovertext=hover, hoverinfo="text",
        marker=dict(size=size, color=color, colorscale=scale, cmid=cmid, cmin=cmin, cmax=cmax,
                    colorbar=colorbar, line=dict(color="black", width=line_w), opacity=0.9),
    ))  # fmt: skip
    n_rows, n_cols = t["histotype_label"].nunique(), t["comparison"].nunique()
    fig.update_layout(
        height=max(320, 150 + 56 * n_rows + 6 * max(len(c) for c in t["comparison"])),
        margin=dict(l=10, r=10, t=30, b=10), clickmode="event+select", dragmode="pan",
        xaxis=dict(title="comparison (intervention vs comparator)", tickangle=-35, type="category",
                   categoryorder="category ascending", automargin=True),
        yaxis=dict(title="histotype", type="category", categoryorder="category descending", automargin=True),
        plot_bgcolor="#fafafa", showlegend=False,
        title=dict(text=f"Number in bubble: trials; bubble area: patients ({n_rows} histotypes × {n_cols} comparisons)",
                   font=dict(size=12), x=0),
    )  # fmt: skip
    return fig


def figure_for_download(figs: Sequence[Figure]) -> list[tuple[bytes, bytes]]:
    """(png, svg) bytes of each figure."""
    return [(figure_bytes(f, "png"), figure_bytes(f, "svg")) for f in figs]
