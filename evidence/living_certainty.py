"""GRADE certainty of each pooled question, for the living-evidence snapshots.

The level is the one the Certainty page and ``sarcoma-evidence sof`` show: :func:`evidence.sof.sof_rows`'s
proposal (:func:`meta.certainty.propose_certainty`; pooled ratio questions, k ≥ 2), with the reviewers'
confirmed or overridden domains applied (:class:`evidence.grading.Judgements`, keyed as the Certainty page
keys its questions). Other questions have no certainty (None): "certainty when known".
"""

from __future__ import annotations

import pandas as pd

from evidence.grading import Judgements
from evidence.sof import question_key, sof_rows
from evidence.store import Store
from meta.certainty import apply_overrides

#: The keys the Certainty page stores its judgements under (dashboards/certainty_view.BY).
JUDGED_BY = ("histotype", "intervention", "comparator", "endpoint", "measure")


def certainty_levels(store: Store, records: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> dict[str, str]:
    """``question_key(row, keys)`` → GRADE level for every row of ``table`` that has one."""
    if table.empty or records.empty:
        return {}
    judgements = Judgements(store)
    by_row = {question_key(row, keys): row for row in table.to_dict("records")}
    out: dict[str, str] = {}
    for sof in sof_rows(records, table, keys, None):
        row = by_row.get(sof.question)
        if row is None or sof.certainty is None:
            continue
        proposal = apply_overrides(sof.certainty, judgements.certainty(question_key(row, JUDGED_BY)))
        out[sof.question] = proposal.level
    return out
