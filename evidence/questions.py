"""A pooled question as a committee asks it, and the one text key its judgements are stored under.

A question is one cell of the pooling plan's default keys (:data:`QUESTION_BY`, = ``meta.table.DEFAULT_BY``):
histotype × intervention × comparator × endpoint × measure × setting × line, so an adjuvant OS HR and an
advanced second-line OS HR are two questions with two certainty judgements. The Certainty page, the
Question page, ``sarcoma-evidence sof`` and the living-evidence snapshots all key GRADE judgements by
:attr:`Question.key`; :func:`certainty_overrides` reads them, falling back to a judgement stored before
setting and line were keys (five parts) only when exactly one of today's questions has that prefix (were
there two, the old judgement would not say which it was about, and applying it to both would be wrong).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

#: The keys of a question, in key order (the pooling plan's default cell keys).
QUESTION_BY: tuple[str, ...] = ("histotype", "intervention", "comparator", "endpoint", "measure", "setting", "line")
#: The keys judgements were stored under before setting and line were keys.
LEGACY_BY: tuple[str, ...] = QUESTION_BY[:5]


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


@dataclass(frozen=True)
class Question:
    """One pooled question; empty strings for keys a record does not state."""

    histotype: str
    intervention: str
    comparator: str
    endpoint: str
    measure: str
    setting: str = ""
    line: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Question:
        """The question of a pooled-table row (missing keys are empty)."""
        return cls(*(_text(row.get(k)) for k in QUESTION_BY))

    @classmethod
    def parse(cls, key: str) -> Question | None:
        """The question of a stored :attr:`key` (seven parts, or the five of an older store); None otherwise.

        >>> Question.parse("leiomyosarcoma|eribulin|dacarbazine|OS|HR|advanced|second_plus").line
        'second_plus'
        >>> Question.parse("leiomyosarcoma|eribulin|dacarbazine|OS|HR").setting
        ''
        >>> Question.parse("not a key") is None
        True
        """
        parts = key.split("|")
        if len(parts) not in (len(QUESTION_BY), len(LEGACY_BY)):
            return None
        return cls(*parts)

    @property
    def key(self) -> str:
        """The text key judgements are stored under: the seven parts joined by ``|``."""
        return "|".join(getattr(self, f.name) for f in fields(self))

    @property
    def legacy_key(self) -> str:
        """The five-part key an older store keyed this question's judgements by."""
        return "|".join(getattr(self, k) for k in LEGACY_BY)

    @property
    def context(self) -> str:
        """Setting and line as a reader says them ("advanced, second line or later"), or ""."""
        line = {"first": "first line", "second_plus": "second line or later"}.get(self.line, self.line)
        return ", ".join(p for p in (self.setting, line) if p)


class _Judged(Protocol):
    def certainty(self, question: str) -> dict[str, tuple[str, str]]: ...


Overrides = dict[str, tuple[str, str]]


def certainty_overrides(judgements: _Judged, questions: Iterable[Question]) -> dict[Question, Overrides]:
    """Each question's reviewer judgements ``{domain: (judgement, reason)}`` under its :attr:`~Question.key`;
    a question with none takes those stored under its five-part :attr:`~Question.legacy_key`, when no
    other question of ``questions`` shares that prefix."""
    qs = list(dict.fromkeys(questions))
    prefixes = Counter(q.legacy_key for q in qs)
    out: dict[Question, Overrides] = {}
    for q in qs:
        got = judgements.certainty(q.key)
        if not got and prefixes[q.legacy_key] == 1:
            got = judgements.certainty(q.legacy_key)
        out[q] = got
    return out


__all__ = ["LEGACY_BY", "QUESTION_BY", "Question", "certainty_overrides"]
