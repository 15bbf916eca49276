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
