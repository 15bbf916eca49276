"""Exports for the field: the RevMan CSV (SE from the CI, checked by hand), the audit CSV, and an
edit with its reason surviving export → import into a fresh store."""

import csv
import io
import math

import pytest
from typer.testing import CliRunner

from evidence.cli import app
from evidence.curation import Curation
from evidence.exports import (
    originals_from_audit,
    read_audit,
    revman_columns,
    revman_frame,
    se_from_ci,
    study_id,
    write_audit,
)
from evidence.io import read_records, write_records
from evidence.store import Store
from tests.conftest import make_record


@pytest.fixture
def curated(store):
    """Three HRs (accepted, edited, extracted), a rejected one and a median; returns (store, records)."""
    recs = {
        "acc": make_record(trial="PALETTE", year=2012, endpoint="PFS", value=0.31, ci_low=0.24, ci_high=0.39,
                           intervention="pazopanib", comparator="placebo", p_value=None, p_relation=None,
                           histotypes=["soft_tissue_sarcoma"], value_start=1),
        "edit": make_record(year=2016, value_start=2),
        "open": make_record(value_start=3),
        "rej": make_record(value_start=4),
        "median": make_record(measure="median", arm="intervention", value=13.5, unit="months", ci_low=10.0,
                              ci_high=16.0, p_value=None, p_relation=None, value_start=5),
    }
    store.add_records(list(recs.values()))
    cur = Curation(store)
    cur.accept(recs["acc"].record_id, reviewer="ana")
    cur.edit(recs["edit"].record_id, {"value": 0.78, "ci_high": 0.96}, reviewer="ana",
             reason="table 2 of the final analysis")
    cur.reject(recs["rej"].record_id, reviewer="bo", reason="duplicate of the interim analysis")
    cur.accept(recs["median"].record_id, reviewer="ana")
    return store, {k: store.get(r.record_id)[0] for k, r in recs.items()}


def test_se_from_ci_by_hand():
    # 95%: z = 1.959964; SE = (ln 0.95 − ln 0.62) / (2·1.959964) = 0.426742 / 3.919928
    assert se_from_ci(0.62, 0.95) == pytest.approx(0.108865, abs=1e-6)
    # 90%: z = 1.644854; SE = (ln 2 − ln 0.5) / 3.289707 = 1.386294 / 3.289707
    assert se_from_ci(0.5, 2.0, 0.90) == pytest.approx(0.421404, abs=1e-6)
    with pytest.raises(ValueError, match="positive bounds"):
        se_from_ci(0.0, 1.0)


def test_revman_frame_columns_and_numbers(curated):
    store, r = curated
    frame = revman_frame(store.records())
    assert list(frame.columns) == ["Study ID", "Subgroup", "Comparison", "Outcome", "Log [Hazard Ratio]", "SE",
                                   "Hazard Ratio", "CI Lower", "CI Upper", "CI Level", "Record ID"]
    assert set(frame["Record ID"]) == {r["acc"].record_id, r["edit"].record_id}  # curated HRs only
    row = frame.set_index("Record ID").loc[r["edit"].record_id]
    assert row["Study ID"] == "PMID:100 2016" and row["Subgroup"] == "leiomyosarcoma"
    assert row["Comparison"] == "eribulin vs dacarbazine" and row["Outcome"] == "OS (Hazard Ratio)"
    assert row["Hazard Ratio"] == 0.78 and (row["CI Lower"], row["CI Upper"]) == (0.62, 0.96)
    assert row["Log [Hazard Ratio]"] == pytest.approx(math.log(0.78), abs=1e-6)  # −0.248461
    assert row["SE"] == pytest.approx((math.log(0.96) - math.log(0.62)) / (2 * 1.959964), abs=1e-6)  # 0.111536
    acc = frame.set_index("Record ID").loc[r["acc"].record_id]
    assert acc["Study ID"] == "PALETTE 2012" and acc["SE"] == pytest.approx(0.123856, abs=1e-6)  # 0.485508 / 3.919928
    assert list(revman_frame(store.records(), measure="OR").columns) == revman_columns("OR")
    assert study_id(r["edit"], "van der Graaf") == "van der Graaf 2016"


def test_cli_export_revman_and_audit(curated, tmp_path):
    store, r = curated
    runner = CliRunner()
    out = tmp_path / "revman.csv"
    res = runner.invoke(app, ["export", "--db", store.url, "--format", "revman", "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == 2 and rows[0]["Log [Hazard Ratio]"] and rows[0]["SE"]
    res = runner.invoke(app, ["export", "--db", store.url, "--audit"])
    assert res.exit_code == 0, res.stderr
    audit = read_audit(io.StringIO(res.stdout))
    assert list(audit.columns) == ["id", "at", "reviewer", "record_id", "action", "field", "old", "new", "reason",
                                   "batch"]
    edit = audit[(audit["record_id"] == r["edit"].record_id) & (audit["field"] == "value")].iloc[0]
    assert (edit["reviewer"], edit["old"], edit["new"], edit["reason"]) == (
        "ana", "0.77", "0.78", "table 2 of the final analysis")
    assert len(audit) == len(store.audit())


def test_edit_and_reason_survive_export_then_import(curated, tmp_path):
    store, r = curated
    records_csv, audit_csv = tmp_path / "records.csv", tmp_path / "audit.csv"
    write_records(store.records(), records_csv)  # what `sarcoma-evidence export --out records.csv` writes
    write_audit(store.audit(), audit_csv)
    fresh = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        fresh.import_records(read_records(records_csv), reviewer="import")
        got = fresh.get(r["edit"].record_id)[0]
        assert (got.value, got.ci_high, got.status, got.reviewer, got.note) == (
            0.78, 0.96, "edited", "ana", "table 2 of the final analysis")
        assert fresh.get(r["rej"].record_id)[0].status == "rejected"
        assert fresh.get(r["rej"].record_id)[0].note == "duplicate of the interim analysis"
        # the values as extracted travel in the audit CSV
        originals = originals_from_audit(read_audit(audit_csv))
        assert originals[r["edit"].record_id] == {"value": 0.77, "ci_high": 0.95}
        assert r["acc"].record_id not in originals  # accepted as extracted: nothing changed
    finally:
        fresh.close()


def test_revman_counts_a_trial_once_and_refuses_a_zero_width_ci():
    """Interim and final reports of one trial give one RevMan row (the latest); a CI of no width
    (SE 0, infinite weight in RevMan) is left out and named."""
    from evidence.exports import revman_frame
    from tests.conftest import make_record

    interim = make_record(source_id="PMID:1", trial="NCT01343277", year=2016, status="accepted")
    final = make_record(source_id="PMID:2", trial="NCT01343277", year=2019, value=0.93, ci_low=0.75,
                        ci_high=1.15, status="accepted")
    flat = make_record(source_id="PMID:3", trial="OTHER", value=0.87, ci_low=0.87, ci_high=0.87,
                       p_value=None, p_relation=None, status="accepted")
    frame = revman_frame([final, interim, flat])
    assert frame["Record ID"].tolist() == [final.record_id]
    reasons = {s["record_id"]: s["reason"] for s in frame.attrs["skipped"]}
    assert "superseded" in reasons[interim.record_id] and "no width" in reasons[flat.record_id]
