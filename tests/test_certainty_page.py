"""The "Certainty (GRADE)" page (issue 15): the SoF table as the CLI writes it, read-only until sign-in, and a
risk-of-bias judgement entered by a signed-in reviewer changes the certainty shown and the DOCX download."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evidence.reviewers import Reviewers
from evidence.store import Store
from tests.test_grade_sof import trial_records

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
PW = "a long passphrase"


@pytest.fixture
def page(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    store = Store(url)
    store.import_records(trial_records(), reviewer="test")
    Reviewers(store).add("ana", PW)
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", url)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("screens/certainty.py").run()
    assert not at.exception
    yield at, store
    store.close()


def domains(at) -> dict[str, str]:
    df = at.dataframe[1].value  # SoF table, GRADE domains, RoB table (AppTest does not expose dataframe keys)
    return dict(zip(df["domain"], df["judgement"], strict=True))



def test_read_only_then_a_rob_judgement_moves_the_certainty(page):
    at, store = page
    assert "rob_save" not in {b.key for b in at.button}
    assert domains(at)["risk of bias"] == "not assessed"
    at.sidebar.text_input(key="sign_in_name").input("ana")
    at.sidebar.text_input(key="sign_in_password").input(PW)
    at.sidebar.button(key="sign_in").click().run()
    for study in ("ALPHA", "BETA", "GAMMA"):
        for domain in ("randomisation", "deviations", "missing_data", "measurement", "selection"):
            at.selectbox(key="rob_study").select(study)
            at.selectbox(key="rob_domain").select(domain)
            at.selectbox(key="rob_level").select("high" if domain == "deviations" else "low")
            at.text_input(key="rob_reason").input("open label; investigator-assessed progression")
            at.button(key="rob_save").click().run()
            assert not at.exception
    assert domains(at)["risk of bias"] == "very serious"
    rob = at.dataframe[2].value
    assert list(rob["overall"]) == ["high", "high", "high"]
    audit = store.audit()
    assert set(audit.loc[audit["action"] == "rob", "reviewer"]) == {"ana"} and (audit["action"] == "rob").sum() == 15
