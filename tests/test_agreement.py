"""Cohen's κ between dual reviewers, per field, and each reviewer's progress (issue 15 B, item 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evidence.agreement import agreement_table, cohen_kappa, progress_table
from evidence.curation import Curation
from tests.conftest import make_record


def test_kappa_matches_a_hand_computed_example():
    """50 items, both say yes 20, A yes/B no 5, A no/B yes 10, both no 15: p_o = 0.70, p_e = 0.5·0.6 + 0.5·0.4
    = 0.50, κ = 0.20/0.50 = 0.40 (the worked example of https://en.wikipedia.org/wiki/Cohen%27s_kappa)."""
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)


def test_kappa_equals_statsmodels_on_three_categories():
    """An independent implementation (statsmodels.stats.inter_rater.cohens_kappa on the contingency table)."""
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(1)
    a = rng.choice(["accepted", "edited", "rejected"], 40).tolist()
    b = [x if rng.random() < 0.7 else rng.choice(["accepted", "edited", "rejected"]) for x in a]
    cats = ["accepted", "edited", "rejected"]
    table = np.array([[sum(x == ci and y == cj for x, y in zip(a, b, strict=True)) for cj in cats] for ci in cats])
    assert cohen_kappa(a, b) == pytest.approx(cohens_kappa(table).kappa, abs=1e-12)


def test_kappa_undefined_and_bad_input():
    assert math.isnan(cohen_kappa(["a"] * 5, ["a"] * 5)) and math.isnan(cohen_kappa([], []))
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["a"], ["a", "b"])


@pytest.fixture
def four(store):
    recs = [make_record(endpoint=e, value=v, ci_low=v - 0.1, ci_high=v + 0.1) for e, v in
            (("OS", 0.77), ("PFS", 0.6), ("ORR", 1.5), ("DCR", 1.2))]
    store.add_records(recs)
    return Curation(store), [r.record_id for r in recs]


def test_agreement_table_per_field_and_progress(four):
    """Decisions (acc, acc), (acc, rej), (ed, ed), (rej, rej): p_o = 3/4; p_A = (.5, .25, .25), p_B = (.25, .25, .5)
    over (acc, ed, rej), p_e = .125 + .0625 + .125 = .3125, κ = .4375/.6875 = 7/11. Both edits set the same value."""
    cur, ids = four
    for who, decisions in (("ana", ["accepted", "accepted", "edited", "rejected"]),
                           ("bo", ["accepted", "rejected", "edited", "rejected"])):
        assert agreement_table(cur).empty  # blinded until both are done
        for rid, d in zip(ids, decisions, strict=True):
            values = {"value": 1.45} if d == "edited" else None
            cur.review(rid, d, reviewer=who, values=values, reason=None if d == "accepted" else "see table 2")
    t = agreement_table(cur)
    dec = t[t["field"] == "decision"].iloc[0]
    assert (dec["reviewer_a"], dec["reviewer_b"], dec["records"], dec["agreed"]) == ("ana", "bo", 4, 3)
    assert dec["kappa"] == pytest.approx(7 / 11, abs=1e-12)
    val = t[t["field"] == "value"].iloc[0]
    assert val["agreed"] == 4 and val["kappa"] == pytest.approx(1.0)
    assert "trial" not in set(t["field"])  # nobody changed it: κ undefined, left out
    p = progress_table(cur).set_index("reviewer")
    assert p.loc["ana", "decided"] == 4 and p.loc["ana", "in_conflict"] == 1 and p.loc["ana", "pending"] == 0
    cur.adjudicate(ids[1], "rejected", None, "cy", "no CI in the paper")
    p = progress_table(cur).set_index("reviewer")
    assert p.loc["cy", "adjudicated"] == 1 and p.loc["ana", "in_conflict"] == 0
