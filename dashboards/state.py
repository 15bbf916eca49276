"""The view a committee is looking at, and its URL form (``st.query_params``).

Everything that decides what the screen shows lives in one frozen :class:`ViewState`, so a copied
link reopens the same view: :func:`params_from_state` writes only what differs from the defaults,
:func:`state_from_params` reads it back and drops what it cannot understand (an old or hand-edited
link never breaks the app).

>>> s = ViewState(histotypes=("leiomyosarcoma",), method="PM").with_cell(
...     "leiomyosarcoma|eribulin|dacarbazine|OS|HR|contrast")
>>> params_from_state(s)["endpoint"], params_from_state(s)["method"]
('OS', 'PM')
>>> state_from_params(params_from_state(s)) == s
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from dashboards.cell import ARM_LEVEL, Cell
from evidence.schema import ENDPOINTS, MEASURES, PHASES, STATUSES

METHODS = ("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")  # = meta.METHODS (kept here for the URL parser)
TESTS = ("z", "knha", "adhoc")
DEFAULT_STATUSES = ("accepted", "edited")  # committees see curated evidence unless they widen it
ANY = "any"  # URL value of an empty status filter (no filter), distinct from the default
NO_PHASE = "na"  # the phase filter's name for records without a phase
CELL_SEP = "|"
_TOKEN = re.compile(r"^[A-Za-z0-9_+./:\- ]{1,200}$")
_MAX_ITEMS = 500

#: ViewState field -> URL parameter (filter parameters carry the widget keys of the sidebar).
PARAM = {
    "histotypes": "f_histotype", "agents": "f_agent", "endpoints": "f_endpoint", "phases": "f_phase",
    "statuses": "f_status", "lines": "f_line", "settings": "f_setting", "designs": "f_design",
    "endpoint": "endpoint", "measure": "measure", "arm": "arm", "rollup": "rollup",
    "cell": "cell", "method": "method", "test": "test", "exclude": "exclude",
}  # fmt: skip


@dataclass(frozen=True)
class ViewState:
    """What the dashboard shows.

    Attributes
    ----------
    histotypes, agents, endpoints, phases, statuses : tuple of str
        Filters; empty means no filter. ``phases`` uses ``"na"`` for records without a phase.
    lines, settings, designs : tuple of str
        Filters on line of therapy, setting and study design (:func:`dashboards.views.design_of`: the
        record's ``design``, else ``randomized``); ``"na"`` for records that do not state it. Values are
        kept as the URL gives them, so the sidebar can say which ones the store does not hold.
    endpoint, measure, arm : str
        The question of the evidence map (``arm`` only for arm-level measures: rate, median).
    rollup : bool
        Also pool subtypes into their parent histotype (``meta.pool_table(rollup=True)``).
    cell : str
        The chosen cell's key (:attr:`dashboards.cell.Cell.key`); :attr:`chosen` is the parsed cell.
    method, test : str
        τ² estimator and test of the pooled estimate (``meta.pool``).
    exclude : tuple of str
        record_ids left out of the chosen cell's pooled estimate.
    """

    histotypes: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    lines: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    designs: tuple[str, ...] = ()
    endpoint: str = ""
    measure: str = ""
    arm: str = ""
    rollup: bool = False
    cell: str = ""
    method: str = "REML"
    test: str = "z"
    exclude: tuple[str, ...] = ()

    @property
    def chosen(self) -> Cell | None:
        """The chosen cell, parsed (None when no cell is chosen)."""
        return Cell.parse(self.cell) if self.cell else None

    def with_cell(self, cell: str | Cell) -> ViewState:
        """The state with ``cell`` chosen: the question follows the cell, exclusions are reset."""
        if not cell:
            return replace(self, cell="", exclude=())
        c = cell if isinstance(cell, Cell) else Cell.parse(cell)
        if c is None:
            return self
        same = c.key == self.cell
        return replace(self, cell=c.key, endpoint=c.endpoint, measure=c.measure, arm=c.question_arm,
                       exclude=self.exclude if same else ())


def cell_key(histotype: str, intervention: str, comparator: str, endpoint: str, measure: str, arm: str,
             timepoint: Any = None, setting: Any = None, line: Any = None) -> str:
    """The cell's id in the URL and in widgets (:attr:`dashboards.cell.Cell.key`).

    >>> cell_key("leiomyosarcoma", "eribulin", "dacarbazine", "OS", "HR", "contrast")
    'leiomyosarcoma|eribulin|dacarbazine|OS|HR|contrast'
    >>> cell_key("gist", "imatinib", "", "OS", "rate", "single", 60.0)
    'gist|imatinib||OS|rate|single|60'
    >>> cell_key("leiomyosarcoma", "eribulin", "dacarbazine", "OS", "HR", "contrast", None, "advanced", "second_plus")
    'leiomyosarcoma|eribulin|dacarbazine|OS|HR|contrast||advanced|second_plus'
    """
    return Cell.of(histotype, intervention, comparator, endpoint, measure, arm, timepoint, setting, line).key


def parse_cell_key(key: str) -> dict[str, str] | None:
    """The parts of a :func:`cell_key` by name, or None when ``key`` is not one (:meth:`Cell.parse`).

    >>> parse_cell_key("gist|imatinib||ORR|rate|single")["comparator"]
    ''
    >>> parse_cell_key("<script>") is None
    True
    """
    c = Cell.parse(key)
    return None if c is None else c.as_dict()


def _last(v: Any) -> str:
    """A query parameter's value: Streamlit gives a str, a list for repeated keys (take the last)."""
    if isinstance(v, list | tuple):
        v = v[-1] if v else ""
    return "" if v is None else str(v)


def _items(v: Any) -> tuple[str, ...]:
    """A comma-joined list parameter as a de-duplicated tuple of well-formed tokens (order kept)."""
    out: list[str] = []
    for part in _last(v).split(","):
        part = part.strip()
        if part and _TOKEN.match(part) and part not in out:
            out.append(part)
    return tuple(out[:_MAX_ITEMS])


def state_from_params(params: Mapping[str, Any]) -> ViewState:
    """Read a :class:`ViewState` from query parameters; unknown or malformed values fall back to defaults.

    Parameters
    ----------
    params : mapping
        ``st.query_params`` or a plain dict (values str, or lists of str for repeated keys).

    Examples
    --------
    >>> state_from_params({"method": "PM", "test": "knha", "f_status": "any"}).statuses
    ()
    >>> state_from_params({"method": "bogus"}).method
    'REML'
    """
    p = {k: params[k] for k in params}
    d = ViewState()
    get = {f: p.get(PARAM[f]) for f in PARAM}
    statuses: tuple[str, ...] = d.statuses
    if get["statuses"] is not None:
        raw = _items(get["statuses"])
        statuses = () if raw == (ANY,) else tuple(s for s in raw if s in STATUSES) or d.statuses
    phases = tuple(ph for ph in _items(get["phases"]) if ph == NO_PHASE or ph in PHASES)
    endpoint = _last(get["endpoint"])
    measure = _last(get["measure"])
    arm = _last(get["arm"])
    method = _last(get["method"]).upper() or d.method
    test = _last(get["test"]).lower() or d.test
    state = ViewState(
        histotypes=_items(get["histotypes"]),
        agents=_items(get["agents"]),
        endpoints=tuple(e for e in _items(get["endpoints"]) if e in ENDPOINTS),
        phases=phases,
        statuses=statuses,
        lines=_items(get["lines"]),
        settings=_items(get["settings"]),
        designs=_items(get["designs"]),
        endpoint=endpoint if endpoint in ENDPOINTS else "",
        measure=measure if measure in MEASURES else "",
        arm=arm if measure in ARM_LEVEL and arm in ("intervention", "comparator", "single") else "",
        rollup=_last(get["rollup"]).lower() in ("1", "true", "yes"),
        method=method if method in METHODS else d.method,
        test=test if test in TESTS else d.test,
    )
    cell = _last(get["cell"])
    if cell and parse_cell_key(cell) is not None:
        state = state.with_cell(cell)
        state = replace(state, exclude=_items(get["exclude"]))
    return state


def params_from_state(state: ViewState) -> dict[str, str]:
    """The query parameters of a view: only fields that differ from the defaults, lists comma-joined.

    Examples
    --------
    >>> params_from_state(ViewState())
    {}
    >>> params_from_state(ViewState(statuses=(), rollup=True))
    {'f_status': 'any', 'rollup': '1'}
    """
    d = ViewState()
    out: dict[str, str] = {}
    for f in fields(ViewState):
        v = getattr(state, f.name)
        if v == getattr(d, f.name):
            continue
        if f.name == "statuses" and not v:
            out[PARAM[f.name]] = ANY
        elif isinstance(v, bool):
            out[PARAM[f.name]] = "1" if v else "0"
        elif isinstance(v, tuple):
            out[PARAM[f.name]] = ",".join(v)
        else:
            out[PARAM[f.name]] = str(v)
    if not state.cell:
        out.pop("exclude", None)
    return out
