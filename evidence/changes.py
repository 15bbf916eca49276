"""What changed in each pooled question between two snapshots (typed values, then rows and sentences).

:func:`diff` compares a baseline :class:`~evidence.snapshots.Snapshot` with a later one (or the
store's current state) question by question and returns one :class:`Change` per question that
changed or has records waiting for review:

- trials that joined or left the question, named;
- a trial whose contributing report was replaced by a later one (interim → final OS): the pooling
  plan keeps the latest report of a trial, so the same trial with another record is a replacement;
- the estimate with its CI before and after;
- a conclusion that flipped: for a ratio, the CI now excludes 1 where it included it, or the reverse;
- k crossing a method threshold (:data:`K_BANDS`: the few-study defaults choose the model by k), and
  the model named before and after when the pool table says which it used;
- certainty before and after, when known;
- records waiting for review (``extracted``) that would enter the question once curated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evidence.snapshots import QuestionKey, QuestionState, Snapshot, Study

__all__ = ["K_BANDS", "Change", "Replacement", "changes_frame", "diff"]

#: Lower bounds of the k bands between which the pooling plan's default model changes (DESIGN.md:
#: "which model for k = 2, 3–4, ≥ 5"), each with its name.
K_BANDS = ((0, "no curated trial"), (1, "a single trial (not pooled)"), (2, "k = 2"), (3, "k = 3–4"),
           (5, "k ≥ 5"))
_REL_TOL = 1e-9
_K_NOTE = re.compile(r"\s*\(k\s*[=≥<>≤]\s*\d+\)")  # "(k = 4)" in a model's name: not a change of model
#: Order of the kinds in a report: what moved the evidence first, then what waits for review
KIND_ORDER = ("changed", "new question", "gone", "waiting for review", "unchanged")


def k_band(k: int) -> str:
    """The name of the band ``k`` falls in.

    >>> k_band(2), k_band(4), k_band(7)
    ('k = 2', 'k = 3–4', 'k ≥ 5')
    """
    return [name for low, name in K_BANDS if k >= low][-1]


@dataclass(frozen=True)
class Replacement:
    """A trial whose report in the question was replaced by another (a later analysis)."""

    trial: str
    before: Study
    after: Study

    @property
    def text(self) -> str:
        return f"{self.trial}: {self.before.report} → {self.after.report}"


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= _REL_TOL * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class Change:
    """What changed in one question from ``before`` to ``after`` (either None: new or gone)."""

    key: QuestionKey
    before: QuestionState | None
    after: QuestionState | None

    @property
    def _b(self) -> QuestionState:
        return self.before or QuestionState(key=self.key, k=0)

    @property
    def _a(self) -> QuestionState:
        return self.after or QuestionState(key=self.key, k=0)

    @property
    def new_trials(self) -> tuple[str, ...]:
        old = {s.trial for s in self._b.studies}
        return tuple(s.name for s in self._a.studies if s.trial not in old)

    @property
    def dropped_trials(self) -> tuple[str, ...]:
        new = {s.trial for s in self._a.studies}
        return tuple(s.name for s in self._b.studies if s.trial not in new)

    @property
    def replaced(self) -> tuple[Replacement, ...]:
        old = {s.trial: s for s in self._b.studies}
        return tuple(Replacement(s.name, old[s.trial], s) for s in self._a.studies
                     if s.trial in old and old[s.trial].record_id != s.record_id)

    @property
    def estimate_changed(self) -> bool:
        b, a = self._b, self._a
        return not all(_same(getattr(b, f), getattr(a, f)) for f in ("estimate", "ci_low", "ci_high"))

    @property
    def flip(self) -> str:
        """``CI now excludes 1`` / ``CI now includes 1`` when the conclusion flipped, else ''."""
        b, a = self._b.conclusion, self._a.conclusion
        return f"CI now {a}" if b and a and a != b else ""

    @property
    def k_threshold(self) -> str:
        """``k 2 → 3: k = 2 → k = 3–4`` when k moved into another model band, else ''."""
        kb, ka = self._b.k, self._a.k
        if k_band(kb) == k_band(ka):
            return ""
        return f"k {kb} → {ka}: {k_band(kb)} → {k_band(ka)}"

    @property
    def model_change(self) -> str:
        """``before → after`` when the model differs other than in the k it names (``(k = 4)``)."""
        mb, ma = self._b.model, self._a.model
        return f"{mb} → {ma}" if mb and ma and _K_NOTE.sub("", mb) != _K_NOTE.sub("", ma) else ""

    @property
    def certainty_change(self) -> str:
        cb, ca = self._b.certainty, self._a.certainty
        return f"{cb or 'unknown'} → {ca or 'unknown'}" if (cb or ca) and cb != ca else ""

    @property
    def waiting(self) -> int:
        return self._a.waiting

    @property
    def kind(self) -> str:
        """``new question``, ``gone``, ``changed``, ``waiting for review`` or ``unchanged``."""
        if self._b.k == 0 and self._a.k == 0:  # only pending records, before and after
            return "waiting for review" if self.waiting else "unchanged"
        if self._b.k == 0:
            return "new question"
        if self._a.k == 0:
            return "gone"
        if (self.new_trials or self.dropped_trials or self.replaced or self.estimate_changed
                or self.model_change or self.certainty_change or self._a.k != self._b.k):
            return "changed"
        return "waiting for review" if self.waiting else "unchanged"

    def summary(self) -> list[str]:
        """The change in sentences, most important first."""
        out = []
        if self.new_trials:
            out.append("new trial(s): " + ", ".join(self.new_trials))
        for r in self.replaced:
            out.append(f"later report replaces an earlier one — {r.text}")
        if self.dropped_trials:
            out.append("trial(s) no longer in the question: " + ", ".join(self.dropped_trials))
        if self.estimate_changed:
            out.append(f"estimate {self._b.shown} → {self._a.shown}")
        if self.flip:
            out.append(f"conclusion flipped: {self.flip}")
        if self.k_threshold:
            out.append(f"method threshold: {self.k_threshold}")
        if self.model_change:
            out.append(f"model {self.model_change}")
        if self.certainty_change:
            out.append(f"certainty {self.certainty_change}")
        if self.waiting:
            out.append(f"{self.waiting} record(s) waiting for review")
        return out

    def to_row(self) -> dict[str, Any]:
        """A flat row (table, JSON, CSV): one column per aspect."""
        b, a = self._b, self._a
        return {"question": self.key.label, "kind": self.kind, "k_before": b.k, "k_after": a.k,
                "estimate_before": b.estimate, "ci_low_before": b.ci_low, "ci_high_before": b.ci_high,
                "estimate_after": a.estimate, "ci_low_after": a.ci_low, "ci_high_after": a.ci_high,
                "shown_before": b.shown, "shown_after": a.shown,
                "new_trials": list(self.new_trials), "replaced_reports": [r.text for r in self.replaced],
                "dropped_trials": list(self.dropped_trials), "conclusion_before": b.conclusion,
                "conclusion_after": a.conclusion, "flipped": self.flip, "k_threshold": self.k_threshold,
                "model_before": b.model, "model_after": a.model, "certainty_before": b.certainty,
                "certainty_after": a.certainty, "waiting_for_review": self.waiting,
                "keys": dict(self.key.items), "summary": "; ".join(self.summary())}


def diff(before: Snapshot, after: Snapshot, *, include_unchanged: bool = False) -> list[Change]:
    """One :class:`Change` per question that changed or has records waiting: changed questions first
    (:data:`KIND_ORDER`), then by label."""
    texts = sorted(set(before.questions) | set(after.questions))
    out = [Change(QuestionKey.parse(t), before.questions.get(t), after.questions.get(t)) for t in texts]
    out = [c for c in out if include_unchanged or c.kind != "unchanged"]
    return sorted(out, key=lambda c: (KIND_ORDER.index(c.kind), c.key.label))


def changes_frame(changes: Iterable[Change]) -> pd.DataFrame:
    """The changes as a DataFrame of :meth:`Change.to_row` rows (object columns: a missing value stays
    None, so JSON says null, never NaN)."""
    rows = [c.to_row() for c in changes]
    return pd.DataFrame(rows, columns=list(Change(QuestionKey(()), None, None).to_row()), dtype=object)
