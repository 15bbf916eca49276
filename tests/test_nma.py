"""meta.nma against R metafor rma.mv (tests/reference/make_reference_nma.R → metafor_nma.json).

Tolerance: |ours − metafor| ≤ 1e-6 × max(1, |metafor|) on every field (metafor run with BFGS reltol 1e-15).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meta import pool
from meta.nma import nma
from meta.nma_data import DisconnectedNetwork

REF = json.loads((Path(__file__).parent / "reference" / "metafor_nma.json").read_text())
NETWORKS = sorted(REF["networks"])
TOL = 1e-6


def close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= TOL * max(1.0, abs(theirs))


def contrasts(name: str) -> pd.DataFrame:
    return pd.DataFrame(REF["networks"][name]["contrasts"])


def fit(name: str, method: str):
    return nma(contrasts(name), reference=REF["networks"][name]["reference"], method=method)


def test_reference_has_source_block():
    src = REF["source"]
    assert src["metafor"] >= "3.8" and src["script"].endswith("make_reference_nma.R") and "rma.mv" in src["model"]


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("method", ["REML", "ML", "FE", "DL"])
def test_estimates_se_tau2_q_match_metafor(name, method):
    """Estimates vs the reference, their SEs, τ² and Q equal rma.mv's to 1e-6."""
    ref = REF["networks"][name]["fits"][method]
    res = fit(name, method)
    est = res.estimates.set_index("treatment").loc[ref["treatments"]]
    for ours, theirs in zip(est["estimate"], ref["estimate"], strict=True):
        assert close(ours, theirs)
    for ours, theirs in zip(est["se"], ref["se"], strict=True):
        assert close(ours, theirs)
    assert close(res.tau2, ref["tau2"])
    assert close(res.q, ref["QE"]) and res.q_df == ref["QEdf"]
    assert res.converged


@pytest.mark.parametrize("name", NETWORKS)
def test_ci_and_covariance_match_metafor(name):
    ref = REF["networks"][name]["fits"]["REML"]
    res = fit(name, "REML")
    est = res.estimates.set_index("treatment").loc[ref["treatments"]]
    assert all(close(a, b) for a, b in zip(est["ci_low"], ref["ci_lb"], strict=True))
    assert all(close(a, b) for a, b in zip(est["ci_high"], ref["ci_ub"], strict=True))
    idx = [res.treatments.index(t) for t in ref["treatments"]]
    assert np.allclose(res.cov[np.ix_(idx, idx)], np.asarray(ref["vcov"]), rtol=0, atol=TOL)


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("small", ["good", "bad"])
def test_pscores_match_formula_on_metafor_fit(name, small):
    """P-scores (Rücker & Schwarzer 2015) equal the formula applied to rma.mv's coefficients and vcov."""
    ref = REF["networks"][name]["fits"]["REML"][f"pscores_{small}"]
    net = REF["networks"][name]
    res = nma(contrasts(name), reference=net["reference"], method="REML", small_values=small)
    for t, p in ref.items():
        assert close(float(res.pscores[t]), p)
    assert math.isclose(float(res.pscores.sum()), len(res.treatments) / 2)  # P-scores average ½


@pytest.mark.parametrize("name", NETWORKS)
def test_q_decomposition_matches_metafor(name):
    """Total = within designs + between designs, each equal to rma.mv FE fits (consistency, interaction)."""
    ref = REF["networks"][name]["decomposition"]
    res = fit(name, "REML")
    d = res.decomposition
    for row in ("total", "within_designs", "between_designs"):
        assert close(float(d.loc[row, "q"]), ref[row]["q"]) and int(d.loc[row, "df"]) == ref[row]["df"]
    assert close(float(d.loc["between_designs", "q"]), ref["between_designs"]["q_wald"])
    assert math.isclose(d.loc["total", "q"], d.loc["within_designs", "q"] + d.loc["between_designs", "q"])
    designs = res.q_designs.set_index("design")
    assert sorted(designs.index) == sorted(x["design"] for x in ref["designs"])
    for x in ref["designs"]:
        assert close(float(designs.loc[x["design"], "q"]), x["q"]) and int(designs.loc[x["design"], "df"]) == x["df"]
    rnd = res.q_between_random
    assert close(rnd["tau2_within"], ref["tau2_within"])
    assert close(rnd["q"], ref["between_random"]["q"]) and rnd["df"] == ref["between_random"]["df"]
    assert close(rnd["p_value"], ref["between_random"]["p_value"])


@pytest.mark.parametrize("name", NETWORKS)
def test_node_split_matches_back_calculation_on_metafor(name):
    ref = REF["networks"][name]["fits"]["REML"]["split"]
    res = fit(name, "REML")
    ours = res.split.set_index(["treat1", "treat2"])
    assert len(ours) == len(ref) > 0
    for x in ref:
        row = ours.loc[(x["treat1"], x["treat2"])]
        assert int(row["k_direct"]) == x["k_direct"]
        for f in ("direct", "direct_se", "indirect", "indirect_se", "z", "p_value"):
            assert close(float(row[f]), x[f]), f


def test_all_pairwise_multiarm_contrasts_equal_shared_arm_form():
    """netmeta's form (every pair of a multi-arm study, no vi_shared) gives the same fit as vi_shared."""
    df = contrasts("hasselblad")
    rows = []
    for _, g in df.groupby("study", sort=False):
        rows.extend(g.drop(columns="vi_shared").to_dict("records"))
        if len(g) == 2:  # add the pair between the two non-shared arms
            a, b = g.iloc[0], g.iloc[1]
            rows.append({"study": a["study"], "treat1": a["treat1"], "treat2": b["treat1"], "yi": a["yi"] - b["yi"],
                         "vi": a["vi"] + b["vi"] - 2 * a["vi_shared"]})
    pairwise = nma(pd.DataFrame(rows), reference="no_contact")
    shared = fit("hasselblad", "REML")
    assert np.allclose(pairwise.coef, shared.coef, atol=1e-10) and np.allclose(pairwise.cov, shared.cov, atol=1e-10)
    assert math.isclose(pairwise.tau2, shared.tau2, abs_tol=1e-10)


def test_multiarm_without_covariance_is_refused():
    df = contrasts("hasselblad").drop(columns="vi_shared")
    with pytest.raises(ValueError, match="vi_shared"):
        nma(df)


def test_disconnected_network_names_its_components():
    df = pd.DataFrame({"study": ["a", "b", "c"], "treat1": ["x", "y", "p"], "treat2": ["z", "z", "q"],
                       "yi": [0.1, 0.2, 0.3], "vi": [0.1, 0.1, 0.1]})
    with pytest.raises(DisconnectedNetwork) as err:
        nma(df)
    assert err.value.components == [["x", "y", "z"], ["p", "q"]]


def test_reference_and_direction_do_not_change_relative_effects():
    df = contrasts("senn2013")
    a = nma(df, reference="placebo")
    flipped = df.copy()
    two_arm = ~flipped["study"].duplicated(keep=False)
    flipped.loc[two_arm, ["treat1", "treat2"]] = flipped.loc[two_arm, ["treat2", "treat1"]].to_numpy()
    flipped.loc[two_arm, "yi"] *= -1
    b = nma(flipped, reference="metformin")
    for t1, t2 in [("acarbose", "placebo"), ("sitagliptin", "rosiglitazone"), ("metformin", "miglitol")]:
        assert np.allclose(a.relative(t1, t2), b.relative(t1, t2), atol=1e-9)
    assert math.isclose(a.tau2, b.tau2, abs_tol=1e-10)


def test_two_treatments_reduce_to_pairwise_pool():
    """A network of one comparison is an ordinary meta-analysis: equal to meta.pool (REML, ML, DL)."""
    yi, vi = [0.1, 0.4, -0.2, 0.3], [0.04, 0.03, 0.05, 0.02]
    df = pd.DataFrame({"study": list("abcd"), "treat1": "t", "treat2": "c", "yi": yi, "vi": vi})
    for method in ("REML", "ML", "DL"):
        res, ref = nma(df, reference="c", method=method), pool(yi, vi, method=method)
        est, se = res.relative("t", "c")
        assert math.isclose(est, ref.estimate, abs_tol=1e-9) and math.isclose(se, ref.se, abs_tol=1e-9)
        assert math.isclose(res.tau2, ref.tau2, abs_tol=1e-9) and math.isclose(res.q, ref.q, abs_tol=1e-9)
    assert res.split.empty  # direct evidence only: nothing to split


def test_league_is_antisymmetric_and_matrix_ordered_by_pscore():
    res = fit("hasselblad", "REML")
    lg = res.league().set_index(["treat1", "treat2"])
    for (a, b), row in lg.iterrows():
        assert math.isclose(row["estimate"], -lg.loc[(b, a), "estimate"], abs_tol=1e-12)
    assert len(lg) == len(res.treatments) * (len(res.treatments) - 1)
    mat = res.league_matrix(exp=True)
    assert list(mat.index) == list(res.pscores.index) and mat.iloc[0, 0] == res.pscores.index[0]
    est = res.league(exp=True).set_index(["treat1", "treat2"])
    assert (est["ci_low"] < est["estimate"]).all() and (est["estimate"] < est["ci_high"]).all()


@pytest.mark.parametrize(("change", "message"), [
    ({"vi": -0.1}, "sampling variances must be > 0"),
    ({"yi": float("nan")}, "yi must be a finite number"),
    ({"treat2": "b"}, "treat1 equals treat2"),
])
def test_bad_rows_are_named(change, message):
    df = pd.DataFrame({"study": ["s1", "s2"], "treat1": ["b", "c"], "treat2": ["a", "a"], "yi": [0.1, 0.2],
                       "vi": [0.1, 0.1]})
    for col, val in change.items():
        df.loc[0, col] = val
    with pytest.raises(ValueError, match=message):
        nma(df)


def test_bad_arguments():
    df = contrasts("senn2013")
    with pytest.raises(ValueError, match="Invalid method"):
        nma(df, method="HS")
    with pytest.raises(ValueError, match="Invalid reference"):
        nma(df, reference="aspirin")
    with pytest.raises(ValueError, match="Invalid small_values"):
        nma(df, small_values="low")
    with pytest.raises(ValueError, match="lack the column"):
        nma(df.drop(columns="vi"))
    with pytest.raises(ValueError, match="Invalid treatment"):
        fit("senn2013", "FE").relative("placebo", "aspirin")


def test_slightly_inconsistent_pairs_of_a_multiarm_study_all_contribute():
    """All three pairs given, y_cb ≠ y_ca − y_ba: the study's contrasts are their weighted least-squares fit."""
    from meta.nma_data import build_network

    df = pd.DataFrame({"study": "s", "treat1": ["b", "c", "c"], "treat2": ["a", "a", "b"], "yi": [0.2, 0.5, 0.4],
                       "vi": [0.1, 0.1, 0.1]})
    blk = build_network(df).blocks[0]
    assert blk.baseline == "a" and blk.arms == ("b", "c")
    assert np.allclose(blk.y, [1 / 6, 8 / 15]) and np.allclose(blk.V, [[0.1, 0.05], [0.05, 0.1]])
