"""Curatable field values as people type them, and as reviewers' decisions are compared.

A reviewer writes ``value=0.78`` on the command line or in a form; :func:`parse_assignments` turns
that into typed changes (``{"value": 0.78}``), refusing fields that cannot be curated with a line that
lists those that can. :func:`same_value` decides whether two reviewers chose the same value (floats
to 1e-9 relative, lists as sets, an empty string as null), :func:`show` prints a value for a person.

>>> parse_assignments(["value=0.78", "histotypes=leiomyosarcoma, liposarcoma", "n=", "randomized=yes"])
{'value': 0.78, 'histotypes': ['leiomyosarcoma', 'liposarcoma'], 'n': None, 'randomized': True}
>>> same_value(0.1 + 0.2, 0.3), same_value(["a", "b"], ["b", "a"]), same_value("", None)
(True, True, True)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from evidence.schema import CURATABLE_FIELDS, LIST_FIELDS

FLOAT_FIELDS = ("value", "ci_low", "ci_high", "ci_level", "p_value", "timepoint_months")
INT_FIELDS = ("n", "events", "p_sided")
BOOL_FIELDS = ("randomized", "adjusted")
_TRUE = ("true", "yes", "1", "y")
_FALSE = ("false", "no", "0", "n")


def parse_value(field: str, text: str) -> Any:
    """One field's value from its text form (empty text is null; a list is comma-separated or JSON).

    Raises
    ------
    ValueError
        One line naming the field and the text when it cannot be read as the field's type.
    """
    if field not in CURATABLE_FIELDS:
        raise ValueError(f"field {field!r} cannot be curated; curatable: {', '.join(CURATABLE_FIELDS)}")
    text = text.strip()
    if field in LIST_FIELDS:
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(f"{field}={text!r}: not a JSON array; write a,b or [\"a\",\"b\"]") from None
            return [str(x).strip() for x in items if str(x).strip()]
        return [x.strip() for x in text.split(",") if x.strip()]
    if text == "":
        return None
    try:
        if field in FLOAT_FIELDS:
            number = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
            if not math.isfinite(number):
                raise ValueError
            return number
        if field in INT_FIELDS:
            return int(text)
    except ValueError:
        kind = "a number" if field in FLOAT_FIELDS else "a whole number"
        raise ValueError(f"{field}={text!r}: must be {kind}") from None
    if field in BOOL_FIELDS:
        low = text.lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise ValueError(f"{field}={text!r}: must be true or false")
    return text


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["field=value", …]`` as a dict of typed changes (the last of a repeated field wins).

    Raises
    ------
    ValueError
        For an item without ``=``, a field that cannot be curated or a value of the wrong type.
    """
    changes: dict[str, Any] = {}
    for item in items:
        field, sep, text = item.partition("=")
        if not sep or not field.strip():
            raise ValueError(f"--set {item!r}: write field=value, e.g. value=0.78")
        changes[field.strip()] = parse_value(field.strip(), text)
    return changes


def _norm(v: Any) -> Any:
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, list | tuple):
        return sorted(str(x) for x in v)
    return v


def same_value(a: Any, b: Any) -> bool:
    """True when two values of one field are the same choice (floats to 1e-9 relative)."""
    a, b = _norm(a), _norm(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def differing(a: Mapping[str, Any], b: Mapping[str, Any], fields: Iterable[str] = CURATABLE_FIELDS) -> list[str]:
    """The fields whose values differ between two mappings (in ``fields`` order)."""
    return [f for f in fields if not same_value(a.get(f), b.get(f))]


def show(v: Any) -> str:
    """A value as a person reads it: empty for null, lists comma-joined, floats in shortest form.

    >>> show(None), show(["a", "b"]), show(0.78), show(True)
    ('', 'a, b', '0.78', 'true')
    """
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)
