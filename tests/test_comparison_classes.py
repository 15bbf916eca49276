"""Comparison classes of the pooling plan (meta/classes.py): records keep their agents; class cells beside."""

from __future__ import annotations

import pandas as pd
import pytest

from evidence.comparison_classes import class_entries, comparison_classes
from meta import pool, pool_table
from meta.classes import ComparisonClasses, apply_classes
from meta.effect_sizes import log_ratio_from_ci

BY = ("histotype", "intervention", "comparator", "endpoint", "measure", "setting", "line")


def rec(i, iv, cp, hr, lo, hi, setting="advanced", line="second_plus", **kw):
    return dict(record_id=f"r{i}", source_id=f"PMID:{i}", histotypes=["soft_tissue_sarcoma"], intervention=iv,
                comparator=cp, arm="contrast", endpoint="PFS", measure="HR", value=hr, ci_low=lo, ci_high=hi,
                status="accepted", setting=setting, line=line, **kw)


def test_rules_match_by_shape_setting_and_either_orientation():
    cc = comparison_classes()
    assert cc.classify("pazopanib", "placebo", "advanced", "second_plus") == ("active_agent", "control")
    assert cc.classify("best_supportive_care", "trabectedin", "advanced", "") == ("control", "active_agent")
    assert cc.classify("trabectedin", "dacarbazine", "advanced", "second_plus") is None  # an active control
    assert cc.classify("imatinib", "placebo", "adjuvant", "") is None  # another setting: another question
    assert cc.classify("doxorubicin+olaratumab", "doxorubicin", "advanced", "first") == (
        "doxorubicin_plus_agent", "doxorubicin")
    assert cc.classify("doxorubicin+ifosfamide+mesna", "doxorubicin", "advanced", "first") is None  # two added
    assert cc.classify("doxorubicin+placebo", "doxorubicin", "advanced", "first") is None  # placebo adds nothing
    assert cc.classify("gemcitabine+docetaxel", "doxorubicin", "advanced", "first") is None
    assert cc.classify("doxorubicin+olaratumab", "doxorubicin", "advanced", "second_plus") is None


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="shape"):
        ComparisonClasses.from_entries([{"id": "x", "intervention": "a", "comparator": "b",
                                         "comparators": ["placebo"], "shape": "any"}])
    with pytest.raises(ValueError, match="unique"):
        ComparisonClasses.from_entries([dict(class_entries()[0]), dict(class_entries()[0])])


def test_apply_classes_leaves_unmatched_rows_and_names_the_real_comparison():
    df = pd.DataFrame([rec(1, "pazopanib", "placebo", 0.31, 0.24, 0.40), rec(2, None, None, 0.5, 0.4, 0.6)])
    out, real, hit = apply_classes(df, comparison_classes())
    assert out["intervention"].iloc[0] == "active_agent" and pd.isna(out["intervention"].iloc[1])
    assert list(hit) == [True, False]
    assert list(real) == ["pazopanib vs placebo", ""]
    assert df["intervention"].iloc[0] == "pazopanib"  # the input is not changed


def test_class_cell_beside_the_agent_cells_equals_pooling_its_trials():
    recs = [rec(1, "pazopanib", "placebo", 0.31, 0.24, 0.40), rec(2, "ridaforolimus", "placebo", 0.72, 0.61, 0.85),
            rec(3, "best_supportive_care", "trabectedin", 1 / 0.39, 1 / 0.51, 1 / 0.30),  # reported the other way
            rec(4, "eribulin", "dacarbazine", 0.87, 0.71, 1.05)]
    plain = pool_table(recs, by=BY)
    t = pool_table(recs, by=BY, classes=comparison_classes(), method="REML", test="z")
    agent_cells = t[t["comparison_class"] == ""]
    assert len(agent_cells) == len(plain) == 4 and set(agent_cells["intervention"]) == set(plain["intervention"])
    cls = t[t["comparison_class"] == "active_agent_vs_control"]
    assert len(cls) == 1 and int(cls["k"].iloc[0]) == 3
    assert cls["agents"].iloc[0] == ["best_supportive_care vs trabectedin", "pazopanib vs placebo",
                                     "ridaforolimus vs placebo"]
    yi, vi = log_ratio_from_ci([0.31, 0.72, 0.39], [0.24, 0.61, 0.30], [0.40, 0.85, 0.51], 0.95)
    ref = pool(yi, vi, method="REML", test="z")
    assert cls["estimate"].iloc[0] == pytest.approx(ref.estimate, abs=1e-12)
    assert cls["se"].iloc[0] == pytest.approx(ref.se, abs=1e-12)


def test_a_class_of_one_comparison_is_not_repeated_and_entries_work_as_a_bundle_stores_them():
    recs = [rec(1, "pazopanib", "placebo", 0.31, 0.24, 0.40), rec(2, "pazopanib", "placebo", 0.5, 0.3, 0.8)]
    t = pool_table(recs, by=BY, classes=list(class_entries()))
    assert list(t["comparison_class"]) == [""] and list(t["intervention"]) == ["pazopanib"]
    # without intervention and comparator among the keys there is nothing to class
    t = pool_table(recs, by=("histotype", "endpoint", "measure"), classes=comparison_classes())
    assert "comparison_class" not in t.columns and int(t["k"].iloc[0]) == 2


def test_the_dashboard_map_and_forest_show_a_class_cell_with_its_trials():
    from dashboards import views
    from dashboards.analysis import cell_contributions
    from evidence.corpus import curated_records

    df = pd.DataFrame([r.to_dict() for r in curated_records()])
    table = views.map_table(df, "OS", "HR")
    row = table[(table["intervention"] == "doxorubicin_plus_agent") & (table["histotype"] == "soft_tissue_sarcoma")]
    assert len(row) == 1 and int(row["k"].iloc[0]) == 4 and len(row["agents"].iloc[0]) == 3
    contrib, _ = cell_contributions(df, row.iloc[0].to_dict())
    assert contrib is not None and len(contrib["yi"]) == 4
    assert sorted(contrib["trials"]) == sorted(row["trials"].iloc[0])
    # and the agents' own cell of one of them is still there
    assert ((table["intervention"] == "doxorubicin+olaratumab") & (table["histotype"] == "soft_tissue_sarcoma")).any()


def test_pool_lists_the_real_comparisons_of_class_cells_only():
    from evidence.comparison_classes import plan_options
    from evidence.corpus import curated_records
    from evidence.pool_cli import class_members

    by = list(BY)
    t = pool_table(pd.DataFrame([r.to_dict() for r in curated_records()]), by=by, **plan_options())
    lines = class_members(t, by)
    assert len(lines) == int(((t["comparison_class"] != "") & (t["k"] >= 2)).sum()) >= 5
    assert all(" · active_agent · " in x or " · doxorubicin_plus_agent · " in x for x in lines)
