"""Issue 13, held-out class: values listed per subgroup, the subgroup named after the list
(``a%, b and c months for X (n = …); d%, e and f months for Y …``). Every value of a list item is about
the histotype named right after the item's last value, not the item before it. Invented text."""

import pytest

from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, title, body):
    doc = SimpleDocument(text=title + "\n\n" + body, source_id="file:0123456789ab", source_file="t.txt")
    return extract_document(nlp, doc)


_TITLE = "Examatinib in refractory soft-tissue sarcoma: a multicentre, single-arm phase II trial"


def test_each_list_item_takes_the_histotype_named_after_its_values(nlp):
    recs = _recs(nlp, _TITLE, "A total of 90 patients received examatinib. The median progression-free survival "
                 "and overall survival were 3.3 and 10 months for leiomyosarcoma (n = 30); 6.1 and 14 months for "
                 "liposarcoma (n = 25); and 2.2 and 7.5 months for synovial sarcoma (n = 35), respectively.")
    want = {3.3: "leiomyosarcoma", 10.0: "leiomyosarcoma", 6.1: "liposarcoma", 14.0: "liposarcoma",
            2.2: "synovial_sarcoma", 7.5: "synovial_sarcoma"}
    got = {r["value"]: r["histotypes"] for r in recs if r["value"] in want}
    assert got == {v: [h] for v, h in want.items()}


def test_a_value_for_the_whole_population_before_a_subgroup_value_keeps_its_own(nlp):
    recs = _recs(nlp, _TITLE, "Among 90 patients treated with examatinib, the objective response rate was 12% "
                 "overall and 20% for leiomyosarcoma.")
    got = {r["value"]: r["histotypes"] for r in recs if r["endpoint"] == "ORR"}
    assert got[0.20] == ["leiomyosarcoma"]
    assert got[0.12] != ["leiomyosarcoma"]


def test_landmarks_listed_over_each_arm_in_turn_go_to_that_arm(nlp):
    recs = _recs(nlp, "Adjuvant examatinib versus placebo after resection of high-risk sarcoma: a randomised trial",
                 "Patients were randomly assigned to examatinib (n = 60) or placebo (n = 61). The 1- and 3-year "
                 "recurrence-free survival rates were 91% and 70% in the examatinib group compared with 75% and "
                 "52% in the placebo group, respectively.")
    got = {(r["arm"], r["timepoint_months"]): r["value"] for r in recs if r["measure"] == "rate"}
    assert got == {("intervention", 12.0): 0.91, ("intervention", 36.0): 0.70,
                   ("comparator", 12.0): 0.75, ("comparator", 36.0): 0.52}
