"""Glue between widgets and the :class:`~dashboards.state.ViewState` kept in the session and the URL.

The view lives in ``st.session_state["_view"]`` (seeded from ``st.query_params`` on a session's first
run) and is written back to the URL at the end of every run, so a copied link reopens the same view.
A widget is seeded from the view when it first appears (widget state is dropped when a page is left)
and its value written back to the view after it renders. Widgets are looked up by ``key=`` in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import streamlit as st

from dashboards.state import ViewState, params_from_state, state_from_params

VIEW = "_view"
POOLED_PAGE = "screens/pooled_estimate.py"


def current_view() -> ViewState:
    """The session's view (read from the URL on the session's first run)."""
    if VIEW not in st.session_state:
        st.session_state[VIEW] = state_from_params(st.query_params.to_dict())
    return st.session_state[VIEW]


def set_view(state: ViewState) -> ViewState:
    st.session_state[VIEW] = state
    return state


def update_view(**changes: Any) -> ViewState:
    return set_view(replace(current_view(), **changes))


def resolve_cell(view: ViewState, table: Any) -> ViewState:
    """The view with its cell named by the map's own key: a link copied before setting and line were cell
    keys names the one cell it can mean (:func:`dashboards.views.cell_row`); its exclusions are kept."""
    from dashboards import views

    row = views.cell_row(table, view.cell) if view.cell else None
    if row is None or row["cell"] == view.cell:
        return view
    return set_view(replace(view.with_cell(row["cell"]), exclude=view.exclude))


def sync_url() -> None:
    """Write the view to the URL (only when it differs, to spare the browser's history)."""
    want = params_from_state(current_view())
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


def _seed(key: str, value: Any, valid: Callable[[Any], Any]) -> None:
    """Put the view's value into a widget's state before the widget renders (dropping invalid values)."""
    current = st.session_state[key] if key in st.session_state else value
    cleaned = valid(current)
    if key not in st.session_state or cleaned != current:
        st.session_state[key] = cleaned


def multiselect(label: str, options: Sequence[str], *, key: str, field: str, container: Any = None,
                format_func: Callable[[Any], str] = str, **kw: Any) -> tuple[str, ...]:
    """A multiselect bound to ``ViewState.<field>`` (a tuple)."""
    opts = list(options)
    _seed(key, list(getattr(current_view(), field)), lambda v: [x for x in (v or []) if x in opts])
    value = (container or st).multiselect(label, opts, key=key, format_func=format_func, **kw)
    update_view(**{field: tuple(value)})
    return tuple(value)


def selectbox(label: str, options: Sequence[str], *, key: str, value: str, container: Any = None,
              format_func: Callable[[Any], str] = str, allow_none: bool = False, **kw: Any) -> str:
    """A selectbox seeded with ``value`` (the caller writes the result to the view)."""
    opts = list(options)
    fallback = None if allow_none else (opts[0] if opts else None)
    _seed(key, value, lambda v: v if v in opts else (value if value in opts else fallback))
    extra = {"index": None} if allow_none and st.session_state.get(key) is None else {}
    out = (container or st).selectbox(label, opts, key=key, format_func=format_func, **extra, **kw)
    return "" if out is None else str(out)


def checkbox(label: str, *, key: str, field: str, container: Any = None, **kw: Any) -> bool:
    """A checkbox bound to ``ViewState.<field>``."""
    _seed(key, bool(getattr(current_view(), field)), bool)
    value = bool((container or st).checkbox(label, key=key, **kw))
    update_view(**{field: value})
    return value


def url_choices(prefix: str, names: Sequence[str]) -> dict[str, str]:
    """A page's own choices passed in the URL (``?nma_endpoint=OS``…, e.g. from the Question page's link),
    remembered for the session: :func:`sync_url` drops them from the URL at the end of the run."""
    key = f"_{prefix}_from_url"
    got = {n: _last_param(f"{prefix}_{n}") for n in names if f"{prefix}_{n}" in st.query_params}
    if got:
        st.session_state[key] = got
    return dict(st.session_state.get(key, {}))


def _last_param(name: str) -> str:
    v = st.query_params.get_all(name)
    return str(v[-1]) if v else ""


def open_cell(cell: str) -> None:
    """Choose ``cell`` and show its pooled estimate (the URL carries the new view)."""
    view = set_view(current_view().with_cell(cell))
    for key in ("pooled_cell", "exclude"):
        st.session_state.pop(key, None)
    st.switch_page(POOLED_PAGE, query_params=params_from_state(view))


def chart_pick(event: Any, key: str) -> str:
    """The cell picked in the evidence-map chart, once (a selection already handled returns "")."""
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", []) or []
    cell = ""
    for p in points:
        data = p.get("customdata")
        if data:
            cell = str(data[0] if isinstance(data, list | tuple) else data)
            break
    seen_key = f"_{key}_seen"
    if cell and st.session_state.get(seen_key) != cell:
        st.session_state[seen_key] = cell
        return cell
    if not cell:
        st.session_state.pop(seen_key, None)
    return ""


LINE_LABEL = {"first": "first line", "second_plus": "second line or later", "na": "not stated"}
SETTING_LABEL = {"advanced": "advanced / metastatic", "adjuvant": "adjuvant", "neoadjuvant": "neoadjuvant",
                 "localized": "localised", "na": "not stated"}
DESIGN_LABEL = {"rct": "randomised (RCT)", "single_arm": "single-arm", "nonrandomized": "non-randomised",
                "observational": "observational", "pooled_analysis": "pooled analysis",
                "meta_analysis": "meta-analysis", "na": "not stated"}
NOT_FOUND = "_not_found"  # session state: field -> URL filter values the store does not hold


def not_found(field: str, values: Sequence[str], options: Sequence[str]) -> tuple[str, ...]:
    """The values of a filter the store does not hold, remembered for the session until the filter is
    changed (the widget cannot show them, so they leave the view and the URL; the warning stays)."""
    seen = st.session_state.setdefault(NOT_FOUND, {})
    missing = tuple(v for v in values if v not in set(options))
    if missing:
        seen[field] = tuple(dict.fromkeys((*seen.get(field, ()), *missing)))
    return tuple(seen.get(field, ()))


def _forget(field: str) -> Callable[[], None]:
    def cb() -> None:
        st.session_state.setdefault(NOT_FOUND, {}).pop(field, None)
    return cb


def sidebar_filters(url: str) -> ViewState:
    """The filters shared by every page, in the sidebar (keys ``f_histotype`` … ``f_status``, ``f_line``,
    ``f_setting``, ``f_design``). A filter value from the URL that the store does not hold is named in a
    warning ("not found: …") rather than dropped silently."""
    from dashboards import data, safe, views

    opts = data.filter_options(url)
    sb = st.sidebar
    sb.header("Filters")
    specs = [
        ("Histotype", "histotypes", "f_histotype", views.histotype_label, "all histotypes", {}),
        ("Agent (either arm)", "agents", "f_agent", str, "all agents", {}),
        ("Endpoint", "endpoints", "f_endpoint", str, "all endpoints", {}),
        ("Line of therapy", "lines", "f_line", lambda x: LINE_LABEL.get(x, x), "all lines", {}),
        ("Setting", "settings", "f_setting", lambda x: SETTING_LABEL.get(x, x), "all settings", {}),
        ("Design", "designs", "f_design", lambda x: DESIGN_LABEL.get(x, x), "all designs",
         {"help": "The record's study design; else randomised or not as the record states."}),
        ("Phase", "phases", "f_phase", lambda p: "not stated" if p == "na" else f"phase {p}", "all phases", {}),
        ("Curation status", "statuses", "f_status", str, "all statuses",
         {"help": "Default: accepted and edited records (curated evidence)."}),
    ]  # fmt: skip
    missing: list[str] = []
    for label, field, key, fmt, placeholder, kw in specs:
        options = opts.get(field, [])
        gone = not_found(field, getattr(current_view(), field), options)
        missing.extend(f"{label.lower()} “{v}”" for v in gone)
        multiselect(label, options, key=key, field=field, container=sb, format_func=fmt, placeholder=placeholder,
                    on_change=_forget(field), **kw)
    if missing:
        sb.warning(safe.md("not found: " + ", ".join(missing) + " (no record of the store has it; filter not applied)"))
    view = current_view()
    n_all = data.record_count(url)
    n = len(data.filtered(url, data.filters_of(view)))
    sb.caption(f"{n} of {n_all} records · store `{data.get_store(url)!r}`")
    return view


MEASURE_LABEL = {"HR": "HR (hazard ratio)", "OR": "OR (odds ratio)", "RR": "RR (risk ratio)",
                 "rate": "rate (proportion, one arm)", "median": "median time (one arm)"}


def question_widgets(df: Any) -> ViewState:
    """Endpoint, measure, arm and roll-up of the evidence map (keys ``endpoint``, ``measure``, ``arm``,
    ``rollup``); a chosen cell that no longer matches the question is dropped."""
    from dashboards import views
    from dashboards.state import ARM_LEVEL, ENDPOINTS

    view = current_view()
    q = views.question_options(df)
    endpoint, measure, arm = views.resolve_question(df, view)
    c1, c2, c3, c4 = st.columns([1, 1.3, 1, 1.4])
    endpoints = [e for e in ENDPOINTS if e in set(q["endpoint"])]
    e = selectbox("Endpoint", endpoints, key="endpoint", value=endpoint, container=c1)
    measures = list(dict.fromkeys(q.loc[q["endpoint"] == e, "measure"]))
    m = selectbox("Measure", measures, key="measure", value=measure, container=c2,
                  format_func=lambda x: MEASURE_LABEL.get(x, x))
    a = ""
    if m in ARM_LEVEL:
        arms = list(dict.fromkeys(q.loc[(q["endpoint"] == e) & (q["measure"] == m), "arm"]))
        a = selectbox("Arm", arms, key="arm", value=arm, container=c3)
    with c4:
        checkbox("Roll subtypes up into parents", key="rollup", field="rollup",
                 help="Also pool each subtype's trials into its parent histotype (meta.pool_table rollup).")
    view = current_view()
    new = replace(view, endpoint=e, measure=m, arm=a)
    chosen = view.chosen
    if view.cell and (chosen is None or (chosen.endpoint, chosen.measure, chosen.question_arm) != (e, m, a)):
        new = replace(new, cell="", exclude=())
    return set_view(new)
