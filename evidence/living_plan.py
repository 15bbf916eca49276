"""The pooling plan and GRADE certainty as the living-evidence snapshots apply them (``update``,
``changes`` and the What changed page call these, so all three see the same state).

:func:`pool_plan` is ``meta.pool_table`` with its default rules and the trials vocabulary for trial
identity (as ``sarcoma-evidence pool`` does: a later report naming a trial by an alias or a registry id
is the same trial). :func:`certainty_levels` gives each pooled question's GRADE level:

the one the Certainty page and ``sarcoma-evidence sof`` show: :func:`evidence.sof.sof_rows`'s
proposal (:func:`meta.certainty.propose_certainty`; pooled ratio questions, k ≥ 2), with the reviewers'
confirmed or overridden domains applied (:class:`evidence.grading.Judgements`, under the one key the
Certainty page stores them by, :attr:`evidence.questions.Question.key`). Other questions have no
certainty (None): "certainty when known".
"""

from __future__ import annotations

import functools

import pandas as pd

from evidence.grading import Judgements
from evidence.questions import Question, certainty_overrides
from evidence.sof import question_key, sof_rows
from evidence.store import Store
from evidence.vocabulary import VOCAB
from meta.certainty import apply_overrides
from meta.identity import trial_aliases_from_entries
from meta.table import pool_table


@functools.cache
def _aliases() -> dict[str, str]:
    return trial_aliases_from_entries({"name": t.name, "aliases": list(t.aliases), "registry_ids": list(t.registry_ids)}
                                      for t in VOCAB.trials)


def pool_plan(frame: pd.DataFrame) -> pd.DataFrame:
    """``meta.pool_table`` with its defaults, the trials vocabulary (trial identity) and the comparison
    classes, as ``pool`` and the dashboard."""
    from evidence.comparison_classes import comparison_classes

    return pool_table(frame, trial_aliases=_aliases(), classes=comparison_classes())


def certainty_levels(store: Store, records: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> dict[str, str]:
    """``question_key(row, keys)`` → GRADE level for every row of ``table`` that has one."""
    if table.empty or records.empty:
        return {}
    by_row = {question_key(row, keys): row for row in table.to_dict("records")}
    overrides = certainty_overrides(Judgements(store), (Question.from_row(row) for row in by_row.values()))
    out: dict[str, str] = {}
    for sof in sof_rows(records, table, keys, None):
        row = by_row.get(sof.question)
        if row is None or sof.certainty is None:
            continue
        proposal = apply_overrides(sof.certainty, overrides[Question.from_row(row)])
        out[sof.question] = proposal.level
    return out
