"""Prognostic factors: the vocabulary of factors and their canonical levels (``evidence/vocab/factors.jsonl``).

A prognostic record (``question = "prognostic"``) names a ``factor`` (``margin``, ``grade``, ``size``, …) and the
two levels it compares: ``factor_level`` against ``factor_reference`` (``R1`` vs ``R0``, ``grade 3`` vs
``grade 1``, ``> 5 cm`` vs ``≤ 5 cm``). Each entry of the data file lists the factor's names (``synonyms``), its
levels with the terms papers use for them, and the usual reference of each level (used when a text names only
one level: "positive margins were associated with metastasis" compares R1 with R0). Factors measured on a scale
(``grammar``: ``threshold``, with a ``unit``) take their levels from the cut-off as printed: ``> 5 cm`` and its
complement ``≤ 5 cm`` (:func:`threshold_levels`).

>>> FACTORS["margin"].reference_of("R1"), threshold_levels(">", 5, "cm")
('R0', ('> 5 cm', '≤ 5 cm'))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from evidence.errors import VocabularyError

_KEYS = {"id", "label", "synonyms", "levels", "reference", "grammar", "unit"}
_LEVEL_KEYS = {"id", "terms"}
GRAMMARS = ("threshold", "suv_threshold")


@dataclass(frozen=True)
class Level:
    """One canonical level of a factor and the terms that name it."""

    id: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Factor:
    """A prognostic factor: its names, its levels and each level's usual reference."""

    id: str
    label: str
    synonyms: tuple[str, ...]
    levels: tuple[Level, ...]
    reference: dict[str, str] = field(default_factory=dict)
    grammar: str = ""
    unit: str = ""

    def reference_of(self, level: str) -> str | None:
        """The level a text that names only ``level`` compares it with (None when the data file gives none)."""
        if level in self.reference:
            return self.reference[level]
        for lo, hi in ((">", "≤"), ("≥", "<"), ("<", "≥"), ("≤", ">")):
            if level.startswith(lo + " "):
                return hi + level[len(lo):]
        return None

    @property
    def level_ids(self) -> tuple[str, ...]:
        return tuple(lv.id for lv in self.levels)


def threshold_levels(relation: str, cut: float, unit: str) -> tuple[str, str]:
    """The level and its complement for a cut-off: ``('>', 5, 'cm')`` → ``('> 5 cm', '≤ 5 cm')``.

    Relations are ``>``, ``≥``, ``<``, ``≤`` (``>=``/``<=`` accepted); the cut prints in its shortest form.
    """
    rel = {">=": "≥", "<=": "≤"}.get(relation, relation)
    if rel not in (">", "≥", "<", "≤"):
        raise ValueError(f"relation {relation!r}: must be one of >, ≥, <, ≤")
    other = {">": "≤", "≥": "<", "<": "≥", "≤": ">"}[rel]
    c = f"{cut:g}"
    return f"{rel} {c} {unit}".strip(), f"{other} {c} {unit}".strip()


def _load(text: str, origin: str) -> dict[str, Factor]:
    out: dict[str, Factor] = {}
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{origin} line {i}"
        try:
            e = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VocabularyError(f"{where}: not JSON ({exc.msg})") from None
        unknown = sorted(set(e) - _KEYS)
        if unknown:
            raise VocabularyError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_KEYS))}")
        if not e.get("id"):
            raise VocabularyError(f"{where}: entry without an id")
        if e["id"] in out:
            raise VocabularyError(f"{where}: duplicate factor id {e['id']!r}")
        if e.get("grammar", "") not in ("", *GRAMMARS):
            raise VocabularyError(f"{where}: grammar {e['grammar']!r}; allowed: {', '.join(GRAMMARS)}")
        levels = []
        for lv in e.get("levels", []):
            bad = sorted(set(lv) - _LEVEL_KEYS)
            if bad:
                raise VocabularyError(f"{where}: unknown level key {bad[0]!r}; allowed: id, terms")
            levels.append(Level(lv["id"], tuple(lv.get("terms", ()))))
        ids = {lv.id for lv in levels}
        for a, b in e.get("reference", {}).items():
            if a not in ids or b not in ids:
                raise VocabularyError(f"{where}: reference {a!r} → {b!r} names a level the factor does not have")
        out[e["id"]] = Factor(e["id"], e.get("label", e["id"]), tuple(e.get("synonyms", ())), tuple(levels),
                              dict(e.get("reference", {})), e.get("grammar", ""), e.get("unit", ""))
    return out


def load_factors() -> dict[str, Factor]:
    """The factor vocabulary from the package's data file."""
    path = resources.files("evidence") / "vocab" / "factors.jsonl"
    return _load(path.read_text(encoding="utf-8"), "factors.jsonl")


FACTORS: dict[str, Factor] = load_factors()
