"""One question key for GRADE judgements (issue 15): histotype × intervention × comparator × endpoint × measure ×
setting × line, shared by the Certainty page, the Question page, ``sarcoma-evidence sof`` and the snapshots.

Invented trials: three of "drugamab" against placebo in advanced second-line leiomyosarcoma (tests/test_grade_sof)
and, for the two-question cases, three more in the adjuvant setting — the same five-part prefix, another question.
"""

from __future__ import annotations

import pytest

from dashboards import certainty_view as cv
from dashboards import question_view as qv
from evidence.grading import Judgements
from evidence.living_plan import certainty_levels, pool_plan
from evidence.questions import QUESTION_BY, Question, certainty_overrides
from evidence.schema import validate_record
from evidence.store import Store
from meta.table import DEFAULT_BY
from tests.test_grade_sof import trial_records

OLD_KEY = "leiomyosarcoma|drugamab|placebo|OS|HR"  # as a store written before setting and line were keys
ADVANCED = f"{OLD_KEY}|advanced|second_plus"


def adjuvant_records():
    out = []
    for i, (hr, lo, hi) in enumerate([(0.90, 0.70, 1.15), (0.85, 0.66, 1.10), (0.95, 0.72, 1.25)]):
        out.append(validate_record({
            "source_id": f"PMID:6600{i}", "trial": f"ADJ-{i}", "year": 2018 + i, "randomized": True, "design": "rct",
            "histotypes": ["leiomyosarcoma"], "intervention": "drugamab", "comparator": "placebo",
            "setting": "adjuvant", "line": "", "status": "accepted", "endpoint": "OS", "arm": "contrast",
            "measure": "HR", "value": hr, "ci_low": lo, "ci_high": hi, "n": 200, "value_start": 10}))
    return out


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'q.db'}")
    s.import_records(trial_records(), reviewer="test")
    yield s
    s.close()


def test_the_question_keys_are_the_pooling_plans_default_keys():
    assert QUESTION_BY == DEFAULT_BY == qv.BY == cv.BY
    q = Question.parse(ADVANCED)
    assert q is not None and (q.setting, q.line) == ("advanced", "second_plus")
    assert q.key == ADVANCED and q.legacy_key == OLD_KEY and Question.parse(q.key) == q
    assert q.context == "advanced, second line or later"
    assert Question.from_row({"histotype": "gist", "intervention": "imatinib", "comparator": "placebo",
                              "endpoint": "RFS", "measure": "HR", "setting": float("nan")}).key == \
        "gist|imatinib|placebo|RFS|HR||"
    assert Question.parse("a|b") is None


def test_an_override_on_the_certainty_page_reaches_the_question_page_and_the_snapshots(store):
    _, rows = cv.rows_of(store)
    assert [r.question for r in rows] == [ADVANCED]
    proposed = rows[0].certainty.level
    Judgements(store).set_certainty(rows[0].question, "risk_of_bias", "very serious",
                                    "open label, assessor not blinded", reviewer="ana")
    _, rows = cv.rows_of(store)
    judged = rows[0].certainty.level
    assert judged != proposed and "reviewer" in rows[0].certainty.domain("risk_of_bias").reason

    table = qv.question_table(store.records_frame(), "leiomyosarcoma", "OS", judgements=Judgements(store))
    assert list(table["key"]) == [ADVANCED] and list(table["certainty"]) == [judged]

    frame = store.records_frame(status=["accepted", "edited"])
    pooled = pool_plan(frame)
    levels = certainty_levels(store, frame, pooled, list(DEFAULT_BY))
    assert levels == {ADVANCED: judged}


def test_a_five_part_judgement_applies_when_one_question_has_its_prefix(store):
    _, rows = cv.rows_of(store)
    proposed = rows[0].certainty.level
    Judgements(store).set_certainty(OLD_KEY, "risk_of_bias", "very serious", "stored by an older version",
                                    reviewer="ana")
    _, rows = cv.rows_of(store)
    assert rows[0].question == ADVANCED and rows[0].certainty.level != proposed


def test_a_five_part_judgement_is_not_spread_over_two_questions(store):
    store.import_records(adjuvant_records(), reviewer="test")
    j = Judgements(store)
    _, before = cv.rows_of(store)
    assert sorted(r.question for r in before) == [f"{OLD_KEY}|adjuvant|", ADVANCED]
    j.set_certainty(OLD_KEY, "risk_of_bias", "very serious", "which question? the old key cannot say",
                    reviewer="ana")
    _, after = cv.rows_of(store)
    assert [r.certainty.level for r in after] == [r.certainty.level for r in before]
    # a judgement under a seven-part key stays with its own question
    j.set_certainty(ADVANCED, "risk_of_bias", "very serious", "assessor not blinded", reviewer="ana")
    _, judged = cv.rows_of(store)
    by_q = {r.question: r.certainty.level for r in judged}
    old = {r.question: r.certainty.level for r in before}
    assert by_q[f"{OLD_KEY}|adjuvant|"] == old[f"{OLD_KEY}|adjuvant|"] and by_q[ADVANCED] != old[ADVANCED]


def test_certainty_overrides_prefers_the_seven_part_key():
    class Fake:
        def __init__(self, stored):
            self.stored = stored

        def certainty(self, key):
            return self.stored.get(key, {})

    q = Question.parse(ADVANCED)
    both = Fake({OLD_KEY: {"imprecision": ("serious", "old")}, ADVANCED: {"imprecision": ("not serious", "new")}})
    assert certainty_overrides(both, [q])[q] == {"imprecision": ("not serious", "new")}
    assert certainty_overrides(Fake({OLD_KEY: {"imprecision": ("serious", "old")}}), [q])[q] == {
        "imprecision": ("serious", "old")}


# -- evidence-map cells keyed by setting and line (dashboards/cell.py) --------------------------------------
def test_cells_of_another_setting_are_two_cells_and_an_old_link_names_one_only_when_unambiguous(store):
    from dashboards import views
    from dashboards.cell import Cell
    from dashboards.state import ViewState, params_from_state, state_from_params

    one = views.map_table(store.records_frame(), "OS", "HR")
    assert list(one["cell"]) == [f"{OLD_KEY}|contrast||advanced|second_plus"]
    assert views.cell_row(one, f"{OLD_KEY}|contrast")["cell"] == one["cell"].iloc[0]  # an older link still opens
    store.import_records(adjuvant_records(), reviewer="test")
    two = views.map_table(store.records_frame(), "OS", "HR")
    cells = {Cell.parse(k) for k in two["cell"]}
    assert {(c.setting, c.line) for c in cells} == {("advanced", "second_plus"), ("adjuvant", "")}
    assert sorted(two["k"]) == [3, 3] and two["population_label"].nunique() == 2
    assert views.cell_row(two, f"{OLD_KEY}|contrast") is None  # which of the two? the link cannot say
    adj = next(c for c in cells if c.setting == "adjuvant")
    assert views.cell_row(two, adj.key)["k"] == 3 and adj.context == "adjuvant"
    s = ViewState().with_cell(adj)
    assert state_from_params(params_from_state(s)).chosen == adj and s.endpoint == "OS" and s.measure == "HR"
