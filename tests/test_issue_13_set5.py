"""Issue 13, held-out set 5 (studied after its unseen measurement): a short form spelled by the last agent's words,
lettered treatments defined in brackets and named by other label words, older wording of response (objective
regression), a complete-response rate in a bracket, shares of the N patients who received an arm, a share's own
outcome after its bracket. Invented words and numbers around each pattern."""

import pytest

from extraction.components.abbreviations import find_definitions, find_label_definitions
from extraction.extract import SimpleDocument, extract_document
from extraction.pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _recs(nlp, text):
    return extract_document(nlp, SimpleDocument(text=text, source_id="file:0a1b2c3d4e5f", source_file="t.txt"))


def _spans(text, *words):
    out, pos = [], 0
    for w, cid in words:
        i = text.index(w, pos)
        out.append((i, i + len(w), cid))
        pos = i + len(w)
    return out


def test_a_short_form_spelled_by_the_last_agent_abbreviates_it_alone():
    t = "Docetaxel and pegylated liposomal doxorubicin (PLD) are both active."
    assert find_definitions(t, _spans(t, ("Docetaxel", "docetaxel"), ("doxorubicin", "doxorubicin"))) == {
        "PLD": "doxorubicin"}


def test_a_short_form_spelled_by_the_whole_list_is_the_combination():
    t = "Patients received gemcitabine plus docetaxel (GD) every 3 weeks."
    assert find_definitions(t, _spans(t, ("gemcitabine", "gemcitabine"), ("docetaxel", "docetaxel"))) == {
        "GD": "docetaxel+gemcitabine"}


def test_lettered_treatments_defined_in_brackets():
    t = "Patients received treatment A (doxorubicin 75 mg/m2) or treatment B (ifosfamide 5 g/m2 plus doxorubicin)."
    spans = _spans(t, ("doxorubicin", "doxorubicin"), ("ifosfamide", "ifosfamide"), ("doxorubicin", "doxorubicin"))
    assert find_label_definitions(t, spans) == {"Treatment A": "doxorubicin", "Treatment B": "doxorubicin+ifosfamide"}


_THREE = ("Doxorubicin alone versus ifosfamide plus doxorubicin or cisplatin, doxorubicin and mitomycin in advanced "
          "soft tissue sarcoma\n\nPatients and methods: 240 patients were randomly assigned to treatment A "
          "(doxorubicin 75 mg/m2), treatment B (ifosfamide 5 g/m2 plus doxorubicin 50 mg/m2), or treatment C "
          "(mitomycin 6 mg/m2 plus doxorubicin 40 mg/m2 plus cisplatin 50 mg/m2).\nResults: ")


def test_three_lettered_arms_objective_regression_in_shares_of_each_arm(nlp):
    recs = _recs(nlp, _THREE + "Objective regression occurred in 18% of the 80 patients who received doxorubicin "
                 "alone (CR rate, 1%), in 30% of the 79 who received ifosfamide plus doxorubicin (CR rate, 4%), and in "
                 "27% of the 81 who received mitomycin plus doxorubicin plus cisplatin (CR rate, 5%).")
    got = {(r["endpoint"], r["arm"], r["value"], r["n"], r["intervention"]) for r in recs}
    assert got == {("ORR", "comparator", 0.18, 80, "doxorubicin+ifosfamide"),
                   ("ORR", "intervention", 0.3, 79, "doxorubicin+ifosfamide"),
                   ("ORR", "comparator", 0.18, 80, "cisplatin+doxorubicin+mitomycin"),
                   ("ORR", "intervention", 0.27, 81, "cisplatin+doxorubicin+mitomycin")}
    assert {r["comparator"] for r in recs} == {"doxorubicin"}


def test_lettered_arms_named_by_another_label_word(nlp):
    recs = _recs(nlp, _THREE + "The 1-year OS rate was 40% in group A, 52% in group B and 47% in group C.")
    got = {(r["arm"], r["value"], r["intervention"]) for r in recs}
    assert ("intervention", 0.52, "doxorubicin+ifosfamide") in got
    assert ("intervention", 0.47, "cisplatin+doxorubicin+mitomycin") in got


def test_a_share_with_its_own_outcome_after_its_bracket_is_no_response_rate(nlp):
    recs = _recs(nlp, "Gemcitabine in uterine leiomyosarcoma: a phase II study\n\nForty women enrolled. Objective "
                 "responses were seen in 12 of 40 patients (30% overall; complete response 5%, partial response 25%), "
                 "with a further 9 (22.5%) having stable disease.")
    assert [(r["endpoint"], r["value"]) for r in recs] == [("ORR", 0.3)]
