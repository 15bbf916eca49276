"""The typed values of living evidence: question keys, states, the diff rules, storage round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest

from evidence.changes import Change, changes_frame, diff, k_band
from evidence.errors import EvidenceError
from evidence.snapshots import (
    QuestionKey,
    QuestionState,
    Snapshot,
    Study,
    as_snapshot,
    fingerprint,
    latest_snapshot,
    load_snapshot,
    questions_from_table,
    resolve_since,
    save_snapshot,
    timeline,
)
from evidence.store import Store

KEY = QuestionKey.of({"histotype": "leiomyosarcoma", "intervention": "trabectedin", "comparator": "dacarbazine",
                      "endpoint": "OS", "measure": "HR", "setting": "advanced", "line": "second_plus",
                      "scale": "log", "timepoint_months": ""})


def study(trial: str, rid: str, year: int, value: float = 0.8, name: str | None = None) -> Study:
    return Study(trial=trial, name=name or trial, record_id=rid, source_id=f"PMID:{rid}", year=year, value=value,
                 ci_low=value * 0.8, ci_high=value * 1.2)


def state(k: int, est: float, lo: float, hi: float, studies=(), **kw) -> QuestionState:
    return QuestionState(key=KEY, k=k, scale="log", estimate=est, ci_low=lo, ci_high=hi, model="REML z",
                         studies=tuple(studies), **kw)


def snap(*states: QuestionState) -> Snapshot:
    return as_snapshot(list(states))


def test_key_label_parse_and_stable_text():
    assert KEY.label == "leiomyosarcoma · trabectedin vs dacarbazine · OS HR · advanced, second_plus"
    assert QuestionKey.parse(KEY.text) == KEY
    assert QuestionKey.of({"timepoint_months": 12.0}).get("timepoint_months") == "12"
    assert QuestionKey.of({"timepoint_months": float("nan")}).get("timepoint_months") == ""


def test_a_flip_from_includes_to_excludes_one():
    a = [study("NCT1", "1", 2015)]
    before = state(2, 0.85, 0.70, 1.03, a)
    after = state(3, 0.80, 0.69, 0.93, [*a, study("NCT2", "2", 2024, name="NEWT")])
    (c,) = diff(snap(before), snap(after))
    assert c.flip == "CI now excludes 1" and c.new_trials == ("NEWT",) and c.kind == "changed"
    assert c.k_threshold == "k 2 → 3: k = 2 → k = 3–4"
    assert "conclusion flipped: CI now excludes 1" in c.summary()
    back = Change(KEY, after, before)
    assert back.flip == "CI now includes 1" and back.dropped_trials == ("NEWT",)


def test_no_flip_or_threshold_within_a_band_and_for_scales_without_a_null():
    assert not Change(KEY, state(3, 0.8, 0.6, 1.1), state(4, 0.7, 0.5, 0.9)).k_threshold  # 3 and 4 share a band
    rates = replace(state(2, 0.2, 0.1, 0.3), scale="logit")
    assert rates.conclusion is None and not Change(KEY, rates, replace(rates, ci_high=1.5)).flip
    assert [k_band(k) for k in (0, 1, 2, 3, 5)] == ["no curated trial", "a single trial (not pooled)", "k = 2",
                                                     "k = 3–4", "k ≥ 5"]


def test_a_later_report_of_the_same_trial_is_a_replacement_not_a_new_trial():
    old, new = study("NCT9", "10", 2016, 0.87, "ET743"), study("NCT9", "11", 2019, 0.93, "ET743")
    c = Change(KEY, state(2, 0.8, 0.7, 0.95, [old]), state(2, 0.82, 0.7, 0.97, [new]))
    assert not c.new_trials and not c.dropped_trials
    (r,) = c.replaced
    assert r.text == "ET743: PMID:10 (2016): 0.87 [0.696, 1.04] → PMID:11 (2019): 0.93 [0.744, 1.12]"


def test_model_certainty_waiting_new_and_gone_questions():
    b = state(4, 0.8, 0.7, 0.9, certainty="moderate")
    a = replace(b, k=5, model="REML knha", certainty="high", waiting=2)
    c = Change(KEY, b, a)
    assert (c.model_change, c.certainty_change, c.waiting) == ("REML z → REML knha", "moderate → high", 2)
    assert Change(KEY, None, a).kind == "new question" and Change(KEY, b, None).kind == "gone"
    assert Change(KEY, None, QuestionState(key=KEY, k=0, waiting=3)).kind == "waiting for review"
    assert Change(KEY, b, replace(b, waiting=1)).kind == "waiting for review"
    assert diff(snap(b), snap(b)) == [] and len(diff(snap(b), snap(b), include_unchanged=True)) == 1
    frame = changes_frame([c])
    assert list(frame["certainty_after"]) == ["high"] and frame.loc[0, "question"] == KEY.label


def test_fingerprint_ignores_float_noise_but_not_a_change():
    s = state(2, 0.71253, 0.32, 1.59)
    assert fingerprint([s]) == fingerprint([replace(s, estimate=0.71253 + 1e-15)])
    assert fingerprint([s]) != fingerprint([replace(s, estimate=0.7126)])
    assert fingerprint([s]) != fingerprint([replace(s, waiting=1)])


def test_single_trial_question_shows_that_trial_and_keys_are_read_by_name():
    table = pd.DataFrame([{"histotype": "gist", "intervention": "imatinib", "comparator": "placebo", "endpoint": "RFS",
                           "measure": "HR", "scale": "log", "rollup": False, "k": 1, "n_total": 100,
                           "estimate_exp": float("nan"), "record_ids": ["r1"], "trials": ["NCT5"],
                           "method": "REML", "test": "z", "model": "", "brand_new_column": 3}])
    records = pd.DataFrame([{"record_id": "r1", "trial": "ACOSOG Z9001", "source_id": "PMID:1", "year": 2009,
                             "value": 0.35, "ci_low": 0.22, "ci_high": 0.53}])
    (q,) = questions_from_table(table, records, {})
    assert [k for k, _ in q.key.items] == ["histotype", "intervention", "comparator", "endpoint", "measure", "scale"]
    assert (q.estimate, q.ci_low, q.model, q.studies[0].name) == (0.35, 0.22, "single trial", "ACOSOG Z9001")
    with pytest.raises(EvidenceError, match="no 'k' column"):
        questions_from_table(pd.DataFrame({"x": [1]}), records)


def test_snapshots_round_trip_and_since_by_id_and_date(store):
    s1 = state(2, 0.8, 0.7, 0.95, [study("NCT1", "1", 2015)])
    first = save_snapshot(store, [s1], note="baseline", inputs=["a.txt"])
    assert load_snapshot(store, first.id).questions == {KEY.text: s1}
    second = save_snapshot(store, [replace(s1, k=3, estimate=0.75)])
    assert latest_snapshot(store).id == second.id and latest_snapshot(store).taken_at.tzinfo is not None
    now = as_snapshot(list(second.questions.values()))
    assert resolve_since(store, None, now).id == first.id  # the store equals the latest: the step before
    assert resolve_since(store, None, snap(s1)).id == second.id
    assert resolve_since(store, "#1", now).id == first.id
    assert resolve_since(store, datetime.now(UTC).strftime("%Y-%m-%d"), now).id == second.id
    line = timeline(store, KEY.text)
    assert list(line["k"]) == [2, 3] and list(line["trials"]) == ["NCT1", "NCT1"]


def test_snapshot_tables_exist_after_migration(store):
    from sqlalchemy import inspect

    assert {"snapshots", "snapshot_questions"} <= set(inspect(store.engine).get_table_names())
    assert isinstance(store, Store)


def test_pending_only_questions_and_a_model_named_with_its_k():
    pending = QuestionState(key=KEY, k=0, waiting=2)
    assert Change(KEY, pending, replace(pending, waiting=0)).kind == "unchanged"  # curated into another question
    assert Change(KEY, pending, None).kind == "unchanged"
    b = replace(state(3, 0.8, 0.7, 0.9), model="random effects, REML + HKSJ (ad hoc floor), t PI (k = 3)")
    assert not Change(KEY, b, replace(b, k=4, model=b.model.replace("k = 3", "k = 4"))).model_change
    assert Change(KEY, b, replace(b, k=5, model="random effects, REML + HKSJ, t PI (k ≥ 5)")).model_change
    other = QuestionKey.of({"histotype": "gist"})
    order = diff(snap(b), as_snapshot([replace(b, estimate=0.7), QuestionState(key=other, k=0, waiting=1)]))
    assert [c.kind for c in order] == ["changed", "waiting for review"]
