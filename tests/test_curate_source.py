"""Study-level fields curated once per source and applied to all its records (issue 15 B, item 5)."""

from __future__ import annotations

import pytest

from evidence.curation import Curation, CurationError
from evidence.errors import ConflictError
from tests.conftest import make_record


@pytest.fixture
def src(store):
    recs = [make_record(source_id="file:ab12cd.pdf", endpoint=e, value=v, ci_low=v - 0.1, ci_high=v + 0.1)
            for e, v in (("OS", 0.77), ("PFS", 0.6), ("ORR", 1.5))]
    store.add_records(recs)
    cur = Curation(store)
    cur.accept(recs[0].record_id, reviewer="ana")
    return cur, [r.record_id for r in recs]


def test_study_fields_apply_to_every_record_audited_each(src):
    cur, ids = src
    versions = dict(zip(cur.source_records("file:ab12cd.pdf")["record_id"],
                        cur.source_records("file:ab12cd.pdf")["version"], strict=True))
    out = cur.curate_source("file:ab12cd.pdf", {"trial": "EORTC 62012", "year": 2014, "registry_ids": ["NCT00061984"],
                                                "source_id": "PMID:24618336"},
                            reviewer="ana", reason="title page of the paper", versions=versions)
    assert len(out) == 3
    for rid in ids:
        rec, version = cur.store.get(rid)
        assert (rec.trial, rec.year, rec.registry_ids, rec.source_id) == ("EORTC 62012", 2014, ["NCT00061984"],
                                                                          "PMID:24618336")
        assert version == versions[rid] + 1
        audit = cur.store.audit(rid)
        mine = audit[audit["action"] == "source"]
        assert set(mine["field"]) == {"trial", "year", "registry_ids", "source_id"}
        assert set(mine["reason"]) == {"title page of the paper"} and set(mine["reviewer"]) == {"ana"}
    # statuses are left alone: the accepted record stays accepted, the others extracted
    assert sorted(cur.store.get(r)[0].status for r in ids) == ["accepted", "extracted", "extracted"]
    assert len(cur.source_records("PMID:24618336")) == 3 and cur.source_records("file:ab12cd.pdf").empty


def test_a_stale_version_writes_nothing(src):
    cur, ids = src
    versions = dict(zip(cur.source_records("file:ab12cd.pdf")["record_id"],
                        cur.source_records("file:ab12cd.pdf")["version"], strict=True))
    cur.edit(ids[2], {"n": 300}, reviewer="bo", reason="table 1")
    with pytest.raises(ConflictError, match="changed since you read it"):
        cur.curate_source("file:ab12cd.pdf", {"trial": "X"}, reviewer="ana", reason="r", versions=versions)
    assert all(cur.store.get(r)[0].trial is None for r in ids)


def test_refusals(src):
    cur, _ = src
    with pytest.raises(CurationError, match="needs a reason"):
        cur.curate_source("file:ab12cd.pdf", {"trial": "X"}, reviewer="ana", reason=" ")
    with pytest.raises(CurationError, match="'value' is not study-level"):
        cur.curate_source("file:ab12cd.pdf", {"value": 0.5}, reviewer="ana", reason="r")
    with pytest.raises(CurationError, match="give a PubMed id"):
        cur.curate_source("file:ab12cd.pdf", {"source_id": "javascript:x"}, reviewer="ana", reason="r")
    with pytest.raises(CurationError, match="has no records"):
        cur.curate_source("PMID:1", {"trial": "X"}, reviewer="ana", reason="r")


def test_cli_curate_source_and_no_store(store, monkeypatch, tmp_path):
    """`curate source` applies study fields to every record; `curate` without --db and without a store
    says so and exits 2 instead of creating an empty store."""
    from typer.testing import CliRunner

    from evidence.cli import app
    from evidence.reviewers import Reviewers
    from evidence.reviewers_cli import PASSWORD_ENV

    monkeypatch.setenv(PASSWORD_ENV, "a long passphrase")
    Reviewers(store).add("ana", "a long passphrase")
    recs = [make_record(endpoint=e) for e in ("OS", "PFS")]
    store.add_records(recs)
    runner = CliRunner()
    res = runner.invoke(app, ["curate", "source", "PMID:100", "--reviewer", "ana", "--set", "trial=EORTC 62012",
                              "--set", "year=2014", "--reason", "paper", "--db", store.url])
    assert res.exit_code == 0, res.stderr
    assert "2 records" in res.stderr
    assert {store.get(r.record_id)[0].trial for r in recs} == {"EORTC 62012"}
    res = runner.invoke(app, ["curate", "source", "PMID:100", "--reviewer", "ana", "--set", "year=soon",
                              "--reason", "paper", "--db", store.url])
    assert res.exit_code == 2 and "must be a year" in res.stderr
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.delenv("SARCOMA_EVIDENCE_DB", raising=False)
    res = runner.invoke(app, ["curate", "pending", "--reviewer", "ana"])
    assert res.exit_code == 2 and "no store at sqlite:///evidence.db" in res.stderr
    assert not (empty / "evidence.db").exists()
