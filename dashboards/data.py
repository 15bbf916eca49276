"""Cached queries of the store, for the pages.

``st.cache_resource`` holds the :class:`~evidence.store.Store` (one engine per URL); ``st.cache_data``
wraps pure functions that take the store URL and hashable view parts, so the cache key says exactly
what a result depends on. Results expire after :data:`TTL` seconds, so curation done elsewhere shows
up without a restart. (The dashboard does not use the spaCy pipeline: it reads curated records.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import analysis, views
from dashboards.analysis import CellPool
from dashboards.cell import ARM_LEVEL, Cell
from dashboards.state import ViewState
from evidence.store import Store, resolve_url

TTL = 60
Filters = tuple[tuple[str, ...], ...]  # histotypes, agents, endpoints, phases, statuses, lines, settings, designs


def store_url(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> str:
    """The store URL: ``--db URL`` after ``streamlit run dashboards/app.py --``, else
    ``$SARCOMA_EVIDENCE_DB``, else ``sqlite:///evidence.db`` (as the CLI).

    >>> store_url(["app.py", "--db", "sqlite:///demo.db"], {})
    'sqlite:///demo.db'
    >>> store_url(["app.py"], {"SARCOMA_EVIDENCE_DB": "sqlite:///x.db"})
    'sqlite:///x.db'
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    args, _ = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv[1:]))
    env = os.environ if environ is None else environ
    return resolve_url(args.db or env.get("SARCOMA_EVIDENCE_DB"))


def filters_of(state: ViewState) -> Filters:
    """The parts of a view that decide which records are kept (the cache key of :func:`filtered`)."""
    return (state.histotypes, state.agents, state.endpoints, state.phases, state.statuses, state.lines,
            state.settings, state.designs)


@st.cache_resource(show_spinner=False)
def get_store(url: str) -> Store:
    """One store (engine, connection pool) per URL for the whole server."""
    return Store(url)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def records(url: str) -> pd.DataFrame:
    """Every record of the store."""
    return get_store(url).records_frame()


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def filter_options(url: str) -> dict[str, list[str]]:
    """The sidebar's choices (small: cached apart from the records, which a cache hit would unpickle)."""
    return views.filter_options(records(url))


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def record_count(url: str) -> int:
    """How many records the store holds."""
    return len(records(url))


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def sources(url: str) -> pd.DataFrame:
    """Every source document without its text."""
    return get_store(url).sources_frame()


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=32)
def filtered(url: str, filters: Filters) -> pd.DataFrame:
    """The records the filters keep."""
    h, a, e, p, s, ln, st_, d = filters
    return views.filter_records(records(url), ViewState(histotypes=h, agents=a, endpoints=e, phases=p, statuses=s,
                                                        lines=ln, settings=st_, designs=d))


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def map_table(url: str, filters: Filters, endpoint: str, measure: str, arm: str, method: str, test: str,
              rollup: bool) -> pd.DataFrame:
    """The evidence-map table of one question under the filters (see :func:`dashboards.views.map_table`)."""
    return views.map_table(filtered(url, filters), endpoint, measure, arm, method=method, test=test, rollup=rollup)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=16)
def all_pooled(url: str, filters: Filters, method: str, test: str, rollup: bool) -> pd.DataFrame:
    """The evidence-map tables of every question present, stacked (for the pooled-results export)."""
    df = filtered(url, filters)
    q = views.question_options(df)
    parts = [map_table(url, filters, r.endpoint, r.measure, r.arm if r.measure in ("rate", "median") else "",
                       method, test, rollup) for r in q.itertuples()]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(views.MAP_COLUMNS))


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def cell_pool(url: str, filters: Filters, cell: str, method: str, test: str, rollup: bool,
              exclude: tuple[str, ...]) -> CellPool | None:
    """The pooled estimate of ``cell`` (None when the cell is not in the filtered map)."""
    c = Cell.parse(cell)
    if c is None:
        return None
    table = map_table(url, filters, c.endpoint, c.measure, c.question_arm, method, test, rollup)
    return analysis.analyse_cell(filtered(url, filters), views.cell_row(table, cell), exclude, method, test)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=32)
def cell_figures(url: str, filters: Filters, cell: str, method: str, test: str, rollup: bool,
                 exclude: tuple[str, ...]) -> dict[str, bytes]:
    """PNG and SVG of the cell's forest and funnel plots: keys ``forest.png``, ``forest.svg``, …"""
    from dashboards import charts  # matplotlib: imported by the first page that draws, not at start-up

    cp = cell_pool(url, filters, cell, method, test, rollup, exclude)
    if cp is None or Cell.parse(cell) is None:
        return {}
    figs = {"forest": forest_figure(cp, cell)}
    if cp.result is not None:
        figs["funnel"] = charts.funnel_plot(cp, analysis.small_study_bias(cp, method), title=cell_title(cell))
    return {f"{name}.{fmt}": charts.figure_bytes(fig, fmt) for name, fig in figs.items() for fmt in ("png", "svg")}


def cell_title(cell: str) -> str:
    """``"Leiomyosarcoma · eribulin vs dacarbazine · OS HR"``, with the setting and line when the cell has them
    (``"Leiomyosarcoma (advanced, second line or later) · …"``)."""
    c = Cell.parse(cell)
    if c is None:
        return ""
    arm = f" ({c.arm} arm)" if c.measure in ARM_LEVEL else ""
    at = f" at {c.timepoint} months" if c.timepoint else ""
    where = f" ({c.context})" if c.context else ""
    return (f"{views.histotype_label(c.histotype)}{where} · {views.comparison_label(c.intervention, c.comparator)}"
            f" · {c.endpoint} {c.measure}{arm}{at}")


def forest_figure(cp: CellPool, cell: str) -> Any:
    """The cell's forest plot (not cached: a matplotlib Figure)."""
    from dashboards import charts

    c = Cell.parse(cell)
    endpoint, measure = (c.endpoint, c.measure) if c is not None else ("", "HR")
    return charts.forest_plot(cp, measure=measure, favours=analysis.favours(endpoint, measure),
                              title=cell_title(cell))
