"""The store: migrations from empty, transactions, curation primitives and their audit trail."""

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import evidence
from evidence.errors import ConflictError, NotFoundError
from evidence.store import Store, resolve_url, schema_revision, upgrade
from tests.conftest import make_record

HEAD = ScriptDirectory(str(Path(evidence.__file__).parent / "migrations")).get_current_head()


def test_round2_migration_keeps_records_and_fills_defaults(store_url):
    """A store made before round 2 (revision 0002) upgrades in place; old rows read with the new defaults."""
    engine = create_engine(store_url)
    upgrade(engine, "0002")
    with engine.begin() as c:
        c.execute(text(
            "INSERT INTO records (record_id, source_id, histotypes, arm, endpoint, measure, value, unit, ci_level,"
            " flags, status, version) VALUES ('r1', 'PMID:1', '[]', 'contrast', 'OS', 'HR', 0.8, 'ratio', 0.95,"
            " '[]', 'accepted', 1)"))
    upgrade(engine)
    engine.dispose()
    store = Store(store_url)
    rec, version = store.get("r1")
    store.close()
    assert (rec.value, rec.status, version) == (0.8, "accepted", 1)
    assert (rec.registry_ids, rec.covariates, rec.p_sided, rec.question, rec.design) == ([], [], 2, "treatment", None)


def test_migrations_up_from_empty(store_url):
    engine = create_engine(store_url)
    assert schema_revision(engine) is None
    upgrade(engine)
    assert schema_revision(engine) == HEAD
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "records", "audit_log", "reviewers", "alembic_version"} <= tables
    cols = {c["name"] for c in inspect(engine).get_columns("records")}
    assert {"record_id", "histotypes", "version", "original", "updated_at"} <= cols
    upgrade(engine)  # idempotent
    engine.dispose()


def test_resolve_url(monkeypatch):
    monkeypatch.delenv("SARCOMA_EVIDENCE_DB", raising=False)
    assert resolve_url(None) == "sqlite:///evidence.db"
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", "sqlite:///x.db")
    assert resolve_url(None) == "sqlite:///x.db"
    assert resolve_url("some/file.db") == "sqlite:///some/file.db"


def test_add_and_read_back(store):
    r = make_record()
    assert store.add_records([r])["inserted"] == 1
    got, version = store.get(r.record_id)
    assert got == r and version == 1
    assert store.count() == 1 and store.count(status="extracted") == 1
    audit = store.audit(r.record_id)
    assert list(audit["action"]) == ["insert"]


def test_rerun_of_extractor_never_overwrites_curation(store):
    r = make_record()
    store.add_records([r])
    store.update_record(r.record_id, {"value": 0.78}, reviewer="ana", version=1, reason="typo in pdf")
    counts = store.add_records([make_record(value=0.70, ci_low=0.6, ci_high=0.9)])
    assert counts == {"inserted": 0, "refreshed": 0, "kept_curated": 1}
    assert store.get(r.record_id)[0].value == 0.78


def test_edit_keeps_original_and_audits(store):
    r = make_record()
    store.add_records([r])
    new = store.update_record(r.record_id, {"value": 0.79, "n": 450}, reviewer="ana", version=1,
                              reason="checked table 2")
    assert new.status == "edited" and new.reviewer == "ana" and new.note == "checked table 2"
    assert store.original(r.record_id)["value"] == 0.77
    audit = store.audit(r.record_id)
    changes = audit[audit["action"] == "edit"]
    assert set(changes["field"]) == {"value", "n", "status"}
    row = changes[changes["field"] == "value"].iloc[0]
    assert (row["old"], row["new"], row["reviewer"], row["reason"]) == ("0.77", "0.79", "ana", "checked table 2")


def test_reject_is_a_state_not_a_delete(store):
    r = make_record()
    store.add_records([r])
    store.update_record(r.record_id, {}, reviewer="bo", version=1, status="rejected", reason="AE rate")
    assert store.get(r.record_id)[0].status == "rejected"
    assert store.count() == 1


def test_stale_version_is_a_conflict_naming_the_other_change(store):
    r = make_record()
    store.add_records([r])
    store.update_record(r.record_id, {"value": 0.79}, reviewer="ana", version=1)
    with pytest.raises(ConflictError, match=r"changed by ana .* value: 0.77 → 0.79"):
        store.update_record(r.record_id, {"value": 0.80}, reviewer="bo", version=1)
    assert store.get(r.record_id)[0].value == 0.79
    assert len(store.audit(r.record_id).query("field == 'value'")) == 1


def test_invalid_edit_writes_nothing(store):
    from evidence.errors import RecordError

    r = make_record()
    store.add_records([r])
    with pytest.raises(RecordError, match=r"value=-1\.0: a HR must be > 0"):
        store.update_record(r.record_id, {"value": -1.0}, reviewer="ana", version=1)
    assert store.get(r.record_id) == (r, 1)
    with pytest.raises(ValueError, match="field 'record_id' cannot be curated"):
        store.update_record(r.record_id, {"record_id": "x"}, reviewer="ana", version=1)


def test_unknown_record(store):
    with pytest.raises(NotFoundError, match="no record 'nope'"):
        store.get("nope")


def test_failed_import_leaves_store_as_before(store):
    store.add_records([make_record()])
    good = make_record(source_id="PMID:2")
    with pytest.raises(Exception):  # noqa: B017 - any database error aborts the whole batch
        store.import_records([good, good.model_copy(update={"value": None})], reviewer="x")
    assert store.count() == 1


def test_sources_round_trip(store):
    store.add_sources([{"source_id": "PMID:1", "title": "T", "year": 2016, "text": "Läuft — 0·31"}])
    assert store.source("PMID:1")["text"] == "Läuft — 0·31"
    store.add_sources([{"source_id": "PMID:1", "title": "T2", "year": 2016, "text": "new"}])
    assert store.source("PMID:1")["title"] == "T2"
    assert list(store.sources_frame()["source_id"]) == ["PMID:1"]


def test_records_frame_has_schema_columns(store):
    from evidence.schema import FIELDS

    store.add_records([make_record(), make_record(endpoint="PFS", value_start=50, value_end=54)])
    df = store.records_frame()
    assert list(df.columns) == list(FIELDS) and len(df) == 2
    assert df["histotypes"].iloc[0] == ["leiomyosarcoma"]


def test_store_repr_hides_password():
    s = Store("sqlite://")
    assert "sqlite" in repr(s)


def test_add_records_in_bulk_with_a_repeat_in_the_batch(store):
    """Many records go in with one statement each for records and audit; a repeated id: the later wins."""
    recs = [make_record(source_id=f"PMID:{i}") for i in range(300)]
    again = make_record(source_id="PMID:7", value=0.80, ci_low=0.6, ci_high=1.07)
    counts = store.add_records([*recs, again])
    assert counts == {"inserted": 300, "refreshed": 1, "kept_curated": 0}
    assert store.count() == 300
    assert store.get(again.record_id)[0].value == 0.80
    assert (store.audit()["action"] == "insert").sum() == 300


def test_import_never_undoes_curation_or_an_adjudication(store):
    """An old extraction file re-imported cannot turn curated records back into 'extracted', nor
    change what an adjudicator decided; both rows are skipped with a reason, the rest goes in."""
    from evidence.curation import Curation

    a, b = make_record(source_id="PMID:1"), make_record(source_id="PMID:2")
    store.add_records([a, b])
    store.update_record(a.record_id, {"value": 0.78}, reviewer="ana", version=1, reason="table 2")
    cur = Curation(store)
    cur.review(b.record_id, "accepted", reviewer="ana")  # a disagreement, so there is something to adjudicate
    cur.review(b.record_id, "rejected", reviewer="bo", reason="duplicate")
    cur.adjudicate(b.record_id, "accepted", {}, adjudicator="eve", reason="final")
    fresh = make_record(source_id="PMID:3")
    counts = store.import_records([a, b.model_copy(update={"value": 0.5, "ci_low": 0.4, "ci_high": 0.6}), fresh],
                                  reviewer="import")
    assert counts["skipped"] == 2 and counts["inserted"] == 1
    assert any("would undo curation" in s for s in store.skipped)
    assert any("adjudicated" in s for s in store.skipped)
    assert store.get(a.record_id)[0].value == 0.78 and store.get(b.record_id)[0].status == "accepted"


def test_extractor_rerun_never_changes_a_reviewed_record_and_audits_refreshes(store):
    """A record one reviewer has decided on keeps its values when the extractor runs again; an
    unreviewed one is refreshed with an audit row per changed field."""
    from evidence.curation import Curation

    a, b = make_record(source_id="PMID:1"), make_record(source_id="PMID:2")
    store.add_records([a, b])
    Curation(store).review(a.record_id, "accepted", reviewer="ana")
    changed = {"value": 0.55, "ci_low": 0.3, "ci_high": 0.9}
    counts = store.add_records([a.model_copy(update=changed), b.model_copy(update=changed)])
    assert counts == {"inserted": 0, "refreshed": 1, "kept_curated": 1}
    assert store.get(a.record_id)[0].value == 0.77 and store.get(b.record_id)[0].value == 0.55
    refresh = store.audit(b.record_id).query("action == 'refresh'")
    assert set(refresh["field"]) == {"value", "ci_low", "ci_high"}
