"""Pure logic of the dashboard's views: filtering, the evidence-map cell table, a cell's studies.

Nothing here touches Streamlit: each function takes a records DataFrame (``Store.records_frame()``)
and a :class:`~dashboards.state.ViewState` or plain values, so tests and the benchmark call exactly
what the pages call. Pooling goes through :func:`meta.pool_table` (DESIGN.md "Pooling plan").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboards.cell import Cell
from dashboards.state import ARM_LEVEL, NO_PHASE, ViewState
from evidence.comparison_classes import comparison_classes, records_of_cell
from evidence.schema import ENDPOINTS, MEASURES, RATIO_MEASURES, STATUSES
from evidence.trial_aliases import trial_aliases
from evidence.vocabulary import VOCAB
from meta import pool_table
from meta.table import TO_MONTHS

BY = ("histotype", "intervention", "comparator", "endpoint", "measure", "arm", "setting", "line")
POOL_INPUT = ("record_id", "source_id", "trial", "year", "histotypes", "intervention", "comparator", "arm",
              "endpoint", "measure", "value", "unit", "ci_low", "ci_high", "ci_level", "p_value", "p_relation", "n",
              "status", "timepoint_months", "flags", "design", "registry_ids", "subgroup", "subgroup_label",
              "p_sided", "setting", "line", "question")  # fmt: skip - question: prognostic records form no cell
MAP_COLUMNS = (
    "cell", "histotype", "histotype_label", "setting", "line", "population_label", "intervention", "comparator",
    "comparison", "endpoint", "measure", "arm", "scale", "rollup", "k", "n_total", "pooled", "estimate", "ci_low",
    "ci_high", "pi_low", "pi_high",
    "i2", "tau2", "q_p", "p_value", "converged", "record_ids", "trials", "ci_level", "agents",
)  # fmt: skip


# -- filtering -------------------------------------------------------------------------------------
def histotype_key(h: Any) -> str:
    """A record's histotypes as one key: sorted and ``+``-joined (as ``meta.pool_table``).

    >>> histotype_key(["liposarcoma", "leiomyosarcoma"])
    'leiomyosarcoma+liposarcoma'
    """
    if h is None or (isinstance(h, float) and math.isnan(h)):
        return ""
    if isinstance(h, str):
        h = [h]
    return "+".join(sorted({str(x) for x in h}))


def histotype_label(key: str) -> str:
    """Readable name of a histotype key (vocabulary labels, ``+``-joined keys kept apart).

    >>> histotype_label("leiomyosarcoma+liposarcoma")
    'leiomyosarcoma + liposarcoma'
    """
    if not key:
        return "(unspecified)"
    return " + ".join(VOCAB.histotypes[h].label if h in VOCAB.histotypes else h for h in key.split("+"))


def agents_of(*arms: Any) -> set[str]:
    """The single agents of one or more ``+``-joined arms.

    >>> sorted(agents_of("docetaxel+gemcitabine", "gemcitabine", None))
    ['docetaxel', 'gemcitabine']
    """
    out: set[str] = set()
    for arm in arms:
        if isinstance(arm, str) and arm:
            out.update(a for a in arm.split("+") if a)
    return out


def design_of(design: Any, randomized: Any) -> str:
    """A record's study design for the design filter: its ``design``, else ``rct`` when it says it was
    randomised, ``nonrandomized`` when it says it was not, else ``"na"`` (not stated).

    >>> design_of("single_arm", None), design_of("", True), design_of(None, False), design_of(None, None)
    ('single_arm', 'rct', 'nonrandomized', 'na')
    """
    if isinstance(design, str) and design:
        return design
    if randomized is True or randomized == 1:
        return "rct"
    if randomized is False or randomized == 0:
        return "nonrandomized"
    return NO_PHASE


def _stated(col: pd.Series) -> pd.Series:
    """A text column with missing and empty values as ``"na"`` (the filters' "not stated")."""
    return col.astype(object).where(col.notna(), "").astype(str).replace("", NO_PHASE)


def designs_of(df: pd.DataFrame) -> list[str]:
    """:func:`design_of` of every row."""
    design = df["design"].tolist() if "design" in df.columns else [None] * len(df)
    rnd = df["randomized"].tolist() if "randomized" in df.columns else [None] * len(df)
    return [design_of(d, None if r is None or r is pd.NA or (isinstance(r, float) and r != r) else bool(r))
            for d, r in zip(design, rnd, strict=True)]


def filter_records(df: pd.DataFrame, state: ViewState) -> pd.DataFrame:
    """The records the view's filters keep (an empty filter keeps everything).

    A record matches the histotype filter when any of its histotypes is selected, and the agent
    filter when a selected agent is in its intervention or its comparator arm.

    Parameters
    ----------
    df : DataFrame
        Records with the schema's columns (``histotypes`` a list).
    state : ViewState

    Returns
    -------
    DataFrame
        The matching rows, index reset.
    """
    if df.empty:
        return df.reset_index(drop=True)
    keep = np.ones(len(df), dtype=bool)
    if state.statuses:
        keep &= df["status"].isin(state.statuses).to_numpy()
    if state.endpoints:
        keep &= df["endpoint"].isin(state.endpoints).to_numpy()
    if state.phases:
        phase = df["phase"].fillna("").astype(str).replace("", NO_PHASE)
        keep &= phase.isin(state.phases).to_numpy()
    for field, col in (("lines", "line"), ("settings", "setting")):
        if getattr(state, field):
            keep &= _stated(df[col]).isin(getattr(state, field)).to_numpy()
    if state.designs:
        keep &= np.isin(np.array(designs_of(df), dtype=object), list(state.designs))
    if state.histotypes:
        sel = set(state.histotypes)
        keep &= np.fromiter((bool(sel.intersection(h or ())) for h in df["histotypes"]), bool, len(df))
    if state.agents:
        sel = set(state.agents)
        keep &= np.fromiter((bool(sel & agents_of(i, c)) for i, c in zip(df["intervention"], df["comparator"],
                                                                       strict=True)), bool, len(df))
    return df[keep].reset_index(drop=True)


def filter_options(df: pd.DataFrame) -> dict[str, list[str]]:
    """The values each filter can take in ``df`` (histotypes ordered by label, endpoints as the schema)."""
    hist = sorted({h for hs in df["histotypes"] for h in (hs or ())}, key=histotype_label) if len(df) else []
    agents = sorted(set().union(*(agents_of(i, c) for i, c in zip(df["intervention"], df["comparator"],
                                                                   strict=True)))) if len(df) else []
    present = set(df["endpoint"]) if len(df) else set()
    phases = sorted({str(p) for p in df["phase"].dropna() if str(p)}) if len(df) else []
    if len(df) and df["phase"].isna().any():
        phases.append(NO_PHASE)
    def stated(values: Any) -> list[str]:
        got = set(values)
        return sorted(got - {NO_PHASE}) + ([NO_PHASE] if NO_PHASE in got else [])

    return {"histotypes": hist, "agents": agents, "endpoints": [e for e in ENDPOINTS if e in present],
            "phases": phases, "statuses": list(STATUSES),
            "lines": stated(_stated(df["line"])) if len(df) else [],
            "settings": stated(_stated(df["setting"])) if len(df) else [],
            "designs": stated(designs_of(df)) if len(df) else []}


# -- the question (endpoint, measure, arm) ---------------------------------------------------------
def question_options(df: pd.DataFrame) -> pd.DataFrame:
    """Endpoint × measure × arm combinations present, with record counts, the most common first.

    Between-arm measures (HR, OR, RR) come first: they answer "does the agent work"; arm-level
    measures (rate, median) describe one arm and are pooled per arm. Prognostic-factor records are not counted.
    """
    cols = ["endpoint", "measure", "arm", "records"]
    if "question" in df.columns:  # prognostic-factor records answer their own questions (the Prognostic page)
        df = df[df["question"] != "prognostic"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    arm = np.where(df["measure"].isin(RATIO_MEASURES), "contrast", df["arm"])
    q = (pd.DataFrame({"endpoint": df["endpoint"], "measure": df["measure"], "arm": arm})
         .value_counts().rename("records").reset_index())
    q["_ratio"] = ~q["measure"].isin(RATIO_MEASURES)
    q["_m"] = q["measure"].map({m: i for i, m in enumerate(MEASURES)})
    q["_e"] = q["endpoint"].map({e: i for i, e in enumerate(ENDPOINTS)})
    q = q.sort_values(["_ratio", "records", "_e", "_m"], ascending=[True, False, True, True], kind="stable")
    return q[cols].reset_index(drop=True)


def resolve_question(df: pd.DataFrame, state: ViewState) -> tuple[str, str, str]:
    """The view's (endpoint, measure, arm), or the most common one present when unset or absent."""
    q = question_options(df)
    if q.empty:
        return state.endpoint, state.measure, state.arm
    arm = "contrast" if state.measure in RATIO_MEASURES else state.arm
    hit = q[(q["endpoint"] == state.endpoint) & (q["measure"] == state.measure) & (q["arm"] == arm)]
    if len(hit):
        return state.endpoint, state.measure, arm
    same = q[(q["endpoint"] == state.endpoint) & (q["measure"] == state.measure)]
    row = (same if len(same) else q).iloc[0]
    return str(row["endpoint"]), str(row["measure"]), str(row["arm"])


def comparison_label(intervention: Any, comparator: Any) -> str:
    """``"eribulin vs dacarbazine"``; a single-arm cell is the intervention alone."""
    i = intervention if isinstance(intervention, str) and intervention else "(unspecified)"
    return f"{i} vs {comparator}" if isinstance(comparator, str) and comparator else i


# -- the evidence map ------------------------------------------------------------------------------
def _reporting(x: float, scale: str) -> float:
    if math.isnan(x):
        return x
    if scale == "log":
        return math.exp(x)
    if scale == "logit":
        return 1.0 / (1.0 + math.exp(-x))
    return x


def reported_value(rec: Mapping[str, Any]) -> tuple[float, float, float]:
    """A record's value and CI on the reporting scale (medians in months)."""
    f = TO_MONTHS.get(str(rec.get("unit")), 1.0) if rec.get("measure") == "median" else 1.0
    vals = []
    for name in ("value", "ci_low", "ci_high"):
        v = rec.get(name)
        vals.append(math.nan if v is None or pd.isna(v) else float(v) * f)
    return vals[0], vals[1], vals[2]


def _at(timepoint: Any) -> str:
    """`` at 60 months`` for a landmark rate's time; empty otherwise."""
    if timepoint in (None, "") or timepoint != timepoint:
        return ""
    return f" at {float(timepoint):g} months"


def map_table(df: pd.DataFrame, endpoint: str, measure: str, arm: str = "", *, method: str = "REML",
              test: str = "z", rollup: bool = False, parents: Mapping[str, str] | None = None,
              classes: bool = True) -> pd.DataFrame:
    """The evidence map of one question: one row per histotype × comparison cell.

    With ``classes`` (default), comparisons of one comparison class (``evidence/vocab/
    comparison_classes.json``: an active drug against placebo or best supportive care, …) share a cell,
    as in ``sarcoma-evidence pool``; ``agents`` lists the real comparisons behind each cell.

    Parameters
    ----------
    df : DataFrame
        Filtered records.
    endpoint, measure, arm : str
        The question; ``arm`` matters for arm-level measures only (``rate``, ``median``).
    method, test : str
        As :func:`meta.pool`.
    rollup : bool
        Also pool subtypes into their parents (``parents``: child → parent; default the vocabulary's).

    Returns
    -------
    DataFrame
        Columns :data:`MAP_COLUMNS`: ``k`` trials (one contribution per trial, as ``meta.pool_table``),
        ``n_total`` patients, ``estimate``/``ci_low``/``ci_high`` on the reporting scale (ratio,
        proportion, months) — pooled when ``pooled`` (k ≥ 2), else the single study as reported —
        and the ``record_ids`` behind the cell. ``attrs["excluded"]`` lists records not pooled and
        why, ``attrs["warnings"]`` the warnings of the pooling.
    """
    sub = df[(df["endpoint"] == endpoint) & (df["measure"] == measure)] if len(df) else df
    if measure in ARM_LEVEL and len(sub):
        sub = sub[sub["arm"] == arm]
    if sub.empty:
        out = pd.DataFrame(columns=list(MAP_COLUMNS))
        out.attrs.update(excluded=[], warnings=[])
        return out
    # pool_table copies and filters its input row by row: hand it only the columns it reads, and no
    # attrs (pandas deep-copies attrs on every derived frame, which dominated this function's time)
    sub = sub.copy(deep=False)
    sub.attrs = {}
    slim = sub[[c for c in POOL_INPUT if c in sub.columns]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # the plan's record rules as the CLI (flags, designs, trial identity through the vocabulary);
        # the status filter is the page's (default accepted/edited, as pool_table's)
        t = pool_table(slim, by=BY, method=method, test=test, rollup=rollup,
                       parents=(parents if parents is not None else VOCAB.parents) if rollup else None,
                       statuses=STATUSES, trial_aliases=trial_aliases(),
                       classes=comparison_classes() if classes else None)
    excluded = list(t.attrs.get("excluded", []))
    t.attrs = {}  # else to_dict deep-copies the exclusion list once per column
    cells = t.to_dict("records")
    single = {c["record_ids"][0] for c in cells if int(c["k"]) < 2}
    by_id = {r["record_id"]: r for r in sub[sub["record_id"].isin(single)].to_dict("records")}
    rows = []
    for r in cells:
        pooled = int(r["k"]) >= 2
        if pooled:
            est, lo, hi = r["estimate_exp"], r["ci_low_exp"], r["ci_high_exp"]
            level = r["level"]
        else:
            est, lo, hi = reported_value(by_id[r["record_ids"][0]])
            level = by_id[r["record_ids"][0]].get("ci_level")
        label = histotype_label(r["histotype"]) + (" (with subtypes)" if r["rollup"] else "")
        cell = Cell.from_row(r)
        rows.append({
            "cell": cell.key, "histotype": r["histotype"], "histotype_label": label, "setting": cell.setting,
            "line": cell.line, "population_label": label + (f" · {cell.context}" if cell.context else ""),
            "intervention": r["intervention"],
            "comparator": r["comparator"],
            "comparison": comparison_label(r["intervention"], r["comparator"]) + _at(r.get("timepoint_months")),
            "endpoint": r["endpoint"], "measure": r["measure"], "arm": r["arm"], "scale": r["scale"],
            "rollup": bool(r["rollup"]), "k": int(r["k"]), "n_total": r["n_total"], "pooled": pooled,
            "estimate": est, "ci_low": lo, "ci_high": hi,
            "pi_low": r["pi_low_exp"] if pooled else math.nan, "pi_high": r["pi_high_exp"] if pooled else math.nan,
            "i2": r["i2"], "tau2": r["tau2"], "q_p": r["q_p"], "p_value": r["p_value"],
            "converged": bool(r["converged"]), "record_ids": list(r["record_ids"]), "trials": list(r["trials"]),
            "ci_level": level, "agents": list(r.get("agents") or []),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(MAP_COLUMNS))
    out.attrs.update(excluded=excluded, warnings=[str(w.message) for w in caught])
    return out


def cell_options(table: pd.DataFrame) -> dict[str, str]:
    """cell key → a readable label for the cell pickers, the most trials first."""
    if table.empty:
        return {}
    t = table.sort_values(["k", "n_total", "histotype_label", "comparison"],
                          ascending=[False, False, True, True], na_position="last", kind="stable")
    return {r.cell: f"{r.population_label} · {r.comparison} · {r.endpoint} {r.measure}"
            + (f" ({r.arm})" if r.measure in ARM_LEVEL else "") + f" · k = {r.k}"
            for r in t.itertuples()}


def cell_row(table: pd.DataFrame, cell: str) -> dict[str, Any] | None:
    """The map row of ``cell``, or None.

    A key without setting and line (a link copied before they were cell keys) names the one cell of the
    map that has its other parts; when several cells do (another setting or line), it names none of them.
    """
    if not cell or table.empty:
        return None
    hit = table[table["cell"] == cell]
    if len(hit):
        return hit.iloc[0].to_dict()
    c = Cell.parse(cell)
    if c is None or c.setting or c.line:
        return None
    same = [i for i, k in enumerate(table["cell"]) if (o := Cell.parse(k)) is not None and o.without_context() == c]
    return table.iloc[same[0]].to_dict() if len(same) == 1 else None


def _context_matches(df: pd.DataFrame, col: str, value: str) -> pd.Series:
    return df[col].fillna("").astype(str) == value if col in df.columns else pd.Series(value == "", index=df.index)


def cell_not_pooled(df: pd.DataFrame, table: pd.DataFrame, cell: str) -> pd.DataFrame:
    """Records of the cell's own histotype, comparison, setting and line that the pooling left out, with the
    reason."""
    row = cell_row(table, cell)
    c = Cell.parse(row["cell"]) if row is not None else None
    if c is None or row is None or df.empty:
        return pd.DataFrame(columns=["record_id", "reason"])
    reasons = {e["record_id"]: e["reason"] for e in table.attrs.get("excluded", [])}
    df = records_of_cell(df, c.intervention, c.comparator)  # a class cell: records under its class
    sub = df[(df["endpoint"] == c.endpoint) & (df["measure"] == c.measure)
             & (df["intervention"].fillna("") == c.intervention)
             & (df["comparator"].fillna("") == c.comparator)
             & _context_matches(df, "setting", c.setting) & _context_matches(df, "line", c.line)]
    sub = sub[[histotype_key(h) == c.histotype for h in sub["histotypes"]]]
    sub = sub[~sub["record_id"].isin(row["record_ids"]) & sub["record_id"].isin(list(reasons))]
    return pd.DataFrame({"record_id": sub["record_id"], "reason": [reasons[r] for r in sub["record_id"]]})


def records_by_id(df: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    """The records with these ids, in this order."""
    idx = df.set_index("record_id", drop=False)
    return idx.loc[[i for i in ids if i in idx.index]].reset_index(drop=True)


def _num(x: Any, digits: int = 2) -> str:
    if x is None or x is pd.NA:
        return ""
    v = float(x)
    return "" if v != v else f"{v:.{digits}f}"  # v != v: NaN (cheaper than pd.isna per cell)


def value_text(value: Any, lo: Any, hi: Any) -> str:
    """``"0.77 [0.62, 0.95]"``, or the value alone without a CI."""
    lo_s, hi_s = _num(lo), _num(hi)
    return _num(value) + (f" [{lo_s}, {hi_s}]" if lo_s and hi_s else "")


def _other_level(level: Any, lo: Any) -> str:
    """`` (90% CI)`` when a single study's CI was reported at another level than the 95% the header says."""
    if level is None or lo is None or pd.isna(level) or pd.isna(lo) or abs(float(level) - 0.95) < 1e-9:
        return ""
    return f" ({100 * float(level):g}% CI)"


def map_display(table: pd.DataFrame) -> pd.DataFrame:
    """The evidence-map table as shown under the map (readable columns, one row per cell)."""
    cols = ["histotype", "comparison", "trials (k)", "patients", "estimate [95% CI]", "I² %", "pooled"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    t = table.sort_values(["k", "n_total"], ascending=False, na_position="last", kind="stable")
    return pd.DataFrame({
        "histotype": t["population_label"], "comparison": t["comparison"], "trials (k)": t["k"],
        "patients": pd.to_numeric(t["n_total"], errors="coerce").astype("Int64"),
        "estimate [95% CI]": [value_text(e, lo, hi) + _other_level(lv, lo) for e, lo, hi, lv in zip(
            t["estimate"], t["ci_low"], t["ci_high"], t["ci_level"], strict=True)],
        "I² %": [_num(x, 0) for x in t["i2"]], "pooled": t["pooled"],
    }).reset_index(drop=True)


def empty_filters_message(state: ViewState, what: str = "records") -> str:
    """What to change when the filters leave nothing: the filters in force, each named, and the
    status filter's default (curated records only) pointed out.

    >>> msg = empty_filters_message(ViewState(histotypes=("gist",), statuses=("accepted", "edited")))
    >>> msg.startswith("No records match the filters: histotype = gist; status = accepted, edited."), "extracted" in msg
    (True, True)
    """
    parts = [(name, vals) for name, vals in (("histotype", state.histotypes), ("agent", state.agents),
                                             ("endpoint", state.endpoints), ("phase", state.phases),
                                             ("status", state.statuses)) if vals]
    if not parts:
        return f"No {what} in the store yet: import or extract some (see the README, “Analyst”)."
    said = "; ".join(f"{n} = {', '.join(v)}" for n, v in parts)
    hint = (' or add "extracted" to the status filter to include records not yet curated'
            if "extracted" not in state.statuses else "")
    return f"No {what} match the filters: {said}. Remove a filter in the sidebar{',' if hint else ''}{hint}."


def dash_missing(frame: pd.DataFrame) -> Any:
    """The frame for ``st.dataframe`` with ``—`` shown for a missing value (Streamlit shows "None"), the
    numbers kept as numbers so a column still sorts by value.

    >>> f = pd.DataFrame({"n": pd.array([120, None], dtype="Int64"), "x": [0.5, None]})
    >>> [c["display_value"] for row in dash_missing(f)._translate(False, False)["body"] for c in row[1:]]
    ['120', '0.5', '—', '—']
    """
    def show(v: Any) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return "—"
        return f"{v:g}" if isinstance(v, float) else str(v)

    links = [c for c in frame.columns if str(c).endswith("_url")]  # a link column keeps its address (or none)
    return frame.style.format(show).format(lambda v: v if isinstance(v, str) else "", subset=links)


def table_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The evidence table for display: one row per record with readable columns and its source URL.

    Keeps ``evidence_text`` and the offsets for :func:`dashboards.sources.highlight_number`.
    """
    from dashboards.sources import source_url

    if df.empty:
        return pd.DataFrame(columns=["trial", "year", "histotype", "comparison", "endpoint", "measure", "arm",
                                     "value [CI]", "n", "phase", "status", "source_id", "source_url"])
    arm_unit = np.where(df["measure"] == "median", " " + df["unit"].fillna("").astype(str), "")
    return pd.DataFrame({
        "trial": df["trial"].fillna(""),
        "year": pd.to_numeric(df["year"], errors="coerce").astype("Int64"),
        # .tolist() first: iterating Arrow-backed columns item by item is slow
        "histotype": [histotype_label(histotype_key(h)) for h in df["histotypes"].tolist()],
        "comparison": [comparison_label(i, c) for i, c in zip(df["intervention"].tolist(),
                                                               df["comparator"].tolist(), strict=True)],
        "endpoint": df["endpoint"], "measure": df["measure"], "arm": df["arm"],
        "value [CI]": [value_text(v, lo, hi) + u for v, lo, hi, u in zip(
            df["value"].tolist(), df["ci_low"].tolist(), df["ci_high"].tolist(), arm_unit, strict=True)],
        # as text, "—" when missing: Streamlit prints None for a null, and styling 10,000 rows to hide it
        # triples the page's rerun time (bench/bench_dashboard.py)
        "n": ["—" if pd.isna(v) else str(int(v)) for v in pd.to_numeric(df["n"], errors="coerce").tolist()],
        "phase": df["phase"].fillna(""), "status": df["status"], "source_id": df["source_id"],
        "source_url": [source_url(s) for s in df["source_id"].tolist()], "record_id": df["record_id"],
        "evidence_text": df["evidence_text"], "char_start": df["char_start"], "value_start": df["value_start"],
        "value_end": df["value_end"],
    })  # fmt: skip
