"""Pure logic of the curation page: the source with its number highlighted, the edit form, saving.

Nothing here draws widgets; :mod:`dashboards.screens.curation` wires Streamlit to these functions, and
the tests call them directly. Saving goes through :class:`evidence.curation.Curation`, so the page
obeys the same rules as the command line (a reason for every edit and rejection, optimistic locking,
blinded dual review).

>>> highlight("HR <0.77> & more", 4, 8)
'HR &#60;<mark>0&#46;77</mark>&#62; &#38; more'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboards.safe import html_text
from evidence.curation import Curation
from evidence.errors import EvidenceError, NotFoundError
from evidence.field_values import parse_value, same_value, show
from evidence.schema import (
    ARMS,
    CURATABLE_FIELDS,
    ENDPOINTS,
    LINES,
    MEASURES,
    P_RELATIONS,
    PHASES,
    SETTINGS,
    EvidenceRecord,
)

#: fields offered as a choice (the empty choice is null)
CHOICES: dict[str, tuple[str, ...]] = {
    "phase": PHASES, "setting": SETTINGS, "line": LINES, "arm": ARMS, "endpoint": ENDPOINTS, "measure": MEASURES,
    "p_relation": ("", *P_RELATIONS), "randomized": ("", "true", "false"),
}  # fmt: skip
HISTORY_COLUMNS = ("at", "reviewer", "action", "field", "old", "new", "reason")
ACTIONS = ("accept", "reject", "edit")


def highlight(text: str, start: int | None, end: int | None) -> str:
    """HTML of ``text`` with ``text[start:end]`` wrapped in ``<mark>``; everything escaped first
    (:func:`dashboards.safe.html_text`: neither markdown nor HTML in the text takes effect).

    Offsets outside the text (or missing) give the escaped text without a mark.
    """
    if start is None or end is None or not 0 <= start < end <= len(text):
        return html_text(text)
    return html_text(text[:start]) + "<mark>" + html_text(text[start:end]) + "</mark>" + html_text(text[end:])


def source_html(rec: EvidenceRecord, source_text: str | None, context: int = 600) -> str:
    """The passage a record came from, with its number marked.

    Uses the stored document around the sentence (``context`` characters either side, cut at an
    ellipsis) when there is one, else the record's ``evidence_text`` with offsets made relative.
    """
    vs, ve = rec.value_start, rec.value_end
    if source_text and vs is not None and ve is not None and ve <= len(source_text):
        lo = max(0, min(rec.char_start if rec.char_start is not None else vs, vs) - context)
        hi = min(len(source_text), max(rec.char_end or ve, ve) + context)
        body = highlight(source_text[lo:hi], vs - lo, ve - lo)
        return ("…" if lo > 0 else "") + body + ("…" if hi < len(source_text) else "")
    text = rec.evidence_text or ""
    if vs is not None and ve is not None and rec.char_start is not None:
        return highlight(text, vs - rec.char_start, ve - rec.char_start)
    number = show(rec.value)
    at = text.find(number)
    return highlight(text, at, at + len(number)) if at >= 0 else html_text(text)


@dataclass(frozen=True)
class FormField:
    """One input of the edit form: its field, label, kind (``text`` or ``choice``), options, value as text."""

    name: str
    label: str
    kind: str
    options: tuple[str, ...]
    value: str


def form_fields(rec: EvidenceRecord) -> list[FormField]:
    """The editable fields of a record, in schema order, with their current values as text."""
    out = []
    for name in CURATABLE_FIELDS:
        value = show(getattr(rec, name))
        if name in CHOICES:
            options = CHOICES[name]
            options = options if value in options else (value, *options)
            out.append(FormField(name, name.replace("_", " "), "choice", options, value))
        else:
            out.append(FormField(name, name.replace("_", " "), "text", (), value))
    return out


def changes_from_form(rec: EvidenceRecord, submitted: Mapping[str, str]) -> dict[str, Any]:
    """The typed changes a submitted form makes (fields left as they were are dropped).

    Raises
    ------
    ValueError
        One line naming the field when a value cannot be read (e.g. ``value='abc': must be a number``).
    """
    changes = {}
    for name, text in submitted.items():
        value = parse_value(name, text)
        if not same_value(value, getattr(rec, name)):
            changes[name] = value
    return changes


@dataclass(frozen=True)
class SaveResult:
    """What a save did: ``ok`` and a one-line message for the page."""

    ok: bool
    message: str


def apply_save(cur: Curation, record_id: str, action: str, *, reviewer: str, version: int | None,
               changes: Mapping[str, Any] | None = None, reason: str | None = None,
               dual: bool = False) -> SaveResult:
    """Accept, reject or edit a record (or, with ``dual``, record a blinded review) and say what happened.

    Every refusal (no reviewer, no reason, a conflict with someone else's save, an invalid value)
    becomes ``SaveResult(False, message)``; nothing is raised.
    """
    if action not in ACTIONS:
        return SaveResult(False, f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    if not reviewer.strip():
        return SaveResult(False, "sign in with a reviewer account first")
    decision = {"accept": "accepted", "reject": "rejected", "edit": "edited"}[action]
    try:
        if dual:
            r = cur.review(record_id, decision, reviewer=reviewer, values=changes, reason=reason, version=version)
            return SaveResult(True, f"recorded your decision ({r.decision}); the other reviewer's stays hidden "
                                    "until you both finish the source")
        if action == "accept":
            rec = cur.accept(record_id, reviewer=reviewer, version=version)
        elif action == "reject":
            rec = cur.reject(record_id, reviewer=reviewer, reason=reason, version=version)
        else:
            rec = cur.edit(record_id, changes or {}, reviewer=reviewer, reason=reason, version=version)
    except (EvidenceError, ValueError) as exc:
        return SaveResult(False, str(exc).splitlines()[0])
    return SaveResult(True, f"{rec.record_id}: {rec.status} by {rec.reviewer}")


def history_frame(cur: Curation, record_id: str) -> pd.DataFrame:
    """A record's history for display (oldest first); empty for an unknown record."""
    try:
        frame = cur.history(record_id)
    except NotFoundError:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return frame.reindex(columns=list(HISTORY_COLUMNS)).astype(str).replace({"None": "", "nan": ""})


def record_label(row: Mapping[str, Any]) -> str:
    """A short label of a record for the picker: source, endpoint, measure, arm and value (and its status
    when it is no longer pending).

    >>> record_label({"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast", "value": 0.7,
    ...               "status": "rejected"})
    'PMID:1 · OS HR contrast = 0.7 (rejected)'
    """
    status = row.get("status")
    tail = f" ({status})" if status and status != "extracted" else ""
    return f"{row['source_id']} · {row['endpoint']} {row['measure']} {row['arm']} = {show(row['value'])}{tail}"


def widget_key(record_id: str, name: str) -> str:
    """The key of one input of one record's form: keyed by record, so a form never shows another's values."""
    return f"edit_{record_id}_{name}"


def record_keys(keys: Any, record_id: str) -> list[str]:
    """The session-state keys that belong to one record's form (its inputs, reasons, opened snapshot)."""
    prefixes = (f"edit_{record_id}_", f"reject_reason_{record_id}", f"opened_{record_id}")
    return [k for k in keys if isinstance(k, str) and k.startswith(prefixes)]


def next_pending(ids: list[str], current: str) -> str | None:
    """The record to open after deciding ``current``: the next one in the list, else the first other one.

    >>> next_pending(["a", "b", "c"], "b"), next_pending(["a", "b", "c"], "c"), next_pending(["a"], "a")
    ('c', 'a', None)
    """
    rest = [i for i in ids if i != current]
    if not rest:
        return None
    if current in ids:
        after = [i for i in ids[ids.index(current) + 1:] if i != current]
        if after:
            return after[0]
    return rest[0]


def changes_from_texts(rec: EvidenceRecord, shown: Mapping[str, str], submitted: Mapping[str, str]) -> dict[str, Any]:
    """The typed changes of the fields whose text the reviewer changed from what the form ``shown``.

    Only those fields are sent: a field the reviewer left alone is never written back, whatever the
    record holds now (another reviewer's save is then caught by the version check, not overwritten).

    Raises
    ------
    ValueError
        One line naming the field when a changed value cannot be read.
    """
    changes = {}
    for name, text in submitted.items():
        if name in shown and text == shown[name]:
            continue
        value = parse_value(name, text)
        if name not in shown or not same_value(value, parse_value(name, shown[name])):
            changes[name] = value
    return {k: v for k, v in changes.items() if not same_value(v, getattr(rec, k))} if rec is not None else changes
