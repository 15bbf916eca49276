"""The "What changed" page's logic: the same comparison as ``sarcoma-evidence changes``, and each
question's timeline across snapshots (cumulative, by snapshot date).

The current state is the store's curated records pooled by ``meta.pool_table`` with its default rules,
exactly as ``update`` snapshots it (:func:`evidence.snapshots.current_questions`); the sidebar filters
do not apply here (a snapshot covers the whole store).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from evidence.changes import changes_frame, diff
from evidence.errors import EvidenceError
from evidence.living_plan import certainty_levels, pool_plan
from evidence.snapshots import (
    QuestionState,
    Snapshot,
    as_snapshot,
    current_questions,
    latest_snapshot,
    list_snapshots,
    resolve_since,
    timeline,
)
from evidence.store import Store

TTL = 60
#: Columns of the changes table on the page (all of them go into the downloads).
SHOWN = ("question", "kind", "k_before", "k_after", "shown_before", "shown_after", "summary", "waiting_for_review")


@dataclass(frozen=True)
class ChangesView:
    """What the page shows: the baseline's name, the changes (one row per question), the questions now."""

    since: str
    since_id: int | None
    changes: pd.DataFrame
    questions: pd.DataFrame  # question text, label, k, estimate, scale: the timeline picker
    message: str = ""


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def snapshot_options(url: str) -> dict[str, str]:
    """Snapshot id (as text) → ``#3 · 2026-12-02 06:05 UTC · note``, newest first."""
    snaps = list_snapshots(_store(url))
    return {str(r["id"]): f"#{r['id']} · {r['taken_at']:%Y-%m-%d %H:%M} UTC" + (f" · {r['note']}" if r["note"] else "")
            for r in snaps.iloc[::-1].to_dict("records")}


def _questions_frame(now: Snapshot) -> pd.DataFrame:
    rows = [{"question": text, "label": q.key.label, "k": q.k, "estimate": q.estimate, "scale": q.scale,
             "waiting": q.waiting} for text, q in now.questions.items()]
    return pd.DataFrame(rows, columns=["question", "label", "k", "estimate", "scale", "waiting"])


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def current(url: str) -> list[QuestionState]:
    """Every question's state now (as ``update`` would snapshot it)."""
    return current_questions(_store(url), pool_plan, certainty_levels)[0]


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=16)
def changes_view(url: str, since: str | None) -> ChangesView:
    """The changes from ``since`` (a snapshot id; None: the default baseline of ``changes``) to now."""
    store = _store(url)
    questions = current(url)
    now = as_snapshot(questions)
    try:
        base = resolve_since(store, since, now)
    except EvidenceError as exc:
        return ChangesView("", None, changes_frame([]), _questions_frame(now), str(exc))
    return ChangesView(base.name, base.id, changes_frame(diff(base, now)), _questions_frame(now))


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=32)
def timeline_frame(url: str, question: str) -> pd.DataFrame:
    """One question across every snapshot, plus a last row ``now`` when the store has moved on since.

    Columns: ``when`` (snapshot date or ``now``), snapshot, k, estimate, ci_low, ci_high, model, waiting,
    trials.
    """
    store = _store(url)
    line = timeline(store, question)
    line.insert(0, "when", [f"#{r.snapshot} {r.taken_at:%Y-%m-%d %H:%M}" for r in line.itertuples()])
    questions = current(url)
    now = next((q for q in questions if q.key.text == question), None)
    latest = latest_snapshot(store)
    then = latest.questions.get(question) if latest is not None else None
    if now is not None and (then is None or then.content() != now.content()):
        row = {"when": "now", "snapshot": None, "taken_at": None, "k": now.k, "estimate": now.estimate,
               "ci_low": now.ci_low, "ci_high": now.ci_high, "pi_low": now.pi_low, "pi_high": now.pi_high,
               "tau2": now.tau2, "model": now.model, "certainty": now.certainty, "waiting": now.waiting,
               "trials": ", ".join(s.name for s in now.studies)}
        line = pd.concat([line, pd.DataFrame([row])], ignore_index=True) if len(line) else pd.DataFrame([row])
    return line.drop(columns=["taken_at", "pi_low", "pi_high", "tau2"])


def timeline_chart(line: pd.DataFrame) -> pd.DataFrame:
    """The timeline as a chart frame: index ``when``, columns estimate, ci_low, ci_high (pooled rows only)."""
    pooled = line[line["estimate"].notna()]
    return pooled.set_index("when")[["estimate", "ci_low", "ci_high"]].astype(float)



def _short(x: object) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    return "—" if v != v else f"{v:.3g}"


def timeline_table(line: pd.DataFrame) -> pd.DataFrame:
    """The timeline as shown: when, k, estimate, CI, model, waiting, trials (numbers to 3 digits)."""
    ci = [f"[{_short(lo)}, {_short(hi)}]" if _short(lo) != "—" else "—"
          for lo, hi in zip(line["ci_low"], line["ci_high"], strict=True)]
    return pd.DataFrame({"when": line["when"], "k": line["k"], "estimate": [_short(x) for x in line["estimate"]],
                         "CI": ci, "model": line["model"], "waiting": line["waiting"], "trials": line["trials"]})


def timeline_choices(view: ChangesView) -> tuple[dict[str, str], int]:
    """Questions with at least one curated trial (text → label, by label), and the index of the first
    whose estimate or trials changed (the page's default; a question with only waiting records is not)."""
    qs = view.questions[view.questions["k"] >= 1].sort_values("label")
    labels = dict(zip(qs["question"], qs["label"], strict=True))
    ch = view.changes
    changed = set(ch.loc[ch["kind"].isin(["changed", "new question"]), "question"])
    first = next((i for i, q in enumerate(labels) if labels[q] in changed), 0)
    return labels, first


_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~$:=")


def md(text: object) -> str:
    """``text`` with every Markdown-special character backslash-escaped (document-derived names such as
    trial names are shown as written, never as links, HTML, LaTeX or colour directives).

    >>> md("[x](javascript:alert(1)) $a$")
    '\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\) \\\\$a\\\\$'
    """
    return "".join(f"\\{c}" if c in _MD_SPECIAL else c for c in str(text).replace("\n", " "))


def change_markdown(row: dict) -> tuple[str, str]:
    """The heading line and the bullet list of one change (escaped Markdown)."""
    head = (f"**{md(row['question'])}** — {md(row['kind'])} · k {row['k_before']} → {row['k_after']} · "
            f"{md(row['shown_before'])} → {md(row['shown_after'])}")
    bullets = "\n".join(f"- {md(line)}" for line in row["summary"].split("; ") if line)
    return head, bullets
