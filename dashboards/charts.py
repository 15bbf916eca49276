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

from dashboards.analysis import BINARY_MEASURES, BiasReport, CellPool, fmt_num, summary_lines, to_reporting
from dashboards.safe import plotly

INK, MUTED, ACCENT, POOLED, COMMON = "#222222", "#8a8a8a", "#1f4e79", "#b22222", "#555555"
#: Tick ladders for a ratio axis, densest first (each a set of mantissas per decade).
LADDERS = ((1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2, 2.5, 3, 4, 5, 6, 7, 8, 9),
           (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8), (1, 1.5, 2, 3, 5, 7), (1, 2, 5), (1, 3), (1,))
#: Axis titles: the measure and the scale it is drawn on (as RevMan and ``meta::forest`` label them).
AXIS_TITLES = {"HR": "Hazard ratio (log scale)", "OR": "Odds ratio (log scale)", "RR": "Risk ratio (log scale)",
               "rate": "Proportion", "median": "Median, months (log scale)"}
LABEL_PT = 8.5  # tick label size


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as ``png`` (150 dpi), ``svg`` (text kept as text, so it stays searchable and editable)
    or ``pdf`` bytes."""
    import matplotlib

    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"Invalid figure format {fmt!r}; must be one of png, svg, pdf")
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        fig.savefig(buf, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight")
    return buf.getvalue()


def _finite(*xs: Any) -> list[float]:
    out = []
    for x in xs:
        for v in np.atleast_1d(np.asarray(x, dtype=float)):
            if math.isfinite(v) and v > -1e300:
                out.append(float(v))
    return out


def _tick_text(v: float) -> str:
    return f"{v:g}"


def ratio_ticks(lo: float, hi: float, width_in: float, fontsize: float = LABEL_PT,
                include_one: bool = True) -> tuple[list[float], float, float]:
    """Ticks of a log ratio axis and its limits: the densest ladder (:data:`LADDERS`) whose labels do
    not touch at this axis width, with the limits moved out to the ticks that bracket every value, so
    the ticks cover each interval drawn.

    >>> ratio_ticks(0.45, 1.47, 4.0)[0]
    [0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5]
    """
    lo, hi = max(min(lo, hi), 1e-6), min(max(lo, hi), 1e6)
    if include_one:
        lo, hi = min(lo, 1.0), max(hi, 1.0)
    if hi / lo < 1.05:
        lo, hi = lo / 1.05, hi * 1.05
    char_in = 0.6 * fontsize / 72.0  # an average digit's width at this size
    chosen: tuple[list[float], float, float] | None = None
    for ladder in LADDERS:
        e0, e1 = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
        cand = sorted({round(m * 10.0**e, 12) for e in range(e0, e1 + 1) for m in ladder})
        below = [t for t in cand if t <= lo * (1 + 1e-9)]
        above = [t for t in cand if t >= hi * (1 - 1e-9)]
        t_lo, t_hi = (below[-1] if below else cand[0]), (above[0] if above else cand[-1])
        ticks = [t for t in cand if t_lo <= t <= t_hi]
        span = math.log(t_hi / t_lo) * 1.08
        inch = [width_in * math.log(ticks[i + 1] / ticks[i]) / span for i in range(len(ticks) - 1)]
        need = [char_in * ((len(_tick_text(ticks[i])) + len(_tick_text(ticks[i + 1]))) / 2 + 1.5)
                for i in range(len(ticks) - 1)]
        chosen = (ticks, t_lo, t_hi)
        if all(g >= n for g, n in zip(inch, need, strict=True)) and len(ticks) <= 12:
            return chosen
    assert chosen is not None
    return chosen


def _set_axis(ax: Any, scale: str, lo: float, hi: float, width_in: float = 4.5) -> None:
    """x limits covering [lo, hi]; a log axis with readable, non-colliding ratio ticks for ratios."""
    if scale in ("log", "log_months"):
        ticks, t_lo, t_hi = ratio_ticks(lo, hi, width_in, include_one=scale == "log")
        pad = math.log(t_hi / t_lo) * 0.04
        ax.set_xscale("log")
        ax.set_xlim(math.exp(math.log(t_lo) - pad), math.exp(math.log(t_hi) + pad))
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(lambda v, _: _tick_text(v))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        if scale == "logit":
            lo, hi = max(0.0, min(lo, 0.0)), min(1.0, max(hi, 0.0))
        pad = (hi - lo) * 0.06 or 0.5
        ax.set_xlim(max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad)


def agent_label(key: str) -> str:
    """An agent key as a reader names it: ``doxorubicin_plus_agent`` → ``doxorubicin plus agent``."""
    return str(key).replace("_", " ") if key else ""


def named_favours(cp: CellPool, favours: tuple[str, str] | None) -> tuple[str, str] | None:
    """``("Favours eribulin", "Favours dacarbazine")``: the generic labels of
    :func:`dashboards.analysis.favours` with the cell's agents put in (left, right of the null line)."""
    if favours is None:
        return None
    names = {"intervention": agent_label(cp.intervention), "comparator": agent_label(cp.comparator)}
    out = []
    for text in favours:
        for role, name in names.items():
            if name and text.endswith(role):
                text = text[: -len(role)] + name
        out.append(text)
    return out[0], out[1]


def _counts(r: Any, binary: bool) -> str:
    n = r["n"]
    if pd.isna(n):
        return "—"
    if binary and not pd.isna(r.get("events")):
        return f"{int(r['events'])}/{int(n)}"
    return f"{int(n)}"


def forest_plot(cp: CellPool, *, measure: str, favours: tuple[str, str] | None = None,
                title: str = "") -> Figure:
    """A forest plot of a cell's contributions and its common-effect and random-effects estimates.

    Laid out as RevMan Web and R ``meta::forest`` draw one: study (trial name and year), patients
    (events/N for binary outcomes), the interval plot, the estimate with its CI, and each study's weight
    under the common-effect and the random-effects model; below, a diamond per model and the prediction
    interval's row where it is defined (t-based, k ≥ 3; Higgins, Thompson & Spiegelhalter 2009). The
    axis names the measure and its scale; "Favours …" labels name the agents on either side of the
    line of no effect.

    Parameters
    ----------
    cp : CellPool
        From :func:`dashboards.analysis.analyse_cell`; studies not included are drawn grey with their
        reason and no weight.
    measure : str
        HR, OR, RR (log axis, line of no effect at 1), rate (linear) or median (log, months).
    favours : (str, str), optional
        Labels left and right of the line of no effect (:func:`dashboards.analysis.favours`); the
        words "intervention"/"comparator" are replaced by the cell's agents.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = cp.studies.reset_index(drop=True)
    res, com = cp.result, cp.common
    scale = cp.scale
    k = len(s)
    pi_ok = res is not None and math.isfinite(res.pi_low) and math.isfinite(res.pi_high) and res.k >= 3
    extra = [] if res is None else (["common"] if com is not None else []) + ["random"] + (["pi"] if pi_ok else [])
    n_rows = k + len(extra)
    height = 1.9 + 0.34 * (n_rows + 2) + (0.9 if res is not None else 0)
    widths = [2.7, 0.9, 4.3, 1.8, 0.8, 0.8]
    fig = Figure(figsize=(sum(widths) + 0.6, height), layout="constrained")
    gs = fig.add_gridspec(1, 3, width_ratios=[widths[0] + widths[1], widths[2], sum(widths[3:])], wspace=0.0)
    left, ax, right = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    for a in (left, right):
        a.set_xlim(0, 1)
        a.axis("off")
    y_end = k + (len(extra) + 0.4 if res is not None else 0.2)
    for a in (left, ax, right):
        a.set_ylim(y_end, -1.2)
    binary = measure in BINARY_MEASURES
    unit = {"HR": "HR", "OR": "OR", "RR": "RR", "rate": "Proportion", "median": "Median (months)"}.get(measure, measure)
    level = res.level if res is not None else float(s["ci_level"].dropna().iloc[0]) if s["ci_level"].notna().any() \
        else 0.95
    pct = f"{100 * level:g}%"
    c_n = widths[0] / (widths[0] + widths[1]) + 0.02
    r_w = sum(widths[3:])
    c_wc, c_wr = (widths[3] + widths[4]) / r_w, 1.0
    hdr = dict(fontweight="bold", va="center", fontsize=9.0)
    left.text(0, -0.9, "Study", **hdr)
    left.text(c_n, -0.9, "Events/N" if binary else "N", **hdr)
    right.text(0.02, -0.9, f"{unit} [{pct} CI]", **hdr)
    right.text(c_wc, -0.9, "Weight\n(common)", ha="right", **{**hdr, "fontsize": 8.0})
    right.text(c_wr, -0.9, "Weight\n(random)", ha="right", **{**hdr, "fontsize": 8.0})

    xs = _finite(s["value"], s["ci_low"], s["ci_high"])
    wmax = float(np.nanmax(s["weight"])) if s["weight"].notna().any() else 1.0
    for i, r in s.iterrows():
        color = INK if r["included"] else MUTED
        left.text(0, i, str(r["label"]), va="center", fontsize=9, color=color, parse_math=False)
        left.text(c_n, i, _counts(r, binary), va="center", fontsize=8.5, color=color)
        ci = f"[{fmt_num(r['ci_low'])}, {fmt_num(r['ci_high'])}]" if not pd.isna(r["ci_low"]) else "[no CI]"
        lvl = r.get("ci_level")
        if not pd.isna(r["ci_low"]) and lvl is not None and not pd.isna(lvl) and abs(lvl - level) > 1e-9:
            ci += f" ({100 * lvl:g}%)"  # reported at another level than the header says: say so
        right.text(0.02, i, f"{fmt_num(r['value'])} {ci}", va="center", fontsize=8.5, color=color)
        if r["included"] and not pd.isna(r["weight"]):
            wc = r.get("weight_common")
            right.text(c_wc, i, "—" if wc is None or pd.isna(wc) else f"{wc:.1f}%", va="center", ha="right",
                       fontsize=8.5)
            right.text(c_wr, i, f"{r['weight']:.1f}%", va="center", ha="right", fontsize=8.5)
        else:
            right.text(c_wr, i, str(r["reason"])[:24], va="center", ha="right", fontsize=7.5, color=color)
        if not pd.isna(r["ci_low"]) and not pd.isna(r["ci_high"]):
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=color, lw=1.3, solid_capstyle="butt")
        if not pd.isna(r["value"]):
            w = r["weight"] if r["included"] and not pd.isna(r["weight"]) else wmax * 0.15
            ax.scatter([r["value"]], [i], marker="s", s=260.0 * w / wmax, color=color if r["included"] else "white",
                       edgecolors=color, zorder=3, linewidths=1.0)
    if res is not None:
        for a in (left, ax, right):
            a.axhline(k - 0.4, color=MUTED, lw=0.6)
        y = k + 0.3
        models = []
        if com is not None:
            models.append(("Common-effect model", com, "100%", "—", COMMON))
        test = {"z": "z", "knha": "Hartung–Knapp", "adhoc": "Hartung–Knapp ad hoc"}.get(res.test, res.test)
        models.append((f"Random-effects model ({res.method}, {test})", res, "—", "100%", POOLED))
        for name, m, wc, wr, colour in models:
            est, lo, hi = (float(to_reporting(getattr(m, a), scale)) for a in ("estimate", "ci_low", "ci_high"))
            xs += _finite(est, lo, hi)
            ax.fill([lo, est, hi, est], [y, y - 0.3, y, y + 0.3], color=colour, zorder=3)
            left.text(0, y, name, va="center", fontsize=9, fontweight="bold", parse_math=False)
            n_all = s.loc[s["included"], "n"]
            if n_all.notna().any():
                ev = s.loc[s["included"], "events"]
                txt = (f"{int(ev.sum())}/{int(n_all.sum())}" if binary and ev.notna().all() and n_all.notna().all()
                       else f"{int(n_all.sum())}")
                left.text(c_n, y, txt, va="center", fontsize=8.5, fontweight="bold")
            right.text(0.02, y, f"{fmt_num(est)} [{fmt_num(lo)}, {fmt_num(hi)}]", va="center", fontsize=8.5,
                       fontweight="bold")
            right.text(c_wc, y, wc, va="center", ha="right", fontsize=8.5, fontweight="bold")
            right.text(c_wr, y, wr, va="center", ha="right", fontsize=8.5, fontweight="bold")
            y += 1
        if pi_ok:
            pi_lo, pi_hi = cp.reporting("pi_low"), cp.reporting("pi_high")
            xs += _finite(pi_lo, pi_hi)
            note = " (k < 5: read with caution)" if res.k < 5 else ""
            left.text(0, y, f"Prediction interval{note}", va="center", fontsize=8.5, style="italic", color=ACCENT)
            ax.plot([pi_lo, pi_hi], [y, y], color=ACCENT, lw=2.2, solid_capstyle="butt")
            for xv in (pi_lo, pi_hi):
                ax.plot([xv, xv], [y - 0.18, y + 0.18], color=ACCENT, lw=1.2)
            right.text(0.02, y, f"[{fmt_num(pi_lo)}, {fmt_num(pi_hi)}]", va="center", fontsize=8.5,
                       color=ACCENT, style="italic")
        ax.axvline(cp.reporting("estimate"), color=POOLED, lw=0.8, ls=":", zorder=1)
    if xs:
        _set_axis(ax, scale, min(xs), max(xs), width_in=widths[2])
    if scale == "log":
        ax.axvline(1.0, color=INK, lw=0.9, zorder=1)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=LABEL_PT)
    ax.set_xlabel(AXIS_TITLES.get(measure, measure), fontsize=9)
    named = named_favours(cp, favours)
    if named and scale == "log":
        for text, ha in ((f"◀ {named[0]}  ", "right"), (f"  {named[1]} ▶", "left")):
            ax.annotate(text, xy=(1.0, 0.0), xycoords=("data", "axes fraction"), xytext=(0, -36),
                        textcoords="offset points", ha=ha, va="top", fontsize=8.5, color=INK,
                        annotation_clip=False)
    if res is not None:
        lines = summary_lines(cp, measure)
        foot = f"{lines['heterogeneity']}\n{lines['overall']}\n{lines['model']}"
        fig.text(0.01, 0.0, foot, fontsize=8, va="top", ha="left", color=INK, transform=fig.transFigure)
    if title:
        fig.suptitle(title, fontsize=11, x=0.01, ha="left", fontweight="bold", parse_math=False)
    return fig


#: Contour-enhanced funnel (Peters, Sutton, Jones, Abrams, Rushton 2008, J Clin Epidemiol 61:991-996):
#: two-sided p of a study's own test against no effect; (p, z, fill), from the widest band in.
CONTOURS = ((0.01, 2.5758293035489004, "#c9c9c9"), (0.05, 1.959963984540054, "#dcdcdc"),
            (0.10, 1.6448536269514722, "#ececec"))


def funnel_plot(cp: CellPool, bias: BiasReport, *, title: str = "") -> Figure:
    """Contour-enhanced funnel plot: each study's effect (x; log axis for ratios) against its standard
    error (y, inverted), labelled with the study; grey bands where a study alone would be significant
    against no effect at p < 0.10, 0.05 and 0.01 (:data:`CONTOURS`; ratios only: rates and medians have
    no null), the pooled estimate with its pseudo-95% region, trim-and-fill's imputed studies as open
    circles. Drawn only when ``bias.shown`` (k ≥ 10); else the figure says why not."""
    s = cp.studies[cp.studies["included"]]
    fig = Figure(figsize=(9.0, 5.4), layout="constrained")
    ax = fig.add_subplot()
    if cp.result is None or s.empty or not bias.shown:
        why = bias.notes[0] if bias.notes else "Not enough studies for a funnel plot"
        ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, wrap=True, fontsize=9)
        ax.axis("off")
        return fig
    yi, se = s["yi"].to_numpy(float), np.sqrt(s["vi"].to_numpy(float))
    est = cp.result.estimate
    se_max = float(se.max()) * 1.15
    grid = np.linspace(0, se_max, 60)
    tx = lambda a: to_reporting(a, cp.scale)  # noqa: E731
    xs = _finite(tx(yi), tx(est - 1.96 * se_max), tx(est + 1.96 * se_max))
    if cp.scale == "log":
        z_out = CONTOURS[0][1]
        xs += _finite(tx(-z_out * se_max), tx(z_out * se_max))
        far = 10 * se_max * np.ones_like(grid)
        for _p, z, colour in reversed(CONTOURS):  # the widest band first, the darkest on top
            ax.fill_betweenx(grid, tx(-far), tx(-z * grid), color=colour, zorder=0, lw=0)
            ax.fill_betweenx(grid, tx(z * grid), tx(far), color=colour, zorder=0, lw=0)
        from matplotlib.patches import Patch

        bands = [Patch(color=c, label=lab) for (_, _, c), lab in
                 zip(CONTOURS, ("p < 0.01", "0.01 ≤ p < 0.05", "0.05 ≤ p < 0.10"), strict=True)]
        bands.append(Patch(facecolor="white", edgecolor=MUTED, label="p ≥ 0.10"))
        ax.axvline(1.0, color=INK, lw=0.8)
    else:
        bands = []
        ax.fill_betweenx(grid, tx(est - 1.96 * grid), tx(est + 1.96 * grid), color="#eef2f7", zorder=0)
    ax.plot(tx(est - 1.96 * grid), grid, color=MUTED, lw=0.8, ls="--")
    ax.plot(tx(est + 1.96 * grid), grid, color=MUTED, lw=0.8, ls="--")
    ax.axvline(float(tx(est)), color=POOLED, lw=1.0, label=f"pooled {fmt_num(float(tx(est)))}")
    ax.scatter(tx(yi), se, color=ACCENT, zorder=3, s=30, label="studies")
    for x, y, lab in zip(np.atleast_1d(tx(yi)), se, s["label"], strict=True):
        ax.annotate(str(lab), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=6.5, color=INK,
                    zorder=4, annotation_clip=True)
    tf = bias.trimfill
    if tf is not None and tf.k0 > 0:
        fy, fv = tf.yi[tf.filled], tf.vi[tf.filled]
        ax.scatter(tx(fy), np.sqrt(fv), facecolors="white", edgecolors=ACCENT, zorder=3, s=30,
                   label=f"imputed by trim-and-fill (k0 = {tf.k0})")
        ax.axvline(float(tx(tf.estimate)), color=ACCENT, lw=1.0, ls=":",
                   label=f"trim-and-fill {fmt_num(float(tx(tf.estimate)))}")
    _set_axis(ax, cp.scale, min(xs), max(xs), width_in=6.5)
    ax.set_ylim(se_max, 0)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(AXIS_TITLES.get(cp.measure, {"log": "Ratio (log scale)", "logit": "Proportion",
                                                "log_months": "Months (log scale)"}.get(cp.scale, "")))
    eg, bg = bias.egger, bias.begg
    notes = [f"Egger's test: t = {eg.stat:.2f} (df = {eg.df}), p = {eg.p_value:.3f}" if eg is not None
             else "Egger's test: not available"]
    if bg is not None:
        notes.append(f"Begg's test: Kendall's τ = {bg.tau:.2f}, p = {bg.p_value:.3f}")
    ax.set_title((title + "\n" if title else "") + "; ".join(notes), fontsize=9.5, loc="left", parse_math=False)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[h for h in handles if not h.get_label().startswith("_")] + bands,
              fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
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


#: Bubbles smaller than this (px) carry their number above them, not inside.
MIN_LABEL_PX = 24.0


def bubble_labels(size: np.ndarray, color: np.ndarray, scale: str, cmin: float | None,
                  cmax: float | None) -> tuple[list[str], list[str]]:
    """Where each bubble's number goes and in which colour: above a small bubble in dark ink, inside a
    large one in white on a dark fill (RdBu's ends, Viridis's lower 60%) and dark ink on a light one.

    >>> bubble_labels(np.array([14.0, 40.0, 40.0]), np.array([0.0, 1.8, 0.1]), "RdBu_r", -2.0, 2.0)
    (['top center', 'middle center', 'middle center'], ['#222222', 'white', '#222222'])
    """
    c = np.asarray(color, dtype=float)
    lo = float(np.nanmin(c)) if cmin is None and np.isfinite(c).any() else (cmin or 0.0)
    hi = float(np.nanmax(c)) if cmax is None and np.isfinite(c).any() else (cmax or 1.0)
    frac = np.clip((c - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    dark = (frac < 0.6) if scale == "Viridis" else ((frac < 0.22) | (frac > 0.78))
    positions, ink = [], []
    for sz, d, f in zip(np.asarray(size, float), dark, frac, strict=True):
        inside = sz >= MIN_LABEL_PX
        positions.append("middle center" if inside else "top center")
        ink.append("white" if inside and d and np.isfinite(f) else INK)
    return positions, ink


def evidence_map(table: pd.DataFrame, *, measure: str, favours: tuple[str, str] | None = None,
                 selected: str = "") -> go.Figure:
    """The evidence map: histotype (rows) × comparison (columns); bubble area ∝ patients, colour = the
    pooled (or single-study) effect, the number of trials written in the bubble. ``customdata[0]`` is
    the cell key, so a selection names the cell."""
    t = table.copy()
    rows = "population_label" if "population_label" in t.columns else "histotype_label"  # with setting and line
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
        f"<b>{plotly(getattr(r, rows))}</b><br>{plotly(r.comparison)}<br>{r.endpoint} {r.measure}"
        f"{' (' + r.arm + ' arm)' if r.measure in ('rate', 'median') else ''}<br>"
        f"trials k = {r.k}; patients = {fmt_num(r.n_total, 0)}<br>"
        f"{'pooled' if r.pooled else 'single study'}: {fmt_num(r.estimate)} "
        f"[{fmt_num(r.ci_low)}, {fmt_num(r.ci_high)}]"
        + (f"<br>I² = {fmt_num(r.i2, 0)}%" if r.pooled else "")
        for r in t.itertuples()
    ]  # fmt: skip
    line_w = [3.0 if c == selected else 0.8 for c in t["cell"]]
    positions, ink = bubble_labels(size, color, scale, cmin, cmax)
    fig.add_trace(go.Scatter(
        x=[plotly(c) for c in t["comparison"]], y=[plotly(h) for h in t[rows]],
        mode="markers+text", text=[f"{k}" for k in t["k"]], textposition=positions,
        textfont=dict(color=ink, size=11), customdata=np.stack([t["cell"]], axis=1),
        hovertext=hover, hoverinfo="text",
        marker=dict(size=size, color=color, colorscale=scale, cmid=cmid, cmin=cmin, cmax=cmax,
                    colorbar=colorbar, line=dict(color="black", width=line_w), opacity=0.9),
    ))  # fmt: skip
    n_rows, n_cols = t[rows].nunique(), t["comparison"].nunique()
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
