"""One cell of the evidence map, typed: parsed once from its URL key, passed as a value.

A cell is what :func:`meta.pool_table` pools together on the dashboard: histotype × intervention ×
comparator × endpoint × measure × arm, a landmark time for rates, and the setting and line of therapy (the
pooling plan's keys, DESIGN.md round 2: an adjuvant OS HR and an advanced second-line OS HR never share a
cell). Its :attr:`Cell.key` is the ``|``-joined text the URL (``?cell=``) and the widgets carry:

* ``histotype|intervention|comparator|endpoint|measure|arm`` — six parts;
* ``…|arm|timepoint`` — seven, when a landmark time is set;
* ``…|arm|timepoint|setting|line`` — nine, when the setting or the line is stated (timepoint may be empty).

A cell without setting and line keeps its six- or seven-part key, so links copied before setting and line
were keys still open their cell; such a link to a cell that now has a setting or a line is resolved by
:func:`dashboards.views.cell_row` when exactly one cell of the map has its other parts.

>>> c = Cell.parse("leiomyosarcoma|eribulin|dacarbazine|OS|HR|contrast||advanced|second_plus")
>>> c.setting, c.line, c.timepoint
('advanced', 'second_plus', '')
>>> Cell.parse(c.key) == c
True
>>> Cell.parse("gist|imatinib||OS|rate|single|60").key
'gist|imatinib||OS|rate|single|60'
>>> Cell.parse("<script>") is None
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from evidence.schema import ENDPOINTS, MEASURES

SEP = "|"
#: The parts of a key, in order.
FIELDS = ("histotype", "intervention", "comparator", "endpoint", "measure", "arm", "timepoint", "setting", "line")
ARM_LEVEL = ("rate", "median")
_TOKEN = re.compile(r"^[A-Za-z0-9_+./:\- ]{1,200}$")
_LINE_WORDS = {"first": "first line", "second_plus": "second line or later"}


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _months(v: Any) -> str:
    """A landmark time as the key writes it (``60``, ``1.5``), or ""."""
    if v in (None, "") or v != v:  # v != v: NaN
        return ""
    return f"{float(v):g}"


@dataclass(frozen=True)
class Cell:
    """One evidence-map cell; empty strings for parts a cell does not have."""

    histotype: str
    intervention: str
    comparator: str
    endpoint: str
    measure: str
    arm: str
    timepoint: str = ""
    setting: str = ""
    line: str = ""

    @classmethod
    def of(cls, histotype: Any, intervention: Any, comparator: Any, endpoint: Any, measure: Any, arm: Any,
           timepoint: Any = None, setting: Any = None, line: Any = None) -> Cell:
        """A cell from pooled-table values (None / NaN are empty; a landmark time in months)."""
        return cls(_text(histotype), _text(intervention), _text(comparator), _text(endpoint), _text(measure),
                   _text(arm), _months(timepoint), _text(setting), _text(line))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Cell:
        """The cell of a :func:`meta.pool_table` row (``timepoint_months`` for the landmark time)."""
        return cls.of(*(row.get(k) for k in FIELDS[:6]), row.get("timepoint_months"), row.get("setting"),
                      row.get("line"))

    @classmethod
    def parse(cls, key: str) -> Cell | None:
        """The cell of a :attr:`key` (six, seven or nine parts), or None when ``key`` is not one."""
        parts = str(key).split(SEP)
        if len(parts) not in (6, 7, 9):
            return None
        c = cls(*parts)
        if c.timepoint:
            try:
                if not float(c.timepoint) > 0:
                    return None
            except ValueError:
                return None
        if c.endpoint not in ENDPOINTS or c.measure not in MEASURES:
            return None
        if any(p and not _TOKEN.match(p) for p in parts):
            return None
        return c

    @property
    def key(self) -> str:
        """The text form (URL, widgets): six parts, a seventh for a landmark time, nine with setting or line."""
        parts = [self.histotype, self.intervention, self.comparator, self.endpoint, self.measure, self.arm]
        if self.setting or self.line:
            parts += [self.timepoint, self.setting, self.line]
        elif self.timepoint:
            parts.append(self.timepoint)
        return SEP.join(parts)

    @property
    def question_arm(self) -> str:
        """The arm of the evidence map's question: only arm-level measures (rate, median) have one."""
        return self.arm if self.measure in ARM_LEVEL else ""

    @property
    def context(self) -> str:
        """Setting and line as a reader says them ("advanced, second line or later"), or ""."""
        return ", ".join(p for p in (self.setting, _LINE_WORDS.get(self.line, self.line)) if p)

    def without_context(self) -> Cell:
        """The cell with setting and line left out (what a link from before they were keys names)."""
        return replace(self, setting="", line="")

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FIELDS}


__all__ = ["ARM_LEVEL", "FIELDS", "SEP", "Cell"]
