"""The pooling plan's traps (issue 14, DESIGN.md "Pooling plan rules (round 2)"): each test failed on the
code before the fix. Trial identity, subgroups, reversed comparisons, keys, default records, flags as
JSON text, landmark rates with their CI, medians on the log scale, multi-arm trials, p-derived HRs,
few-study defaults, maxiter."""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from meta import effect_sizes as es
from meta import pool, pool_table
from meta.identity import trial_aliases_from_entries
from meta.table import excluded_frame

Z = float(stats.norm.isf(0.025))
PALETTE = [{"name": "PALETTE", "aliases": ["EORTC 62072"], "registry_ids": ["NCT00753688"]}]


def rec(rid: str, value: float, lo: float | None, hi: float | None, **kw: Any) -> dict:
    base = dict(record_id=rid, source_id=f"PMID:{rid}", trial=None, year=2015, histotypes=["leiomyosarcoma"],
                intervention="pazopanib", comparator="placebo", arm="contrast", endpoint="PFS",
                measure="HR", value=value, unit="ratio", ci_low=lo, ci_high=hi, ci_level=0.95,
                p_value=None, p_relation=None, n=100, status="accepted")  # fmt: skip
    base.update(kw)
    return base


def quiet(*args: Any, **kw: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return pool_table(*args, **kw)


def only(df: pd.DataFrame, **keys: Any) -> pd.Series:
    m = np.ones(len(df), dtype=bool)
    for k, v in keys.items():
        m &= (df[k] == v).to_numpy()
    assert m.sum() == 1, (keys, m.sum(), df[list(keys)].to_dict("records"))
    return df[m].iloc[0]


def reasons(out: pd.DataFrame) -> dict[str, str]:
    return {e["record_id"]: e["reason"] for e in out.attrs["excluded"]}


# -- trial identity ---------------------------------------------------------------------------------
def test_ctgov_record_and_its_paper_are_one_trial_through_the_vocabulary() -> None:
    recs = [rec("ctgov", 0.35, 0.26, 0.48, source_id="NCT00753688", year=2011),
            rec("paper", 0.31, 0.24, 0.40, source_id="PMID:22595799", trial="PALETTE", year=2012),
            rec("other", 0.60, 0.40, 0.90)]
    out = quiet(recs, trial_aliases=trial_aliases_from_entries(PALETTE))
    row = out.iloc[0]
    assert row["k"] == 2 and sorted(row["record_ids"]) == ["other", "paper"]
    assert "superseded by paper (same trial NCT00753688" in reasons(out)["ctgov"]
    # the vocabulary's alias name counts too
    recs[1]["trial"] = "EORTC-62072 study"
    assert quiet(recs, trial_aliases=trial_aliases_from_entries(PALETTE)).iloc[0]["k"] == 2


def test_one_acronym_spelled_two_ways_is_one_trial() -> None:
    recs = [rec("a", 0.35, 0.26, 0.48, trial="PALETTE", year=2012),
            rec("b", 0.31, 0.24, 0.40, trial="Palette trial", year=2014), rec("c", 0.60, 0.40, 0.90)]
    out = quiet(recs)
    assert out.iloc[0]["k"] == 2 and "a" in reasons(out)


def test_a_name_seen_with_its_registry_id_links_the_other_reports() -> None:
    recs = [rec("reg", 0.35, 0.26, 0.48, source_id="NCT00753688", trial="PALETTE", year=2011),
            rec("paper", 0.31, 0.24, 0.40, trial="Palette", year=2012), rec("c", 0.60, 0.40, 0.90)]
    assert quiet(recs).iloc[0]["k"] == 2


def test_eudract_and_isrctn_ids_identify_a_trial() -> None:
    recs = [rec("e1", 0.70, 0.50, 0.98, registry_ids=["EudraCT 2008-001234-12"], year=2010),
            rec("e2", 0.75, 0.55, 1.02, trial="EudraCT number 2008-001234-12", year=2012),
            rec("i1", 0.80, 0.60, 1.07, registry_ids='["ISRCTN12345678"]', year=2010),
            rec("i2", 0.85, 0.65, 1.11, source_id="ISRCTN12345678", year=2013),
            rec("c", 0.60, 0.40, 0.90)]
    out = quiet(recs)
    assert out.iloc[0]["k"] == 3
    assert set(out.iloc[0]["trials"]) == {"EUDRACT:2008-001234-12", "ISRCTN12345678", "source:PMID:c"}
    # the vocabulary maps a trial's EudraCT number to its NCT id
    aliases = trial_aliases_from_entries([{"name": "X", "aliases": [], "registry_ids":
                                           ["NCT00753688", "EudraCT 2008-001234-12"]}])
    recs.append(rec("n1", 0.9, 0.7, 1.2, source_id="NCT00753688", year=2015))
    out = quiet(recs, trial_aliases=aliases)
    assert out.iloc[0]["k"] == 3 and "NCT00753688" in out.iloc[0]["trials"]


# -- subgroups --------------------------------------------------------------------------------------
PARENTS = {"liposarcoma": "soft_tissue_sarcoma", "leiomyosarcoma": "soft_tissue_sarcoma"}


def test_whole_population_beats_a_later_subgroup_in_a_rollup() -> None:
    recs = [rec("whole", 0.77, 0.62, 0.95, trial="T", year=2015, histotypes=["leiomyosarcoma", "liposarcoma"]),
            rec("lps", 0.51, 0.35, 0.75, trial="T", year=2017, histotypes=["liposarcoma"],
                subgroup="histotype", subgroup_label="liposarcoma"),
            rec("o1", 0.90, 0.70, 1.16, histotypes=["soft_tissue_sarcoma"]),
            rec("o2", 0.85, 0.65, 1.11, histotypes=["soft_tissue_sarcoma"])]
    out = quiet(recs, rollup=True, parents=PARENTS)
    sts = only(out, histotype="soft_tissue_sarcoma")
    assert sorted(sts["record_ids"]) == ["o1", "o2", "whole"]
    assert "whole population" in reasons(out)["lps"]


def test_whole_population_beats_a_later_subgroup_in_its_own_cell() -> None:
    recs = [rec("whole", 0.77, 0.62, 0.95, trial="T", year=2015),
            rec("old", 0.60, 0.40, 0.90, trial="T", year=2017, subgroup="age", subgroup_label="< 65 years"),
            rec("o1", 0.90, 0.70, 1.16)]
    out = quiet(recs)
    assert sorted(out.iloc[0]["record_ids"]) == ["o1", "whole"]


def test_subgroups_of_one_trial_are_combined_within_the_trial_never_by_row_order() -> None:
    recs = [rec("lps", 0.94, 0.70, 1.26, trial="T", histotypes=["liposarcoma"]),
            rec("lms", 0.70, 0.52, 0.94, trial="T", histotypes=["leiomyosarcoma"]),
            rec("o1", 0.90, 0.70, 1.16, histotypes=["soft_tissue_sarcoma"]),
            rec("o2", 0.80, 0.62, 1.03, histotypes=["soft_tissue_sarcoma"]),
            rec("o3", 0.75, 0.60, 0.94, histotypes=["soft_tissue_sarcoma"])]
    y, v = es.log_hr_from_ci([0.94, 0.70], [0.70, 0.52], [1.26, 0.94])
    w = 1 / v
    yc, vc = float(np.sum(w * y) / w.sum()), float(1 / w.sum())  # fixed-effect within the trial
    yo, vo = es.log_hr_from_ci([0.90, 0.80, 0.75], [0.70, 0.62, 0.60], [1.16, 1.03, 0.94])
    want = pool([yc, *yo], [vc, *vo], method="REML", test="adhoc")
    seen = set()
    for seed in range(4):
        shuffled = recs[:]
        random.Random(seed).shuffle(shuffled)
        sts = only(quiet(shuffled, rollup=True, parents=PARENTS), histotype="soft_tissue_sarcoma")
        assert sts["k"] == 4
        assert sts["estimate"] == pytest.approx(want.estimate, rel=1e-9)
        assert sorted(sts["record_ids"]) == ["lms", "lps", "o1", "o2", "o3"]
        seen.add(round(float(sts["estimate"]), 12))
    assert len(seen) == 1


# -- comparisons and keys ---------------------------------------------------------------------------
def test_a_reversed_comparison_is_inverted_into_its_cell() -> None:
    kw = dict(intervention="trabectedin", comparator="dacarbazine")
    recs = [rec("a", 0.55, 0.44, 0.70, **kw), rec("b", 0.70, 0.50, 0.98, **kw),
            rec("rev", 1.43, 1.10, 1.85, intervention="dacarbazine", comparator="trabectedin")]
    out = quiet(recs)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["intervention"], row["comparator"], row["k"]) == ("trabectedin", "dacarbazine", 3)
    assert row["inverted"] == ["rev"]
    y, v = es.log_hr_from_ci([0.55, 0.70, 1 / 1.43], [0.44, 0.50, 1 / 1.85], [0.70, 0.98, 1 / 1.10])
    assert row["estimate"] == pytest.approx(pool(y, v, method="REML", test="adhoc").estimate, rel=1e-9)


def test_measure_is_always_a_key() -> None:
    recs = [rec("hr1", 0.7, 0.5, 0.98), rec("hr2", 0.8, 0.6, 1.07),
            rec("or1", 0.5, 0.3, 0.83, measure="OR", endpoint="PFS"), rec("or2", 0.6, 0.4, 0.9, measure="OR")]
    out = quiet(recs, by=("histotype", "endpoint"))
    assert "measure" in out.columns and sorted(out["measure"]) == ["HR", "OR"]
    assert all(out["k"] == 2)


def test_setting_and_line_are_default_keys() -> None:
    recs = [rec("adj1", 0.9, 0.7, 1.16, setting="adjuvant", endpoint="OS"),
            rec("adj2", 0.85, 0.65, 1.11, setting="adjuvant", endpoint="OS"),
            rec("adv1", 0.7, 0.5, 0.98, setting="advanced", line="second_plus", endpoint="OS"),
            rec("adv2", 0.75, 0.55, 1.02, setting="advanced", line="second_plus", endpoint="OS")]
    out = quiet(recs)
    assert len(out) == 2 and {"setting", "line"} <= set(out.columns)
    assert sorted(map(sorted, out["record_ids"])) == [["adj1", "adj2"], ["adv1", "adv2"]]


# -- which records are pooled -----------------------------------------------------------------------
FLAGS = ("hr_not_log_midpoint", "p_disagrees_with_ci", "value_outside_ci", "one_sided_ci")


def test_default_records_are_reviewed_unflagged_primary_studies_each_exclusion_named() -> None:
    recs = [rec("ok1", 0.70, 0.50, 0.98), rec("ok2", 0.80, 0.60, 1.07, status="edited"),
            rec("ext", 0.60, 0.40, 0.90, status="extracted"),
            rec("ma", 0.72, 0.60, 0.86, design="meta_analysis"),
            rec("pa", 0.74, 0.60, 0.91, design="pooled_analysis"),
            *[rec(f, 0.75, 0.55, 1.02, flags=[f]) for f in FLAGS]]
    out = quiet(recs)
    assert sorted(out.iloc[0]["record_ids"]) == ["ok1", "ok2"]
    why = reasons(out)
    assert "status 'extracted'" in why["ext"]
    for f in FLAGS:
        assert f in why[f], why[f]
    assert "published synthesis" in why["ma"] and "published synthesis" in why["pa"]
    syn = out.attrs["syntheses"]  # shown beside the pooled estimate
    assert sorted(s["record_id"] for s in syn) == ["ma", "pa"] and syn[0]["value"] == 0.72
    # widened on purpose
    wide = quiet(recs, statuses=("extracted", "accepted", "edited"), include_flagged=True)
    assert sorted(wide.iloc[0]["record_ids"]) == sorted(["ok1", "ok2", "ext", *FLAGS[:3]])
    assert "one-sided" in reasons(wide)["one_sided_ci"]  # never read as two-sided, even when widened


def test_excluded_is_also_a_dataframe() -> None:
    out = quiet([rec("a", 0.7, 0.5, 0.98), rec("b", 0.7, 0.5, 0.98, status="extracted")])
    ex = excluded_frame(out)
    assert list(ex.columns[:2]) == ["record_id", "reason"] and ex["record_id"].tolist() == ["b"]


@pytest.mark.parametrize("flags", ['["one_sided_ci"]', "one_sided_ci", ("one_sided_ci",),
                                   np.array(["one_sided_ci"], dtype=object)])
def test_one_sided_flag_honoured_whatever_its_form(flags: Any) -> None:
    df = pd.DataFrame([rec("a", 0.7, 0.5, 0.98), rec("b", 0.8, 0.6, 1.07), rec("c", 0.75, 0.55, 1.02)])
    df["flags"] = pd.Series([flags, "[]", None], dtype=object)
    out = quiet(df, include_flagged=True)
    assert sorted(out.iloc[0]["record_ids"]) == ["b", "c"]
    assert "one-sided" in reasons(out)["a"]


# -- arm-level measures -----------------------------------------------------------------------------
ARM_BY = ("histotype", "intervention", "comparator", "endpoint", "measure", "arm")


def test_landmark_rate_uses_its_reported_ci() -> None:
    recs = [rec("r1", 0.60, 0.30, 0.85, measure="rate", arm="single", comparator=None, unit="proportion",
                endpoint="OS", timepoint_months=36.0, n=40),
            rec("r2", 0.50, 0.40, 0.60, measure="rate", arm="single", comparator=None, unit="proportion",
                endpoint="OS", timepoint_months=36.0, n=100)]
    out = quiet(recs, by=ARM_BY)
    row = out.iloc[0]
    lg = lambda p: math.log(p / (1 - p))  # noqa: E731
    v1 = ((lg(0.85) - lg(0.30)) / (2 * Z)) ** 2
    v2 = ((lg(0.60) - lg(0.40)) / (2 * Z)) ** 2
    assert row["scale"] == "logit"
    assert row["estimate"] == pytest.approx(float(np.sum([lg(0.6) / v1, lg(0.5) / v2]) / (1 / v1 + 1 / v2)),
                                            rel=1e-9)  # k = 2: the common-effect estimate
    # a log-log CI (Kalbfleisch & Prentice) is read as such: here the CI is symmetric on log(-log S)
    g = lambda s: math.log(-math.log(s))  # noqa: E731
    lo, hi = [math.exp(-math.exp(g(0.5) + d * 0.2)) for d in (1, -1)]
    _, vi, scale, why = __import__("meta").record_effect(
        rec("ll", 0.5, lo, hi, measure="rate", unit="proportion", n=None, arm="single"))
    assert scale == "logit" and why == ""
    assert vi == pytest.approx((0.2 / Z * math.log(0.5) / 0.5) ** 2, rel=1e-9)


def test_medians_are_pooled_on_the_log_scale_and_not_reached_limits_named() -> None:
    med = dict(measure="median", arm="intervention", unit="months", comparator="dacarbazine")
    recs = [rec("m1", 1.5, 0.5, 8.0, **med), rec("m2", 2.0, 0.8, 10.0, **med),
            rec("nr", 12.0, 6.0, None, note="upper limit not reached", **med)]
    out = quiet(recs, by=ARM_BY)
    row = out.iloc[0]
    assert row["scale"] == "log_months" and row["k"] == 2
    y = np.log([1.5, 2.0])
    v = ((np.log([8.0, 10.0]) - np.log([0.5, 0.8])) / (2 * Z)) ** 2
    w = 1 / v
    assert row["estimate_exp"] == pytest.approx(math.exp(np.sum(w * y) / w.sum()), rel=1e-9)
    assert 0 < row["ci_low_exp"] < row["estimate_exp"] < row["ci_high_exp"]
    assert "not reached" in reasons(out)["nr"]
    assert "geometric mean" in out.attrs["scales"]["log_months"]


# -- multi-arm trials -------------------------------------------------------------------------------
SHARED_BY = ("histotype", "comparator", "endpoint", "measure")


def _three_arm() -> list[dict]:
    return [rec("a", 0.70, 0.50, 0.98, trial="T3", intervention="drug_a", comparator="doxorubicin"),
            rec("b", 0.80, 0.60, 1.07, trial="T3", intervention="drug_b", comparator="doxorubicin"),
            rec("o", 0.90, 0.70, 1.16, trial="O", intervention="drug_a", comparator="doxorubicin"),
            rec("p", 0.85, 0.65, 1.11, trial="P", intervention="drug_c", comparator="doxorubicin")]


def test_three_arm_trial_combines_its_arms_by_default() -> None:
    out = quiet(_three_arm(), by=SHARED_BY)
    row = out.iloc[0]
    assert row["k"] == 3 and sorted(row["record_ids"]) == ["a", "b", "o", "p"]
    assert not any("later report" in r for r in reasons(out).values())
    y, v = es.log_hr_from_ci([0.70, 0.80], [0.50, 0.60], [0.98, 1.07])
    # Cochrane Handbook 23.3.4 combine: the mean of the two contrasts, correlated 0.5 through the shared arm
    yc = float(y.mean())
    vc = float((v[0] + v[1] + 2 * 0.5 * math.sqrt(v[0] * v[1])) / 4)
    yo, vo = es.log_hr_from_ci([0.90, 0.85], [0.70, 0.65], [1.16, 1.11])
    assert row["estimate"] == pytest.approx(pool([yc, *yo], [vc, *vo], test="adhoc").estimate, rel=1e-9)


def test_three_arm_trial_split_control_inflates_the_variances() -> None:
    out = quiet(_three_arm(), by=SHARED_BY, multi_arm="split")
    row = out.iloc[0]
    assert row["k"] == 4
    y, v = es.log_hr_from_ci([0.70, 0.80, 0.90, 0.85], [0.50, 0.60, 0.70, 0.65], [0.98, 1.07, 1.16, 1.11])
    v = v * np.array([1.5, 1.5, 1, 1])  # shared control halved: v (1 + 2)/2 with equal arms
    assert row["estimate"] == pytest.approx(pool(y, v, method="REML", test="adhoc").estimate, rel=1e-9)
    with pytest.raises(ValueError, match="multi_arm"):
        pool_table(_three_arm(), multi_arm="first")


# -- HR from a p value ------------------------------------------------------------------------------
def test_one_sided_p_is_doubled_and_hr_near_one_refused() -> None:
    recs = [rec("p1", 0.70, None, None, p_value=0.01, p_relation="=", p_sided=1),
            rec("p2", 0.99, None, None, p_value=0.95, p_relation="="),
            rec("c", 0.80, 0.60, 1.07)]
    out = quiet(recs)
    row = out.iloc[0]
    assert sorted(row["record_ids"]) == ["c", "p1"]
    _, v1 = es.log_hr_from_p([0.70], [0.02])
    _, vi, _, _ = __import__("meta").record_effect(recs[0])
    assert vi == pytest.approx(float(v1[0]), rel=1e-12)
    assert "arbitrary" in reasons(out)["p2"]


# -- models and control -----------------------------------------------------------------------------
def test_few_study_defaults_per_cell_carry_k_and_model() -> None:
    def cell(name: str, k: int) -> list[dict]:
        vals = [(0.70, 0.50, 0.98), (0.80, 0.60, 1.07), (0.60, 0.41, 0.88), (0.55, 0.44, 0.70), (0.9, 0.7, 1.16)]
        return [rec(f"{name}{i}", *vals[i], endpoint=name) for i in range(k)]
    out = quiet(cell("OS", 2) + cell("PFS", 3) + cell("DFS", 5))
    two, three, five = (only(out, endpoint=e) for e in ("OS", "PFS", "DFS"))
    assert (two["k"], two["method"]) == (2, "FE") and "common-effect" in two["model"]
    assert math.isnan(two["pi_low"]) and two["tau2"] == 0
    assert (three["method"], three["test"]) == ("REML", "adhoc")
    assert (five["method"], five["test"], five["pi"]) == ("REML", "adhoc", "t")  # meta.few_study_model(5)
    assert all(f"k = {k}" in r["model"] for k, r in ((2, two), (3, three), (5, five)))
    y, v = es.log_hr_from_ci(*zip(*[(0.70, 0.50, 0.98), (0.80, 0.60, 1.07), (0.60, 0.41, 0.88),
                                     (0.55, 0.44, 0.70), (0.9, 0.7, 1.16)], strict=True))
    ref = pool(y, v, method="REML", test="adhoc", pi="t")
    assert five["pi_low"] == pytest.approx(ref.pi_low, rel=1e-9) and five["ci_high"] == pytest.approx(ref.ci_high)
    # a method and test given explicitly apply to every cell
    fixed = quiet(cell("OS", 2), method="REML", test="z")
    assert (fixed.iloc[0]["method"], fixed.iloc[0]["test"]) == ("REML", "z")


def test_maxiter_is_passed_through() -> None:
    recs = [rec(f"r{i}", v, lo, hi) for i, (v, lo, hi) in
            enumerate([(0.3, 0.2, 0.45), (1.5, 1.2, 1.9), (0.9, 0.8, 1.0), (2.5, 2.0, 3.1), (0.5, 0.45, 0.56)])]
    with pytest.warns(RuntimeWarning, match="maxiter = 1"):
        out = pool_table(recs, method="REML", test="z", maxiter=1, stepadj=0.5)
    assert not bool(out.iloc[0]["converged"])
