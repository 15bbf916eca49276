"""The question view's logic: every comparison of one histotype × setting × line × endpoint, and subgroups.

A committee asks "what do we know for second-line advanced leiomyosarcoma, overall survival?". Its cells
are keyed as :func:`meta.pool_table` keys them by default — histotype, intervention, comparator, endpoint,
measure, setting, line (:data:`BY`) — so trials of another line or setting never share a cell. Each
comparison shows its pooled estimate (k ≥ 2; one study as reported otherwise), k, participants and the
certainty proposed by :func:`meta.certainty.propose_certainty` with the store's risk-of-bias judgements
(:func:`evidence.sof.sof_rows`, as the Certainty page).

The subgroup analysis pools one comparison per level of a record field (histotype, line, setting, design,
phase, …) with :func:`meta.pool_table` and compares the subgroup estimates with
:func:`meta.subgroup_test` (Q_between on G − 1 df; separate τ² per subgroup, Borenstein et al. 2009 ch. 19).
Nothing here touches Streamlit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboards import views
from dashboards.state import NO_PHASE
from evidence.comparison_classes import comparison_classes, records_of_cell
from evidence.questions import QUESTION_BY, Question
from evidence.schema import RATIO_MEASURES, STATUSES
from evidence.trial_aliases import trial_aliases
from meta import pool_table, subgroup_test

BY = QUESTION_BY
COMPARISON_BY = ("intervention", "comparator", "endpoint", "measure")
ALL = ""  # the histotype choice "every histotype"
#: record fields offered for subgroups first (any other short text column of the records is offered after)
SUBGROUP_FIELDS = ("histotype", "line", "setting", "design", "phase", "randomized", "year")
COLUMNS = ("key", "histotype", "histotype_label", "intervention", "comparator", "comparison", "endpoint", "measure",
           "setting", "line", "k", "participants", "estimate", "ci_low", "ci_high", "i2", "pooled", "certainty",
           "footnotes", "record_ids")  # fmt: skip


def _stated(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """``df`` with ``col`` as text, "na" where it is not stated (pool_table keys on exact values)."""
    out = df.copy(deep=False)
    if col == "design":
        out["design"] = views.designs_of(df)
    else:
        out[col] = views._stated(df[col])
    return out


def _pool(df: pd.DataFrame, by: Sequence[str], method: str | None, test: str | None, studies: bool = False
          ) -> pd.DataFrame:
    slim = df[[c for c in (*views.POOL_INPUT, *by) if c in df.columns and c != "histotype"]]
    slim = slim.loc[:, ~slim.columns.duplicated()].copy(deep=False)
    slim.attrs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool_table(slim, by=list(by), method=method, test=test, statuses=STATUSES,
                          trial_aliases=trial_aliases(), classes=comparison_classes(), studies=studies)


def question_options(df: pd.DataFrame) -> dict[str, list[str]]:
    """Histotypes, endpoints and between-arm measures present (histotypes as ``+``-joined keys)."""
    sub = df[df["measure"].isin(RATIO_MEASURES)] if len(df) else df
    if sub.empty:
        return {"histotypes": [], "endpoints": [], "measures": []}
    hist = sorted({views.histotype_key(h) for h in sub["histotypes"]}, key=views.histotype_label)
    ends = [e for e in sub["endpoint"].value_counts().index]
    meas = [m for m in RATIO_MEASURES if m in set(sub["measure"])]
    return {"histotypes": hist, "endpoints": ends, "measures": meas}


def question_table(df: pd.DataFrame, histotype: str, endpoint: str, measure: str = "HR", *, method: str = "REML",
                   test: str = "z", judgements: Any = None) -> pd.DataFrame:
    """Every comparison of one question: one row per intervention × comparator × setting × line.

    Parameters
    ----------
    df : DataFrame
        The filtered records (the sidebar's line, setting and design filters narrow the question).
    histotype : str
        A histotype key (:func:`dashboards.views.histotype_key`), or ``""`` for every histotype.
    endpoint, measure : str
    method, test : str
        As :func:`meta.pool` (the dashboard's choice, so numbers match the Pooled estimate page).
    judgements : evidence.grading.Judgements, optional
        Risk-of-bias judgements and certainty overrides (None: proposals without RoB).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, most trials first; ``certainty`` is the GRADE level for k ≥ 2, else
        "not assessed (k = 1)".
    """
    from evidence.sof import sof_rows

    if df.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    sub = df[(df["endpoint"] == endpoint) & (df["measure"] == measure)]
    if histotype:
        sub = sub[[views.histotype_key(h) == histotype for h in sub["histotypes"]]]
    if sub.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    sub = _stated(_stated(sub, "setting"), "line")
    t = _pool(sub, BY, method, test)
    t = t.sort_values(["k", "n_total"], ascending=False, kind="stable", na_position="last")
    sof = {r.question: r for r in sof_rows(sub, t, BY, judgements)}
    by_id = {r["record_id"]: r for r in sub.to_dict("records")}
    rows = []
    for r in t.to_dict("records"):
        key = Question.from_row(r).key
        pooled = int(r["k"]) >= 2
        if pooled:
            est, lo, hi = r["estimate_exp"], r["ci_low_exp"], r["ci_high_exp"]
        else:
            est, lo, hi = views.reported_value(by_id[r["record_ids"][0]])
        s = sof.get(key)
        rows.append({
            "key": key, "histotype": r["histotype"], "histotype_label": views.histotype_label(r["histotype"]),
            "intervention": r["intervention"], "comparator": r["comparator"],
            "comparison": views.comparison_label(r["intervention"], r["comparator"]), "endpoint": r["endpoint"],
            "measure": r["measure"], "setting": r["setting"], "line": r["line"], "k": int(r["k"]),
            "participants": None if pd.isna(r["n_total"]) else int(r["n_total"]), "estimate": est, "ci_low": lo,
            "ci_high": hi, "i2": r["i2"], "pooled": pooled,
            "certainty": s.certainty.level if s is not None and s.certainty else "not assessed (k = 1)",
            "footnotes": " | ".join(s.certainty.footnotes()) if s is not None and s.certainty else "",
            "record_ids": list(r["record_ids"]),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def display(table: pd.DataFrame, labels: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """The question table as shown: readable columns, one row per comparison."""
    labels = labels or {}
    cols = ["histotype", "comparison", "setting", "line", "trials (k)", "participants", "estimate [95% CI]", "I² %",
            "certainty"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    lab = {f: labels.get(f, {}) for f in ("setting", "line")}
    return pd.DataFrame({
        "histotype": table["histotype_label"], "comparison": table["comparison"],
        "setting": [lab["setting"].get(x, x) for x in table["setting"]],
        "line": [lab["line"].get(x, x) for x in table["line"]], "trials (k)": table["k"],
        "participants": pd.array(table["participants"].tolist(), dtype="Int64"),
        "estimate [95% CI]": [views.value_text(e, lo, hi) for e, lo, hi in zip(
            table["estimate"], table["ci_low"], table["ci_high"], strict=True)],
        "I² %": [views._num(x, 0) if p else "" for x, p in zip(table["i2"], table["pooled"], strict=True)],
        "certainty": table["certainty"],
    }).reset_index(drop=True)  # fmt: skip


def network_params(histotype: str, endpoint: str, measure: str, settings: Sequence[str], lines: Sequence[str]
                   ) -> dict[str, str]:
    """Query parameters that open the Network page on this question (read by its selectors)."""
    out = {"nma_endpoint": endpoint, "nma_measure": measure}
    if histotype:
        out["nma_histotype"] = histotype
    if len(settings) == 1 and settings[0] != NO_PHASE:
        out["nma_setting"] = settings[0]
    if len(lines) == 1 and lines[0] != NO_PHASE:
        out["nma_line"] = lines[0]
    return out


# -- subgroups ------------------------------------------------------------------------------------
def subgroup_fields(df: pd.DataFrame) -> list[str]:
    """Record fields a subgroup analysis can split on: :data:`SUBGROUP_FIELDS`, then other text columns
    with 2–30 distinct values."""
    skip = {"record_id", "source_id", "source_file", "source_title", "evidence_text", "status", "reviewer",
            "intervention", "comparator", "endpoint", "measure", "arm", "unit", "histotypes", "flags",
            "registry_ids", "notes", "question", "factor"}
    out = [f for f in SUBGROUP_FIELDS if f == "histotype" or f in df.columns]
    for c in df.columns:
        if c in skip or c in out or df[c].dtype.kind not in "OUbi":
            continue
        try:
            n = df[c].dropna().astype(str).nunique()
        except TypeError:
            continue
        if 2 <= n <= 30:
            out.append(c)
    return out


def comparisons(table: pd.DataFrame) -> dict[str, str]:
    """intervention|comparator → label, of a question table (the subgroup analysis's choices)."""
    out: dict[str, str] = {}
    for r in table.itertuples():
        out.setdefault(f"{r.intervention}|{r.comparator}", r.comparison)
    return out


@dataclass(frozen=True)
class Subgroups:
    """A subgroup analysis of one comparison: the per-subgroup pools, their studies and the test."""

    field: str
    measure: str
    studies: pd.DataFrame  # group, trial, yi, vi, weight (percent within the group)
    groups: pd.DataFrame  # group, k, n, estimate, ci_low, ci_high, i2 (reporting scale)
    overall: dict[str, float]  # k, estimate, ci_low, ci_high, i2 of every contribution together
    test: Any  # meta.SubgroupResult, None with fewer than two subgroups
    message: str = ""

    @property
    def shared_trials(self) -> list[str]:
        """Trials contributing to more than one subgroup (e.g. a trial's overall result and its subgroup):
        the test for subgroup differences assumes independent subgroups, which these break."""
        if self.studies.empty:
            return []
        n = self.studies.groupby("trial")["group"].nunique()
        return sorted(n[n > 1].index.astype(str))

    def test_text(self) -> str:
        """``"Test for subgroup differences: Q_between = 1.23, df = 1, p = 0.267"``."""
        if self.test is None:
            return f"Test for subgroup differences: not computed ({self.message})"
        t = self.test
        return (f"Test for subgroup differences: Q_between = {t.q_between:.2f}, df = {t.df}, "
                f"p = {t.p_value:.3g}")


def _group_label(field: str, value: Any) -> str:
    if field == "histotype":
        return views.histotype_label(str(value))
    return "not stated" if value in (None, "", NO_PHASE) else str(value)


def subgroups(df: pd.DataFrame, intervention: str, comparator: str, endpoint: str, measure: str, field: str,
              *, method: str = "REML", test: str = "z") -> Subgroups:
    """Pool one comparison per level of ``field`` and test the subgroup differences.

    Each subgroup is a :func:`meta.pool_table` cell (one contribution per trial, the plan's rules) keyed by
    the comparison and ``field``; its contributions' ``yi``/``vi`` go to :func:`meta.subgroup_test` with the
    subgroup labels, so Q_between compares exactly the pooled diamonds drawn. The overall estimate pools
    the comparison without the split.
    """
    empty = pd.DataFrame(columns=["group", "trial", "yi", "vi", "weight"])
    df = records_of_cell(df, intervention, comparator)  # a class question: its records under the class
    sub = df[(df["endpoint"] == endpoint) & (df["measure"] == measure)
             & (df["intervention"].fillna("") == intervention) & (df["comparator"].fillna("") == comparator)]
    if field != "histotype" and field in sub.columns:
        sub = _stated(sub, field)
        if field == "year":
            sub[field] = sub[field].astype(str).str.replace(r"\.0$", "", regex=True)
    if sub.empty:
        return Subgroups(field, measure, empty, pd.DataFrame(), {}, None, "no record of this comparison")
    t = _pool(sub, (*COMPARISON_BY, field), method, test, studies=True)
    whole = _pool(sub, COMPARISON_BY, method, test)
    rows, grows = [], []
    for r in t.sort_values(field, kind="stable").to_dict("records"):
        label = _group_label(field, r[field])
        w = list(r["weights"]) if int(r["k"]) >= 2 else [100.0]
        for trial, yi, vi, wt in zip(r["trials"], r["yi"], r["vi"], w, strict=False):
            rows.append({"group": label, "trial": trial, "yi": float(yi), "vi": float(vi), "weight": float(wt)})
        if int(r["k"]) >= 2:
            est, lo, hi, i2 = r["estimate"], r["ci_low"], r["ci_high"], r["i2"]
        else:
            est = float(r["yi"][0])
            se = math.sqrt(float(r["vi"][0]))
            est, lo, hi, i2 = est, est - 1.959963984540054 * se, est + 1.959963984540054 * se, 0.0
        grows.append({"group": label, "k": int(r["k"]), "n": r["n_total"], "estimate": est, "ci_low": lo,
                      "ci_high": hi, "i2": i2})
    studies = pd.DataFrame(rows, columns=list(empty.columns))
    groups = pd.DataFrame(grows)
    ov: dict[str, float] = {}
    if len(whole):
        w0 = whole.sort_values("k", ascending=False).iloc[0]
        ov = {"k": int(w0["k"]), "estimate": float(w0["estimate"]), "ci_low": float(w0["ci_low"]),
              "ci_high": float(w0["ci_high"]), "i2": float(w0["i2"])}
    if groups["group"].nunique() < 2:
        return Subgroups(field, measure, studies, groups, ov, None,
                         f"one subgroup only ({groups['group'].iloc[0]})")
    res = subgroup_test(studies["yi"].to_numpy(), studies["vi"].to_numpy(), studies["group"], method=method,
                        test=test)
    return Subgroups(field, measure, studies, groups, ov, res)


def forest(sg: Subgroups, title: str = "") -> Any:
    """The subgroup forest: each subgroup's studies (squares ∝ weight, CI lines), its pooled diamond, the
    overall diamond, and the test for subgroup differences under the plot (matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio = sg.measure in RATIO_MEASURES
    tx = np.exp if ratio else (lambda x: x)
    lines: list[tuple[str, str, Any]] = []  # kind, label, payload
    for g in sg.groups.to_dict("records"):
        lines.append(("header", f"{g['group']}", None))
        for s in sg.studies[sg.studies["group"] == g["group"]].to_dict("records"):
            lines.append(("study", f"  {s['trial']}", s))
        lines.append(("diamond", f"  Subgroup (k = {g['k']}, I² = {g['i2']:.0f}%)", g))
    if sg.overall:
        lines.append(("overall", f"Overall (k = {sg.overall['k']}, I² = {sg.overall['i2']:.0f}%)", sg.overall))
    n = len(lines)
    fig, ax = plt.subplots(figsize=(9.5, 0.34 * n + 1.6))
    for i, (kind, label, p) in enumerate(lines):
        y = n - i
        ax.text(-0.02, y, label, transform=ax.get_yaxis_transform(), ha="right", va="center",
                fontsize=9, fontweight="bold" if kind in ("header", "overall") else "normal")
        if kind == "study":
            se = math.sqrt(p["vi"])
            lo, hi = p["yi"] - 1.959963984540054 * se, p["yi"] + 1.959963984540054 * se
            ax.plot([tx(lo), tx(hi)], [y, y], color="0.25", lw=1)
            ax.plot([tx(p["yi"])], [y], "s", color="0.25", ms=3 + 7 * math.sqrt(max(p["weight"], 1) / 100))
            text = f"{tx(p['yi']):.2f} [{tx(lo):.2f}, {tx(hi):.2f}]"
        elif kind in ("diamond", "overall"):
            xs = [tx(p["ci_low"]), tx(p["estimate"]), tx(p["ci_high"]), tx(p["estimate"])]
            ax.fill(xs, [y, y + 0.3, y, y - 0.3], color="tab:blue" if kind == "diamond" else "black")
            text = f"{tx(p['estimate']):.2f} [{tx(p['ci_low']):.2f}, {tx(p['ci_high']):.2f}]"
        else:
            text = ""
        ax.text(1.02, y, text, transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize=9)
    ax.axvline(1.0 if ratio else 0.0, color="0.5", lw=0.8, ls="--")
    if ratio:
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        ax.set_xscale("log")
        lo, hi = ax.get_xlim()
        ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 10.0) if lo <= t <= hi]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks([])
    ax.set_ylim(0.3, n + 0.7)
    ax.set_xlabel(f"{sg.measure} (95% CI)" + (", log scale" if ratio else ""))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=10)
    fig.text(0.5, 0.01, sg.test_text(), ha="center", fontsize=9)
    fig.subplots_adjust(left=0.36, right=0.78, bottom=0.9 / (0.34 * n + 1.6) + 0.05)
    return fig


def groups_display(sg: Subgroups) -> pd.DataFrame:
    """The subgroup table as shown (reporting scale)."""
    ratio = sg.measure in RATIO_MEASURES
    tx = math.exp if ratio else (lambda x: x)
    g = sg.groups
    if g.empty:
        return pd.DataFrame(columns=["subgroup", "trials (k)", "participants", "estimate [95% CI]", "I² %"])
    return pd.DataFrame({
        "subgroup": g["group"], "trials (k)": g["k"],
        "participants": pd.array([None if pd.isna(x) else int(x) for x in g["n"]], dtype="Int64"),
        "estimate [95% CI]": [views.value_text(tx(e), tx(lo), tx(hi)) for e, lo, hi in zip(
            g["estimate"], g["ci_low"], g["ci_high"], strict=True)],
        "I² %": [f"{x:.0f}" for x in g["i2"]],
    })  # fmt: skip


__all__ = ["BY", "Subgroups", "comparisons", "display", "forest", "groups_display", "network_params",
           "question_options", "question_table", "subgroup_fields", "subgroups"]
