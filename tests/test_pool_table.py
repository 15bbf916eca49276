"""meta.pool_table: grouping, one contribution per trial, roll-up, k = 1 cells, exclusions, and
agreement with meta.pool cell by cell; pool_many against a loop of pool calls."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from meta import effect_sizes as es
from meta import pool, pool_many, pool_table

PARENTS = {"dedifferentiated_liposarcoma": "liposarcoma", "myxoid_liposarcoma": "liposarcoma",
           "uterine_leiomyosarcoma": "leiomyosarcoma"}  # fmt: skip


def rec(rid: str, hist: list[str], value: float, lo: float | None, hi: float | None, **kw: Any) -> dict:
    base = dict(record_id=rid, source_id=f"PMID:{rid}", trial=None, year=2015, histotypes=hist,
                intervention="trabectedin", comparator="dacarbazine", arm="contrast", endpoint="OS",
                measure="HR", value=value, unit="ratio", ci_low=lo, ci_high=hi, ci_level=0.95,
                p_value=None, p_relation=None, n=100, status="accepted")  # fmt: skip
    base.update(kw)
    return base


def quiet(*args: Any, **kw: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # k = 1 cells warn by design
        return pool_table(*args, **kw)


def cell(df: pd.DataFrame, **keys: Any) -> pd.Series:
    m = np.ones(len(df), dtype=bool)
    for k, v in keys.items():
        m &= (df[k] == v).to_numpy()
    assert m.sum() == 1, (keys, m.sum())
    return df[m].iloc[0]


RECORDS = [
    rec("a1", ["leiomyosarcoma"], 0.70, 0.55, 0.89),
    rec("a2", ["leiomyosarcoma"], 0.85, 0.60, 1.20),
    rec("a3", ["leiomyosarcoma"], 0.60, 0.41, 0.88, endpoint="PFS"),
    rec("a4", ["leiomyosarcoma"], 0.55, 0.44, 0.70, endpoint="PFS"),
    rec("b1", ["liposarcoma", "leiomyosarcoma"], 0.93, 0.75, 1.15),
    rec("b2", ["leiomyosarcoma", "liposarcoma"], 0.80, 0.66, 0.97),
    rec("c1", ["synovial_sarcoma"], 0.66, 0.40, 1.09),
    rec("r1", ["leiomyosarcoma"], 0.20, 0.10, 0.40, status="rejected"),
]


def test_grouping_and_histotype_key() -> None:
    out = quiet(RECORDS)
    assert set(out["histotype"]) == {"leiomyosarcoma", "leiomyosarcoma+liposarcoma", "synovial_sarcoma"}
    lms_os = cell(out, histotype="leiomyosarcoma", endpoint="OS")
    assert lms_os["k"] == 2 and lms_os["record_ids"] == ["a1", "a2"]
    assert cell(out, histotype="leiomyosarcoma+liposarcoma")["k"] == 2
    assert lms_os["n_total"] == 200
    assert lms_os["scale"] == "log"


def test_rejected_never_pooled() -> None:
    out = quiet(RECORDS)
    used = {r for ids in out["record_ids"] for r in ids}
    assert "r1" not in used
    assert {"record_id": "r1", "reason": "status 'rejected': never pooled"} in out.attrs["excluded"]
    out2 = quiet(RECORDS, statuses=("accepted",))
    assert "r1" not in {r for ids in out2["record_ids"] for r in ids}


def test_k1_cells_listed_with_nan() -> None:
    out = quiet(RECORDS)
    syn = cell(out, histotype="synovial_sarcoma")
    assert syn["k"] == 1 and syn["record_ids"] == ["c1"]
    assert math.isnan(syn["estimate"]) and math.isnan(syn["tau2"]) and math.isnan(syn["estimate_exp"])


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("DL", "knha"), ("PM", "adhoc")])
def test_numbers_equal_pool_on_same_cell(method: str, test: str) -> None:
    out = quiet(RECORDS, method=method, test=test, level=0.9)
    row = cell(out, histotype="leiomyosarcoma", endpoint="PFS")
    yi, vi = es.log_hr_from_ci([0.60, 0.55], [0.41, 0.44], [0.88, 0.70])
    res = pool(yi, vi, method=method, test=test, level=0.9)
    for f in ("estimate", "se", "ci_low", "ci_high", "p_value", "stat", "tau2", "tau2_ci_low",
              "tau2_ci_high", "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high"):  # fmt: skip
        assert row[f] == pytest.approx(getattr(res, f), rel=1e-12, abs=1e-14, nan_ok=True), f
    assert row["estimate_exp"] == pytest.approx(math.exp(res.estimate))
    assert row["ci_high_exp"] == pytest.approx(res.exp().ci_high)
    assert row["weights"] == pytest.approx(res.weights.tolist())
    assert row["method"] == method and row["test"] == test and bool(row["converged"])


def test_one_contribution_per_trial_latest_wins() -> None:
    recs = [
        rec("i1", ["leiomyosarcoma"], 0.60, 0.45, 0.80, source_id="NCT01343277", year=2015),  # interim
        rec("f1", ["leiomyosarcoma"], 0.75, 0.61, 0.92, source_id="PMID:9", trial="NCT01343277", year=2017),
        rec("o1", ["leiomyosarcoma"], 0.90, 0.70, 1.16, trial="EORTC 62012", year=2014),
        rec("o2", ["leiomyosarcoma"], 0.88, 0.69, 1.12, trial="EORTC 62012", year=2014),  # same year
    ]
    out = quiet(recs)
    row = cell(out, histotype="leiomyosarcoma")
    assert row["k"] == 2
    assert sorted(row["record_ids"]) == ["f1", "o2"]
    assert sorted(row["trials"]) == ["NCT01343277", "trial:eortc62012"]  # the normalised name
    reasons = {e["record_id"]: e["reason"] for e in out.attrs["excluded"]}
    assert reasons["i1"].startswith("superseded by f1 (same trial NCT01343277")
    assert reasons["o1"].startswith("superseded by o2")


def test_same_trial_in_different_cells_counts_in_each() -> None:
    recs = [rec("x1", ["leiomyosarcoma"], 0.7, 0.5, 0.9, trial="T"),
            rec("x2", ["leiomyosarcoma"], 0.7, 0.5, 0.9, trial="T", endpoint="PFS")]  # fmt: skip
    out = quiet(recs)
    assert sorted(out["k"]) == [1, 1]


def test_rollup_pools_subtypes_into_parent() -> None:
    recs = [
        rec("d1", ["dedifferentiated_liposarcoma"], 0.70, 0.50, 0.98),
        rec("d2", ["dedifferentiated_liposarcoma"], 0.80, 0.60, 1.07),
        rec("m1", ["myxoid_liposarcoma"], 0.60, 0.40, 0.90),
        rec("l1", ["liposarcoma"], 0.90, 0.70, 1.16),
        rec("u1", ["uterine_leiomyosarcoma"], 0.90, 0.70, 1.16, trial="SAME"),
        rec("u2", ["leiomyosarcoma"], 0.80, 0.60, 1.07, trial="SAME", year=2019),
    ]
    plain = quiet(recs)
    assert "rollup" in plain and not plain["rollup"].any()
    assert cell(plain, histotype="liposarcoma")["k"] == 1
    out = quiet(recs, rollup=True, parents=PARENTS)
    lps = cell(out, histotype="liposarcoma")
    assert bool(lps["rollup"]) and lps["k"] == 4
    assert sorted(lps["record_ids"]) == ["d1", "d2", "l1", "m1"]
    assert cell(out, histotype="dedifferentiated_liposarcoma")["k"] == 2
    assert not bool(cell(out, histotype="dedifferentiated_liposarcoma")["rollup"])
    # the roll-up cell applies one-contribution-per-trial again: u1 (2015) and u2 (2019) are one trial
    lms = cell(out, histotype="leiomyosarcoma")
    assert lms["k"] == 1 and lms["record_ids"] == ["u2"]
    yi, vi = es.log_hr_from_ci([0.70, 0.80, 0.60, 0.90], [0.50, 0.60, 0.40, 0.70], [0.98, 1.07, 0.90, 1.16])
    assert lps["estimate"] == pytest.approx(pool(yi, vi).estimate, rel=1e-12)


def test_rollup_own_population_beats_subgroup_of_same_trial() -> None:
    """A trial's all-comers HR, not its later-listed subgroup HR, stands for it in the parent cell."""
    recs = [
        rec("all", ["soft_tissue_sarcoma"], 1.05, 0.84, 1.30, trial="T1", year=2020),
        rec("sub", ["leiomyosarcoma"], 0.95, 0.69, 1.31, trial="T1", year=2020),
        rec("o2", ["soft_tissue_sarcoma"], 0.80, 0.60, 1.07, trial="T2", year=2016),
    ]
    parents = {**PARENTS, "leiomyosarcoma": "soft_tissue_sarcoma"}
    out = quiet(recs, rollup=True, parents=parents)
    sts = cell(out, histotype="soft_tissue_sarcoma")
    assert sorted(sts["record_ids"]) == ["all", "o2"]
    assert any(e["record_id"] == "sub" for e in out.attrs["excluded"])


def test_p_value_fallback_and_exclusions() -> None:
    recs = [
        rec("p1", ["gist"], 0.70, None, None, p_value=0.017, p_relation="="),
        rec("p2", ["gist"], 0.80, None, None, p_value=0.001, p_relation="<"),
        rec("p3", ["gist"], 0.75, 0.60, 0.94),
        rec("p4", ["gist"], 0.50, 0.60, 0.94),  # value outside its CI
        rec("p5", ["gist"], 0.66, 0.50, 0.87, ci_level=0.90),
    ]
    out = quiet(recs)
    row = cell(out, histotype="gist")
    assert row["record_ids"] == ["p1", "p3", "p5"]
    reasons = {e["record_id"]: e["reason"] for e in out.attrs["excluded"]}
    assert reasons["p2"] == "HR without a CI or an exact p value (p_relation '=')"
    assert "lies outside its CI" in reasons["p4"]
    y1, v1 = es.log_hr_from_p([0.70], [0.017])
    y3, v3 = es.log_hr_from_ci([0.75, 0.66], [0.60, 0.50], [0.94, 0.87], level=0.95)
    _, v5 = es.log_hr_from_ci([0.66], [0.50], [0.87], level=0.90)
    res = pool([y1[0], y3[0], y3[1]], [v1[0], v3[0], v5[0]])
    assert row["estimate"] == pytest.approx(res.estimate, rel=1e-12)


def test_arm_level_measures_only_with_arm_key() -> None:
    recs = [
        rec("s1", ["angiosarcoma"], 0.30, None, None, measure="rate", arm="single", n=40,
            endpoint="ORR", comparator=None, unit="proportion"),
        rec("s2", ["angiosarcoma"], 0.45, None, None, measure="rate", arm="single", n=60,
            endpoint="ORR", comparator=None, unit="proportion"),
        rec("s3", ["angiosarcoma"], 0.20, None, None, measure="rate", arm="single", n=None,
            endpoint="ORR", comparator=None, unit="proportion"),
        rec("m1", ["angiosarcoma"], 26.0, 20.0, 32.0, measure="median", arm="single", unit="weeks",
            endpoint="PFS", comparator=None),
        rec("m2", ["angiosarcoma"], 7.0, 5.0, 9.0, measure="median", arm="single", unit="months",
            endpoint="PFS", comparator=None),
    ]
    out = quiet(recs)
    assert out.empty
    assert all("pooled only when 'arm' is in by" in e["reason"] for e in out.attrs["excluded"])
    by = ("histotype", "intervention", "endpoint", "measure", "arm")
    out = quiet(recs, by=by)
    rate = cell(out, measure="rate")
    assert rate["scale"] == "logit" and rate["record_ids"] == ["s1", "s2"]
    yi, vi = es.prop_logit([12, 27], [40, 60])
    res = pool(yi, vi, method="FE")  # k = 2: the common-effect estimate
    assert rate["estimate"] == pytest.approx(res.estimate, rel=1e-12)
    assert rate["estimate_exp"] == pytest.approx(1 / (1 + math.exp(-res.estimate)))
    assert {"record_id": "s3", "reason": "rate without a CI or n"} in out.attrs["excluded"]
    med = cell(out, measure="median")
    assert med["scale"] == "log_months"  # medians on the log scale (issue 14)
    f = 12 / 52
    ym = np.log([26 * f, 7.0])
    vm = es.var_from_ci(np.log([20.0, 5.0]), np.log([32.0, 9.0]))
    assert med["estimate"] == pytest.approx(pool(ym, vm, method="FE").estimate, rel=1e-12)
    assert med["estimate_exp"] == pytest.approx(math.exp(med["estimate"]))


def test_accepts_dataframe_and_json_list_histotypes() -> None:
    df = pd.DataFrame(RECORDS[:2])
    df["histotypes"] = '["leiomyosarcoma"]'
    out = quiet(df)
    assert cell(out, histotype="leiomyosarcoma")["k"] == 2


def test_k1_cells_do_not_warn_and_empty_input() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool_table(RECORDS)  # k = 1 cells are listed, not pooled: nothing to warn about
    out = pool_table([RECORDS[-1]])
    assert out.empty and out.attrs["excluded"][0]["record_id"] == "r1"


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("PM", "knha"), ("EB", "adhoc"), ("SJ", "z")])
def test_vectorised_equals_loop_of_pool(method: str, test: str) -> None:
    rng = np.random.default_rng(20240611)
    n_cells = 200
    k = rng.integers(2, 31, size=n_cells)
    kmax = int(k.max())
    M = np.arange(kmax)[None, :] < k[:, None]
    tau = rng.choice([0.0, 0.1, 0.5], size=n_cells)
    V = rng.uniform(0.005, 0.5, size=(n_cells, kmax))
    Y = rng.normal(-0.2, 1.0, size=(n_cells, 1)) * 0.3 + rng.normal(0, 1, size=(n_cells, kmax)) * np.sqrt(
        V + tau[:, None] ** 2
    )
    # REML/ML Fisher scoring oscillates in a few random cells (as in metafor): both paths must flag them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        many = pool_many(Y, V, M, method=method, test=test)
        loop = [pool(Y[i, : k[i]], V[i, : k[i]], method=method, test=test) for i in range(n_cells)]
    fields = ("estimate", "se", "ci_low", "ci_high", "p_value", "stat", "tau2", "tau2_ci_low",
              "tau2_ci_high", "i2", "h2", "q", "q_p", "pi_low", "pi_high")  # fmt: skip
    for i in range(n_cells):
        one = loop[i]
        for f in fields:
            # padding changes the floating-point summation order, so an iteration may stop one step
            # apart; both stops are within the convergence threshold (1e-10 on τ²)
            assert getattr(many, f)[i] == pytest.approx(getattr(one, f), rel=1e-8, abs=1e-8, nan_ok=True), (i, f)
        assert np.allclose(many.weights[i, : k[i]], one.weights, rtol=1e-8)
        assert many.converged[i] == one.converged


def test_all_records_excluded_gives_empty_table_with_reasons() -> None:
    """Nothing poolable (here: every record rejected) is an empty result, never an exception."""
    recs = [rec("a", ["leiomyosarcoma"], 0.7, 0.5, 0.98, status="rejected"),
            rec("b", ["leiomyosarcoma"], 0.8, 0.6, 1.07, status="rejected")]
    out = quiet(recs)
    assert out.empty
    assert [e["record_id"] for e in out.attrs["excluded"]] == ["a", "b"]


def test_oscillating_reml_cell_is_refitted_with_half_steps() -> None:
    """metafor stops on these data at stepadj = 1 and advises stepadj = 0.5; pool_table applies that
    remedy to the failing cell, says so in a warning and the ``stepadj`` column, and matches metafor."""
    import json
    from pathlib import Path

    osc = json.loads((Path(__file__).parent / "reference" / "metafor_pool.json").read_text())["oscillation"]
    z = 1.959963984540054
    half = [z * math.sqrt(v) for v in osc["vi"]]
    recs = [rec(f"o{i}", ["leiomyosarcoma"], math.exp(y), math.exp(y - h), math.exp(y + h))
            for i, (y, h) in enumerate(zip(osc["yi"], half, strict=True))]
    with pytest.warns(RuntimeWarning, match=r"refitted with step halving \(stepadj=0.5.*\): 1 converged"):
        out = pool_table(recs, method="REML", test="z")
    row = out.iloc[0]
    assert bool(row["converged"]) and row["stepadj"] == 0.5
    for f in ("tau2", "estimate", "se"):
        assert row[f] == pytest.approx(osc[f], rel=1e-6, abs=1e-6), f


def test_median_outside_its_ci_and_missing_values_are_excluded_not_pooled() -> None:
    """A median whose CI misses it (a typo the source may carry) and a missing value are excluded with
    a reason; they neither crash the call nor reach a pooled estimate."""
    meds = [rec(i, ["leiomyosarcoma"], v, lo, hi, measure="median", unit="months", arm="intervention")
            for i, v, lo, hi in (("bad", 30.0, 5.0, 9.0), ("nan", math.nan, 5.0, 9.0), ("m1", 7.0, 5.0, 9.0),
                                 ("m2", 8.0, 6.0, 10.0), ("m3", 6.0, 4.5, 8.0))]
    out = quiet(meds, by=("histotype", "intervention", "comparator", "endpoint", "measure", "arm"))
    assert sorted(out.iloc[0]["record_ids"]) == ["m1", "m2", "m3"]
    reasons = {e["record_id"]: e["reason"] for e in out.attrs["excluded"]}
    assert "outside its CI" in reasons["bad"] and "finite value" in reasons["nan"]


def test_rates_at_different_timepoints_are_never_pooled_together() -> None:
    """1-year and 5-year OS rates of the same arm are different questions, even when `by` omits the time."""
    by = ("histotype", "intervention", "comparator", "endpoint", "measure", "arm")
    rates = [rec(i, ["leiomyosarcoma"], v, None, None, measure="rate", unit="proportion", arm="single",
                 timepoint_months=tp, endpoint="OS", trial=i)
             for i, v, tp in (("a", 0.90, 12.0), ("b", 0.85, 12.0), ("c", 0.20, 60.0), ("d", 0.25, 60.0))]
    out = quiet(rates, by=by)
    assert sorted(out["timepoint_months"].tolist()) == [12.0, 60.0]
    assert sorted(sorted(r) for r in out["record_ids"]) == [["a", "b"], ["c", "d"]]


def test_one_sided_ci_is_not_pooled_as_two_sided() -> None:
    """A record flagged one_sided_ci (ClinicalTrials.gov can post them) is excluded with its reason."""
    recs = [rec("a", ["gist"], 0.7, 0.5, 0.98, flags=["one_sided_ci"]), rec("b", ["gist"], 0.8, 0.6, 1.07),
            rec("c", ["gist"], 0.75, 0.55, 1.02)]
    out = quiet(recs)
    assert sorted(out.iloc[0]["record_ids"]) == ["b", "c"]
    assert "one-sided" in {e["record_id"]: e["reason"] for e in out.attrs["excluded"]}["a"]
