"""`sarcoma-evidence pool`: from a file and from the store, --by validation (exit 2), --out, --bundle."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from evidence.cli import POOL_KEYS, app
from evidence.corpus import corpus_documents, curated_records
from evidence.io import read_records, write_records
from evidence.pool_cli import POOL_DEFAULT_BY, pool_records
from evidence.schema import FIELDS
from evidence.store import Store
from meta import pool_table
from meta.bundle import BUNDLE_FILES, results_csv
from tests.conftest import make_record

BY = ["histotype", "intervention", "comparator", "endpoint", "measure"]
DEFAULT_BY = POOL_DEFAULT_BY.split(",")


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "SARCOMA_EVIDENCE_DB": ""})


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    store = Store(url)
    store.add_sources(corpus_documents())
    store.import_records(curated_records(), reviewer="demo-curator")
    store.close()
    return url


@pytest.fixture
def hr_file(tmp_path):
    """Three trials of one cell, and a rejected record that must not be pooled."""
    recs = [make_record(source_id=f"PMID:{i}", value=v, ci_low=lo, ci_high=hi, status="accepted", p_value=None,
                        p_relation=None)
            for i, (v, lo, hi) in enumerate([(0.77, 0.62, 0.95), (0.9, 0.7, 1.15), (0.6, 0.45, 0.8)], 1)]
    recs.append(make_record(source_id="PMID:9", value=5.0, ci_low=4.0, ci_high=6.0, status="rejected"))
    path = tmp_path / "recs.jsonl"
    write_records(recs, path)
    return path


def test_pool_from_a_file_prints_the_pooled_cell(hr_file):
    res = run("pool", "--input", str(hr_file))
    assert res.exit_code == 0, res.output
    assert "leiomyosarcoma" in res.stdout and "eribulin" in res.stdout
    line = next(ln for ln in res.stdout.splitlines() if "leiomyosarcoma" in ln)
    assert "│ 3 │" in line  # k = 3: the rejected record is left out
    est = pool_table([r.to_dict() for r in read_records(hr_file)]).loc[0]
    assert f"{est.estimate_exp:.2f} [{est.ci_low_exp:.2f}, {est.ci_high_exp:.2f}]" in line


def test_pool_from_the_store_writes_the_dashboard_numbers(demo_url, tmp_path):
    out = tmp_path / "pooled.csv"
    res = run("pool", "--db", demo_url, "--out", str(out))
    assert res.exit_code == 0, res.output
    frame = Store(demo_url).records_frame()
    assert out.read_bytes() == results_csv(pool_records(frame, by=DEFAULT_BY), DEFAULT_BY)
    table = pd.read_csv(out)
    assert list(table.columns[:7]) == DEFAULT_BY and (table["k"] >= 2).any()
    assert {"model", "method", "test", "pi"} <= set(table.columns)


def test_pool_json_and_status_filter(demo_url, tmp_path):
    out = tmp_path / "pooled.json"
    res = run("pool", "--db", demo_url, "--by", "histotype,intervention,comparator,endpoint,measure", "--test", "knha",
              "--method", "PM", "--status", "accepted", "--out", str(out))
    assert res.exit_code == 0, res.output
    cells = json.loads(out.read_text(encoding="utf-8"))
    # first-line doxorubicin plus a second agent vs doxorubicin, OS: JGDG, ANNOUNCE, PICASSO 3, SARC021
    key = ("soft_tissue_sarcoma", "doxorubicin_plus_agent", "doxorubicin", "OS", "HR")
    cell = next(c for c in cells if tuple(c[k] for k in BY) == key)
    assert cell["k"] == 4 and cell["method"] == "PM" and cell["test"] == "knha"
    assert run("pool", "--db", demo_url, "--status", "extracted", "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == []  # the demo store holds accepted records only


def test_bundle_writes_the_four_files(demo_url, tmp_path):
    res = run("pool", "--db", demo_url, "--rollup", "--bundle", str(tmp_path / "b"))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(BUNDLE_FILES)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["rollup"] is True and manifest["options"]["parents"]
    assert "Pooled estimates" in res.stdout  # no --out: the table is printed too


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "histotype,colour"], "unknown --by key 'colour'; allowed: " + ", ".join(POOL_KEYS)),
    (["--by", "endpoint,endpoint"], "names a key twice"),
    (["--by", " , "], "at least one key"),
    (["--method", "XYZ"], "Invalid method 'XYZ'; must be one of FE, DL, REML"),
    (["--test", "t"], "Invalid test 't'; must be one of z, knha, adhoc"),
    (["--level", "95"], "must lie in (0, 1)"),
    (["--status", "maybe"], "unknown --status 'maybe'"),
    (["--format", "xlsx", "--out", "x.xlsx"], "unknown --format 'xlsx'"),
])
def test_bad_arguments_exit_2(hr_file, args, message):
    res = run("pool", "--input", str(hr_file), *args)
    assert res.exit_code == 2
    assert message in res.stderr


def test_unusable_inputs_exit_2(tmp_path, hr_file):
    res = run("pool", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert res.exit_code == 2 and "no store at" in res.stderr and not (tmp_path / "none.db").exists()
    res = run("pool", "--db", "sqlite:///x.db", "--input", str(hr_file))
    assert res.exit_code == 2 and "not both" in res.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(FIELDS) + "\nx,PMID:1" + "," * (len(FIELDS) - 2) + "\n", encoding="utf-8")
    res = run("pool", "--input", str(bad))
    assert res.exit_code == 2 and "bad.csv" in res.stderr


def test_demo_prints_the_pooled_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("demo")
    assert res.exit_code == 0, res.output
    assert "Pooled estimates (few-study defaults, 95% CI)" in res.stdout
    assert "doxorubicin_plus_agent" in res.stdout and "pooled cells (k ≥ 2)" in res.stdout


@pytest.fixture
def plan_file(tmp_path):
    """Two reviewed trials, an unreviewed one, a flagged one and a meta-analysis, in two settings."""
    def r(i, v, lo, hi, **kw):
        base = dict(source_id=f"PMID:{i}", value=v, ci_low=lo, ci_high=hi, status="accepted", p_value=None,
                    p_relation=None, setting="advanced")
        return make_record(**{**base, **kw})
    recs = [r(1, 0.77, 0.62, 0.95), r(2, 0.90, 0.70, 1.15), r(3, 0.60, 0.45, 0.80, status="extracted"),
            r(4, 0.70, 0.55, 0.89, flags=["hr_not_log_midpoint"]), r(5, 0.80, 0.70, 0.91, design="meta_analysis"),
            r(6, 0.95, 0.75, 1.20, setting="adjuvant"), r(7, 1.05, 0.80, 1.38, setting="adjuvant")]
    path = tmp_path / "plan.jsonl"
    write_records(recs, path)
    return path


def test_pool_defaults_name_each_exclusion_and_widen_on_purpose(plan_file):
    res = run("pool", "--input", str(plan_file))
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.stdout.splitlines() if "advanced" in ln)
    assert "│ 2 │" in line and "common effect" in line  # k and the model of the cell
    assert "status 'extracted' not in statuses" in res.stderr
    assert "flagged hr_not_log_midpoint" in res.stderr
    assert "published synthesis" in res.stderr and "1 published syntheses shown beside" in res.stderr
    wide = run("pool", "--input", str(plan_file), "--statuses", "extracted,accepted,edited", "--include-flagged")
    assert wide.exit_code == 0, wide.output
    line = next(ln for ln in wide.stdout.splitlines() if "advanced" in ln)
    assert "│ 4 │" in line and "REML" in line
    assert "not in statuses" not in wide.stderr and "flagged" not in wide.stderr


def test_pool_subgroup_key_runs_subgroup_test(plan_file):
    res = run("pool", "--input", str(plan_file), "--by", "histotype,intervention,comparator,endpoint,measure",
              "--subgroup", "setting")
    assert res.exit_code == 0, res.output
    assert "Tests for subgroup differences by setting" in res.stdout
    row = next(ln for ln in res.stdout.splitlines() if "adjuvant, advanced" in ln)
    assert "│ 4 │" in row  # two trials in each setting
    assert run("pool", "--input", str(plan_file), "--subgroup", "colour").exit_code == 2
    assert "also a --by key" in run("pool", "--input", str(plan_file), "--subgroup", "setting").stderr


def test_pool_one_model_for_every_cell_when_asked(plan_file):
    res = run("pool", "--input", str(plan_file), "--method", "REML", "--test", "z")
    assert res.exit_code == 0, res.output
    assert "Pooled estimates (REML, z, 95% CI)" in res.stdout
    assert "REML+z, t PI" in next(ln for ln in res.stdout.splitlines() if "advanced" in ln)
