"""Living evidence: dated snapshots of every pooled question, and what changed between two of them.

A *question* is one cell of the pooling plan (the keys ``meta.pool_table`` groups by, with their
values). Its *state* is what the plan gives for it at one moment: k, the trials and the report each
trial contributes, the estimate with its CI and PI (reporting scale: ratios exponentiated, rates as
proportions, medians in months), τ², I², the model used, the certainty when the pool table carries
one, and how many ``extracted`` records would fall into it once curated (``waiting``).

This module never imports ``meta``: callers hand in the pooling function (``meta.table.pool_table``),
so the CLI and the dashboard compute the current state the same way (:func:`current_questions`).

A snapshot is taken only when the state differs from the latest snapshot (same ``fingerprint``:
nothing is recorded, and ``update`` says so). Snapshots are never updated or deleted.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select

from evidence.errors import EvidenceError
from evidence.store import Store, now
from evidence.tables import snapshot_questions, snapshots

__all__ = [
    "QuestionKey",
    "QuestionState",
    "Snapshot",
    "Study",
    "current_questions",
    "fingerprint",
    "latest_snapshot",
    "list_snapshots",
    "load_snapshot",
    "resolve_since",
    "save_snapshot",
    "timeline",
]

PoolFn = Callable[[pd.DataFrame], pd.DataFrame]
#: ``certainty(store, curated records, pool table, key columns)`` → {``"|".join(key values)``: level}
CertaintyFn = Callable[[Store, pd.DataFrame, pd.DataFrame, list[str]], Mapping[str, str]]
#: Columns of a pool table that are results, never keys (read by name: the table gains columns).
_NOT_KEYS = {"rollup", "k", "n_total"}
#: Key names shown in a question's label, in this order; any other key is appended as name=value.
_LABEL_ORDER = ("histotype", "intervention", "comparator", "endpoint", "measure", "arm", "setting", "line",
                "timepoint_months")


def _clean(x: Any) -> Any:
    """A JSON-safe scalar: NaN/NA → None, numpy numbers → Python, whole floats kept as floats."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return None
    if hasattr(x, "item"):  # numpy scalar
        x = x.item()
        return None if isinstance(x, float) and math.isnan(x) else x
    return x


def _num(x: Any) -> float | None:
    x = _clean(x)
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True, order=True)
class QuestionKey:
    """The keys of one pooled question, as ``(name, value)`` pairs in the pool table's column order.

    >>> q = QuestionKey.of({"histotype": "leiomyosarcoma", "intervention": "eribulin",
    ...                     "comparator": "dacarbazine", "endpoint": "OS", "measure": "HR"})
    >>> q.label
    'leiomyosarcoma · eribulin vs dacarbazine · OS HR'
    >>> QuestionKey.parse(q.text) == q
    True
    """

    items: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, keys: Mapping[str, Any]) -> QuestionKey:
        def text(v: Any) -> str:
            v = _clean(v)
            if v is None:
                return ""
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return str(v)
        return cls(tuple((str(k), text(v)) for k, v in keys.items()))

    @classmethod
    def parse(cls, text: str) -> QuestionKey:
        """The key back from :attr:`text`."""
        return cls(tuple((str(k), str(v)) for k, v in json.loads(text)))

    @property
    def text(self) -> str:
        """Canonical text (JSON): the question's identity across snapshots."""
        return json.dumps([list(p) for p in self.items], ensure_ascii=False, separators=(",", ":"))

    def get(self, name: str, default: str = "") -> str:
        return dict(self.items).get(name, default)

    @property
    def label(self) -> str:
        d = dict(self.items)
        parts = [d.get("histotype", "")]
        treat = d.get("intervention", "")
        if d.get("comparator"):
            treat += f" vs {d['comparator']}"
        parts.append(treat)
        parts.append(" ".join(x for x in (d.get("endpoint", ""), d.get("measure", "")) if x))
        if d.get("arm"):
            parts.append(f"arm {d['arm']}")
        ctx = ", ".join(d[k] for k in ("setting", "line") if d.get(k))
        if ctx:
            parts.append(ctx)
        if d.get("timepoint_months"):
            parts.append(f"at {d['timepoint_months']} months")
        parts += [f"{k}={v}" for k, v in self.items if k not in _LABEL_ORDER and k != "scale" and v]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class Study:
    """One trial's contribution to a question: which report (record) it is, and its value."""

    trial: str  # the pooling plan's trial identity (registry id, trial:NAME or source:ID)
    name: str  # as a reader names it (the trial's name, else its source)
    record_id: str
    source_id: str
    year: int | None
    value: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def report(self) -> str:
        """``PMID:32259228 (2020): 1.05 [0.84, 1.3]``."""
        ci = f" [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]" if self.ci_low is not None else ""
        year = f" ({self.year})" if self.year else ""
        return f"{self.source_id}{year}: {_fmt(self.value)}{ci}"


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "—" if x is None else format(x, spec)


@dataclass(frozen=True)
class QuestionState:
    """What the pooling plan gives for one question at one moment (reporting scale)."""

    key: QuestionKey
    k: int
    scale: str = ""
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    pi_low: float | None = None
    pi_high: float | None = None
    tau2: float | None = None
    i2: float | None = None
    model: str = ""
    certainty: str | None = None
    waiting: int = 0
    studies: tuple[Study, ...] = field(default=())

    @property
    def null_value(self) -> float | None:
        """The no-effect value of the reporting scale (1 for ratios); None where there is none."""
        return 1.0 if self.scale == "log" else None

    @property
    def conclusion(self) -> str | None:
        """``excludes 1`` / ``includes 1`` for a ratio with a CI; None otherwise."""
        null = self.null_value
        if null is None or self.ci_low is None or self.ci_high is None:
            return None
        return "includes 1" if self.ci_low <= null <= self.ci_high else "excludes 1"

    @property
    def shown(self) -> str:
        """``0.71 [0.32, 1.59]`` (or ``—`` when nothing is pooled)."""
        if self.estimate is None:
            return "—"
        ci = f" [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]" if self.ci_low is not None else ""
        return f"{_fmt(self.estimate)}{ci}" + (" mo" if self.scale == "months" else "")

    def content(self) -> dict[str, Any]:
        """Everything but the key, JSON-ready (floats rounded to 12 digits for the fingerprint)."""
        r = lambda x: None if x is None else float(f"{x:.12g}")  # noqa: E731
        return {"k": self.k, "scale": self.scale, "estimate": r(self.estimate), "ci_low": r(self.ci_low),
                "ci_high": r(self.ci_high), "pi_low": r(self.pi_low), "pi_high": r(self.pi_high),
                "tau2": r(self.tau2), "i2": r(self.i2), "model": self.model, "certainty": self.certainty,
                "waiting": self.waiting,
                "studies": [{**s.__dict__, "value": r(s.value), "ci_low": r(s.ci_low), "ci_high": r(s.ci_high)}
                            for s in self.studies]}


@dataclass(frozen=True)
class Snapshot:
    """One dated snapshot: every question's state, keyed by :attr:`QuestionKey.text`."""

    id: int | None  # None: the current state, not (yet) recorded
    taken_at: datetime
    note: str
    fingerprint: str
    inputs: tuple[str, ...]
    questions: Mapping[str, QuestionState]

    @property
    def name(self) -> str:
        when = f"{self.taken_at:%Y-%m-%d %H:%M} UTC"
        return f"snapshot #{self.id} ({when})" if self.id is not None else f"the store now ({when})"


# -- the current state ------------------------------------------------------------------------------
def _key_columns(table: pd.DataFrame) -> list[str]:
    cols = list(table.columns)
    if "k" not in cols:
        raise EvidenceError("the pool table has no 'k' column: not a meta.pool_table result")
    return [c for c in cols[: cols.index("k")] if c not in _NOT_KEYS]


def _model(row: Mapping[str, Any]) -> str:
    for name in ("model", "model_used"):
        if isinstance(row.get(name), str) and row[name]:
            return row[name]
    parts = [str(row[c]) for c in ("method", "test") if isinstance(row.get(c), str) and row.get(c)]
    return " ".join(parts)


def _studies(row: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]) -> tuple[Study, ...]:
    ids = list(row.get("record_ids") or [])
    trials = list(row.get("trials") or [None] * len(ids))
    out = []
    for rid, trial in zip(ids, trials, strict=False):
        rec = by_id.get(rid, {})
        name = _clean(rec.get("trial")) or _clean(rec.get("source_id")) or rid
        year = _clean(rec.get("year"))
        out.append(Study(trial=str(trial or name), name=str(name), record_id=str(rid),
                         source_id=str(_clean(rec.get("source_id")) or ""),
                         year=int(year) if year is not None else None, value=_num(rec.get("value")),
                         ci_low=_num(rec.get("ci_low")), ci_high=_num(rec.get("ci_high"))))
    return tuple(sorted(out, key=lambda s: s.trial))


def questions_from_table(table: pd.DataFrame, records: pd.DataFrame,
                         waiting: Mapping[str, int] | None = None,
                         certainty: Mapping[str, str] | None = None) -> list[QuestionState]:
    """One :class:`QuestionState` per row of a pool table (columns read by name).

    A single-trial question (k = 1) is not pooled; its estimate is that trial's own value and CI,
    with model ``single trial``. ``certainty`` maps ``"|".join(key values)`` to a GRADE level; a
    ``certainty`` column of the table is used otherwise.
    """
    waiting = waiting or {}
    certainty = certainty or {}
    by_id = {r["record_id"]: r for r in records.to_dict("records")} if len(records) else {}
    keys = _key_columns(table) if len(table.columns) else []
    out = []
    for row in table.to_dict("records"):
        key = QuestionKey.of({c: row[c] for c in keys})
        studies = _studies(row, by_id)
        state = QuestionState(
            key=key, k=int(row["k"]), scale=str(_clean(row.get("scale")) or ""),
            estimate=_num(row.get("estimate_exp")), ci_low=_num(row.get("ci_low_exp")),
            ci_high=_num(row.get("ci_high_exp")), pi_low=_num(row.get("pi_low_exp")),
            pi_high=_num(row.get("pi_high_exp")), tau2=_num(row.get("tau2")), i2=_num(row.get("i2")),
            model=_model(row),
            certainty=certainty.get("|".join("" if _clean(row[c]) is None else str(row[c]) for c in keys))
            or _clean(row.get("certainty")),
            waiting=int(waiting.get(key.text, 0)),
            studies=studies)
        if state.k == 1 and state.estimate is None and studies:
            s = studies[0]
            state = replace(state, estimate=s.value, ci_low=s.ci_low, ci_high=s.ci_high, model="single trial")
        out.append(state)
    return out


def waiting_by_question(pending: pd.DataFrame, pool: PoolFn) -> tuple[dict[str, int], dict[str, QuestionKey], int]:
    """How many ``extracted`` records would enter each question once curated.

    Each pending record is pooled as if accepted and as its own trial (so none supersedes another),
    which puts it in exactly the cell the pooling plan would give it. Returns (count per question
    text, the keys of those questions, records that enter no question: no CI, arm-level, flagged).
    """
    if pending.empty:
        return {}, {}, 0
    alone = pending.copy()
    alone["source_id"] = alone["record_id"]
    alone["trial"] = None
    alone["status"] = "accepted"
    if "registry_ids" in alone.columns:
        alone["registry_ids"] = [[] for _ in range(len(alone))]
    table = pool(alone)
    counts: dict[str, int] = {}
    keys: dict[str, QuestionKey] = {}
    if len(table):
        names = _key_columns(table)
        for row in table.to_dict("records"):
            key = QuestionKey.of({c: row[c] for c in names})
            keys[key.text] = key
            counts[key.text] = counts.get(key.text, 0) + len(row.get("record_ids") or [])
    return counts, keys, len(pending) - sum(counts.values())


def current_questions(store: Store, pool: PoolFn, certainty: CertaintyFn | None = None
                      ) -> tuple[list[QuestionState], int]:
    """Every question's state now: curated records (``accepted``/``edited``) pooled by ``pool``, with
    their GRADE level from ``certainty`` when given (:func:`evidence.living_plan.certainty_levels`).

    Returns (states sorted by question, pending records that enter no question). A question that only
    pending records would open is listed with k = 0 and its waiting count.
    """
    curated = store.records_frame(status=["accepted", "edited"])
    table = pool(curated) if len(curated) else pd.DataFrame(columns=["k"])
    levels = certainty(store, curated, table, _key_columns(table)) if certainty and len(table) else {}
    counts, keys, unassigned = waiting_by_question(store.records_frame(status="extracted"), pool)
    states = {q.key.text: q for q in questions_from_table(table, curated, counts, levels)}
    for text, n in counts.items():
        if text not in states:
            states[text] = QuestionState(key=keys[text], k=0, waiting=n)
    return [states[t] for t in sorted(states)], unassigned


def fingerprint(questions: Iterable[QuestionState]) -> str:
    """sha256 of the questions' keys and content (what makes two snapshots identical)."""
    body = sorted([q.key.text, q.content()] for q in questions)
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def as_snapshot(questions: Sequence[QuestionState]) -> Snapshot:
    """The current state as an unrecorded :class:`Snapshot` (id None)."""
    return Snapshot(None, now(), "", fingerprint(questions), (), {q.key.text: q for q in questions})


# -- storage ----------------------------------------------------------------------------------------
def save_snapshot(store: Store, questions: Sequence[QuestionState], *, note: str = "",
                  inputs: Sequence[str] = ()) -> Snapshot:
    """Record a dated snapshot of ``questions`` (one transaction) and return it."""
    fp, ts = fingerprint(questions), now()
    with store.engine.begin() as c:
        head = insert(snapshots).values(taken_at=ts, note=note, fingerprint=fp, n_questions=len(questions),
                                        inputs=list(inputs))
        sid = c.execute(head).inserted_primary_key[0]
        if questions:
            c.execute(insert(snapshot_questions), [
                {"snapshot_id": sid, "question": q.key.text, "keys": [list(p) for p in q.key.items],
                 **q.content(), "studies": [s.__dict__ for s in q.studies]}
                for q in questions])
    return Snapshot(int(sid), ts, note, fp, tuple(inputs), {q.key.text: q for q in questions})


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts  # SQLite drops the zone; we store UTC


def _state(row: Mapping[str, Any]) -> QuestionState:
    key = QuestionKey(tuple((str(k), str(v)) for k, v in row["keys"]))
    studies = tuple(Study(**s) for s in row["studies"])
    return QuestionState(key=key, k=row["k"], scale=row["scale"] or "", estimate=row["estimate"],
                         ci_low=row["ci_low"], ci_high=row["ci_high"], pi_low=row["pi_low"],
                         pi_high=row["pi_high"], tau2=row["tau2"], i2=row["i2"], model=row["model"] or "",
                         certainty=row["certainty"], waiting=row["waiting"], studies=studies)


def load_snapshot(store: Store, snapshot_id: int) -> Snapshot:
    """One recorded snapshot; :class:`EvidenceError` naming the ones there are when it is absent."""
    with store.engine.connect() as c:
        head = c.execute(select(snapshots).where(snapshots.c.id == snapshot_id)).mappings().first()
        if head is None:
            ids = list(c.scalars(select(snapshots.c.id).order_by(snapshots.c.id)))
            have = f"#{ids[0]}–#{ids[-1]}" if ids else "none (run `sarcoma-evidence update`)"
            raise EvidenceError(f"no snapshot #{snapshot_id} in {store!r}; snapshots: {have}")
        rows = c.execute(select(snapshot_questions).where(snapshot_questions.c.snapshot_id == snapshot_id)
                         .order_by(snapshot_questions.c.question)).mappings().all()
    qs = {r["question"]: _state(r) for r in rows}
    return Snapshot(int(head["id"]), _utc(head["taken_at"]), head["note"] or "", head["fingerprint"],
                    tuple(head["inputs"] or ()), qs)


def latest_snapshot(store: Store) -> Snapshot | None:
    with store.engine.connect() as c:
        sid = c.scalar(select(func.max(snapshots.c.id)))
    return None if sid is None else load_snapshot(store, int(sid))


def list_snapshots(store: Store) -> pd.DataFrame:
    """id, taken_at, note, n_questions, fingerprint, inputs of every snapshot, oldest first."""
    with store.engine.connect() as c:
        rows = c.execute(select(snapshots).order_by(snapshots.c.id)).mappings().all()
    df = pd.DataFrame(rows, columns=[c.name for c in snapshots.c])
    if len(df):
        df["taken_at"] = [_utc(t) for t in df["taken_at"]]
    return df


def resolve_since(store: Store, since: str | None, current: Snapshot) -> Snapshot:
    """The baseline of ``changes``.

    ``since`` is a snapshot id (``3`` or ``#3``), or a date (``2026-11-30``: the latest snapshot
    taken on or before that day, UTC). Without it: the latest snapshot, unless the store still equals
    it, then the one before (what the last step changed).
    """
    snaps = list_snapshots(store)
    if snaps.empty:
        raise EvidenceError("no snapshot yet: `sarcoma-evidence update` records the first one")
    if since is None:
        latest = load_snapshot(store, int(snaps["id"].iloc[-1]))
        if latest.fingerprint == current.fingerprint and len(snaps) > 1:
            return load_snapshot(store, int(snaps["id"].iloc[-2]))
        return latest
    s = since.strip().lstrip("#")
    if s.isdigit():
        return load_snapshot(store, int(s))
    try:
        day = datetime.fromisoformat(s)
    except ValueError:
        raise EvidenceError(f"--since {since!r}: give a snapshot id (e.g. 3) or a date (YYYY-MM-DD)") from None
    end = datetime.combine(day.date(), time.max, tzinfo=UTC) if len(s) <= 10 else _utc(day)
    before = snaps[[t <= end for t in snaps["taken_at"]]]
    if before.empty:
        first = snaps.iloc[0]
        raise EvidenceError(f"--since {since}: no snapshot on or before that date; the first is "
                            f"#{first['id']} of {first['taken_at']:%Y-%m-%d %H:%M} UTC")
    return load_snapshot(store, int(before["id"].iloc[-1]))


def timeline(store: Store, question: str) -> pd.DataFrame:
    """One question across all snapshots (cumulative, by snapshot date): snapshot, taken_at, k,
    estimate, ci_low, ci_high, pi_low, pi_high, tau2, model, certainty, waiting, trials."""
    q = (select(snapshots.c.taken_at, snapshot_questions)
         .join(snapshot_questions, snapshot_questions.c.snapshot_id == snapshots.c.id)
         .where(snapshot_questions.c.question == question).order_by(snapshots.c.id))
    with store.engine.connect() as c:
        rows = c.execute(q).mappings().all()
    cols = ["snapshot", "taken_at", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "model",
            "certainty", "waiting", "trials"]
    return pd.DataFrame([{"snapshot": r["snapshot_id"], "taken_at": _utc(r["taken_at"]),
                          **{k: r[k] for k in cols[2:-1]},
                          "trials": ", ".join(s["name"] for s in r["studies"])} for r in rows], columns=cols)
