"""Comparison classes: when a committee pools trials of different agents that answer one question.

The pooling plan keys a cell by its intervention and comparator (DESIGN.md "Pooling plan"), so trials of
pazopanib, regorafenib and trabectedin, each against placebo or best supportive care after chemotherapy,
are three cells of k = 1. A committee may instead ask "does an active drug beat an inactive control in
pretreated soft-tissue sarcoma?", the question of the published salvage-therapy meta-analyses (e.g.
Comandone et al. 2017, Crit Rev Oncol Hematol: new agents and doublets against their control arms). That
is an analysis decision, not a property of a record: records keep their real agents (so the network
meta-analysis, the evidence table and exports show what was given). Handed a :class:`ComparisonClasses`
(``classes=``), :func:`meta.pool_table` returns every per-agent cell as before and, beside them, each class
cell that joins two or more distinct comparisons (column ``comparison_class``), with the real comparisons
behind every cell in its ``agents`` column.

A class rule matches a record when its setting and line are among the rule's (an empty list matches
any), its comparator is one of the rule's ``comparators``, and its intervention has the rule's shape:

- ``"single"``: one agent (no ``+``) that is not itself a comparator of the rule;
- ``"comparator_plus_one"``: the comparator plus exactly one more agent (``doxorubicin+olaratumab``
  against ``doxorubicin``), the added agent not a control.

The first matching rule wins. A comparison written the other way round (placebo against pazopanib)
matches too, and is mapped to the classes the other way round, so the plan's inversion rule turns it
into the class cell. Agents are compared as the canonical ``+``-joined strings of the agent vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ComparisonClass", "ComparisonClasses", "apply_classes"]

SHAPES = ("single", "comparator_plus_one")
#: Arms that are never an "added agent" or an active drug.
_CONTROLS = frozenset({"placebo", "best_supportive_care", "observation"})


@dataclass(frozen=True)
class ComparisonClass:
    """One rule: comparisons of shape ``shape`` against ``comparators`` → (``intervention``, ``comparator``)."""

    id: str
    intervention: str
    comparator: str
    comparators: frozenset[str]
    shape: str
    settings: frozenset[str] = frozenset()
    lines: frozenset[str] = frozenset()
    label: str = ""

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"comparison class {self.id!r}: shape {self.shape!r} must be one of {', '.join(SHAPES)}")
        if not self.comparators:
            raise ValueError(f"comparison class {self.id!r} names no comparators")

    def _shape_ok(self, intervention: str, comparator: str) -> bool:
        parts = intervention.split("+")
        if self.shape == "single":
            return len(parts) == 1 and intervention not in self.comparators and intervention not in _CONTROLS
        rest = list(parts)
        for c in comparator.split("+"):
            if c not in rest:
                return False
            rest.remove(c)
        return len(rest) == 1 and rest[0] not in _CONTROLS

    def matches(self, intervention: str, comparator: str, setting: str, line: str) -> bool:
        return ((not self.settings or setting in self.settings) and (not self.lines or line in self.lines)
                and comparator in self.comparators and bool(intervention) and self._shape_ok(intervention, comparator))


@dataclass(frozen=True)
class ComparisonClasses:
    """An ordered set of :class:`ComparisonClass` rules (first match wins)."""

    rules: tuple[ComparisonClass, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> ComparisonClasses:
        """Rules from data entries ``{"id", "intervention", "comparator", "comparators", "shape",
        "settings", "lines", "label"}`` (e.g. ``evidence/vocab/comparison_classes.json``).

        >>> cc = ComparisonClasses.from_entries([{"id": "active_vs_control", "intervention": "active_agent",
        ...     "comparator": "control", "comparators": ["placebo", "best_supportive_care"], "shape": "single"}])
        >>> cc.classify("pazopanib", "placebo"), cc.classify("placebo", "pazopanib"), cc.classify("a+b", "placebo")
        (('active_agent', 'control'), ('control', 'active_agent'), None)
        """
        rules = []
        for e in entries:
            rules.append(ComparisonClass(
                id=str(e["id"]), intervention=str(e["intervention"]), comparator=str(e["comparator"]),
                comparators=frozenset(e.get("comparators") or ()), shape=str(e["shape"]),
                settings=frozenset(e.get("settings") or ()), lines=frozenset(e.get("lines") or ()),
                label=str(e.get("label") or "")))
        ids = [r.id for r in rules]
        if len(set(ids)) != len(ids):
            raise ValueError("comparison class ids must be unique")
        return cls(tuple(rules))

    def classify(self, intervention: str, comparator: str, setting: str = "", line: str = ""
                 ) -> tuple[str, str] | None:
        """The (intervention, comparator) classes of one comparison, or None when no rule matches."""
        for r in self.rules:
            if r.matches(intervention, comparator, setting, line):
                return r.intervention, r.comparator
            if r.matches(comparator, intervention, setting, line):
                return r.comparator, r.intervention
        return None

    def rule_of(self, intervention: str, comparator: str) -> str:
        """The id of the rule whose classes are this cell's comparison (either way round), else ``""``."""
        for r in self.rules:
            if (intervention, comparator) in ((r.intervention, r.comparator), (r.comparator, r.intervention)):
                return r.id
        return ""

    @property
    def class_ids(self) -> frozenset[str]:
        return frozenset(x for r in self.rules for x in (r.intervention, r.comparator))


def _text(col: pd.Series) -> np.ndarray:
    return col.where(col.notna(), "").astype(str).to_numpy(dtype=object)


def apply_classes(df: pd.DataFrame, classes: ComparisonClasses) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``df`` with ``intervention``/``comparator`` mapped to their classes, each row's real comparison,
    and which rows a rule matched.

    Returns the frame (a copy when anything changed; unmatched rows as they were), an object array of
    ``"intervention vs comparator"`` per row (``""`` for a row with neither) and a boolean array of the
    rows mapped. The distinct comparisons are classified once.
    """
    iv = _text(df["intervention"]) if "intervention" in df.columns else np.full(len(df), "", dtype=object)
    cp = _text(df["comparator"]) if "comparator" in df.columns else np.full(len(df), "", dtype=object)
    st = _text(df["setting"]) if "setting" in df.columns else np.full(len(df), "", dtype=object)
    ln = _text(df["line"]) if "line" in df.columns else np.full(len(df), "", dtype=object)
    real = np.array([f"{a} vs {b}" if (a or b) else "" for a, b in zip(iv, cp, strict=True)], dtype=object)
    hit = np.zeros(len(df), dtype=bool)
    if not len(df):
        return df, real, hit
    codes, uniq = pd.factorize(pd.MultiIndex.from_arrays([iv, cp, st, ln]))
    mapped = [classes.classify(a, b, s, line) for a, b, s, line in uniq]
    if not any(mapped):
        return df, real, hit
    new_iv = df["intervention"].to_numpy(dtype=object).copy()
    new_cp = df["comparator"].to_numpy(dtype=object).copy()
    for u, m in enumerate(mapped):
        if m is not None:
            rows = codes == u
            new_iv[rows], new_cp[rows] = m
            hit |= rows
    out = df.copy(deep=False)
    out["intervention"], out["comparator"] = new_iv, new_cp
    return out, real, hit
