"""The trials vocabulary (``evidence/vocab/trials.jsonl``) as the pooling plan's ``trial_aliases``.

``meta`` imports nothing of the project, so the CLI and the dashboard hand this mapping to
:func:`meta.pool_table`: each trial's name, aliases and registry ids → its canonical token (its
ClinicalTrials.gov id when it has one), so a registry record and its papers are one trial.
"""

from __future__ import annotations

import functools


@functools.cache
def trial_aliases() -> dict[str, str]:
    """Token → canonical trial (:func:`meta.identity.trial_aliases_from_entries` of the vocabulary)."""
    from evidence.vocabulary import VOCAB
    from meta.identity import trial_aliases_from_entries

    return trial_aliases_from_entries({"name": t.name, "aliases": list(t.aliases), "registry_ids": list(t.registry_ids)}
                                      for t in VOCAB.trials)
