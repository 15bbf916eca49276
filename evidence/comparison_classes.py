"""The comparison classes of ``evidence/vocab/comparison_classes.json`` for :func:`meta.pool_table`.

``meta`` imports nothing of the project, so the commands and the dashboard load the rules here and hand
them to the pooling plan (``classes=``). :func:`plan_options` is what every committee-facing surface
(`pool`, `sof`, `demo`, the dashboard, the changes report) passes, so they pool one plan.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from meta.classes import ComparisonClasses


@functools.cache
def class_entries() -> tuple[dict[str, Any], ...]:
    doc = json.loads((resources.files("evidence") / "vocab" / "comparison_classes.json").read_text(encoding="utf-8"))
    return tuple(doc["classes"])


@functools.cache
def comparison_classes() -> ComparisonClasses:
    """The bundled comparison classes (cached)."""
    return ComparisonClasses.from_entries(class_entries())


def plan_options(classes: bool = True) -> dict[str, Any]:
    """Keyword arguments of :func:`meta.pool_table` for the project's pooling plan: the trials
    vocabulary's aliases and, unless ``classes`` is false, the comparison classes."""
    from evidence.trial_aliases import trial_aliases

    return {"trial_aliases": trial_aliases(), "classes": comparison_classes() if classes else None}


def records_of_cell(records: Any, intervention: str, comparator: str) -> Any:
    """``records`` as the pooling plan keys them for one comparison: when (``intervention``, ``comparator``)
    is a comparison class, the records its rules match carry the class in place of their agents (so a
    filter on the cell's strings finds them); any other comparison gets the records unchanged."""
    from meta.classes import apply_classes

    if len(records) and comparison_classes().rule_of(intervention, comparator):
        return apply_classes(records, comparison_classes())[0]
    return records
