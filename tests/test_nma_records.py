"""nma_from_records: the pooling plan's rules applied to a network, and the `nma` CLI command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from meta.nma import nma
from meta.nma_records import nma_from_records, trial_key


def rec(rid, trial, t1, t2, hr, lo, hi, **kw):
    base = dict(record_id=rid, source_id=f"PMID:{rid}", trial=trial, intervention=t1, comparator=t2,
                arm="contrast", endpoint="OS", measure="HR", value=hr, ci_low=lo, ci_high=hi, ci_level=0.95,
                status="accepted", histotypes=["leiomyosarcoma"], setting="advanced", line="second_plus",
                n=300, year=2016)
    base.update(kw)
    return base


def star():
    """eribulin and trabectedin each against dacarbazine, plus a direct eribulin-trabectedin trial."""
    return [rec("a", "Alpha", "eribulin", "dacarbazine", 0.77, 0.62, 0.95),
            rec("b", "Beta", "trabectedin", "dacarbazine", 0.87, 0.69, 1.10),
            rec("c", "Gamma", "eribulin", "trabectedin", 0.90, 0.70, 1.16)]


def test_contrasts_equal_a_direct_nma_on_the_log_scale():
    net = nma_from_records(star())
    con = net.contrasts
    assert list(con["treat1"]) == ["eribulin", "trabectedin", "eribulin"]
    assert math.isclose(con["yi"].iloc[0], math.log(0.77)) and math.isclose(
        con["vi"].iloc[0], ((math.log(0.95) - math.log(0.62)) / (2 * 1.959963984540054)) ** 2)
    direct = nma(con[["study", "treat1", "treat2", "yi", "vi"]])
    assert np.allclose(net.main.coef, direct.coef) and net.components == [["dacarbazine", "eribulin", "trabectedin"]]
    assert len(net.main.split) == 3  # a loop: every comparison has direct and indirect evidence


def test_reverse_report_of_one_trial_is_inverted_and_counted_once():
    recs = [*star(), rec("a2", "Alpha", "dacarbazine", "eribulin", 1 / 0.75, 1 / 0.93, 1 / 0.60, year=2018)]
    net = nma_from_records(recs)
    row = net.contrasts[net.contrasts["trial"] == "Alpha"]
    assert len(row) == 1 and row["record_id"].iloc[0] == "a2"  # the later report, turned round
    assert row["treat1"].iloc[0] == "eribulin" and math.isclose(row["yi"].iloc[0], math.log(0.75))
    assert any(x["record_id"] == "a" and "superseded by a2" in x["reason"] for x in net.excluded)


def test_whole_population_before_a_subgroup_and_subgroups_combined_when_alone():
    recs = [*star()[1:], rec("s1", "Alpha", "eribulin", "dacarbazine", 0.70, 0.50, 0.98, subgroup="histotype",
                             subgroup_label="uterine", year=2020),
            rec("w", "Alpha", "eribulin", "dacarbazine", 0.77, 0.62, 0.95, subgroup=None)]
    net = nma_from_records(recs)
    assert net.contrasts.set_index("trial").loc["Alpha", "record_id"] == "w"
    only_sub = [*star()[1:], rec("s1", "Alpha", "eribulin", "dacarbazine", 0.70, 0.50, 0.98, subgroup="histotype",
                                 subgroup_label="uterine"),
                rec("s2", "Alpha", "eribulin", "dacarbazine", 0.85, 0.60, 1.20, subgroup="histotype",
                    subgroup_label="extra-uterine")]
    net = nma_from_records(only_sub)
    row = net.contrasts.set_index("trial").loc["Alpha"]
    y = np.log([0.70, 0.85])
    v = ((np.log([0.98, 1.20]) - np.log([0.50, 0.60])) / (2 * 1.959963984540054)) ** 2
    assert math.isclose(row["yi"], float(np.sum(y / v) / np.sum(1 / v))) and row["record_id"] == "s1+s2"
    assert any("subgroups combined" in n for n in net.notes)


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "rejected"}, "status 'rejected'"),
    ({"status": "extracted"}, "status 'extracted'"),
    ({"flags": ["value_outside_ci"]}, "flagged as inconsistent"),
    ({"design": "meta_analysis"}, "published synthesis"),
    ({"comparator": None}, "not a comparison"),
    ({"ci_low": None, "ci_high": None, "p_value": 0.01, "p_relation": "<"}, "without a CI or an exact p"),
])
def test_plan_exclusions_are_named(change, reason):
    recs = star()
    recs[2].update(change)
    net = nma_from_records(recs)
    assert [x["record_id"] for x in net.excluded] == ["c"] and reason in net.excluded[0]["reason"]
    assert len(net.contrasts) == 2


def test_trial_identity_by_registry_id_then_resolver_then_name():
    assert trial_key({"registry_ids": ["NCT01343277"], "source_id": "PMID:1", "trial": "SAR-3007"}) == "NCT01343277"
    assert trial_key({"source_id": "PMID:1", "trial": "SAR-3007"}, lambda n: "NCT01343277") == "NCT01343277"
    assert trial_key({"source_id": "PMID:1", "trial": "Study 309"}) == trial_key(
        {"source_id": "PMID:2", "trial": "study  309"})
    assert trial_key({"source_id": "PMID:9", "trial": None}) == "source:PMID:9"
    recs = [rec("a", "Alpha", "eribulin", "dacarbazine", 0.77, 0.62, 0.95),
            rec("a2", "ALPHA trial", "eribulin", "dacarbazine", 0.75, 0.60, 0.93, year=2018)]
    assert len(nma_from_records(recs).contrasts) == 1


def test_disconnected_network_is_reported_as_components_each_fitted():
    recs = [*star(), rec("p", "Pal", "pazopanib", "placebo", 0.86, 0.67, 1.11),
            rec("r", "Reg", "regorafenib", "placebo", 0.80, 0.60, 1.07)]
    net = nma_from_records(recs)
    assert net.components == [["dacarbazine", "eribulin", "trabectedin"], ["pazopanib", "placebo", "regorafenib"]]
    assert set(net.fits) == {0, 1} and net.fits[1].reference == "placebo"
    assert any("disconnected" in n for n in net.notes)
    nodes = net.nodes().set_index("treatment")
    assert nodes.loc["placebo", "trials"] == 2 and nodes.loc["placebo", "patients"] == 300
    assert nodes.loc["pazopanib", "component"] == 1
    assert net.edges().set_index(["treat1", "treat2"]).loc[("dacarbazine", "eribulin"), "trials"] == 1


def test_multiarm_trial_gets_an_equal_allocation_covariance_note():
    recs = [*star()[:2], rec("m1", "Three", "eribulin", "dacarbazine", 0.80, 0.60, 1.07),
            rec("m2", "Three", "trabectedin", "dacarbazine", 0.85, 0.64, 1.13)]
    net = nma_from_records(recs)
    three = net.contrasts[net.contrasts["trial"] == "Three"]
    assert math.isclose(three["vi_shared"].iloc[0], 0.5 * three["vi"].min())
    assert any("equal allocation" in n for n in net.notes) and net.main.network.blocks[-1].V.shape == (2, 2)


def test_filters_and_mixed_lines_note():
    recs = [*star(), rec("f", "First", "doxorubicin", "dacarbazine", 0.9, 0.7, 1.2, line="first")]
    assert len(nma_from_records(recs, line="second_plus").contrasts) == 3
    assert any("mixes lines" in n for n in nma_from_records(recs).notes)
    assert nma_from_records(recs, histotype="liposarcoma").contrasts.empty
    assert nma_from_records(recs, endpoint="PFS").contrasts.empty


def test_cli_prints_league_and_writes_csv(tmp_path):
    from evidence.cli import app

    src = tmp_path / "recs.csv"
    pd.DataFrame([{**r, "histotypes": '["leiomyosarcoma"]'} for r in star()]).to_csv(src, index=False)
    out = tmp_path / "league.csv"
    res = CliRunner().invoke(app, ["nma", "--input", str(src), "--endpoint", "OS", "--measure", "HR",
                                   "--line", "second_plus", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "league table" in res.output and "P-scores" in res.output and "node split" in res.output
    df = pd.read_csv(out)
    assert len(df) == 6 and set(df["treat1"]) == {"dacarbazine", "eribulin", "trabectedin"}
    row = df[(df["treat1"] == "eribulin") & (df["treat2"] == "dacarbazine")].iloc[0]
    assert math.isclose(row["estimate"], math.exp(row["log_estimate"])) and row["ci_low"] < row["estimate"]


def test_cli_names_treatments_that_are_not_agents(tmp_path):
    from evidence.cli import app

    recs = star()
    recs[0]["intervention"] = "active_agent"
    src = tmp_path / "recs.csv"
    pd.DataFrame([{**r, "histotypes": '["leiomyosarcoma"]'} for r in recs]).to_csv(src, index=False)
    res = CliRunner().invoke(app, ["nma", "--input", str(src)])
    assert res.exit_code == 0 and "'active_agent' is not an agent of the vocabulary" in res.output
    assert "'eribulin' is not" not in res.output


def test_cli_bad_calls_exit_2(tmp_path):
    from evidence.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["nma", "--input", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2
    res = runner.invoke(app, ["nma", "--measure", "median", "--input", "x.csv"])
    assert res.exit_code == 2 and "unknown --measure" in res.output
    src = tmp_path / "recs.csv"
    pd.DataFrame([{**r, "histotypes": '["leiomyosarcoma"]'} for r in star()]).to_csv(src, index=False)
    res = runner.invoke(app, ["nma", "--input", str(src), "--endpoint", "PFS"])
    assert res.exit_code == 2 and "no PFS HR contrasts" in res.output
    res = runner.invoke(app, ["nma", "--input", str(src), "--method", "XX"])
    assert res.exit_code == 2 and "Invalid method" in res.output
